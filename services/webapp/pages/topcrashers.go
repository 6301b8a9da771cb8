package pages

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/storage/clickhouse"
)

type topCrashersPage struct {
	Params    clickhouse.TopCrashersParams
	RangeType string
	Days      []int
	Limits    []int
	Versions  []string // the product's versions, for the form
	Platforms []string
	Result    *clickhouse.TopCrashersResult
	// First is each ranked signature's first appearance (date and build);
	// a signature absent from it has none recorded.
	First map[string]clickhouse.SignatureFirst
	// Base holds product/version filters for signature links.
	Base url.Values
	// FeaturedDefault is set when the URL named no version and the report
	// shows the product's featured versions (Socorro's default).
	FeaturedDefault bool
	// AllURL is the same report over every version.
	AllURL string
	// Bugs are each ranked signature's bugs, open first.
	Bugs map[string][]bugView
}

// FirstOf is sig's first appearance, nil when none is recorded.
func (t topCrashersPage) FirstOf(sig string) *clickhouse.SignatureFirst {
	if f, ok := t.First[sig]; ok {
		return &f
	}
	return nil
}

// osColumns are the per-platform count columns of the table, as Socorro
// shows them; every other os_name (and none) counts as "other".
var osColumns = []string{"Windows NT", "Mac OS X", "Linux"}

// OS returns a crasher's counts for the Win, Mac, Lin and other columns.
func (t topCrashersPage) OS(tc clickhouse.TopCrasher) [4]int64 {
	var out [4]int64
	var known int64
	for i, name := range osColumns {
		out[i] = tc.Platforms[name]
		known += out[i]
	}
	out[3] = tc.Count - known
	return out
}

// SigURL links a signature to its report over the same crashes: product,
// versions and, for the report-date range, the same window (a build-date
// window has no submission-date equivalent, so the report's default
// range applies).
func (t topCrashersPage) SigURL(sig string) string {
	v := clone(t.Base)
	v.Set("signature", sig)
	if t.RangeType == "report" && t.Result != nil {
		v["date"] = []string{">=" + t.Result.Start.Format("2006-01-02"), "<" + t.Result.End.Format("2006-01-02")}
	}
	return "/signature/?" + v.Encode()
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
		// first run: the busiest product, or a chooser saying why there is
		// none — never a bare 400
		products, err := p.productsByVolume(ctx, p.viewPII(c), vers)
		if err != nil {
			p.queryFailed(c, err)
			return
		}
		if len(products) > 0 {
			c.Redirect(http.StatusFound, "/topcrashers/?product="+url.QueryEscape(products[0].Name))
			return
		}
		p.render(c, http.StatusOK, "topcrashers", "Top crashers", topCrashersPage{Days: []int{1, 3, 7, 14, 28}, Limits: []int{50, 100, 200, 300}})
		return
	}
	tp.RangeType = rangeType
	featuredDefault := false
	if _, named := q["version"]; !named {
		// no version in the URL (not even an empty one, which is "all"):
		// the featured versions, as on Socorro
		for _, pi := range mergeProducts(nil, vers) {
			if pi.Name == tp.Product {
				for _, f := range pi.Featured {
					tp.Versions = append(tp.Versions, f.Version)
				}
			}
		}
		featuredDefault = len(tp.Versions) > 0
	}
	if err := tp.Validate(); err != nil {
		p.fail(c, http.StatusBadRequest, err.Error())
		return
	}
	page := topCrashersPage{Params: tp, RangeType: rangeType, Days: []int{1, 3, 7, 14, 28}, Limits: []int{50, 100, 200, 300},
		Platforms: []string{"Windows NT", "Mac OS X", "Linux", "Android", "iOS"}, Base: url.Values{"product": {tp.Product}},
		FeaturedDefault: featuredDefault}
	all := clone(q)
	all["version"] = []string{""}
	page.AllURL = "/topcrashers/?" + all.Encode()
	for _, v := range tp.Versions {
		page.Base.Add("version", v)
	}
	for _, v := range vers {
		if v.Product == tp.Product {
			page.Versions = append(page.Versions, v.Version)
		}
	}
	page.Result, err = p.crashes.TopCrashers(ctx, tp)
	if err != nil {
		p.queryFailed(c, err)
		return
	}
	if n := len(page.Result.Crashers); n > 0 {
		sigs := make([]string, n)
		for i, tc := range page.Result.Crashers {
			sigs[i] = tc.Signature
		}
		first, err := p.crashes.SignatureFirstDate(ctx, sigs)
		if err != nil {
			p.queryFailed(c, err)
			return
		}
		page.First = make(map[string]clickhouse.SignatureFirst, len(first))
		for _, f := range first {
			page.First[f.Signature] = f
		}
		page.Bugs = p.bugsOf(ctx, c, sigs)
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
