package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/crashstream/crashstream/schemas/fields"
)

// Correlations are Socorro's correlations tab: for a signature and a
// product (and optionally a release channel) over a window, the attributes
// of a crash whose frequency differs most between the signature's crashes
// and all crashes. An attribute is a (kind, value) pair read from public
// fields only: loaded modules with their versions, add-ons, CPU vendor, GPU
// vendor, OS version, process type and a list of selected fields
// ("annotations"). The counting runs in ClickHouse; scoring is done here,
// from the counts, the same way for on-demand and precomputed results.
// The signature's side reads its crashes; the overall side reads
// attribute_daily, the per-day counts a materialized view keeps, so a
// window of all crashes is never expanded at query time. Windows are
// whole UTC days.
//
// Counts are of rows: a crash reprocessed in the window and not yet merged
// counts twice on both sides, which shares (ratios) barely notice.

// corrAttr is one attribute kind: the fields it reads (each must be
// public) and the ClickHouse expression giving a row's values as an
// Array(String).
type corrAttr struct {
	Kind   string
	Fields []string
	Expr   string
}

// DefaultCorrelationAnnotations are the fields compared value by value
// besides the fixed kinds (all public in the registry).
var DefaultCorrelationAnnotations = []string{"cpu_arch", "startup_crash", "is_garbage_collecting", "dom_fission_enabled",
	"accessibility", "safe_mode", "addons_checked", "has_guard_page_access", "adapter_driver_version", "app_init_dlls"}

// Correlator computes and stores correlations. Safe for concurrent use.
type Correlator struct {
	conn  driver.Conn
	db    string
	attrs []corrAttr
	// kv is the Array(String) expression of every attribute of a row,
	// each value prefixed "<kind>\t".
	kv string
}

// ErrProtectedField is returned for a correlation annotation that is not
// a public field of the registry.
var ErrProtectedField = errors.New("correlations use public fields only")

// NewCorrelator builds the attribute set from the registry: every field an
// attribute reads must be a public field with a ClickHouse column, so a
// protected field can never enter correlations (the registry, not this
// code, says what is protected).
func NewCorrelator(conn driver.Conn, database string, reg *fields.Registry, annotations []string) (*Correlator, error) {
	if !identRE.MatchString(database) {
		return nil, fmt.Errorf("database %q is not a plain identifier", database)
	}
	attrs := []corrAttr{
		{"module", []string{"loaded_modules"}, "loaded_modules"},
		{"addon", []string{"addons"}, "addons"},
		{"cpu_vendor", []string{"cpu_info"}, "if(cpu_info = '', emptyArrayString(), [splitByChar(' ', cpu_info)[1]])"},
		{"gpu_vendor", []string{"adapter_vendor_id"}, "if(adapter_vendor_id = '', emptyArrayString(), [adapter_vendor_id])"},
		{"os_version", []string{"os_pretty_version", "os_name", "os_version"},
			"if(toString(os_pretty_version) != '', [toString(os_pretty_version)], if(toString(os_name) = '', emptyArrayString(), [if(os_version = '', toString(os_name), concat(toString(os_name), ' ', os_version))]))"},
		{"process_type", []string{"process_type"}, "if(toString(process_type) = '', emptyArrayString(), [toString(process_type)])"},
	}
	for _, name := range annotations {
		f, ok := reg.Lookup(name)
		if !ok || f.ClickHouseColumn == "" {
			return nil, fmt.Errorf("correlations: %q is not a stored field", name)
		}
		col := f.ClickHouseColumn
		var expr string
		switch f.Type {
		case fields.String:
			expr = "if(toString(" + col + ") = '', emptyArrayString(), [toString(" + col + ")])"
		case fields.Bool:
			expr = "if(isNull(" + col + "), emptyArrayString(), [if(assumeNotNull(" + col + ") = 1, 'true', 'false')])"
		case fields.Int:
			expr = "if(isNull(" + col + "), emptyArrayString(), [toString(assumeNotNull(" + col + "))])"
		case fields.List:
			expr = col
		default:
			return nil, fmt.Errorf("correlations: %s is a %s field; strings, numbers, booleans and lists are compared", name, f.Type)
		}
		attrs = append(attrs, corrAttr{name, []string{name}, expr})
	}
	parts := make([]string, 0, len(attrs))
	for _, a := range attrs {
		for _, name := range a.Fields {
			f, ok := reg.Lookup(name)
			if !ok || !f.IsPublic() {
				return nil, fmt.Errorf("%w: %s (attribute %s) is protected", ErrProtectedField, name, a.Kind)
			}
		}
		parts = append(parts, "arrayMap(v -> concat('"+a.Kind+"\\t', v), "+a.Expr+")")
	}
	// every row also has totalKV once: its counts are the totals
	return &Correlator{conn: conn, db: database, attrs: attrs, kv: "arrayConcat(['\\t'], " + strings.Join(parts, ", ") + ")"}, nil
}

