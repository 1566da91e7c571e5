# One image, two parts: the orchestrator (default command `serve`) and the
# sandbox agent carrier (a sandbox pod's init container runs
# `inject /shared/agent` to copy the static binary into the toolchain image).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/agent-smith/agent-smith/internal/version.Version=${VERSION}" -o /out/agent-smith .

# Static binary, no shell, non-root.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/agent-smith /agent-smith
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/agent-smith"]
CMD ["serve"]
