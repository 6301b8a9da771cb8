#!/bin/sh
# Installs the signature oracle, siggen (pinned), into a git-ignored venv at
# <repo>/.stack/venv-siggen. Idempotent: a no-op when that version is there.
set -eu
VERSION=2.2.20241029
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VENV="$ROOT/.stack/venv-siggen"
if [ -x "$VENV/bin/signify" ] && ls -d "$VENV"/lib/python3*/site-packages/siggen-"$VERSION".dist-info >/dev/null 2>&1; then
	# A venv's scripts name their interpreter by absolute path: one made in
	# another checkout (copied or moved here) has the version and fails to
	# start ("required file not found"). Keep it only if it runs.
	if echo '{}' | "$VENV/bin/signify" >/dev/null 2>&1; then
		exit 0
	fi
	echo "siggen venv at $VENV does not run here (made in another directory?): making it again"
	rm -rf "$VENV"
fi
mkdir -p "$ROOT/.stack"
echo "installing siggen $VERSION into $VENV (first time only)"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "siggen==$VERSION"
echo "siggen $VERSION installed in $VENV"
