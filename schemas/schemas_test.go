package schemas_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/schematest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// samples returns one fixed record per current schema.
func samples() map[string]schemas.Record {
	at := time.Date(2026, 11, 20, 10, 30, 0, 123456000, time.UTC)
	pc := schematest.ProcessedCrash(1, schematest.Small())
	tc := &schemas.TelemetryCrash{CrashID: pc.CrashID, UUID: pc.UUID, Date: pc.DateProcessed, Product: "Firefox",
		BuildID: pc.Build, Platform: "Windows NT", PlatformVersion: "10.0.19045", PlatformPrettyVersion: "Windows 10",
		Signature: pc.Signature, Uptime: pc.Uptime, StartupCrash: pc.StartupCrash, Addons: pc.Addons,
		CrashingThreadFrames: pc.CrashingThreadFrames, Modules: pc.Modules}
	return map[string]schemas.Record{
		schemas.FileCrashReceived:  schematest.CrashReceived(1),
		schemas.FileProcessRequest: &schemas.ProcessRequest{CrashID: pc.CrashID, Reason: "reprocess", Ruleset: "regenerate_signature", RequestedAt: at, RequestedBy: "cron"},
		schemas.FileProcessedCrash: pc,
		schemas.FileTelemetryCrash: tc,
	}
}

func newOf(r schemas.Record) schemas.Record {
	return reflect.New(reflect.TypeOf(r).Elem()).Interface().(schemas.Record)
}

func TestRoundTrip(t *testing.T) {
	for file, rec := range samples() {
		t.Run(file, func(t *testing.T) {
			b, err := schemas.Encode(rec)
			require.NoError(t, err)
			got := newOf(rec)
			require.NoError(t, schemas.Decode(b, got))
			assert.Equal(t, rec, got)
		})
	}
}

func TestMethodsRoundTrip(t *testing.T) {
	pc := schematest.ProcessedCrash(3, schematest.Small())
	b, err := pc.Encode()
	require.NoError(t, err)
	var got schemas.ProcessedCrash
	require.NoError(t, got.Decode(b))
	assert.Equal(t, pc, &got)
	// Decode replaces, it does not merge.
	got.UserComments = "stale"
	require.NoError(t, got.Decode(b))
	assert.Equal(t, pc.UserComments, got.UserComments)
}

// TestGolden pins the wire bytes of each schema: an accidental change of a
// schema or of the codec shows up as a diff here, before any consumer
// decodes garbage. Run with -update after an intended change.
func TestGolden(t *testing.T) {
	for file, rec := range samples() {
		t.Run(file, func(t *testing.T) {
			b, err := schemas.Encode(rec)
			require.NoError(t, err)
			path := filepath.Join("testdata", "golden", file+".bin")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, b, 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test -update to create golden files")
			assert.Equal(t, want, b)
			got := newOf(rec)
			require.NoError(t, schemas.Decode(want, got))
			assert.Equal(t, rec, got)
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	good, err := schematest.CrashReceived(1).Encode()
	require.NoError(t, err)
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"truncated", good[:len(good)/2]},
		{"trailing", append(append([]byte{}, good...), 0)},
		{"huge length", []byte{0xfe, 0xff, 0xff, 0xff, 0x0f}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cr schemas.CrashReceived
			assert.Error(t, cr.Decode(tt.in))
		})
	}
}

// TestStructsMatchSchemas checks that every Avro field has a struct field
// and vice versa, so no data is silently dropped on encode or decode.
func TestStructsMatchSchemas(t *testing.T) {
	for file, rec := range samples() {
		t.Run(file, func(t *testing.T) {
			src, err := schemas.Source(file)
			require.NoError(t, err)
			var s struct {
				Fields []struct {
					Name string `json:"name"`
				} `json:"fields"`
			}
			require.NoError(t, json.Unmarshal([]byte(src), &s))
			var avroNames []string
			for _, f := range s.Fields {
				avroNames = append(avroNames, f.Name)
			}
			assert.Equal(t, avroNames, tagNames(reflect.TypeOf(rec).Elem()))
		})
	}
}

func tagNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		if n, ok := t.Field(i).Tag.Lookup("avro"); ok {
			out = append(out, n)
		}
	}
	return out
}

func TestEmbeddedFiles(t *testing.T) {
	assert.Equal(t, []string{schemas.FileCrashReceived, schemas.FileProcessRequest, schemas.FileProcessedCrash, schemas.FileTelemetryCrash}, schemas.Current())
	_, err := schemas.Source("../go.mod")
	assert.Error(t, err)
	_, err = schemas.Source("nope.avsc")
	assert.Error(t, err)
	for _, h := range schemas.History() {
		_, err := schemas.Source(h)
		assert.NoError(t, err, h)
	}
}

func TestCodecRejectsWrongType(t *testing.T) {
	c, err := schemas.CurrentCodec(&schemas.CrashReceived{})
	require.NoError(t, err)
	_, err = c.Encode(nil, &schemas.ProcessRequest{})
	assert.Error(t, err)
	assert.Error(t, c.Decode([]byte{0}, &schemas.ProcessRequest{}))
}

func FuzzDecodeProcessedCrash(f *testing.F) {
	b, err := schematest.ProcessedCrash(1, schematest.Small()).Encode()
	require.NoError(f, err)
	f.Add(b)
	f.Add([]byte{})
	f.Add(b[:10])
	f.Fuzz(func(t *testing.T, in []byte) {
		var pc schemas.ProcessedCrash
		if pc.Decode(in) != nil {
			return
		}
		// Whatever decodes must encode again to the same bytes.
		out, err := pc.Encode()
		require.NoError(t, err)
		var again schemas.ProcessedCrash
		require.NoError(t, again.Decode(out))
		assert.Equal(t, pc, again)
	})
}

// TestHugeArrayCountIsRejectedCheaply feeds a crash_received record whose
// dumps array claims 2^30 items: it must fail without allocating for them.
func TestHugeArrayCountIsRejectedCheaply(t *testing.T) {
	good, err := (&schemas.CrashReceived{CrashID: "x", SubmittedTimestamp: time.UnixMicro(0)}).Encode()
	require.NoError(t, err)
	// crash_id "x", ts 0, 5 empty strings, then the dumps block count.
	require.Equal(t, []byte{2, 'x', 0, 0, 0, 0, 0, 0, 0, 0}, good)
	bad := append([]byte{2, 'x', 0, 0, 0, 0, 0, 0}, 0x80, 0x80, 0x80, 0x80, 0x08) // zigzag 2^30
	var cr schemas.CrashReceived
	assert.ErrorContains(t, cr.Decode(bad), "MaxBlockCount")
}
