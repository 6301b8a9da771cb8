// Package minidumpcompat compares crashstream's minidump reader with
// rust-minidump's minidump-stackwalk, the tool Socorro runs, on every test
// dump: ../shared/testdata and tests/corpus/dumps.
//
// For each dump it runs `minidump-stackwalk --json <dump>` (no symbols) or,
// when the tool is not installed, reads a stored golden JSON beside the dump
// (tests/corpus/golden/<case>.json), and checks that system_info,
// crash_info (type, address, crashing thread), modules (filename, base and
// end address, debug_file, debug_id, code_id, version), unloaded modules,
// thread ids and names, pid and process uptime are equal. Differences that
// are understood are listed in knownDifferences with the reason; any other
// difference fails the test.
package minidumpcompat
