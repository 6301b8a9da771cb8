package registry

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/schematest"
	"github.com/crashstream/crashstream/schemas/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestPinnedCoversEverySchemaOnce: every revision text in avro/history has
// one id, each current schema is served under the id of its latest
// revision, and that revision means what the current text means (the
// generator adds a revision when the canonical form changes: a schema
// edited without go generate would reuse an id for other bytes).
func TestPinnedCoversEverySchemaOnce(t *testing.T) {
	pins, err := pinned()
	require.NoError(t, err)
	files := map[string]int{}
	ids := map[uint32]bool{}
	for _, p := range pins {
		files[p.file]++
		assert.False(t, ids[p.id], "id %d reused", p.id)
		ids[p.id] = true
		assert.NotEmpty(t, p.subjects)
	}
	revs, err := schemas.Revisions()
	require.NoError(t, err)
	kept := map[string]bool{}
	for _, r := range revs {
		copyName := fmt.Sprintf("history/%s.r%d.avsc", strings.TrimSuffix(r.File, ".avsc"), r.Revision)
		kept[copyName] = true
		copyText, err := schemas.Source(copyName)
		require.NoError(t, err, "revision %d of %s has no history copy", r.Revision, r.File)
		served, err := schemas.Source(r.Source)
		require.NoError(t, err)
		a, err := canonicalForm(copyText)
		require.NoError(t, err)
		b, err := canonicalForm(served)
		require.NoError(t, err)
		assert.Equal(t, a, b, "id %d: served text and history copy differ in meaning", r.ID)
	}
	for _, h := range schemas.History() {
		assert.True(t, kept[h], "%s is not a revision in avro/revisions.json", h)
	}
	for _, f := range schemas.Current() {
		assert.Equal(t, 1, files[f], "%s must be pinned exactly once", f)
	}
}

// latestProcessed returns the id and subject version of the current
// processed_crash revision from the ledger (id 5, version 2 when this was
// written): adding a field moves them, and id 5 keeps serving revision 2.
func latestProcessed(t *testing.T) (uint32, int) { return latestOf(t, schemas.FileProcessedCrash) }

func latestOf(t *testing.T, file string) (uint32, int) {
	t.Helper()
	revs, err := schemas.Revisions()
	require.NoError(t, err)
	var id uint32
	version := 0
	for _, r := range revs {
		if r.File == file {
			id, version = r.ID, version+1
		}
	}
	require.NotZero(t, id)
	return id, version
}

// versionList is the JSON list 1..n.
func versionList(n int) string {
	b, _ := json.Marshal(func() []int {
		out := make([]int, n)
		for i := range out {
			out[i] = i + 1
		}
		return out
	}())
	return string(b)
}

func TestStatic(t *testing.T) {
	s, err := NewStatic()
	require.NoError(t, err)
	ctx := context.Background()
	text, err := schemas.Source(schemas.FileProcessedCrash)
	require.NoError(t, err)
	pcID, pcVersion := latestProcessed(t)

	id, err := s.Register(ctx, SubjectProcessed, text)
	require.NoError(t, err)
	assert.Equal(t, pcID, id, "the current processed_crash revision")
	r1, err := schemas.Source("history/processed_crash.v1.r1.avsc")
	require.NoError(t, err)
	old, err := s.Register(ctx, SubjectProcessed, r1)
	require.NoError(t, err)
	assert.Equal(t, uint32(3), old, "earlier revisions keep their id")
	// The same schema, reformatted, is the same schema.
	var v any
	require.NoError(t, json.Unmarshal([]byte(text), &v))
	compact, err := json.Marshal(v)
	require.NoError(t, err)
	id2, err := s.Register(ctx, SubjectProcessed, string(compact))
	require.NoError(t, err)
	assert.Equal(t, id, id2)

	_, err = s.Register(ctx, SubjectReceived, text)
	assert.ErrorIs(t, err, ErrReadOnly)
	_, err = s.Register(ctx, SubjectProcessed, `{"type":"record","name":"X","fields":[]}`)
	assert.ErrorIs(t, err, ErrReadOnly)
	_, err = s.Register(ctx, SubjectProcessed, `{`)
	assert.Error(t, err)

	got, err := s.Schema(ctx, pcID)
	require.NoError(t, err)
	assert.Equal(t, text, got)
	got, err = s.Schema(ctx, 3)
	require.NoError(t, err)
	assert.Equal(t, r1, got)
	latest, err := s.Version(SubjectProcessed, -1)
	require.NoError(t, err)
	assert.Equal(t, Version{Subject: SubjectProcessed, Version: pcVersion, ID: pcID, Schema: text}, latest)
	_, err = s.Schema(ctx, 999)
	assert.ErrorIs(t, err, ErrSchemaNotFound)

	assert.Equal(t, []string{SubjectPriority, SubjectProcessed, SubjectReceived, SubjectReprocess, SubjectTelemetry}, s.SubjectNames())
	pr, err := s.Version(SubjectPriority, -1)
	require.NoError(t, err)
	rp, err := s.Version(SubjectReprocess, -1)
	require.NoError(t, err)
	assert.Equal(t, pr.ID, rp.ID, "one schema, one id, two subjects")
	assert.Equal(t, pr.Version, rp.Version)
	_, err = s.Version(SubjectPriority, pr.Version+1)
	assert.ErrorIs(t, err, ErrVersionNotFound)
	_, err = s.Versions("nope-value")
	assert.ErrorIs(t, err, ErrSubjectNotFound)
}

