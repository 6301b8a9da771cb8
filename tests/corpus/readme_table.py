#!/usr/bin/env python3
"""Rewrites the case table in README.md (between the <!-- cases --> markers)
from generate.sh's case list and the goldens, so the README states what the
committed dumps really contain. Run by generate.sh after the goldens."""
import json
import os
import re
import sys

LANG = {"c": "C", "cpp": "C++", "rust": "Rust"}
FLAGS = {"O0-fp": "-O0, frame pointers", "O2-nofp": "-O2, no frame pointers"}
KINDS = {
    "null": "NULL write",
    "abort": "abort() after a failed check",
    "overflow": "stack overflow (256 KiB stack)",
    "recurse": "100-deep mutual recursion, then NULL read",
    "lib": "fault inside libcrashlib.so",
    "libcb": "fault in a callback called from libcrashlib.so",
    "thread": "NULL write on worker thread 3 of 4 (named threads)",
    "fpe": "integer divide by zero",
    "ill": "__builtin_trap (ud2)",
    "template": "NULL read in a class template method",
    "lambda": "NULL write in a lambda via std::for_each",
    "anon": "virtual call through NULL in an anonymous namespace",
    "throw": "uncaught exception -> std::terminate -> abort",
    "panic": "panic (unwrap on Err) -> abort",
    "segv": "read through dangling pointer 0x10",
    "wild": "read through a wild pointer (0x123456789abc)",
    "noncanon": "read through a non-canonical pointer (bit 63 set on a global's address)",
    "bitflip": "write through a heap pointer with bit 40 flipped",
    "callnull": "call through a function pointer member of a NULL struct",
    "badcall": "call through a non-canonical function pointer (bit 62 set)",
    "badjump": "call to an unmapped address (0x414141414141)",
}
RUST_KINDS = {"thread": "panic (expect on an empty Vec) on spawned thread `rworker-1` of 3 -> abort"}


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    script = open(os.path.join(here, "generate.sh")).read()
    cases = script.split("cat <<'EOF'\n", 1)[1].split("\nEOF", 1)[0].splitlines()
    rows = []
    for line in cases:
        f = line.split()
        name, args = f[0], " ".join(f[4:])
        lang, mode, variant = name.split("-", 2)
        golden = os.path.join(here, "golden", name + ".json")
        if not os.path.exists(golden):
            continue
        d = json.load(open(golden))
        ci = d["crash_info"]
        ct = ci["crashing_thread"]
        frames = len(d["threads"][ct]["frames"]) if ct is not None else 0
        kind = (RUST_KINDS if lang == "rust" else {}).get(mode, KINDS[mode])
        if "RUST_BACKTRACE=1" in args:
            kind += "; RUST_BACKTRACE=1 (maps libc's separate debug file, a module named `<build-id>.debug`)"
        size = os.path.getsize(os.path.join(here, "dumps", name + ".dmp")) // 1024
        rows.append(
            f"| `{name}` | {LANG[lang]} | {kind} | {FLAGS[variant]} | "
            f"{ci['type']} @ {ci['address']} | {ct} | {frames} | {size} KiB |"
        )
    table = (
        "| case | language | crash | flags | crash reason @ address (golden) "
        "| crashing thread | frames | dump size |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n"
    )
    readme_path = os.path.join(here, "README.md")
    readme = open(readme_path).read()
    new, n = re.subn(
        r"(<!-- cases -->\n).*?(<!-- /cases -->)",
        lambda m: m.group(1) + table + m.group(2),
        readme,
        flags=re.S,
    )
    if n != 1:
        print("readme_table: markers not found in README.md", file=sys.stderr)
        return 1
    open(readme_path, "w").write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
