// Package realworld_test pushes the real-world data set (tests/internal/
// realworld) through the real pipeline — collector, processor, ClickHouse
// and object-store sinks, webapp, all as the crashstream binary — and asks
// every page and API call a user makes about every product, signature and
// crash of it. Each must answer 200 or a deliberate 4xx; a 5xx fails the
// test with the request id and the body.
package realworld_test

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/tests/internal/realworld"
	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, stacktest.LeakOptions()...) }

type answer struct {
	code int
	body string
	id   string
}

func get(t *testing.T, u, token string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Auth-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	require.NoError(t, err)
	return answer{code: resp.StatusCode, body: string(b), id: resp.Header.Get("X-Request-Id")}
}

// TestRealWorldAnswers is the "200 on every product and signature".
func TestRealWorldAnswers(t *testing.T) {
	e := realworld.Load(t,
		// the API calls below are one client's; the limits have their own tests
		"CRASHSTREAM_WEBAPP_RATELIMIT_SEARCH_ANONYMOUS=100000", "CRASHSTREAM_WEBAPP_RATELIMIT_SEARCH_TOKEN=100000",
		"CRASHSTREAM_WEBAPP_RATELIMIT_API_ANONYMOUS=100000", "CRASHSTREAM_WEBAPP_RATELIMIT_API_TOKEN=100000")
	base, products, signatures, ids := e.Base, e.Products, e.Signatures, e.CrashIDs
	key := e.Token(t, "realworld", auth.ViewPII)
	t.Logf("products %q; %d signatures; %d crashes", products, len(signatures), len(ids))
	for _, p := range e.Set.Products() {
		assert.Contains(t, products, p)
	}
	for _, s := range []string{realworld.LongSignature, realworld.NonASCIISignature, realworld.PreviousOnlySignature, realworld.RetentionSignature} {
		assert.Contains(t, signatures, s)
	}

	check := func(u, token string, okStatus ...int) {
		t.Helper()
		a := get(t, base+u, token)
		short := u
		if len(short) > 160 {
			short = short[:160] + "..."
		}
		if a.code >= 500 {
			t.Errorf("GET %s (token %v): %d, request id %s: %.400s", short, token != "", a.code, a.id, a.body)
			return
		}
		allowed := append([]int{http.StatusOK}, okStatus...)
		if !slices.Contains(allowed, a.code) {
			t.Errorf("GET %s (token %v): %d, want one of %v; request id %s: %.300s", short, token != "", a.code, allowed, a.id, a.body)
		}
	}
	q := url.QueryEscape
	for _, tok := range []string{"", key} {
		check("/", tok)
		check("/topcrashers/", tok) // first run: the busiest product, not a bare 400
		check("/search/", tok)
		check("/missingsymbols/", tok)
		check("/alerts/", tok)
		check("/api/Alerts/?days=28", tok)
		for _, p := range append(products, realworld.Broken, "NoSuchProduct") {
			for _, days := range []string{"1", "7", "28"} {
				check("/topcrashers/?product="+q(p)+"&days="+days, tok)
				check("/topcrashers/?product="+q(p)+"&days="+days+"&_range_type=build", tok)
			}
			check("/home/product/"+url.PathEscape(p), tok)
			check("/search/?product="+q(p)+"&_facets=signature&_facets=install_time", tok)
			check("/api/TopCrashers/?product="+q(p), tok)
			check("/api/TopCrashers/?product="+q(p)+"&installs=1&days=28", tok)
			check("/api/SuperSearch/?product="+q(p)+"&_cardinality.install_time=&_cardinality.startup_time=&_facets=version&_histogram.date=signature", tok)
		}
		for _, s := range signatures {
			check("/signature/?signature="+q(s), tok)
			check("/signature/?signature="+q(s)+"&date=>="+time.Now().UTC().AddDate(0, 0, -180).Format("2006-01-02"), tok)
			check("/search/?signature="+q("="+s), tok)
			check("/api/SuperSearch/?signature="+q("="+s)+"&_cardinality.install_time=&_facets=uptime", tok)
			check("/api/SignatureFirstDate/?signatures="+q(s), tok)
			check("/signature/?signature="+q(s)+"&tab=bugzilla", tok)
			check("/signature/?signature="+q(s)+"&tab=correlations", tok)
			check("/api/Bugs/?signatures="+q(s), tok)
			for _, p := range products {
				check("/api/Correlations/?signature="+q(s)+"&product="+q(p)+"&days=28", tok)
			}
		}
		for cid := range ids {
			check("/report/index/"+cid, tok, http.StatusNotFound)
			check("/api/ProcessedCrash/?crash_id="+cid, tok, http.StatusNotFound)
		}
	}
	if t.Failed() {
		t.Logf("webapp log:\n%s", e.Webapp.Stderr)
	}
}
