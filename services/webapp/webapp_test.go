package webapp

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"iter"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/schemas/registry"
	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/services/lib/signature"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/clickhouse/supersearch"
	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/streams"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	goleak.VerifyTestMain(m)
}

// memBucket is an in-memory Bucket. Like MinIO without compat mode (and S3
// with SSE-KMS), every write gets a new ETag that is no hash of the bytes:
// code that took the ETag for content identity fails here as it would there.
type memBucket struct {
	mu     sync.Mutex
	m      map[string][]byte
	meta   map[string]memMeta
	writes int
}

// memMeta is what the store keeps beside an object's bytes.
type memMeta struct{ etag, sha256 string }

func newMemBucket() *memBucket { return &memBucket{m: map[string][]byte{}, meta: map[string]memMeta{}} }

func (b *memBucket) GetBytes(_ context.Context, key string, max int64) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[key]
	if !ok {
		return nil, fmt.Errorf("get %s: %w", key, objectstore.ErrNotFound)
	}
	if int64(len(v)) > max {
		return nil, objectstore.ErrTooLarge
	}
	return append([]byte(nil), v...), nil
}

func (b *memBucket) Stat(_ context.Context, key string) (objectstore.ObjectInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[key]
	if !ok {
		return objectstore.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, objectstore.ErrNotFound)
	}
	return objectstore.ObjectInfo{Key: key, Size: int64(len(v)), ETag: b.meta[key].etag, SHA256: b.meta[key].sha256}, nil
}

func (b *memBucket) Get(ctx context.Context, key string) (io.ReadCloser, objectstore.ObjectInfo, error) {
	v, err := b.GetBytes(ctx, key, 1<<40)
	if err != nil {
		return nil, objectstore.ObjectInfo{}, err
	}
	return io.NopCloser(bytes.NewReader(v)), objectstore.ObjectInfo{Key: key, Size: int64(len(v))}, nil
}

func (b *memBucket) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	return b.PutWithSHA256(ctx, key, r, size, contentType, "")
}

func (b *memBucket) PutWithSHA256(_ context.Context, key string, r io.Reader, size int64, _, sum string) error {
	v, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if int64(len(v)) != size {
		return fmt.Errorf("put %s: %d bytes, declared %d", key, len(v), size)
	}
	b.store(key, v, sum)
	return nil
}

func (b *memBucket) PutBytes(_ context.Context, key string, data []byte, _ string) error {
	b.store(key, append([]byte(nil), data...), "")
	return nil
}

func (b *memBucket) store(key string, v []byte, sum string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes++
	b.m[key] = v
	b.meta[key] = memMeta{etag: fmt.Sprintf("%032x", b.writes), sha256: sum}
}

func (b *memBucket) Exists(_ context.Context, key string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.m[key]
	return ok, nil
}

func (b *memBucket) List(_ context.Context, prefix string) iter.Seq2[objectstore.ObjectInfo, error] {
	b.mu.Lock()
	var infos []objectstore.ObjectInfo
	for k, v := range b.m {
		if strings.HasPrefix(k, prefix) {
			infos = append(infos, objectstore.ObjectInfo{Key: k, Size: int64(len(v)), ETag: b.meta[k].etag,
				LastModified: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)})
		}
	}
	b.mu.Unlock()
	sort.Slice(infos, func(i, j int) bool { return infos[i].Key < infos[j].Key })
	return func(yield func(objectstore.ObjectInfo, error) bool) {
		for _, i := range infos {
			if !yield(i, nil) {
				return
			}
		}
	}
}

func (b *memBucket) keys() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Sorted(maps.Keys(b.m))
}

// fakeReader records the queries it gets and answers with canned results.
type fakeReader struct {
	mu      sync.Mutex
	queries []*supersearch.Query
	result  *clickhouse.SearchResult
	fail    error // every query fails with it when set
}

func (r *fakeReader) SuperSearch(_ context.Context, q *supersearch.Query) (*clickhouse.SearchResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.queries = append(r.queries, q)
	if r.fail != nil {
		return nil, r.fail
	}
	if r.result != nil {
		if q.Offset > 0 {
			return &clickhouse.SearchResult{}, nil
		}
		return r.result, nil
	}
	return &clickhouse.SearchResult{Facets: map[string][]clickhouse.Bucket{}}, nil
}

func (r *fakeReader) TopCrashers(_ context.Context, p clickhouse.TopCrashersParams) (*clickhouse.TopCrashersResult, error) {
	if r.fail != nil {
		return nil, r.fail
	}
	return &clickhouse.TopCrashersResult{Total: 3, Crashers: []clickhouse.TopCrasher{{Rank: 1, Signature: "a", Count: 3, Percent: 1, New: true}}}, nil
}

func (r *fakeReader) SignatureFirstDate(_ context.Context, sigs []string) ([]clickhouse.SignatureFirst, error) {
	return []clickhouse.SignatureFirst{{Signature: sigs[0], FirstDate: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)}}, nil
}

func (r *fakeReader) VersionStrings(_ context.Context, product, channel string, build int64) ([]string, error) {
	if product == "Firefox" && build == 20261101000000 {
		if channel == "beta" {
			return []string{"130.0b3", "130.0rc1"}, nil
		}
		return []string{"130.0"}, nil
	}
	if product == "Firefox" && build == 20261102000000 {
		return []string{"130.0", "130.0rc2"}, nil
	}
	return nil, nil
}

func (r *fakeReader) DailyVolume(context.Context, string, string, time.Time, time.Time) ([]clickhouse.Bucket, error) {
	return nil, r.fail
}

func (r *fakeReader) CrashByID(context.Context, string) (map[string]any, error) {
	return nil, clickhouse.ErrNotFound
}

type sent struct{ topic, key string }

type fakePublisher struct {
	mu   sync.Mutex
	sent []sent
}

func (p *fakePublisher) Send(_ context.Context, topic string, key, _ []byte, _ ...streams.Header) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = append(p.sent, sent{topic, string(key)})
	return nil
}

func (p *fakePublisher) all() []sent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]sent(nil), p.sent...)
}

type fixture struct {
	srv     *Server
	reader  *fakeReader
	crashes *memBucket
	symbols *memBucket
	pub     *fakePublisher
	tokens  *auth.Store
	keys    map[string]string // name -> raw key
	now     time.Time
	logs    *syncBuffer // the server's log
}

