# syntax=docker/dockerfile:1
# The crashstream image: one static binary, every service a subcommand
# (`crashstream collector`, `crashstream processor`, ...).
#
#   docker build -t crashstream:dev --build-arg VERSION=0.1.0 --build-arg COMMIT=$(git rev-parse HEAD) .
#
# Without a Docker engine, charts/scripts/build-image.sh makes the same image
# (static binary, FROM scratch, user 65532:65532, entrypoint /crashstream) as
# an OCI image layout.

FROM golang:1.26 AS build
WORKDIR /src
# Module files first, so the dependency download is cached across source edits.
COPY go.work go.work.sum ./
COPY schemas/go.mod schemas/go.sum* schemas/
COPY streams/go.mod streams/go.sum* streams/
COPY storage/go.mod storage/go.sum* storage/
COPY services/go.mod services/go.sum* services/
COPY charts/go.mod charts/go.sum* charts/
COPY tests/go.mod tests/go.sum* tests/
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG BUILD=local
ARG TARGETOS=linux
ARG TARGETARCH
# CGO_ENABLED=0: a static binary, no libc needed in the final image.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath \
      -ldflags "-s -w -X github.com/crashstream/crashstream/services/runtime.version=${VERSION} -X github.com/crashstream/crashstream/services/runtime.commit=${COMMIT} -X github.com/crashstream/crashstream/services/runtime.build=${BUILD}" \
      -o /out/crashstream ./services/cmd/crashstream

# distroless static: CA certificates, tzdata and /etc/passwd, no shell.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/crashstream /crashstream
USER 65532:65532
EXPOSE 8000 8080 9100
ENTRYPOINT ["/crashstream"]
