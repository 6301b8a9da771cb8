#!/usr/bin/env bash
# Installs the current-engine lane's ClickHouse: PyPI's chdb-core (an
# in-process ClickHouse of a current release) into a virtualenv under
# .stack/venv-chdb. Idempotent: a second run only checks the import.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv="$root/.stack/venv-chdb"
version=26.9.0 # chdb-core's version is the engine's (ClickHouse 26.9)
check="import chdb; assert chdb.__version__ == '$version', chdb.__version__"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "$check" 2>/dev/null; then
	exit 0
fi
mkdir -p "$root/.stack"
python3 -m venv "$venv"
echo "installing chdb-core $version into $venv (about 900 MB, first time only)"
"$venv/bin/pip" install --quiet --disable-pip-version-check "chdb-core==$version"
"$venv/bin/python" -c "$check"
