-- attribute_daily: how many crashes of each day, product and release
-- channel have each correlation attribute ("<kind>\t<value>", and "\t"
-- once per crash for the total), kept by a materialized view as crashes
-- are inserted (summed per insert block, then by merges), so that
-- correlations read the overall side of a window from here instead of
-- expanding every crash of the window. The expression is
-- Correlator.AttributesExpr (storage/clickhouse/correlations.go; a test
-- holds them equal): public fields only. arrayJoin() in the SELECT, not
-- an ARRAY JOIN clause, so only the four columns it needs are repeated per
-- attribute, not the whole inserted crash (18.16 repeats every column of
-- the block for ARRAY JOIN, and a 1M-row insert then passes 4 GB). Like top_crashers_daily, a
-- reprocessed crash inserted again counts again. The INSERT counts the
-- crashes stored before this migration.
CREATE TABLE IF NOT EXISTS {db}.attribute_daily (
    day Date,
    product LowCardinality(String),
    channel LowCardinality(String),
    kv String,
    crashes UInt64
) ENGINE = SummingMergeTree(crashes)
PARTITION BY toYYYYMM(day)
ORDER BY (product, day, channel, kv);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.attribute_daily_mv TO {db}.attribute_daily AS
SELECT toDate(submitted_timestamp) AS day, product, release_channel AS channel, arrayJoin(arrayConcat(['\t'], arrayMap(v -> concat('module\t', v), loaded_modules), arrayMap(v -> concat('addon\t', v), addons), arrayMap(v -> concat('cpu_vendor\t', v), if(cpu_info = '', emptyArrayString(), [splitByChar(' ', cpu_info)[1]])), arrayMap(v -> concat('gpu_vendor\t', v), if(adapter_vendor_id = '', emptyArrayString(), [adapter_vendor_id])), arrayMap(v -> concat('os_version\t', v), if(toString(os_pretty_version) != '', [toString(os_pretty_version)], if(toString(os_name) = '', emptyArrayString(), [if(os_version = '', toString(os_name), concat(toString(os_name), ' ', os_version))]))), arrayMap(v -> concat('process_type\t', v), if(toString(process_type) = '', emptyArrayString(), [toString(process_type)])), arrayMap(v -> concat('cpu_arch\t', v), if(toString(cpu_arch) = '', emptyArrayString(), [toString(cpu_arch)])), arrayMap(v -> concat('startup_crash\t', v), if(isNull(startup_crash), emptyArrayString(), [if(assumeNotNull(startup_crash) = 1, 'true', 'false')])), arrayMap(v -> concat('is_garbage_collecting\t', v), if(isNull(is_garbage_collecting), emptyArrayString(), [if(assumeNotNull(is_garbage_collecting) = 1, 'true', 'false')])), arrayMap(v -> concat('dom_fission_enabled\t', v), if(isNull(dom_fission_enabled), emptyArrayString(), [if(assumeNotNull(dom_fission_enabled) = 1, 'true', 'false')])), arrayMap(v -> concat('accessibility\t', v), if(isNull(accessibility), emptyArrayString(), [if(assumeNotNull(accessibility) = 1, 'true', 'false')])), arrayMap(v -> concat('safe_mode\t', v), if(isNull(safe_mode), emptyArrayString(), [if(assumeNotNull(safe_mode) = 1, 'true', 'false')])), arrayMap(v -> concat('addons_checked\t', v), if(isNull(addons_checked), emptyArrayString(), [if(assumeNotNull(addons_checked) = 1, 'true', 'false')])), arrayMap(v -> concat('has_guard_page_access\t', v), if(isNull(has_guard_page_access), emptyArrayString(), [if(assumeNotNull(has_guard_page_access) = 1, 'true', 'false')])), arrayMap(v -> concat('adapter_driver_version\t', v), if(toString(adapter_driver_version) = '', emptyArrayString(), [toString(adapter_driver_version)])), arrayMap(v -> concat('app_init_dlls\t', v), if(toString(app_init_dlls) = '', emptyArrayString(), [toString(app_init_dlls)])))) AS kv, count() AS crashes
FROM {db}.crashes
GROUP BY day, product, channel, kv;

INSERT INTO {db}.attribute_daily (day, product, channel, kv, crashes)
SELECT toDate(submitted_timestamp) AS day, product, release_channel AS channel, arrayJoin(arrayConcat(['\t'], arrayMap(v -> concat('module\t', v), loaded_modules), arrayMap(v -> concat('addon\t', v), addons), arrayMap(v -> concat('cpu_vendor\t', v), if(cpu_info = '', emptyArrayString(), [splitByChar(' ', cpu_info)[1]])), arrayMap(v -> concat('gpu_vendor\t', v), if(adapter_vendor_id = '', emptyArrayString(), [adapter_vendor_id])), arrayMap(v -> concat('os_version\t', v), if(toString(os_pretty_version) != '', [toString(os_pretty_version)], if(toString(os_name) = '', emptyArrayString(), [if(os_version = '', toString(os_name), concat(toString(os_name), ' ', os_version))]))), arrayMap(v -> concat('process_type\t', v), if(toString(process_type) = '', emptyArrayString(), [toString(process_type)])), arrayMap(v -> concat('cpu_arch\t', v), if(toString(cpu_arch) = '', emptyArrayString(), [toString(cpu_arch)])), arrayMap(v -> concat('startup_crash\t', v), if(isNull(startup_crash), emptyArrayString(), [if(assumeNotNull(startup_crash) = 1, 'true', 'false')])), arrayMap(v -> concat('is_garbage_collecting\t', v), if(isNull(is_garbage_collecting), emptyArrayString(), [if(assumeNotNull(is_garbage_collecting) = 1, 'true', 'false')])), arrayMap(v -> concat('dom_fission_enabled\t', v), if(isNull(dom_fission_enabled), emptyArrayString(), [if(assumeNotNull(dom_fission_enabled) = 1, 'true', 'false')])), arrayMap(v -> concat('accessibility\t', v), if(isNull(accessibility), emptyArrayString(), [if(assumeNotNull(accessibility) = 1, 'true', 'false')])), arrayMap(v -> concat('safe_mode\t', v), if(isNull(safe_mode), emptyArrayString(), [if(assumeNotNull(safe_mode) = 1, 'true', 'false')])), arrayMap(v -> concat('addons_checked\t', v), if(isNull(addons_checked), emptyArrayString(), [if(assumeNotNull(addons_checked) = 1, 'true', 'false')])), arrayMap(v -> concat('has_guard_page_access\t', v), if(isNull(has_guard_page_access), emptyArrayString(), [if(assumeNotNull(has_guard_page_access) = 1, 'true', 'false')])), arrayMap(v -> concat('adapter_driver_version\t', v), if(toString(adapter_driver_version) = '', emptyArrayString(), [toString(adapter_driver_version)])), arrayMap(v -> concat('app_init_dlls\t', v), if(toString(app_init_dlls) = '', emptyArrayString(), [toString(app_init_dlls)])))) AS kv, count() AS crashes
FROM {db}.crashes
GROUP BY day, product, channel, kv;
