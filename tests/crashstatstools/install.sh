#!/usr/bin/env bash
# Installs Mozilla's crashstats-tools (supersearch, supersearchfacet,
# fetch-data, reprocess) into a virtualenv under .stack/venv-cst, pinned so
# the lane checks one known client. Idempotent: a second run only checks
# the version.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv="$root/.stack/venv-cst"
want=${CRASHSTATS_TOOLS_VERSION:-2.1.0}
have() { "$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("crashstats-tools"))' 2>/dev/null; }
if [ -x "$venv/bin/supersearch" ] && [ "$(have)" = "$want" ]; then
	exit 0
fi
mkdir -p "$root/.stack"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "crashstats-tools==$want"
[ "$(have)" = "$want" ]
echo "installed crashstats-tools $want into $venv"
