package redact_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/schemas/redact"
	"github.com/crashstream/crashstream/schemas/redact/redacttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func base() *schemas.ProcessedCrash {
	line := int64(12)
	return &schemas.ProcessedCrash{
		CrashID: "de1bb258-cbbf-4589-a673-34f800160918", UUID: "de1bb258-cbbf-4589-a673-34f800160918",
		DateProcessed: time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC), Product: "Firefox", Signature: "Foo::bar",
		CrashingThreadFrames: []schemas.Frame{{Frame: 0, Module: "libxul.so", Function: "Foo::bar", Line: &line}},
		Modules:              []schemas.Module{{Filename: "libxul.so", DebugID: "ABC"}},
		JSONDump: `{"crash_info":{"address":"0x0","crashing_thread":0,"type":"SIGSEGV"},"status":"OK",` +
			`"threads":[{"frame_count":1,"thread_name":"main","frames":[{"frame":0,"function":"Foo::bar","module":"libxul.so","trust":"context","registers":{"rip":"0x1"}}]}],` +
			`"modules":[{"filename":"libxul.so","debug_id":"ABC"}],"system_info":{"os":"Linux","cpu_arch":"amd64"}}`,
	}
}

// TestEveryProtectedFieldIsRedacted plants a marker in every protected
// field and nested key of the registry and checks none survives, while the
// public parts do.
func TestEveryProtectedFieldIsRedacted(t *testing.T) {
	reg := fields.New()
	r := redact.New(reg)
	pc, markers, err := redacttest.Plant(reg, base(), "zq7", 918273640)
	require.NoError(t, err)
	paths := map[string]bool{}
	for _, m := range markers {
		paths[m.Path] = true
	}
	for _, want := range []string{"json_dump.mac_boot_args", "json_dump.threads[].frames[].registers", "user_comments",
		"java_stack_trace_raw", "java_stack_trace (sanitised)", redacttest.Unlisted + " (unlisted)", "mdsw_return_code"} {
		assert.True(t, paths[want], "marker planted in %s", want)
	}
	raw, err := json.Marshal(pc)
	require.NoError(t, err)
	for _, m := range markers {
		require.Contains(t, string(raw), m.Text, "positive control: %s is in the unredacted crash", m.Path)
	}
	out, err := r.JSON(raw)
	require.NoError(t, err)
	red, err := r.Processed(pc)
	require.NoError(t, err)
	typed, err := json.Marshal(red)
	require.NoError(t, err)
	for _, m := range markers {
		assert.NotContains(t, string(out), m.Text, "JSON: %s leaked", m.Path)
		assert.NotContains(t, string(typed), m.Text, "Processed: %s leaked", m.Path)
	}
	// public data survives, nested included
	for _, s := range []string{`"signature":"Foo::bar"`, `"thread_name":"main"`, `"function":"Foo::bar"`, `"os":"Linux"`,
		`"debug_id":"ABC"`, `"java_stack_trace":"java.lang.IllegalStateException\n\tat org.example.Foo.bar(Foo.java:12)"`} {
		assert.Contains(t, string(out), s)
	}
	assert.Equal(t, "Foo::bar", red.Signature)
	assert.Contains(t, red.JSONDump, `"thread_name":"main"`)
	assert.NotContains(t, red.JSONDump, "registers")
	assert.Equal(t, "", red.UserComments)
}

func TestFieldAndTerm(t *testing.T) {
	r := redact.New(fields.New())
	_, ok := r.Field("user_comments", "x")
	assert.False(t, ok)
	_, ok = r.Field("no_such_field", "x")
	assert.False(t, ok, "unknown fields are protected")
	v, ok := r.Field("signature", "Foo")
	assert.True(t, ok)
	assert.Equal(t, "Foo", v)
	n := int64(3)
	v, ok = r.Field("uptime", &n)
	assert.True(t, ok)
	assert.Equal(t, &n, v)
	term, ok := r.Term("java_stack_trace", "a.B: secret\n\tat a.B.c(B.java:1)")
	assert.True(t, ok)
	assert.Equal(t, "a.B\n\tat a.B.c(B.java:1)", term)
	// json_dump stored as text (not JSON) is not shown
	_, ok = r.Field("json_dump", "not json")
	assert.False(t, ok)
	// arrays of objects under a leaf are dropped; scalars stay
	v, ok = r.Field("addons", []any{"a", map[string]any{"x": "y"}})
	assert.True(t, ok)
	assert.Equal(t, []any{"a"}, v)
}

func TestRawCrash(t *testing.T) {
	r := redact.New(fields.New())
	doc := map[string]json.RawMessage{"ProductName": []byte(`"Firefox"`), "URL": []byte(`"https://x"`),
		"JavaStackTrace": []byte(`"a.B: secret"`), "metadata": []byte(`{}`), "Unknown": []byte(`"1"`)}
	r.RawCrash(doc)
	keys := []string{}
	for k := range doc {
		keys = append(keys, k)
	}
	assert.Equal(t, []string{"ProductName"}, keys)
	assert.False(t, strings.Contains(string(doc["ProductName"]), "secret"))
}
