-- missing_symbols_modules: debug_file/DEBUG_ID of each module of the
-- crashing thread's stack that had no symbols, a public processed-crash
-- field (schema revision 4). Rows stored before this migration read an
-- empty list.
ALTER TABLE {db}.crashes ADD COLUMN missing_symbols_modules Array(String);

-- missing_symbols_crashes: which crashes missed symbols for a module,
-- keyed by module, so that a symbol upload finds the crashes of the
-- retention window to reprocess by reading a few granules (crashes is
-- sorted by product first, and 18.16 has no skip indexes, so a filter on
-- the array column alone reads the whole window). One row per processing
-- and missing module, fed by a materialized view; a later processing that
-- found the symbols writes no row for the module, so a reader checks the
-- crash's latest row in crashes (ReadMissingSymbols). Daily partitions
-- like crashes, so retention drops them with the rest.
CREATE TABLE IF NOT EXISTS {db}.missing_symbols_crashes (
    module String,
    submitted_timestamp DateTime,
    crash_id String,
    row_version UInt64
) ENGINE = ReplacingMergeTree(row_version)
PARTITION BY toYYYYMMDD(submitted_timestamp)
ORDER BY (module, submitted_timestamp, crash_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.missing_symbols_crashes_mv TO {db}.missing_symbols_crashes AS
SELECT arrayJoin(missing_symbols_modules) AS module, submitted_timestamp, crash_id, row_version FROM {db}.crashes;
