// Package browser drives the Crash Stats pages in a real headless Chromium
// against the real stack (ClickHouse, MinIO, Kafka) with a constructed data
// set, and keeps a screenshot of every page under tests/artifacts/browser.
package browser

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/services/cron"
	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/services/lib/bugzilla"
	"github.com/crashstream/crashstream/services/lib/bugzilla/bugzillatest"
	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	goleak.VerifyTestMain(m,
		// the ClickHouse driver's and minio-go's idle connection reapers
		goleak.IgnoreAnyFunction("github.com/ClickHouse/clickhouse-go/v2.(*clickhouse).startAutoCloseIdleConnections"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreAnyFunction("internal/poll.runtime_pollWait"),
	)
}

// chromium finds Debian's chromium, or skips.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium is not installed (apt-get install -y chromium)")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile; every action
// of the test runs within the returned context's bound.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	}
	base, cancelTimeout := context.WithTimeout(context.Background(), 5*time.Minute)
	alloc, cancelAlloc := chromedp.NewExecAllocator(base, opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelCtx(); cancelAlloc(); cancelTimeout() })
	require.NoError(t, chromedp.Do(ctx), "start chromium")
	return ctx
}

// page is the browser on one Crash Stats.
type page struct {
	t     *testing.T
	ctx   context.Context
	base  string
	shots string
}

func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	require.NoError(p.t, chromedp.Do(p.ctx, steps...))
}

// get runs one action that returns a value.
func get[T any](p *page, a chromedp.Action[T]) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, a)
	require.NoError(p.t, err)
	return v
}

// visible waits for the CSS selector sel to be visible.
func visible(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(sel))
}

// visit opens path and waits for sel.
func (p *page) visit(path, sel string) {
	p.t.Helper()
	p.do(chromedp.Navigate(p.base+path), visible(sel))
}

// follow clicks sel and waits for wait on the new page: the old document
// is marked first, so an element of the same id on it cannot satisfy the
// wait while the browser is still navigating.
func (p *page) follow(sel, wait string) {
	p.t.Helper()
	get(p, chromedp.Evaluate[bool](`(document.body.dataset.old = "1") === "1"`))
	p.do(chromedp.Click(chromedp.CSS(sel)), visible("body:not([data-old]) "+wait))
}

func (p *page) html() string { return get(p, chromedp.OuterHTML(chromedp.CSS("html"))) }

func (p *page) text(sel string) string {
	return strings.TrimSpace(get(p, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible)))
}

func (p *page) location() string { return get(p, chromedp.Location()) }

// shot saves a full-page PNG screenshot.
func (p *page) shot(name string) {
	p.t.Helper()
	buf := get(p, chromedp.FullScreenshot(100))
	require.NoError(p.t, os.WriteFile(filepath.Join(p.shots, name+".png"), buf, 0o644))
}

// public checks that the page holds no protected value and ran no
// injected script.
func (p *page) public() {
	p.t.Helper()
	assert.NotContains(p.t, p.html(), secretHost, "an anonymous page shows a protected field")
	pwned := get(p, chromedp.Evaluate[bool](`window.pwned !== undefined`))
	assert.False(p.t, pwned, "a signature's markup ran as script")
}

