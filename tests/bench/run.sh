#!/usr/bin/env bash
# The end-to-end benchmark run (issue 13): one run against the real stack
# (`make up` first; the Makefile does it) that starts the pipeline with its
# own topic prefix, buckets and database, measures, and writes a markdown
# report.
#
#   tests/bench/run.sh full    every figure; writes the "## End to end" and
#                              "## Machine" sections of BENCHMARKS.md
#   tests/bench/run.sh quick   the same at small sizes (< 5 minutes);
#                              writes .stack/bench-quick.md only
#   tests/bench/run.sh cost [RATE [SECONDS]]
#                              only the cost of one crash per process at
#                              RATE reports/s (default 20) for SECONDS
#                              (default 60), with profiles (cost.sh)
#   tests/bench/run.sh admission [SECONDS]
#                              only ingest at 25/50/100/150 reports/s
#                              (ADMISSION_RATES; ADMISSION_TARGET, 150ms),
#                              the collector's adaptive store limit beside
#                              the same binary without it, interleaved
#                              (SECONDS per row, default 20)
#
# BENCH_CONSUMER_NICE=N starts the processor and sinks at nice N (the
# collector at 0) in every mode.
#
# Figures: ingest (crashgen open loop, realistic size mix) at fixed rates up
# to saturation, end-to-end throughput and visibility lag, processor
# crashes/s per core beside minidump-stackwalk + siggen (processor.sh), top
# crashers and super search p95 on bulk-loaded tables (tests/sinks harness),
# RSS and CPU per crash per service from /proc, and the machine's ceilings:
# MinIO PUT rate of the same size mix, franz-go produce rate.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MODE=${1:-quick}
case $MODE in
full)
	RATES=(10 25 40 50 75 100 150) STEP=30s PROC_ARGS=(100 3) QUERY_ROWS=(1000000 10000000) QUERY_RUNS=20
	LAG_COUNT=60 PUT_COUNT=300 PRODUCE=15s DRAIN=900 SUSTAIN=60 COST_RATE=20 COST_SECS=60 OUT="$ROOT/BENCHMARKS.md" ;;
quick)
	RATES=(5 10 20) STEP=10s PROC_ARGS=(20 1) QUERY_ROWS=(100000) QUERY_RUNS=5
	LAG_COUNT=15 PUT_COUNT=60 PRODUCE=5s DRAIN=120 SUSTAIN=10 COST_RATE=5 COST_SECS=10 OUT="$ROOT/.stack/bench-quick.md" ;;
cost)
	COST_RATE=${2:-20} COST_SECS=${3:-60} OUT="$ROOT/.stack/bench-cost.md" ;;
admission)
	STEP=${2:-20}s OUT="$ROOT/.stack/bench-admission.md" ;;
*) echo "usage: $0 full|quick|cost [rate [seconds]]|admission [seconds]" >&2; exit 2 ;;
esac
# cost.sh: the per-crash cost of every process (cost_measure)
# shellcheck source=cost.sh
source "$(dirname "$0")/cost.sh"
# admission.sh: ingest with and without the adaptive store limit
# shellcheck source=admission.sh
source "$(dirname "$0")/admission.sh"
T0=$(date +%s)
TMP=$(mktemp -d)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	curl -sf "http://127.0.0.1:18123/" --data-binary "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
	# buckets left behind keep MinIO's scanner busy in later runs
	[[ -x $TMP/e2ebench && -n ${BUCKET:-} ]] && "$TMP/e2ebench" rmbuckets "$BUCKET" "$SYMBOLS" "$TELE" || true
	rm -rf "$TMP"
}
trap cleanup EXIT
say() { printf '\033[1mbench:\033[0m %s\n' "$*" >&2; }
ch() { curl -sf "http://127.0.0.1:18123/" --data-binary "$1"; }
# to_ms turns crashgen's durations (255ms, 1.62s) into milliseconds.
to_ms() { awk -v d="$1" 'BEGIN { if (d ~ /ms$/) { sub(/ms$/, "", d); print d + 0 } else if (d ~ /µs$/) { print 0 } else if (d ~ /s$/) { sub(/s$/, "", d); print d * 1000 } else { print 1e9 } }'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
metric() { # metric ADMIN NAME: sum of every series of NAME
	curl -sf "http://$1/metrics" | awk -v n="$2" '$1 == n || index($1, n "{") == 1 {s += $NF} END {printf "%d", s}'
}
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD)
HZ=$(getconf CLK_TCK)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

