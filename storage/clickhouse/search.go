package clickhouse

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/crashstream/crashstream/storage/clickhouse/supersearch"
)

// SearchResult is a Super Search answer.
type SearchResult struct {
	Total int64
	// Hits are the requested columns of the page, by field name.
	Hits []map[string]any
	// Facets are the top values of each _facets field, by field name.
	Facets map[string][]Bucket
	// Aggs are keyed "by1[.by2[.by3]].target"; each bucket's Group holds
	// the By values joined with "\x1f". An _aggs key of several fields
	// also yields its intermediate levels (by1.by2, by1.by2.by3), so
	// every nested bucket has its own count.
	Aggs map[string][]Bucket
	// AggCardinality are _aggs targets _cardinality.<f>, keyed like Aggs;
	// Count is the distinct count of f in the group.
	AggCardinality map[string][]Bucket
	// AggHistograms are _aggs targets _histogram.<f>, keyed like Aggs;
	// Term is the interval, Count the crashes of the group in it.
	AggHistograms map[string][]Bucket
	// HistogramCardinality are _histogram.<f>=_cardinality.<g>, keyed
	// "f.g"; Group is the interval, Count the distinct count of g in it.
	HistogramCardinality map[string][]Bucket
	// Histograms are keyed by field (and ".term" for a split); Term holds
	// the split value.
	Histograms map[string][]Bucket
	// Cardinality is the distinct count of each _cardinality field.
	Cardinality map[string]uint64
}

// Bucket is one facet value and its crash count.
type Bucket struct {
	Group string `json:"group,omitempty"`
	Term  string `json:"term"`
	Count int64  `json:"count"`
}

// search is one Super Search request turned into SQL pieces: the source of
// deduplicated rows (a subquery, or the table with FINAL), the filter and
// its bound arguments, the settings of its queries, and how to refer to a
// field's column in it.
type search struct {
	r      *Reader
	q      *supersearch.Query
	source string
	args   []any // the source's arguments, then the filter's
	where  string
	// settings end every pass's SQL ("" or " SETTINGS ...").
	settings string
}

// SuperSearch runs a parsed Super Search query: the page of hits, the total
// and cardinalities, the facets and aggregations in one pass, and the
// histograms. Every value is bound.
func (r *Reader) SuperSearch(ctx context.Context, q *supersearch.Query) (*SearchResult, error) {
	s, err := r.newSearch(ctx, q)
	if err != nil {
		return nil, err
	}
	if r.dedup == DedupFinal {
		// keep every condition in WHERE, evaluated on merged rows
		ctx = ch.Context(ctx, ch.WithSettings(ch.Settings{"optimize_move_to_prewhere": 0}))
	}
	res := &SearchResult{Facets: map[string][]Bucket{}, Aggs: map[string][]Bucket{}, Histograms: map[string][]Bucket{},
		Cardinality: map[string]uint64{}, AggCardinality: map[string][]Bucket{}, AggHistograms: map[string][]Bucket{},
		HistogramCardinality: map[string][]Bucket{}}
	// Each pass reads and deduplicates the window again, so the total
	// rides on the facets pass when there is one and no distinct count is
	// asked for (10M crashes, 7 days: a third of the time).
	countInFacets := len(s.q.Cardinality) == 0 && (len(s.q.Facets) > 0 || len(s.q.Aggs) > 0)
	if !countInFacets {
		if err := s.stats(ctx, res); err != nil {
			return nil, err
		}
	}
	if err := s.hits(ctx, res); err != nil {
		return nil, err
	}
	if err := s.facets(ctx, res, countInFacets); err != nil {
		return nil, err
	}
	if err := s.aggCardinality(ctx, res); err != nil {
		return nil, err
	}
	if err := s.aggHistograms(ctx, res); err != nil {
		return nil, err
	}
	if err := s.histograms(ctx, res); err != nil {
		return nil, err
	}
	return res, nil
}

// needed lists every field the query touches, so the argMax subquery
// computes only those.
func needed(q *supersearch.Query) []supersearch.Field {
	seen := map[string]bool{}
	var out []supersearch.Field
	q.EachField(func(f supersearch.Field) {
		if !seen[f.Column] {
			seen[f.Column] = true
			out = append(out, f)
		}
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Column < out[j].Column })
	return out
}

