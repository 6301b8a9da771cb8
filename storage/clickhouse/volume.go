package clickhouse

import (
	"context"
	"fmt"
	"time"
)

// DailyVolume is crashes per submission day for the dashboards (home:
// per product; a product's page: per version), read from the daily
// aggregates rather than by deduplicating every crash of the window: at
// 1M crashes that is the difference between reading a few thousand
// aggregate rows and grouping ~700 000 crashes by id. The aggregates are
// exact (the writer corrects them on reprocessing; RebuildDay repairs
// them). split is "product" (signature_daily) or "version"
// (top_crashers_daily, product required); the window is whole UTC days
// [from, to). Each bucket's Group is the day (YYYY-MM-DD), Term the
// product or version, ordered by day then term.
func (r *Reader) DailyVolume(ctx context.Context, split, product string, from, to time.Time) ([]Bucket, error) {
	var q string
	args := []any{from.UTC().Format("2006-01-02"), to.UTC().Format("2006-01-02")}
	switch split {
	case "product":
		q = "SELECT toString(day) AS d, toString(product) AS t, sum(crashes) AS c FROM " + r.db + ".signature_daily WHERE day >= toDate(?) AND day < toDate(?)"
		if product != "" {
			q += " AND product = ?"
			args = append(args, product)
		}
	case "version":
		if product == "" {
			return nil, fmt.Errorf("daily volume by version: a product is required")
		}
		q = "SELECT toString(day) AS d, toString(version) AS t, sum(crashes) AS c FROM " + r.db + ".top_crashers_daily WHERE day >= toDate(?) AND day < toDate(?) AND product = ?"
		args = append(args, product)
	default:
		return nil, fmt.Errorf("daily volume: split by product or version, not %q", split)
	}
	rows, err := r.conn.Query(ctx, q+" GROUP BY d, t HAVING c != 0 ORDER BY d, t LIMIT 100000", args...)
	if err != nil {
		return nil, fmt.Errorf("daily volume: %w", err)
	}
	defer rows.Close()
	var out []Bucket
	for rows.Next() {
		var b Bucket
		if err := rows.Scan(&b.Group, &b.Term, &b.Count); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
