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
	// Name is the public (API) name.
	Name string
	// Column is the ClickHouse column; the parser only carries it.
	Column string
	Type   Type
	// Protected fields need the view_pii permission, for every use.
	Protected bool
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
	DefaultRange     = 7 * 24 * time.Hour
	MaxRange         = 365 * 24 * time.Hour
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

// Agg is _aggs.<field>[.<field2>]=<target>: for each value of By (and By2),
// the top values of Target.
type Agg struct {
	By, By2 *Field
	Target  Field
}

// Histogram is _histogram.<field>=<terms...>: counts per interval of Field,
// optionally split by the values of Terms.
type Histogram struct {
	Field Field
	// Interval is a duration for dates (1h, 1d, 1w or 1M as MonthInterval)
	// or a positive bucket width for numbers.
	Interval string
	Terms    []Field
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
}

// ErrBadRequest wraps every validation error: the webapp answers 400.
var ErrBadRequest = errors.New("bad search request")

func bad(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, a...))
}

// Parse validates params. viewPII allows protected fields; without it a
// protected field is rejected wherever it appears, as if it did not exist.
// now anchors the default date range.
func Parse(params url.Values, fields Fields, viewPII bool, now time.Time) (*Query, error) {
	if len(params) > MaxParams {
		return nil, bad("too many parameters (%d > %d)", len(params), MaxParams)
	}
	p := parser{fields: fields, viewPII: viewPII}
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
			q.Facets, err = p.fieldList(name, splitValues(vals))
		case name == "_facets_size":
			q.FacetsSize, err = intParam(name, vals, 1, MaxFacetSize)
		case strings.HasPrefix(name, "_aggs."):
			var a []Agg
			a, err = p.aggs(name, splitValues(vals))
			q.Aggs = append(q.Aggs, a...)
		case strings.HasPrefix(name, "_histogram."):
			var h Histogram
			h, err = p.histogram(name, splitValues(vals), params)
			q.Histograms = append(q.Histograms, h)
		case strings.HasPrefix(name, "_histogram_interval."):
			// read by histogram; validated there
			if _, ok := params["_histogram."+strings.TrimPrefix(name, "_histogram_interval.")]; !ok {
				err = bad("%s without _histogram.%s", name, strings.TrimPrefix(name, "_histogram_interval."))
			}
		case strings.HasPrefix(name, "_cardinality."):
			var f Field
			f, err = p.field(strings.TrimPrefix(name, "_cardinality."))
			q.Cardinality = append(q.Cardinality, f)
		case strings.HasPrefix(name, "_"):
			err = bad("unknown parameter %q", name)
		default:
			var f Field
			if f, err = p.field(name); err != nil {
				break
			}
			var terms []Term
			if terms, err = parseTerms(f, vals); err != nil {
				break
			}
			if f.Name == DateField {
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
		q.Columns = p.defaults("crash_id", DateField, "signature", "product", "version")
	}
	if !facetsSet {
		q.Facets = p.defaults("signature")
	}
	if len(q.Sort) == 0 {
		if f, ok := p.lookup(DateField); ok {
			q.Sort = []SortKey{{Field: f, Desc: true}}
		}
	}
	var err error
	q.From, q.To, err = dateRange(dateTerms, now)
	if err != nil {
		return nil, err
	}
	return q, nil
}

type parser struct {
	fields  Fields
	viewPII bool
}

// lookup resolves a name (and Socorro's aliases) to a usable field.
func (p parser) lookup(name string) (Field, bool) {
	switch name {
	case "date":
		name = DateField
	case "uuid":
		if _, ok := p.fields["uuid"]; !ok {
			name = "crash_id"
		}
	}
	f, ok := p.fields[name]
	if !ok || (f.Protected && !p.viewPII) {
		return Field{}, false
	}
	return f, true
}

