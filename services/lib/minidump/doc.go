// Package minidump reads Microsoft/Breakpad/Crashpad minidump files natively,
// so the processor needs no external tool to understand a crash.
//
// # Reading
//
// Open (or Parse, for bytes already in memory) checks the header and then
// reads every stream it knows eagerly into typed values on a *Dump. The
// whole input is held in one byte slice; memory regions and raw Linux
// streams are sub-slices of it, so allocations stay bounded by the input
// size no matter what counts the dump claims.
//
// Only a bad header is fatal. Any stream that is truncated, overlapping the
// end of the file, or otherwise corrupt is recorded in Dump.SoftErrors and
// left empty; every other stream still reads. Duplicate directory entries
// follow rust-minidump: the later entry of a type wins.
//
// Deliberate difference from minidump-stackwalk: a module record that
// cannot be read (its name out of bounds, a bad address range) is dropped
// with a soft error and the other modules are kept, where
// minidump-stackwalk loses the whole module list
// (TestCorruptModuleRecordKeepsTheOthers).
//
// The accessors mirror what minidump-stackwalk reports, in the same
// formatting (debug ids, code ids, crash reason names, os/cpu names):
//
//	d, err := minidump.Open(f, size)
//	d.SystemInfo.OS()           // "Windows NT", "Linux", "Mac OS X", ...
//	d.SystemInfo.CPUArch()      // "x86", "amd64", "arm", "arm64", ...
//	d.Modules[i].DebugID        // "5A9832E5287241C1838ED98914E9B7FF1"
//	d.CrashReason()             // "EXCEPTION_ACCESS_VIOLATION_WRITE", "SIGSEGV / SEGV_MAPERR"
//	d.CrashAddress()            // info[1] for access violations, else the exception address
//	d.CrashingThread()          // exception thread, else Breakpad's requesting thread
//
// # Stack walking support
//
// Threads carry their stack memory and CPU Context. A Context is one value
// type for every architecture: registers are read and written by their
// minidump-stackwalk names ("rip", "rsp", "eip", "pc", "sp", "fp", "lr",
// "x0".."x28"), Registers lists the valid ones in minidump-stackwalk's
// order, and a plain assignment copies it, so a walker builds a caller
// frame by copying the callee's context, clearing it with
// Context.Invalidate, and setting what it recovered:
//
//	caller := *callee                   // copy
//	caller.Invalidate()                 // no register known yet
//	caller.Set("rip", ret)              // marks rip valid
//	caller.Set("rsp", cfa)
//
// Dump.Memory answers address→bytes lookups over MemoryList and
// Memory64List for reading the stack (Memory.U64, Memory.Region).
//
// # API and users
//
// Entry points: Parse (bytes) or Open (a ReaderAt) return a *Dump; its
// fields are the streams, Dump.Memory the stack memory, Context a thread's
// registers. Users: the stack walker (stackwalk), the `minidump` tool
// command (stackwalk/cli), the crash generator (crashgen, with synth) and
// the compat suite (tests/minidumpcompat). It imports nothing of
// crashstream.
//
// # Safety
//
// Every offset and count is checked against the input; list counts are
// capped by what the stream size can hold; strings are capped at 64 KiB
// each and all decoded strings together at twice the input size plus 1 MiB,
// so entries sharing one string cannot amplify memory; no path panics on
// malformed input (fuzzed by FuzzParse and FuzzContext, see README.md).
package minidump