func TestHandler(t *testing.T) {
	s, err := NewStatic()
	require.NoError(t, err)
	srv := httptest.NewServer(http.StripPrefix("/registry", NewHandler(s)))
	defer srv.Close()
	pcText, err := schemas.Source(schemas.FileProcessedCrash)
	require.NoError(t, err)
	pcID, pcVersion := latestProcessed(t)
	_, receivedVersion := latestOf(t, schemas.FileCrashReceived)
	r1Text, err := schemas.Source("history/processed_crash.v1.r1.avsc")
	require.NoError(t, err)
	schemaJSON, err := json.Marshal(map[string]string{"schema": pcText})
	require.NoError(t, err)
	versionJSON, err := json.Marshal(map[string]any{"subject": SubjectProcessed, "version": pcVersion, "id": pcID, "schema": pcText})
	require.NoError(t, err)
	v1JSON, err := json.Marshal(map[string]any{"subject": SubjectProcessed, "version": 1, "id": 3, "schema": r1Text})
	require.NoError(t, err)

	tests := []struct {
		name, method, path string
		status             int
		body               string // JSON to compare, or raw text when raw
		raw                bool
	}{
		{"schema by id", "GET", fmt.Sprintf("/schemas/ids/%d", pcID), 200, string(schemaJSON), false},
		{"schema by id raw", "GET", fmt.Sprintf("/schemas/ids/%d/schema", pcID), 200, pcText, true},
		{"earlier revision by id", "GET", "/schemas/ids/3/schema", 200, r1Text, true},
		{"schema id unknown", "GET", "/schemas/ids/77", 404, `{"error_code":40403,"message":"Schema not found"}`, false},
		{"schema id not a number", "GET", "/schemas/ids/x", 404, `{"error_code":40403,"message":"Schema \"x\" not found"}`, false},
		{"subjects", "GET", "/subjects", 200, `["crash.priority.v1-value","crash.processed.v1-value","crash.received.v1-value","crash.reprocess.v1-value","crash.telemetry.v1-value"]`, false},
		{"versions", "GET", "/subjects/crash.processed.v1-value/versions", 200, versionList(pcVersion), false},
		{"versions of another subject", "GET", "/subjects/crash.received.v1-value/versions", 200, versionList(receivedVersion), false},
		{"versions unknown subject", "GET", "/subjects/nope/versions", 404, `{"error_code":40401,"message":"Subject not found."}`, false},
		{"version 1", "GET", "/subjects/crash.processed.v1-value/versions/1", 200, string(v1JSON), false},
		{"version latest by number", "GET", fmt.Sprintf("/subjects/crash.processed.v1-value/versions/%d", pcVersion), 200, string(versionJSON), false},
		{"version latest", "GET", "/subjects/crash.processed.v1-value/versions/latest", 200, string(versionJSON), false},
		{"version -1", "GET", "/subjects/crash.processed.v1-value/versions/-1", 200, string(versionJSON), false},
		{"version raw schema", "GET", "/subjects/crash.processed.v1-value/versions/latest/schema", 200, pcText, true},
		{"version missing", "GET", fmt.Sprintf("/subjects/crash.processed.v1-value/versions/%d", pcVersion+1), 404, `{"error_code":40402,"message":"Version not found."}`, false},
		{"version of unknown subject", "GET", "/subjects/nope/versions/1", 404, `{"error_code":40401,"message":"Subject not found."}`, false},
		{"version invalid", "GET", "/subjects/crash.processed.v1-value/versions/zero", 422, "", false},
		{"version 0 invalid", "GET", "/subjects/crash.processed.v1-value/versions/0", 422, "", false},
		{"config", "GET", "/config", 200, `{"compatibilityLevel":"BACKWARD"}`, false},
		{"read only", "POST", "/subjects/crash.processed.v1-value/versions", 405, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+"/registry"+tt.path, strings.NewReader("{}"))
			require.NoError(t, err)
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tt.status, resp.StatusCode, string(b))
			if tt.status == 422 {
				assert.Contains(t, string(b), `"error_code":42202`)
				return
			}
			if tt.status == 405 {
				return
			}
			assert.Equal(t, contentType, resp.Header.Get("Content-Type"))
			if tt.raw {
				assert.Equal(t, tt.body, string(b))
			} else {
				assert.JSONEq(t, tt.body, string(b))
			}
		})
	}
}

