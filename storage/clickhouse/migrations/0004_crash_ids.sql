-- crash_ids: where each crash's rows are in crashes, keyed by crash id, so
-- that a crash looked up by id reads a few granules instead of scanning the
-- days around the id's date (crashes is sorted by product first, and 18.16
-- has no skip indexes). Fed by a materialized view on crashes; the INSERT
-- below fills it from the rows stored before this migration. A processing
-- never changes product or submission time (the crashes sorting key relies
-- on that too), so every row of one crash id says the same; duplicates,
-- from reprocessing or a migration run twice, are harmless and merge away.
-- Daily partitions like crashes, so retention drops them with the rest.
CREATE TABLE IF NOT EXISTS {db}.crash_ids (
    crash_id String,
    product LowCardinality(String),
    submitted_timestamp DateTime
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMMDD(submitted_timestamp)
ORDER BY crash_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.crash_ids_mv TO {db}.crash_ids AS
SELECT crash_id, product, submitted_timestamp FROM {db}.crashes;

INSERT INTO {db}.crash_ids (crash_id, product, submitted_timestamp)
SELECT crash_id, product, submitted_timestamp FROM {db}.crashes;
