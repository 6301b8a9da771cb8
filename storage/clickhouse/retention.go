package clickhouse

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// retainedTables are the tables retention prunes, each with the width of its
// partition id: 8 for toYYYYMMDD (daily), 6 for toYYYYMM (monthly). The
// migrations decide the partitioning; a test (TestRetentionEveryTable)
// holds this list equal to the partitioned tables they create.
// signature_first is left out on purpose: a first-seen date stays true
// after its crashes expire.
var retainedTables = map[string]int{
	"crashes":                  8,
	"crash_ids":                8,
	"missing_symbols_crashes":  8,
	"top_crashers_daily":       8,
	"signature_daily":          8,
	"signature_installs_daily": 8,
	"attribute_daily":          6,
	"signature_correlations":   6,
}

// dailyTables are the retained tables partitioned by day, crashes first
// (the one a clean-partition read depends on), the rest in name order.
func dailyTables() []string {
	var out []string
	for t, w := range retainedTables {
		if w == 8 && t != "crashes" {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return append([]string{"crashes"}, out...)
}

// DropPartitionsBefore is retention: it drops every partition of the
// retained tables whose days are all before cutoff's day, and returns the
// partitions dropped as "table/partition", oldest first. A daily partition
// goes once its day is before the cutoff; a monthly one (attribute_daily,
// signature_correlations) only once its whole month is, so a month the
// cutoff falls inside is kept, up to a month longer than the window, until
// the first retention run of the next month drops it. That costs a month
// of small aggregate rows and keeps retention to DROP PARTITION, which is
// instant and atomic: 18.16 has no TTL, and an ALTER ... DELETE mutation
// for the expired days would rewrite every part of the month on each run.
// The readers never ask for days older than the window, so the extra days
// answer nothing. In cluster mode the local tables are dropped ON CLUSTER,
// on every node.
func (r *Reader) DropPartitionsBefore(ctx context.Context, cutoff time.Time) ([]string, error) {
	c := cutoff.UTC()
	day := strconv.Itoa(c.Year()*10000 + int(c.Month())*100 + c.Day())
	month := day[:6]
	// On a cluster the partitions are listed from one replica of every
	// shard (a shard may hold a day the node asked does not).
	parts, suffix := "system.parts", ""
	if r.cluster != "" {
		parts, suffix = "cluster('"+r.cluster+"', system, parts)", "_local"
	}
	tables := make([]string, 0, len(retainedTables))
	for t := range retainedTables {
		tables = append(tables, "'"+t+suffix+"'")
	}
	sort.Strings(tables)
	rows, err := r.conn.Query(ctx, "SELECT DISTINCT replaceRegexpOne(table, '_local$', '') AS t, partition FROM "+parts+
		" WHERE active AND database = ? AND table IN ("+strings.Join(tables, ", ")+") ORDER BY t, partition", r.db)
	if err != nil {
		return nil, err
	}
	type tp struct{ table, partition string }
	var todo []tp
	for rows.Next() {
		var x tp
		if err := rows.Scan(&x.table, &x.partition); err != nil {
			rows.Close()
			return nil, err
		}
		todo = append(todo, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Equal-width digit strings compare as their dates: a day before the
	// cutoff's day, a month before the cutoff's month (all of it is before
	// the cutoff, whose day is in a later month).
	expired := func(x tp) bool {
		w := retainedTables[x.table]
		if len(x.partition) != w || strings.Trim(x.partition, "0123456789") != "" {
			return false // not one of our partitions
		}
		if w == len(month) {
			return x.partition < month
		}
		return x.partition < day
	}
	sort.SliceStable(todo, func(i, j int) bool { return todo[i].partition < todo[j].partition })
	var dropped []string
	for _, x := range todo {
		if !expired(x) {
			continue
		}
		if err := r.conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s.%s%s DROP PARTITION %s", r.db, localTable(x.table, r.cluster), onCluster(r.cluster), x.partition)); err != nil {
			return dropped, fmt.Errorf("drop %s partition %s: %w", x.table, x.partition, err)
		}
		dropped = append(dropped, x.table+"/"+x.partition)
	}
	return dropped, nil
}
