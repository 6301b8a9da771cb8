# shellcheck shell=bash
# The cost of one crash, whole stack (issue 27): sourced by run.sh once its
# pipeline is up; cost_measure RATE SECONDS OUT offers RATE reports/s for
# SECONDS (crashgen, realistic size mix), waits for the pipeline to catch
# up, and writes to OUT a markdown table of what each process spent per
# crash over that window, plus the top consumers of CPU and allocation of
# each Go service's profile taken under that load.
#
# Sources, sampled before and after the window:
#   - every process (the five services, Kafka, MinIO, ClickHouse):
#     /proc/<pid>/stat utime+stime (CPU) and /proc/<pid>/io read_bytes and
#     write_bytes (block I/O) and rchar/wchar (every read and write, sockets
#     included);
#   - MinIO's own bucket metrics (/minio/v2/metrics/bucket, a Prometheus JWT
#     signed with the stack's secret): requests by API and bytes received
#     and sent for this run's buckets only;
#   - ClickHouse: the parts of this run's database (rows, bytes on disk) and
#     system.events (inserts, queries; server-wide);
#   - Kafka: the size of this run's topic directories in the broker's log
#     dir.
# The stack's servers are shared with whatever else runs on the machine, so
# their /proc and system.events figures are what the whole server spent
# during the window (an upper bound); the bucket, topic and database figures
# are this run's alone.
#
# Needs from run.sh: CS COLLECTOR ROOT TMP HZ ID BUCKET DB SERVICES PID ADMIN.

cost_stack_pid() { cat "$ROOT/.stack/run/$1.pid" 2>/dev/null || echo 0; }

# cost_proc PID: "ticks read_bytes write_bytes rchar wchar" of a process.
cost_proc() {
	local t io
	t=$(awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0)
	io=$(cat "/proc/$1/io" 2>/dev/null || true) # one line out whatever happens
	awk -v t="$t" '{v[$1] = $2} END {printf "%.0f %.0f %.0f %.0f %.0f\n", t, v["read_bytes:"], v["write_bytes:"], v["rchar:"], v["wchar:"]}' <<<"$io"
}

# cost_minio: "<series> <value>" lines of this run's buckets.
cost_minio() {
	local tok
	tok=$(python3 - <<'PY'
import base64, hashlib, hmac, json, time
b = lambda x: base64.urlsafe_b64encode(x).rstrip(b"=")
h = b(json.dumps({"alg": "HS512", "typ": "JWT"}).encode())
p = b(json.dumps({"exp": int(time.time()) + 3600, "sub": "crashstream", "iss": "prometheus"}).encode())
print((h + b"." + p + b"." + b(hmac.new(b"crashstream-secret", h + b"." + p, hashlib.sha512).digest())).decode())
PY
)
	curl -sf -H "Authorization: Bearer $tok" http://127.0.0.1:9000/minio/v2/metrics/bucket |
		awk -v b="bucket=\"$BUCKET" '!/^#/ && index($0, b) && /^minio_bucket_(requests_total|traffic_(received|sent)_bytes)/ {print $1, $2}'
	# MinIO lists a bucket's series only once its scanner has seen the
	# bucket, which can be after the run; the server-wide S3 counters are
	# always there (everything the server served in the window)
	curl -sf -H "Authorization: Bearer $tok" http://127.0.0.1:9000/minio/v2/metrics/cluster |
		awk '/^minio_s3_requests_total\{api="(get|put)object"/ || /^minio_s3_traffic_(received|sent)_bytes/ {print $1, $2}'
}

# cost_ch_events: "name value" of ClickHouse's server-wide counters we use.
cost_ch_events() {
	curl -sf http://127.0.0.1:18123/ --data-binary "SELECT event, value FROM system.events WHERE event IN
		('Query', 'InsertQuery', 'SelectQuery', 'InsertedRows', 'InsertedBytes', 'MergedRows', 'Merge',
		 'ReadCompressedBytes', 'CompressedReadBufferBytes', 'WriteBufferFromFileDescriptorWriteBytes') FORMAT TSV" || true
}

# cost_kafka_bytes: bytes of this run's topic directories (0 when the
# stack's Kafka keeps them elsewhere: a stack not started from this checkout).
cost_kafka_bytes() {
	{ du -sbc "$ROOT"/.stack/data/kafka/"$ID".* 2>/dev/null || true; } | awk '/total$/ {print $1} END {if (!NR) print 0}'
}

