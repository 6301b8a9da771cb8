package clickhouse

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/crashstream/crashstream/schemas/fields"
)

// crashesColumns replays the migrations' DDL on the crashes table (CREATE
// TABLE, then ALTER TABLE ... ADD COLUMN) and returns its columns with
// their types, LowCardinality unwrapped (a storage choice, not a type).
func crashesColumns(t *testing.T) map[string]string {
	t.Helper()
	ms, err := Migrations("db")
	if err != nil {
		t.Fatal(err)
	}
	create := regexp.MustCompile(`(?s)^CREATE TABLE (?:IF NOT EXISTS )?db\.crashes \((.*)\) ENGINE`)
	column := regexp.MustCompile(`^\s*([a-z_0-9]+) (.+?),?$`)
	add := regexp.MustCompile(`(?s)^ALTER TABLE db\.crashes\s+(.*)$`)
	addCol := regexp.MustCompile(`ADD COLUMN (?:IF NOT EXISTS )?([a-z_0-9]+) ([^,]+?)(?:\s+(?:AFTER|FIRST)\b[^,]*)?(?:,|$)`)
	cols := map[string]string{}
	for _, m := range ms {
		for _, st := range m.Statements {
			st = strings.TrimSpace(st)
			if c := create.FindStringSubmatch(st); c != nil {
				for _, line := range strings.Split(c[1], "\n") {
					if l := column.FindStringSubmatch(line); l != nil {
						cols[l[1]] = l[2]
					}
				}
			}
			if a := add.FindStringSubmatch(st); a != nil {
				for _, c := range addCol.FindAllStringSubmatch(a[1], -1) {
					cols[c[1]] = strings.TrimSpace(c[2])
				}
			}
		}
	}
	for name, typ := range cols {
		if strings.HasPrefix(typ, "LowCardinality(") {
			cols[name] = strings.TrimSuffix(strings.TrimPrefix(typ, "LowCardinality("), ")")
		}
	}
	return cols
}

// TestMigrationsMatchSchema keeps the hand-written migrations (history,
// never regenerated) in step with the one source of the crashes table's
// shape: the fields processed_crash.v1.avsc marks crashstream.search, whose
// registry entries (generated) name the column and its type. A field added
// to the schema as searchable fails here until a migration adds its column.
func TestMigrationsMatchSchema(t *testing.T) {
	cols := crashesColumns(t)
	if len(cols) < 50 {
		t.Fatalf("found %d crashes columns in the migrations: the parser is broken", len(cols))
	}
	want := map[string]bool{"row_version": true} // the writer's own column
	for _, f := range fields.New().ClickHouse() {
		want[f.ClickHouseColumn] = true
		got, ok := cols[f.ClickHouseColumn]
		switch {
		case !ok:
			t.Errorf("field %s is searchable in the schema but no migration adds column %s: add migrations/NNNN_%s.sql with\n"+
				"  ALTER TABLE {db}.crashes ADD COLUMN %s %s",
				f.Name, f.ClickHouseColumn, f.Name, f.ClickHouseColumn, f.ClickHouseType)
			// (no IF NOT EXISTS: ClickHouse 18.16 does not parse it there)
		case got != f.ClickHouseType:
			t.Errorf("column %s is %s in the migrations but the schema's field %s maps to %s", f.ClickHouseColumn, got, f.Name, f.ClickHouseType)
		}
	}
	var extra []string
	for name := range cols {
		if !want[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("crashes columns no searchable schema field fills: %s", strings.Join(extra, ", "))
	}
}

// TestMigrationColumnParser shows the check would see an ADD COLUMN.
func TestMigrationColumnParser(t *testing.T) {
	add := regexp.MustCompile(`ADD COLUMN (?:IF NOT EXISTS )?([a-z_0-9]+) ([^,]+?)(?:\s+(?:AFTER|FIRST)\b[^,]*)?(?:,|$)`)
	got := fmt.Sprint(add.FindAllStringSubmatch("ADD COLUMN IF NOT EXISTS a Nullable(Int64) AFTER b, ADD COLUMN c String", -1))
	if got != "[[ADD COLUMN IF NOT EXISTS a Nullable(Int64) AFTER b, a Nullable(Int64)] [ADD COLUMN c String c String]]" {
		t.Fatal(got)
	}
}