// col is how the outer query names a field's column.
func (s *search) col(f supersearch.Field) string {
	if s.r.dedup != DedupFinal {
		return "f_" + f.Column
	}
	return f.Column
}

func (r *Reader) newSearch(ctx context.Context, q *supersearch.Query) (*search, error) {
	for _, f := range needed(q) {
		if !identRE.MatchString(f.Column) {
			return nil, fmt.Errorf("%w: bad column %q", supersearch.ErrBadRequest, f.Column)
		}
	}
	s := &search{r: r, q: q}
	// The date range is on the submission time, part of the sorting key and
	// the same for every processing of a crash, so it is applied before
	// deduplication and prunes partitions.
	rangeCond := supersearch.DateField + " >= toDateTime(?) AND " + supersearch.DateField + " < toDateTime(?)"
	rangeArgs := []any{chTime(q.From), chTime(q.To)}
	argMaxCols, plainCols := []string{"crash_id AS f_crash_id"}, []string{"crash_id AS f_crash_id"}
	for _, f := range needed(q) {
		if f.Column != "crash_id" {
			argMaxCols = append(argMaxCols, fmt.Sprintf("argMax(%s, row_version) AS f_%s", f.Column, f.Column))
			if f.Type == supersearch.String {
				// argMax drops LowCardinality; UNION ALL needs equal types
				plainCols = append(plainCols, fmt.Sprintf("CAST(%s AS String) AS f_%s", f.Column, f.Column))
			} else {
				plainCols = append(plainCols, fmt.Sprintf("%s AS f_%s", f.Column, f.Column))
			}
		}
	}
	// deduplicate groups the rows of the window that satisfy cond (with its
	// arguments) by crash id, newest processing winning; the prefilter's
	// subquery reads the same rows.
	deduplicate := func(cond string, condArgs []any) (string, []any) {
		sql := "SELECT " + strings.Join(argMaxCols, ", ") + " FROM " + r.db + ".crashes WHERE " + cond
		args := condArgs
		if pre, preArgs := prefilter(r.db, localTable("crashes", r.cluster), q, cond, condArgs); pre != "" {
			sql += " AND " + pre
			args = append(append([]any{}, condArgs...), preArgs...)
		}
		return sql + " GROUP BY crash_id", args
	}
	var clean cleanDays
	if r.dedup == DedupClean {
		var err error
		if clean, err = r.cleanDays(ctx); err != nil {
			return nil, err
		}
	}
	switch {
	case r.dedup == DedupFinal:
		s.source = r.db + ".crashes FINAL"
		s.where = rangeCond
		s.args = rangeArgs
	case clean.none(): // argMax, or DedupClean with no clean day yet
		deduped, args := deduplicate(rangeCond, rangeArgs)
		s.source = "(" + deduped + ")"
		s.args = args
		s.where = "1"
	default:
		// A clean partition holds one row per crash, so the filters apply
		// to its columns as stored, before the casts: ClickHouse moves them
		// to PREWHERE and reads the other columns only for matching rows
		// (10M crashes, 7 days, product and signature filters: each pass
		// read 2.4M rows and 155 MB). The outer WHERE applies them again,
		// which the deduplicated branch needs.
		day := "toYYYYMMDD(" + supersearch.DateField + ")"
		plain := "SELECT " + strings.Join(plainCols, ", ") + " FROM " + r.db + ".crashes WHERE " + rangeCond +
			" AND " + day + " IN " + clean.sql
		plainArgs := append([]any{rangeArgs[0], rangeArgs[1]}, clean.args...)
		for _, f := range q.Filters {
			cond, args := renderFilter(f.Field.Column, f)
			plain += " AND " + cond
			plainArgs = append(plainArgs, args...)
		}
		// the other days, prefilter included, only: at 10M crashes the
		// prefilter over the whole window read 1.2M rows for the one day
		// it served
		rest, restArgs := deduplicate(rangeCond+" AND "+day+" NOT IN "+clean.sql,
			append(append([]any{}, rangeArgs...), clean.args...))
		s.source = "(" + plain + " UNION ALL " + rest + ")"
		if r.cluster != "" {
			// Each branch picks a replica of every shard; both must read
			// the replica whose parts the clean condition describes.
			// (A string setting: 18.16's protocol sends only numbers.)
			s.settings = " SETTINGS load_balancing = 'in_order'"
		}
		s.args = append(plainArgs, restArgs...)
		s.where = "1"
	}
	for _, f := range q.Filters {
		cond, args := s.filter(f)
		s.where += " AND " + cond
		s.args = append(s.args, args...)
	}
	return s, nil
}