// Kinds lists the attribute kinds compared.
func (c *Correlator) Kinds() []string {
	out := make([]string, len(c.attrs))
	for i, a := range c.attrs {
		out[i] = a.Kind
	}
	return out
}

// CorrelationParams selects the crashes compared.
type CorrelationParams struct {
	Signature string
	Product   string
	// Channel is a release channel ("" for all).
	Channel string
	// Days is the window's length, ending at End (exclusive; the start of
	// tomorrow, UTC, when zero).
	Days int
	End  time.Time
	// Limit bounds the attributes answered (default 50, at most 500).
	Limit int
}

// CorrelationDays are the window lengths offered; the default is 7
// (what the cron job precomputes).
var CorrelationDays = []int{1, 3, 7, 14, 28}

// Validate checks the parameters and fills defaults.
func (p *CorrelationParams) Validate(now time.Time) error {
	switch {
	case p.Signature == "":
		return fmt.Errorf("%w: signature: required", ErrBadParams)
	case p.Product == "":
		return fmt.Errorf("%w: product: required", ErrBadParams)
	case len(p.Signature) > 1024 || len(p.Product) > 256 || len(p.Channel) > 256:
		return fmt.Errorf("%w: signature, product or channel too long", ErrBadParams)
	}
	if p.Days == 0 {
		p.Days = 7
	}
	ok := false
	for _, d := range CorrelationDays {
		ok = ok || d == p.Days
	}
	if !ok {
		return fmt.Errorf("%w: days: want one of %v", ErrBadParams, CorrelationDays)
	}
	if p.End.IsZero() {
		p.End = now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	}
	if p.Limit == 0 {
		p.Limit = 50
	}
	if p.Limit < 1 || p.Limit > 500 {
		return fmt.Errorf("%w: limit: want 1..500", ErrBadParams)
	}
	return nil
}

// ErrBadParams marks a caller's mistake in correlation parameters.
var ErrBadParams = errors.New("bad parameters")

// Correlation is one attribute of the answer.
type Correlation struct {
	// Kind is module, addon, cpu_vendor, gpu_vendor, os_version,
	// process_type or an annotation's field name; Value its value.
	Kind  string `json:"attribute"`
	Value string `json:"value"`
	// SigCount and AllCount are the crashes with the attribute among the
	// signature's and among all; SigShare and AllShare the fractions.
	SigCount uint64  `json:"signature_count"`
	AllCount uint64  `json:"overall_count"`
	SigShare float64 `json:"signature_share"`
	AllShare float64 `json:"overall_share"`
	// Score ranks the attributes: the share in the signature minus the
	// share in the other crashes (how much more often the signature's
	// crashes have it), 0 for a difference a chi-squared test at 95% does
	// not tell from chance.
	Score float64 `json:"score"`
}

