#!/usr/bin/env bash
# Processor throughput per core, end to end, beside the reference tools on
# the same dumps and symbols in the same run.
#   crashstream: object-store read, stackwalk (warm symbols), every rule,
#     signature, Avro encode, produce (tests/bench/processorbench)
#   reference:   minidump-stackwalk --json (one process per dump, as Socorro
#     runs it) + siggen over the outputs (one Python process, its library)
# Both pinned to one core with taskset; throughput from CPU time.
# Usage: tests/bench/processor.sh [count] [repeat]   (needs `make up`)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
COUNT=${1:-100}
REPEAT=${2:-3}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
command -v minidump-stackwalk >/dev/null || [ -x "$HOME/.cargo/bin/minidump-stackwalk" ] || "$ROOT/tests/corpus/install-oracles.sh"
"$ROOT/tests/sigcompat/install-siggen.sh" >&2 # says so when it installs (first time only)
MDSW=$(command -v minidump-stackwalk || echo "$HOME/.cargo/bin/minidump-stackwalk")
(cd "$ROOT/services" && go build -o "$TMP/crashstream" ./cmd/crashstream)
(cd "$ROOT/tests" && go build -o "$TMP/processorbench" ./bench/processorbench)
"$TMP/crashstream" crashgen -out "$TMP/corpus" -count "$COUNT" -seed 42 >/dev/null
du -sh "$TMP/corpus/dumps" | awk '{print "corpus: " $1 " of dumps"}'
echo "machine: $(nproc) cores, $(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2}'), load $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== crashstream processor (GOMAXPROCS=1, taskset -c 1)"
GOMAXPROCS=1 taskset -c 1 "$TMP/processorbench" -dir "$TMP/corpus" -repeat "$REPEAT" | tee "$TMP/cs.out"

echo "== reference: minidump-stackwalk + siggen (taskset -c 1)"
# One warm-up pass so both read the dumps and symbols from the page cache.
for d in "$TMP"/corpus/dumps/*.dmp; do "$MDSW" --json "$d" "$TMP/corpus/symbols" >/dev/null 2>&1 || true; done
best=0
for r in $(seq 1 "$REPEAT"); do
	: >"$TMP/sig.in"
	/usr/bin/time -f "%e %U %S" -o "$TMP/t.mdsw" taskset -c 1 bash -c '
		for d in "$1"/corpus/dumps/*.dmp; do
			printf "{\"json_dump\": " >>"$1/sig.in"
			"$2" --json "$d" "$1/corpus/symbols" >>"$1/sig.in" 2>/dev/null
			printf "}\n" >>"$1/sig.in"
		done' _ "$TMP" "$MDSW"
	/usr/bin/time -f "%e %U %S" -o "$TMP/t.sig" taskset -c 1 "$ROOT/.stack/venv-siggen/bin/python" \
		"$ROOT/tests/sigcompat/siggen_batch.py" <"$TMP/sig.in" >"$TMP/sig.out" 2>/dev/null
	read -r mw mu ms <"$TMP/t.mdsw"
	read -r sw su ss <"$TMP/t.sig"
	n=$(ls "$TMP"/corpus/dumps/*.dmp | wc -l)
	awk -v n="$n" -v r="$r" -v mw="$mw" -v mc="$(echo "$mu + $ms" | bc)" -v sw="$sw" -v sc="$(echo "$su + $ss" | bc)" 'BEGIN {
		printf "pass %d: %d crashes: minidump-stackwalk wall %.2fs cpu %.2fs; siggen wall %.2fs cpu %.2fs; together %.1f crashes/s per core\n",
			r, n, mw, mc, sw, sc, n / (mc + sc) }' | tee -a "$TMP/ref.out"
done
awk '/per core$/ { v = $(NF-3); if (v > best) best = v } END { printf "reference: %.1f crashes/s per core (best pass, CPU time)\n", best }' "$TMP/ref.out" | tee -a "$TMP/ref.out"
"$TMP/crashstream" signature --batch <"$TMP/sig.in" >"$TMP/cs-sig.out" 2>/dev/null
python3 - "$TMP/cs-sig.out" "$TMP/sig.out" <<'PY'
import json, sys
a = [json.loads(l)["signature"] for l in open(sys.argv[1])]
b = [json.loads(l).get("signature") for l in open(sys.argv[2])]
print(f"same signature from crashstream and siggen on minidump-stackwalk's output: {sum(x == y for x, y in zip(a, b))}/{len(b)}")
PY
cs=$(awk '/^crashstream processor:/ {print $3}' "$TMP/cs.out")
ref=$(awk '/^reference:/ {print $2}' "$TMP/ref.out")
awk -v a="$cs" -v b="$ref" 'BEGIN { printf "ratio crashstream / reference: %.1fx\n", a / b }'