// badRequests checks that each GET target answers 400 with its message.
func (f *fixture) badRequests(t *testing.T, want map[string]string) {
	t.Helper()
	for target, msg := range want {
		rec := f.do(http.MethodGet, target, "", nil)
		assert.Equal(t, http.StatusBadRequest, rec.Code, target)
		assert.Contains(t, rec.Body.String(), msg, target)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const crashID = "de1bb258-cbbf-4589-a673-34f800160918"

func newFixture(t testing.TB, mod func(*Config)) *fixture {
	return newFixtureWithPages(t, mod, nil)
}

func newFixtureWithPages(t testing.TB, mod func(*Config), pages NewPages) *fixture {
	t.Helper()
	static, err := registry.NewStatic()
	require.NoError(t, err)
	serde, err := registry.NewSerde(context.Background(), static)
	require.NoError(t, err)
	f := &fixture{reader: &fakeReader{}, crashes: newMemBucket(), symbols: newMemBucket(), pub: &fakePublisher{},
		tokens: auth.NewStore(&auth.MemBlobs{}), keys: map[string]string{}, now: time.Now(), logs: &syncBuffer{}}
	ctx := context.Background()
	for name, perms := range map[string][]string{
		"plain": nil, "pii": {auth.ViewPII}, "all": auth.AllPermissions(), "expired": {auth.ViewPII}, "revoked": {auth.ViewPII},
	} {
		ttl := time.Hour
		if name == "expired" {
			ttl = time.Nanosecond
		}
		key, tok, err := f.tokens.Create(ctx, name, perms, ttl)
		require.NoError(t, err)
		if name == "revoked" {
			require.NoError(t, f.tokens.Revoke(ctx, tok.Hash))
		}
		f.keys[name] = key
	}
	cfg := DefaultConfig()
	cfg.SecretKey = strings.Repeat("k", 32)
	cfg.UploadDir = t.TempDir()
	if mod != nil {
		mod(&cfg)
	}
	f.srv, err = New(cfg, Deps{
		Reader: f.reader, Crashes: f.crashes, Symbols: f.symbols, Tokens: f.tokens, Publisher: f.pub, Serde: serde,
		Topics: streams.NewTopics("t."), Fields: fields.New(), Schemas: static, Registry: prometheus.NewRegistry(),
		Logger: zerolog.New(f.logs), Now: func() time.Time { return f.now },
	}, pages)
	require.NoError(t, err)
	return f
}

// do runs one request; token is a fixture token name ("" anonymous).
func (f *fixture) do(method, target, token string, body io.Reader, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, body)
	req.RemoteAddr = "192.0.2.1:1234"
	if token != "" {
		req.Header.Set("Auth-Token", f.keys[token])
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	return rec
}

func TestTokens(t *testing.T) {
	f := newFixture(t, nil)
	tests := []struct {
		token string
		code  int
	}{
		{"", 200}, {"plain", 200}, {"pii", 200}, {"expired", 403}, {"revoked", 403},
	}
	for _, tt := range tests {
		t.Run(tt.token, func(t *testing.T) {
			rec := f.do("GET", "/api/SuperSearchFields/", tt.token, nil)
			require.Equal(t, tt.code, rec.Code, rec.Body.String())
			if tt.code == 403 {
				assert.Contains(t, rec.Body.String(), `"error"`)
			}
		})
	}
	rec := f.do("GET", "/api/SuperSearchFields/", "", nil, "Auth-Token", "nonsense")
	assert.Equal(t, 403, rec.Code)
}

func TestSuperSearchFieldsRedacted(t *testing.T) {
	f := newFixture(t, nil)
	var anon, pii map[string]any
	require.NoError(t, json.Unmarshal(f.do("GET", "/api/SuperSearchFields/", "plain", nil).Body.Bytes(), &anon))
	require.NoError(t, json.Unmarshal(f.do("GET", "/api/SuperSearchFields/", "pii", nil).Body.Bytes(), &pii))
	assert.Contains(t, anon, "signature")
	for _, alias := range []string{"date", "build_id", "platform", "platform_version", "platform_pretty_version"} {
		require.Contains(t, anon, alias, "Socorro's field names are listed")
		assert.Equal(t, alias, anon[alias].(map[string]any)["name"])
	}
	assert.NotContains(t, anon, "url")
	assert.Contains(t, pii, "url")
}

// A protected field named in SuperSearch is left out of the search and
// reported in errors (Socorro's SuperSearch drops it too), for every
// caller: view_pii callers get it on SuperSearchUnredacted.
func TestSuperSearchProtected(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.SearchPerMinAnon = 1000 })
	for _, q := range []string{"url=x", "_facets=url", "_sort=-url", "_columns=url", "_aggs.signature=url", "_aggs.url=signature",
		"_histogram.phc_usable_size=signature", "_histogram.date=url", "_cardinality.url=", "url=__null__", "_facets=_cardinality.url"} {
		for _, tok := range []string{"", "plain", "pii"} {
			n := len(f.reader.queries)
			rec := f.do("GET", "/api/SuperSearch/?"+q, tok, nil)
			require.Equal(t, 200, rec.Code, "%s as %q: %s", q, tok, rec.Body.String())
			var out SearchResponse
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
			require.NotEmpty(t, out.Errors, "%s as %q", q, tok)
			assert.Equal(t, "protected_field_dropped", out.Errors[0].Type)
			assert.Contains(t, []string{"url", "phc_usable_size"}, out.Errors[0].Field)
			if tok == "pii" {
				assert.Contains(t, out.Errors[0].Message, "SuperSearchUnredacted")
			}
			require.Len(t, f.reader.queries, n+1)
			for _, name := range queryFields(f.reader.queries[n]) {
				assert.NotContains(t, []string{"url", "phc_usable_size"}, name, "%s reached the backend", q)
			}
		}
		assert.Equal(t, 403, f.do("GET", "/api/SuperSearchUnredacted/?"+q, "plain", nil).Code)
		rec := f.do("GET", "/api/SuperSearchUnredacted/?"+q, "pii", nil)
		assert.Equal(t, 200, rec.Code, q)
		assert.NotContains(t, rec.Body.String(), "protected_field_dropped")
	}
	assert.Equal(t, 400, f.do("GET", "/api/SuperSearch/?_columns=nope", "", nil).Code, "an unknown field is still an error")
}

