#!/usr/bin/env bash
# bench.sh — runs BenchmarkReaders and prints the BENCHMARKS.md table:
# per dump, crashstream's in-process parse, the `crashstream minidump`
# process, and `minidump-stackwalk --json` (no symbols), with ratios.
# Usage: tests/minidumpcompat/bench.sh [benchtime]   (default 20x)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
benchtime="${1:-20x}"
go test -run '^$' -bench BenchmarkReaders -benchtime "$benchtime" -count 1 . | tee /dev/stderr | awk '
/^BenchmarkReaders\// {
	split($1, p, "/"); dump = p[2]; kind = p[3]; sub(/-[0-9]+$/, "", kind)
	ns[dump, kind] = $3; if (!(dump in seen)) { seen[dump] = 1; order[++n] = dump }
}
END {
	print "| dump | Go parse+report (in process) | `crashstream minidump` (process) | `minidump-stackwalk --json` (process) | stackwalk / cli | stackwalk / parse |"
	print "|---|---:|---:|---:|---:|---:|"
	for (i = 1; i <= n; i++) {
		d = order[i]; pa = ns[d, "parse"]; cl = ns[d, "cli"]; sw = ns[d, "stackwalk"]
		r1 = (sw != "" && cl > 0) ? sprintf("%.1f×", sw / cl) : "n/a"
		r2 = (sw != "" && pa > 0) ? sprintf("%.0f×", sw / pa) : "n/a"
		printf "| %s | %.1f µs | %.2f ms | %s | %s | %s |\n", d, pa / 1000, cl / 1e6, (sw == "" ? "n/a" : sprintf("%.2f ms", sw / 1e6)), r1, r2
	}
}'
