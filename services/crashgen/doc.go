// Package crashgen makes realistic crash reports: structurally real
// minidumps (threads with stack memory, modules with CodeView ids, an
// exception stream) whose stacks walk with CFI from matching generated
// Breakpad .sym files, spread over products, versions, platforms and
// process types, with a Zipf distribution of crash sites so that top
// crashers look like a real product's, a realistic size mix, and
// Firefox-like annotations including protected ones.
//
// It serves three users: `make run` (a gentle stream so Crash Stats shows
// data), load tests and benchmarks (open-loop submission at a fixed rate,
// latency measured from the intended send time, so a slow server cannot
// hide its queueing), and tests that need many distinct, walkable dumps.
//
// Everything is derived from a seed: the same seed gives the same catalogue,
// symbols and crash sequence.
package crashgen
