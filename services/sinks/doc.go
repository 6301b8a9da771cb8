// Package sinks holds the three consumers of crash.processed.v1. Each has
// its own consumer group (declared by its Stage; streams builds the
// consumer), is idempotent, and lets the streams consumer
// commit an offset only after its write is durable:
//
//   - ClickHouse: decodes a partition's batch, maps each processed crash to
//     a crashes-table row through the field registry, and hands the rows to
//     a group commit that merges the batches of concurrent partitions into
//     one INSERT (rows or time, whichever first), at most one INSERT that
//     is not full per -sink-clickhouse.min-interval (an idle sink inserts
//     at once). HandleBatch returns only once the INSERT containing its
//     rows succeeded.
//   - ObjectStore: writes v1/processed_crash/<id> as JSON; an overwrite
//     with the same content is the idempotence.
//   - Telemetry: reduces the crash to the public fields of Socorro's
//     telemetry export, renamed, and produces it Avro-framed to
//     crash.telemetry.v1 keyed by crash id (and, when a bucket is
//     configured, as JSON at v1/crash_report/<YYYYMMDD>/<id>).
//
// A record that can never be decoded or mapped is dead-lettered (Permanent
// or Reject); anything else is retried by the consumer.
package sinks
