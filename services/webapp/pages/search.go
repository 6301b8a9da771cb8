package pages

import (
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/storage/clickhouse/supersearch"
)

// searchOp is one operator of the search form: its URL prefix and label.
type searchOp struct{ Prefix, Label string }

// searchOps are the form's operators, longest prefixes first within each
// kind so splitOp can find them. "__null__" is a whole value, not a prefix.
func searchOps() []searchOp {
	return []searchOp{
		{"", "is"}, {"!", "is not"}, {"~", "contains"}, {"!~", "does not contain"}, {"=", "is exactly"},
		{"^", "starts with"}, {"$", "ends with"}, {"@", "matches regex"}, {">=", ">="}, {">", ">"}, {"<=", "<="}, {"<", "<"},
		{"__null__", "is missing"}, {"!__null__", "exists"}, {"__true__", "is true"},
	}
}

// filterRow is one row of the form.
type filterRow struct{ Field, Op, Value string }

// splitOp splits a URL value into operator prefix and operand.
func splitOp(v string) (string, string) {
	switch v {
	case "__null__", "!__null__", "__true__", "!__true__":
		return v, ""
	}
	best := ""
	for _, o := range searchOps() {
		if o.Prefix != "" && !strings.HasPrefix(o.Prefix, "_") && !strings.HasPrefix(o.Prefix, "!_") &&
			strings.HasPrefix(v, o.Prefix) && len(o.Prefix) > len(best) {
			best = o.Prefix
		}
	}
	return best, v[len(best):]
}

// maxFormRows bounds the filter rows a form submission may carry.
const maxFormRows = 20

// canonical turns a form submission (f/op/v rows, date_from/date_to and
// the meta selects) into Super Search URL parameters.
func canonical(form url.Values) url.Values {
	out := url.Values{}
	fs, ops, vs := form["f"], form["op"], form["v"]
	for i := 0; i < len(fs) && i < maxFormRows; i++ {
		if fs[i] == "" {
			continue
		}
		op, v := "", ""
		if i < len(ops) {
			op = ops[i]
		}
		if i < len(vs) {
			v = strings.TrimSpace(vs[i])
		}
		switch op {
		case "__null__", "!__null__", "__true__":
			out.Add(fs[i], op)
		default:
			if v != "" {
				out.Add(fs[i], op+v)
			}
		}
	}
	if d := strings.TrimSpace(form.Get("date_from")); d != "" {
		out.Add("date", ">="+d)
	}
	if d := strings.TrimSpace(form.Get("date_to")); d != "" {
		out.Add("date", "<"+d)
	}
	for _, k := range []string{"_facets", "_columns"} {
		if vals := nonEmpty(form[k]); len(vals) > 0 {
			out.Set(k, strings.Join(vals, ","))
		}
	}
	for _, k := range []string{"_sort", "_results_number"} {
		if v := form.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	return out
}

type searchPage struct {
	Fields   []supersearch.Field
	Ops      []searchOp
	Rows     []filterRow
	DateFrom string
	DateTo   string
	Facets   map[string]bool
	Columns  map[string]bool
	Sort     string
	Number   int
	Error    string
	Ran      bool
	Result   resultTable
	FacetTbl []facetTable
}

// superSearch is the search form and its results. The URL holds the query
// in Super Search's own parameters, so a search can be shared; a form
// submission (_form=1) is redirected to that canonical URL.
func (p *Pages) superSearch(c *gin.Context) {
	params := c.Request.URL.Query()
	if params.Get("_form") == "1" {
		c.Redirect(http.StatusFound, "/search/?"+canonical(params).Encode())
		return
	}
	viewPII := p.viewPII(c)
	page := searchPage{Ops: searchOps(), Facets: map[string]bool{}, Columns: map[string]bool{}}
	for _, f := range p.search {
		if !f.Protected || viewPII {
			page.Fields = append(page.Fields, f)
		}
	}
	sort.Slice(page.Fields, func(i, j int) bool { return page.Fields[i].Name < page.Fields[j].Name })
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if strings.HasPrefix(k, "_") {
			continue
		}
		for _, v := range params[k] {
			if k == "date" || k == supersearch.DateField {
				op, d := splitOp(v)
				if strings.HasPrefix(op, ">") {
					page.DateFrom = d
				} else if strings.HasPrefix(op, "<") {
					page.DateTo = d
				}
				continue
			}
			op, val := splitOp(v)
			page.Rows = append(page.Rows, filterRow{Field: k, Op: op, Value: val})
		}
	}
	page.Rows = append(page.Rows, filterRow{}, filterRow{})
	ctx, cancel := p.ctx(c)
	defer cancel()
	q, err := supersearch.Parse(params, p.search, viewPII, p.now())
	if err == nil {
		err = q.RefuseDropped() // the pages refuse what the API drops
	}
	if err != nil {
		page.Error = err.Error()
		p.render(c, http.StatusBadRequest, "search", "Super Search", page)
		return
	}
	for _, f := range q.Facets {
		page.Facets[f.Name] = true
	}
	for _, f := range q.Columns {
		page.Columns[f.Name] = true
	}
	if len(q.Sort) > 0 {
		page.Sort = q.Sort[0].Field.Name
		for _, f := range page.Fields { // an alias (date) selects its field's option
			if f.Column == q.Sort[0].Field.Column {
				page.Sort = f.Name
			}
		}
		if q.Sort[0].Desc {
			page.Sort = "-" + page.Sort
		}
	}
	page.Number = q.Number
	res, err := p.crashes.SuperSearch(ctx, q)
	if err != nil {
		p.queryFailed(c, err)
		return
	}
	page.Ran = true
	page.Result = newResultTable("/search/", params, q, res)
	page.FacetTbl = facetTables(q, res, params)
	p.render(c, http.StatusOK, "search", "Super Search", page)
}