// TestCrashStats walks every page in Chromium as an anonymous user, then
// signed in with a token made by `crashstream token create`, against
// `crashstream webapp` run as a subprocess on this test's database, buckets
// and topics.
func TestCrashStats(t *testing.T) {
	requireStack(t)
	chromium(t)
	bin := stacktest.Binary(t)
	s := newResources(t)
	// a local Bugzilla whose bugs name sigA::crash; the cron job reads it
	// into the association set the webapp shows
	bz := bugzillatest.New()
	defer bz.Close()
	bz.Put(bugzillatest.Bug{ID: 424242, CrashSignature: "[@ sigA::crash]", Status: "NEW", Summary: "Crash in sigA::crash"})
	bz.Put(bugzillatest.Bug{ID: 424200, CrashSignature: "[@ sigA::crash] [@ sigB::crash]", Status: "RESOLVED", Resolution: "FIXED", Summary: "old sigA crash"})
	bzc, err := bugzilla.NewClient(bugzilla.Config{URL: bz.URL})
	require.NoError(t, err)
	require.NoError(t, cron.BugAssociations(s.Bucket, bzc, zerolog.Nop()).Run(context.Background(), time.Now().UTC().Truncate(time.Hour)))
	s.serveBinary(t, bin, "-webapp.bugzilla.url="+bz.URL,
		"-webapp.bugzilla.file-bug-url-template="+bz.URL+"/enter_bug.cgi?product={product}&cf_crash_signature=[@+{signature}]&comment={crash_url}")
	today := time.Now().UTC().Truncate(24 * time.Hour)
	crashes := s.dataset(today)
	s.load(t, crashes)
	s.runCron(t, today.AddDate(0, 0, -1))
	pendingID := s.newCrashID(999999, today)
	s.putRaw(t, pendingID)

	p := &page{t: t, ctx: newBrowser(t), base: s.URL, shots: artifactDir(t)}

	// Home: products with volume chart; follow the product link.
	p.visit("/", "#products")
	assert.Contains(t, p.text("#products"), "Firefox")
	assert.Contains(t, p.text("#products"), "Fenix")
	lines := get(p, chromedp.Evaluate[int](`document.querySelectorAll("svg.chart polyline").length`))
	assert.Equal(t, 2, lines, "one line per product")
	p.public()
	p.shot("01-home")

	p.follow(`a.product[href="/home/product/Firefox"]`, "#versions")
	assert.True(t, strings.HasSuffix(p.location(), "/home/product/Firefox"))
	assert.Contains(t, p.text("#versions"), "131.0")
	p.public()
	p.shot("02-product")

	// Top crashers from the product page: ranks and rank changes of the
	// constructed two-period data set.
	p.follow(`main p a[href^="/topcrashers/"]`, "#topcrashers")
	rows := get(p, chromedp.Evaluate[[][]string](`Array.from(document.querySelectorAll("#topcrashers tr[data-signature]")).map(r => [r.dataset.signature,
		r.querySelector(".rank").textContent.trim(), r.querySelector(".change").textContent.trim(), r.querySelector(".count").textContent.trim()])`))
	require.Len(t, rows, 4)
	cur, _ := periods()
	for i, r := range rows {
		assert.Equal(t, cur[i].Sig, r[0], "rank %d", i+1)
		assert.Equal(t, wantChange()[r[0]], r[2], "rank change of %s", r[0])
	}
	assert.Equal(t, []string{"1", "12"}, []string{rows[0][1], rows[0][3]})
	// sigA's bugs: the open one first, the resolved one struck through
	bugs := get(p, chromedp.Evaluate[[][]string](`Array.from(document.querySelectorAll('tr[data-signature="sigA::crash"] td.bugs a.bug')).map(a =>
		[a.dataset.bug, a.getAttribute("href"), a.querySelector("s") ? "struck" : "plain"])`))
	assert.Equal(t, [][]string{{"424242", bz.URL + "/show_bug.cgi?id=424242", "plain"}, {"424200", bz.URL + "/show_bug.cgi?id=424200", "struck"}}, bugs)
	p.public()
	p.shot("03-topcrashers")

	// Signature report of the top crasher, then one of its reports.
	p.follow(`tr[data-signature="sigA::crash"] a.siglink`, "#sigtotal")
	assert.Equal(t, "12", p.text("#sigtotal"))
	var first time.Time
	for _, c := range crashes {
		if c.Signature == "sigA::crash" && (first.IsZero() || c.SubmittedTimestamp.Before(first)) {
			first = c.SubmittedTimestamp
		}
	}
	assert.Contains(t, p.text("#firstseen"), first.Format("2006-01-02 15:04:05"), "first seen is the earliest crash of the signature")
	assert.Contains(t, p.text("#facet-os_name"), "Windows NT")
	p.public()
	p.shot("04-signature")

	p.follow("#tab-graph", "svg.chart")
	lines = get(p, chromedp.Evaluate[int](`document.querySelectorAll("svg.chart polyline").length`))
	assert.Equal(t, 2, lines, "one line per version (130.0, 131.0)")
	p.public()
	p.shot("04b-signature-graph")

	p.follow("#tab-bugzilla", "#sigbugs")
	assert.Contains(t, p.text("#sigbugs"), "Crash in sigA::crash")
	fileBug := get(p, chromedp.Evaluate[string](`document.querySelector("#sigbugs a.filebug").href`))
	assert.Contains(t, fileBug, "product=Firefox")
	assert.Contains(t, fileBug, "cf_crash_signature=[@+sigA%3A%3Acrash]")
	p.public()
	p.shot("04d-signature-bugzilla")

	p.follow("#tab-correlations", "#corrtable")
	top := get(p, chromedp.Evaluate[[]string](`Array.from(document.querySelector("#corrtable tr[data-attribute]").cells).map(c => c.textContent.trim())`))
	require.Len(t, top, 5)
	assert.Equal(t, []string{"module", "injected.dll/6.6"}, top[:2], "the module only sigA's crashes load ranks first")
	assert.Contains(t, top[2], "83.33%")
	p.public()
	p.shot("04e-signature-correlations")

	p.follow("#tab-reports", "#results")
	assert.Contains(t, p.text("p.count"), "12 crashes")
	p.public()
	p.shot("04c-signature-reports")

	p.follow(`#results a.report`, "#detailslist")
	assert.Contains(t, p.location(), "/report/index/")
	details := p.text("#detailslist")
	for _, want := range []string{"sigA::crash", "Firefox", "EXCEPTION_ACCESS_VIOLATION_READ", "amd64", "10.0.19045"} {
		assert.Contains(t, details, want)
	}
	src := get(p, chromedp.Evaluate[string](`document.querySelector("a.src").href`))
	assert.Equal(t, "https://source.example/mfbt/Assertions.cpp#L42", src)
	assert.Contains(t, p.text("#modtable"), "missing")
	actions := get(p, chromedp.Evaluate[int](`document.querySelectorAll("#rawdump, #reprocess").length`))
	assert.Zero(t, actions, "no raw dump or reprocess for an anonymous user")
	p.public()
	p.shot("05-report")

	p.follow("#sigreport", "#sigtotal")
	assert.Contains(t, p.location(), "/signature/?")

	// Super Search: the form narrows the result and the URL holds the query.
	p.visit("/search/?product=Firefox", "#results")
	assert.Contains(t, p.text("p.count"), "28 crashes")
	offered := get(p, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("select[name=f] option")).map(o => o.value)`))
	assert.Contains(t, offered, "signature")
	assert.NotContains(t, offered, "url")
	assert.NotContains(t, offered, "user_comments")
	get(p, chromedp.Evaluate[bool](`(() => { const r = document.querySelectorAll("tr.filterrow")[1];
		r.querySelector("select[name=f]").value = "signature"; r.querySelector("select[name=op]").value = "~";
		r.querySelector("input[name=v]").value = "sigB"; return true })()`))
	p.follow("#searchbtn", "#results")
	assert.Contains(t, p.text("p.count"), "8 crashes")
	assert.Contains(t, p.location(), "signature=~sigB")
	p.public()
	p.shot("06-search")

	// Pending, not found and missing symbols.
	p.visit("/report/index/"+pendingID, "#pending")
	p.shot("07-pending")
	p.visit("/report/index/"+pendingID, "#pending") // a second view within the minute
	prio := s.records(t, s.Kafka.Topics().Priority, 1)
	require.Len(t, prio, 1, "one priority request per crash per minute")
	assert.Equal(t, pendingID, string(prio[0].Key))
	unknown := s.newCrashID(888888, today)
	p.visit("/report/index/"+unknown, "#error")
	assert.Contains(t, p.text("#error"), "There is no crash report")
	p.shot("08-notfound")
	resp, err := http.Get(s.URL + "/report/index/" + unknown)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	p.visit("/missingsymbols/", "#missing")
	assert.Contains(t, p.text("#missing"), "xul.pdb")
	p.public()
	p.shot("09-missingsymbols")

	// A protected field is refused as a search term for an anonymous user.
	p.visit("/search/?url=~"+secretHost, "#error")
	assert.Contains(t, p.text("#error"), "unknown field")

	// Signed in with a token holding every permission: protected fields,
	// raw dump link and the reprocess button appear.
	key := s.createToken(t, bin, "release-manager", auth.ViewPII, auth.ViewRawDump, auth.ReprocessCrashes)
	p.visit("/signin", `input[name="token"]`)
	p.do(chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), key), chromedp.Submit(chromedp.CSS(`input[name="token"]`)),
		visible("#whoami"))
	assert.Contains(t, p.text("#whoami"), "release-manager")
	p.visit("/report/index/"+crashes[0].CrashID, "#anntable")
	assert.Contains(t, p.text("#anntable"), secretHost, "view_pii shows the url annotation")
	href := get(p, chromedp.Evaluate[string](`document.querySelector("#rawdump").getAttribute("href")`))
	assert.Contains(t, href, "/api/RawCrash/?crash_id="+crashes[0].CrashID)
	p.shot("10-report-signed-in")
	p.follow("#reprocess", "#reprocessed")
	re := s.records(t, s.Kafka.Topics().Reprocess, 1)
	require.Len(t, re, 1)
	assert.Equal(t, crashes[0].CrashID, string(re[0].Key))
	p.visit("/search/", "#searchform")
	offered = get(p, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("select[name=f] option")).map(o => o.value)`))
	assert.Contains(t, offered, "url", "view_pii offers protected fields")
	p.follow("#signout", "#signin")
	p.visit("/report/index/"+crashes[0].CrashID, "#anntable")
	p.public()
}
