package schemas

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProcessedCrashJSONRoundTrip(t *testing.T) {
	line := int64(58)
	up := int64(12)
	in := ProcessedCrash{
		CrashID:        "de1bb258-cbbf-4589-a673-34f800160918",
		DateProcessed:  time.Date(2016, 9, 18, 10, 0, 0, 123000, time.UTC),
		Product:        "Firefox",
		Signature:      "CrashFunction | main",
		Uptime:         &up,
		URL:            "https://example.com/private",
		ModulesInStack: []string{"test_app.exe/5A98"},
		CrashingThreadFrames: []Frame{
			{Frame: 0, Module: "test_app.exe", Function: "CrashFunction", Line: &line, Trust: "context"},
		},
		JSONDump: `{"crash_info":{"type":"EXCEPTION_ACCESS_VIOLATION_WRITE"},"threads":[]}`,
	}
	b, err := json.Marshal(in)
	require.NoError(t, err)

	// json_dump is a nested object, as Socorro stores it, and names are the Avro names.
	var generic map[string]any
	require.NoError(t, json.Unmarshal(b, &generic))
	dump, ok := generic["json_dump"].(map[string]any)
	require.True(t, ok, "json_dump must be an object, got %T", generic["json_dump"])
	assert.Equal(t, "EXCEPTION_ACCESS_VIOLATION_WRITE", dump["crash_info"].(map[string]any)["type"])
	assert.Equal(t, "2016-09-18T10:00:00.000123Z", generic["date_processed"])
	assert.Nil(t, generic["install_age"])
	assert.Equal(t, []any{}, generic["addons"])
	frame := generic["crashing_thread_frames"].([]any)[0].(map[string]any)
	assert.Equal(t, "CrashFunction", frame["function"])
	assert.Equal(t, float64(58), frame["line"])

	var out ProcessedCrash
	require.NoError(t, json.Unmarshal(b, &out))
	assert.Equal(t, in.CrashID, out.CrashID)
	assert.Equal(t, in.DateProcessed, out.DateProcessed)
	assert.Equal(t, *in.Uptime, *out.Uptime)
	assert.Equal(t, in.CrashingThreadFrames, out.CrashingThreadFrames)
	assert.JSONEq(t, in.JSONDump, out.JSONDump)
	assert.Equal(t, in.URL, out.URL)
}

func TestProcessedCrashJSONIgnoresUnknownKeys(t *testing.T) {
	var out ProcessedCrash
	require.NoError(t, json.Unmarshal([]byte(`{"crash_id":"x","some_future_field":[1,2],"json_dump":{}}`), &out))
	assert.Equal(t, "x", out.CrashID)
	assert.Empty(t, out.JSONDump)
}
