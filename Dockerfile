# cachebench in a container: `docker build -t cachebench .` then
# `docker run --rm cachebench list`. The named scenarios are embedded in the binary.
#
# Base images are build arguments whose defaults are the public images. Where no registry
# answers (CI), scripts/build-image.sh builds the static binary on the host and builds the
# first stage only (--target prebuilt --build-arg RUNTIME_IMAGE=scratch), so nothing is
# pulled: the classic builder stops at the target stage.
ARG GO_IMAGE=golang:1.26.8-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/static:nonroot

# prebuilt: the image from a binary built on the host at bin/linux/cachebench.
FROM ${RUNTIME_IMAGE} AS prebuilt
COPY bin/linux/cachebench /usr/local/bin/cachebench
WORKDIR /results
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/cachebench"]
CMD ["--help"]

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/cachebench ./cmd/cachebench

# The default target: compiled in the golang stage, shipped on a static non-root base.
FROM ${RUNTIME_IMAGE}
COPY --from=build /out/cachebench /usr/local/bin/cachebench
# Results go to the working folder; mount a volume here (or pass --out) to keep them.
WORKDIR /results
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/cachebench"]
CMD ["--help"]