say "building"
(cd "$ROOT/services" && CGO_ENABLED=0 go build -trimpath -o "$TMP/crashstream" ./cmd/crashstream)
(cd "$ROOT/tests" && go build -o "$TMP/e2ebench" ./bench/e2ebench)
CS="$TMP/crashstream"

ID="bench$(date +%s)"
DB="cs_$ID" BUCKET="$ID" SYMBOLS="$ID-symbols" TELE="$ID-telemetry"
"$TMP/e2ebench" buckets "$BUCKET" "$SYMBOLS" "$TELE"
COLLECTOR="127.0.0.1:$(free_port)"
export CRASHSTREAM_KAFKA_TOPIC_PREFIX="$ID." CRASHSTREAM_S3_BUCKET="$BUCKET" CRASHSTREAM_S3_SYMBOLS_BUCKET="$SYMBOLS" \
	CRASHSTREAM_S3_TELEMETRY_BUCKET="$TELE" CRASHSTREAM_CLICKHOUSE_DATABASE="$DB" CRASHSTREAM_COLLECTOR_ADDR="$COLLECTOR" \
	CRASHSTREAM_WEBAPP_ADDR="127.0.0.1:$(free_port)" CRASHSTREAM_LOG_LEVEL=warn CRASHSTREAM_LOG_FORMAT=json \
	CRASHSTREAM_PROCESSOR_GROUP="$ID-processor" CRASHSTREAM_PROCESSOR_PRIORITY_GROUP="$ID-processor-priority" \
	CRASHSTREAM_SINK_CLICKHOUSE_GROUP="$ID-sink-clickhouse" CRASHSTREAM_SINK_OBJECTSTORE_GROUP="$ID-sink-objectstore" \
	CRASHSTREAM_SINK_TELEMETRY_GROUP="$ID-sink-telemetry" CRASHSTREAM_ADMIN_PPROF=true

# Each service is its own process so that RSS and CPU are per service; the
# sum is what `crashstream all` would hold at most (one process shares one
# runtime and one set of clients).
SERVICES=(sink-clickhouse sink-objectstore sink-telemetry processor collector)
declare -A PID ADMIN
for s in "${SERVICES[@]}"; do
	ADMIN[$s]="127.0.0.1:$(free_port)"
	# admission mode compares the store limit (on here, with a target of
	# ADMISSION_TARGET, 150ms unless set) with the same collector without
	# it (admission.sh; ADMISSION_RATES picks the offered rates).
	target=0
	[[ $MODE == admission && $s == collector ]] && target=${ADMISSION_TARGET:-150ms}
	# BENCH_CONSUMER_NICE runs the processor and sinks at that nice level, so
	# that the collector's acknowledgements come first and the consumers
	# catch up from Kafka with the CPU left over.
	prio=0
	[[ $s != collector ]] && prio=${BENCH_CONSUMER_NICE:-0}
	CRASHSTREAM_COLLECTOR_STORE_LATENCY_TARGET=$target CRASHSTREAM_ADMIN_ADDR=${ADMIN[$s]} nice -n "$prio" "$CS" "$s" 2>"$TMP/$s.log" &
	PID[$s]=$!
	PIDS+=($!)
	for i in $(seq 1 300); do
		curl -sf "http://${ADMIN[$s]}/__heartbeat__" >/dev/null 2>&1 && break
		kill -0 "${PID[$s]}" 2>/dev/null || { tail -20 "$TMP/$s.log" >&2; exit 1; }
		sleep 0.3
	done
	curl -sf "http://${ADMIN[$s]}/__heartbeat__" >/dev/null || { say "$s not healthy"; tail -20 "$TMP/$s.log" >&2; exit 1; }
done
say "pipeline up: collector http://$COLLECTOR, database $DB, prefix $ID."
"$CS" crashgen -collector.url "http://$COLLECTOR" -upload-symbols -count 1 -rate 0 -seed 42 -progress 0 >/dev/null 2>&1

if [[ $MODE == cost ]]; then
	say "cost of one crash: $COST_RATE reports/s for ${COST_SECS}s, then until drained"
	cost_measure "$COST_RATE" "$COST_SECS" "$OUT"
	cat "$OUT"
	say "written to $OUT; profiles in .stack/bench-profiles/$ID"
	exit 0
