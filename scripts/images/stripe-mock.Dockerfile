# A stand-in for stripe/stripe-mock, built where no registry answers, from a static
# stripe-mock binary. Same entrypoint and ports as the public image.
FROM scratch
COPY stripe-mock /bin/stripe-mock
EXPOSE 12111 12112
ENTRYPOINT ["/bin/stripe-mock", "-http-port", "12111", "-https-port", "12112"]
