# The image for people with Docker (`make docker-build`, or `docker buildx
# build --platform linux/amd64,linux/arm64 …`). `make image` builds the same
# image without a Docker daemon (hack/image): the same binaries (`make
# binaries`, the Makefile's IMAGE_BINARIES), user 65532, entrypoint
# /agent-smith with `serve` by default, and the same OCI labels.
# hack/image's tests hold this file to that image's config.
# One image, two uses: the orchestrator, and the agent carrier whose
# `inject PATH` a sandbox pod's init container runs: it copies
# /agent-smith-agent, the slim agent built beside /agent-smith.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG TARGETOS TARGETARCH
ARG VERSION=dev
ARG IMG=ghcr.io/agent-smith/agent-smith:dev
RUN make binaries PLATFORMS=${TARGETOS}/${TARGETARCH} VERSION=${VERSION} IMG=${IMG} BIN=/out

# Static binaries, no shell, CA certificates, non-root.
FROM gcr.io/distroless/static-debian12:nonroot
ARG TARGETOS TARGETARCH
ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
COPY --from=build /out/${TARGETOS}_${TARGETARCH}/ /
LABEL org.opencontainers.image.title="agent-smith" \
      org.opencontainers.image.description="Turns tracker tickets into pull requests: the orchestrator (serve) and the agent its sandbox pods inject." \
      org.opencontainers.image.source="https://github.com/agent-smith/agent-smith" \
      org.opencontainers.image.url="https://github.com/agent-smith/agent-smith" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}"
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/agent-smith"]
CMD ["serve"]
