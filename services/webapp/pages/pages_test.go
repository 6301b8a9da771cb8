package pages

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/services/lib/bugzilla"
	"github.com/crashstream/crashstream/services/webapp/internal/reprocjobs"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/clickhouse/supersearch"
	"github.com/crashstream/crashstream/storage/objectstore"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	goleak.VerifyTestMain(m)
}

const (
	crashID   = "de305d54-75b4-431b-adb2-eb6b90261120"
	pendingID = "aaaaaaaa-75b4-431b-adb2-eb6b90261120"
	secretURL = "https://secret.example/private-page"
)

// fakeCrashes answers from fixed results and records the queries.
type fakeCrashes struct {
	mu       sync.Mutex
	searches []*supersearch.Query
	tops     []clickhouse.TopCrashersParams
	empty    bool  // no crashes at all
	fail     error // every query fails with it
}

func (f *fakeCrashes) TopCrashers(_ context.Context, p clickhouse.TopCrashersParams) (*clickhouse.TopCrashersResult, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.tops = append(f.tops, p)
	f.mu.Unlock()
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	return &clickhouse.TopCrashersResult{Start: day.AddDate(0, 0, -p.Days), End: day, Total: 30, Crashers: []clickhouse.TopCrasher{
		{Rank: 1, Signature: "OOM | small", Count: 20, Percent: 20.0 / 30, PrevRank: 3, RankDiff: 2, Platforms: map[string]int64{"Windows NT": 15, "Linux": 5}, StartupAll: true, StartupCount: 20, Installs: 7},
		{Rank: 2, Signature: "js::GC <script>", Count: 10, Percent: 10.0 / 30, New: true, Platforms: map[string]int64{"Mac OS X": 10}},
	}}, nil
}

func (f *fakeCrashes) SuperSearch(_ context.Context, q *supersearch.Query) (*clickhouse.SearchResult, error) {
	f.mu.Lock()
	f.searches = append(f.searches, q)
	f.mu.Unlock()
	res := &clickhouse.SearchResult{Total: 2, Facets: map[string][]clickhouse.Bucket{}, Histograms: map[string][]clickhouse.Bucket{}, Cardinality: map[string]uint64{"install_time": 2}}
	if f.empty {
		return &clickhouse.SearchResult{Facets: map[string][]clickhouse.Bucket{}, Histograms: map[string][]clickhouse.Bucket{}, Cardinality: map[string]uint64{}}, nil
	}
	for _, fa := range q.Facets {
		res.Facets[fa.Name] = []clickhouse.Bucket{{Term: "Firefox", Count: 2}}
	}
	for _, h := range q.Histograms {
		key := h.Field.Name
		if len(h.Terms) > 0 {
			key += "." + h.Terms[0].Name
		}
		res.Histograms[key] = []clickhouse.Bucket{{Group: q.From.Format("2006-01-02"), Term: "Firefox", Count: 2}}
	}
	for i := 0; i < 2 && q.Number > 0; i++ {
		h := map[string]any{}
		for _, c := range q.Columns {
			h[c.Name] = fmt.Sprintf("%s-%d", c.Name, i)
		}
		h["crash_id"] = crashID
		res.Hits = append(res.Hits, h)
	}
	return res, nil
}

