package pages

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/clickhouse/supersearch"
)

// Defaults of the signature report (all public fields).
const (
	sigFacets  = "product,version,os_name,os_pretty_version,process_type,cpu_arch,release_channel,reason,startup_crash"
	sigColumns = "crash_id,submitted_timestamp,product,version,build,os_name,process_type,reason,address"
	sigResults = "50"
)

// facetTable is one aggregation of a result.
type facetTable struct {
	Field   string
	Buckets []clickhouse.Bucket
	Total   int64
	// Base is the query the table came from, which a term's link narrows.
	Base url.Values
	// Bool marks a boolean field, whose terms (1, 0) show as true, false.
	Bool bool
}

// Display is how a term reads: booleans as true/false.
func (f facetTable) Display(term string) string {
	if f.Bool {
		switch term {
		case "1":
			return "true"
		case "0":
			return "false"
		}
	}
	return term
}

// Link is where a facet term leads: a signature to its signature report,
// any other term to Super Search with the same query plus an exact filter
// on the term ("" for an empty term, which has no exact filter).
func (f facetTable) Link(term string) string {
	if term == "" {
		return ""
	}
	if f.Field == "signature" {
		return "/signature/?" + url.Values{"signature": {term}}.Encode()
	}
	v := url.Values{}
	for k, vs := range f.Base {
		switch k {
		case "_form", "_results_offset", "tab", "f", "op", "v":
		default:
			v[k] = append([]string(nil), vs...)
		}
	}
	v.Add(f.Field, "="+term)
	return "/search/?" + v.Encode()
}

// resultTable is a page of hits with the controls to sort and page it.
type resultTable struct {
	Columns []supersearch.Field
	Rows    [][]any
	IDCol   int // index of crash_id in Columns, -1 if absent
	Sort    string
	Offset  int
	Number  int
	Total   int64
	Path    string
	Params  url.Values
}

// SortURL is the page's URL sorted by name (toggling the direction when it
// is already the sort key).
func (t resultTable) SortURL(name string) string {
	v := clone(t.Params)
	if t.Sort == name {
		name = "-" + name
	}
	v.Set("_sort", name)
	v.Del("_results_offset")
	return t.Path + "?" + v.Encode()
}

// PageURL is the URL of the page at offset.
func (t resultTable) PageURL(offset int) string {
	v := clone(t.Params)
	v.Set("_results_offset", strconv.Itoa(offset))
	return t.Path + "?" + v.Encode()
}

// Prev and Next are the neighbouring page offsets (-1 when none).
func (t resultTable) Prev() int {
	if t.Offset == 0 {
		return -1
	}
	return max(0, t.Offset-t.Number)
}

// Next is the next page's offset, -1 on the last page or past the window.
func (t resultTable) Next() int {
	n := t.Offset + t.Number
	if int64(n) >= t.Total || n+t.Number > supersearch.MaxWindow || t.Number == 0 {
		return -1
	}
	return n
}

