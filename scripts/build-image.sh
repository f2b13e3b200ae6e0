#!/usr/bin/env bash
# build-image.sh builds the cachebench container image from the repository's Dockerfile
# without a registry: the static binary is built on the host (CGO_ENABLED=0, -trimpath,
# -s -w) and copied into a scratch image (--target prebuilt, RUNTIME_IMAGE=scratch).
# Where a registry answers, plain `docker build .` compiles inside golang and ships on
# distroless instead.
#
#   CACHEBENCH_IMAGE   tag to build (default cachebench:dev)
#   GOARCH             target architecture (default: the host's)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

image=${CACHEBENCH_IMAGE:-cachebench:dev}
mkdir -p bin/linux
CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags='-s -w' -o bin/linux/cachebench ./cmd/cachebench
# The prebuilt stage comes first, so the builder never reaches (or pulls) the golang stage.
docker build -q -t "$image" --target prebuilt --build-arg RUNTIME_IMAGE=scratch . >/dev/null
echo "$image"