func (f *fakeCrashes) SignatureFirstDate(_ context.Context, sigs []string) ([]clickhouse.SignatureFirst, error) {
	return []clickhouse.SignatureFirst{{Signature: sigs[0], FirstDate: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}, nil
}

func (f *fakeCrashes) DailyVolume(_ context.Context, split, product string, from, to time.Time) ([]clickhouse.Bucket, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	if f.empty {
		return nil, nil
	}
	term := "Firefox"
	if split == "version" {
		term = "130.0"
	}
	return []clickhouse.Bucket{{Group: from.Format("2006-01-02"), Term: term, Count: 2}}, nil
}

func (f *fakeCrashes) lastSearch() *supersearch.Query {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.searches[len(f.searches)-1]
}

// fakeObjects is a map of keys.
type fakeObjects map[string][]byte

func (o fakeObjects) GetBytes(_ context.Context, key string, _ int64) ([]byte, error) {
	b, ok := o[key]
	if !ok {
		return nil, fmt.Errorf("get %s: %w", key, objectstore.ErrNotFound)
	}
	return b, nil
}

func (o fakeObjects) Exists(_ context.Context, key string) (bool, error) {
	_, ok := o[key]
	return ok, nil
}

// fakeCore takes the caller's permissions from the X-Perms test header.
type fakeCore struct {
	mu        sync.Mutex
	priority  []string
	reprocess []string
}

func (f *fakeCore) Caller(c *gin.Context) auth.Caller {
	h, ok := c.Request.Header["X-Perms"]
	if !ok {
		return auth.Anonymous()
	}
	return auth.Caller{Name: "tester", Permissions: strings.Split(h[0], ",")}
}
func (f *fakeCore) CSRFToken(*gin.Context) string { return "csrf-ok" }
func (f *fakeCore) CheckCSRF(c *gin.Context) bool { return c.PostForm("csrf_token") == "csrf-ok" }
func (f *fakeCore) PriorityRequest(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.priority = append(f.priority, id)
	return nil
}
func (f *fakeCore) Reprocess(_ context.Context, ids []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reprocess = append(f.reprocess, ids...)
	return nil
}
func (f *fakeCore) ReprocessJobs(context.Context, int) ([]reprocjobs.Job, bool, error) {
	return []reprocjobs.Job{{ID: "0123abcd", Module: "xul.pdb/ABC123", Source: "upload-symbols:alice", State: reprocjobs.StateSending,
		Created: time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC), Found: 10000, Truncated: true, Sent: 2500, Done: 2400}}, true, nil
}
func (f *fakeCore) SignInPath() string  { return "/signin" }
func (f *fakeCore) SignOutPath() string { return "/signout" }

func processedJSON(t *testing.T) []byte {
	t.Helper()
	thread := int64(0)
	up := int64(12)
	pc := schemas.ProcessedCrash{CrashID: crashID, UUID: crashID, Product: "Firefox", Version: "130.0", Signature: "OOM | small",
		OSName: "Windows NT", CPUArch: "amd64", Reason: "EXCEPTION_ACCESS_VIOLATION_READ", Address: "0xdead", Uptime: &up,
		CrashingThread: &thread, URL: secretURL, UserComments: "my secret comment",
		SubmittedTimestamp: time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC), DateProcessed: time.Date(2026, 11, 20, 1, 1, 0, 0, time.UTC),
		ReprocessReason: "symbols: symbols for xul.pdb/ABC123 arrived (reprocess job 0123abcd)",
		Modules:         []schemas.Module{{Filename: "xul.dll", DebugFile: "xul.pdb", DebugID: "ABC123", MissingSymbols: true}, {Filename: "ntdll.dll", LoadedSymbols: true}},
		JSONDump:        `{"crash_info":{"crashing_thread":0,"instruction":"mov eax, dword [rax + 0x10]","adjusted_address":{"kind":"null-pointer","offset":"0x0000000000000010"},"memory_accesses":[{"access_type":"read","address":"0x0000000000000010","size":4}],"instruction_pointer_update":null,"possible_bit_flips":[{"address":"0x0000000000000000","confidence":0.4375,"source_register":"rax"},{"address":"0x00007ffffffbfd7c","confidence":0.625,"source_register":null}]},"threads":[{"thread_name":"main","frames":[{"frame":0,"module":"xul.dll","function":"mozalloc_abort","file":"memory/mozalloc.cpp","line":42,"offset":"0x10","module_offset":"0x1","trust":"context"}]},{"thread_name":"worker <b>","frames":[{"frame":0,"module":"ntdll.dll","function":"NtWait","trust":"context"}]}]}`,
	}
	b, err := json.Marshal(pc)
	require.NoError(t, err)
	return b
}

type env struct {
	crashes *fakeCrashes
	core    *fakeCore
	h       http.Handler
}

func newEnv(t *testing.T, cfg Config) env { return newEnvWith(t, cfg, nil) }

