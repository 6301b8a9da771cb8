-- signature_correlations: the correlations the cron job precomputes each
-- day for the top signatures of each product (channel '') and of each
-- product and release channel, over the 7 days ending with day. Counts,
-- not scores: the webapp scores them as it scores an on-demand
-- computation. A rerun for a day replaces its rows (the latest
-- computed_at wins; readers use FINAL). A row with an empty attribute
-- marks a signature computed with no attribute at all.
CREATE TABLE IF NOT EXISTS {db}.signature_correlations (
    day Date,
    product LowCardinality(String),
    channel LowCardinality(String),
    signature String,
    attribute LowCardinality(String),
    value String,
    sig_count UInt64,
    sig_total UInt64,
    all_count UInt64,
    all_total UInt64,
    computed_at DateTime
) ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(day)
ORDER BY (product, channel, signature, day, attribute, value);