// prefilter narrows the rows that deduplication groups to the crashes
// with at least one processing that matches the filters: the crash_id IN
// subquery reads only the filtered columns, so a selective filter (the
// signature report's signature) no longer pays for grouping the whole window
// by crash id. The filters are still applied after deduplication; this only
// drops crashes that cannot match. It is exact for fields whose columns are
// not Nullable (argMax then takes every such value from the newest row, which
// is one of the rows the subquery saw); Nullable fields are left out, since
// argMax skips NULLs and may combine values of different rows.
//
// table is crashes on one node; on a cluster it is crashes_local, so that
// each shard runs the subquery on its own rows (exact: crashes is sharded by
// crash id), which 18.16 otherwise refuses as a double-distributed IN.
func prefilter(db, table string, q *supersearch.Query, rangeCond string, rangeArgs []any) (string, []any) {
	conds := []string{rangeCond}
	args := append([]any{}, rangeArgs...)
	for _, f := range q.Filters {
		switch f.Field.Type {
		case supersearch.String, supersearch.List, supersearch.Date:
			cond, a := renderFilter(f.Field.Column, f)
			conds = append(conds, cond)
			args = append(args, a...)
		}
	}
	if len(conds) == 1 {
		return "", nil
	}
	return "crash_id IN (SELECT crash_id FROM " + db + "." + table + " WHERE " + strings.Join(conds, " AND ") + ")", args
}

// filter renders one field's terms on the search's column for the field.
func (s *search) filter(f supersearch.Filter) (string, []any) {
	return renderFilter(s.col(f.Field), f)
}

// renderFilter renders one field's terms on column expression x:
// comparisons ANDed, positive values ORed, negated values ANDed.
func renderFilter(x string, f supersearch.Filter) (string, []any) {
	var ands, ors []string
	var andArgs, orArgs []any
	for _, t := range f.Terms {
		cond, args := termSQL(x, f.Field.Type, t)
		switch {
		case t.Not:
			// A missing value (NULL) matches every negation, as in Socorro
			// (Elasticsearch's not-filter keeps documents without the
			// field): NOT on NULL would drop it.
			ands = append(ands, "NOT ifNull("+cond+", 0)")
			andArgs = append(andArgs, args...)
		case t.IsRange():
			ands = append(ands, cond)
			andArgs = append(andArgs, args...)
		default:
			ors = append(ors, cond)
			orArgs = append(orArgs, args...)
		}
	}
	if len(ors) > 0 {
		ands = append(ands, "("+strings.Join(ors, " OR ")+")")
		andArgs = append(andArgs, orArgs...)
	}
	return "(" + strings.Join(ands, " AND ") + ")", andArgs
}

var cmpOps = map[supersearch.Op]string{supersearch.OpGT: ">", supersearch.OpGTE: ">=", supersearch.OpLT: "<", supersearch.OpLTE: "<="}

