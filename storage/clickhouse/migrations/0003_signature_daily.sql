-- signature_daily: crash counts per product, submission day and signature,
-- without the version / process type / platform split of
-- top_crashers_daily. Top crashers ranks on it when no such filter is given
-- (the default page), reading one row per signature and day instead of one
-- per combination. Kept exact the same way as top_crashers_daily.
CREATE TABLE IF NOT EXISTS {db}.signature_daily (
    product LowCardinality(String),
    day Date,
    signature String,
    crashes Int64,
    startup_crashes Int64,
    short_uptime Int64,
    gc_crashes Int64
) ENGINE = SummingMergeTree()
PARTITION BY toYYYYMMDD(day)
ORDER BY (product, day, signature);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.signature_daily_mv TO {db}.signature_daily AS
SELECT
    product,
    toDate(submitted_timestamp) AS day,
    signature,
    toInt64(count()) AS crashes,
    toInt64(sum(ifNull(startup_crash, 0))) AS startup_crashes,
    toInt64(sum(ifNull(uptime < 60, 0))) AS short_uptime,
    toInt64(sum(ifNull(is_garbage_collecting, 0))) AS gc_crashes
FROM {db}.crashes
GROUP BY product, day, signature;