// fakeConfluent is a minimal in-memory Confluent registry: register (with
// ids shared by identical schemas) and lookup, with basic auth and a
// request counter.
type fakeConfluent struct {
	mu       sync.Mutex
	byText   map[string]uint32
	byID     map[uint32]string
	requests atomic.Int64
	down     atomic.Bool
}

func newFakeConfluent() *fakeConfluent {
	return &fakeConfluent{byText: map[string]uint32{}, byID: map[uint32]string{}}
}

func (f *fakeConfluent) add(text string) uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id, ok := f.byText[text]; ok {
		return id
	}
	id := uint32(100 + len(f.byText))
	f.byText[text], f.byID[id] = id, text
	return id
}

func (f *fakeConfluent) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if f.down.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if u, p, ok := r.BasicAuth(); !ok || u != "user" || p != "pass" {
		writeJSON(w, http.StatusUnauthorized, errorJSON{40101, "Unauthorized"})
		return
	}
	switch {
	case r.Method == "POST" && strings.HasPrefix(r.URL.Path, "/base/subjects/") && strings.HasSuffix(r.URL.Path, "/versions"):
		var body struct{ Schema string }
		if json.NewDecoder(r.Body).Decode(&body) != nil || body.Schema == "" {
			writeJSON(w, 422, errorJSON{42201, "Invalid schema"})
			return
		}
		writeJSON(w, 200, map[string]uint32{"id": f.add(body.Schema)})
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/base/schemas/ids/"):
		var id uint32
		_, _ = fmt.Sscan(strings.TrimPrefix(r.URL.Path, "/base/schemas/ids/"), &id)
		f.mu.Lock()
		text, ok := f.byID[id]
		f.mu.Unlock()
		if !ok {
			writeJSON(w, 404, errorJSON{40403, "Schema not found"})
			return
		}
		writeJSON(w, 200, map[string]string{"schema": text})
	default:
		writeJSON(w, 404, errorJSON{404, "HTTP 404 Not Found"})
	}
}

// fakeClient is a Client (basic auth user:pass, under /base) of a fake
// Confluent registry served until the test ends.
func fakeClient(t *testing.T) (*fakeConfluent, *httptest.Server, *Client) {
	t.Helper()
	fake := newFakeConfluent()
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	c, err := NewClient(strings.Replace(srv.URL, "http://", "http://user:pass@", 1)+"/base", srv.Client())
	require.NoError(t, err)
	return fake, srv, c
}

