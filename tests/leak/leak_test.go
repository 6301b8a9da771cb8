// Package leak is the leak test that cannot go stale: for every field the
// registry (schemas/fields) marks protected, nested json_dump keys
// included, a crash carries a unique marker in it through the real
// pipeline, and every anonymous route of the webapp, every Super Search
// column, facet, sort, aggregation, histogram and cardinality, the search
// and signature pages, and the telemetry topic and bucket are searched for
// the markers. Any hit fails. New fields join by being in the registry; new
// routes by being mounted (webapp.Server.Routes).
//
// Two crashes carry the markers: crash A is produced to crash.processed.v1
// with a marker in every protected field and nested key (and the leaky form
// of java_stack_trace, as a crash stored before its sanitiser would be), so
// the sinks and the webapp get every field; crash B is submitted to the
// collector with a marker in every annotation a protected field is copied
// from (and in an unknown annotation), so the processor's copies and the
// raw crash are covered too.
package leak

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/schemas/redact/redacttest"
	"github.com/crashstream/crashstream/schemas/registry"
	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/services/lib/repotest"
	"github.com/crashstream/crashstream/services/webapp"
	"github.com/crashstream/crashstream/services/webapp/pages"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/streams"
	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, stacktest.LeakOptions()...) }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// marker is one planted value and where it was planted.
type marker struct{ where, text string }

// env is one isolated install: its own topics, buckets and database.
type env struct{ *stacktest.Install }

func newEnv(t *testing.T) *env { return &env{stacktest.NewInstall(t, "leak")} }

func (e *env) start(t *testing.T, args []string, extra ...string) {
	stacktest.Start(t, e.Environ(extra...), args...)
}

// webapp runs the real webapp (API and pages) in the test process, so the
// test can list its routes.
func (e *env) webapp(t *testing.T) (*webapp.Server, string) {
	conn := e.Conn(t)
	reader, err := clickhouse.NewReader(conn, e.Database, clickhouse.DedupArgMax)
	require.NoError(t, err)
	producer, err := streams.NewProducer(e.Kafka, streams.Options{Logger: zerolog.Nop()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = producer.Close(context.Background()) })
	static, err := registry.NewStatic()
	require.NoError(t, err)
	cfg := webapp.DefaultConfig()
	cfg.SecretKey = "0123456789abcdef0123456789abcdef"
	cfg.SearchPerMinAnon, cfg.SearchPerMinAuth, cfg.APIPerMinAnon, cfg.APIPerMinAuth = 1e6, 1e6, 1e6, 1e6
	cfg.PagesPerMinAnon, cfg.PagesPerMinAuth = 1e6, 1e6
	gin.SetMode(gin.ReleaseMode)
	corr, err := clickhouse.NewCorrelator(conn, e.Database, fields.New(), clickhouse.DefaultCorrelationAnnotations)
	require.NoError(t, err)
	srv, err := webapp.New(cfg, webapp.Deps{
		Reader: reader, Crashes: e.Crashes, Symbols: e.Symbols, Tokens: auth.NewStore(auth.BucketBlobs(e.Crashes)),
		Publisher: producer, Serde: e.Serde, Topics: e.Kafka.Topics(), Fields: fields.New(), Schemas: static,
		Registry: prometheus.NewRegistry(), Logger: zerolog.Nop(), Correlations: corr,
	}, pages.FromServer)
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return srv, ts.URL
}

// plantA is crash A: every protected field and nested key of the
// registry holds a marker (redacttest.Plant).
func plantA(t *testing.T, now time.Time, tag string, num int64) (*schemas.ProcessedCrash, map[string]any, []marker) {
	id := stacktest.CrashID(now)
	line := int64(7)
	base := &schemas.ProcessedCrash{CrashID: id, UUID: id, DateProcessed: now, SubmittedTimestamp: now.Add(-time.Minute),
		Product: "LeakApp", Version: "1.0", ReleaseChannel: "release", Signature: "leak_signature", ProcessType: "parent",
		OSName: "Linux", ProtoSignature: "leak_signature | main",
		CrashingThreadFrames: []schemas.Frame{{Frame: 0, Module: "leak.so", Function: "leak_signature", Line: &line}},
		Modules:              []schemas.Module{{Filename: "leak.so", DebugID: "ABCDEF"}},
		JSONDump: `{"crash_info":{"address":"0x0","crashing_thread":0,"type":"SIGSEGV"},"status":"OK","thread_count":1,` +
			`"threads":[{"frame_count":1,"thread_name":"main","frames":[{"frame":0,"function":"leak_signature","module":"leak.so","trust":"context"}]}],` +
			`"modules":[{"filename":"leak.so","debug_id":"ABCDEF"}],"system_info":{"os":"Linux","cpu_arch":"amd64"}}`}
	pc, ms, err := redacttest.Plant(fields.New(), base, tag, num)
	require.NoError(t, err)
	raw := map[string]any{"ProductName": "LeakApp", "Version": "1.0", "uuid": id, "submitted_timestamp": now.Format(time.RFC3339)}
	var out []marker
	for _, m := range ms {
		out = append(out, marker{where: "crash A " + m.Path, text: m.Text})
	}
	// the raw crash of A holds the same secrets under their annotations
	reg := fields.New()
	for _, m := range ms {
		if f, ok := reg.Lookup(m.Path); ok && f.Annotation != "" {
			raw[f.Annotation] = m.Text
		}
	}
	return pc, raw, out
}

