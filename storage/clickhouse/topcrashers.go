package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// TopCrashersParams selects a top-crashers report (Socorro's topcrashers
// page). The window is whole UTC days of submission: [End-Days, End).
type TopCrashersParams struct {
	Product string
	// Versions restricts to these versions; empty means all.
	Versions []string
	// Days is the window length: 1, 3, 7, 14 or 28.
	Days int
	// End is the exclusive last day; zero means tomorrow (today included).
	End time.Time
	// ProcessType restricts to one process type; "" or "any" means all.
	ProcessType string
	// Platform restricts to one os_name; "" means all.
	Platform string
	// Limit is how many signatures: 50, 100, 200 or 300 (0 means 50).
	Limit int
	// Installs asks for the distinct install_time count per signature
	// (Socorro's "installs") and its latest build id, read from the
	// crashes table.
	Installs bool
	// RangeType is "report" (the default: the window is on submission
	// days, read from the aggregates) or "build" (the window is on build
	// dates, read from the deduplicated crashes table: slower).
	RangeType string
}

// TopCrasher is one signature of the report.
type TopCrasher struct {
	Rank      int
	Signature string
	Count     int64
	// Percent is the share of all crashes of the window.
	Percent float64
	// PrevRank is the rank in the previous window of the same length, 0
	// when the signature had no crash there (New).
	PrevRank int
	// RankDiff is PrevRank - Rank (0 when New), as in Socorro.
	RankDiff     int
	PrevCount    int64
	PrevPercent  float64
	New          bool
	Platforms    map[string]int64
	ProcessTypes map[string]int64
	// StartupCount crashes were startup crashes; ShortUptimeCount had an
	// uptime under 60 s; GCCount happened while garbage collecting.
	StartupCount, ShortUptimeCount, GCCount int64
	// StartupAll, StartupSome and StartupLikely are Socorro's startup flags:
	// every crash, some crashes, or more than half by uptime.
	StartupAll, StartupSome, StartupLikely bool
	Installs                               uint64
	// LatestBuild is the newest build id among the window's crashes of the
	// signature, 0 when none had one; filled with Installs.
	LatestBuild int64
}

// TopCrashersResult is the report.
type TopCrashersResult struct {
	Start, End time.Time
	// Total is every crash of the window (for the selected filters).
	Total    int64
	Crashers []TopCrasher
}

// Validate checks the parameters against Socorro's choices.
func (p *TopCrashersParams) Validate() error {
	if p.Product == "" || len(p.Product) > 256 {
		return fmt.Errorf("top crashers: product is required")
	}
	switch p.Days {
	case 1, 3, 7, 14, 28:
	default:
		return fmt.Errorf("top crashers: days must be 1, 3, 7, 14 or 28, got %d", p.Days)
	}
	switch p.Limit {
	case 0:
		p.Limit = 50
	case 50, 100, 200, 300:
	default:
		return fmt.Errorf("top crashers: limit must be 50, 100, 200 or 300, got %d", p.Limit)
	}
	if len(p.Versions) > 100 {
		return fmt.Errorf("top crashers: at most 100 versions")
	}
	if p.ProcessType == "any" {
		p.ProcessType = ""
	}
	switch p.RangeType {
	case "":
		p.RangeType = "report"
	case "report", "build":
	default:
		return fmt.Errorf("top crashers: range type must be report or build, got %q", p.RangeType)
	}
	return nil
}