func TestSearchJSONShape(t *testing.T) {
	f := newFixture(t, nil)
	f.reader.result = &clickhouse.SearchResult{Total: 2,
		Hits:                 []map[string]any{{"signature": "s", "url": "secret"}},
		Facets:               map[string][]clickhouse.Bucket{"signature": {{Term: "s", Count: 2}}, "url": {{Term: "secret", Count: 2}}},
		Aggs:                 map[string][]clickhouse.Bucket{"signature.product": {{Group: "s", Term: "Firefox", Count: 2}}},
		Histograms:           map[string][]clickhouse.Bucket{"date": {{Group: "2024-01-01", Count: 2}}, "date.product": {{Group: "2024-01-01", Term: "Firefox", Count: 2}}},
		Cardinality:          map[string]uint64{"install_time": 1, "url": 1},
		AggCardinality:       map[string][]clickhouse.Bucket{"signature.build_id": {{Group: "s", Count: 3}}},
		HistogramCardinality: map[string][]clickhouse.Bucket{"date.platform": {{Group: "2024-01-01", Count: 4}}},
	}
	rec := f.do("GET", "/api/SuperSearch/?_aggs.signature=product&_aggs.signature=_cardinality.build_id&_histogram.date=product&_histogram.date=_cardinality.platform", "", nil)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	body := rec.Body.String()
	assert.NotContains(t, body, "secret", "defence in depth: protected values dropped from the answer")
	assert.NotContains(t, body, `"url"`)
	var out struct {
		Total  int64
		Facets struct {
			Signature []FacetBucket          `json:"signature"`
			Hist      []FacetBucket          `json:"histogram_date"`
			Card      struct{ Value uint64 } `json:"cardinality_install_time"`
		}
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
	assert.Equal(t, int64(2), out.Total)
	require.Len(t, out.Facets.Signature, 1)
	assert.Equal(t, []any{map[string]any{"term": "Firefox", "count": 2.0}}, out.Facets.Signature[0].Facets["product"])
	assert.Equal(t, map[string]any{"value": 3.0}, out.Facets.Signature[0].Facets["cardinality_build_id"])
	require.Len(t, out.Facets.Hist, 1)
	assert.Equal(t, "2024-01-01T00:00:00+00:00", out.Facets.Hist[0].Term, "Socorro's date histogram key")
	assert.Equal(t, int64(2), out.Facets.Hist[0].Count)
	assert.Equal(t, map[string]any{"value": 4.0}, out.Facets.Hist[0].Facets["cardinality_platform"])
	assert.Equal(t, []any{map[string]any{"term": "Firefox", "count": 2.0}}, out.Facets.Hist[0].Facets["product"])
	assert.Equal(t, uint64(1), out.Facets.Card.Value)
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t, nil)
	for i := 0; i < 10; i++ {
		require.Equal(t, 200, f.do("GET", "/api/SuperSearch/", "", nil).Code, "request %d", i+1)
	}
	rec := f.do("GET", "/api/SuperSearch/", "", nil)
	require.Equal(t, 429, rec.Code)
	assert.Equal(t, "6", rec.Header().Get("Retry-After"), "one request per 6 s refills")
	// a token has its own, larger allowance
	for i := 0; i < 100; i++ {
		require.Equal(t, 200, f.do("GET", "/api/SuperSearch/", "plain", nil).Code, "token request %d", i+1)
	}
	assert.Equal(t, 429, f.do("GET", "/api/SuperSearch/", "plain", nil).Code)
	// other API calls are a separate class
	assert.Equal(t, 200, f.do("GET", "/api/SuperSearchFields/", "", nil).Code)
	// time refills the bucket
	f.now = f.now.Add(6 * time.Second)
	assert.Equal(t, 200, f.do("GET", "/api/SuperSearch/", "", nil).Code)
	assert.Equal(t, 429, f.do("GET", "/api/SuperSearch/", "", nil).Code)
}

func putJSON(t *testing.T, b *memBucket, key string, v any) {
	data, err := json.Marshal(v)
	require.NoError(t, err)
	require.NoError(t, b.Put(context.Background(), key, bytes.NewReader(data), int64(len(data)), ""))
}

func TestCrashes(t *testing.T) {
	f := newFixture(t, nil)
	pkey, _ := objectstore.ProcessedCrashKey(crashID)
	putJSON(t, f.crashes, pkey, map[string]any{"crash_id": crashID, "signature": "s", "url": "https://secret", "user_comments": "secret", "not_a_field": "secret"})
	rkey, _ := objectstore.RawCrashKey(crashID)
	putJSON(t, f.crashes, rkey, map[string]any{"ProductName": "Firefox", "URL": "https://secret", "Comments": "secret", "MozCrashReason": "secret", "metadata": map[string]any{"x": "secret"}})
	dkey, _ := objectstore.DumpKey("upload_file_minidump", crashID)
	require.NoError(t, f.crashes.Put(context.Background(), dkey, strings.NewReader("MDMP"), 4, ""))

	for _, tok := range []string{"", "plain"} {
		rec := f.do("GET", "/api/ProcessedCrash/?crash_id="+crashID, tok, nil)
		require.Equal(t, 200, rec.Code)
		assert.NotContains(t, rec.Body.String(), "secret")
		assert.Contains(t, rec.Body.String(), `"signature":"s"`)
		rec = f.do("GET", "/api/RawCrash/?crash_id="+crashID, tok, nil)
		require.Equal(t, 200, rec.Code)
		assert.NotContains(t, rec.Body.String(), "secret")
		assert.Contains(t, rec.Body.String(), "Firefox")
		assert.Equal(t, 403, f.do("GET", "/api/RawCrash/?format=raw&crash_id="+crashID, tok, nil).Code)
	}
	rec := f.do("GET", "/api/ProcessedCrash/?crash_id=bp-"+crashID, "pii", nil)
	assert.Contains(t, rec.Body.String(), "https://secret")
	rec = f.do("GET", "/api/RawCrash/?format=raw&name=upload_file_minidump&crash_id="+crashID, "all", nil)
	require.Equal(t, 200, rec.Code)
	assert.Equal(t, "MDMP", rec.Body.String())
	assert.Equal(t, 404, f.do("GET", "/api/ProcessedCrash/?crash_id=ae1bb258-cbbf-4589-a673-34f800160918", "", nil).Code)
	assert.Equal(t, 400, f.do("GET", "/api/ProcessedCrash/?crash_id=../../x", "", nil).Code)
	assert.Equal(t, 400, f.do("GET", "/api/RawCrash/?format=raw&name=..%2Fx&crash_id="+crashID, "all", nil).Code)
}

func TestReprocessing(t *testing.T) {
	f := newFixture(t, nil)
	rkey, _ := objectstore.RawCrashKey(crashID)
	putJSON(t, f.crashes, rkey, map[string]any{"ProductName": "Firefox"})
	form := func(v url.Values) io.Reader { return strings.NewReader(v.Encode()) }
	ct := []string{"Content-Type", "application/x-www-form-urlencoded"}
	assert.Equal(t, 403, f.do("POST", "/api/Reprocessing/", "pii", form(url.Values{"crash_ids": {crashID}}), ct...).Code)
	assert.Equal(t, 403, f.do("POST", "/api/Reprocessing/", "", form(url.Values{"crash_ids": {crashID}}), ct...).Code, "anonymous: no CSRF, no permission")
	rec := f.do("POST", "/api/Reprocessing/", "all", form(url.Values{"crash_ids": {"ae1bb258-cbbf-4589-a673-34f800160918"}}), ct...)
	assert.Equal(t, 400, rec.Code)
	assert.Contains(t, rec.Body.String(), "no such crash")
	assert.Equal(t, 400, f.do("POST", "/api/Reprocessing/", "all", form(url.Values{"crash_ids": {crashID}, "ruleset": {"nope"}}), ct...).Code)
	assert.Empty(t, f.pub.all())
	rec = f.do("POST", "/api/Reprocessing/", "all", form(url.Values{"crash_ids": {crashID + ":regenerate_signature"}}), ct...)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), "regenerate_signature")
	assert.Equal(t, []sent{{"t.crash.reprocess.v1", crashID}}, f.pub.all())
}

