package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/services/lib/repotest"
	"github.com/crashstream/crashstream/tests/internal/realworld"
	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

// axeVersion is the axe-core that tests/browser/install.sh installs.
const axeVersion = "4.10.2"

// axeSource reads axe-core's script, installed by tests/browser/install.sh
// (make oracles); the test skips without it.
func axeSource(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CRASHSTREAM_STACK_DIR")
	if dir == "" {
		dir = filepath.Join(repotest.Root(t), ".stack")
	}
	b, err := os.ReadFile(filepath.Join(dir, "axe-"+axeVersion, "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Skipf("axe-core is not installed (tests/browser/install.sh): %v", err)
	}
	return string(b)
}

// violation is one axe-core rule a page breaks.
type violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  int    `json:"nodes"`
	Target string `json:"target"`
}

// axe runs axe-core in the page (injected through the DevTools protocol,
// which the pages' script-src 'none' does not apply to) and returns the
// violations of serious or critical impact, and logs the others.
func (p *page) axe(src, name string) {
	p.t.Helper()
	get(p, chromedp.Evaluate[bool](src+";true"))
	raw := get(p, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations.map(v =>
		({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length, target: String(v.nodes[0] && v.nodes[0].target)}))))`, chromedp.EvalAwaitPromise))
	var vs []violation
	require.NoError(p.t, json.Unmarshal([]byte(raw), &vs))
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			p.t.Errorf("%s: axe %s (%s) on %d nodes, first %s: %s", name, v.ID, v.Impact, v.Nodes, v.Target, v.Help)
		} else {
			p.t.Logf("%s: axe %s (%s, tolerated) on %d nodes: %s", name, v.ID, v.Impact, v.Nodes, v.Help)
		}
	}
}

// documentStatuses records the status of every document the browser loads.
type documentStatuses struct {
	mu  sync.Mutex
	bad []string
	n   int
}

func (d *documentStatuses) listen(t *testing.T, ctx context.Context) {
	t.Helper()
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		if r, ok := ev.(*network.EventResponseReceived); ok && r.Type == network.ResourceTypeDocument {
			d.mu.Lock()
			defer d.mu.Unlock()
			d.n++
			if r.Response.Status >= 400 {
				d.bad = append(d.bad, fmt.Sprintf("%d %s", r.Response.Status, r.Response.URL))
			}
		}
	}))
}

// TestRealWorldJourneys browses the real-world data set (pushed through
// the real pipeline by realworld.Load, default rate limits) in Chromium, as
// an anonymous user and signed in: home, each product's top crashers, a
// signature, its reports, one report, Super Search, a facet term, and back.
// No document answers 4xx or 5xx; every kind of page is scanned with
// axe-core (no serious or critical violation) and kept as a screenshot
// under tests/artifacts/browser/realworld.
func TestRealWorldJourneys(t *testing.T) {
	stacktest.RequireStack(t)
	chromium(t)
	axeJS := axeSource(t)
	e := realworld.Load(t)
	shots := filepath.Join(artifactDir(t), "realworld")
	require.NoError(t, os.MkdirAll(shots, 0o755))
	key := e.Token(t, "journeys", auth.ViewPII)

	for _, who := range []string{"anonymous", "signed-in"} {
		t.Run(who, func(t *testing.T) {
			ctx := newBrowser(t)
			statuses := &documentStatuses{}
			statuses.listen(t, ctx)
			p := &page{t: t, ctx: ctx, base: e.Base, shots: shots}
			step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
				t.Helper()
				sctx, cancel := context.WithTimeout(ctx, 45*time.Second) // a wait that never matches fails here
				defer cancel()
				require.NoError(t, chromedp.Do(sctx, actions...), "%s (at %s)", what, p.location())
			}
			// back goes one page back and waits for sel there (a page restored
			// from the back-forward cache fires no load event to wait for)
			back := func(sel string) {
				t.Helper()
				from := p.location()
				get(p, chromedp.Evaluate[bool](`history.back(); true`))
				// chromedp's node waits do not follow a restored document:
				// poll the page itself
				found := false
				for i := 0; i < 150 && !found; i++ {
					time.Sleep(200 * time.Millisecond)
					found = p.location() != from && get(p, chromedp.Evaluate[bool](`document.querySelector(`+strconv.Quote(sel)+`) !== null`))
				}
				require.True(t, found, "back from %s: %s not found at %s", from, sel, p.location())
			}
			visit := func(path, sel string) { t.Helper(); step("visit "+path, chromedp.Navigate(e.Base+path), visible(sel)) }
			follow := func(sel, wait string) {
				t.Helper()
				get(p, chromedp.Evaluate[bool](`(document.body.dataset.old = "1") === "1"`))
				step("follow "+sel, chromedp.Click(chromedp.CSS(sel)), visible("body:not([data-old]) "+wait))
			}
			scanned := map[string]bool{}
			visitAndScan := func(kind string) {
				t.Helper()
				if !scanned[kind] {
					scanned[kind] = true
					p.axe(axeJS, who+" "+kind)
					p.shot(who + "-" + kind)
				}
			}
			if who == "signed-in" {
				visit("/signin", `input[name="token"]`)
				p.do(chromedp.SendKeys(chromedp.CSS(`input[name="token"]`), key), chromedp.Submit(chromedp.CSS(`input[name="token"]`)),
					visible("#whoami"))
			}

			visit("/", "#products")
			for _, prod := range e.Products {
				assert.Contains(t, p.text("#products"), prod)
			}
			visitAndScan("01-home")

			// first run: the busiest product's top crashers
			visit("/topcrashers/", "#tcform")
			assert.Contains(t, p.location(), "/topcrashers/?product=")

			for i, prod := range e.Products {
				visit("/", "#products")
				follow(`a.tc[href="/topcrashers/?product=`+url.QueryEscape(prod)+`"]`, "#tcform")
				visitAndScan("02-topcrashers")
				hasRows := get(p, chromedp.Evaluate[bool](`document.querySelector("#topcrashers a.siglink") !== null`))
				if !hasRows {
					assert.Contains(t, p.text("main"), "match", "%s: an empty report says why", prod)
					continue
				}
				if i%2 == 1 && who == "anonymous" {
					continue // half the products go on to their signatures, for time
				}
				follow("#topcrashers a.siglink", "#sigtotal")
				visitAndScan("03-signature")
				follow("#tab-reports", "#results")
				visitAndScan("04-signature-reports")
				follow("#results a.report", "#detailslist")
				visitAndScan("05-report")
				back("#results")
			}

			// the non-ASCII and the longest signature
			for _, sig := range []string{realworld.NonASCIISignature, realworld.LongSignature} {
				visit("/signature/?signature="+url.QueryEscape(sig), "#sigtotal")
				assert.Equal(t, sig, p.text("#signature"), "the signature reads as it is, escaped once")
				visitAndScan("03b-signature-unusual")
			}

			// Super Search: results first, then facets whose terms are links
			visit("/search/?product="+url.QueryEscape(realworld.Firefox)+"&_facets=version&_facets=signature", "#results")
			visitAndScan("06-search")
			before := p.location()
			follow(`#facet-version a.term`, "#results")
			assert.Contains(t, p.location(), "version=%3D", "a facet term adds an exact filter")
			visitAndScan("07-search-facet")
			back("#results")
			assert.Equal(t, before, p.location())
			visit(strings.TrimPrefix(before, e.Base), "#results") // a fresh document for chromedp's node tracking
			follow(`#facet-signature a.term`, "#sigtotal")
			visit("/missingsymbols/", "main")
			visitAndScan("08-missingsymbols")
			// the alerts the data set raised, each linking its signature report
			visit("/alerts/", "#alert-firings")
			visitAndScan("08b-alerts")
			follow(`#alert-firings a[href^="/signature/"]`, "#sigtotal")
			visit("/report/index/"+strings.Repeat("0", 8)+"-0000-4000-8000-000000261204", "#error")
			visitAndScan("09-notfound")

			statuses.mu.Lock()
			defer statuses.mu.Unlock()
			t.Logf("%d documents loaded", statuses.n)
			// the not-found report is the one deliberate 4xx of the walk
			var bad []string
			for _, b := range statuses.bad {
				if !strings.Contains(b, "/report/index/00000000-") {
					bad = append(bad, b)
				}
			}
			assert.Empty(t, bad, "no document answered 4xx or 5xx")
		})
	}
}
