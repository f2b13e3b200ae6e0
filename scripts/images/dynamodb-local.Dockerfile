# A stand-in for amazon/dynamodb-local, built where no registry answers, from the DynamoDB
# Local that the npm package amplify-dynamodb-simulator ships. Same layout as the public
# image: java is the entrypoint, the jar and its native libraries are in the working folder.
ARG BASE
FROM ${BASE}
RUN apt-get update && apt-get install -y --no-install-recommends openjdk-17-jre-headless && rm -rf /var/lib/apt/lists/*
WORKDIR /home/dynamodblocal
COPY emulator/ /home/dynamodblocal/
EXPOSE 8000
ENTRYPOINT ["java"]
CMD ["-Djava.library.path=./DynamoDBLocal_lib", "-jar", "DynamoDBLocal.jar", "-inMemory"]