func TestPriorityRequestOncePerMinute(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	require.NoError(t, f.srv.PriorityRequest(ctx, crashID))
	require.NoError(t, f.srv.PriorityRequest(ctx, crashID))
	assert.Len(t, f.pub.all(), 1)
	f.now = f.now.Add(61 * time.Second)
	require.NoError(t, f.srv.PriorityRequest(ctx, crashID))
	assert.Equal(t, []sent{{"t.crash.priority.v1", crashID}, {"t.crash.priority.v1", crashID}}, f.pub.all())
	assert.Error(t, f.srv.PriorityRequest(ctx, "nope"))
}

const testSym = "MODULE windows x86 5A9832E5287241C1838ED98914E9B7FF1 test_app.pdb\nFUNC 1000 10 0 main\n"

func zipOf(t *testing.T, files map[string]string) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for name, data := range files {
		fw, err := w.Create(name)
		require.NoError(t, err)
		_, _ = io.WriteString(fw, data)
	}
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func TestUploadSymbols(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Upload.MaxFileBytes = 1 << 16; c.Upload.MaxTotalBytes = 1 << 17 })
	good := zipOf(t, map[string]string{"test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym": testSym, "notes.txt": "x"})
	assert.Equal(t, 403, f.do("POST", "/api/upload-symbols", "pii", bytes.NewReader(good)).Code)
	for name, body := range map[string][]byte{
		"wrong module": zipOf(t, map[string]string{"other.pdb/5A9832E5287241C1838ED98914E9B7FF1/other.sym": testSym}),
		"zip slip":     zipOf(t, map[string]string{"../test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym": testSym}),
		"oversize":     zipOf(t, map[string]string{"test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym": testSym + strings.Repeat("x", 1<<16)}),
		"garbage":      []byte("hello"),
	} {
		rec := f.do("POST", "/api/upload-symbols", "all", bytes.NewReader(body))
		assert.Contains(t, []int{400, 413}, rec.Code, name)
		assert.Contains(t, rec.Body.String(), "nothing was stored", name)
	}
	assert.Empty(t, f.symbols.keys())
	assert.Empty(t, f.pub.all())

	rec := f.do("POST", "/api/upload-symbols", "all", bytes.NewReader(good))
	require.Equal(t, 201, rec.Code, rec.Body.String())
	var res UploadResult
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res))
	assert.Equal(t, []StoredSymbol{{Key: "test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym", Size: int64(len(testSym))}}, res.Stored)
	assert.Equal(t, "notes.txt", res.Skipped[0].Path)
	assert.Empty(t, res.Jobs, "no job store in this fixture: reprocess jobs are off (tests/api covers them)")
	assert.Equal(t, []string{"test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym"}, f.symbols.keys())
	assert.Empty(t, f.pub.all(), "nothing is sent during the upload itself")
	assert.Equal(t, 503, f.do("GET", "/api/ReprocessJobs/", "all", nil).Code)
	assert.Equal(t, 403, f.do("GET", "/api/ReprocessJobs/", "pii", nil).Code)

	// The same bytes again, in the zip or as a single .sym in a multipart
	// file part, are recognised by their SHA-256 and not rewritten: the
	// object keeps its ETag (the store gives every write a new one).
	key := "test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym"
	stat := func() objectstore.ObjectInfo {
		info, err := f.symbols.Stat(context.Background(), key)
		require.NoError(t, err)
		return info
	}
	first := stat()
	assert.NotEmpty(t, first.SHA256)
	single := func(content string) StoredSymbol {
		var body bytes.Buffer
		mw := multipartWriter(&body)
		fw, err := mw.CreateFormFile("test_app.sym", "test_app.sym")
		require.NoError(t, err)
		_, _ = io.WriteString(fw, content)
		require.NoError(t, mw.Close())
		rec := f.do("POST", "/api/upload-symbols/", "all", &body, "Content-Type", mw.FormDataContentType())
		require.Equal(t, 201, rec.Code, rec.Body.String())
		var res UploadResult
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res))
		require.Len(t, res.Stored, 1)
		return res.Stored[0]
	}
	rec = f.do("POST", "/api/upload-symbols", "all", bytes.NewReader(good))
	require.Equal(t, 201, rec.Code, rec.Body.String())
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res))
	assert.True(t, res.Stored[0].Unchanged, "the same zip again")
	assert.True(t, single(testSym).Unchanged, "the same file as a single .sym")
	assert.Equal(t, first.ETag, stat().ETag, "not rewritten")

	// changed bytes are written: a new ETag and hash
	changed := testSym + "PUBLIC 2000 0 added_later\n"
	assert.False(t, single(changed).Unchanged)
	assert.NotEqual(t, first.ETag, stat().ETag)
	assert.NotEqual(t, first.SHA256, stat().SHA256)
}

func TestSessionsAndCSRF(t *testing.T) {
	f := newFixture(t, nil)
	// the sign-in form sets an anonymous session and holds its CSRF token
	rec := f.do("GET", "/signin", "", nil)
	require.Equal(t, 200, rec.Code)
	ck := rec.Result().Cookies()
	require.Len(t, ck, 1)
	assert.True(t, ck[0].HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, ck[0].SameSite)
	csrf := between(rec.Body.String(), `name="csrf_token" value="`, `"`)
	require.NotEmpty(t, csrf)
	post := func(path string, v url.Values, cookie *http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != nil {
			req.AddCookie(cookie)
		}
		rec := httptest.NewRecorder()
		f.srv.Handler().ServeHTTP(rec, req)
		return rec
	}
	assert.Equal(t, 403, post("/signin", url.Values{"token": {f.keys["pii"]}}, ck[0]).Code, "no CSRF token")
	assert.Equal(t, 403, post("/signin", url.Values{"token": {f.keys["pii"]}, "csrf_token": {csrf}}, nil).Code, "no session")
	assert.Equal(t, 403, post("/signin", url.Values{"token": {f.keys["revoked"]}, "csrf_token": {csrf}}, ck[0]).Code, "revoked token")
	rec = post("/signin", url.Values{"token": {f.keys["pii"]}, "csrf_token": {csrf}, "next": {"//evil.example"}}, ck[0])
	require.Equal(t, 303, rec.Code)
	assert.Equal(t, "/", rec.Header().Get("Location"))
	signed := rec.Result().Cookies()[0]
	// the session is the token's caller: protected fields become visible
	req := httptest.NewRequest("GET", "/api/SuperSearchFields/", nil)
	req.AddCookie(signed)
	rec = httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	assert.Contains(t, rec.Body.String(), `"url"`)
	// a tampered cookie is anonymous
	bad := *signed
	bad.Value = strings.Replace(bad.Value, ".", ".x", 1)
	req = httptest.NewRequest("GET", "/api/SuperSearchFields/", nil)
	req.AddCookie(&bad)
	rec = httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	assert.NotContains(t, rec.Body.String(), `"url"`)
	// revoking the token ends the session's rights at once
	key := f.keys["pii"]
	require.NoError(t, f.tokens.Revoke(context.Background(), auth.HashKey(key)))
	req = httptest.NewRequest("GET", "/api/SuperSearchFields/", nil)
	req.AddCookie(signed)
	rec = httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	assert.NotContains(t, rec.Body.String(), `"url"`)
}