// newEnvWith is newEnv with mod applied to the pages before they serve.
func newEnvWith(t *testing.T, cfg Config, mod func(*Pages)) env {
	t.Helper()
	pk, _ := objectstore.ProcessedCrashKey(crashID)
	rk, _ := objectstore.RawCrashKey(pendingID)
	objs := fakeObjects{pk: processedJSON(t), rk: []byte(`{}`),
		objectstore.VersionsKey:       []byte(`{"versions":[{"product":"Firefox","version":"130.0","release_channel":"release","crashes":5}]}`),
		bugzilla.AssociationsKey:      bugSetJSON,
		objectstore.MissingSymbolsKey: []byte(`{"day":"2026-11-19","crashes_read":9,"modules":[{"debug_file":"xul.pdb","debug_id":"ABC123","filename":"xul.dll","crashes":4}]}`)}
	e := env{crashes: &fakeCrashes{}, core: &fakeCore{}}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Second
	}
	p, err := New(cfg, e.crashes, objs, e.core, fields.New())
	require.NoError(t, err)
	p.now = func() time.Time { return time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC) }
	if mod != nil {
		mod(p)
	}
	r := gin.New()
	p.Register(r)
	e.h = r
	return e
}

func (e env) do(method, target, perms string, form url.Values) *httptest.ResponseRecorder {
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	if perms != "-" {
		req.Header.Set("X-Perms", perms)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	return w
}

func TestPages(t *testing.T) {
	all := "view_pii,view_rawdump,reprocess_crashes"
	tests := []struct {
		name, target, perms string
		status              int
		want, notWant       []string
	}{
		{"home", "/", "-", 200, []string{"Firefox", "<svg", "/topcrashers/?product=Firefox", "130.0"}, nil},
		{"product", "/home/product/Firefox", "-", 200, []string{"Crashes per day by version", "<polyline"}, nil},
		{"top crashers", "/topcrashers/?product=Firefox&days=7&version=", "-", 200,
			[]string{"OOM | small", `<span class="up">&#43;2</span>`, `<span class="tag new">new</span>`, `os-win">15<`, `os-lin">5<`, `class="first">2026-01-02<`, `data-bugs-for=`,
				`href="/signature/?date=%3E%3D2026-11-13&amp;date=%3C2026-11-20&amp;product=Firefox&amp;signature=OOM&#43;%7C&#43;small"`, "startup", "js::GC &lt;script&gt;"}, []string{"<script>"}},
		{"top crashers bad days", "/topcrashers/?product=Firefox&days=5", "-", 400, []string{"days must be"}, nil},
		{"top crashers no product redirects", "/topcrashers/", "-", 302, nil, nil},
		{"signature", "/signature/?signature=OOM+%7C+small", "-", 200,
			[]string{"Summary", "2026-01-02 03:04:05", "facet-version", `id="tab-reports"`}, []string{"/report/index/"}},
		{"signature reports", "/signature/?signature=OOM+%7C+small&tab=reports", "-", 200, []string{"/report/index/" + crashID, "tab=reports"}, []string{"facet-version"}},
		{"signature graph", "/signature/?signature=OOM+%7C+small&tab=graph", "-", 200, []string{"<polyline"}, []string{"facet-version"}},
		{"signature bad tab", "/signature/?signature=x&tab=nope", "-", 400, nil, nil},
		{"signature protected column anonymous", "/signature/?signature=x&_columns=url", "-", 400, []string{"unknown field"}, nil},
		{"signature protected column pii", "/signature/?signature=x&_columns=url&tab=reports", "view_pii", 200, []string{"url-0"}, nil},
		{"report anonymous", "/report/index/" + crashID, "-", 200,
			[]string{"EXCEPTION_ACCESS_VIOLATION_READ", "mozalloc_abort", "memory/mozalloc.cpp:42", `<span class="tag missing">missing</span>`, "worker &lt;b&gt;", "Sign in",
				`<dd class="mono" id="instruction">mov eax, dword [rax &#43; 0x10]</dd>`, "null pointer &#43; 0x0000000000000010",
				"0x0000000000000010 (4 bytes, read)", "0x00007ffffffbfd7c (confidence 62%)<br>rax = 0x0000000000000000 (confidence 44%)"},
			[]string{secretURL, "my secret comment", "rawdump", `id="reprocess"`}},
		{"report bp prefix", "/report/index/bp-" + crashID, "-", 200, []string{"mozalloc_abort"}, nil},
		{"report pii", "/report/index/" + crashID, all, 200, []string{secretURL, "my secret comment", "protected", `id="rawdump"`, `id="reprocess"`, "csrf-ok"}, nil},
		{"report not found", "/report/index/bbbbbbbb-75b4-431b-adb2-eb6b90261120", "-", 404, []string{"There is no crash report"}, nil},
		{"report bad id", "/report/index/not-a-crash-id", "-", 404, []string{"There is no crash report"}, nil},
		{"pending", "/report/index/" + pendingID, "-", 200, []string{"being processed"}, nil},
		{"search", "/search/?product=Firefox&signature=~OOM", "-", 200, []string{"facet-signature", `value="~" selected`, "OOM"}, []string{">url<", ">user_comments<"}},
		{"search pii offers protected", "/search/", "view_pii", 200, []string{">url<"}, nil},
		{"search protected anonymous", "/search/?url=~secret", "-", 400, []string{"unknown field"}, []string{secretURL}},
		{"missing symbols", "/missingsymbols/", "-", 200, []string{"xul.pdb", "ABC123"}, nil},
		{"reprocess jobs anonymous", "/reprocessjobs/", "-", 403, []string{"upload_symbols"}, []string{"xul.pdb/ABC123"}},
		{"reprocess jobs uploader", "/reprocessjobs/", "upload_symbols", 200,
			[]string{"xul.pdb/ABC123", "upload-symbols:alice", "sending", "10,000+", "2,500", "2,400", `href="/reprocessjobs/"`}, nil},
		{"report reprocessed", "/report/index/" + crashID, "-", 200,
			[]string{`id="reprocessreason"`, "2026-11-20 01:01:00", "symbols for xul.pdb/ABC123 arrived (reprocess job 0123abcd)"}, []string{`href="/reprocessjobs/"`}},
		{"alerts before the cron job ran", "/alerts/", "-", 200, []string{"No alert rules are evaluated", "No alert fired in the last 7 days"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			w := e.do(http.MethodGet, tt.target, tt.perms, nil)
			require.Equal(t, tt.status, w.Code, w.Body.String())
			for _, s := range tt.want {
				assert.Contains(t, w.Body.String(), s)
			}
			for _, s := range tt.notWant {
				assert.NotContains(t, w.Body.String(), s)
			}
		})
	}
}

func TestPendingSendsPriority(t *testing.T) {
	e := newEnv(t, Config{})
	e.do(http.MethodGet, "/report/index/"+pendingID, "-", nil)
	e.do(http.MethodGet, "/report/index/"+crashID, "-", nil)
	assert.Equal(t, []string{pendingID}, e.core.priority, "only the pending crash asks for priority")
}

func TestSourceLinks(t *testing.T) {
	e := newEnv(t, Config{SourceURL: "https://src.example/{file}#L{line}"})
	w := e.do(http.MethodGet, "/report/index/"+crashID, "-", nil)
	assert.Contains(t, w.Body.String(), `href="https://src.example/memory/mozalloc.cpp#L42"`)
}

func TestReprocess(t *testing.T) {
	tests := []struct {
		name, perms, csrf string
		status            int
		queued            bool
	}{
		{"anonymous", "-", "csrf-ok", 403, false},
		{"without permission", "view_pii", "csrf-ok", 403, false},
		{"bad csrf", "reprocess_crashes", "nope", 403, false},
		{"ok", "reprocess_crashes", "csrf-ok", 303, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			w := e.do(http.MethodPost, "/report/reprocess/"+crashID, tt.perms, url.Values{"csrf_token": {tt.csrf}})
			require.Equal(t, tt.status, w.Code)
			if tt.queued {
				assert.Equal(t, []string{crashID}, e.core.reprocess)
				assert.Equal(t, "/report/index/"+crashID+"?reprocessed=1", w.Header().Get("Location"))
			} else {
				assert.Empty(t, e.core.reprocess)
			}
		})
	}
}

