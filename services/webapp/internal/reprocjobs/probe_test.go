package reprocjobs

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/services/lib/objectstoretest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	probeModule = "test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1"
	probePath   = "/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym"
)

// symServer is a symbol server whose answers a test changes between rounds.
type symServer struct {
	mu sync.Mutex
	// files maps a path to its ETag ("" for none): the files it has.
	files map[string]string
	// status, when set, answers every request; delay holds each answer.
	status int
	delay  time.Duration
	// refuseHead answers HEAD 405.
	refuseHead bool
	reqs       []string // "METHOD path range"
	auth       []string
}

func (s *symServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.reqs = append(s.reqs, r.Method+" "+r.URL.Path+" "+r.Header.Get("Range"))
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	status, delay, refuseHead := s.status, s.delay, s.refuseHead
	etag, ok := s.files[r.URL.Path]
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case status != 0:
		w.WriteHeader(status)
	case r.Method == http.MethodHead && refuseHead:
		w.WriteHeader(http.StatusMethodNotAllowed)
	case !ok:
		http.NotFound(w, r)
	case r.Method == http.MethodGet && r.Header.Get("Range") == "bytes=0-0":
		w.Header().Set("Last-Modified", "Sat, 05 Dec 2026 12:00:00 GMT")
		w.Header().Set("Content-Range", "bytes 0-0/1234")
		w.WriteHeader(http.StatusPartialContent)
		_, _ = w.Write([]byte("M"))
	default:
		if etag != "" {
			w.Header().Set("ETag", etag)
		}
		w.Header().Set("Content-Length", "1234")
		w.WriteHeader(http.StatusOK)
	}
}

