// Package clickhouse is crashstream's ClickHouse layer: versioned DDL
// migrations for the crashes table and its aggregates, the batched writer the
// ClickHouse sink uses, and the query library the webapp reads through (top
// crashers, super search, signature first date, crash by id).
//
// Everything here runs on ClickHouse 18.16 (Debian's package) and on current
// releases, so it avoids what 18.16 lacks: TTL (retention drops partitions),
// DateTime64 (versions are UInt64 microseconds), Map/JSON types, skip indexes
// and server-side query parameters (values are bound client-side by
// clickhouse-go, never concatenated into SQL; identifiers come only from the
// fixed column set and are checked).
//
// One row per crash id, latest processing wins: the crashes table is a
// ReplacingMergeTree on row_version, and because merges are eventual every
// read deduplicates. Three read paths are implemented and measured side by
// side in BENCHMARKS.md ("Sinks and queries"): argMax(column, row_version)
// GROUP BY crash_id, FINAL, and DedupClean (single-part daily partitions,
// which CompactDay produces for closed days, are read plainly; the rest with
// argMax). The partition and sorting keys use only values a reprocessing
// cannot change (product, submission time, crash id), so all three are exact.
// The webapp should read with DedupClean (3-4x faster than argMax on a 7-day
// Super Search at 10M crashes) and cron should run CompactDay for closed
// days, DropPartitionsBefore for retention and, when needed, RebuildDay.
//
// Top crashers never scans crashes: two SummingMergeTree tables fed by
// materialized views hold per-day counts (signature_daily per product, day
// and signature; top_crashers_daily split further by version, process type
// and platform). The writer keeps them exact under at-least-once delivery:
// it looks up the stored versions of a batch's crash ids first, skips rows
// already stored (a replayed batch), and subtracts the old row of a
// reprocessed crash; RebuildDay recomputes a day from deduplicated rows.
package clickhouse
