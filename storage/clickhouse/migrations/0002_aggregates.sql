-- top_crashers_daily: crash counts per product, submission day, process
-- type, version, platform and signature, with the flags top crashers shows.
-- A SummingMergeTree fed by a materialized view on crashes: one row per new
-- crash. The writer keeps the sums exact: it skips rows already stored (a
-- replayed batch) and, when a reprocessing replaces a row, inserts a -1
-- correction for the old row's key here. RebuildDay recomputes a day from
-- the deduplicated crashes when exactness must be restored by hand.
-- Ordered by signature after product: a day is a partition already, and
-- the per-platform and per-process-type breakdown of the top signatures
-- then reads only those signatures' granules.
CREATE TABLE IF NOT EXISTS {db}.top_crashers_daily (
    product LowCardinality(String),
    day Date,
    process_type LowCardinality(String),
    version LowCardinality(String),
    os_name LowCardinality(String),
    signature String,
    crashes Int64,
    startup_crashes Int64,
    short_uptime Int64,
    gc_crashes Int64
) ENGINE = SummingMergeTree()
PARTITION BY toYYYYMMDD(day)
ORDER BY (product, signature, process_type, version, os_name, day);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.top_crashers_daily_mv TO {db}.top_crashers_daily AS
SELECT
    product,
    toDate(submitted_timestamp) AS day,
    process_type,
    version,
    os_name,
    signature,
    toInt64(count()) AS crashes,
    toInt64(sum(ifNull(startup_crash, 0))) AS startup_crashes,
    toInt64(sum(ifNull(uptime < 60, 0))) AS short_uptime,
    toInt64(sum(ifNull(is_garbage_collecting, 0))) AS gc_crashes
FROM {db}.crashes
GROUP BY product, day, process_type, version, os_name, signature;

-- signature_first: the first date and the first build a signature was seen
-- with (Socorro's SignatureFirstDate). min is idempotent, so duplicates from
-- replays and reprocessing do not matter. Absent builds count as the largest
-- build so that they never win the min.
CREATE TABLE IF NOT EXISTS {db}.signature_first (
    signature String,
    first_date AggregateFunction(min, DateTime),
    first_build AggregateFunction(min, Int64)
) ENGINE = AggregatingMergeTree()
ORDER BY signature;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.signature_first_mv TO {db}.signature_first AS
SELECT
    signature,
    minState(submitted_timestamp) AS first_date,
    minState(ifNull(build, toInt64(9223372036854775807))) AS first_build
FROM {db}.crashes
GROUP BY signature;
