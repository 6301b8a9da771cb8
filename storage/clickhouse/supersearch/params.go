package supersearch

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Type is how a field is compared.
type Type int

// Field types.
const (
	String Type = iota
	Number
	Bool
	Date
	List
)

func (t Type) String() string {
	return [...]string{"string", "number", "bool", "date", "list"}[t]
}

// Field is one searchable field.
type Field struct {
	// Name is the name the caller used (a Socorro alias such as build_id
	// or date stays as given), so answers are keyed as the caller asked.
	Name string
	// Canonical is the registry name behind an alias; empty when Name is
	// the registry name. Key returns whichever applies.
	Canonical string
	// Column is the ClickHouse column; the parser only carries it.
	Column string
	Type   Type
	// Protected fields need the view_pii permission, for every use.
	Protected bool
}

// Key is the field's registry name, whatever alias the caller used.
func (f Field) Key() string {
	if f.Canonical != "" {
		return f.Canonical
	}
	return f.Name
}

// Fields is the searchable field set, by name.
type Fields map[string]Field

// Limits from Socorro's Super Search, and bounds of our own on input size.
const (
	DefaultResults   = 100
	MaxResults       = 1000
	MaxWindow        = 10000
	DefaultFacetSize = 50
	MaxFacetSize     = 10000
	// MaxAggDepth bounds the fields of one _aggs.<f1>.<f2>.<f3> key, the
	// deepest Socorro's own API models use.
	MaxAggDepth  = 3
	DefaultRange = 7 * 24 * time.Hour
	MaxRange     = 365 * 24 * time.Hour
	// MaxParams bounds distinct parameter names; MaxValues the values of
	// one name; MaxValueLen the bytes of one value.
	MaxParams   = 64
	MaxValues   = 50
	MaxValueLen = 1024
)

// DateField is the field the date range applies to: the submission time,
// which never changes when a crash is reprocessed. "date" is its alias, as
// in Socorro's API.
const DateField = "submitted_timestamp"

// Aliases are Socorro's Super Search names for fields the registry names
// otherwise. "date" is Socorro's date_processed; crashstream's date is the
// submission time instead (it never changes on reprocessing, and it is the
// table's partition key), a deliberate difference SuperSearchFields states.
var aliases = map[string]string{
	"date":                    DateField,
	"build_id":                "build",
	"platform":                "os_name",
	"platform_version":        "os_version",
	"platform_pretty_version": "os_pretty_version",
}

// Aliases returns Socorro's alias names and the registry field each means.
func Aliases() map[string]string {
	out := make(map[string]string, len(aliases))
	for k, v := range aliases {
		out[k] = v
	}
	return out
}

// Canonical resolves a Socorro alias to the registry name; other names are
// returned unchanged.
func Canonical(name string) string {
	if c, ok := aliases[name]; ok {
		return c
	}
	return name
}

// Op is a filter operator.
type Op int

// Operators.
const (
	OpMatch Op = iota
	OpContains
	OpExact
	OpStartsWith
	OpEndsWith
	OpRegex
	OpGT
	OpGTE
	OpLT
	OpLTE
	OpNull
	OpTrue
)

// Term is one parsed filter value.
type Term struct {
	Op  Op
	Not bool
	// Value is the operand for string operators; Num for numbers and bools
	// (0/1); Time for dates.
	Value string
	Num   float64
	Time  time.Time
}

// IsRange reports whether the term is a comparison (ANDed with its peers).
func (t Term) IsRange() bool { return t.Op >= OpGT && t.Op <= OpLTE }

// Filter is every term given for one field.
type Filter struct {
	Field Field
	Terms []Term
}

// SortKey is one _sort entry.
type SortKey struct {
	Field Field
	Desc  bool
}

// Agg is _aggs.<f1>[.<f2>[.<f3>]]=<target>: for each combination of the By
// values, the top values of Target, or with Cardinality its distinct count
// (a target of _cardinality.<field>), or with Histogram its counts per
// interval (a target of _histogram.<field>; Histogram.Field is Target).
type Agg struct {
	By          []Field
	Target      Field
	Cardinality bool
	Histogram   *Histogram
}

