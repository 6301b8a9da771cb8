# shellcheck shell=bash
# Ingest with and without the collector's adaptive store limit, same run
# (issue 27): sourced by run.sh once its pipeline is up. admission_compare
# OUT starts a second collector from the same binary with the limit held at
# -collector.max-in-flight (a latency target of an hour never cuts it: the
# behaviour before the limit), then offers 25, 50, 100 and 150 reports/s for
# STEP to each in turn (the order alternating by row, so neither always
# follows the heavier backlog), and writes the table to OUT.
#
# Needs from run.sh: CS COLLECTOR TMP STEP PIDS free_port say metric ADMIN.

admission_compare() {
	local out=$1 fixed fixed_admin r which url cg order
	fixed="127.0.0.1:$(free_port)" fixed_admin="127.0.0.1:$(free_port)"
	CRASHSTREAM_COLLECTOR_ADDR=$fixed CRASHSTREAM_ADMIN_ADDR=$fixed_admin CRASHSTREAM_COLLECTOR_STORE_LATENCY_TARGET=1h \
		"$CS" collector 2>"$TMP/collector-fixed.log" &
	PIDS+=($!)
	for _ in $(seq 1 300); do curl -sf "http://$fixed_admin/__heartbeat__" >/dev/null 2>&1 && break; sleep 0.3; done
	local load0
	load0=$(cut -d' ' -f1-3 /proc/loadavg)
	{
		echo "\`tests/bench/run.sh admission ${STEP%s}\`: \`crashstream crashgen -rate R -duration $STEP -concurrency 128\` per cell,"
		echo "realistic size mix, against two collectors of the same binary sharing one pipeline (processor, sinks,"
		echo "Kafka, MinIO, ClickHouse): **adaptive** with \`-collector.store-latency-target ${ADMISSION_TARGET:-150ms}\`, **fixed** with \`-collector.store-latency-target 1h\`"
		echo "(the limit never cut: 128 in flight, the behaviour before). Latency from each report's intended send time."
		echo
		echo "| offered /s | collector | acked /s | p50 ack | p90 | p99 | 503 | store limit after | load (1 min) |"
		echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
	} >"$out"
	local i=0
	for r in ${ADMISSION_RATES:-25 50 100 150}; do
		if ((i++ % 2)); then order="adaptive fixed"; else order="fixed adaptive"; fi
		for which in $order; do
			url=$COLLECTOR admin=${ADMIN[collector]}
			[[ $which == fixed ]] && url=$fixed admin=$fixed_admin
			cg="$TMP/adm.$r.$which"
			"$CS" crashgen -collector.url "http://$url" -rate "$r" -duration "$STEP" -concurrency 128 -seed "$r" \
				-progress 0 >"$cg" 2>&1 || true
			read -r _ _ rate _ < <(awk '/^sent/ {gsub(/[(,]/, ""); print $2, $4, $11, $13}' "$cg")
			read -r p50 p90 p99 _ < <(awk '/^ack latency/ {print $4, $6, $8, $10}' "$cg")
			n503=$(awk '/^statuses/ {if (match($0, /503:[0-9]+/)) print substr($0, RSTART + 4, RLENGTH - 4); else print 0}' "$cg")
			lim=$(metric "$admin" crashstream_collector_store_limit)
			echo "| $r | $which | $rate | $p50 | $p90 | $p99 | ${n503:-0} | $lim | $(cut -d' ' -f1 /proc/loadavg) |" >>"$out"
			say "  $r/s $which: acked $rate/s p50 $p50 p99 $p99 503 ${n503:-0} limit $lim"
			sleep 3
		done
	done
	echo >>"$out"
	echo "Load average $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end." >>"$out"
}