// termSQL renders one term on column expression x.
func termSQL(x string, typ supersearch.Type, t supersearch.Term) (string, []any) {
	switch typ {
	case supersearch.String:
		switch t.Op {
		case supersearch.OpNull:
			return x + " = ''", nil
		case supersearch.OpContains:
			return "position(" + x + ", ?) > 0", []any{t.Value}
		case supersearch.OpStartsWith:
			return "startsWith(" + x + ", ?)", []any{t.Value}
		case supersearch.OpEndsWith:
			return "endsWith(" + x + ", ?)", []any{t.Value}
		case supersearch.OpRegex:
			return "match(" + x + ", ?)", []any{t.Value}
		default:
			return x + " = ?", []any{t.Value}
		}
	case supersearch.List:
		switch t.Op {
		case supersearch.OpNull:
			return "empty(" + x + ")", nil
		case supersearch.OpContains:
			return "arrayExists(e -> position(e, ?) > 0, " + x + ")", []any{t.Value}
		case supersearch.OpStartsWith:
			return "arrayExists(e -> startsWith(e, ?), " + x + ")", []any{t.Value}
		case supersearch.OpEndsWith:
			return "arrayExists(e -> endsWith(e, ?), " + x + ")", []any{t.Value}
		case supersearch.OpRegex:
			return "arrayExists(e -> match(e, ?), " + x + ")", []any{t.Value}
		default:
			return "has(" + x + ", ?)", []any{t.Value}
		}
	case supersearch.Number, supersearch.Bool:
		switch t.Op {
		case supersearch.OpNull:
			return "isNull(" + x + ")", nil
		case supersearch.OpTrue:
			return x + " = 1", nil
		}
		if op, ok := cmpOps[t.Op]; ok {
			return x + " " + op + " ?", []any{t.Num}
		}
		return x + " = ?", []any{t.Num}
	case supersearch.Date:
		if t.Op == supersearch.OpNull {
			return x + " = toDateTime(0)", nil
		}
		if op, ok := cmpOps[t.Op]; ok {
			return x + " " + op + " toDateTime(?)", []any{chTime(t.Time)}
		}
		if t.Value == "day" {
			return "(" + x + " >= toDateTime(?) AND " + x + " < toDateTime(?))", []any{chTime(t.Time), chTime(t.Time.Add(24 * time.Hour))}
		}
		return x + " = toDateTime(?)", []any{chTime(t.Time)}
	}
	return "0", nil
}

// text renders a field as a String for facet keys.
func (s *search) text(f supersearch.Field) string {
	x := s.col(f)
	switch f.Type {
	case supersearch.String:
		return "toString(" + x + ")"
	case supersearch.Date:
		return "toString(" + x + ")"
	default:
		return "ifNull(toString(" + x + "), '')"
	}
}

func (s *search) from() string { return " FROM " + s.source + " WHERE " + s.where }

// query runs one pass of the search, with its settings.
func (s *search) query(ctx context.Context, sql string, args ...any) (driver.Rows, error) {
	return s.r.conn.Query(ctx, sql+s.settings, args...)
}

// queryRow runs a one-row pass of the search, with its settings.
func (s *search) queryRow(ctx context.Context, sql string, args ...any) driver.Row {
	return s.r.conn.QueryRow(ctx, sql+s.settings, args...)
}

// inner selects just the needed columns of the filtered, deduplicated rows.
func (s *search) inner() string {
	var cols []string
	for _, f := range needed(s.q) {
		cols = append(cols, s.col(f))
	}
	if len(cols) == 0 {
		cols = []string{"1"}
	}
	return "SELECT " + strings.Join(cols, ", ") + s.from()
}

func (s *search) stats(ctx context.Context, res *SearchResult) error {
	exprs := []string{"toInt64(count())"}
	for _, f := range s.q.Cardinality {
		exprs = append(exprs, uniqOrZero(s.col(f)))
	}
	dst := make([]any, len(exprs))
	dst[0] = &res.Total
	cards := make([]uint64, len(s.q.Cardinality))
	for i := range cards {
		dst[i+1] = &cards[i]
	}
	if err := s.queryRow(ctx, "SELECT "+strings.Join(exprs, ", ")+s.from(), s.args...).Scan(dst...); err != nil {
		return fmt.Errorf("super search total: %w", err)
	}
	for i, f := range s.q.Cardinality {
		res.Cardinality[f.Name] = cards[i]
	}
	return nil
}