// Histogram is _histogram.<field>=<terms...>: counts per interval of Field,
// optionally split by the values of Terms.
type Histogram struct {
	Field Field
	// Interval is a duration for dates (1h, 1d, 1w or 1M as MonthInterval)
	// or a positive bucket width for numbers.
	Interval string
	Terms    []Field
	// Cardinality are _cardinality.<field> terms: a distinct count per
	// bucket.
	Cardinality []Field
}

// Query is a validated Super Search request.
type Query struct {
	// From and To bound DateField: From <= t < To.
	From, To    time.Time
	Filters     []Filter
	Columns     []Field
	Sort        []SortKey
	Number      int
	Offset      int
	Facets      []Field
	FacetsSize  int
	Aggs        []Agg
	Histograms  []Histogram
	Cardinality []Field
	// Dropped lists the protected fields the caller named without the
	// permission to use them: Socorro leaves them out of the search rather
	// than refusing it, and so does Parse; the API reports them in errors.
	Dropped []Dropped
}

// EachField calls fn with every field the query names, in filters,
// columns, sort keys, facets, aggregations, histograms and cardinalities (a
// field named twice is visited twice): the one list of where a query can
// name a field, for the searcher (which columns to compute) and the tests
// (no protected field without view_pii).
func (q *Query) EachField(fn func(Field)) {
	for _, f := range q.Filters {
		fn(f.Field)
	}
	for _, f := range q.Columns {
		fn(f)
	}
	for _, s := range q.Sort {
		fn(s.Field)
	}
	for _, f := range q.Facets {
		fn(f)
	}
	for _, a := range q.Aggs {
		for _, f := range a.By {
			fn(f)
		}
		fn(a.Target)
	}
	for _, h := range q.Histograms {
		fn(h.Field)
		for _, f := range h.Terms {
			fn(f)
		}
		for _, f := range h.Cardinality {
			fn(f)
		}
	}
	for _, f := range q.Cardinality {
		fn(f)
	}
}

// Dropped is one protected field left out of a search.
type Dropped struct {
	Param string
	Field string
}

// ErrBadRequest wraps every validation error: the webapp answers 400.
var ErrBadRequest = errors.New("bad search request")

func bad(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, a...))
}