func between(s, a, b string) string {
	_, rest, ok := strings.Cut(s, a)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, b)
	return v
}

func TestOpenAPIAndSchemas(t *testing.T) {
	f := newFixture(t, nil)
	rec := f.do("GET", "/api/openapi.json", "", nil)
	require.Equal(t, 200, rec.Code)
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	assert.Equal(t, "3.0.3", doc.OpenAPI)
	for _, p := range []string{"/api/SuperSearch/", "/api/SuperSearchUnredacted/", "/api/SuperSearchFields/", "/api/ProcessedCrash/",
		"/api/RawCrash/", "/api/SignatureFirstDate/", "/api/TopCrashers/", "/api/Reprocessing/", "/api/upload-symbols"} {
		assert.Contains(t, doc.Paths, p)
	}
	rec = f.do("GET", "/subjects", "", nil)
	require.Equal(t, 200, rec.Code)
	assert.Contains(t, rec.Body.String(), "crash.processed.v1-value")
	assert.Equal(t, 200, f.do("GET", "/schemas/ids/1", "", nil).Code)
	assert.Equal(t, 200, f.do("GET", "/", "", nil).Code)
	assert.Equal(t, 200, f.do("GET", "/api/TopCrashers/?product=Firefox", "", nil).Code)
	assert.Equal(t, 400, f.do("GET", "/api/TopCrashers/?product=Firefox&days=5", "", nil).Code)
	assert.Equal(t, 200, f.do("GET", "/api/SignatureFirstDate/?signatures=a", "", nil).Code)
	assert.Equal(t, 400, f.do("GET", "/api/SignatureFirstDate/", "", nil).Code)
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	require.NoError(t, c.Validate())
	c.SecretKey = "short"
	c.SearchPerMinAnon = 0
	err := c.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-webapp.secret-key")
	assert.Contains(t, err.Error(), "-webapp.ratelimit.search-anonymous")

	c = DefaultConfig()
	c.SymbolURLs = []string{"https://symbols.example/", "ftp://symbols.example/"}
	c.ProbeMax = 0
	err = c.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `-webapp.symbols.url: "ftp://symbols.example/"`)
	assert.NotContains(t, err.Error(), `"https://symbols.example/"`)
	assert.Contains(t, err.Error(), "-webapp.symbols.probe-period / probe-recheck / probe-max")
}

// FuzzSuperSearchParams: whatever the query string, an anonymous Super
// Search answers 200 or 400 and never hands the backend a protected field.
func FuzzSuperSearchParams(f *testing.F) {
	for _, s := range []string{"url=x", "_facets=url", "_sort=-url,signature", "_aggs.signature.product=url", "_histogram.date=url&_histogram_interval.date=1d",
		"_cardinality.url", "signature=~a&signature=!b", "date=>=2024-01-01&date=<2024-02-01", "_columns=uuid,url", "%zz", "_results_number=1001"} {
		f.Add(s)
	}
	fx := newFixture(f, func(c *Config) { c.SearchPerMinAnon = 1_000_000 })
	reg := fields.New()
	f.Fuzz(func(t *testing.T, qs string) {
		if len(qs) > 4096 {
			return
		}
		// The fixture's clock stands still, so the search limiter's
		// buckets never refill: empty them, or the millionth search gets
		// 429 (it did, after 27 minutes of fuzzing).
		fx.srv.search.mu.Lock()
		clear(fx.srv.search.buckets)
		fx.srv.search.mu.Unlock()
		fx.reader.mu.Lock()
		fx.reader.queries = nil
		fx.reader.mu.Unlock()
		req := httptest.NewRequest("GET", "/api/SuperSearch/", nil)
		req.URL.RawQuery = qs
		rec := httptest.NewRecorder()
		fx.srv.Handler().ServeHTTP(rec, req)
		require.Contains(t, []int{200, 400}, rec.Code, rec.Body.String())
		fx.reader.mu.Lock()
		defer fx.reader.mu.Unlock()
		for _, q := range fx.reader.queries {
			for _, name := range queryFields(q) {
				fd, ok := reg.Lookup(name)
				require.True(t, ok && fd.IsPublic(), "protected field %s reached the backend for %q", name, qs)
			}
		}
	})
}

// queryFields lists every field a query uses, in any role.
func queryFields(q *supersearch.Query) []string {
	var out []string
	for _, x := range q.Filters {
		out = append(out, x.Field.Key())
	}
	for _, x := range q.Columns {
		out = append(out, x.Key())
	}
	for _, x := range q.Sort {
		out = append(out, x.Field.Key())
	}
	for _, x := range q.Facets {
		out = append(out, x.Key())
	}
	for _, a := range q.Aggs {
		for _, x := range a.By {
			out = append(out, x.Key())
		}
		out = append(out, a.Target.Key())
	}
	for _, h := range q.Histograms {
		out = append(out, h.Field.Key())
		for _, x := range append(append([]supersearch.Field{}, h.Terms...), h.Cardinality...) {
			out = append(out, x.Key())
		}
	}
	for _, x := range q.Cardinality {
		out = append(out, x.Key())
	}
	return out
}

// FuzzSessionCookie: no cookie value is accepted unless the server made it.
func FuzzSessionCookie(f *testing.F) {
	fx := newFixture(f, nil)
	good := fx.srv.encodeSession(session{sid: strings.Repeat("a", 32), tokenHash: "h", expires: fx.now.Add(time.Hour)})
	f.Add(good)
	f.Add("")
	f.Add("a.b")
	f.Fuzz(func(t *testing.T, v string) {
		// A cookie that verifies must be one the server signed: decoding
		// and re-encoding it gives the same cookie back (a forged or
		// altered one never verifies).
		ss, ok := fx.srv.decodeSession(v)
		if ok {
			require.Equal(t, v, fx.srv.encodeSession(ss), "a verified cookie round-trips")
		}
	})
}

// TestSessionCookieIsNotMalleable: only the exact text the server signed
// verifies. Go's base64 decoder skips CR and LF and, unless strict, ignores
// the unused bits of the last character, so without a canonical check a
// signed cookie had several spellings that all verified.
func TestSessionCookieIsNotMalleable(t *testing.T) {
	fx := newFixture(t, nil)
	good := fx.srv.encodeSession(session{sid: strings.Repeat("a", 32), tokenHash: "h", expires: fx.now.Add(time.Hour)})
	_, ok := fx.srv.decodeSession(good)
	require.True(t, ok, "the signed cookie verifies")
	enc, mac, _ := strings.Cut(good, ".")
	for name, v := range map[string]string{
		"newline inside":  enc[:5] + "\n" + enc[5:] + "." + mac,
		"carriage return": "\r" + good,
		"trailing bits":   enc[:len(enc)-1] + string(flipUnusedBits(enc[len(enc)-1], len(enc))) + "." + mac,
	} {
		if v == good {
			continue // the payload's length leaves no unused bits
		}
		_, ok := fx.srv.decodeSession(v)
		require.False(t, ok, "%s: %q verified", name, v)
	}
}

