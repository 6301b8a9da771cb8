#!/usr/bin/env bash
# Installs the pinned chart and image tools into <repo>/.stack/bin (git-ignored).
# Idempotent: a tool already at its pinned version is left alone, so a second
# run takes well under a second. Builds run at low parallelism because the
# machine is small and shared; the first build of helm takes several minutes.
#
# Kubernetes JSON schemas for kubeconform come from the kubernetes-validate
# Python package (it ships them inside its wheel); only the one Kubernetes
# versions we validate against are kept, under .stack/kubernetes-json-schema.
set -euo pipefail

HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.8.0
KUBERNETES_VALIDATE_VERSION=1.37.0
# The Kubernetes releases the rendered manifests are validated against: the
# oldest the chart supports (Chart.yaml kubeVersion) and the newest the wheel
# has. Keep in sync with k8sVersions in tests/chart and the chart README.
K8S_SCHEMA_VERSIONS="1.25.0 1.37.0"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin="$root/.stack/bin"
mkdir -p "$bin"
export GOBIN="$bin"
# One package at a time while developers share the machine; CI has it alone.
if [[ "${CI:-}" == "true" ]]; then
  export GOFLAGS="${GOFLAGS:-} -p=2"
else
  export GOFLAGS="${GOFLAGS:-} -p=1"
fi
export CGO_ENABLED=0

# have NAME VERSION CMD...: true when $bin/NAME exists and CMD's output mentions VERSION.
have() {
  local name=$1 version=$2
  shift 2
  [[ -x "$bin/$name" ]] && "$bin/$name" "$@" 2>/dev/null | grep -qF -- "${version#v}"
}

if have kubeconform "$KUBECONFORM_VERSION" -v; then
  echo "kubeconform $KUBECONFORM_VERSION: cached"
else
  echo "kubeconform $KUBECONFORM_VERSION: building"
  go install -ldflags "-X main.version=$KUBECONFORM_VERSION" "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
fi

if have helm "$HELM_VERSION" version --template '{{.Version}}'; then
  echo "helm $HELM_VERSION: cached"
else
  echo "helm $HELM_VERSION: building (slow)"
  go install -ldflags "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi

schemas="$root/.stack/kubernetes-json-schema"
stamp="kubernetes-validate==$KUBERNETES_VALIDATE_VERSION $K8S_SCHEMA_VERSIONS"
if [[ -f "$schemas/.source" && "$(cat "$schemas/.source")" == "$stamp" ]]; then
  echo "kubernetes schemas ($stamp): cached"
else
  echo "kubernetes schemas ($stamp): extracting"
  wheels="$root/.stack/cache/wheels"
  mkdir -p "$wheels"
  python3 -m pip download --quiet --no-deps --dest "$wheels" "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
  wheel="$wheels/kubernetes_validate-$KUBERNETES_VALIDATE_VERSION-py3-none-any.whl"
  rm -rf "$schemas"
  for v in $K8S_SCHEMA_VERSIONS; do
    (cd "$root/tests" && go run ./chart/cmd/k8s-schemas -wheel "$wheel" -version "$v" -out "$schemas")
  done
  echo "$stamp" > "$schemas/.source"
fi