func TestSearchFormRedirectsToCanonicalURL(t *testing.T) {
	e := newEnv(t, Config{})
	form := url.Values{"_form": {"1"}, "f": {"signature", "product", ""}, "op": {"~", "", ""}, "v": {"OOM", "Firefox", "x"},
		"date_from": {"2026-11-01"}, "_facets": {"version", "os_name"}, "_sort": {"-uptime"}}
	w := e.do(http.MethodGet, "/search/?"+form.Encode(), "-", nil)
	require.Equal(t, http.StatusFound, w.Code)
	loc, err := url.Parse(w.Header().Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, url.Values{"signature": {"~OOM"}, "product": {"Firefox"}, "date": {">=2026-11-01"}, "_facets": {"version,os_name"}, "_sort": {"-uptime"}}, loc.Query())

	w = e.do(http.MethodGet, loc.String(), "-", nil)
	require.Equal(t, http.StatusOK, w.Code)
	q := e.crashes.lastSearch()
	require.Len(t, q.Filters, 2, "the search narrows by both filters")
	assert.Equal(t, "product", q.Filters[0].Field.Name)
	assert.Equal(t, "signature", q.Filters[1].Field.Name)
	assert.Equal(t, supersearch.OpContains, q.Filters[1].Terms[0].Op)
}

