"""Batch driver for the siggen oracle (tests/sigcompat).

siggen's `signify` reads one document per process, and a Python start-up per
crash would dominate any comparison, so this driver does what signify does
(convert a processed crash, generate, report signature/proto_signature/notes)
for every line of a JSON-lines stream, in one process, with siggen's library.

Usage: python siggen_batch.py [--signature-list-dir DIR] < inputs.jsonl > out.jsonl
A line that is not JSON gives {"error": ...}, so output line N answers input
line N. The elapsed generation time goes to stderr as "siggen_seconds=<s>".
"""

import argparse
import json
import sys
import time

from siggen.generator import SignatureGenerator
from siggen.utils import convert_to_crash_data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--signature-list-dir")
    args = parser.parse_args()
    kwargs = {}
    if args.signature_list_dir:
        kwargs["signature_list_dir"] = args.signature_list_dir
    generator = SignatureGenerator(**kwargs)

    lines = sys.stdin.read().splitlines()
    out = []
    start = time.perf_counter()
    for line in lines:
        try:
            crash_data = json.loads(line)
        except ValueError as exc:
            out.append(json.dumps({"error": str(exc)}))
            continue
        if "json_dump" in crash_data:
            crash_data = convert_to_crash_data(crash_data)
        result = generator.generate(crash_data)
        out.append(
            json.dumps(
                {
                    "signature": result.signature,
                    "proto_signature": result.extra.get("proto_signature", ""),
                    "notes": result.notes,
                }
            )
        )
    elapsed = time.perf_counter() - start
    sys.stdout.write("\n".join(out) + ("\n" if out else ""))
    print(f"siggen_seconds={elapsed:.6f} count={len(lines)}", file=sys.stderr)


if __name__ == "__main__":
    main()