// CorrelationsResult is the answer.
type CorrelationsResult struct {
	Signature string    `json:"signature"`
	Product   string    `json:"product"`
	Channel   string    `json:"channel"`
	Start     time.Time `json:"start_date"`
	End       time.Time `json:"end_date"`
	// SigTotal and AllTotal are the crashes compared.
	SigTotal uint64 `json:"signature_total"`
	AllTotal uint64 `json:"overall_total"`
	// Precomputed says the cron job computed it (at ComputedAt).
	Precomputed bool          `json:"precomputed"`
	ComputedAt  time.Time     `json:"computed_at"`
	Items       []Correlation `json:"correlations"`
}

// sliceWhere is the filter of the compared crashes.
func (c *Correlator) sliceWhere(product, channel string, start, end time.Time) (string, []any) {
	w := "product = ? AND submitted_timestamp >= toDateTime(?) AND submitted_timestamp < toDateTime(?)"
	args := []any{product, chTime(start), chTime(end)}
	if channel != "" {
		w += " AND release_channel = ?"
		args = append(args, channel)
	}
	return w, args
}

// counts is what a computation reads for one signature.
type counts struct {
	sigTotal, allTotal uint64
	sig, all           map[string]uint64 // by "<kind>\t<value>"
}

// totalKV is the attribute every row has once: its counts are the totals.
const totalKV = "\t"

