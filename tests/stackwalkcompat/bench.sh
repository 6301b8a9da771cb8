#!/usr/bin/env bash
# bench.sh — crashstream stackwalk beside minidump-stackwalk on the same dumps
# and symbols, in the same run, both pinned to one core (taskset):
#   1. per-dump CLI runs (process start, dump read, symbol parse, walk, JSON):
#      dumps/s per core from summed user+sys CPU time and from wall time, and
#      the peak RSS over all runs. Runs alternate between the tools so both
#      see the same machine load.
#   2. load of a generated ~300 MB .sym file (cmd/genbigsym): time and peak RSS,
#      from a local directory and from a symbol server with a warm disk cache.
# The symbol cache is warm: symbols are local files, read once before timing.
#
# Usage: tests/stackwalkcompat/bench.sh [ITERATIONS]   (default 3)
# Env: BENCH_CORE (default 1), BIGSYM_SIZE (default 300000000, 0 skips),
#      EXTRA_DUMPS/EXTRA_SYMBOLS (more dumps and their symbols directory).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
iters="${1:-3}"
core="${BENCH_CORE:-1}"
shared="$root/../shared/testdata"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

tool="$(command -v minidump-stackwalk || echo "$HOME/.cargo/bin/minidump-stackwalk")"
[[ -x "$tool" ]] || { echo "bench: minidump-stackwalk not installed (tests/corpus/install-oracles.sh)" >&2; exit 1; }
(cd "$root" && go build -o "$work/crashstream" ./services/cmd/crashstream)
(cd "$root" && go build -o "$work/crashstream-tools" ./services/cmd/crashstream-tools)
ours="$work/crashstream"
tools="$work/crashstream-tools"

# Cases: "<dump> <symbols dir>".
cases=()
for n in linux_null_read_av linux_overflow linux_stacksmash linux_raise_sigabrt minidump2; do
	cases+=("$shared/breakpad/$n.dmp $shared/breakpad/symbols")
