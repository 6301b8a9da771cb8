#!/bin/sh
# Signatures per second: `crashstream signature --batch` beside siggen (its
# library, through siggen_batch.py, one process) on the same inputs, in the
# same run. Usage: tests/sigcompat/bench.sh [repeat]   (default 10 copies of
# the inputs ./gen makes with seed 7, as TestOracle uses). Prints wall and CPU
# (user+sys) time of each tool.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
REPEAT=${1:-10}
"$HERE/install-siggen.sh"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
(cd "$ROOT/services" && go build -o "$TMP/crashstream" ./cmd/crashstream)
(cd "$ROOT/tests" && go run ./sigcompat/gen -seed 7 -root "$ROOT" -out "$TMP/inputs.jsonl")
i=0
while [ "$i" -lt "$REPEAT" ]; do cat "$TMP/inputs.jsonl"; i=$((i + 1)); done > "$TMP/in.jsonl"
N=$(wc -l < "$TMP/in.jsonl")
measure() { # name, command...
	name=$1; shift
	/usr/bin/time -f "%e %U %S" -o "$TMP/time" "$@" < "$TMP/in.jsonl" > "$TMP/out.$name" 2> "$TMP/err.$name"
	read -r wall user sys < "$TMP/time"
	awk -v n="$N" -v name="$name" -v w="$wall" -v u="$user" -v s="$sys" 'BEGIN {
		cpu = u + s; if (cpu == 0) cpu = 0.01; if (w == 0) w = 0.01
		printf "%-12s %7d inputs  wall %7.2fs  %9.0f sig/s   cpu %7.2fs  %9.0f sig/s(cpu)\n", name, n, w, n / w, cpu, n / cpu }'
}
for round in 1 2 3; do
	echo "round $round"
	measure crashstream "$TMP/crashstream" signature --batch
	measure cs-1worker "$TMP/crashstream" signature --batch --workers 1
	measure siggen "$ROOT/.stack/venv-siggen/bin/python" "$HERE/siggen_batch.py"
	grep -o 'siggen_seconds=[0-9.]*' "$TMP/err.siggen" | sed 's/^/  siggen generation only: /'
done
# The two write JSON differently (siggen escapes non-ASCII), so compare values.
python3 - "$TMP/out.crashstream" "$TMP/out.siggen" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
same = sum(x["signature"] == y["signature"] for x, y in zip(a, b))
print(f"identical signatures: {same}/{len(b)}; identical results: {sum(x == y for x, y in zip(a, b))}/{len(b)}")
PY