// flipUnusedBits returns the base64url character that decodes to the same
// bytes as c but differs in the bits past the payload's end (c itself when
// the encoding of n characters has no unused bits).
func flipUnusedBits(c byte, n int) byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	unused := map[int]int{2: 4, 3: 2}[n%4]
	if unused == 0 {
		return c
	}
	i := strings.IndexByte(alphabet, c)
	return alphabet[i^1]
}

func multipartWriter(w io.Writer) *multipart.Writer { return multipart.NewWriter(w) }

// FuzzParseTopCrashers: any query either validates to Socorro's choices
// or is refused; nothing panics.
func FuzzParseTopCrashers(f *testing.F) {
	for _, s := range []string{"product=Firefox", "product=Firefox&days=28&limit=300&version=1.0,2.0", "product=&days=5", "product=F&end_date=2024-02-30", "product=F&limit=x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, qs string) {
		q, err := url.ParseQuery(qs)
		if err != nil {
			return
		}
		p, err := ParseTopCrashers(q)
		if err != nil {
			return
		}
		require.Contains(t, []int{1, 3, 7, 14, 28}, p.Days)
		require.Contains(t, []int{50, 100, 200, 300}, p.Limit)
		require.NotEmpty(t, p.Product)
		require.LessOrEqual(t, len(p.Versions), 100)
	})
}

// FuzzReprocessing: any form body gets 200, 400 or 403 and publishes only
// valid crash ids of stored crashes with known rulesets.
func FuzzReprocessing(f *testing.F) {
	f.Add("crash_ids=" + crashID)
	f.Add("crash_ids=" + crashID + ":regenerate_signature&ruleset=default")
	f.Add("crash_ids=bp-" + crashID + ",x&crash_ids[]=")
	f.Add("ruleset=%zz")
	fx := newFixture(f, func(c *Config) { c.APIPerMinAuth = 1_000_000 })
	rkey, _ := objectstore.RawCrashKey(crashID)
	require.NoError(f, fx.crashes.Put(context.Background(), rkey, strings.NewReader("{}"), 2, ""))
	f.Fuzz(func(t *testing.T, body string) {
		before := len(fx.pub.all())
		rec := fx.do("POST", "/api/Reprocessing/", "all", strings.NewReader(body), "Content-Type", "application/x-www-form-urlencoded")
		require.Contains(t, []int{200, 400}, rec.Code, rec.Body.String())
		for _, s := range fx.pub.all()[before:] {
			require.Equal(t, crashID, s.key)
		}
		if rec.Code != 200 {
			require.Len(t, fx.pub.all(), before)
		}
	})
}

func TestSessionCookieSecure(t *testing.T) {
	for _, tt := range []struct {
		name   string
		public string
		tls    bool
		secure bool
	}{
		{"plain http", "", false, false},
		{"tls", "", true, true},
		{"https public url behind a proxy", "https://crash-stats.example", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.PublicURL = tt.public })
			req := httptest.NewRequest("GET", "/signin", nil)
			if tt.tls {
				req.TLS = &tls.ConnectionState{}
			}
			rec := httptest.NewRecorder()
			f.srv.Handler().ServeHTTP(rec, req)
			ck := rec.Result().Cookies()
			require.Len(t, ck, 1)
			assert.Equal(t, tt.secure, ck[0].Secure)
			assert.True(t, ck[0].HttpOnly)
		})
	}
}

func TestSignOut(t *testing.T) {
	f := newFixture(t, nil)
	sid := strings.Repeat("b", 32)
	signed := &http.Cookie{Name: sessionCookie, Value: f.srv.encodeSession(session{sid: sid, tokenHash: auth.HashKey(f.keys["pii"]), expires: f.now.Add(time.Hour)})}
	req := httptest.NewRequest("POST", "/signout", strings.NewReader(url.Values{"csrf_token": {f.srv.csrfFor(sid)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(signed)
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	require.Equal(t, 303, rec.Code)
	out := rec.Result().Cookies()[0]
	req = httptest.NewRequest("GET", "/api/SuperSearchFields/", nil)
	req.AddCookie(out)
	rec = httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	assert.NotContains(t, rec.Body.String(), `"url"`, "signed out: anonymous")
}

func TestTokenAdminAPI(t *testing.T) {
	f := newFixture(t, nil)
	ct := []string{"Content-Type", "application/x-www-form-urlencoded"}
	form := func(v url.Values) io.Reader { return strings.NewReader(v.Encode()) }
	assert.Equal(t, 403, f.do("GET", "/api/tokens", "pii", nil).Code, "needs manage_tokens")
	assert.Equal(t, 403, f.do("GET", "/api/tokens", "", nil).Code)
	rec := f.do("GET", "/api/tokens", "all", nil)
	require.Equal(t, 200, rec.Code)
	assert.NotContains(t, rec.Body.String(), f.keys["pii"], "keys are never listed")
	assert.Contains(t, rec.Body.String(), `"state":"revoked"`)

	// a manager without view_pii cannot hand it out
	mkey, _, err := f.tokens.Create(context.Background(), "manager", []string{auth.ManageTokens, auth.UploadSymbols}, time.Hour)
	require.NoError(t, err)
	f.keys["manager"] = mkey
	assert.Equal(t, 403, f.do("POST", "/api/tokens", "manager", form(url.Values{"name": {"x"}, "permissions": {"view_pii"}}), ct...).Code)
	assert.Equal(t, 400, f.do("POST", "/api/tokens", "manager", form(url.Values{"name": {"x"}, "permissions": {"bogus"}}), ct...).Code)
	assert.Equal(t, 400, f.do("POST", "/api/tokens", "manager", form(url.Values{"name": {"x"}, "expires_days": {"999"}}), ct...).Code)
	rec = f.do("POST", "/api/tokens", "manager", form(url.Values{"name": {"ci"}, "permissions": {"upload_symbols"}, "expires_days": {"7"}}), ct...)
	require.Equal(t, 201, rec.Code, rec.Body.String())
	var created struct {
		Key   string
		Token tokenJSON
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &created))
	assert.Equal(t, []string{auth.UploadSymbols}, created.Token.Permissions)
	f.keys["ci"] = created.Key
	assert.Equal(t, 200, f.do("GET", "/api/SuperSearchFields/", "ci", nil).Code)
	rec = f.do("POST", "/api/tokens/revoke", "manager", form(url.Values{"id": {created.Token.ID}}), ct...)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	assert.Equal(t, 403, f.do("GET", "/api/SuperSearchFields/", "ci", nil).Code, "revoked at once")
	assert.Equal(t, 404, f.do("POST", "/api/tokens/revoke", "manager", form(url.Values{"id": {"nosuchtoken"}}), ct...).Code)
}

// TestServerErrorsLogged: a 5xx API answer logs exactly one line with the
// route, the request id it answered with and the underlying error; an
// answer below 500 logs nothing; a well-formed X-Request-Id is kept.
func TestServerErrorsLogged(t *testing.T) {
	f := newFixture(t, nil)
	f.reader.fail = errors.New("code: 1001, uniq(install_time) converting NULL")
	rec := f.do("GET", "/api/TopCrashers/?product=Firefox", "", nil)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	id := rec.Header().Get(RequestIDHeader)
	require.Regexp(t, `^[0-9a-f]{16}$`, id)
	lines := strings.Split(strings.TrimSpace(f.logs.String()), "\n")
	require.Len(t, lines, 1, f.logs.String())
	var line map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &line))
	assert.Equal(t, "/api/TopCrashers/", line["route"])
	assert.Equal(t, id, line["request_id"])
	assert.Equal(t, float64(503), line["status"])
	assert.Contains(t, line["error"], "converting NULL")

	rec = f.do("GET", "/api/SuperSearch/?_cardinality.install_time=", "", nil, RequestIDHeader, "trace-0123456789")
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "trace-0123456789", rec.Header().Get(RequestIDHeader))
	assert.Contains(t, f.logs.String(), `"request_id":"trace-0123456789"`)

	before := f.logs.String()
	f.reader.fail = nil
	assert.Equal(t, http.StatusOK, f.do("GET", "/api/TopCrashers/?product=Firefox", "", nil).Code)
	assert.Equal(t, http.StatusBadRequest, f.do("GET", "/api/TopCrashers/?product=Firefox&days=5", "", nil).Code)
	rec = f.do("GET", "/api/TopCrashers/?product=Firefox", "", nil, RequestIDHeader, "bad id\nforged")
	assert.NotContains(t, rec.Header().Get(RequestIDHeader), "forged")
	assert.Equal(t, before, f.logs.String(), "no line for answers below 500")
}

