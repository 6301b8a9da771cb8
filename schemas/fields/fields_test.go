package fields_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type avroField struct {
	Name string          `json:"name"`
	Type json.RawMessage `json:"type"`
}

func avroFields(t *testing.T, file string) []avroField {
	t.Helper()
	src, err := schemas.Source(file)
	require.NoError(t, err)
	var s struct {
		Fields []avroField `json:"fields"`
	}
	require.NoError(t, json.Unmarshal([]byte(src), &s))
	return s.Fields
}

// avroTypeOf maps a registry type to the Avro type the schemas use for it.
func avroTypeOf(t fields.Type) string {
	return map[fields.Type]string{
		fields.String: `"string"`,
		fields.Int:    `["null","long"]`,
		fields.Float:  `["null","double"]`,
		fields.Bool:   `["null","boolean"]`,
		fields.Date:   `{"type":"long","logicalType":"timestamp-micros"}`,
		fields.List:   `{"type":"array","items":"string"}`,
	}[t]
}

func compact(t *testing.T, raw json.RawMessage) string {
	var v any
	require.NoError(t, json.Unmarshal(raw, &v))
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func checkAgainst(t *testing.T, file string, want []fields.Field, name func(fields.Field) string) {
	af := avroFields(t, file)
	require.Len(t, af, len(want), "field count of %s", file)
	for i, f := range want {
		assert.Equal(t, name(f), af[i].Name, "field %d of %s", i, file)
		if f.Type == fields.Object {
			assert.Contains(t, string(af[i].Type), `"array"`, f.Name)
			continue
		}
		assert.JSONEq(t, avroTypeOf(f.Type), compact(t, af[i].Type), f.Name)
	}
}

// TestRegistryMatchesProcessedCrashSchema keeps the registry, the .avsc
// and the Go struct in one order with matching types.
func TestRegistryMatchesProcessedCrashSchema(t *testing.T) {
	r := fields.New()
	checkAgainst(t, schemas.FileProcessedCrash, r.All(), func(f fields.Field) string { return f.Name })
	st := reflect.TypeFor[schemas.ProcessedCrash]()
	require.Equal(t, len(r.All()), st.NumField())
	goType := map[fields.Type]reflect.Type{
		fields.String: reflect.TypeFor[string](), fields.Int: reflect.TypeFor[*int64](),
		fields.Float: reflect.TypeFor[*float64](), fields.Bool: reflect.TypeFor[*bool](),
		fields.Date: reflect.TypeFor[time.Time](), fields.List: reflect.TypeFor[[]string](),
	}
	for i, f := range r.All() {
		sf := st.Field(i)
		assert.Equal(t, f.Name, sf.Tag.Get("avro"))
		if want, ok := goType[f.Type]; ok {
			assert.Equal(t, want, sf.Type, f.Name)
		}
	}
}

func TestRegistryMatchesTelemetrySchema(t *testing.T) {
	r := fields.New()
	checkAgainst(t, schemas.FileTelemetryCrash, r.Telemetry(), fields.Field.TelemetryFieldName)
}

func TestInvariants(t *testing.T) {
	r := fields.New()
	seen := map[string]bool{}
	chTypes := map[fields.Type]string{fields.String: "String", fields.Int: "Nullable(Int64)", fields.Float: "Nullable(Float64)",
		fields.Bool: "Nullable(UInt8)", fields.Date: "DateTime", fields.List: "Array(String)"}
	for _, f := range r.All() {
		assert.False(t, seen[f.Name], "duplicate %s", f.Name)
		seen[f.Name] = true
		assert.NotEmpty(t, f.Description, f.Name)
		if f.Searchable {
			assert.Equal(t, f.Name, f.ClickHouseColumn, f.Name)
			assert.Equal(t, chTypes[f.Type], f.ClickHouseType, f.Name)
			assert.NotEqual(t, fields.Object, f.Type, f.Name)
		} else {
			assert.Empty(t, f.ClickHouseColumn, f.Name)
		}
		if f.Telemetry {
			assert.True(t, f.IsPublic(), "telemetry field %s must be public", f.Name)
		}
	}
	assert.Len(t, r.ClickHouse(), len(r.Searchable()))
}

func TestLookupsAndFacts(t *testing.T) {
	r := fields.New()
	tests := []struct {
		name, annotation, telemetry string
		typ                         fields.Type
		public, searchable          bool
	}{
		{"product", "ProductName", "product", fields.String, true, true},
		{"version", "Version", "version", fields.String, true, true},
		{"release_channel", "ReleaseChannel", "release_channel", fields.String, true, true},
		{"build", "BuildID", "build_id", fields.Int, true, true},
		{"process_type", "ProcessType", "process_type", fields.String, true, true},
		{"url", "URL", "", fields.String, false, true},
		{"user_comments", "Comments", "", fields.String, false, true},
		{"install_time", "InstallTime", "", fields.Int, true, true},
		{"date_processed", "", "date", fields.Date, true, true},
		{"os_name", "", "platform", fields.String, true, true},
		{"os_version", "", "platform_version", fields.String, true, true},
		{"os_pretty_version", "", "platform_pretty_version", fields.String, true, true},
		{"json_dump", "", "", fields.String, true, false},
		{"modules", "", "modules", fields.Object, true, false},
		{"startup_crash", "StartupCrash", "startup_crash", fields.Bool, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := r.Lookup(tt.name)
			require.True(t, ok)
			assert.Equal(t, tt.annotation, f.Annotation)
			assert.Equal(t, tt.typ, f.Type)
			assert.Equal(t, tt.public, f.IsPublic())
			assert.Equal(t, tt.searchable, f.Searchable)
			assert.Equal(t, tt.telemetry != "", f.Telemetry)
			if tt.telemetry != "" {
				assert.Equal(t, tt.telemetry, f.TelemetryFieldName())
			}
		})
	}
	_, ok := r.Lookup("nope")
	assert.False(t, ok)
	for _, f := range r.Public() {
		assert.True(t, f.IsPublic())
	}
	assert.Len(t, r.Visible(true), len(r.All()))
	assert.Len(t, r.Visible(false), len(r.Public()))
	assert.Less(t, len(r.Public()), len(r.All()))
	mcr := r.FromAnnotation("MozCrashReason")
	require.Len(t, mcr, 2)
	assert.Equal(t, "moz_crash_reason", mcr[0].Name)
	assert.Equal(t, "moz_crash_reason_raw", mcr[1].Name)
	assert.Contains(t, r.Annotations(), "ProductName")
	assert.Equal(t, "protected", fields.Protected.String())
	assert.Equal(t, "public", fields.Public.String())
}