// Parse validates params. viewPII allows protected fields; without it a
// protected field named anywhere (filter, column, sort, facet, aggregation,
// histogram, cardinality) is left out of the search and listed in
// Query.Dropped, as Socorro's SuperSearch leaves out what the caller may not
// see. An unknown field is an error. now anchors the default date range.
func Parse(params url.Values, fields Fields, viewPII bool, now time.Time) (*Query, error) {
	if len(params) > MaxParams {
		return nil, bad("too many parameters (%d > %d)", len(params), MaxParams)
	}
	p := &parser{fields: fields, viewPII: viewPII}
	q := &Query{Number: DefaultResults, FacetsSize: DefaultFacetSize}
	var dateTerms []Term
	names := make([]string, 0, len(params))
	for name := range params {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic errors and filter order
	colsSet, facetsSet := false, false
	for _, name := range names {
		vals := params[name]
		if len(vals) > MaxValues {
			return nil, bad("%s: too many values (%d > %d)", name, len(vals), MaxValues)
		}
		for _, v := range vals {
			if len(v) > MaxValueLen {
				return nil, bad("%s: value longer than %d bytes", name, MaxValueLen)
			}
		}
		var err error
		switch {
		case name == "_columns":
			colsSet = true
			q.Columns, err = p.fieldList(name, splitValues(vals))
		case name == "_results_number":
			q.Number, err = intParam(name, vals, 0, MaxResults)
		case name == "_results_offset":
			q.Offset, err = intParam(name, vals, 0, MaxWindow)
		case name == "_sort":
			q.Sort, err = p.sortKeys(splitValues(vals))
		case name == "_facets":
			facetsSet = true
			err = p.facets(q, name, splitValues(vals), params)
		case name == "_facets_size":
			q.FacetsSize, err = intParam(name, vals, 0, MaxFacetSize)
		case name == "_return_query":
			err = bad("%s: not supported (crashstream has no Elasticsearch query to return)", name)
		case strings.HasPrefix(name, "_aggs."):
			var a []Agg
			a, err = p.aggs(name, splitValues(vals), params)
			q.Aggs = append(q.Aggs, a...)
		case strings.HasPrefix(name, "_histogram."):
			var h *Histogram
			if h, err = p.histogram(name, strings.TrimPrefix(name, "_histogram."), splitValues(vals), params); h != nil {
				q.Histograms = append(q.Histograms, *h)
			}
		case strings.HasPrefix(name, "_histogram_interval."):
			// read by histogram; validated there
			if _, ok := params["_histogram."+strings.TrimPrefix(name, "_histogram_interval.")]; !ok && !facetHistogram(params, name) {
				err = bad("%s without _histogram.%s", name, strings.TrimPrefix(name, "_histogram_interval."))
			}
		case strings.HasPrefix(name, "_cardinality."):
			var f Field
			var ok bool
			if f, ok, err = p.field(name, strings.TrimPrefix(name, "_cardinality.")); ok {
				q.Cardinality = append(q.Cardinality, f)
			}
		case strings.HasPrefix(name, "_"):
			err = bad("unknown parameter %q", name)
		default:
			var f Field
			var ok bool
			if f, ok, err = p.field(name, name); err != nil || !ok {
				break
			}
			var terms []Term
			if terms, err = parseTerms(f, vals); err != nil {
				break
			}
			if f.Key() == DateField {
				dateTerms = append(dateTerms, terms...)
				break
			}
			q.Filters = append(q.Filters, Filter{Field: f, Terms: terms})
		}
		if err != nil {
			return nil, err
		}
	}
	if q.Offset+q.Number > MaxWindow {
		return nil, bad("_results_offset + _results_number must be <= %d", MaxWindow)
	}
	if !colsSet {
		q.Columns = p.defaults("uuid", "date", "signature", "product", "version")
	}
	if !facetsSet {
		q.Facets = p.defaults("signature")
	}
	if len(q.Sort) == 0 {
		if f, ok := p.lookup("date"); ok {
			q.Sort = []SortKey{{Field: f, Desc: true}}
		}
	}
	if q.FacetsSize == 0 {
		// Socorro computes no aggregation at all with _facets_size=0.
		q.Facets, q.Aggs, q.Histograms, q.Cardinality = nil, nil, nil, nil
	}
	q.Dropped = p.dropped
	var err error
	q.From, q.To, err = dateRange(dateTerms, now)
	if err != nil {
		return nil, err
	}
	return q, nil
}

// facetHistogram reports whether a _histogram_interval.<f> parameter
// belongs to a _histogram.<f> value of _facets or of an _aggs parameter.
func facetHistogram(params url.Values, name string) bool {
	want := "_histogram." + strings.TrimPrefix(name, "_histogram_interval.")
	for k, vals := range params {
		if k != "_facets" && !strings.HasPrefix(k, "_aggs.") {
			continue
		}
		for _, v := range splitValues(vals) {
			if v == want {
				return true
			}
		}
	}
	return false
}

type parser struct {
	fields  Fields
	viewPII bool
	dropped []Dropped
}

// lookup resolves a name (and Socorro's aliases) to a field the caller may
// use; the returned Field keeps the name as given.
func (p *parser) lookup(name string) (Field, bool) {
	f, ok, protected := p.resolve(name)
	return f, ok && !protected
}

// resolve finds a field by name or alias; protected reports a field the
// caller may not use.
func (p *parser) resolve(name string) (f Field, ok, protected bool) {
	canon := Canonical(name)
	if name == "uuid" {
		if _, has := p.fields["uuid"]; !has {
			canon = "crash_id"
		}
	}
	f, ok = p.fields[canon]
	if !ok {
		return Field{}, false, false
	}
	if canon != name {
		f.Canonical, f.Name = f.Name, name
	}
	return f, true, f.Protected && !p.viewPII
}

// field resolves a field named in param: ok is false (and the field noted
// in dropped) for a protected field the caller may not use; an unknown
// field is an error.
func (p *parser) field(param, name string) (Field, bool, error) {
	f, ok, protected := p.resolve(name)
	if !ok {
		return Field{}, false, bad("%s: unknown field %q", param, name)
	}
	if protected {
		for _, d := range p.dropped {
			if d.Param == param && d.Field == name {
				return Field{}, false, nil
			}
		}
		p.dropped = append(p.dropped, Dropped{Param: param, Field: name})
		return Field{}, false, nil
	}
	return f, true, nil
}

func (p *parser) defaults(names ...string) []Field {
	var out []Field
	for _, n := range names {
		if f, ok := p.lookup(n); ok {
			out = append(out, f)
		}
	}
	return out
}

func (p *parser) fieldList(param string, names []string) ([]Field, error) {
	var out []Field
	seen := map[string]bool{}
	for _, n := range names {
		f, ok, err := p.field(param, n)
		if err != nil {
			return nil, err
		}
		if ok && !seen[f.Name] {
			seen[f.Name] = true
			out = append(out, f)
		}
	}
	return out, nil
}

// facets reads _facets: field names, and Socorro's _cardinality.<field>
// and _histogram.<field> values (a top-level cardinality or histogram).
func (p *parser) facets(q *Query, param string, vals []string, params url.Values) error {
	var names []string
	for _, v := range vals {
		switch {
		case strings.HasPrefix(v, "_cardinality."):
			f, ok, err := p.field(param, strings.TrimPrefix(v, "_cardinality."))
			if err != nil {
				return err
			}
			if ok {
				q.Cardinality = append(q.Cardinality, f)
			}
		case strings.HasPrefix(v, "_histogram."):
			h, err := p.histogram(param, strings.TrimPrefix(v, "_histogram."), nil, params)
			if err != nil {
				return err
			}
			if h != nil {
				q.Histograms = append(q.Histograms, *h)
			}
		default:
			names = append(names, v)
		}
	}
	var err error
	q.Facets, err = p.fieldList(param, names)
	return err
}

func (p *parser) sortKeys(names []string) ([]SortKey, error) {
	var out []SortKey
	for _, n := range names {
		desc := strings.HasPrefix(n, "-")
		f, ok, err := p.field("_sort", strings.TrimPrefix(n, "-"))
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if f.Type == List {
			return nil, bad("_sort: cannot sort on list field %s", f.Name)
		}
		out = append(out, SortKey{Field: f, Desc: desc})
	}
	return out, nil
}

// aggs reads _aggs.<f1>[.<f2>[.<f3>]]=<targets>: each target a field,
// _cardinality.<field> or _histogram.<field>. An aggregation with a dropped
// (protected) key field is left out whole; a dropped target only drops that
// target.
func (p *parser) aggs(name string, targets []string, params url.Values) ([]Agg, error) {
	parts := strings.Split(strings.TrimPrefix(name, "_aggs."), ".")
	if len(parts) > MaxAggDepth {
		return nil, bad("%s: at most %d fields in an _aggs key", name, MaxAggDepth)
	}
	var by []Field
	keep := true
	for _, part := range parts {
		f, ok, err := p.field(name, part)
		if err != nil {
			return nil, err
		}
		if f.Type == List {
			return nil, bad("%s: cannot aggregate by list field %s", name, f.Name)
		}
		keep = keep && ok
		by = append(by, f)
	}
	if len(targets) == 0 {
		return nil, bad("%s: needs a target field", name)
	}
	var out []Agg
	seen := map[string]bool{}
	for _, t := range targets {
		if seen[t] {
			continue
		}
		seen[t] = true
		if strings.HasPrefix(t, "_histogram.") {
			h, err := p.histogram(name, strings.TrimPrefix(t, "_histogram."), nil, params)
			if err != nil {
				return nil, err
			}
			if h != nil {
				out = append(out, Agg{By: by, Target: h.Field, Histogram: h})
			}
			continue
		}
		card := strings.HasPrefix(t, "_cardinality.")
		f, ok, err := p.field(name, strings.TrimPrefix(t, "_cardinality."))
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		out = append(out, Agg{By: by, Target: f, Cardinality: card})
	}
	if !keep {
		return nil, nil
	}
	return out, nil
}

// MonthInterval is the histogram interval of one calendar month.
const MonthInterval = "1M"

// dateIntervals maps Socorro's (Elasticsearch's) date histogram interval
// names to crashstream's.
var dateIntervals = map[string]string{
	"1h": "1h", "hour": "1h", "1d": "1d", "day": "1d", "1w": "1w", "week": "1w",
	MonthInterval: MonthInterval, "month": MonthInterval,
}

// histogram reads _histogram.<fname>=<terms>; param names the parameter
// for errors. A nil histogram means the field was dropped.
func (p *parser) histogram(param, fname string, terms []string, params url.Values) (*Histogram, error) {
	f, ok, err := p.field(param, fname)
	if err != nil || !ok {
		return nil, err
	}
	h := Histogram{Field: f}
	iv := params.Get("_histogram_interval." + fname)
	switch f.Type {
	case Date:
		if iv == "" {
			iv = "1d"
		}
		v, known := dateIntervals[iv]
		if !known {
			return nil, bad("_histogram_interval.%s: want 1h, 1d, 1w or 1M (or hour, day, week, month)", fname)
		}
		iv = v
	case Number:
		if iv == "" {
			iv = "1"
		}
		if n, err := strconv.ParseInt(iv, 10, 64); err != nil || n < 1 || n > 1<<40 {
			return nil, bad("_histogram_interval.%s: want a positive integer", fname)
		}
	default:
		return nil, bad("%s: histograms need a date or number field, not %s", param, fname)
	}
	h.Interval = iv
	var names []string
	for _, t := range terms {
		if !strings.HasPrefix(t, "_cardinality.") {
			names = append(names, t)
			continue
		}
		c, ok, err := p.field(param, strings.TrimPrefix(t, "_cardinality."))
		if err != nil {
			return nil, err
		}
		if ok {
			h.Cardinality = append(h.Cardinality, c)
		}
	}
	if h.Terms, err = p.fieldList(param, names); err != nil {
		return nil, err
	}
	return &h, nil
}

// splitValues flattens repeated and comma-separated values of meta
// parameters (_columns=a,b and _columns=a&_columns=b are the same).
func splitValues(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func intParam(name string, vals []string, lo, hi int) (int, error) {
	if len(vals) != 1 {
		return 0, bad("%s: want one value", name)
	}
	n, err := strconv.Atoi(strings.TrimSpace(vals[0]))
	if err != nil || n < lo || n > hi {
		return 0, bad("%s: want an integer in %d..%d", name, lo, hi)
	}
	return n, nil
}

// maxRegexLen bounds @ operands; RE2 is linear-time, the bound is on size.
const maxRegexLen = 256

func parseTerms(f Field, vals []string) ([]Term, error) {
	var out []Term
	for _, raw := range vals {
		t, err := parseTerm(f, raw)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

var prefixOps = []struct {
	s  string
	op Op
}{
	// longest first
	{">=", OpGTE}, {"<=", OpLTE}, {">", OpGT}, {"<", OpLT},
	{"~", OpContains}, {"=", OpExact}, {"^", OpStartsWith}, {"$", OpEndsWith}, {"@", OpRegex},
}

func parseTerm(f Field, raw string) (Term, error) {
	var t Term
	v := raw
	if strings.HasPrefix(v, "!") {
		t.Not = true
		v = v[1:]
	}
	switch v {
	case "__null__":
		t.Op = OpNull
		return t, nil
	case "__true__":
		if f.Type != Bool {
			return t, bad("%s: __true__ needs a bool field", f.Name)
		}
		t.Op, t.Num = OpTrue, 1
		return t, nil
	}
	for _, po := range prefixOps {
		if strings.HasPrefix(v, po.s) {
			t.Op = po.op
			v = v[len(po.s):]
			break
		}
	}
	switch f.Type {
	case String, List:
		if t.IsRange() {
			return t, bad("%s: comparison operators need a number or date field", f.Name)
		}
		if t.Op == OpRegex {
			if len(v) > maxRegexLen {
				return t, bad("%s: regex longer than %d bytes", f.Name, maxRegexLen)
			}
			if _, err := regexp.Compile(v); err != nil {
				return t, bad("%s: bad regex: %v", f.Name, err)
			}
		}
		t.Value = v
	case Number:
		if t.Op != OpMatch && t.Op != OpExact && !t.IsRange() {
			return t, bad("%s: operator not valid for numbers", f.Name)
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || n != n || n > 1e18 || n < -1e18 {
			return t, bad("%s: %q is not a number", f.Name, v)
		}
		t.Num = n
	case Bool:
		if t.Op != OpMatch && t.Op != OpExact {
			return t, bad("%s: operator not valid for bools", f.Name)
		}
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "1", "true", "t", "yes", "y":
			t.Num = 1
		case "0", "false", "f", "no", "n":
			t.Num = 0
		default:
			return t, bad("%s: %q is not a boolean", f.Name, v)
		}
	case Date:
		if !t.IsRange() && t.Op != OpMatch && t.Op != OpExact {
			return t, bad("%s: operator not valid for dates", f.Name)
		}
		tm, day, err := parseDate(v)
		if err != nil {
			return t, bad("%s: %v", f.Name, err)
		}
		t.Time = tm
		if (t.Op == OpMatch || t.Op == OpExact) && day {
			// a bare day means that whole day; keep it as a range pair
			// marker: Value "day" tells the SQL builder.
			t.Value = "day"
		}
	}
	return t, nil
}

// dateLayouts are the date-time forms Socorro accepts (ISO 8601 with a T
// or a space, with or without seconds, fraction and zone); a missing zone
// means UTC.
var dateLayouts = []string{
	"2006-01-02T15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999Z07",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
}

// parseDate accepts what Socorro's string_to_datetime does: YYYY-MM-DD, and
// YYYY-MM-DD[T ]HH:MM[:SS[.frac]][Z|±HH[:MM]], UTC when no zone is given;
// day reports the date-only form.
func parseDate(s string) (t time.Time, day bool, err error) {
	s = strings.TrimSpace(s)
	if len(s) <= len("2006-01-02") {
		if tm, err := time.Parse("2006-01-02", s); err == nil {
			tm, _, err := clampDate(tm)
			return tm, true, err
		}
	} else if s[10] == ' ' || s[10] == 'T' || s[10] == 't' {
		iso := s[:10] + "T" + strings.TrimLeft(s[11:], " ")
		for _, layout := range dateLayouts {
			if tm, err := time.Parse(layout, iso); err == nil {
				return clampDate(tm.UTC())
			}
		}
	}
	return time.Time{}, false, fmt.Errorf("%q is not a date (want YYYY-MM-DD, or YYYY-MM-DD HH:MM:SS or ISO 8601 with an optional zone)", s)
}

// clampDate rejects times outside ClickHouse's DateTime range.
func clampDate(t time.Time) (time.Time, bool, error) {
	if t.Year() < 1971 || t.Year() > 2105 {
		return time.Time{}, false, fmt.Errorf("date %s out of range", t.Format(time.RFC3339))
	}
	return t, false, nil
}

// dateRange turns the terms on DateField into [from, to): lower bounds
// (>, >=) and upper bounds (<, <=) intersect, a bare day is that day;
// missing bounds default to now and to 7 days before the upper bound.
func dateRange(terms []Term, now time.Time) (time.Time, time.Time, error) {
	var from, to time.Time
	lower := func(t time.Time) {
		if from.IsZero() || t.After(from) {
			from = t
		}
	}
	upper := func(t time.Time) {
		if to.IsZero() || t.Before(to) {
			to = t
		}
	}
	for _, t := range terms {
		if t.Not || t.Op == OpNull {
			return from, to, bad("date: negation and __null__ are not supported on the date range")
		}
		switch t.Op {
		case OpGT:
			lower(t.Time.Add(time.Second))
		case OpGTE:
			lower(t.Time)
		case OpLT:
			upper(t.Time)
		case OpLTE:
			upper(t.Time.Add(time.Second))
		default:
			lower(t.Time)
			if t.Value == "day" {
				upper(t.Time.Add(24 * time.Hour))
			} else {
				upper(t.Time.Add(time.Second))
			}
		}
	}
	if to.IsZero() {
		to = now.UTC().Truncate(time.Second).Add(time.Second)
	}
	if from.IsZero() {
		from = to.Add(-DefaultRange)
	}
	if !from.Before(to) {
		return from, to, bad("date: empty range %s .. %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	if to.Sub(from) > MaxRange {
		return from, to, bad("date: range longer than 365 days")
	}
	return from, to, nil
}

// RefuseDropped returns an error naming the first protected field Parse
// left out, or nil: for callers (the HTML pages) that refuse such a search
// instead of answering without the field. The message is the one an
// unknown field gets.
func (q *Query) RefuseDropped() error {
	if len(q.Dropped) == 0 {
		return nil
	}
	d := q.Dropped[0]
	return bad("%s: unknown field %q", d.Param, d.Field)
}