func TestClient(t *testing.T) {
	fake, srv, c := fakeClient(t)
	ctx := context.Background()

	id, err := c.Register(ctx, "s-value", `"string"`)
	require.NoError(t, err)
	id2, err := c.Register(ctx, "s-value", `"string"`)
	require.NoError(t, err)
	assert.Equal(t, id, id2)
	assert.Equal(t, int64(1), fake.requests.Load(), "second register is cached")

	text, err := c.Schema(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, `"string"`, text)
	assert.Equal(t, int64(1), fake.requests.Load(), "schema known from register")

	other := fake.add(`"long"`)
	text, err = c.Schema(ctx, other)
	require.NoError(t, err)
	assert.Equal(t, `"long"`, text)
	_, err = c.Schema(ctx, other)
	require.NoError(t, err)
	assert.Equal(t, int64(2), fake.requests.Load())

	_, err = c.Schema(ctx, 5)
	assert.ErrorIs(t, err, ErrSchemaNotFound)
	var se *StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 404, se.Status)

	noAuth, err := NewClient(srv.URL+"/base", srv.Client())
	require.NoError(t, err)
	_, err = noAuth.Register(ctx, "s-value", `"int"`)
	require.ErrorAs(t, err, &se)
	assert.Equal(t, 401, se.Status)

	for _, bad := range []string{"", "ftp://x", "http://", "://"} {
		_, err := NewClient(bad, nil)
		assert.Error(t, err, bad)
	}
}

func TestClientBoundsResponses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"schema":"`))
		_, _ = w.Write([]byte(strings.Repeat("a", maxResponse)))
		_, _ = w.Write([]byte(`"}`))
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL, srv.Client())
	require.NoError(t, err)
	_, err = c.Schema(context.Background(), 1)
	assert.ErrorContains(t, err, "too large")
}