fi
if [[ $MODE == admission ]]; then
	admission_compare "$OUT"
	cat "$OUT"
	exit 0
fi

declare -A T_START
for s in "${SERVICES[@]}"; do T_START[$s]=$(ticks "${PID[$s]}"); done

# ---------------------------------------------------------------- ingest
say "ingest: ${RATES[*]} reports/s for $STEP each (open loop, size scale 1)"
ING="$TMP/ingest.md"
echo "| offered /s | sent | acked | acked /s | MB/s | p50 ack | p90 | p99 | max | statuses |" >"$ING"
echo "|---|---|---|---|---|---|---|---|---|---|" >>"$ING"
ACKED=0
ING_START=$(date +%s.%N)
BEST=0 BEST_P99="" BEST_OK=0 BEST_OK_P99=""
for r in "${RATES[@]}"; do
	"$CS" crashgen -collector.url "http://$COLLECTOR" -rate "$r" -duration "$STEP" -concurrency 128 -seed "$r" \
		-progress 0 >"$TMP/cg.$r" 2>&1 || true
	read -r sent acked rate mbs < <(awk '/^sent/ {gsub(/[(,]/, ""); print $2, $4, $11, $13}' "$TMP/cg.$r")
	read -r p50 p90 p99 pmax < <(awk '/^ack latency/ {print $4, $6, $8, $10}' "$TMP/cg.$r")
	st=$(awk '/^statuses/ {sub(/^statuses: /, ""); print}' "$TMP/cg.$r")
	echo "| $r | $sent | $acked | $rate | $mbs | $p50 | $p90 | $p99 | $pmax | $st |" >>"$ING"
	say "  $r/s: acked $acked ($rate/s), p50 $p50 p99 $p99"
	ACKED=$((ACKED + ${acked:-0}))
	# issue 27's test: >= 95 % acknowledged with p99 <= 250 ms
	if awk -v a="$rate" -v r="$r" -v p="$(to_ms "$p99")" 'BEGIN {exit !(a >= 0.95 * r && p <= 250)}'; then BEST_OK=$r BEST_OK_P99=$p99; fi
	if awk -v a="$rate" -v r="$r" 'BEGIN {exit !(a >= 0.9 * r)}'; then BEST=$r BEST_P99=$p99; else break; fi
done
ING_END=$(date +%s.%N)

# ---------------------------------------------------------------- drain: end to end
say "waiting (up to ${DRAIN}s) until the $ACKED acknowledged reports are rows in ClickHouse"
E2E=""
for i in $(seq 1 "$DRAIN"); do
	n=$(ch "SELECT count(DISTINCT crash_id) FROM $DB.crashes" 2>/dev/null || echo 0)
	if [[ ${n:-0} -ge $((ACKED + 1)) ]]; then E2E=$(date +%s.%N); break; fi
	sleep 1
done
ROWS=$(ch "SELECT count(DISTINCT crash_id) FROM $DB.crashes" 2>/dev/null || echo 0)
if [[ -n $E2E ]]; then
	E2E_LINE=$(awk -v n="$ACKED" -v a="$ING_START" -v b="$E2E" -v c="$ING_END" 'BEGIN {
		printf "%d reports from the first send to the last row in ClickHouse in %.0f s: %.1f reports/s end to end (sending took %.0f s)", n, b - a, n / (b - a), c - a }')
else
	E2E_LINE="not drained within ${DRAIN}s: $ROWS of $((ACKED + 1)) rows in ClickHouse, $(awk -v n="$ROWS" -v a="$ING_START" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", n / (b - a)}') reports/s end to end so far"
fi
say "  $E2E_LINE"

