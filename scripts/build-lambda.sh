#!/usr/bin/env bash
# build-lambda.sh builds the example Lambda function (cmd/cachebench-lambda) for the
# provided.al2023 runtime on arm64 (Graviton): a static binary named bootstrap, without the
# RPC transport the Go 1.x runtime needed (-tags lambda.norpc), zipped into
# bin/lambda/bootstrap.zip, which deploy/lambda/template.yaml deploys.
#
#   GOARCH   target architecture (default arm64; amd64 for an x86_64 function)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mkdir -p bin/lambda
GOOS=linux GOARCH="${GOARCH:-arm64}" CGO_ENABLED=0 \
	go build -tags lambda.norpc -trimpath -ldflags='-s -w' -o bin/lambda/bootstrap ./cmd/cachebench-lambda
go run ./scripts/lambdazip bin/lambda/bootstrap.zip bin/lambda/bootstrap
ls -l bin/lambda/bootstrap.zip