func (s *symServer) set(f func(s *symServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func (s *symServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs...)
}

// probeEnv is a manager with a settable clock, a finder and a prober of
// the given servers.
type probeEnv struct {
	m      *Manager
	p      *Prober
	f      *finder
	clock  time.Time
	counts map[string]int
}

func (e *probeEnv) advance(d time.Duration) { e.clock = e.clock.Add(d) }

func testProbeConfig(urls ...string) ProbeConfig {
	return ProbeConfig{URLs: urls, Every: 10 * time.Millisecond, Modules: 200, MaxProbes: 100,
		Recheck: 10 * time.Minute, Found: time.Hour, Timeout: 2 * time.Second, MaxFailures: 3}
}

func newProbeEnv(t *testing.T, cfg ProbeConfig, modules ...string) *probeEnv {
	e := &probeEnv{f: &finder{sent: map[string]bool{}, modules: modules}, clock: time.Now(), counts: map[string]int{}}
	e.m = New(testConfig(), objectstoretest.NewBucket(), nil, e.f, func(context.Context, string, string, string, time.Time) error { return nil },
		"a", zerolog.Nop(), func() time.Time { return e.clock })
	client := &http.Client{}
	t.Cleanup(client.CloseIdleConnections)
	e.p = NewProber(cfg, e.m, client, func(o string) { e.counts[o]++ })
	return e
}

func (e *probeEnv) round(t *testing.T) ProbeRound {
	t.Helper()
	r, err := e.p.ProbeOnce(context.Background())
	require.NoError(t, err)
	return r
}

func (e *probeEnv) jobs(t *testing.T) []Job {
	t.Helper()
	jobs, err := e.m.List(context.Background(), 100)
	require.NoError(t, err)
	return jobs
}

// TestProbeStartsJobs: a server without the file starts nothing; once it
// answers 200 with an ETag, one job with source symbol-server, the URL
// (without the credentials the probe sent) as its key; the same file
// again starts no job, a changed ETag a new one.
func TestProbeStartsJobs(t *testing.T) {
	srv := &symServer{files: map[string]string{}}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	base := strings.Replace(ts.URL, "http://", "http://probe:s3cret@", 1) + "/breakpad/"
	e := newProbeEnv(t, testProbeConfig(base), probeModule)

	r := e.round(t)
	assert.Equal(t, map[string]int{ProbeMissing: 1}, r.Outcomes)
	assert.Empty(t, e.jobs(t), "404: no job")
	assert.Equal(t, []string{"HEAD /breakpad" + probePath + " "}, srv.requests())

	srv.set(func(s *symServer) { s.files["/breakpad"+probePath] = `"v1"` })
	r = e.round(t)
	assert.Zero(t, r.Probes, "a module the server lacked waits Recheck")
	e.advance(11 * time.Minute)
	r = e.round(t)
	assert.Equal(t, map[string]int{ProbeNewJob: 1}, r.Outcomes)
	jobs := e.jobs(t)
	require.Len(t, jobs, 1)
	assert.Equal(t, SourceSymbolServer, jobs[0].Source)
	assert.Equal(t, probeModule, jobs[0].Module)
	assert.Equal(t, ts.URL+"/breakpad"+probePath, jobs[0].SymbolsKey, "no credentials in the record")
	assert.Equal(t, "v1", jobs[0].ETag)
	assert.Equal(t, StatePending, jobs[0].State)
	for _, a := range srv.auth {
		assert.Equal(t, "Basic cHJvYmU6czNjcmV0", a, "the server's credentials are sent")
	}

	n := len(srv.requests())
	e.round(t)
	assert.Len(t, srv.requests(), n, "a module found waits Found before it is asked again")
	e.advance(2 * time.Hour)
	r = e.round(t)
	assert.Equal(t, map[string]int{ProbeKnown: 1}, r.Outcomes, "asked again, same file")
	assert.Len(t, e.jobs(t), 1, "the same file starts no second job")

	srv.set(func(s *symServer) { s.files["/breakpad"+probePath] = `"v2"` })
	e.advance(2 * time.Hour)
	r = e.round(t)
	assert.Equal(t, map[string]int{ProbeNewJob: 1}, r.Outcomes)
	jobs = e.jobs(t)
	require.Len(t, jobs, 2, "a changed file starts a new job")
	assert.ElementsMatch(t, []string{"v1", "v2"}, []string{jobs[0].ETag, jobs[1].ETag})
	assert.Equal(t, map[string]int{ProbeMissing: 1, ProbeNewJob: 2, ProbeKnown: 1}, e.counts, "one count per request")
}

// TestProbeServerFailures: 500, a timeout and a refused connection start
// no job and are counted; a server that fails MaxFailures times in a row
// is skipped for the rest of the round; a failed module is asked again the
// next round (no Recheck wait); and Run keeps going through failures until
// the server answers.
func TestProbeServerFailures(t *testing.T) {
	srv := &symServer{files: map[string]string{probePath: `"e"`}, status: http.StatusInternalServerError}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	mods := []string{probeModule, "a.pdb/01", "b.pdb/02", "c.pdb/03", "d.pdb/04"}
	cfg := testProbeConfig(ts.URL)
	cfg.Timeout = 100 * time.Millisecond
	e := newProbeEnv(t, cfg, mods...)

	r := e.round(t)
	assert.Equal(t, map[string]int{ProbeServerError: 3}, r.Outcomes)
	assert.Equal(t, 2, r.Skipped, "after 3 failures in a row the server is skipped")
	assert.Contains(t, r.FirstError, "500 Internal Server Error")
	assert.Empty(t, e.jobs(t))

	srv.set(func(s *symServer) { s.status, s.delay = 0, time.Second })
	r = e.round(t)
	assert.Equal(t, map[string]int{ProbeTimeout: 3}, r.Outcomes, "failed modules are asked again at once")
	assert.Contains(t, r.FirstError, "timed out")
	assert.Empty(t, e.jobs(t))

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	refused := newProbeEnv(t, testProbeConfig(closed.URL), probeModule)
	r = refused.round(t)
	assert.Equal(t, map[string]int{ProbeUnreachable: 1}, r.Outcomes)
	assert.Contains(t, r.FirstError, "connection refused")

	// Run: failing rounds, then the server answers and the job starts.
	srv.set(func(s *symServer) { s.delay, s.status = 0, http.StatusBadGateway })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = e.p.Run(ctx)
	}()
	time.Sleep(50 * time.Millisecond)
	srv.set(func(s *symServer) { s.status = 0 })
	ok := waitUntil(5*time.Second, func() bool {
		jobs, err := e.m.List(context.Background(), 10)
		return err == nil && len(jobs) == 1
	})
	cancel()
	<-done
	require.True(t, ok, "Run went on after the failures and started the job")
	assert.Equal(t, SourceSymbolServer, e.jobs(t)[0].Source)
}

