#!/usr/bin/env bash
# Installs Debian's Chromium and axe-core (the accessibility checker the
# browser tests inject into each page) for the browser tests, once.
# Idempotent.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
AXE_VERSION=4.10.2
AXE_DIR=${CRASHSTREAM_STACK_DIR:-$ROOT/.stack}/axe-$AXE_VERSION
if [[ ! -f $AXE_DIR/node_modules/axe-core/axe.min.js ]]; then
	if command -v npm >/dev/null 2>&1; then
		echo "installing axe-core $AXE_VERSION with npm (first time only)"
		mkdir -p "$AXE_DIR"
		npm install --silent --no-audit --no-fund --prefix "$AXE_DIR" "axe-core@$AXE_VERSION" >/dev/null
	else
		echo "browser tests: no npm; the accessibility scan will skip" >&2
	fi
fi
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
	exit 0
fi
command -v apt-get >/dev/null || { echo "browser tests: no chromium and no apt-get; they will skip" >&2; exit 0; }
echo "installing chromium from Debian's packages (first time only)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/tmp/crashstream-chromium-install.log 2>&1 ||
	{ tail -n 20 /tmp/crashstream-chromium-install.log >&2; exit 1; }
