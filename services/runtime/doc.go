// Package runtime is what every crashstream service shares: flags with
// CRASHSTREAM_* environment overrides, the zerolog logger, build info, the
// admin HTTP server (health, version, Prometheus metrics) and Process, the
// run group that starts a service's loops and shuts them down in order.
//
// Lifecycle contract, taken from the pipelines we model (Jaeger's
// RunAndThen, Thanos's run.Group, the OTel component lifecycle):
//
//  1. main parses and validates config (fail fast, naming the bad setting),
//     builds clients and each service as a Service (Run(ctx) error: run
//     until ctx ends, drain, return; Serving pairs an HTTP server with a
//     background loop), and adds them to a Process. Every crashstream
//     service has this one shape.
//  2. Process.Run starts the admin server, starts every loop added with Go,
//     and marks the process ready once they are started.
//  3. On SIGTERM/SIGINT (the context passed to Run is cancelled), or when a
//     loop fails: readiness goes off first so load balancers stop sending
//     work, loops are cancelled and awaited (each loop drains: an HTTP
//     server finishes in-flight requests, a consumer finishes and commits
//     its in-flight records), then closers run in reverse order of
//     registration (flush producers, close clients), all bounded by the
//     shutdown timeout, and finally the admin server stops.
package runtime