cost_measure() {
	local rate=$1 secs=$2 out=$3 dir="$TMP/cost" s p
	mkdir -p "$dir"
	declare -A cpid
	for s in "${SERVICES[@]}"; do cpid[$s]=${PID[$s]}; done
	for p in kafka minio clickhouse; do cpid[$p]=$(cost_stack_pid "$p"); done
	local procs=("${SERVICES[@]}" kafka minio clickhouse)
	local c0 p0 s0 k0 pn sn
	read -r c0 p0 s0 <<<"$(cost_handled)"
	for p in "${procs[@]}"; do cost_proc "${cpid[$p]}" >"$dir/$p.0"; done
	cost_minio >"$dir/minio-metrics.0"
	cost_ch_events >"$dir/ch.0"
	k0=$(cost_kafka_bytes)
	for s in "${SERVICES[@]}"; do curl -sf "http://${ADMIN[$s]}/debug/pprof/allocs" -o "$dir/$s.allocs.0" || true; done
	local load0 load1
	load0=$(cut -d' ' -f1-3 /proc/loadavg)

	# the profiles cover the offered load (not the catch-up after it)
	local profs=()
	for s in "${SERVICES[@]}"; do
		curl -sf "http://${ADMIN[$s]}/debug/pprof/profile?seconds=$secs" -o "$dir/$s.cpu" &
		profs+=($!)
	done
	# optional: an object store that is not MinIO, or refuses, gives "no profile"
	{ "$TMP/e2ebench" minioprofile -duration "${secs}s" -o "$dir/minio.cpu" 2>"$dir/minio.cpu.err" || true; } &
	profs+=($!)
	"$CS" crashgen -collector.url "http://$COLLECTOR" -rate "$rate" -duration "${secs}s" -concurrency 64 -seed 27 \
		-progress 0 >"$dir/cg" 2>&1 || true
	wait "${profs[@]}" # the profiles only: the services are children too
	local acked
	acked=$(awk '/^sent/ {gsub(/[(,]/, ""); print $4}' "$dir/cg")
	# caught up: every service has handled every acknowledged crash (bounded)
	for _ in $(seq 1 240); do
		read -r _ pn sn <<<"$(cost_handled)"
		[[ $pn -ge $((p0 + acked)) && $sn -ge $((s0 + acked)) ]] && break
		sleep 1
	done
	sleep 3 # the sinks' last batches
	for p in "${procs[@]}"; do cost_proc "${cpid[$p]}" >"$dir/$p.1"; done
	cost_minio >"$dir/minio-metrics.1"
	cost_ch_events >"$dir/ch.1"
	local k1
	k1=$(cost_kafka_bytes)
	for s in "${SERVICES[@]}"; do curl -sf "http://${ADMIN[$s]}/debug/pprof/allocs" -o "$dir/$s.allocs.1" || true; done
	load1=$(cut -d' ' -f1-3 /proc/loadavg)

	{
		echo "\`tests/bench/run.sh cost $rate $secs\`-style window: \`crashstream crashgen -rate $rate -duration ${secs}s -concurrency 64\`"
		echo "(realistic size mix), then until the processor and sinks had handled every acknowledged crash."
		echo "Load average $load0 before, $load1 after. $(grep -E '^sent' "$dir/cg" || echo 'crashgen gave no summary')."
		echo "Per crash = the process's delta over the window / $acked acknowledged crashes."
		echo
		echo "| process | CPU ms / crash | disk read KB / crash | disk written KB / crash | rchar KB / crash | wchar KB / crash | note |"
		echo "|---|---:|---:|---:|---:|---:|---|"
		for p in "${procs[@]}"; do
			local note="this run's process"
			[[ $p == kafka || $p == minio || $p == clickhouse ]] && note="shared server: everything it did in the window"
			paste "$dir/$p.0" "$dir/$p.1" | awk -v p="$p" -v n="$acked" -v hz="$HZ" -v note="$note" '{
				if (n <= 0) n = 1
				printf "| %s | %.2f | %.1f | %.1f | %.1f | %.1f | %s |\n", p, 1000 * ($6 - $1) / hz / n,
					($7 - $2) / 1024 / n, ($8 - $3) / 1024 / n, ($9 - $4) / 1024 / n, ($10 - $5) / 1024 / n, note }'
		done
		echo
		echo "MinIO's own metrics, per crash: this run's buckets (once its scanner has listed them) and the whole server (minio_s3_*):"
		echo
		echo "| series | per crash |"
		echo "|---|---:|"
		awk -v n="$acked" 'NR == FNR {a[$1] = $2; next} {d = $2 - a[$1]; if (d > 0) {
			s = $1; sub(/,?server="[^"]*"/, "", s); printf "| `%s` | %.2f |\n", s, d / (n > 0 ? n : 1) }}' \
			"$dir/minio-metrics.0" "$dir/minio-metrics.1" | sort
		echo
		echo "Kafka, this run's topics: $(awk -v a="$k0" -v b="$k1" -v n="$acked" 'BEGIN {printf "%.1f KB of log per crash", (b - a) / 1024 / (n > 0 ? n : 1)}')."
		echo
		echo "ClickHouse, this run's database (parts on disk, cumulative since the run's start):"
		echo
		echo '```'
		curl -sf http://127.0.0.1:18123/ --data-binary "SELECT table, sum(rows) AS rows, sum(bytes_on_disk) AS bytes,
			round(bytes / greatest(rows, 1)) AS bytes_per_row, count() AS parts FROM system.parts
			WHERE database = '$DB' AND active GROUP BY table HAVING rows > 0 ORDER BY bytes DESC FORMAT PrettyCompactNoEscapes" || true
		echo
		echo "ClickHouse server-wide system.events over the window, per crash (shared server):"
		awk -v n="$acked" 'NR == FNR {a[$1] = $2; next} {printf "  %s %.1f\n", $1, ($2 - a[$1]) / (n > 0 ? n : 1)}' \
			"$dir/ch.0" "$dir/ch.1"
		echo '```'
		echo
		echo "Top consumers per Go service under this load (pprof from the admin port, \`-admin.pprof\`):"
		echo
		for s in "${SERVICES[@]}"; do
			echo "- **$s** CPU: $(cost_top "$dir/$s.cpu" "" cum)"
			echo "  - flat: $(cost_top "$dir/$s.cpu" "" flat)"
			echo "  - allocated bytes in the window: $(cost_top "$dir/$s.allocs.1" "-sample_index=alloc_space -base $dir/$s.allocs.0" flat)"
		done
		echo "- **minio** (the shared server; its admin API's profile) CPU: $(cost_top "$dir/minio.cpu" "" cum)"
		echo "  - flat: $(cost_top "$dir/minio.cpu" "" flat)"
	} >"$out"
	mkdir -p "$ROOT/.stack/bench-profiles/$ID"
	cp "$dir"/*.cpu "$dir"/*.allocs.* "$ROOT/.stack/bench-profiles/$ID/" 2>/dev/null || true
}

# cost_handled: "collector-accepted processor-crashes sink-rows" now.
cost_handled() {
	printf '%d %d %d\n' "$(metric "${ADMIN[collector]}" crashstream_collector_requests_total)" \
		"$(metric "${ADMIN[processor]}" crashstream_processor_crashes_total)" \
		"$(metric "${ADMIN[sink-clickhouse]}" crashstream_sink_records_written_total)"
}

# cost_top PROFILE PPROF-ARGS flat|cum: the eight biggest functions of our
# own code and the libraries, with their share.
cost_top() {
	[[ -s $1 ]] || { echo "no profile"; return; }
	local sort=-flat
	[[ $3 == cum ]] && sort=-cum
	# shellcheck disable=SC2086
	go tool pprof -top $sort -nodecount=40 $2 "$1" 2>/dev/null |
		awk -v col="$3" 'f && NF >= 6 {
			name = $6; for (i = 7; i <= NF; i++) name = name " " $i
			# skip the frames every stack shares (scheduler, server loop, the
			# decorators of the streams runner): they say nothing about the cost
			if (name ~ /^(runtime\.(main|goexit|mcall|park_m|schedule|findRunnable|systemstack|gcBgMarkWorker)|main\.|net\/http\.|golang.org\/x\/sync|github.com\/gin-gonic|github.com\/crashstream\/crashstream\/(services\/runtime|streams)\.)/) next
			# and the HTTP plumbing of MinIO (router, middlewares, compression)
			if (name ~ /^github.com\/(minio\/mux|minio\/minio\/internal\/(http|ioutil)|klauspost\/compress\/gzhttp)|Middleware|corsHandler|setCriticalErrorHandler|DiskIDCheck/) next
			share = (col == "cum") ? $5 : $2
			sub(/^.*\//, "", name)
			out = out (n ? ", " : "") name " " share; if (++n == 8) exit
		} /flat%/ {f = 1} END {print out}'
}
