# fed-controller's image, for those who build with Docker (docker buildx build --platform ...).
# `make image` builds the same image without Docker and without pulling a base image; see
# docs/install.md#image.

# The build stage runs on the builder's own platform and cross-compiles a static binary.
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
ARG TARGETOS=linux
ARG TARGETARCH=amd64
ARG VERSION=dev
ARG COMMIT=unknown
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY internal/ internal/
COPY pkg/ pkg/
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
    -ldflags "-s -w -X github.com/fedplane/fedplane/internal/version.Version=$VERSION -X github.com/fedplane/fedplane/internal/version.Commit=$COMMIT" \
    -o /out/fed-controller ./cmd/fed-controller

# The binary needs no libc, shell or package manager.
FROM gcr.io/distroless/static:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title=fed-controller \
      org.opencontainers.image.source=https://github.com/fedplane/fedplane \
      org.opencontainers.image.version=$VERSION \
      org.opencontainers.image.revision=$COMMIT
COPY --from=build /out/fed-controller /fed-controller
USER 65532:65532
ENTRYPOINT ["/fed-controller"]