// annotationsB is crash B's submission: a marker in every annotation a
// protected field (or a sanitised one) is copied from, and in an annotation
// the registry does not know.
func annotationsB(tag string, num int64) (map[string]string, []marker) {
	reg := fields.New()
	ann := map[string]string{"ProductName": "LeakApp", "Version": "1.0", "ReleaseChannel": "release"}
	var out []marker
	n := 0
	for _, f := range reg.All() {
		if f.Annotation == "" || (f.IsPublic() && f.Sanitize == nil) {
			continue
		}
		if _, done := ann[f.Annotation]; done {
			continue
		}
		n++
		text := fmt.Sprintf("%s-b%d-leak", tag, n)
		switch {
		case f.Sanitize != nil:
			ann[f.Annotation] = redacttest.LeakySamples[f.Name](text)
		case f.Type == fields.Int || f.Type == fields.Float:
			text = fmt.Sprint(num + int64(n))
			ann[f.Annotation] = text
		default:
			ann[f.Annotation] = text
		}
		out = append(out, marker{where: "crash B annotation " + f.Annotation, text: text})
	}
	n++
	un := fmt.Sprintf("%s-b%d-leak", tag, n)
	ann["ZzLeakUnknownAnnotation"] = un
	out = append(out, marker{where: "crash B unknown annotation", text: un})
	return ann, out
}