func clone(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func newResultTable(path string, params url.Values, q *supersearch.Query, res *clickhouse.SearchResult) resultTable {
	t := resultTable{Columns: q.Columns, IDCol: -1, Offset: q.Offset, Number: q.Number, Total: res.Total, Path: path, Params: params}
	if len(q.Sort) > 0 {
		t.Sort = q.Sort[0].Field.Name
		if q.Sort[0].Desc {
			t.Sort = "-" + t.Sort
		}
	}
	for i, f := range q.Columns {
		if f.Name == "crash_id" || f.Name == "uuid" {
			t.IDCol = i
		}
	}
	for _, h := range res.Hits {
		row := make([]any, len(q.Columns))
		for i, f := range q.Columns {
			row[i] = h[f.Name]
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

func facetTables(q *supersearch.Query, res *clickhouse.SearchResult, base url.Values) []facetTable {
	var out []facetTable
	for _, f := range q.Facets {
		out = append(out, facetTable{Field: f.Name, Buckets: res.Facets[f.Name], Total: res.Total, Base: base, Bool: f.Type == supersearch.Bool})
	}
	return out
}

type signaturePage struct {
	Signature  string
	Tab        string
	Tabs       []tabLink
	First      *clickhouse.SignatureFirst
	Total      int64
	Installs   uint64
	Platforms  []clickhouse.Bucket
	Versions   []clickhouse.Bucket
	Products   []clickhouse.Bucket
	From, To   string
	Facets     []facetTable
	Results    resultTable
	Chart      Chart
	SearchLink string
	Bugs       bugsSection
	Corr       correlationsSection
}

// tabLink is one tab of the signature report.
type tabLink struct{ Name, Label, URL string }

// Signature report tabs. As in Socorro, each tab runs only its own query:
// at a million crashes every Super Search pass deduplicates the whole date
// range, so the summary does not pay for the report list and the graph.
const (
	tabSummary = "summary"  // summary and aggregations (facets)
	tabReports = "reports"  // the reports list (columns, sort, paging)
	tabGraph   = "graph"    // crashes per day by version
	tabBugs    = "bugzilla" // the bugs whose crash-signature field lists it
)

// signature is the signature report: summary with aggregations, reports
// and the crashes-per-day graph by version, each tab one Super Search
// query whose parameters are the page's own (so the URL can be shared and
// narrowed with any Super Search filter).
func (p *Pages) signature(c *gin.Context) {
	ctx, cancel := p.ctx(c)
	defer cancel()
	params := c.Request.URL.Query()
	sig := params.Get("signature")
	if sig == "" {
		p.fail(c, http.StatusBadRequest, "The signature report needs ?signature=<signature>.")
		return
	}
	tab := params.Get("tab")
	if tab == "" {
		tab = tabSummary
	}
	params.Del("tab")
	q := clone(params)
	q.Set("signature", "="+sig)
	switch tab {
	case tabSummary:
		setDefault(q, "_facets", sigFacets)
		q.Set("_results_number", "0")
		q.Set("_cardinality.install_time", "1")
	case tabReports:
		q.Set("_facets", "")
		setDefault(q, "_columns", sigColumns)
		setDefault(q, "_results_number", sigResults)
	case tabGraph:
		q.Set("_facets", "")
		q.Set("_results_number", "0")
		q.Set("_histogram."+supersearch.DateField, "version")
	case tabBugs, tabCorrelations:
		q.Set("_facets", "product")
		q.Set("_results_number", "0")
	default:
		p.fail(c, http.StatusBadRequest, "tab must be summary, reports, graph, bugzilla or correlations.")
		return
	}
	query, err := supersearch.Parse(q, p.search, p.viewPII(c), p.now())
	if err == nil {
		err = query.RefuseDropped() // the pages refuse what the API drops
	}
	if err != nil {
		p.queryFailed(c, err)
		return
	}
	res, err := p.crashes.SuperSearch(ctx, query)
	if err != nil {
		p.queryFailed(c, err)
		return
	}
	page := signaturePage{Signature: sig, Tab: tab, Total: res.Total, Installs: res.Cardinality["install_time"],
		Platforms: res.Facets["os_name"], Versions: res.Facets["version"], Products: res.Facets["product"],
		From: query.From.Format("2006-01-02 15:04"), To: query.To.Format("2006-01-02 15:04")}
	for _, t := range []tabLink{{tabSummary, "Summary and aggregations", ""}, {tabReports, "Reports", ""}, {tabGraph, "Graph", ""}, {tabBugs, "Bugzilla", ""}, {tabCorrelations, "Correlations", ""}} {
		v := clone(params)
		if t.Name != tabSummary {
			v.Set("tab", t.Name)
		}
		t.URL = "/signature/?" + v.Encode()
		page.Tabs = append(page.Tabs, t)
	}
	switch tab {
	case tabSummary:
		page.Facets = facetTables(query, res, params)
		first, err := p.crashes.SignatureFirstDate(ctx, []string{sig})
		if err != nil {
			p.queryFailed(c, err)
			return
		}
		if len(first) > 0 {
			page.First = &first[0]
		}
	case tabReports:
		rp := clone(params)
		rp.Set("tab", tabReports)
		page.Results = newResultTable("/signature/", rp, query, res)
	case tabGraph:
		page.Chart = dailyChart(res.Histograms[supersearch.DateField+".version"], query.From, query.To)
	case tabBugs:
		product := params.Get("product")
		if product == "" && len(res.Facets["product"]) > 0 {
			product = res.Facets["product"][0].Term // the signature's busiest product
		}
		page.Bugs = p.bugsSection(ctx, c, sig, product, "")
	case tabCorrelations:
		product := paramValue(params.Get("product"))
		if product == "" && len(res.Facets["product"]) > 0 {
			product = res.Facets["product"][0].Term
		}
		page.Corr.Configured = p.correlations != nil
		if p.correlations != nil && product != "" {
			cr, err := p.correlations.Correlations(ctx, clickhouse.CorrelationParams{Signature: sig, Product: product,
				Channel: paramValue(params.Get("release_channel"))})
			if err != nil {
				p.queryFailed(c, err)
				return
			}
			page.Corr.Result = cr
		}
	}
	sp := clone(params)
	sp.Set("signature", "="+sig)
	page.SearchLink = "/search/?" + sp.Encode()
	p.render(c, http.StatusOK, "signature", "Signature report", page)
}

// setDefault sets k to v unless the request gave it.
func setDefault(q url.Values, k, v string) {
	if len(nonEmpty(q[k])) == 0 {
		q.Set(k, v)
	}
}