func TestTopCrashersParams(t *testing.T) {
	e := newEnv(t, Config{})
	w := e.do(http.MethodGet, "/topcrashers/?product=Firefox&version=130.0&version=131.0&days=14&process_type=content&platform=Linux&_facets_size=100", "-", nil)
	require.Equal(t, 200, w.Code)
	got := e.crashes.tops[0]
	assert.Equal(t, clickhouse.TopCrashersParams{Product: "Firefox", Versions: []string{"130.0", "131.0"}, Days: 14, ProcessType: "content",
		Platform: "Linux", Limit: 100, Installs: true, RangeType: "report"}, got)
}

func TestTopCrashersByBuild(t *testing.T) {
	e := newEnv(t, Config{})
	w := e.do(http.MethodGet, "/topcrashers/?product=Firefox&days=3&_range_type=build", "-", nil)
	require.Equal(t, 200, w.Code, w.Body.String())
	assert.Equal(t, "build", e.crashes.tops[0].RangeType)
	assert.Contains(t, w.Body.String(), "by build date")
	w = e.do(http.MethodGet, "/topcrashers/?product=Firefox&_range_type=nope", "-", nil)
	assert.Equal(t, 400, w.Code)
}

func TestSplitOp(t *testing.T) {
	tests := []struct{ in, op, val string }{
		{"Firefox", "", "Firefox"}, {"~OOM", "~", "OOM"}, {"!~x", "!~", "x"}, {">=5", ">=", "5"}, {">5", ">", "5"},
		{"__null__", "__null__", ""}, {"!__null__", "!__null__", ""}, {"=a=b", "=", "a=b"}, {"$end", "$", "end"},
	}
	for _, tt := range tests {
		op, val := splitOp(tt.in)
		assert.Equal(t, tt.op, op, tt.in)
		assert.Equal(t, tt.val, val, tt.in)
	}
}

func TestDailyChart(t *testing.T) {
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var bs []clickhouse.Bucket
	for i := range 9 {
		bs = append(bs, clickhouse.Bucket{Group: "2026-11-02 00:00:00", Term: fmt.Sprintf("v%d", i), Count: int64(10 - i)})
	}
	c := dailyChart(bs, from, from.AddDate(0, 0, 3))
	require.False(t, c.Empty)
	require.Len(t, c.Series, maxSeries+1)
	assert.Equal(t, "v0", c.Series[0].Name)
	assert.Equal(t, "other", c.Series[maxSeries].Name)
	assert.Equal(t, int64(3+2), c.Series[maxSeries].Total, "v7 and v8 summed")
	var ticks []string
	for _, l := range c.YLabels {
		ticks = append(ticks, l.Text)
	}
	assert.Equal(t, []string{"0", "2", "4", "6", "8", "10"}, ticks, "round ticks up to the largest count, 10")
	assert.True(t, dailyChart(nil, from, from.AddDate(0, 0, 3)).Empty)
	assert.Equal(t, []int64{1, 2, 5, 10, 100, 200}, []int64{niceCeil(1), niceCeil(2), niceCeil(5), niceCeil(7), niceCeil(100), niceCeil(101)})
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{Timeout: 0}, {Timeout: time.Second, SourceURL: "javascript:{file}"}, {Timeout: time.Second, SourceURL: "https://x/"}} {
		assert.Error(t, c.Validate())
	}
	assert.NoError(t, Config{Timeout: time.Second, SourceURL: "https://x/{file}"}.Validate())
}