func TestParse(t *testing.T) {
	f := func(typ fields.Type) fields.Field { return fields.Field{Name: "x", Type: typ} }
	tests := []struct {
		name    string
		field   fields.Field
		in      string
		want    any
		wantErr bool
	}{
		{"string", f(fields.String), " Firefox ", "Firefox", false},
		{"int", f(fields.Int), "20261115093000", int64(20261115093000), false},
		{"int bad", f(fields.Int), "12a", nil, true},
		{"float", f(fields.Float), "1.5", 1.5, false},
		{"float bad", f(fields.Float), "x", nil, true},
		{"bool 1", f(fields.Bool), "1", true, false},
		{"bool false", f(fields.Bool), "FALSE", false, false},
		{"bool bad", f(fields.Bool), "yes", nil, true},
		{"date unix", f(fields.Date), "1700000000", time.Unix(1700000000, 0).UTC(), false},
		{"date rfc3339", f(fields.Date), "2026-11-20T10:00:00+01:00", time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), false},
		{"date bad", f(fields.Date), "yesterday", nil, true},
		{"list", f(fields.List), "a, b,,c", []string{"a", "b", "c"}, false},
		{"object", f(fields.Object), "[]", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.field.Parse(tt.in)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"1", "true", "2026-11-20T10:00:00Z", "a,b", "-9223372036854775808"} {
		f.Add(s)
	}
	types := []fields.Type{fields.String, fields.Int, fields.Float, fields.Bool, fields.Date, fields.List}
	f.Fuzz(func(t *testing.T, s string) {
		for _, typ := range types {
			_, _ = fields.Field{Name: "x", Type: typ}.Parse(s) // must not panic
		}
	})
}

// TestProtectedAsInSocorro pins the fields Socorro's processed-crash schema
// protects (reference §2.11 and processed_crash.schema.yaml): personal data
// must never become public by an edit of the table.
func TestProtectedAsInSocorro(t *testing.T) {
	r := fields.New()
	for _, name := range []string{"url", "user_comments", "breadcrumbs", "java_stack_trace_raw", "moz_crash_reason_raw",
		"phc_alloc_stack", "phc_free_stack", "phc_kind", "phc_base_address", "phc_usable_size",
		"mdsw_stderr", "mdsw_return_code", "remote_type"} {
		f, ok := r.Lookup(name)
		require.True(t, ok, name)
		assert.False(t, f.IsPublic(), "%s must be protected", name)
		assert.False(t, f.Telemetry, "%s must not be exported", name)
	}
}
