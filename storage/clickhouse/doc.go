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
// read deduplicates (see dedup.go for the measured choice).
package clickhouse
