-- loaded_modules: filename/version of every module loaded in the crashed
-- process, a public field of the processed crash (schema revision 3), so
-- that correlations can compare how often a module (and which version of
-- it) is loaded in a signature's crashes and in all crashes. Rows stored
-- before this migration read an empty list.
ALTER TABLE {db}.crashes ADD COLUMN loaded_modules Array(String);
-- (ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS: Migrate runs a
-- migration once, recorded in schema_migrations.)
