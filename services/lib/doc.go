// Package lib is the home of crashstream's libraries: code that services,
// the binaries and the test suites share, with no knowledge of Kafka, HTTP
// serving or any running service. The crash-analysis libraries turn a
// minidump and its annotations into a processed crash:
//
//   - minidump: reads minidump files (and minidump/synth builds them for tests)
//   - symbols: reads Breakpad .sym files and finds them in directories, buckets and symbol servers
//   - stackwalk: walks the threads' stacks with those symbols (stackwalk/crashinfo,
//     stackwalk/cli: the `stackwalk` and `minidump` tool commands)
//   - signature: generates Socorro's crash signature from the walked crash
//
// Beside them:
//
//   - auth: Crash Stats' access model (permissions, callers and the token
//     store), shared by the webapp, the cron job that expires tokens, the
//     `crashstream token` command and the end-to-end tests
//   - envflag: flags with CRASHSTREAM_* environment overrides, for the
//     services' runtime and for the small tool binary (stackwalk/cli), which
//     must not link that runtime
//   - bugzilla: links crash signatures to bugs (the bugassociations cron job
//     writes the set, the webapp reads it); bugzillatest is a local Bugzilla
//     REST server for tests
//   - alerts: alert rules (a YAML file), their evaluation from ClickHouse's
//     crash counts, firings claimed once in the object store and webhook
//     deliveries (the alerts cron job runs it, the webapp lists it)
//   - repotest: the repository root and the shared test data beside it, for
//     the tests of every module
//   - objectstoretest: an in-memory object bucket with the store's
//     conditional writes, for the unit tests of code that keeps records and
//     leases in the object store
//
// The crash-analysis libraries are used by the processor, the webapp
// (signature), the crashstream and crashstream-tools binaries, the load
// generator (crashgen) and the compat and benchmark suites under tests/.
//
// A library imports only the layers (schemas, streams, storage) and other
// libraries: never a service package (collector, processor, sinks, webapp,
// cron, crashgen), the runtime or the wiring (cmd). The layering test
// (tests/layering) fails when one does. They live under services/ only
// because that Go module holds them; nothing here is private to a service.
package lib
