#!/usr/bin/env bash
# make chaos: the fault matrix against the real stack (`make up` first).
#
#   tests/chaos/run.sh [full]        10,000 crashes at a fixed rate; one at a time: SIGKILL + restart of
#                                    Kafka, MinIO, ClickHouse (stack.sh up restarts them), one processor
#                                    of two, each sink; then SIGSTOP 30 s / SIGCONT of each
#   tests/chaos/run.sh short         1,000 crashes, two faults (what `make test` runs)
#   tests/chaos/run.sh overload R    R reports/s of the realistic size mix (2x the measured capacity)
#
# Killing the stack's servers disturbs anything else using the stack at the
# same time. The table is printed and written to .stack/chaos-<mode>.md.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MODE=${1:-full}
OUT="$ROOT/.stack/chaos-$MODE.md"
mkdir -p "$ROOT/.stack"
export CRASHSTREAM_STACK=1 CRASHSTREAM_CHAOS_REPORT="$OUT"
cd "$ROOT/tests"
case $MODE in
full)
	CRASHSTREAM_CHAOS_COUNT=${COUNT:-10000} CRASHSTREAM_CHAOS_RATE=${RATE:-15} CRASHSTREAM_CHAOS_FAULTS=${FAULTS:-all} \
		CRASHSTREAM_CHAOS_SETTLE=15m go test -count=1 -run '^TestChaos$' -v -timeout 120m ./chaos/ ;;
short)
	go test -count=1 -run '^TestChaos$' -v -timeout 20m ./chaos/ ;;
overload)
	CRASHSTREAM_OVERLOAD_RATE=${2:?usage: run.sh overload RATE} CRASHSTREAM_OVERLOAD_SECONDS=${SECONDS_:-60} \
		go test -count=1 -run '^TestOverload$' -v -timeout 60m ./chaos/ ;;
*) echo "usage: $0 [full|short|overload RATE]" >&2; exit 2 ;;
esac
cat "$OUT"
