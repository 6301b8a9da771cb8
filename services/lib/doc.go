// Package lib is the home of crashstream's crash-analysis libraries: code
// that turns a minidump and its annotations into a processed crash, with no
// knowledge of Kafka, HTTP or any running service.
//
//   - minidump: reads minidump files (and minidump/synth builds them for tests)
//   - symbols: reads Breakpad .sym files and finds them in directories, buckets and symbol servers
//   - stackwalk: walks the threads' stacks with those symbols (stackwalk/crashinfo,
//     stackwalk/cli: the `stackwalk` and `minidump` tool commands)
//   - signature: generates Socorro's crash signature from the walked crash
//
// They are used by the processor, the webapp (signature), the crashstream and
// crashstream-tools binaries, the load generator (crashgen) and the compat
// and benchmark suites under tests/. A library never imports a service
// package (collector, processor, sinks, webapp, cron, crashgen, cmd); the
// layering test (tests/layering) fails when one does. They live under
// services/ only because that Go module holds them; nothing here is
// private to a service.
package lib