// TestClientReadsHandler checks the two halves agree: our client can read
// ids from our read-only handler.
func TestClientReadsHandler(t *testing.T) {
	s, err := NewStatic()
	require.NoError(t, err)
	srv := httptest.NewServer(NewHandler(s))
	defer srv.Close()
	c, err := NewClient(srv.URL, srv.Client())
	require.NoError(t, err)
	pins, err := pinned()
	require.NoError(t, err)
	for _, p := range pins {
		want, err := schemas.Source(p.file)
		require.NoError(t, err)
		got, err := c.Schema(context.Background(), p.id)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
}

func TestSerdeStatic(t *testing.T) {
	s, err := NewStatic()
	require.NoError(t, err)
	ctx := context.Background()
	sd, err := NewSerde(ctx, s)
	require.NoError(t, err)
	pc := schematest.ProcessedCrash(5, schematest.Small())
	b, err := sd.Marshal(pc)
	require.NoError(t, err)
	id, _, err := wire.Split(b)
	require.NoError(t, err)
	pcID, _ := latestProcessed(t)
	assert.Equal(t, pcID, id)
	assert.Equal(t, pcID, sd.ID(pc))

	var got schemas.ProcessedCrash
	require.NoError(t, sd.Unmarshal(ctx, b, &got))
	assert.Equal(t, pc, &got)

	tests := []struct {
		name string
		in   []byte
		into schemas.Record
	}{
		{"not framed", []byte("{}"), &schemas.ProcessedCrash{}},
		{"unknown id", wire.Append(nil, 999, []byte{0}), &schemas.ProcessedCrash{}},
		{"other record type", b, &schemas.CrashReceived{}},
		{"garbage payload", wire.Append(nil, 5, []byte{1, 2, 3}), &schemas.ProcessedCrash{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.ErrorIs(t, sd.Unmarshal(ctx, tt.in, tt.into), ErrMalformed)
		})
	}
}

// TestSerdeDecodesKeptRevision: a record written with the first revision
// of the processed-crash schema (id 3, as records already in Kafka are)
// decodes into today's struct through the static registry; fields added
// since keep their zero value.
func TestSerdeDecodesKeptRevision(t *testing.T) {
	s, err := NewStatic()
	require.NoError(t, err)
	ctx := context.Background()
	sd, err := NewSerde(ctx, s)
	require.NoError(t, err)
	r1, err := schemas.Source("history/processed_crash.v1.r1.avsc")
	require.NoError(t, err)
	oldCodec, err := schemas.NewCodec(r1, &schemas.ProcessedCrash{})
	require.NoError(t, err)
	pc := schematest.ProcessedCrash(4, schematest.Small())
	payload, err := oldCodec.Encode(nil, pc)
	require.NoError(t, err)
	var got schemas.ProcessedCrash
	require.NoError(t, sd.Unmarshal(ctx, wire.Append(nil, 3, payload), &got))
	assert.Equal(t, pc, &got)

	// The current codec cannot read r1 bytes as its own: the id matters.
	assert.Error(t, got.Decode(payload))
}

// TestSerdeOlderRevision decodes a record written with an older revision of
// the processed-crash schema (fewer fields, an int where a long is now).
func TestSerdeOlderRevision(t *testing.T) {
	fake, _, c := fakeClient(t)
	ctx := context.Background()
	sd, err := NewSerde(ctx, c)
	require.NoError(t, err)

	old := `{"type":"record","name":"ProcessedCrash","namespace":"org.crashstream.v0","fields":[
		{"name":"crash_id","type":"string"},
		{"name":"date_processed","type":{"type":"long","logicalType":"timestamp-micros"}},
		{"name":"uptime","type":["null","int"]},
		{"name":"dropped_later","type":"string"}]}`
	oldID := fake.add(old)
	// Bytes written with the old schema, by hand: crash_id "x", date 0,
	// uptime union branch 1 = int 42, dropped_later "z".
	raw := []byte{0x02, 'x', 0x00, 0x02, 84, 0x02, 'z'}
	var got schemas.ProcessedCrash
	require.NoError(t, sd.Unmarshal(ctx, wire.Append(nil, oldID, raw), &got))
	assert.Equal(t, "x", got.CrashID)
	assert.Equal(t, time.UnixMicro(0).UTC(), got.DateProcessed)
	require.NotNil(t, got.Uptime)
	assert.Equal(t, int64(42), *got.Uptime)
	assert.Empty(t, got.Product)

	// A registry outage is not a malformed record: it is worth a retry.
	fake.down.Store(true)
	err = sd.Unmarshal(ctx, wire.Append(nil, 4242, raw), &got)
	require.Error(t, err)
	assert.False(t, errors.Is(err, ErrMalformed), "%v", err)
}

func TestConfig(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{nil, ""},
		{[]string{"-schema-registry.url", "http://127.0.0.1:8081"}, ""},
		{[]string{"-schema-registry.url", "127.0.0.1:8081"}, "schema-registry.url"},
		{[]string{"-schema-registry.timeout", "0s"}, "schema-registry.timeout"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var c Config
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			c.RegisterFlags(fs)
			require.NoError(t, fs.Parse(tt.args))
			err := c.Validate()
			if tt.wantErr != "" {
				assert.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			r, err := New(c)
			require.NoError(t, err)
			if c.URL == "" {
				assert.IsType(t, &Static{}, r)
			} else {
				assert.IsType(t, &Client{}, r)
			}
		})
	}
}

// FuzzHandler sends arbitrary paths to the read-only API: every answer must
// be a well-formed Confluent response, never a server error.
func FuzzHandler(f *testing.F) {
	s, err := NewStatic()
	require.NoError(f, err)
	h := NewHandler(s)
	for _, p := range []string{"/schemas/ids/3", "/subjects", "/subjects/crash.processed.v1-value/versions/latest",
		"/subjects/%2e%2e/versions/1", "/schemas/ids/99999999999", "/subjects/x/versions/-2"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, path string) {
		req, err := http.NewRequest(http.MethodGet, "http://registry"+path, nil)
		if err != nil || !strings.HasPrefix(req.URL.Path, "/") {
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Less(t, rec.Code, 500, "%s -> %d %s", path, rec.Code, rec.Body.String())
		if rec.Code >= 400 && rec.Code != http.StatusMethodNotAllowed && rec.Header().Get("Content-Type") == contentType {
			var e errorJSON
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e))
			assert.NotZero(t, e.ErrorCode)
		}
	})
}