// FuzzCanonical checks that any form submission gives parameters the
// search parser either accepts or refuses cleanly.
func FuzzCanonical(f *testing.F) {
	f.Add("signature", "~", "OOM", "2026-11-01", "version")
	f.Add("url", "!__null__", "", "", "")
	f.Add("uptime", ">=", "12", "x", "signature,os_name")
	fs := supersearch.FromRegistry(fields.New())
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, field, op, value, from, facets string) {
		v := canonical(url.Values{"f": {field}, "op": {op}, "v": {value}, "date_from": {from}, "_facets": {facets}})
		q, err := supersearch.Parse(v, fs, false, now)
		if err == nil {
			for _, fl := range q.Filters {
				assert.False(t, fl.Field.Protected)
			}
		}
		splitOp(value)
	})
}

func TestResultTablePaging(t *testing.T) {
	params := url.Values{"signature": {"x"}, "_sort": {"date"}}
	tests := []struct {
		offset, number int
		total          int64
		prev, next     int
	}{
		{0, 50, 120, -1, 50},
		{50, 50, 120, 0, 100},
		{100, 50, 120, 50, -1},
		{30, 50, 120, 0, 80},
		{9950, 50, 20000, 9900, -1}, // the 10 000 window ends paging
	}
	for _, tt := range tests {
		rt := resultTable{Offset: tt.offset, Number: tt.number, Total: tt.total, Path: "/search/", Params: params, Sort: "date"}
		assert.Equal(t, tt.prev, rt.Prev(), "prev at %d", tt.offset)
		assert.Equal(t, tt.next, rt.Next(), "next at %d", tt.offset)
	}
	rt := resultTable{Path: "/search/", Params: params, Sort: "date"}
	assert.Equal(t, "/search/?_results_offset=50&_sort=date&signature=x", rt.PageURL(50))
	assert.Equal(t, "/search/?_sort=-date&signature=x", rt.SortURL("date"), "sorting again on the key reverses it")
	assert.Equal(t, "/search/?_sort=uptime&signature=x", rt.SortURL("uptime"))
	assert.Equal(t, url.Values{"signature": {"x"}, "_sort": {"date"}}, params, "the page's parameters are not changed")
}

// limitedCore is a core with a page limit of two requests.
type limitedCore struct {
	*fakeCore
	mu   sync.Mutex
	used int
}

func (l *limitedCore) PageLimit() gin.HandlerFunc {
	return func(c *gin.Context) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.used++; l.used > 2 {
			c.AbortWithStatus(http.StatusTooManyRequests)
		}
	}
}

func TestPageLimiter(t *testing.T) {
	core := &limitedCore{fakeCore: &fakeCore{}}
	p, err := New(Config{Timeout: time.Second}, &fakeCrashes{}, fakeObjects{}, core, fields.New())
	require.NoError(t, err)
	r := gin.New()
	p.Register(r)
	var codes []int
	for _, path := range []string{"/search/", "/missingsymbols/", "/signature/?signature=x"} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		codes = append(codes, w.Code)
	}
	assert.Equal(t, []int{200, 200, 429}, codes, "every page shares the page limit")
}

// TestTopCrashersFirstRun: without a product, /topcrashers/ goes to the
// busiest product; with no crashes at all it is a page saying so, not a 400.
func TestTopCrashersFirstRun(t *testing.T) {
	e := newEnv(t, Config{})
	w := e.do(http.MethodGet, "/topcrashers/", "-", nil)
	require.Equal(t, http.StatusFound, w.Code)
	assert.Equal(t, "/topcrashers/?product=Firefox", w.Header().Get("Location"))

	crashes := &fakeCrashes{empty: true}
	p, err := New(Config{Timeout: time.Second}, crashes, fakeObjects{}, &fakeCore{}, fields.New())
	require.NoError(t, err)
	r := gin.New()
	p.Register(r)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/topcrashers/", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), `id="noproduct"`)
	assert.Contains(t, rec.Body.String(), "No product has crashes in the last 7 days")
}