// onePage is a page set of one page behind the core's page limit.
type onePage struct{ s *Server }

func (p onePage) Register(r gin.IRouter) {
	r.GET("/page/", p.s.PageLimit(), func(c *gin.Context) { c.String(http.StatusOK, "page") })
}

// TestBrowsingNotThrottled: a person viewing 60 pages a minute for ten
// minutes (and a burst of 60 at once) never sees a 429, while the API keeps
// its limits; a scraper past the page limit gets a page saying when to
// retry.
func TestBrowsingNotThrottled(t *testing.T) {
	f := newFixtureWithPages(t, nil, func(s *Server) (PageSet, error) { return onePage{s}, nil })
	for i := range 60 {
		require.Equal(t, http.StatusOK, f.do("GET", "/page/", "", nil).Code, "burst view %d", i+1)
	}
	for i := range 600 { // ten minutes, one view a second
		f.now = f.now.Add(time.Second)
		require.Equal(t, http.StatusOK, f.do("GET", "/page/", "", nil).Code, "view %d", i+1)
	}
	// the API's anonymous Super Search limit is unchanged
	for range 10 {
		require.Equal(t, http.StatusOK, f.do("GET", "/api/SuperSearch/", "", nil).Code)
	}
	assert.Equal(t, http.StatusTooManyRequests, f.do("GET", "/api/SuperSearch/", "", nil).Code)

	// a scraper: 300 views at once spend the minute's allowance
	var rec *httptest.ResponseRecorder
	for range 400 {
		if rec = f.do("GET", "/page/", "", nil); rec.Code == http.StatusTooManyRequests {
			break
		}
	}
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	assert.Contains(t, rec.Header().Get("Content-Type"), "text/html")
	assert.Contains(t, rec.Body.String(), "Retry in 1 seconds (after ")
}

