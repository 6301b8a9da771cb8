#!/usr/bin/env bash
# Builds the crashstream container image without a Docker engine or any
# registry: a static binary (CGO_ENABLED=0) packed FROM scratch into an OCI
# image layout by charts/cmd/oci-image (entrypoint /crashstream, user
# 65532:65532, the machine's CA bundle). Same image as the Dockerfile's,
# less tzdata.
#
#   charts/scripts/build-image.sh            # -> dist/oci/crashstream
#   OUT=/tmp/img GOARCH=arm64 charts/scripts/build-image.sh
#
# Push the layout with any OCI client, e.g.
#   skopeo copy oci:dist/oci/crashstream:<tag> docker://registry.example.com/crashstream:<tag>
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${OUT:-$root/dist/oci/crashstream}
version=${VERSION:-$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)}
commit=${COMMIT:-$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)}
build=${BUILD:-local}
# Reproducible: the image's times come from the last commit.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

pkg=github.com/crashstream/crashstream/services/runtime
(cd "$root" && CGO_ENABLED=0 GOOS=linux go build -trimpath \
  -ldflags "-s -w -X $pkg.version=$version -X $pkg.commit=$commit -X $pkg.build=$build" \
  -o "$work/crashstream" ./services/cmd/crashstream)

ca=${CA_CERTS-/etc/ssl/certs/ca-certificates.crt}
(cd "$root/charts" && go run ./cmd/oci-image -binary "$work/crashstream" -out "$out" \
  -tag "$version" -revision "$commit" -ca-certs "$ca")