# ---------------------------------------------------------------- drain at the best rate
# The end-to-end rate at the highest rate that met the test above: send at
# it for SUSTAIN seconds, then time the first send to the last row.
SUSTAIN_LINE="no rate met >= 95 % acknowledged with p99 <= 250 ms"
if [[ $BEST_OK -gt 0 ]]; then
	say "sustained: ${BEST_OK}/s for ${SUSTAIN}s, then until every report is a row"
	base=$(ch "SELECT count(DISTINCT crash_id) FROM $DB.crashes" 2>/dev/null || echo 0)
	s0=$(date +%s.%N)
	"$CS" crashgen -collector.url "http://$COLLECTOR" -rate "$BEST_OK" -duration "${SUSTAIN}s" -concurrency 128 -seed 7 \
		-progress 0 >"$TMP/cg.sustain" 2>&1 || true
	s1=$(date +%s.%N)
	read -r sacked srate < <(awk '/^sent/ {gsub(/[(,]/, ""); print $4, $11}' "$TMP/cg.sustain")
	read -r sp50 sp90 sp99 spmax < <(awk '/^ack latency/ {print $4, $6, $8, $10}' "$TMP/cg.sustain")
	s2=""
	for i in $(seq 1 "$DRAIN"); do
		n=$(ch "SELECT count(DISTINCT crash_id) FROM $DB.crashes" 2>/dev/null || echo 0)
		if [[ ${n:-0} -ge $((base + ${sacked:-0})) ]]; then s2=$(date +%s.%N); break; fi
		sleep 0.5
	done
	if [[ -n $s2 ]]; then
		SUSTAIN_LINE=$(awk -v r="$BEST_OK" -v n="$sacked" -v a="$s0" -v b="$s1" -v c="$s2" -v ar="$srate" -v p="$sp99" -v m="$sp50" 'BEGIN {
			printf "%d/s offered for %.0f s: %d acknowledged (%.1f/s, p50 %s, p99 %s), the last of them a row in ClickHouse %.1f s after the last send: **%.1f reports/s end to end**", r, b - a, n, ar, m, p, c - b, n / (c - a) }')
	else
		SUSTAIN_LINE="${BEST_OK}/s offered: $sacked acknowledged, not all rows within ${DRAIN}s"
	fi
	ACKED=$((ACKED + ${sacked:-0}))
	say "  $SUSTAIN_LINE"
fi

# ---------------------------------------------------------------- CPU and RSS
declare -A T_END RSS HWM
for s in "${SERVICES[@]}"; do
	T_END[$s]=$(ticks "${PID[$s]}")
	RSS[$s]=$(status_kb "${PID[$s]}" VmRSS)
	HWM[$s]=$(status_kb "${PID[$s]}" VmHWM)
done
handled() { # crashes a service handled (from its own counters)
	case $1 in
	collector) echo "$ACKED" ;;
	processor) metric "${ADMIN[processor]}" crashstream_processor_crashes_total ;;
	*) metric "${ADMIN[$1]}" crashstream_sink_records_written_total ;;
	esac
}
RES="$TMP/res.md"
echo "| service | crashes handled | CPU s | CPU ms per crash | RSS now MiB | peak RSS MiB |" >"$RES"
echo "|---|---|---|---|---|---|" >>"$RES"
TOT_HWM=0 TOT_RSS=0
for s in "${SERVICES[@]}"; do
	h=$(handled "$s")
	awk -v s="$s" -v h="$h" -v t="$(( ${T_END[$s]} - ${T_START[$s]} ))" -v hz="$HZ" -v r="${RSS[$s]}" -v m="${HWM[$s]}" 'BEGIN {
		printf "| %s | %d | %.1f | %s | %.0f | %.0f |\n", s, h, t / hz, (h > 0 ? sprintf("%.1f", 1000 * t / hz / h) : "-"), r / 1024, m / 1024 }' >>"$RES"
	TOT_HWM=$((TOT_HWM + ${HWM[$s]:-0})) TOT_RSS=$((TOT_RSS + ${RSS[$s]:-0}))
done
echo "| **all services** | | | | $((TOT_RSS / 1024)) | $((TOT_HWM / 1024)) (sum of peaks) |" >>"$RES"
STACK_RSS=""
for part in kafka minio clickhouse; do
	pid=$(cat "$ROOT/.stack/run/$part.pid" 2>/dev/null || echo 0)
	STACK_RSS+="$part $(( $(status_kb "$pid" VmRSS || echo 0) / 1024 )) MiB, "
done

# ---------------------------------------------------------------- visibility lag
say "visibility lag: $LAG_COUNT reports at 2/s"
LAG=$("$TMP/e2ebench" lag -collector "http://$COLLECTOR" -db "$DB" -rate 2 -count "$LAG_COUNT" -seed 42 2>&1 | tail -1)
say "  $LAG"