func waitFor(t *testing.T, bound time.Duration, what string, ok func() bool) {
	deadline := time.Now().Add(bound)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", bound, what)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// scanner searches outputs for the markers.
type scanner struct {
	t       *testing.T
	markers []marker
	mu      sync.Mutex
	probes  int
	hits    int
}

func (s *scanner) scan(label string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.probes++
	for _, m := range s.markers {
		if bytes.Contains(body, []byte(m.text)) {
			s.hits++
			s.t.Errorf("LEAK: %s (%s) in %s", m.where, m.text, label)
		}
	}
}

func get(t *testing.T, u string) (int, []byte) {
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// variant is one Super Search parameter set; public ones name only public
// fields and must be answered (so the probe really ran).
type variant struct {
	params url.Values
	public bool
}

// searchVariants are the Super Search parameter sets that name fields:
// every field (public and protected) as column, facet, sort, aggregation
// (of, by and nested), histogram term and field, and cardinality. Public
// fields are grouped, 20 to a request (they are answered); protected ones
// go one by one (a protected name must not spoil the group's answer).
func searchVariants(base url.Values) []variant {
	reg := fields.New()
	var out []variant
	with := func(kv ...string) url.Values {
		v := url.Values{}
		for k, vs := range base {
			v[k] = append([]string(nil), vs...)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	// roles gives the parameters naming f in each role.
	roles := func(f fields.Field) [][]string {
		n := f.Name
		none := []string{}
		r := [][]string{{"_columns", n}, {"_facets", n}, {"_sort", "-" + n}, {"_aggs.signature", n},
			{"_aggs." + n, "signature"}, {"_aggs.signature.product", n}, {"_histogram.date", n}, {"_cardinality." + n, ""}, none}
		if f.Type == fields.List { // lists cannot be sorted on or grouped by
			r[2], r[4] = none, none
		}
		if f.Type == fields.Int || f.Type == fields.Float {
			r[8] = []string{"_histogram." + n, "signature", "_histogram_interval." + n, "1"}
		}
		return r
	}
	var public []fields.Field
	for _, f := range reg.All() {
		if !f.IsPublic() {
			for _, kv := range roles(f) {
				if len(kv) > 0 {
					out = append(out, variant{params: with(kv...)})
				}
			}
			continue
		}
		if f.Searchable {
			public = append(public, f)
		}
	}
	for i := 0; i < len(public); i += 20 {
		byRole := map[int]url.Values{}
		for _, f := range public[i:min(i+20, len(public))] {
			for j, kv := range roles(f) {
				if len(kv) == 0 {
					continue
				}
				if byRole[j] == nil {
					byRole[j] = with()
				}
				for k := 0; k+1 < len(kv); k += 2 {
					byRole[j].Add(kv[k], kv[k+1])
				}
			}
		}
		for j := 0; j < 9; j++ {
			if v, ok := byRole[j]; ok {
				out = append(out, variant{params: v, public: true})
			}
		}
	}
	return out
}

func TestNoProtectedDataLeaks(t *testing.T) {
	e := newEnv(t)
	collector := stacktest.FreePort(t)
	e.start(t, []string{"collector"}, "CRASHSTREAM_COLLECTOR_ADDR="+collector)
	e.start(t, []string{"processor"})
	e.start(t, []string{"sink-clickhouse"})
	e.start(t, []string{"sink-objectstore"})
	e.start(t, []string{"sink-telemetry"}, "CRASHSTREAM_SINK_TELEMETRY_WRITE_BUCKET=true")
	ctx := context.Background()

	var nb [8]byte
	_, _ = rand.Read(nb[:])
	tag := "lk" + randHex(4)
	numA := int64(7_100_000_000) + int64(binary.BigEndian.Uint32(nb[:4])%100_000_000)*10
	numB := numA + 5_000_000_000
	now := time.Now().UTC().Truncate(time.Second)

	pcA, rawA, markersA := plantA(t, now, tag, numA)
	b, err := json.Marshal(rawA)
	require.NoError(t, err)
	key, _ := objectstore.RawCrashKey(pcA.CrashID)
	require.NoError(t, e.Crashes.PutBytes(ctx, key, b, "application/json"))
	producer, err := streams.NewProducer(e.Kafka, streams.Options{Logger: zerolog.Nop()})
	require.NoError(t, err)
	v, err := e.Serde.Marshal(pcA)
	require.NoError(t, err)
	require.NoError(t, producer.Send(ctx, e.Kafka.Topics().Processed, []byte(pcA.CrashID), v))
	require.NoError(t, producer.Close(ctx))

	dump, err := os.ReadFile(filepath.Join(repotest.SharedTestdata(t), "breakpad", "linux_null_read_av.dmp"))
	require.NoError(t, err)
	annB, markersB := annotationsB(tag, numB)
	idB := stacktest.Submit(t, "http://"+collector, annB, dump)
	ids := []string{pcA.CrashID, idB}

	// every crash through every sink: processed object, ClickHouse row,
	// telemetry object
	waitFor(t, 3*time.Minute, "both crashes processed and stored", func() bool {
		for _, id := range ids {
			for _, k := range []func(string) (string, error){objectstore.ProcessedCrashKey} {
				key, _ := k(id)
				if ok, _ := e.Crashes.Exists(ctx, key); !ok {
					return false
				}
			}
			key, _ := objectstore.TelemetryKey(id)
			if ok, _ := e.Telemetry.Exists(ctx, key); !ok {
				return false
			}
		}
		return true
	})
	srv, base := e.webapp(t)
	var total struct{ Total int }
	waitFor(t, 2*time.Minute, "both crashes in ClickHouse", func() bool {
		_, b := get(t, base+"/api/SuperSearch/?product=LeakApp&_results_number=0")
		return json.Unmarshal(b, &total) == nil && total.Total == 2
	})

	// positive control: the stored processed crashes hold the markers, so
	// not finding them in an output means redaction, not absence
	for _, set := range []struct {
		id      string
		markers []marker
	}{{pcA.CrashID, markersA}, {idB, markersB}} {
		key, _ := objectstore.ProcessedCrashKey(set.id)
		stored, err := e.Crashes.GetBytes(ctx, key, 64<<20)
		require.NoError(t, err)
		rkey, _ := objectstore.RawCrashKey(set.id)
		raw, err := e.Crashes.GetBytes(ctx, rkey, 64<<20)
		require.NoError(t, err)
		for _, m := range set.markers {
			require.True(t, bytes.Contains(stored, []byte(m.text)) || bytes.Contains(raw, []byte(m.text)),
				"positive control: %s is stored", m.where)
		}
	}

	sc := &scanner{t: t, markers: append(append([]marker(nil), markersA...), markersB...)}
	// every GET route of the webapp, path parameters filled with each crash
	idQuery := func(id string) url.Values {
		return url.Values{"crash_id": {id}, "uuid": {id}, "signature": {"leak_signature"}, "product": {"LeakApp"}}
	}
	routes := 0
	searchRoutes := map[string]bool{}
	for _, r := range srv.Routes() {
		if r.Method != http.MethodGet || strings.Contains(r.Path, "*") {
			continue
		}
		routes++
		for _, id := range ids {
			p := r.Path
			for _, seg := range strings.Split(r.Path, "/") {
				if strings.HasPrefix(seg, ":") {
					val := id
					switch seg {
					case ":product":
						val = "LeakApp"
					case ":subject":
						val = "crash.processed.v1-value"
					case ":version", ":id":
						if !strings.Contains(r.Path, "report") {
							val = "1"
						}
					}
					p = strings.Replace(p, seg, url.PathEscape(val), 1)
				}
			}
			for _, q := range []url.Values{idQuery(id), {"crash_id": {id}, "format": {"raw"}}, {}} {
				code, body := get(t, base+p+"?"+q.Encode())
				sc.scan(fmt.Sprintf("GET %s?%s (%d)", p, q.Encode(), code), body)
				if code == 200 && strings.Contains(string(body), "leak_signature") {
					searchRoutes[r.Path] = true
				}
			}
		}
	}
	// Super Search, the search page and the signature page: every field in
	// every role
	searchPaths := []string{"/api/SuperSearch/", "/search/", "/signature/"}
	codes := map[string]map[int]int{}
	for _, sp := range searchPaths {
		codes[sp] = map[int]int{}
		for _, vr := range searchVariants(url.Values{"product": {"LeakApp"}, "signature": {"leak_signature"}}) {
			v := vr.params
			if sp == "/signature/" {
				v.Set("tab", "reports")
			}
			code, body := get(t, base+sp+"?"+v.Encode())
			sc.scan(fmt.Sprintf("GET %s?%s (%d)", sp, v.Encode(), code), body)
			codes[sp][code]++
			if vr.public && sp == "/api/SuperSearch/" && code != http.StatusOK {
				t.Errorf("a probe of public fields was refused, so it probed nothing: %s: %.300s", v.Encode(), body)
			}
		}
	}
	t.Logf("Super Search probes by answer: %v", codes)
	// the full processed crash of each, anonymously
	for _, id := range ids {
		code, body := get(t, base+"/api/ProcessedCrash/?crash_id="+id)
		require.Equal(t, 200, code, string(body))
		sc.scan("ProcessedCrash "+id, body)
		require.Contains(t, string(body), `"product":"LeakApp"`, "public fields are shown")
	}

	// the telemetry bucket and topic
	for _, id := range ids {
		key, _ := objectstore.TelemetryKey(id)
		body, err := e.Telemetry.GetBytes(ctx, key, 64<<20)
		require.NoError(t, err)
		sc.scan("telemetry bucket "+key, body)
	}
	records := e.readTelemetry(t, len(ids))
	for _, r := range records {
		sc.scan("telemetry topic record", r)
	}
	t.Logf("leak test: %d markers (%d in crash A's fields and nested keys, %d in crash B's annotations), %d GET routes, %d probes, %d hits",
		len(sc.markers), len(markersA), len(markersB), routes, sc.probes, sc.hits)
}

// readTelemetry reads n records of the telemetry topic: each as its raw
// bytes and decoded to JSON (numbers are not text in Avro).
func (e *env) readTelemetry(t *testing.T, n int) [][]byte {
	var out [][]byte
	stacktest.Consume(t, e.Kafka, e.ID+".reader", e.Kafka.Topics().Telemetry, 2*time.Minute, func(m *streams.Message) bool {
		var tc schemas.TelemetryCrash
		if e.Serde.Unmarshal(context.Background(), m.Value, &tc) != nil {
			return false
		}
		j, err := json.Marshal(tc)
		if err != nil {
			return false
		}
		out = append(out, append([]byte(nil), m.Value...), j)
		return len(out) >= 2*n
	})
	require.Len(t, out, 2*n, "telemetry records")
	return out
}
