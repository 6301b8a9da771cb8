package sinks

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/schemas/redact"
	"github.com/crashstream/crashstream/schemas/redact/redacttest"
)

// wholeDocument is the mapping before the redaction was narrowed: the
// whole processed crash through the redactor's JSON path, then the
// telemetry fields picked.
func wholeDocument(t testing.TB, r *redact.Redactor, pc *schemas.ProcessedCrash) *schemas.TelemetryCrash {
	red, err := r.Processed(pc)
	require.NoError(t, err)
	return red.Telemetry()
}

// bigCrash is a processed crash of the size the processor writes: 40
// modules, a 30-frame crashing thread, add-ons and a Java stack trace.
func bigCrash() *schemas.ProcessedCrash {
	pc := crash()
	for i := range 40 {
		pc.Modules = append(pc.Modules, schemas.Module{Filename: fmt.Sprintf("lib%d.so", i), DebugFile: fmt.Sprintf("lib%d.so", i),
			DebugID: "0123456789ABCDEF0123456789ABCDEF0", CodeID: "0123456789abcdef", Version: "1.2.3",
			BaseAddr: "0x7f0000000000", EndAddr: "0x7f0000100000", LoadedSymbols: i%3 != 0, MissingSymbols: i%3 == 0})
	}
	for i := range 30 {
		line := int64(100 + i)
		pc.CrashingThreadFrames = append(pc.CrashingThreadFrames, schemas.Frame{Frame: int64(i), Module: "libxul.so",
			Function: fmt.Sprintf("mozilla::dom::Thing%d::Run()", i), File: "dom/base/Thing.cpp", Line: &line,
			Offset: "0x7f0000001234", ModuleOffset: "0x1234", FunctionOffset: "0x12", Trust: "cfi"})
	}
	pc.Addons = []string{"uBlock0@raymondhill.net:1.60.0", "langpack-de@firefox.mozilla.org:130.0"}
	pc.TopmostFilenames = []string{"dom/base/Thing.cpp"}
	pc.JavaStackTrace = "java.lang.IllegalStateException: secret detail\n\tat org.example.Foo.bar(Foo.java:12)\n"
	return pc
}

// TestTelemetryMapAgreesWithWholeDocumentRedaction checks the narrowed
// redaction against the whole-document one on a crash with a marker in
// every protected field and nested key and the leaky form of every
// sanitised one: the same record, byte for byte in Avro and JSON, and no
// marker in it.
func TestTelemetryMapAgreesWithWholeDocumentRedaction(t *testing.T) {
	reg := fields.New()
	mp, err := NewTelemetryMapper(reg)
	require.NoError(t, err)
	require.NotEmpty(t, mp.redacted, "java_stack_trace is sanitised: it must go through the redactor")

	planted, markers, err := redacttest.Plant(reg, crash(), "tm4", 736251940)
	require.NoError(t, err)
	javaBefore := planted.JavaStackTrace
	for _, pc := range []*schemas.ProcessedCrash{crash(), bigCrash(), planted, {CrashID: testID}} {
		got, err := mp.Map(pc)
		require.NoError(t, err)
		want := wholeDocument(t, redact.New(reg), pc)
		gotAvro, err := schemas.Encode(got)
		require.NoError(t, err)
		wantAvro, err := schemas.Encode(want)
		require.NoError(t, err)
		assert.Equal(t, wantAvro, gotAvro)
		gotJSON, err := json.Marshal(got)
		require.NoError(t, err)
		wantJSON, err := json.Marshal(want)
		require.NoError(t, err)
		assert.JSONEq(t, string(wantJSON), string(gotJSON))
		for _, m := range markers {
			assert.False(t, strings.Contains(string(gotJSON), m.Text), "marker of %s exported", m.Path)
		}
	}
	assert.Equal(t, javaBefore, planted.JavaStackTrace, "Map leaves its input alone")
}

// TestUnchangedFollowsTheRegistry: a field the redactor would change is
// never skipped.
func TestUnchangedFollowsTheRegistry(t *testing.T) {
	r := redact.New(fields.New())
	tc := schemas.TelemetryCrash{}
	assert.True(t, r.Unchanged("modules", reflect.TypeOf(tc.Modules)))
	assert.True(t, r.Unchanged("crashing_thread_frames", reflect.TypeOf(tc.CrashingThreadFrames)))
	assert.True(t, r.Unchanged("signature", reflect.TypeOf(tc.Signature)))
	assert.False(t, r.Unchanged("java_stack_trace", reflect.TypeOf(tc.JavaStackTrace)), "sanitised")
	assert.False(t, r.Unchanged("user_comments", reflect.TypeOf("")), "protected")
	assert.False(t, r.Unchanged("no_such_field", reflect.TypeOf("")), "unlisted")
	assert.False(t, r.Unchanged("modules", reflect.TypeOf(map[string]string{})), "a map's keys are not known")
	type extra struct {
		Filename string `avro:"filename"`
		Secret   string `avro:"secret_key"`
	}
	assert.False(t, r.Unchanged("modules", reflect.TypeOf([]extra{})), "a key the registry does not list")
}

// BenchmarkTelemetryMap: the narrowed mapping against the whole-document
// redaction, on the same crash.
func BenchmarkTelemetryMap(b *testing.B) {
	reg := fields.New()
	pc := bigCrash()
	b.Run("narrowed", func(b *testing.B) {
		mp, err := NewTelemetryMapper(reg)
		require.NoError(b, err)
		for b.Loop() {
			if _, err := mp.Map(pc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("whole-document", func(b *testing.B) {
		r := redact.New(reg)
		for b.Loop() {
			slim := *pc
			slim.JSONDump = ""
			wholeDocument(b, r, &slim)
		}
	})
}
