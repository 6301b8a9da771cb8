// Package stackwalkcompat compares crashstream's stack walker with
// rust-minidump's minidump-stackwalk (the tool Socorro runs) on every dump
// that has symbols: the shared Breakpad Linux dumps and the crash corpus in
// tests/corpus. The oracle's output comes from the installed tool when there
// is one, else from the goldens committed beside the dumps.
//
// Differences are explained in README.md; the test fails when the
// crashing-thread frames agree on fewer than 99% of frames, or when any
// crash_info key or module field differs.
package stackwalkcompat
