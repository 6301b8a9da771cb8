#!/usr/bin/env bash
# instrcompare.sh — crashstream's crash_info instruction analysis beside
# minidump-stackwalk's on real code: samples N instructions per binary with
# objdump (seeded), puts each at the instruction pointer of a synthetic
# amd64 dump (cmd/instrdumps), walks every dump with both tools and counts
# equal crash_info fields, printing the differences.
#
# Usage: tests/stackwalkcompat/instrcompare.sh [SEED] [PER_BINARY] [BINARY...]
#   defaults: seed 7, 700 per binary, libc, libstdc++ and libm.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seed="${1:-7}"
per="${2:-700}"
shift $(($# < 2 ? $# : 2))
bins=("$@")
if ((${#bins[@]} == 0)); then
	lib=/usr/lib/x86_64-linux-gnu
	bins=("$lib/libc.so.6" "$lib/libstdc++.so.6" "$lib/libm.so.6")
fi
tool="$(command -v minidump-stackwalk || echo "$HOME/.cargo/bin/minidump-stackwalk")"
[[ -x "$tool" ]] || { echo "instrcompare: minidump-stackwalk not installed (tests/corpus/install-oracles.sh)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 - "$seed" "$per" "$work/cases.json" "${bins[@]}" <<'PY'
import json, random, re, subprocess, sys
seed, per, out, bins = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
random.seed(seed)
cases = []
for b in bins:
    text = subprocess.run(["objdump", "-d", "-w", b], capture_output=True, text=True, check=True).stdout
    lines = [l for l in text.splitlines() if re.match(r"^\s+[0-9a-f]+:\t", l)]
    for l in random.sample(lines, min(per, len(lines))):
        parts = l.split("\t")
        if len(parts) >= 3 and parts[1].split():
            cases.append({"b": [int(x, 16) for x in parts[1].split()]})
json.dump(cases, open(out, "w"))
PY
(cd "$root/tests" && go run ./stackwalkcompat/cmd/instrdumps -in "$work/cases.json" -out "$work/dumps")
(cd "$root/services" && go build -o "$work/crashstream-tools" ./cmd/crashstream-tools)
python3 - "$tool" "$work" <<'PY'
import collections, glob, json, os, subprocess, sys
tool, work = sys.argv[1], sys.argv[2]
cases = json.load(open(f"{work}/cases.json"))
fields = ["instruction", "memory_accesses", "adjusted_address", "possible_bit_flips", "instruction_pointer_update", "crash_inconsistencies"]
same, n, shown = collections.Counter(), 0, collections.Counter()
for d in sorted(glob.glob(f"{work}/dumps/*.dmp")):
    i = int(os.path.basename(d)[:-4])
    theirs = json.loads(subprocess.run([tool, "--json", d], capture_output=True, text=True, check=True).stdout)["crash_info"]
    ours = json.loads(subprocess.run([f"{work}/crashstream-tools", "stackwalk", d], capture_output=True, text=True, check=True).stdout)["crash_info"]
    n += 1
    for f in fields:
        if theirs.get(f) == ours.get(f):
            same[f] += 1
        elif shown[f] < 10:
            shown[f] += 1
            print(f"{f}: {' '.join('%02x' % x for x in cases[i]['b'])}: ours {json.dumps(ours.get(f))} theirs {json.dumps(theirs.get(f))}")
print(f"{n} instructions:", ", ".join(f"{f} {same[f]}/{n}" for f in fields))
PY