// compute counts, for each signature of sigs, the attributes of its
// crashes (from the crashes table: only the signatures' rows are expanded)
// and how often each occurs among all crashes of the slice (from
// attribute_daily, which a materialized view keeps per day, product and
// channel, so the slice's rows are not read again).
func (c *Correlator) compute(ctx context.Context, product, channel string, start, end time.Time, sigs []string) (map[string]*counts, error) {
	where, args := c.sliceWhere(product, channel, start, end)
	out := make(map[string]*counts, len(sigs))
	for _, s := range sigs {
		out[s] = &counts{sig: map[string]uint64{}, all: map[string]uint64{}}
	}
	// PREWHERE: the signature is read first and only its rows' attributes
	// are read and expanded (a WHERE comes after the ARRAY JOIN: 4x slower)
	rows, err := c.conn.Query(ctx, "SELECT signature, kv, count() FROM "+c.db+".crashes ARRAY JOIN "+c.kv+" AS kv PREWHERE signature IN ? WHERE "+where+
		" GROUP BY signature, kv", append([]any{set(sigs)}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("correlations of the signatures: %w", err)
	}
	values := map[string]bool{totalKV: true}
	for rows.Next() {
		var sig, kv string
		var n uint64
		if err := rows.Scan(&sig, &kv, &n); err != nil {
			rows.Close()
			return nil, err
		}
		if cn := out[sig]; cn != nil {
			cn.sig[kv] = n
			values[kv] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	vs := make([]string, 0, len(values))
	for v := range values {
		vs = append(vs, v)
	}
	dw := "product = ? AND day >= toDate(?) AND day < toDate(?) AND kv IN ?"
	dargs := []any{product, start.Format("2006-01-02"), end.Format("2006-01-02"), set(vs)}
	if channel != "" {
		dw += " AND channel = ?"
		dargs = append(dargs, channel)
	}
	rows, err = c.conn.Query(ctx, "SELECT kv, sum(crashes) FROM "+c.db+".attribute_daily WHERE "+dw+" GROUP BY kv", dargs...)
	if err != nil {
		return nil, fmt.Errorf("correlations overall: %w", err)
	}
	defer rows.Close()
	all := map[string]uint64{}
	for rows.Next() {
		var kv string
		var n uint64
		if err := rows.Scan(&kv, &n); err != nil {
			return nil, err
		}
		all[kv] = n
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, cn := range out {
		cn.allTotal, cn.sigTotal = all[totalKV], cn.sig[totalKV]
		delete(cn.sig, totalKV)
		for kv := range cn.sig {
			cn.all[kv] = all[kv]
		}
	}
	return out, nil
}

// AttributesExpr is the Array(String) expression of a row's attributes
// (each "<kind>\t<value>", and "\t" once); migration 0008's materialized
// view counts the same expression, which a test holds equal.
func (c *Correlator) AttributesExpr() string { return c.kv }

// chiSquared95 is the chi-squared value (1 degree of freedom) past which a
// 2x2 table's difference is significant at 95%.
const chiSquared95 = 3.841

// Score turns counts into a ranked list (see Correlation.Score), most
// over-represented first, at most limit.
func Score(sigCounts, allCounts map[string]uint64, sigTotal, allTotal uint64, limit int) []Correlation {
	out := make([]Correlation, 0, len(sigCounts))
	if sigTotal == 0 || allTotal == 0 {
		return out
	}
	for kv, s := range sigCounts {
		a := max(allCounts[kv], s)
		kind, value, _ := strings.Cut(kv, "\t")
		co := Correlation{Kind: kind, Value: value, SigCount: s, AllCount: a,
			SigShare: float64(s) / float64(sigTotal), AllShare: float64(a) / float64(allTotal)}
		rest := allTotal - min(sigTotal, allTotal)
		if rest > 0 {
			// 2x2: signature with/without vs the other crashes with/without
			s1, s0 := float64(s), float64(sigTotal-min(s, sigTotal))
			r1 := float64(a - s)
			r0 := float64(rest) - r1
			n := s1 + s0 + r1 + r0
			den := (s1 + s0) * (r1 + r0) * (s1 + r1) * (s0 + r0)
			if den > 0 {
				d := s1*r0 - s0*r1
				if n*d*d/den >= chiSquared95 {
					co.Score = co.SigShare - r1/float64(rest)
				}
			}
		}
		out = append(out, co)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		if out[i].SigShare != out[j].SigShare {
			return out[i].SigShare > out[j].SigShare
		}
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Value < out[j].Value
	})
	if len(out) > limit {
		out = out[:limit]
	}
	for i := range out {
		out[i].Score = math.Round(out[i].Score*1e6) / 1e6
	}
	return out
}

// Correlations answers p: from the cron job's precomputed rows when the
// window is the last 7 days and the signature was among those computed,
// else computed now.
func (c *Correlator) Correlations(ctx context.Context, p CorrelationParams) (*CorrelationsResult, error) {
	if err := p.Validate(time.Now()); err != nil {
		return nil, err
	}
	start := p.End.Add(-time.Duration(p.Days) * 24 * time.Hour)
	res := &CorrelationsResult{Signature: p.Signature, Product: p.Product, Channel: p.Channel, Start: start, End: p.End}
	if p.Days == 7 {
		ok, err := c.precomputed(ctx, p, res)
		if err != nil || ok {
			return res, err
		}
	}
	got, err := c.compute(ctx, p.Product, p.Channel, start, p.End, []string{p.Signature})
	if err != nil {
		return nil, err
	}
	cn := got[p.Signature]
	res.SigTotal, res.AllTotal = cn.sigTotal, cn.allTotal
	res.Items = Score(cn.sig, cn.all, cn.sigTotal, cn.allTotal, p.Limit)
	return res, nil
}

// precomputed fills res from signature_correlations for the day before
// p.End (the cron job's window ends there too) when it holds p.
func (c *Correlator) precomputed(ctx context.Context, p CorrelationParams, res *CorrelationsResult) (bool, error) {
	day := p.End.Add(-24 * time.Hour).Format("2006-01-02")
	rows, err := c.conn.Query(ctx, "SELECT attribute, value, sig_count, sig_total, all_count, all_total, computed_at FROM "+c.db+
		".signature_correlations FINAL WHERE product = ? AND channel = ? AND signature = ? AND day = toDate(?)", p.Product, p.Channel, p.Signature, day)
	if err != nil {
		return false, fmt.Errorf("precomputed correlations: %w", err)
	}
	defer rows.Close()
	sig, all := map[string]uint64{}, map[string]uint64{}
	found := false
	for rows.Next() {
		var kind, value string
		var s, st, a, at uint64
		var at2 time.Time
		if err := rows.Scan(&kind, &value, &s, &st, &a, &at, &at2); err != nil {
			return false, err
		}
		found = true
		res.SigTotal, res.AllTotal, res.ComputedAt = st, at, at2.UTC()
		if kind != "" { // the marker row of a signature without attributes
			sig[kind+"\t"+value], all[kind+"\t"+value] = s, a
		}
	}
	if err := rows.Err(); err != nil || !found {
		return false, err
	}
	res.Precomputed = true
	res.Items = Score(sig, all, res.SigTotal, res.AllTotal, p.Limit)
	return true, nil
}

// Precompute computes the correlations of the top signatures of each
// product, and of each product and release channel, over the 7 days
// ending with day, and stores them for day in signature_correlations
// (replacing an earlier run's rows for that day). It returns the
// signatures stored.
func (c *Correlator) Precompute(ctx context.Context, day time.Time, top int) (int, error) {
	end := day.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	start := end.Add(-7 * 24 * time.Hour)
	rows, err := c.conn.Query(ctx, "SELECT product, toString(release_channel), signature, count() AS n FROM "+c.db+
		".crashes WHERE submitted_timestamp >= toDateTime(?) AND submitted_timestamp < toDateTime(?) AND signature != '' GROUP BY product, release_channel, signature",
		chTime(start), chTime(end))
	if err != nil {
		return 0, fmt.Errorf("correlations: top signatures: %w", err)
	}
	type sigCount struct {
		sig string
		n   uint64
	}
	slices := map[[2]string]map[string]uint64{}
	for rows.Next() {
		var product, channel, sig string
		var n uint64
		if err := rows.Scan(&product, &channel, &sig, &n); err != nil {
			rows.Close()
			return 0, err
		}
		keys := [][2]string{{product, ""}}
		if channel != "" {
			keys = append(keys, [2]string{product, channel})
		}
		for _, key := range keys {
			if slices[key] == nil {
				slices[key] = map[string]uint64{}
			}
			slices[key][sig] += n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	keys := make([][2]string, 0, len(slices))
	for k := range slices {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+"\x00"+keys[i][1] < keys[j][0]+"\x00"+keys[j][1] })
	stored := 0
	now := time.Now().UTC().Truncate(time.Second)
	for _, k := range keys {
		var ranked []sigCount
		for s, n := range slices[k] {
			ranked = append(ranked, sigCount{s, n})
		}
		sort.Slice(ranked, func(i, j int) bool {
			if ranked[i].n != ranked[j].n {
				return ranked[i].n > ranked[j].n
			}
			return ranked[i].sig < ranked[j].sig
		})
		if len(ranked) > top {
			ranked = ranked[:top]
		}
		sigs := make([]string, len(ranked))
		for i, r := range ranked {
			sigs[i] = r.sig
		}
		got, err := c.compute(ctx, k[0], k[1], start, end, sigs)
		if err != nil {
			return stored, err
		}
		batch, err := c.conn.PrepareBatch(ctx, "INSERT INTO "+c.db+".signature_correlations (day, product, channel, signature, attribute, value, sig_count, sig_total, all_count, all_total, computed_at)")
		if err != nil {
			return stored, err
		}
		for _, sig := range sigs {
			cn := got[sig]
			// a marker row, so a signature with no attribute is still known
			if err := batch.Append(day, k[0], k[1], sig, "", "", uint64(0), cn.sigTotal, uint64(0), cn.allTotal, now); err != nil {
				return stored, err
			}
			for kv, s := range cn.sig {
				kind, value, _ := strings.Cut(kv, "\t")
				if err := batch.Append(day, k[0], k[1], sig, kind, value, s, cn.sigTotal, cn.all[kv], cn.allTotal, now); err != nil {
					return stored, err
				}
			}
		}
		if err := batch.Send(); err != nil {
			return stored, fmt.Errorf("correlations: store: %w", err)
		}
		stored += len(sigs)
	}
	return stored, nil
}