# ---------------------------------------------------------------- cost of one crash
say "cost of one crash: $COST_RATE reports/s for ${COST_SECS}s, then until drained (cost.sh)"
cost_measure "$COST_RATE" "$COST_SECS" "$TMP/cost.md"

# Stop the pipeline before the CPU-bound parts.
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
PIDS=()

# ---------------------------------------------------------------- ceilings
say "ceilings: MinIO PUT ($PUT_COUNT objects), franz-go produce ($PRODUCE)"
PUT=$("$TMP/e2ebench" minio -count "$PUT_COUNT" -concurrency 16 2>&1 | tail -1)
PRODUCE_LINE=$("$TMP/e2ebench" kafka -duration "$PRODUCE" 2>&1 | tail -1)
say "  $PUT"
say "  $PRODUCE_LINE"

# ---------------------------------------------------------------- processor
say "processor: tests/bench/processor.sh ${PROC_ARGS[*]}"
PROC=$("$ROOT/tests/bench/processor.sh" "${PROC_ARGS[@]}" 2>&1 | grep -E '^(corpus|crashstream processor|reference|ratio|pass)' || true)
say "$(grep ratio <<<"$PROC" || echo 'processor.sh gave no ratio')"

# ---------------------------------------------------------------- queries
QRY="$TMP/queries.md"
echo "| crashes | query | p50 ms | p95 ms | note |" >"$QRY"
echo "|---|---|---|---|---|" >>"$QRY"
for rows in "${QUERY_ROWS[@]}"; do
	say "queries at $rows crashes (tests/sinks TestBenchQueries; the table is kept between runs)"
	(cd "$ROOT/tests" && CRASHSTREAM_STACK=1 CRASHSTREAM_BENCH_ROWS=$rows CRASHSTREAM_BENCH_RUNS=$QUERY_RUNS \
		go test -count=1 -run '^TestBenchQueries$' -v -timeout 60m ./sinks/) >"$TMP/q.$rows" 2>&1 ||
		{ tail -20 "$TMP/q.$rows" >&2; }
	grep -E "^\s+\| $rows \|" "$TMP/q.$rows" | sed 's/^\s*//' >>"$QRY" || true
	grep -E 'loaded|reusing' "$TMP/q.$rows" | sed 's/^\s*//' >&2 || true
done

# ---------------------------------------------------------------- goals
# goals prints one line per goal of issue 13 with its verdict.
goals() {
	local e2e_rate ratio tc95 verdict
	e2e_rate=$(grep -oE '[0-9.]+ reports/s end to end' <<<"$SUSTAIN_LINE" | awk '{print $1}')
	verdict=$(awk -v b="$BEST_OK" -v e="${e2e_rate:-0}" 'BEGIN { print ((b >= 100 && e >= 100) ? "**met**" : "**not met**") }')
	echo "- ≥ 100 reports/s acknowledged (≥ 95 %) with p99 ack ≤ 250 ms and drained end to end at that rate: $verdict —" \
		"the highest rate that met the latency test was ${BEST_OK}/s (p99 ${BEST_OK_P99:-n/a}), drained at ${e2e_rate:-?} reports/s" \
		"end to end; the same run's ceilings are below and the per-crash cost table above says where the CPU goes."
	ratio=$(grep -oE 'ratio crashstream / reference: [0-9.]+x' <<<"$PROC" | awk '{print $NF}')
	echo "- processor ≥ 2× minidump-stackwalk (+ siggen), per core: $(awk -v r="${ratio%x}" 'BEGIN {print (r >= 2 ? "**met**" : "**not met**")}') — ${ratio:-?}."
	tc95=$(awk -F'|' '$2 ~ /10000000/ && $3 ~ /top crashers/ {gsub(/ /, "", $5); if ($5 + 0 > m) m = $5 + 0} END {print m + 0}' "$QRY")
	if grep -q '| 10000000 |' "$QRY"; then
		echo "- top crashers ≤ 300 ms p95 at 10M crashes: $(awk -v m="$tc95" 'BEGIN {print (m <= 300 ? "**met**" : "**not met**")}') — worst top-crashers p95 at 10M: ${tc95} ms."
	else
		echo "- top crashers ≤ 300 ms p95 at 10M crashes: not measured in this mode."
	fi
	echo "- all crashstream services together ≤ 1 GiB RSS: $(awk -v k="$TOT_HWM" 'BEGIN {print (k <= 1048576 ? "**met**" : "**not met**")}') — sum of the services' peak RSS $((TOT_HWM / 1024)) MiB."
}