func (s *search) hits(ctx context.Context, res *SearchResult) error {
	if s.q.Number == 0 || len(s.q.Columns) == 0 {
		return nil
	}
	cols := make([]string, len(s.q.Columns))
	for i, f := range s.q.Columns {
		cols[i] = s.col(f) + " AS " + "f_" + f.Column
		if s.r.dedup != DedupFinal {
			cols[i] = s.col(f)
		}
	}
	var order []string
	for _, k := range s.q.Sort {
		dir := " ASC"
		if k.Desc {
			dir = " DESC"
		}
		order = append(order, s.col(k.Field)+dir)
	}
	idCol := "crash_id"
	if s.r.dedup != DedupFinal {
		idCol = "f_crash_id"
	}
	order = append(order, idCol) // a stable order pages consistently
	q := "SELECT " + strings.Join(cols, ", ") + s.from() + " ORDER BY " + strings.Join(order, ", ") + " LIMIT ?, ?"
	rows, err := s.query(ctx, q, append(append([]any{}, s.args...), s.q.Offset, s.q.Number)...)
	if err != nil {
		return fmt.Errorf("super search hits: %w", err)
	}
	maps, err := scanMaps(rows)
	if err != nil {
		return err
	}
	// keys are columns; report them under field names
	for _, m := range maps {
		h := make(map[string]any, len(s.q.Columns))
		for _, f := range s.q.Columns {
			h[f.Name] = m[f.Column]
		}
		res.Hits = append(res.Hits, h)
	}
	return nil
}

