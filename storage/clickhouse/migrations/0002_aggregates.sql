-- top_crashers_daily: per product, day, version, process type, platform and
-- signature, the distinct crash ids and the flags top crashers reports.
--
-- Counts are uniqExact states of crash_id, not sums, so that a batch the sink
-- inserts twice (killed after the insert, before the offset commit) is not
-- counted twice. A crash reprocessed into another signature stays counted
-- under its old signature too until its day is rebuilt (RebuildDay).
CREATE TABLE IF NOT EXISTS {db}.top_crashers_daily (
    product LowCardinality(String),
    day Date,
    version LowCardinality(String),
    process_type LowCardinality(String),
    os_name LowCardinality(String),
    signature String,
    crashes AggregateFunction(uniqExact, String),
    startup_crashes AggregateFunction(uniqExactIf, String, UInt8),
    short_uptime AggregateFunction(uniqExactIf, String, UInt8),
    gc_crashes AggregateFunction(uniqExactIf, String, UInt8),
    installs AggregateFunction(uniq, Int64)
) ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMMDD(day)
ORDER BY (product, day, version, process_type, os_name, signature);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.top_crashers_daily_mv TO {db}.top_crashers_daily AS
SELECT
    product,
    toDate(submitted_timestamp) AS day,
    version,
    process_type,
    os_name,
    signature,
    uniqExactState(crash_id) AS crashes,
    uniqExactIfState(crash_id, toUInt8(ifNull(startup_crash, 0))) AS startup_crashes,
    uniqExactIfState(crash_id, toUInt8(ifNull(uptime < 60, 0))) AS short_uptime,
    uniqExactIfState(crash_id, toUInt8(ifNull(is_garbage_collecting, 0))) AS gc_crashes,
    uniqState(ifNull(install_time, 0)) AS installs
FROM {db}.crashes
GROUP BY product, day, version, process_type, os_name, signature;

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
