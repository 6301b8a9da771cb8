#!/usr/bin/env bash
# install-oracles.sh — installs the reference tools the corpus and the comparison
# harnesses use as test oracles (never runtime dependencies of crashstream):
#   minidump-stackwalk  (rust-minidump; what Socorro runs) — golden JSON outputs
#   dump_syms           (Mozilla)                          — Breakpad .sym files
# Versions are pinned so goldens are reproducible. Idempotent: a tool already at
# its pinned version is skipped in well under a second.
# Installs into the default cargo root (~/.cargo/bin). Compiling both takes
# many minutes on 2 cores; set CARGO_BUILD_JOBS to limit parallelism.
set -euo pipefail

MINIDUMP_STACKWALK_VERSION="0.27.0"
DUMP_SYMS_VERSION="2.3.9"

export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# installed_version CRATE prints the version cargo recorded for CRATE, or nothing.
installed_version() {
	cargo install --list 2>/dev/null | sed -n "s/^$1 v\([^:]*\):\$/\1/p"
}

install_pinned() {
	local crate="$1" version="$2" have
	have="$(installed_version "$crate")"
	if [[ "$have" == "$version" ]]; then
		echo "install-oracles: $crate $version already installed"
		return 0
	fi
	echo "install-oracles: installing $crate $version (have: ${have:-none}); this compiles for several minutes"
	cargo install --locked "$crate" --version "$version"
	echo "install-oracles: $crate $version installed"
}

if ! command -v cargo >/dev/null 2>&1; then
	echo "install-oracles: cargo not found; install a Rust toolchain first" >&2
	exit 1
fi

install_pinned minidump-stackwalk "$MINIDUMP_STACKWALK_VERSION"
install_pinned dump_syms "$DUMP_SYMS_VERSION"
