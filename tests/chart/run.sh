#!/usr/bin/env bash
# The chart checks from the shell: helm lint, then helm template with the
# default values, with values-production.yaml and with alert rules, validated strictly by
# kubeconform against the Kubernetes schemas install-tools.sh extracted.
# (tests/chart's Go tests run the same and more: hardening, wiring, image.)
# Skips, saying so, when the tools are not installed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin="$root/.stack/bin"
schemas="$root/.stack/kubernetes-json-schema"
chart="$root/charts/crashstream"
if [[ ! -x "$bin/helm" || ! -x "$bin/kubeconform" || ! -f "$schemas/.source" ]]; then
  echo "chart checks skipped: tools not installed; run tests/chart/install-tools.sh (make oracles)"
  exit 0
fi

export HELM_CACHE_HOME HELM_CONFIG_HOME HELM_DATA_HOME
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
HELM_CACHE_HOME=$tmp/cache HELM_CONFIG_HOME=$tmp/config HELM_DATA_HOME=$tmp/data

echo "helm $("$bin/helm" version --template '{{.Version}}'), kubeconform $("$bin/kubeconform" -v), schemas: $(cat "$schemas/.source")"
# Each install's helm value arguments: the defaults, the production file,
# and alert rules inline (rendered into a Secret and mounted into cron).
values_of() {
  case $1 in
    default) ;;
    production) echo "-f $chart/values-production.yaml" ;;
    alert-rules) echo "--set-file cron.alertRules.inline=$root/services/lib/alerts/testdata/rules.yaml" ;;
  esac
}
for name in default production alert-rules; do
  read -ra vals <<<"$(values_of "$name")"
  args=(crashstream "$chart" --namespace crash "${vals[@]}")
  "$bin/helm" lint --strict "$chart" "${vals[@]}" >"$tmp/lint" || { cat "$tmp/lint"; exit 1; }
  echo "helm lint ($name): ok"
  for k8s in $(sed 's/^[^ ]* //' "$schemas/.source"); do
    "$bin/helm" template "${args[@]}" --kube-version "$k8s" >"$tmp/manifests.yaml"
    printf 'kubeconform -strict, Kubernetes %s (%s): ' "$k8s" "$name"
    "$bin/kubeconform" -strict -summary -kubernetes-version "$k8s" \
      -schema-location "$schemas/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
      -skip ServiceMonitor,ScaledObject "$tmp/manifests.yaml" | sed "s#$tmp/##"
  done
done