func TestFacetTermLinks(t *testing.T) {
	base := url.Values{"product": {"Firefox"}, "_facets": {"version"}, "_results_offset": {"50"}}
	ft := facetTable{Field: "version", Base: base}
	assert.Equal(t, "/search/?_facets=version&product=Firefox&version=%3D130.0", ft.Link("130.0"), "the term is added as an exact filter; paging restarts")
	assert.Equal(t, "", ft.Link(""), "an empty term has no exact filter")
	assert.Equal(t, "/signature/?signature=js%3A%3AGC+%3Cx%3E", facetTable{Field: "signature", Base: base}.Link("js::GC <x>"))
	b := facetTable{Field: "startup_crash", Bool: true}
	assert.Equal(t, []string{"true", "false", "2"}, []string{b.Display("1"), b.Display("0"), b.Display("2")})
}

// TestProductList: featured products are the only rows (others are named
// below), hidden ones never appear, and each row links its featured
// versions' top crashers.
func TestProductList(t *testing.T) {
	e := newEnv(t, Config{})
	w := e.do(http.MethodGet, "/", "-", nil)
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), `href="/topcrashers/?product=Firefox&amp;version=130.0"`)

	c := Config{Featured: []string{"Fenix"}, Hidden: []string{"Junk"}}
	listed, others := c.listed([]productInfo{{Name: "Firefox", Crashes: 9}, {Name: "Junk", Crashes: 5}, {Name: "Fenix", Crashes: 1}})
	require.Len(t, listed, 1)
	assert.Equal(t, "Fenix", listed[0].Name)
	require.Len(t, others, 1)
	assert.Equal(t, "Firefox", others[0].Name)
	listed, _ = Config{Hidden: []string{"Junk"}}.listed([]productInfo{{Name: "Firefox"}, {Name: "Junk"}})
	assert.Equal(t, []productInfo{{Name: "Firefox"}}, listed)

	e = newEnv(t, Config{Featured: []string{"Fenix"}})
	w = e.do(http.MethodGet, "/", "-", nil)
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), `id="otherproducts"`)
	assert.NotContains(t, w.Body.String(), `class="product" href="/home/product/Firefox"`)
}

// TestTopCrashersFeaturedDefault: without a version in the URL the report
// is over the product's featured versions and says so, with a link to all
// versions; an empty version means all.
func TestTopCrashersFeaturedDefault(t *testing.T) {
	e := newEnv(t, Config{})
	w := e.do(http.MethodGet, "/topcrashers/?product=Firefox", "-", nil)
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), `id="featured"`)
	assert.Equal(t, []string{"130.0"}, e.crashes.tops[len(e.crashes.tops)-1].Versions)
	w = e.do(http.MethodGet, "/topcrashers/?product=Firefox&version=", "-", nil)
	require.Equal(t, http.StatusOK, w.Code)
	assert.NotContains(t, w.Body.String(), `id="featured"`)
	assert.Empty(t, e.crashes.tops[len(e.crashes.tops)-1].Versions)
}

// TestServerErrorPage: a failed query is a 500 page that shows the
// request id the core answered with (and records the error for its log
// line), and the search form's sort shows the default (date) order.
func TestServerErrorPage(t *testing.T) {
	crashes := &fakeCrashes{fail: errors.New("code: 1001, converting NULL")}
	p, err := New(Config{Timeout: time.Second}, crashes, fakeObjects{}, &fakeCore{}, fields.New())
	require.NoError(t, err)
	r := gin.New()
	var recorded []string
	r.Use(func(c *gin.Context) {
		c.Header(requestIDHeader, "req-0123456789")
		c.Next()
		recorded = c.Errors.Errors()
	})
	p.Register(r)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/topcrashers/?product=Firefox", nil))
	require.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Contains(t, w.Body.String(), `<code id="request-id">req-0123456789</code>`)
	assert.NotContains(t, w.Body.String(), "converting NULL", "the cause is for the log, not the page")
	assert.Equal(t, []string{"code: 1001, converting NULL"}, recorded)

	e := newEnv(t, Config{})
	w = e.do(http.MethodGet, "/search/?product=Firefox", "-", nil)
	require.Equal(t, http.StatusOK, w.Code)
	assert.Contains(t, w.Body.String(), `<option value="-submitted_timestamp" selected>`)
}