done
for d in "$root"/tests/corpus/dumps/*.dmp; do
	[[ -e "$d" ]] && cases+=("$d $root/tests/corpus/symbols")
done
# Extra dumps (e.g. a corpus generated elsewhere): EXTRA_DUMPS=dir EXTRA_SYMBOLS=dir.
if [[ -n "${EXTRA_DUMPS:-}" ]]; then
	for d in "$EXTRA_DUMPS"/*.dmp; do
		[[ -e "$d" ]] && cases+=("$d ${EXTRA_SYMBOLS:?EXTRA_SYMBOLS must name the symbols dir}")
	done
fi

# run LABEL CMD... : one pinned run; appends "user sys wall maxrss_kb" to $work/LABEL.
run() {
	local label="$1"
	shift
	/usr/bin/time -f "%U %S %e %M" -o "$work/t" taskset -c "$core" "$@" >/dev/null 2>"$work/err" ||
		{ cat "$work/err" >&2; return 1; }
	cat "$work/t" >>"$work/$label"
}

# Warm the page cache (symbols and dumps) once for each tool.
for c in "${cases[@]}"; do
	read -r dump syms <<<"$c"
	"$tool" --json "$dump" "$syms" >/dev/null 2>&1 || true
	"$ours" stackwalk "$dump" "$syms" >/dev/null 2>&1 || true
	"$tools" stackwalk "$dump" "$syms" >/dev/null 2>&1 || true
	"$ours" stackwalk --symbols-cache "$work/snapcache" "$dump" "$syms" >/dev/null 2>&1 || true
done

# One timed shell per tool and iteration walks every dump, so that user+sys
# CPU time sums precisely over many short processes; tools alternate.
printf '%s\n' "${cases[@]}" >"$work/cases"
loop() { # TOOLKIND
	while read -r dump syms; do
		case "$1" in
		mdsw) "$tool" --json "$dump" "$syms" ;;
		ours) "$ours" stackwalk "$dump" "$syms" ;;
		# The same command in the binary without the services.
		tools) "$tools" stackwalk "$dump" "$syms" ;;
		# With a disk cache, parsed tables of local .sym files are kept as
		# snapshots (warmed by the page-cache pass above).
		cached) "$ours" stackwalk --symbols-cache "$work/snapcache" "$dump" "$syms" ;;
		esac
	done <"$work/cases"
}
export -f loop
export tool ours tools work
for ((i = 0; i < iters; i++)); do
	run mdsw bash -c 'loop mdsw'
	run ours bash -c 'loop ours'
	run tools bash -c 'loop tools'
	run cached bash -c 'loop cached'
done

# Per process: each dump once per tool and iteration, tools alternating;
# wait4 gives each process's CPU time (µs) and peak RSS; medians below.
cat >"$work/perproc.py" <<'PY'
import os, subprocess, sys, time
tool, ours, tools, work, core, iters = sys.argv[1:7]
cases = [l.split() for l in open(f"{work}/cases") if l.strip()]
out = {k: open(f"{work}/p-{k}", "w") for k in ("mdsw", "ours", "tools")}
for _ in range(int(iters)):
    for dump, syms in cases:
        for k, argv in (("mdsw", [tool, "--json", dump, syms]), ("ours", [ours, "stackwalk", dump, syms]),
                        ("tools", [tools, "stackwalk", dump, syms])):
            t0 = time.perf_counter()
            p = subprocess.Popen(["taskset", "-c", core] + argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, _, ru = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t0
            out[k].write(f"{ru.ru_utime} {ru.ru_stime} {wall} {ru.ru_maxrss}\n")
PY
python3 "$work/perproc.py" "$tool" "$ours" "$tools" "$work" "$core" "$iters"

summary() {
	awk -v label="$1" -v per="${#cases[@]}" '{u+=$1; s+=$2; w+=$3; if ($4>m) m=$4; n+=per}
		END {printf "%-20s dumps %4d  cpu %7.3f s  wall %7.3f s  dumps/s/core (cpu) %7.1f  (wall) %7.1f  peak RSS %6.1f MB\n",
			label, n, u+s, w, n/(u+s), n/w, m/1024}' "$work/$2"
}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "cases: ${#cases[@]} dumps x $iters iterations, pinned to core $core"
summary "minidump-stackwalk" mdsw
summary "crashstream" ours
summary "crashstream-tools" tools
summary "crashstream --symbols-cache" cached
perproc() {
	awk '{print $1+$2}' "$work/$2" | sort -g | awk -v l="$1" '{c[NR]=$1} END {printf "%-20s per process: median cpu %6.2f ms", l, 1000*c[int((NR+1)/2)]}'
	awk '{print $3}' "$work/$2" | sort -g | awk '{c[NR]=$1} END {printf "  median wall %6.2f ms", 1000*c[int((NR+1)/2)]}'
	awk '{print $4}' "$work/$2" | sort -n | awk '{m[NR]=$1} END {printf "  median peak RSS %5.1f MiB  (%d processes)\n", m[int((NR+1)/2)]/1024, NR}'
}
perproc "minidump-stackwalk" p-mdsw
perproc "crashstream" p-ours
perproc "crashstream-tools" p-tools
awk 'NR==FNR {c+=$1+$2; next} {o+=$1+$2} END {printf "CLI throughput ratio crashstream/minidump-stackwalk (cpu): %.2fx\n", c/o}' "$work/mdsw" "$work/ours"
awk 'NR==FNR {c+=$1+$2; next} {o+=$1+$2} END {printf "CLI throughput ratio crashstream-tools/minidump-stackwalk (cpu): %.2fx\n", c/o}' "$work/mdsw" "$work/tools"
awk 'NR==FNR {c+=$1+$2; next} {o+=$1+$2} END {printf "CLI throughput ratio crashstream --symbols-cache/minidump-stackwalk (cpu): %.2fx\n", c/o}' "$work/mdsw" "$work/cached"
echo "in-process (the processor's path, warm memory cache), same dumps:"
(cd "$root" && taskset -c "$core" go test -run '^$' -bench WalkWarm -cpu 1 -benchtime 3s ./tests/stackwalkcompat | grep Benchmark)

size="${BIGSYM_SIZE:-300000000}"
if [[ "$size" != 0 ]]; then
	(cd "$root" && go run ./tests/stackwalkcompat/cmd/genbigsym -out "$work/big" -size "$size")
	cat "$work/big/symbols/bigmodule.so/"*/bigmodule.so.sym >/dev/null # page cache
	echo "big .sym: $(stat -c %s "$work/big/symbols/bigmodule.so/"*/bigmodule.so.sym) bytes"
	bigrun() {
		local label="$1"
		shift
		run "$label" "$@"
		awk -v l="$label" '{printf "%-26s cpu %6.2f s (user %.2f sys %.2f)  wall %6.2f s  peak RSS %6.1f MB\n", l, $1+$2, $1, $2, $3, $4/1024}' "$work/$label"
	}
	# a) from a local symbols directory: a text parse on every run.
	bigrun "local mdsw" "$tool" --json "$work/big/big.dmp" "$work/big/symbols"
	bigrun "local crashstream" "$ours" stackwalk "$work/big/big.dmp" "$work/big/symbols"
	# b) from a symbol server with a warm disk cache: minidump-stackwalk
	#    parses its cached text again, crashstream loads its snapshot.
	port=$((20000 + RANDOM % 20000))
	(cd "$work/big/symbols" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
	server=$!
	trap 'kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
	for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
	url="http://127.0.0.1:$port"
	"$tool" --json --symbols-url "$url" --symbols-cache "$work/c-mdsw" --symbols-tmp "$work/t-mdsw" "$work/big/big.dmp" >/dev/null 2>&1
	"$ours" stackwalk --symbols-url "$url" --symbols-cache "$work/c-ours" "$work/big/big.dmp" >/dev/null
	bigrun "cached mdsw" "$tool" --json --symbols-url "$url" --symbols-cache "$work/c-mdsw" --symbols-tmp "$work/t-mdsw" "$work/big/big.dmp"
	bigrun "cached crashstream" "$ours" stackwalk --symbols-url "$url" --symbols-cache "$work/c-ours" "$work/big/big.dmp"
	kill "$server" 2>/dev/null || true
fi
