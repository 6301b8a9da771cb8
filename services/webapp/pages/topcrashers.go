package pages

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/clickhouse/supersearch"
)

type topCrashersPage struct {
	Params    clickhouse.TopCrashersParams
	RangeType string
	Days      []int
	Limits    []int
	Versions  []string // the product's versions, for the form
	Platforms []string
	Result    *clickhouse.TopCrashersResult
	// Base holds product/version filters for signature links.
	Base url.Values
}

// topCrashers is Socorro's top-crashers report: signatures of the window
// ranked by count, with the rank change against the previous window.
func (p *Pages) topCrashers(c *gin.Context) {
	ctx, cancel := p.ctx(c)
	defer cancel()
	q := c.Request.URL.Query()
	tp := clickhouse.TopCrashersParams{Product: q.Get("product"), Versions: nonEmpty(q["version"]), ProcessType: q.Get("process_type"),
		Platform: q.Get("platform"), Days: 7, Installs: true}
	if d := q.Get("days"); d != "" {
		tp.Days, _ = strconv.Atoi(d)
	}
	if l := q.Get("_facets_size"); l != "" {
		tp.Limit, _ = strconv.Atoi(l)
	}
	rangeType := q.Get("_range_type")
	if rangeType == "" {
		rangeType = "report"
	}
	vers, err := p.catalogue(ctx)
	if err != nil {
		p.queryFailed(c, err)
		return
	}
	if tp.Product == "" {
		if len(vers) == 0 {
			p.fail(c, http.StatusBadRequest, "Choose a product: /topcrashers/?product=<name>.")
			return
		}
		c.Redirect(http.StatusFound, "/topcrashers/?product="+url.QueryEscape(vers[0].Product))
		return
	}
	if err := tp.Validate(); err != nil {
		p.fail(c, http.StatusBadRequest, err.Error())
		return
	}
	if rangeType != "report" && rangeType != "build" {
		p.fail(c, http.StatusBadRequest, "_range_type must be report or build.")
		return
	}
	page := topCrashersPage{Params: tp, RangeType: rangeType, Days: []int{1, 3, 7, 14, 28}, Limits: []int{50, 100, 200, 300},
		Platforms: []string{"Windows NT", "Mac OS X", "Linux", "Android", "iOS"}, Base: url.Values{"product": {tp.Product}}}
	for _, v := range tp.Versions {
		page.Base.Add("version", v)
	}
	for _, v := range vers {
		if v.Product == tp.Product {
			page.Versions = append(page.Versions, v.Version)
		}
	}
	if rangeType == "build" {
		page.Result, err = p.topByBuild(ctx, p.viewPII(c), tp)
	} else {
		page.Result, err = p.crashes.TopCrashers(ctx, tp)
	}
	if err != nil {
		p.queryFailed(c, err)
		return
	}
	p.render(c, http.StatusOK, "topcrashers", "Top crashers: "+tp.Product, page)
}

func nonEmpty(xs []string) []string {
	var out []string
	for _, x := range xs {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}

// buildID is the YYYYMMDDhhmmss build id at the start of day t.
func buildID(t time.Time) string { return t.UTC().Format("20060102") + "000000" }

// topByBuild is the build-date variant (Socorro's _range_type=build): the
// window is over build ids rather than submission days, so the daily
// aggregate cannot answer it and Super Search does, on crashes submitted
// since the window began. Installs and the uptime flag are not computed
// in this mode (they are zero).
func (p *Pages) topByBuild(ctx context.Context, viewPII bool, tp clickhouse.TopCrashersParams) (*clickhouse.TopCrashersResult, error) {
	now := p.now().UTC()
	end := now.Truncate(24*time.Hour).AddDate(0, 0, 1)
	start := end.AddDate(0, 0, -tp.Days)
	prevStart := start.AddDate(0, 0, -tp.Days)
	window := func(from, to time.Time, size int, aggs bool) (*clickhouse.SearchResult, error) {
		v := url.Values{"product": {"=" + tp.Product}, "build": {">=" + buildID(from), "<" + buildID(to)},
			"date":            {">=" + from.Format("2006-01-02"), "<" + end.Format("2006-01-02")},
			"_results_number": {"0"}, "_facets": {"signature"}, "_facets_size": {strconv.Itoa(size)}}
		for _, ver := range tp.Versions {
			v.Add("version", "="+ver)
		}
		if tp.ProcessType != "" {
			v.Set("process_type", "="+tp.ProcessType)
		}
		if tp.Platform != "" {
			v.Set("os_name", "="+tp.Platform)
		}
		if aggs {
			v["_aggs.signature"] = []string{"os_name", "process_type", "startup_crash"}
		}
		q, err := supersearch.Parse(v, p.search, viewPII, now)
		if err != nil {
			return nil, err
		}
		return p.crashes.SuperSearch(ctx, q)
	}
	cur, err := window(start, end, tp.Limit, true)
	if err != nil {
		return nil, err
	}
	prev, err := window(prevStart, start, supersearch.MaxFacetSize, false)
	if err != nil {
		return nil, err
	}
	res := &clickhouse.TopCrashersResult{Start: start, End: end, Total: cur.Total}
	byGroup := func(key string) map[string]map[string]int64 {
		m := map[string]map[string]int64{}
		for _, b := range cur.Aggs[key] {
			if m[b.Group] == nil {
				m[b.Group] = map[string]int64{}
			}
			m[b.Group][b.Term] += b.Count
		}
		return m
	}
	platforms, ptypes, startup := byGroup("signature.os_name"), byGroup("signature.process_type"), byGroup("signature.startup_crash")
	prevRank := map[string]int{}
	prevCount := map[string]int64{}
	for i, b := range prev.Facets["signature"] {
		prevRank[b.Term], prevCount[b.Term] = i+1, b.Count
	}
	for i, b := range cur.Facets["signature"] {
		tc := clickhouse.TopCrasher{Rank: i + 1, Signature: b.Term, Count: b.Count, Platforms: platforms[b.Term],
			ProcessTypes: ptypes[b.Term], StartupCount: startup[b.Term]["1"]}
		if cur.Total > 0 {
			tc.Percent = float64(b.Count) / float64(cur.Total)
		}
		tc.StartupAll = tc.StartupCount == tc.Count
		tc.StartupSome = tc.StartupCount > 0
		if r, ok := prevRank[b.Term]; ok {
			tc.PrevRank, tc.RankDiff, tc.PrevCount = r, r-tc.Rank, prevCount[b.Term]
			if prev.Total > 0 {
				tc.PrevPercent = float64(tc.PrevCount) / float64(prev.Total)
			}
		} else {
			tc.New = true
		}
		res.Crashers = append(res.Crashers, tc)
	}
	return res, nil
}

// platformCounts orders a crasher's platform counts for display.
func platformCounts(m map[string]int64) []clickhouse.Bucket {
	out := make([]clickhouse.Bucket, 0, len(m))
	for k, v := range m {
		if v != 0 {
			out = append(out, clickhouse.Bucket{Term: k, Count: v})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Term < out[j].Term
	})
	return out
}
