#!/usr/bin/env bash
# generate.sh — rebuilds the crash corpus from source on this machine:
#   1. builds the ptrace minidump dumper (dumper/, Rust, minidump-writer crate)
#   2. builds the crashers in src/ (C, C++ with a shared library, Rust) in
#      several flag variants into $CORPUS_BUILD (default /tmp/crashstream-corpus,
#      a fixed path so module paths in the dumps do not depend on the checkout)
#   3. runs each crash case under the dumper      -> dumps/<case>.dmp
#   4. dump_syms every module the dumps load       -> symbols/<file>/<ID>/<file>.sym
#   5. minidump-stackwalk --json on every dump     -> golden/<case>.json
#   6. the case table in README.md, from the goldens (readme_table.py)
#
# Usage: tests/corpus/generate.sh [CASE...]   (no CASE: every case below)
# Needs gcc, g++, cargo/rustc, and the pinned oracles (./install-oracles.sh,
# run automatically). Not run by `make test`: dumps, symbols and goldens are
# committed. Idempotent: it rebuilds and overwrites; with ASLR disabled in
# the crashers the dumps are stable apart from pids, times and stack garbage.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
build="${CORPUS_BUILD:-/tmp/crashstream-corpus}"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

log() { echo "generate: $*" >&2; }

# Cases: name | variant | binary | stack limit in KiB (ulimit -s; "-" keeps the
# default) | arguments. Variants (flags) are in build_variant. The overflow
# cases run with a 256 KiB stack: minidump-writer copies the crashing
# thread's whole stack mapping, 8 MiB by default. Leading VAR=value words
# of the arguments are added to the crasher's environment.
cases() {
	cat <<'EOF'
c-null-O0-fp         c-O0-fp      crash-c    -    null
c-null-O2-nofp       c-O2-nofp    crash-c    -    null
c-abort-O0-fp        c-O0-fp      crash-c    -    abort
c-abort-O2-nofp      c-O2-nofp    crash-c    -    abort
c-overflow-O0-fp     c-O0-fp      crash-c    256  overflow
c-overflow-O2-nofp   c-O2-nofp    crash-c    256  overflow
c-recurse-O0-fp      c-O0-fp      crash-c    -    recurse
c-recurse-O2-nofp    c-O2-nofp    crash-c    -    recurse
c-lib-O0-fp          c-O0-fp      crash-c    -    lib
c-lib-O2-nofp        c-O2-nofp    crash-c    -    lib
c-libcb-O0-fp        c-O0-fp      crash-c    -    libcb
c-libcb-O2-nofp      c-O2-nofp    crash-c    -    libcb
c-thread-O0-fp       c-O0-fp      crash-c    -    thread
c-thread-O2-nofp     c-O2-nofp    crash-c    -    thread
c-fpe-O2-nofp        c-O2-nofp    crash-c    -    fpe
c-ill-O0-fp          c-O0-fp      crash-c    -    ill
cpp-template-O0-fp   cpp-O0-fp    crash-cpp  -    template
cpp-template-O2-nofp cpp-O2-nofp  crash-cpp  -    template
cpp-lambda-O0-fp     cpp-O0-fp    crash-cpp  -    lambda
cpp-lambda-O2-nofp   cpp-O2-nofp  crash-cpp  -    lambda
cpp-anon-O2-nofp     cpp-O2-nofp  crash-cpp  -    anon
cpp-throw-O0-fp      cpp-O0-fp    crash-cpp  -    throw
rust-panic-O0-fp     rust-O0-fp   crash-rust -    RUST_BACKTRACE=1 panic
rust-panic-O2-nofp   rust-O2-nofp crash-rust -    panic
rust-segv-O0-fp      rust-O0-fp   crash-rust -    segv
rust-segv-O2-nofp    rust-O2-nofp crash-rust -    segv
rust-overflow-O0-fp  rust-O0-fp   crash-rust 256  overflow
rust-thread-O2-nofp  rust-O2-nofp crash-rust -    thread
c-wild-O2-nofp       c-O2-nofp    crash-wild -    wild
c-noncanon-O0-fp     c-O0-fp      crash-wild -    noncanon
c-bitflip-O0-fp      c-O0-fp      crash-wild -    bitflip
c-callnull-O2-nofp   c-O2-nofp    crash-wild -    callnull
c-badcall-O0-fp      c-O0-fp      crash-wild -    badcall
c-badcall-O2-nofp    c-O2-nofp    crash-wild -    badcall
c-badjump-O0-fp      c-O0-fp      crash-wild -    badjump
EOF
}

# Paths in debug info (sources, compilation directory) are remapped from the
# checkout to this fixed prefix, so the .sym files do not depend on it.
src_prefix="/crashstream/tests/corpus"