// TopCrashers reads the report from top_crashers_daily: the signatures of
// the window ranked by count, each with its rank in the previous window of
// the same length, counts per platform and process type, and startup flags.
func (r *Reader) TopCrashers(ctx context.Context, p TopCrashersParams) (*TopCrashersResult, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	end := p.End
	if end.IsZero() {
		end = time.Now().UTC().AddDate(0, 0, 1)
	}
	end = time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, time.UTC)
	start := end.AddDate(0, 0, -p.Days)
	prevStart := start.AddDate(0, 0, -p.Days)
	res := &TopCrashersResult{Start: start, End: end}

	table, args := r.source(&p, start, false)
	where, wargs := p.where(start, end)
	args = append(args, wargs...)
	rows, err := r.conn.Query(ctx, "SELECT signature, sum(crashes) AS c, sum(startup_crashes), sum(short_uptime), sum(gc_crashes) FROM "+table+
		" WHERE "+where+" GROUP BY signature HAVING c > 0 ORDER BY c DESC, signature LIMIT ?", append(args, p.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("top crashers: %w", err)
	}
	var sigs []string
	for rows.Next() {
		var tc TopCrasher
		if err := rows.Scan(&tc.Signature, &tc.Count, &tc.StartupCount, &tc.ShortUptimeCount, &tc.GCCount); err != nil {
			rows.Close()
			return nil, err
		}
		tc.Rank = len(res.Crashers) + 1
		tc.StartupAll = tc.StartupCount == tc.Count
		tc.StartupSome = tc.StartupCount > 0
		tc.StartupLikely = 2*tc.ShortUptimeCount > tc.Count
		tc.Platforms, tc.ProcessTypes = map[string]int64{}, map[string]int64{}
		res.Crashers = append(res.Crashers, tc)
		sigs = append(sigs, tc.Signature)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// The rest only needs the ranked signatures: run it concurrently. Each
	// part writes its own fields of the crashers.
	parts := []func(context.Context) error{
		func(ctx context.Context) error {
			if err := r.conn.QueryRow(ctx, "SELECT sum(crashes) FROM "+table+" WHERE "+where, args...).Scan(&res.Total); err != nil {
				return fmt.Errorf("top crashers total: %w", err)
			}
			return nil
		},
	}
	if len(sigs) > 0 {
		parts = append(parts,
			func(ctx context.Context) error { return r.breakdown(ctx, p, start, end, sigs, res) },
			func(ctx context.Context) error { return r.previous(ctx, p, prevStart, start, res) })
		if p.Installs {
			parts = append(parts, func(ctx context.Context) error { return r.installs(ctx, p, start, end, sigs, res) })
		}
	}
	if err := concurrently(ctx, parts...); err != nil {
		return nil, err
	}
	for i := range res.Crashers {
		if res.Total > 0 {
			res.Crashers[i].Percent = float64(res.Crashers[i].Count) / float64(res.Total)
		}
	}
	return res, nil
}

// concurrently runs fns at once and returns the first error; the others
// are cancelled.
func concurrently(ctx context.Context, fns ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(fns))
	for _, fn := range fns {
		go func() { errs <- fn(ctx) }()
	}
	var first error
	for range fns {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

// filtered reports whether the report splits by version, process type or
// platform, which only top_crashers_daily can answer.
func (p *TopCrashersParams) filtered() bool {
	return len(p.Versions) > 0 || p.ProcessType != "" || p.Platform != ""
}

// source is what the report reads, with its own bound arguments, for a
// window starting at from: signature_daily (one row per signature and day)
// when nothing splits it, top_crashers_daily when filtered or when the
// breakdown (fine) is wanted, and for the build range type a subquery of
// the deduplicated crashes shaped like top_crashers_daily, whose day is the
// build date. Crashes cannot be submitted before their build, so the
// subquery reads only submissions from the window's start on.
func (r *Reader) source(p *TopCrashersParams, from time.Time, fine bool) (string, []any) {
	switch {
	case p.RangeType == "build":
		return "(SELECT x_product AS product, x_signature AS signature, x_os AS os_name, x_pt AS process_type, x_version AS version, " +
			"toDate(concat(substring(bs, 1, 4), '-', substring(bs, 5, 2), '-', substring(bs, 7, 2))) AS day, " +
			"toInt64(1) AS crashes, st AS startup_crashes, su AS short_uptime, g AS gc_crashes FROM (" +
			"SELECT crash_id, any(toString(product)) AS x_product, argMax(signature, row_version) AS x_signature, " +
			"argMax(toString(os_name), row_version) AS x_os, argMax(toString(process_type), row_version) AS x_pt, " +
			"argMax(toString(version), row_version) AS x_version, toString(argMax(ifNull(build, 0), row_version)) AS bs, " +
			"toInt64(argMax(ifNull(startup_crash, 0), row_version)) AS st, toInt64(argMax(ifNull(uptime < 60, 0), row_version)) AS su, " +
			"toInt64(argMax(ifNull(is_garbage_collecting, 0), row_version)) AS g FROM " + r.db + ".crashes " +
			"WHERE product = ? AND submitted_timestamp >= toDateTime(?) GROUP BY crash_id) WHERE length(bs) = 14)", []any{p.Product, chTime(from)}
	case fine || p.filtered():
		return r.db + ".top_crashers_daily", nil
	default:
		return r.db + ".signature_daily", nil
	}
}

// breakdown fills the per-platform and per-process-type counts of the
// ranked signatures from top_crashers_daily, which is ordered by signature
// so that only their granules are read.
func (r *Reader) breakdown(ctx context.Context, p TopCrashersParams, start, end time.Time, sigs []string, res *TopCrashersResult) error {
	table, args := r.source(&p, start, true)
	where, wargs := p.where(start, end)
	args = append(args, wargs...)
	rows, err := r.conn.Query(ctx, "SELECT signature, toString(os_name), toString(process_type), sum(crashes) AS c FROM "+table+
		" WHERE "+where+" AND signature IN ? GROUP BY signature, os_name, process_type HAVING c != 0", append(args, set(sigs))...)
	if err != nil {
		return fmt.Errorf("top crashers breakdown: %w", err)
	}
	defer rows.Close()
	idx := make(map[string]int, len(res.Crashers))
	for i := range res.Crashers { // by index: other parts write other fields meanwhile
		idx[res.Crashers[i].Signature] = i
	}
	for rows.Next() {
		var sig, os, pt string
		var c int64
		if err := rows.Scan(&sig, &os, &pt, &c); err != nil {
			return err
		}
		if i, ok := idx[sig]; ok {
			res.Crashers[i].Platforms[os] += c
			res.Crashers[i].ProcessTypes[pt] += c
		}
	}
	return rows.Err()
}

// where builds the aggregate filter; values are bound. The version,
// process type and platform conditions only apply to top_crashers_daily,
// which filtered() selects whenever they are set.
func (p *TopCrashersParams) where(start, end time.Time) (string, []any) {
	conds, args := p.filters([]string{"product = ?", "day >= toDate(?)", "day < toDate(?)"},
		[]any{p.Product, start.Format("2006-01-02"), end.Format("2006-01-02")})
	return strings.Join(conds, " AND "), args
}

// filters appends the version, process type and platform conditions that
// are set, with their bound values, to conds and args; both
// top_crashers_daily and crashes have these columns.
func (p *TopCrashersParams) filters(conds []string, args []any) ([]string, []any) {
	if len(p.Versions) > 0 {
		conds = append(conds, "version IN ?")
		args = append(args, set(p.Versions))
	}
	if p.ProcessType != "" {
		conds = append(conds, "process_type = ?")
		args = append(args, p.ProcessType)
	}
	if p.Platform != "" {
		conds = append(conds, "os_name = ?")
		args = append(args, p.Platform)
	}
	return conds, args
}

// previous fills PrevRank, PrevCount and New from the previous window. The
// rank of a signature there is its position among every signature of that
// window, so only those at least as frequent as the least frequent of ours
// are read.
func (r *Reader) previous(ctx context.Context, p TopCrashersParams, start, end time.Time, res *TopCrashersResult) error {
	table, args := r.source(&p, start, false)
	where, wargs := p.where(start, end)
	args = append(args, wargs...)
	sigs := make([]string, len(res.Crashers))
	for i := range res.Crashers { // by index: other parts write other fields meanwhile
		sigs[i] = res.Crashers[i].Signature
	}
	prev := map[string]int64{}
	rows, err := r.conn.Query(ctx, "SELECT signature, sum(crashes) AS c FROM "+table+" WHERE "+where+
		" AND signature IN ? GROUP BY signature HAVING c > 0", append(args, set(sigs))...)
	if err != nil {
		return fmt.Errorf("top crashers previous: %w", err)
	}
	for rows.Next() {
		var s string
		var c int64
		if err := rows.Scan(&s, &c); err != nil {
			rows.Close()
			return err
		}
		prev[s] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var prevTotal int64
	if err := r.conn.QueryRow(ctx, "SELECT sum(crashes) FROM "+table+" WHERE "+where, args...).Scan(&prevTotal); err != nil {
		return err
	}
	if len(prev) == 0 {
		for i := range res.Crashers {
			res.Crashers[i].New = true
		}
		return nil
	}
	floor := int64(-1)
	for _, c := range prev {
		if floor < 0 || c < floor {
			floor = c
		}
	}
	// rank = 1 + signatures with a higher count, ties broken by name as in
	// the current window's ORDER BY.
	type sc struct {
		s string
		c int64
	}
	var ranked []sc
	rows, err = r.conn.Query(ctx, "SELECT signature, c FROM (SELECT signature, sum(crashes) AS c FROM "+table+
		" WHERE "+where+" GROUP BY signature) WHERE c >= ? ORDER BY c DESC, signature LIMIT 100000", append(args, floor)...)
	if err != nil {
		return fmt.Errorf("top crashers previous ranks: %w", err)
	}
	for rows.Next() {
		var x sc
		if err := rows.Scan(&x.s, &x.c); err != nil {
			rows.Close()
			return err
		}
		ranked = append(ranked, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rank := make(map[string]int, len(ranked))
	for i, x := range ranked {
		rank[x.s] = i + 1
	}
	for i := range res.Crashers {
		c := &res.Crashers[i]
		pc, ok := prev[c.Signature]
		if !ok {
			c.New = true
			continue
		}
		c.PrevCount = pc
		if prevTotal > 0 {
			c.PrevPercent = float64(pc) / float64(prevTotal)
		}
		if pr, ok := rank[c.Signature]; ok {
			c.PrevRank = pr
			c.RankDiff = pr - c.Rank
		}
	}
	return nil
}

// installs counts distinct install times per signature (a replayed or
// reprocessed crash has the same install time, so no deduplication is
// needed for a distinct count). A crash without an install time counts for
// none; a signature whose crashes all lack one has 0 installs. The latest
// build is the largest build id, 0 when no crash has one.
//
// The count is an estimate, as Socorro's (an Elasticsearch cardinality
// aggregation) is: uniqHLL12, exact up to 16 distinct install times and
// then within about 1.6% (one standard error). Its state is a fixed 4,096
// registers that merge by maximum, so the sum of a signature's days is the
// same estimate the window's crashes give, and merging 7 days of states for
// 50 signatures took 44 ms at 100M crashes where uniq's states took 253 ms.
//
// An unfiltered report merges the states of signature_installs_daily (one
// row per signature and day); one filtered by version, process type or
// platform reads the window's crashes, which alone have those columns.
func (r *Reader) installs(ctx context.Context, p TopCrashersParams, start, end time.Time, sigs []string, res *TopCrashersResult) error {
	q := "SELECT signature, uniqHLL12IfMerge(installs), maxMerge(latest_build) FROM " + r.db + ".signature_installs_daily " +
		"WHERE product = ? AND day >= toDate(?) AND day < toDate(?) AND signature IN ? GROUP BY signature"
	args := []any{p.Product, start.Format("2006-01-02"), end.Format("2006-01-02"), set(sigs)}
	if p.filtered() {
		var conds []string
		conds, args = p.filters([]string{"product = ?", "submitted_timestamp >= toDateTime(?)", "submitted_timestamp < toDateTime(?)", "signature IN ?"},
			[]any{p.Product, chTime(start), chTime(end), set(sigs)})
		q = "SELECT signature, toUInt64(ifNull(uniqHLL12(install_time), 0)), toInt64(ifNull(max(build), 0)) FROM " + r.db + ".crashes WHERE " + strings.Join(conds, " AND ") + " GROUP BY signature"
	}
	rows, err := r.conn.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("top crashers installs: %w", err)
	}
	defer rows.Close()
	type detail struct {
		installs uint64
		build    int64
	}
	got := map[string]detail{}
	for rows.Next() {
		var s string
		var d detail
		if err := rows.Scan(&s, &d.installs, &d.build); err != nil {
			return err
		}
		got[s] = d
	}
	for i := range res.Crashers {
		d := got[res.Crashers[i].Signature]
		res.Crashers[i].Installs, res.Crashers[i].LatestBuild = d.installs, d.build
	}
	return rows.Err()
}

// RebuildDay recomputes top_crashers_daily, signature_daily and
// signature_installs_daily for one submission day from the deduplicated
// crashes table: the repair for the cases Writer.Write cannot keep exact. Run it for days the sinks no longer
// write to (the partitions are dropped and refilled, so rows inserted
// meanwhile for that day would be counted twice or not at all).
//
// It also puts back the day's crash_ids and missing_symbols_crashes rows
// that are missing: a node killed after a crashes part is committed and
// before its materialized views ran leaves the crash stored but not found
// by id. Those two tables are only added to, never dropped, so a crash
// stays findable while the repair runs.
func (r *Reader) RebuildDay(ctx context.Context, day time.Time) error {
	id := day.UTC().Year()*10000 + int(day.UTC().Month())*100 + day.UTC().Day()
	dedup := "SELECT crash_id, any(product) AS p, toDate(any(submitted_timestamp)) AS d, argMax(process_type, row_version) AS pt, argMax(version, row_version) AS v, " +
		"argMax(os_name, row_version) AS os, argMax(signature, row_version) AS sig, argMax(startup_crash, row_version) AS st, " +
		"argMax(uptime, row_version) AS up, argMax(is_garbage_collecting, row_version) AS gc FROM " + r.db + ".crashes " +
		"WHERE toYYYYMMDD(submitted_timestamp) = ? GROUP BY crash_id"
	installsDedup := "SELECT crash_id, any(product) AS p, toDate(any(submitted_timestamp)) AS d, argMax(signature, row_version) AS sig, " +
		"any(install_time) AS it, max(build) AS b FROM " + r.db + ".crashes WHERE toYYYYMMDD(submitted_timestamp) = ? GROUP BY crash_id"
	sums := "toInt64(count()), toInt64(sum(ifNull(st, 0))), toInt64(sum(ifNull(up < 60, 0))), toInt64(sum(ifNull(gc, 0)))"
	for _, st := range []string{
		fmt.Sprintf("ALTER TABLE %s.%s%s DROP PARTITION %d", r.db, localTable("top_crashers_daily", r.cluster), onCluster(r.cluster), id),
		"INSERT INTO " + r.db + ".top_crashers_daily (product, day, process_type, version, os_name, signature, crashes, startup_crashes, short_uptime, gc_crashes) " +
			"SELECT p, d, pt, v, os, sig, " + sums + " FROM (" + dedup + ") GROUP BY p, d, pt, v, os, sig",
		fmt.Sprintf("ALTER TABLE %s.%s%s DROP PARTITION %d", r.db, localTable("signature_daily", r.cluster), onCluster(r.cluster), id),
		"INSERT INTO " + r.db + ".signature_daily (product, day, signature, crashes, startup_crashes, short_uptime, gc_crashes) " +
			"SELECT p, d, sig, " + sums + " FROM (" + dedup + ") GROUP BY p, d, sig",
		fmt.Sprintf("ALTER TABLE %s.%s%s DROP PARTITION %d", r.db, localTable("signature_installs_daily", r.cluster), onCluster(r.cluster), id),
		"INSERT INTO " + r.db + ".signature_installs_daily (product, day, signature, installs, latest_build) " +
			"SELECT p, d, sig, uniqHLL12IfState(assumeNotNull(it), toUInt8(isNotNull(it))), maxState(ifNull(b, toInt64(0))) FROM (" + installsDedup + ") GROUP BY p, d, sig",
		// One crash_ids row per crash (a reprocessing cannot change its
		// product or submission time). On a cluster the subqueries name
		// the local tables, so each shard compares its own crashes with its
		// own index rows: both are sharded by crash id, as is the
		// Distributed insert.
		"INSERT INTO " + r.db + ".crash_ids (crash_id, product, submitted_timestamp) " +
			"SELECT DISTINCT crash_id, product, submitted_timestamp FROM " + r.db + ".crashes WHERE toYYYYMMDD(submitted_timestamp) = ? " +
			"AND crash_id NOT IN (SELECT crash_id FROM " + r.db + "." + localTable("crash_ids", r.cluster) + " WHERE toYYYYMMDD(submitted_timestamp) = ?)",
		"INSERT INTO " + r.db + ".missing_symbols_crashes (module, submitted_timestamp, crash_id, row_version) " +
			"SELECT arrayJoin(missing_symbols_modules), submitted_timestamp, crash_id, row_version FROM " + r.db + ".crashes " +
			"WHERE toYYYYMMDD(submitted_timestamp) = ? AND notEmpty(missing_symbols_modules) AND (crash_id, row_version) NOT IN " +
			"(SELECT crash_id, row_version FROM " + r.db + "." + localTable("missing_symbols_crashes", r.cluster) + " WHERE toYYYYMMDD(submitted_timestamp) = ?)",
	} {
		var args []any
		for range strings.Count(st, "?") {
			args = append(args, uint32(id))
		}
		if err := r.conn.Exec(ctx, st, args...); err != nil {
			return fmt.Errorf("rebuild day %d: %w", id, err)
		}
	}
	return nil
}
