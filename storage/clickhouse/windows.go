package clickhouse

import (
	"context"
	"fmt"
	"time"
)

// WindowParams selects two adjacent windows of one product (and
// optionally one version) for comparing crash counts: the previous window
// [Start, Mid) and the current one [Mid, End). The alert rules read them.
//
// Windows of whole days read the daily aggregates (top_crashers_daily,
// which the writer keeps exact): the bounds must then be UTC midnights.
// Shorter windows read the crashes table over the two windows only, one
// row per crash id (the newest processing's signature), since no
// aggregate is finer than a day; at alert windows of minutes to hours
// that is a small read.
type WindowParams struct {
	Product string
	// Version restricts to one version; "" means every version.
	Version         string
	Start, Mid, End time.Time
}

// WindowSide names the window a ranking orders by.
type WindowSide string

// The two windows of WindowParams.
const (
	Current  WindowSide = "current"
	Previous WindowSide = "previous"
)

// WindowCount is a count in both windows: of one signature, or of every
// crash (Signature "").
type WindowCount struct {
	Signature         string
	Current, Previous int64
}

func (p WindowParams) validate() error {
	switch {
	case p.Product == "" || len(p.Product) > 256:
		return fmt.Errorf("windows: a product (at most 256 bytes) is required")
	case len(p.Version) > 256:
		return fmt.Errorf("windows: version longer than 256 bytes")
	case !p.Start.Before(p.Mid) || !p.Mid.Before(p.End):
		return fmt.Errorf("windows: want start < mid < end, got %s, %s, %s", p.Start, p.Mid, p.End)
	}
	return nil
}

// daily reports whether the windows fall on UTC midnights, so that the
// daily aggregates answer them.
func (p WindowParams) daily() bool {
	for _, t := range []time.Time{p.Start, p.Mid, p.End} {
		if !t.UTC().Truncate(24 * time.Hour).Equal(t) {
			return false
		}
	}
	return true
}

// windowSource is a subquery with a signature, a time t and a count c per
// row, limited to the product, version and both windows, with its bound
// arguments.
func (r *Reader) windowSource(p WindowParams) (string, []any) {
	args := []any{p.Product}
	version := ""
	if p.Version != "" {
		version = " AND version = ?"
		args = append(args, p.Version)
	}
	if p.daily() {
		args = append(args, p.Start.UTC().Format("2006-01-02"), p.End.UTC().Format("2006-01-02"))
		return "(SELECT signature, toDateTime(day) AS t, crashes AS c FROM " + r.db + ".top_crashers_daily WHERE product = ?" + version +
			" AND day >= toDate(?) AND day < toDate(?))", args
	}
	args = append(args, chTime(p.Start), chTime(p.End))
	return "(SELECT argMax(signature, row_version) AS signature, any(submitted_timestamp) AS t, toInt64(1) AS c FROM " + r.db +
		".crashes WHERE product = ?" + version + " AND submitted_timestamp >= toDateTime(?) AND submitted_timestamp < toDateTime(?) GROUP BY crash_id)", args
}

// WindowTotals counts every crash of the product (and version) in both
// windows: the crash volume.
func (r *Reader) WindowTotals(ctx context.Context, p WindowParams) (WindowCount, error) {
	var out WindowCount
	if err := p.validate(); err != nil {
		return out, err
	}
	src, args := r.windowSource(p)
	err := r.conn.QueryRow(ctx, "SELECT toInt64(sumIf(c, t >= toDateTime(?))), toInt64(sumIf(c, t < toDateTime(?))) FROM "+src,
		append([]any{chTime(p.Mid), chTime(p.Mid)}, args...)...).Scan(&out.Current, &out.Previous)
	if err != nil {
		return out, fmt.Errorf("window totals: %w", err)
	}
	return out, nil
}

// WindowSignatures ranks the signatures by their count in one window (by),
// highest first (ties by signature), keeping those with at least min
// crashes there, at most limit of them (1..10000); each carries its count
// in both windows.
func (r *Reader) WindowSignatures(ctx context.Context, p WindowParams, by WindowSide, min int64, limit int) ([]WindowCount, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	if by != Current && by != Previous {
		return nil, fmt.Errorf("windows: rank by current or previous, not %q", by)
	}
	if limit < 1 || limit > 10000 {
		return nil, fmt.Errorf("windows: limit %d outside 1..10000", limit)
	}
	col := map[WindowSide]string{Current: "cur", Previous: "prev"}[by]
	src, args := r.windowSource(p)
	q := "SELECT signature, toInt64(sumIf(c, t >= toDateTime(?))) AS cur, toInt64(sumIf(c, t < toDateTime(?))) AS prev FROM " + src +
		" GROUP BY signature HAVING " + col + " >= ? AND " + col + " > 0 ORDER BY " + col + " DESC, signature LIMIT ?"
	rows, err := r.conn.Query(ctx, q, append(append([]any{chTime(p.Mid), chTime(p.Mid)}, args...), min, limit)...)
	if err != nil {
		return nil, fmt.Errorf("window signatures: %w", err)
	}
	defer rows.Close()
	var out []WindowCount
	for rows.Next() {
		var w WindowCount
		if err := rows.Scan(&w.Signature, &w.Current, &w.Previous); err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}
