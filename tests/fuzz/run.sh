#!/usr/bin/env bash
# Runs every Go fuzz target of the workspace, one at a time, for DURATION
# each (-parallel 1: the machine is shared). The corpus the fuzzer grows
# stays in the Go build cache ($(go env GOCACHE)/fuzz), where the next run
# resumes from it; it is not committed (tests/fuzz/README.md). An input
# that makes a target fail is written by `go test` to the package's
# testdata/fuzz/<Target>/: commit that one with its fix, so every
# `go test` replays it.
#
#   tests/fuzz/run.sh DURATION [PATTERN]   e.g. tests/fuzz/run.sh 60s  or  tests/fuzz/run.sh 5m Minidump
#
# FUZZ_JOBS=N runs N targets at a time (one core each), for machines with
# cores to spare; the default is 1. FUZZ_MINIMIZE (default 10s) bounds the
# time spent shrinking each new interesting input: with Go's 60 s default a
# parser of large inputs (minidumps) spent most of a run minimizing.
#
# PATTERN (a grep -E over "module/package FuzzName") selects targets.
# A summary table (target, fuzz time, execs, new corpus entries, result) is
# printed at the end and written to tests/fuzz/last-run.md (or $FUZZ_REPORT,
# so two runs can go side by side, one per core).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DURATION=${1:?usage: tests/fuzz/run.sh DURATION [PATTERN]}
PATTERN=${2:-.}
MODULES=(schemas streams storage services charts tests)
CACHE="$(go env GOCACHE)/fuzz"
OUT=${FUZZ_REPORT:-$ROOT/tests/fuzz/last-run.md}
LOG=$(mktemp -d)
trap 'rm -rf "$LOG"' EXIT

# targets: lines "module<TAB>package dir<TAB>FuzzName".
targets=$(cd "$ROOT" && for m in "${MODULES[@]}"; do
	grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]*\(' "$m" 2>/dev/null | while read -r f; do
		for name in $(grep -oE '^func Fuzz[A-Za-z0-9_]*' "$f" | cut -d' ' -f2); do
			printf '%s\t%s\t%s\n' "$m" "$(dirname "${f#"$m"/}")" "$name"
		done
	done
done | sort -u | grep -E -- "$PATTERN")
# A lane of a FUZZ_JOBS run gets its share of the targets from its parent.
[[ -n ${FUZZ_TARGETS:-} ]] && targets=$FUZZ_TARGETS
[[ -n $targets ]] || { echo "fuzz: no target matches $PATTERN" >&2; exit 1; }
JOBS=${FUZZ_JOBS:-1}
echo "fuzz: $(wc -l <<<"$targets") targets, $DURATION each, -parallel 1, $JOBS at a time ($(date -u +%FT%TZ), commit $(git -C "$ROOT" rev-parse --short HEAD))"

if [[ -z ${FUZZ_TARGETS:-} && $JOBS -gt 1 ]]; then
	# Deal the targets round-robin into JOBS lanes, run each lane as its own
	# run.sh in the background (output prefixed with the lane), then merge
	# their tables.
	failed=0 pids=()
	for ((j = 0; j < JOBS; j++)); do
		lane=$(awk -v n="$JOBS" -v j="$j" '(NR - 1) % n == j' <<<"$targets")
		[[ -n $lane ]] || continue
		FUZZ_TARGETS=$lane FUZZ_JOBS=1 FUZZ_REPORT="$LOG/lane$j.md" "$0" "$DURATION" "$PATTERN" 2>&1 | sed -u "s/^/[lane $j] /" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || failed=1; done
	{
		echo "Fuzz run $(date -u +%FT%TZ), commit $(git -C "$ROOT" rev-parse --short HEAD), \`tests/fuzz/run.sh $DURATION${2:+ $2}\` with FUZZ_JOBS=$JOBS, $(nproc) cores"
		echo
		echo "| target | fuzz time | execs | new corpus files | result |"
		echo "|---|---|---|---|---|"
		cat "$LOG"/lane*.md | grep '^| `' | sort
	} >"$OUT"
	grep -q 'FAIL' "$OUT" && failed=1
	echo
	cat "$OUT"
	exit $failed
fi

{
	echo "Fuzz run $(date -u +%FT%TZ), commit $(git -C "$ROOT" rev-parse --short HEAD), \`tests/fuzz/run.sh $DURATION${2:+ $2}\`, $(nproc) cores"
	echo
	echo "| target | fuzz time | execs | new corpus files | result |"
	echo "|---|---|---|---|---|"
} >"$OUT"

failed=0
while IFS=$'\t' read -r mod dir name; do
	pkg=$(cd "$ROOT/$mod" && go list "./$dir")
	log="$LOG/$mod-${dir//\//_}-$name.log"
	echo "== $mod/$dir $name"
	src="$CACHE/$pkg/$name"
	before=$(find "$src" -maxdepth 1 -type f 2>/dev/null | wc -l)
	start=$(date +%s)
	(cd "$ROOT/$mod" && go test -run '^$' -fuzz "^$name\$" -fuzztime "$DURATION" -fuzzminimizetime "${FUZZ_MINIMIZE:-10s}" -parallel 1 "./$dir") >"$log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	# The last progress line carries the total number of executions.
	execs=$(grep -oE 'execs: [0-9]+' "$log" | tail -1 | awk '{print $2}')
	fuzzed=$(grep -oE 'elapsed: [0-9hms]+' "$log" | tail -1 | awk '{print $2}')
	result=ok
	if [[ $rc -ne 0 ]]; then
		result="FAIL (see testdata/fuzz/$name for the crasher)"
		failed=1
		tail -n 30 "$log"
	fi
	# The corpus grows in the build cache; count what this run added.
	added=$(($(find "$src" -maxdepth 1 -type f 2>/dev/null | wc -l) - before))
	echo "   $result: ${fuzzed:-?} fuzzing (${secs}s with build), ${execs:-0} execs, $added new corpus files"
	echo "| \`$mod/$dir\` $name | ${fuzzed:-?} | ${execs:-0} | $added | $result |" >>"$OUT"
done <<<"$targets"
echo
cat "$OUT"
exit $failed