// TestBogusTokenCounts: requests with an unknown Auth-Token are answered
// 403 and spend the address's anonymous API allowance (100 a minute), then
// 429; the address's anonymous API calls share that allowance.
func TestBogusTokenCounts(t *testing.T) {
	// the stricter failed-auth limit (TestAuthFailuresLimited) is lifted
	// here so the API allowance is what refuses
	f := newFixture(t, func(c *Config) { c.AuthFailuresPerMin = 1000 })
	bogus := func() int {
		req := httptest.NewRequest("GET", "/api/SuperSearchFields/", nil)
		req.RemoteAddr = "192.0.2.1:1234"
		req.Header.Set("Auth-Token", "not-a-token")
		rec := httptest.NewRecorder()
		f.srv.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
	for i := range 100 {
		require.Equal(t, http.StatusForbidden, bogus(), "guess %d", i+1)
	}
	assert.Equal(t, http.StatusTooManyRequests, bogus())
	assert.Equal(t, http.StatusTooManyRequests, f.do("GET", "/api/SuperSearchFields/", "", nil).Code, "same address, same allowance")
	assert.Equal(t, http.StatusOK, f.do("GET", "/api/SuperSearchFields/", "plain", nil).Code, "a valid token has its own")
}

// The API page renders every operation of the OpenAPI document, with its
// parameters and permission, and the Super Search contract table.
func TestAPIDocsPage(t *testing.T) {
	f := newFixture(t, nil)
	rec := f.do("GET", "/api/", "", nil)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	body := rec.Body.String()
	paths, _ := f.srv.OpenAPI()["paths"].(map[string]any)
	require.NotEmpty(t, paths)
	for p := range paths {
		assert.Contains(t, body, "<code>"+template.HTMLEscapeString(p)+"</code>", p)
	}
	for _, want := range []string{"_facets_size", "_histogram_interval.&lt;field&gt;", auth.ViewPII, auth.ReprocessCrashes, auth.ViewRawDump, "deliberate difference", "histogram_", "build_id"} {
		assert.Contains(t, body, want)
	}
	for _, c := range supersearch.Contract() {
		assert.Contains(t, body, template.HTMLEscapeString(c.Param))
	}
}

func TestSmallModels(t *testing.T) {
	f := newFixture(t, nil)
	// NoOp
	rec := f.do("GET", "/api/NoOp/?product=Firefox", "", nil)
	require.Equal(t, 200, rec.Code)
	assert.JSONEq(t, `{"hits": [], "total": 0}`, rec.Body.String())
	for _, q := range []string{"", "?product=bad"} {
		rec = f.do("GET", "/api/NoOp/"+q, "", nil)
		assert.Equal(t, 400, rec.Code)
		assert.Contains(t, rec.Body.String(), "product")
	}
	// VersionString: Socorro's beta / rc rule
	for q, want := range map[string]string{
		"product=Firefox&channel=beta&build_id=20261101000000":    `{"hits": [{"version_string": "130.0b3"}], "total": 1}`,
		"product=Firefox&channel=Beta&build_id=20261102000000":    `{"hits": [{"version_string": "130.0rc2"}], "total": 1}`,
		"product=Firefox&channel=release&build_id=20261101000000": `{"hits": [{"version_string": "130.0"}], "total": 1}`,
		"product=Nope&channel=release&build_id=1":                 `{"hits": [], "total": 0}`,
	} {
		rec = f.do("GET", "/api/VersionString/?"+q, "", nil)
		require.Equal(t, 200, rec.Code, q)
		assert.JSONEq(t, want, rec.Body.String(), q)
	}
	for q, param := range map[string]string{"channel=beta&build_id=1": "product", "product=F&build_id=1": "channel",
		"product=F&channel=beta": "build_id", "product=F&channel=beta&build_id=x1": "build_id"} {
		rec = f.do("GET", "/api/VersionString/?"+q, "", nil)
		assert.Equal(t, 400, rec.Code, q)
		assert.Contains(t, rec.Body.String(), param, q)
	}
}

func TestCrashSignature(t *testing.T) {
	f := newFixture(t, nil)
	post := func(body string) *httptest.ResponseRecorder {
		return f.do("POST", "/api/CrashSignature/", "", strings.NewReader(body), "Content-Type", "application/json")
	}
	job := `{"os": "Windows NT", "crashing_thread": 0, "threads": [{"frames": [
		{"frame": 0, "function": "NtWaitForMultipleObjects", "module": "ntdll.dll"},
		{"frame": 1, "function": "mozilla::Foo::Bar(int)", "module": "xul.dll", "file": "hg:hg.mozilla.org/x:foo.cpp:abc", "line": 12}]}]}`
	rec := post(`{"jobs": [` + job + `, {"java_stack_trace": "java.lang.NullPointerException: oops\n\tat org.A.b(A.java:1)"}]}`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	var out struct {
		Results []struct {
			Signature string
			Notes     []string
			Extra     struct {
				ProtoSignature   string   `json:"proto_signature"`
				NormalizedFrames []string `json:"normalized_frames"`
			}
		}
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
	require.Len(t, out.Results, 2)
	lists, err := signature.DefaultLists()
	require.NoError(t, err)
	data, err := signature.ParseCrashData([]byte(job))
	require.NoError(t, err)
	want := signature.New(lists, signature.RulesetSocorro).Generate(data)
	assert.Equal(t, want.Signature, out.Results[0].Signature, "the processor's generator")
	assert.Equal(t, want.ProtoSignature, out.Results[0].Extra.ProtoSignature)
	assert.Contains(t, out.Results[0].Signature, "mozilla::Foo::Bar")
	assert.Contains(t, out.Results[1].Signature, "java.lang.NullPointerException")
	for body, msg := range map[string]string{`{"jobs": []}`: "no jobs specified", `{}`: "no jobs specified", `nope`: "jobs", `{"jobs": [1]}`: "jobs[0]"} {
		rec = post(body)
		assert.Equal(t, 400, rec.Code, body)
		assert.Contains(t, rec.Body.String(), msg, body)
	}
	assert.Equal(t, 413, post(`{"jobs": ["`+strings.Repeat("x", maxSignatureBody)+`"]}`).Code)
}

func TestMissingProcessedCrash(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	var ids []string
	for i := 0; i < 1001; i++ {
		id := fmt.Sprintf("%08x-0000-4000-8000-000000%06d", i, 261120)
		ids = append(ids, id)
		key, err := objectstore.MissingProcessedKey(id)
		require.NoError(t, err)
		require.NoError(t, f.crashes.Put(ctx, key, strings.NewReader("{}"), 2, "application/json"))
	}
	sort.Strings(ids)
	processed, _ := objectstore.ProcessedCrashKey(ids[1])
	require.NoError(t, f.crashes.Put(ctx, processed, strings.NewReader("{}"), 2, "application/json"))
	type page struct {
		Results []struct {
			CrashID     string `json:"crash_id"`
			IsProcessed bool   `json:"is_processed"`
			Created     string
		}
		Count          int
		Next, Previous *string
	}
	var p page
	rec := f.do("GET", "/api/MissingProcessedCrash/", "", nil)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
	assert.Equal(t, 1001, p.Count)
	require.Len(t, p.Results, 1000)
	assert.Equal(t, ids[0], p.Results[0].CrashID)
	assert.False(t, p.Results[0].IsProcessed)
	assert.True(t, p.Results[1].IsProcessed, "processed since")
	assert.Equal(t, "2026-11-20T00:00:00Z", p.Results[0].Created)
	require.NotNil(t, p.Next)
	assert.Contains(t, *p.Next, "/api/MissingProcessedCrash/?page=2")
	assert.Nil(t, p.Previous)
	rec = f.do("GET", "/api/MissingProcessedCrash/?page=2", "", nil)
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
	require.Len(t, p.Results, 1)
	assert.Equal(t, ids[1000], p.Results[0].CrashID)
	assert.Nil(t, p.Next)
	require.NotNil(t, p.Previous)
	for _, q := range []string{"0", "x", "-1", "1000000"} {
		rec = f.do("GET", "/api/MissingProcessedCrash/?page="+q, "", nil)
		assert.Equal(t, 400, rec.Code, q)
		assert.Contains(t, rec.Body.String(), "page", q)
	}
}

// Facet terms are typed as Socorro's, and a missing value is no term.
func TestSearchJSONTerms(t *testing.T) {
	f := newFixture(t, nil)
	f.reader.result = &clickhouse.SearchResult{Total: 5,
		Facets: map[string][]clickhouse.Bucket{
			"build_id":      {{Term: "20261101000000", Count: 3}, {Term: "", Count: 2}},
			"startup_crash": {{Term: "1", Count: 1}, {Term: "0", Count: 2}, {Term: "", Count: 2}},
			"product":       {{Term: "Firefox", Count: 3}, {Term: "", Count: 2}},
		},
		Aggs:          map[string][]clickhouse.Bucket{"product.uptime": {{Group: "Firefox", Term: "60", Count: 2}, {Group: "", Term: "5", Count: 2}}},
		Histograms:    map[string][]clickhouse.Bucket{"uptime": {{Group: "0", Count: 3}, {Group: "", Count: 2}}},
		AggHistograms: map[string][]clickhouse.Bucket{"product.date": {{Group: "Firefox", Term: "2026-11-20", Count: 3}}},
	}
	rec := f.do("GET", "/api/SuperSearch/?_facets=build_id&_facets=startup_crash&_aggs.product=uptime&_aggs.product=_histogram.date&_histogram.uptime=", "", nil)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	assert.JSONEq(t, `{
		"build_id": [{"term": 20261101000000, "count": 3}],
		"startup_crash": [{"term": "true", "count": 1}, {"term": "false", "count": 2}],
		"product": [{"term": "Firefox", "count": 3, "facets": {"uptime": [{"term": 60, "count": 2}],
			"histogram_date": [{"term": "2026-11-20T00:00:00+00:00", "count": 3}]}}],
		"histogram_uptime": [{"term": 0, "count": 3}]
	}`, string(mustJSON(t, rec.Body.Bytes(), "facets")))
}

func mustJSON(t *testing.T, body []byte, key string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &m))
	return m[key]
}