# ---------------------------------------------------------------- report
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(( $(date +%s) - T0 ))
REPORT="$TMP/report.md"
{
	echo "## End to end"
	echo
	echo "\`make bench\` (\`tests/bench/run.sh $MODE\`) at commit $COMMIT, $(date -u +%FT%TZ), ${ELAPSED} s; machine below."
	echo "Load average $LOAD0 at the start and $LOAD1 at the end (the run's own load generator, services and servers"
	echo "count in it: each row's load is the machine under that row's traffic)."
	echo "The pipeline ran as separate processes (collector, processor, sink-clickhouse, sink-objectstore,"
	echo "sink-telemetry) with topic prefix \`$ID.\`, buckets \`$BUCKET*\` and database \`$DB\`."
	echo
	echo "### Ingest (collector ack), crashgen open loop, realistic size mix"
	echo
	echo "\`crashstream crashgen -rate R -duration $STEP -concurrency 128\` per row; latency from the intended send time."
	echo
	cat "$ING"
	echo
	echo "Highest rate acknowledged at ≥ 95% with p99 ack ≤ 250 ms: **${BEST_OK} reports/s** (p99 ${BEST_OK_P99:-n/a});"
	echo "highest acknowledged at ≥ 90% regardless of latency: ${BEST} reports/s (p99 ${BEST_P99:-n/a})."
	echo
	echo "### End to end"
	echo
	echo "- At the highest rate that met the latency test (\`crashgen -rate $BEST_OK -duration ${SUSTAIN}s\`, after the drain): $SUSTAIN_LINE."
	echo "- Everything above, back to back: $E2E_LINE."
	echo "- Visibility lag ack → row via the query library: \`e2ebench lag -rate 2 -count $LAG_COUNT\`: $LAG."
	echo
	echo "### RSS and CPU per crash per service (/proc/<pid>/stat and status, over the ingest and drain)"
	echo
	cat "$RES"
	echo
	echo "The stack beside it: ${STACK_RSS%, }."
	echo
	echo "### The cost of one crash, every process (cost.sh)"
	echo
	cat "$TMP/cost.md"
	echo
	echo "### Processor per core beside minidump-stackwalk + siggen"
	echo
	echo "\`tests/bench/processor.sh ${PROC_ARGS[*]}\` (crashgen dumps, both pinned to one core, CPU time):"
	echo
	echo '```'
	echo "$PROC"
	echo '```'
	echo
	echo "### Top crashers and super search (bulk-loaded, tests/sinks TestBenchQueries)"
	echo
	echo "\`CRASHSTREAM_STACK=1 CRASHSTREAM_BENCH_ROWS=N CRASHSTREAM_BENCH_RUNS=$QUERY_RUNS go test -run TestBenchQueries -v ./sinks/\`"
	echo
	cat "$QRY"
	echo
	echo "### Goals (issue 13), read from the figures above"
	echo
	goals
	echo
	echo "### Ceilings of this machine, same run"
	echo
	echo "- \`e2ebench minio -count $PUT_COUNT -concurrency 16\`: $PUT"
	echo "- \`e2ebench kafka -duration $PRODUCE\`: $PRODUCE_LINE"
	echo
	echo "## Machine"
	echo
	echo "Of the \`tests/bench/run.sh $MODE\` run above."
	echo
	echo '```'
	lscpu | grep -E '^(Architecture|CPU\(s\)|Model name|Thread|Core|Socket|L2|L3|Hypervisor)' || true
	echo
	free -m
	echo '```'
} >"$REPORT"

if [[ $MODE == full ]]; then
	# Replace the two sections (each up to the next "## " heading) in place.
	python3 - "$OUT" "$REPORT" <<'PY'
import re, sys
out, rep = sys.argv[1], open(sys.argv[2]).read().rstrip() + "\n"
text = open(out).read()
for name in ("End to end", "Machine"):
    text = re.sub(r"(?ms)^## " + re.escape(name) + r"\n.*?(?=^## |\Z)", "", text)
open(out, "w").write(text.rstrip() + "\n\n" + rep)
PY
else
	mkdir -p "$(dirname "$OUT")"
	cp "$REPORT" "$OUT"
fi
cat "$REPORT"
say "written to $OUT in ${ELAPSED}s"