func (p parser) field(name string) (Field, error) {
	f, ok := p.lookup(name)
	if !ok {
		return Field{}, bad("unknown field %q", name)
	}
	return f, nil
}

func (p parser) defaults(names ...string) []Field {
	var out []Field
	for _, n := range names {
		if f, ok := p.lookup(n); ok {
			out = append(out, f)
		}
	}
	return out
}

func (p parser) fieldList(param string, names []string) ([]Field, error) {
	var out []Field
	seen := map[string]bool{}
	for _, n := range names {
		f, err := p.field(n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", param, err)
		}
		if !seen[f.Name] {
			seen[f.Name] = true
			out = append(out, f)
		}
	}
	return out, nil
}

func (p parser) sortKeys(names []string) ([]SortKey, error) {
	var out []SortKey
	for _, n := range names {
		desc := strings.HasPrefix(n, "-")
		f, err := p.field(strings.TrimPrefix(n, "-"))
		if err != nil {
			return nil, fmt.Errorf("_sort: %w", err)
		}
		if f.Type == List {
			return nil, bad("_sort: cannot sort on list field %s", f.Name)
		}
		out = append(out, SortKey{Field: f, Desc: desc})
	}
	return out, nil
}

func (p parser) aggs(name string, targets []string) ([]Agg, error) {
	parts := strings.Split(strings.TrimPrefix(name, "_aggs."), ".")
	if len(parts) < 1 || len(parts) > 2 {
		return nil, bad("%s: want _aggs.<field>[.<field>]", name)
	}
	by, err := p.field(parts[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	a := Agg{By: &by}
	if len(parts) == 2 {
		by2, err := p.field(parts[1])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		a.By2 = &by2
	}
	tf, err := p.fieldList(name, targets)
	if err != nil {
		return nil, err
	}
	if len(tf) == 0 {
		return nil, bad("%s: needs a target field", name)
	}
	var out []Agg
	for _, t := range tf {
		a.Target = t
		out = append(out, a)
	}
	return out, nil
}

// MonthInterval is the histogram interval of one calendar month.
const MonthInterval = "1M"

func (p parser) histogram(name string, terms []string, params url.Values) (Histogram, error) {
	fname := strings.TrimPrefix(name, "_histogram.")
	f, err := p.field(fname)
	if err != nil {
		return Histogram{}, fmt.Errorf("%s: %w", name, err)
	}
	h := Histogram{Field: f}
	iv := params.Get("_histogram_interval." + fname)
	switch f.Type {
	case Date:
		if iv == "" {
			iv = "1d"
		}
		switch iv {
		case "1h", "1d", "1w", MonthInterval:
		default:
			return Histogram{}, bad("_histogram_interval.%s: want 1h, 1d, 1w or 1M", fname)
		}
	case Number:
		if iv == "" {
			iv = "1"
		}
		if n, err := strconv.ParseInt(iv, 10, 64); err != nil || n < 1 || n > 1<<40 {
			return Histogram{}, bad("_histogram_interval.%s: want a positive integer", fname)
		}
	default:
		return Histogram{}, bad("%s: histograms need a date or number field", name)
	}
	h.Interval = iv
	if h.Terms, err = p.fieldList(name, terms); err != nil {
		return Histogram{}, err
	}
	return h, nil
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

// parseDate accepts RFC 3339, "2006-01-02T15:04:05" and "2006-01-02" (UTC);
// day reports the date-only form.
func parseDate(s string) (t time.Time, day bool, err error) {
	s = strings.TrimSpace(s)
	if tm, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return clampDate(tm.UTC())
	}
	if tm, err := time.Parse("2006-01-02T15:04:05", s); err == nil {
		return clampDate(tm)
	}
	if tm, err := time.Parse("2006-01-02", s); err == nil {
		tm, _, err := clampDate(tm)
		return tm, true, err
	}
	return time.Time{}, false, fmt.Errorf("%q is not a date (want YYYY-MM-DD or RFC 3339)", s)
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