build_variant() {
	local v="$1" out="$build/$1"
	mkdir -p "$out"
	local cflags=(-g -ffile-prefix-map="$here=$src_prefix" -Wall)
	case "$v" in
	*-O0-fp) cflags+=(-O0 -fno-omit-frame-pointer) ;;
	*-O2-nofp) cflags+=(-O2 -fomit-frame-pointer) ;;
	*) log "unknown variant $v"; return 1 ;;
	esac
	case "$v" in
	c-*)
		gcc "${cflags[@]}" -fPIC -shared -o "$out/libcrashlib.so" src/crashlib.c
		gcc "${cflags[@]}" -pthread -o "$out/crash-c" src/crash.c \
			-L"$out" -lcrashlib -Wl,-rpath,'$ORIGIN'
		gcc "${cflags[@]}" -o "$out/crash-wild" src/wild.c
		;;
	cpp-*)
		g++ "${cflags[@]}" -std=c++17 -o "$out/crash-cpp" src/crash.cpp
		;;
	rust-*)
		local rflags=(-g -C panic=abort --edition 2021
			--remap-path-prefix "$here=$src_prefix")
		case "$v" in
		*-O0-fp) rflags+=(-C opt-level=0 -C force-frame-pointers=yes) ;;
		*-O2-nofp) rflags+=(-C opt-level=2 -C force-frame-pointers=no) ;;
		esac
		rustc "${rflags[@]}" -o "$out/crash-rust" src/crash.rs
		;;
	esac
}

main() {
	"$here/install-oracles.sh"
	log "building dumper"
	(cd dumper && cargo build --release --locked --quiet)
	local dumper="$here/dumper/target/release/dumper"

	local want=("$@")
	if ((${#want[@]} == 0)); then
		rm -rf dumps golden symbols # a full run leaves no stale IDs behind
	fi
	mkdir -p dumps golden symbols "$build"
	local built=" "
	local name variant bin stack args
	while read -r name variant bin stack args; do
		if ((${#want[@]})) && [[ " ${want[*]} " != *" $name "* ]]; then
			continue
		fi
		if [[ "$built" != *" $variant "* ]]; then
			log "building $variant"
			build_variant "$variant"
			built+="$variant "
		fi
		log "crashing $name ($bin $args)"
		local args_env="" args_rest="" w
		for w in $args; do
			if [[ -z "$args_rest" && "$w" == *=* ]]; then args_env+="$w "; else args_rest+="$w "; fi
		done
		# The crasher gets a small fixed environment: minidumps record it
		# (LinuxEnviron stream and the top of the main stack), and the
		# generating shell's environment is nobody's business.
		# shellcheck disable=SC2086 # args is a word list
		(
			[[ "$stack" == - ]] || ulimit -s "$stack"
			cd "$build"
			"$dumper" "$here/dumps/$name.dmp" -- env -i PATH=/usr/bin:/bin LANG=C.UTF-8 \
				$args_env "$build/$variant/$bin" $args_rest
		) </dev/null >"$build/$name.stderr" 2>&1 || { cat "$build/$name.stderr" >&2; return 1; }
	done < <(cases)

	log "writing symbols"
	# The crashers and libcrashlib.so, plus the system libraries they load
	# (stripped here: their .sym files carry PUBLIC symbols and CFI only).
	local mods v
	mods="$(
		for v in $built; do
			find "$build/$v" -maxdepth 1 -type f \( -name 'crash-*' -o -name '*.so' \)
		done
		ldd "$build"/*/crash-* |
			awk '$2 == "=>" && $3 ~ /^\// {print $3} NF == 2 && $1 ~ /^\// && $2 ~ /^\(/ {print $1}' |
			xargs -r readlink -f
	)"
	mods="$(sort -u <<<"$mods")"
	local m sym dir
	while read -r m; do
		[[ -n "$m" ]] || continue
		sym="$(mktemp)"
		dump_syms --inlines "$m" >"$sym"
		# MODULE Linux x86_64 <ID> <file>
		read -r _ _ _ id file <"$sym"
		dir="symbols/$file/$id"
		mkdir -p "$dir"
		mv "$sym" "$dir/$file.sym"
		chmod 644 "$dir/$file.sym"
		log "  $dir/$file.sym ($(du -h "$dir/$file.sym" | cut -f1))"
	done <<<"$mods"

	log "writing goldens"
	for d in dumps/*.dmp; do
		name="$(basename "$d" .dmp)"
		if ((${#want[@]})) && [[ " ${want[*]} " != *" $name "* ]]; then
			continue
		fi
		minidump-stackwalk --json --pretty "$d" symbols >"golden/$name.json" \
			2>"$build/$name.stackwalk.log"
	done
	python3 "$here/readme_table.py"
	log "done: $(ls dumps | wc -l) dumps, $(du -sh . --exclude=dumper/target | cut -f1) total"
}

main "$@"