func waitUntil(bound time.Duration, ok func() bool) bool {
	for end := time.Now().Add(bound); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if ok() {
			return true
		}
	}
	return ok()
}

// TestProbeHeadRefused: a server answering HEAD with 405 is asked with a
// one-byte ranged GET; without an ETag the job's tag is Last-Modified and
// the total length from Content-Range.
func TestProbeHeadRefused(t *testing.T) {
	srv := &symServer{files: map[string]string{probePath: ""}, refuseHead: true}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	e := newProbeEnv(t, testProbeConfig(ts.URL), probeModule)
	r := e.round(t)
	assert.Equal(t, 1, r.Probes, "HEAD and its fallback are one probe")
	assert.Equal(t, map[string]int{ProbeNewJob: 1}, r.Outcomes)
	assert.Equal(t, []string{"HEAD " + probePath + " ", "GET " + probePath + " bytes=0-0"}, srv.requests())
	jobs := e.jobs(t)
	require.Len(t, jobs, 1)
	assert.Equal(t, "Sat, 05 Dec 2026 12:00:00 GMT; 1234 bytes", jobs[0].ETag)
}

// TestProbeBounds: one round makes at most MaxProbes requests, the most
// affected modules first; the next round asks the ones left over; servers
// are asked in order until one has the file, and a module found is asked
// of no later server.
func TestProbeBounds(t *testing.T) {
	first, second := &symServer{files: map[string]string{}}, &symServer{files: map[string]string{"/m0.pdb/00/m0.sym": `"x"`}}
	ts1, ts2 := httptest.NewServer(first), httptest.NewServer(second)
	defer ts1.Close()
	defer ts2.Close()
	first.set(func(s *symServer) { s.files["/m1.pdb/01/m1.sym"] = `"y"` })
	mods := []string{"m0.pdb/00", "m1.pdb/01", "m2.pdb/02", "m3.pdb/03", "m4.pdb/04"}
	cfg := testProbeConfig(ts1.URL, ts2.URL)
	cfg.MaxProbes = 3
	e := newProbeEnv(t, cfg, mods...)

	r := e.round(t)
	assert.Equal(t, 3, r.Probes)
	assert.Equal(t, map[string]int{ProbeMissing: 1, ProbeNewJob: 2}, r.Outcomes)
	assert.Equal(t, 6, r.Deferred, "m2..m4 on both servers wait")
	assert.Equal(t, []string{"HEAD /m0.pdb/00/m0.sym ", "HEAD /m1.pdb/01/m1.sym "}, first.requests())
	assert.Equal(t, []string{"HEAD /m0.pdb/00/m0.sym "}, second.requests(), "m1 was found on the first server")
	jobs := e.jobs(t)
	require.Len(t, jobs, 2)
	keys := []string{jobs[0].SymbolsKey, jobs[1].SymbolsKey}
	assert.ElementsMatch(t, []string{ts2.URL + "/m0.pdb/00/m0.sym", ts1.URL + "/m1.pdb/01/m1.sym"}, keys)

	r = e.round(t)
	assert.Equal(t, 3, r.Probes, "the modules left over")
	assert.Equal(t, map[string]int{ProbeMissing: 3}, r.Outcomes)
	r = e.round(t)
	assert.Equal(t, 3, r.Probes)
	r = e.round(t)
	assert.Zero(t, r.Probes, "everything asked waits Recheck or Found")
	assert.Len(t, e.jobs(t), 2)
}

// TestProbeConfigEnabled: no URL or no period, no probe.
func TestProbeConfigEnabled(t *testing.T) {
	assert.False(t, ProbeConfig{Every: time.Minute}.Enabled())
	assert.False(t, ProbeConfig{URLs: []string{"http://x"}}.Enabled())
	assert.True(t, ProbeConfig{URLs: []string{"http://x"}, Every: time.Minute}.Enabled())
}