// facets computes every _facets field and _aggs in one pass: each row is
// expanded (ARRAY JOIN) into (kind, group, term) tuples, counted, and the top
// FacetsSize terms per kind and group kept. List fields contribute one term
// per element. With total, each row also contributes one ("total", "", "")
// tuple, whose count is res.Total.
func (s *search) facets(ctx context.Context, res *SearchResult, total bool) error {
	var parts []string
	var args []any
	if total {
		parts = append(parts, "[(?, '', '')]")
		args = append(args, "total")
	}
	for _, f := range s.q.Facets {
		if f.Type == supersearch.List {
			parts = append(parts, "arrayMap(e -> (?, '', e), "+s.col(f)+")")
		} else {
			parts = append(parts, "[(?, '', "+s.text(f)+")]")
		}
		args = append(args, "facet\x1f"+f.Name)
	}
	for _, l := range aggLevels(s.q.Aggs) {
		group := s.group(l.by)
		if l.target.Type == supersearch.List {
			parts = append(parts, "arrayMap(e -> (?, "+group+", e), "+s.col(l.target)+")")
		} else {
			parts = append(parts, "[(?, "+group+", "+s.text(l.target)+")]")
		}
		args = append(args, "aggs\x1f"+l.key)
	}
	if len(parts) == 0 {
		return nil
	}
	q := "SELECT kv.1 AS k, kv.2 AS g, kv.3 AS v, toInt64(count()) AS c FROM (" + s.inner() + ") ARRAY JOIN arrayConcat(" +
		strings.Join(parts, ", ") + ") AS kv GROUP BY k, g, v ORDER BY k, g, c DESC, v LIMIT ? BY k, g"
	// positional binding: the source's arguments come first in the text
	all := append(append(append([]any{}, s.args...), args...), s.q.FacetsSize)
	rows, err := s.query(ctx, q, all...)
	if err != nil {
		return fmt.Errorf("super search facets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var b Bucket
		if err := rows.Scan(&k, &b.Group, &b.Term, &b.Count); err != nil {
			return err
		}
		kind, name, _ := strings.Cut(k, "\x1f")
		switch {
		case kind == "total":
			res.Total = b.Count
		case kind == "facet":
			res.Facets[name] = append(res.Facets[name], b)
		default:
			res.Aggs[name] = append(res.Aggs[name], b)
		}
	}
	return rows.Err()
}

// aggLevel is one grouped terms count: the top values of target for each
// combination of the by values.
type aggLevel struct {
	key    string
	by     []supersearch.Field
	target supersearch.Field
}

// aggName is how results name an aggregation: the by names and the target
// name joined with dots.
func aggName(by []supersearch.Field, target supersearch.Field) string {
	names := make([]string, 0, len(by)+1)
	for _, f := range by {
		names = append(names, f.Name)
	}
	return strings.Join(append(names, target.Name), ".")
}

// aggLevels lists the terms counts the aggregations need, each once: the
// terms targets, and for a key of several fields every intermediate level
// (_aggs.a.b.c=t needs a.b, a.b.c and a.b.c.t; a itself is a facet).
func aggLevels(aggs []supersearch.Agg) []aggLevel {
	var out []aggLevel
	seen := map[string]bool{}
	add := func(by []supersearch.Field, t supersearch.Field) {
		k := aggName(by, t)
		if !seen[k] {
			seen[k] = true
			out = append(out, aggLevel{key: k, by: by, target: t})
		}
	}
	for _, a := range aggs {
		for i := 1; i < len(a.By); i++ {
			add(a.By[:i], a.By[i])
		}
		if !a.Cardinality && a.Histogram == nil {
			add(a.By, a.Target)
		}
	}
	return out
}

// group renders the by fields of an aggregation as one String key, the
// values joined with "\x1f".
func (s *search) group(by []supersearch.Field) string {
	texts := make([]string, len(by))
	for i, f := range by {
		texts[i] = s.text(f)
	}
	if len(texts) == 1 {
		return texts[0]
	}
	return "concat(" + strings.Join(texts, ", '\x1f', ") + ")"
}

// aggCardinality computes the _aggs targets _cardinality.<f>: the distinct
// count of f per group, for at most aggGroups groups each.
func (s *search) aggCardinality(ctx context.Context, res *SearchResult) error {
	for _, a := range s.q.Aggs {
		if !a.Cardinality {
			continue
		}
		key := aggName(a.By, a.Target)
		if _, done := res.AggCardinality[key]; done {
			continue
		}
		q := "SELECT " + s.group(a.By) + " AS g, toInt64(" + uniqOrZero(s.col(a.Target)) + ") FROM (" + s.inner() +
			") GROUP BY g ORDER BY count() DESC, g LIMIT " + strconv.Itoa(aggGroups)
		rows, err := s.query(ctx, q, s.args...)
		if err != nil {
			return fmt.Errorf("super search cardinality %s: %w", key, err)
		}
		res.AggCardinality[key] = []Bucket{}
		for rows.Next() {
			var b Bucket
			if err := rows.Scan(&b.Group, &b.Count); err != nil {
				rows.Close()
				return err
			}
			res.AggCardinality[key] = append(res.AggCardinality[key], b)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// aggHistograms computes the _aggs targets _histogram.<f>: the crashes of
// each group per interval of f.
func (s *search) aggHistograms(ctx context.Context, res *SearchResult) error {
	for _, a := range s.q.Aggs {
		if a.Histogram == nil {
			continue
		}
		key := aggName(a.By, a.Target)
		if _, done := res.AggHistograms[key]; done {
			continue
		}
		q := "SELECT " + s.group(a.By) + " AS g, " + s.bucketExpr(*a.Histogram) + " AS b, toInt64(count()) FROM (" + s.inner() +
			") GROUP BY g, b ORDER BY g, b LIMIT " + strconv.Itoa(histogramRows)
		rows, err := s.query(ctx, q, s.args...)
		if err != nil {
			return fmt.Errorf("super search histogram %s: %w", key, err)
		}
		res.AggHistograms[key] = []Bucket{}
		for rows.Next() {
			var b Bucket
			if err := rows.Scan(&b.Group, &b.Term, &b.Count); err != nil {
				rows.Close()
				return err
			}
			res.AggHistograms[key] = append(res.AggHistograms[key], b)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// aggGroups bounds the groups one cardinality aggregation returns (the
// answer shows at most _facets_size per level, at most 3 levels deep).
const aggGroups = 100_000

// bucketExpr is the histogram interval of a field (18.16 has no
// toStartOfInterval, so dates use the fixed-unit functions).
func (s *search) bucketExpr(h supersearch.Histogram) string {
	x := s.col(h.Field)
	if h.Field.Type == supersearch.Date {
		switch h.Interval {
		case "1h":
			return "toString(toStartOfHour(" + x + "))"
		case "1w":
			return "toString(toMonday(" + x + "))"
		case supersearch.MonthInterval:
			return "toString(toStartOfMonth(" + x + "))"
		default:
			return "toString(toDate(" + x + "))"
		}
	}
	n, _ := strconv.ParseInt(h.Interval, 10, 64)
	return fmt.Sprintf("ifNull(toString(intDiv(%s, %d) * %d), '')", x, n, n)
}

func (s *search) histograms(ctx context.Context, res *SearchResult) error {
	for _, h := range s.q.Histograms {
		for _, c := range h.Cardinality {
			if err := s.histogramCardinality(ctx, h, c, res); err != nil {
				return err
			}
		}
		for i := range h.Terms {
			t := &h.Terms[i]
			if err := s.histogram(ctx, h, t, res); err != nil {
				return err
			}
		}
		// Every row has exactly one split term (a list is split by its
		// text), so the unsplit histogram is the first split summed per
		// bucket — one pass over the data fewer — unless that split was cut
		// at the row limit.
		if len(h.Terms) > 0 {
			if split := res.Histograms[h.Field.Name+"."+h.Terms[0].Name]; len(split) < histogramRows {
				if len(split) > 0 {
					res.Histograms[h.Field.Name] = sumTerms(split)
				}
				continue
			}
		}
		if err := s.histogram(ctx, h, nil, res); err != nil {
			return err
		}
	}
	return nil
}

// histogramCardinality counts the distinct values of c per interval of h.
func (s *search) histogramCardinality(ctx context.Context, h supersearch.Histogram, c supersearch.Field, res *SearchResult) error {
	key := h.Field.Name + "." + c.Name
	q := "SELECT " + s.bucketExpr(h) + " AS b, toInt64(" + uniqOrZero(s.col(c)) + ") FROM (" + s.inner() +
		") GROUP BY b ORDER BY b LIMIT " + strconv.Itoa(histogramRows)
	rows, err := s.query(ctx, q, s.args...)
	if err != nil {
		return fmt.Errorf("super search histogram cardinality %s: %w", key, err)
	}
	defer rows.Close()
	res.HistogramCardinality[key] = []Bucket{}
	for rows.Next() {
		var b Bucket
		if err := rows.Scan(&b.Group, &b.Count); err != nil {
			return err
		}
		res.HistogramCardinality[key] = append(res.HistogramCardinality[key], b)
	}
	return rows.Err()
}

// histogramRows bounds the buckets × terms one histogram query returns.
const histogramRows = 100_000

// histogram runs one histogram, split by term t (nil: unsplit).
func (s *search) histogram(ctx context.Context, h supersearch.Histogram, t *supersearch.Field, res *SearchResult) error {
	key, term := h.Field.Name, "''"
	if t != nil {
		key += "." + t.Name
		term = s.text(*t)
	}
	q := "SELECT " + s.bucketExpr(h) + " AS b, " + term + " AS t, toInt64(count()) FROM (" + s.inner() +
		") GROUP BY b, t ORDER BY b, t LIMIT " + strconv.Itoa(histogramRows)
	rows, err := s.query(ctx, q, s.args...)
	if err != nil {
		return fmt.Errorf("super search histogram %s: %w", key, err)
	}
	defer rows.Close()
	for rows.Next() {
		var b Bucket
		if err := rows.Scan(&b.Group, &b.Term, &b.Count); err != nil {
			return err
		}
		res.Histograms[key] = append(res.Histograms[key], b)
	}
	return rows.Err()
}

// uniqOrZero is uniq(x) as a UInt64 that is never NULL. On ClickHouse 18.16
// an aggregate over a Nullable column is Nullable, and uniq over a group
// whose values are all NULL (every crash of a signature without
// InstallTime, say) returns NULL rather than 0: scanned into a uint64 that
// failed the whole query. NULL values are not distinct values, so 0.
func uniqOrZero(x string) string { return "toUInt64(ifNull(uniq(" + x + "), 0))" }

// sumTerms folds a split histogram (ordered by bucket) into the unsplit one.
func sumTerms(split []Bucket) []Bucket {
	var out []Bucket
	for _, b := range split {
		if n := len(out); n > 0 && out[n-1].Group == b.Group {
			out[n-1].Count += b.Count
			continue
		}
		out = append(out, Bucket{Group: b.Group, Count: b.Count})
	}
	return out
}
