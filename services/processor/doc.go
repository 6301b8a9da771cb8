// Package processor is the processor service: stateless Kafka consumers
// that turn each received crash into a processed crash.
//
// It consumes crash.received.v1 and crash.reprocess.v1 in consumer group
// "processor", and crash.priority.v1 in its own group "processor-priority"
// with its own concurrency, so that a crash someone is looking at is served
// ahead of any backlog. Both are declared by Stages and built by the
// streams runner. For each record it reads the raw crash and the dumps
// from the object store, runs the requested ruleset (package rules), and
// produces the ProcessedCrash to crash.processed.v1.
//
// Delivery: at least once. An offset is committed only after the
// processed event was acknowledged by Kafka (acks=all), so a processor
// killed at any point leaves its in-flight crashes to be processed again by
// the next group member. Downstream consumers may therefore see a crash
// twice; both events carry the same crash id, the later one a later
// date_processed, and every sink is idempotent by crash id (the ClickHouse
// table keeps the newest processing). Kafka transactions would not remove
// the need: the sinks write outside Kafka anyway.
//
// What goes where: a dump that cannot be walked, or makes the walker hang,
// panic or exceed its bounds, still yields a processed crash with notes; a
// record that cannot be processed at all (undecodable event, invalid crash
// id, missing raw crash) goes to crash.dlq.v1 with its error; a dependency
// outage (object store or Kafka down) is retried with backoff, holding the
// partition in order.
package processor
