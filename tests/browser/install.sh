#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests, once. Idempotent.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
	exit 0
fi
command -v apt-get >/dev/null || { echo "browser tests: no chromium and no apt-get; they will skip" >&2; exit 0; }
echo "installing chromium from Debian's packages (first time only)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/tmp/crashstream-chromium-install.log 2>&1 ||
	{ tail -n 20 /tmp/crashstream-chromium-install.log >&2; exit 1; }
