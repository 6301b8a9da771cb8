package sinks

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/services/sinks"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/clickhouse/supersearch"
	"github.com/crashstream/crashstream/streams"
)

func flagSet() *flag.FlagSet { return flag.NewFlagSet("defaults", flag.ContinueOnError) }

// The bulk-load harness. It is a test, not a Go benchmark, because one
// load serves many measured queries:
//
//	CRASHSTREAM_STACK=1 CRASHSTREAM_BENCH_ROWS=1000000 go test -run TestBenchQueries -v -timeout 60m ./sinks/
//
// CRASHSTREAM_BENCH_ONLY=top measures top crashers only (no compaction, no
// super search); CRASHSTREAM_BENCH_RUNS sets the runs per query (20).
//
// It loads CRASHSTREAM_BENCH_ROWS crashes into the database
// cs_bench_<rows>, or CRASHSTREAM_BENCH_DB when set (a name of one's own on
// a shared server), kept between runs (set CRASHSTREAM_BENCH_RELOAD=1 to
// rebuild it), with one INSERT ... SELECT FROM numbers() per million rows
// (consecutive numbers fall on the same days, so that one INSERT touches a
// few daily partitions, not all 60 at once: open-file limits),
// through the materialized views, so the aggregates are built as the sink
// would build them. Signatures follow a Zipf law: rank r of 20,000 is drawn
// with density ∝ 1/r (r = floor(20000^u), u uniform), so the top signature
// holds about 7% of crashes and half of them sit in the top ~100. Crashes
// spread over the 60 days before now; products Firefox 70%, Fenix 20%,
// Thunderbird 10%; 5 versions, 4 process types, 3 platforms. Each crash
// loads 41 modules or so (30 in every crash, 10 of 300 libraries in three
// versions, and for the top 50 signatures a "hook" module of its own in 90%
// of its crashes: what correlations find), with a CPU and a GPU vendor.

const benchSignatures = 20000

// benchDB opens the bulk-loaded database the bench tests share (loading it
// first when it is missing or of another size) and returns it with its row
// count and the runs per measurement: CRASHSTREAM_BENCH_RUNS, else
// defaultRuns. It skips the test unless the stack is up and
// CRASHSTREAM_BENCH_ROWS is set.
func benchDB(t *testing.T, defaultRuns int) (conn driver.Conn, cfg clickhouse.Config, rows, runs int) {
	t.Helper()
	requireStack(t)
	rows, _ = strconv.Atoi(os.Getenv("CRASHSTREAM_BENCH_ROWS"))
	if rows <= 0 {
		t.Skip("set CRASHSTREAM_BENCH_ROWS (e.g. 1000000) to run the bulk-load harness")
	}
	runs = defaultRuns
	if v, _ := strconv.Atoi(os.Getenv("CRASHSTREAM_BENCH_RUNS")); v > 0 {
		runs = v
	}
	db := os.Getenv("CRASHSTREAM_BENCH_DB") // a name of one's own on a shared server
	if db == "" {
		db = fmt.Sprintf("cs_bench_%d", rows)
	}
	cfg = chConfig(db)
	conn, err := clickhouse.Open(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	benchLoad(t, conn, cfg.Database, rows)
	return conn, cfg, rows, runs
}

func benchLoad(t *testing.T, conn driver.Conn, db string, rows int) {
	t.Helper()
	ctx := context.Background()
	var have uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+".crashes").Scan(&have); err == nil && have == uint64(rows) && os.Getenv("CRASHSTREAM_BENCH_RELOAD") != "1" {
		// a migration added since the load runs here, backfill included
		applied, err := clickhouse.MigrateCluster(ctx, conn, db, os.Getenv("CRASHSTREAM_CLICKHOUSE_CLUSTER"))
		require.NoError(t, err)
		t.Logf("reusing %s with %d rows (migrations applied now: %v)", db, have, applied)
		return
	}
	cluster := os.Getenv("CRASHSTREAM_CLICKHOUSE_CLUSTER")
	drop := "DROP DATABASE IF EXISTS " + db
	if cluster != "" {
		drop += " ON CLUSTER " + cluster
	}
	require.NoError(t, conn.Exec(ctx, drop))
	_, err := clickhouse.MigrateCluster(ctx, conn, db, cluster)
	require.NoError(t, err)
	// attribute_daily_mv expands each crash into its ~45 correlation
	// attributes, and a million-row INSERT through it passes 18.16's 4 GB
	// per query (the sink's inserts are thousands of rows): the bulk load
	// goes around the view and counts the attributes once afterwards, as
	// migration 0008 does for the crashes stored before it.
	onCluster := ""
	if cluster != "" {
		onCluster = " ON CLUSTER " + cluster
	}
	require.NoError(t, conn.Exec(ctx, "DROP TABLE IF EXISTS "+db+".attribute_daily_mv"+onCluster))
	now := time.Now().UTC().Truncate(time.Second)
	start := time.Now()
	const chunk = 1_000_000
	for off := 0; off < rows; off += chunk {
		n := min(chunk, rows-off)
		q := fmt.Sprintf(`INSERT INTO %[1]s.crashes (crash_id, uuid, date_processed, submitted_timestamp, product, version, release_channel,
  build, process_type, os_name, os_version, signature, uptime, install_time, startup_crash, is_garbage_collecting,
  modules_in_stack, addons, success, row_version, loaded_modules, cpu_info, adapter_vendor_id)
SELECT id, id, sub + 60, sub, product, version, channel, build, ptype, os, '10.0.19045', sig, uptime, itime,
  toUInt8(uptime < 60), toUInt8(n %% 17 = 0), ['xul.dll/0123456789ABCDEF', 'ntdll.dll/0123456789ABCDEF'],
  [concat('addon', toString(n %% 13), '@example.com:1.0')], 1, toUInt64(toUInt32(sub)) * 1000000,
  arrayConcat(arrayMap(i -> concat('common', toString(i), '.dll/1.0'), range(30)),
    arrayMap(i -> concat('lib', toString(cityHash64(n, 10 + i) %% 300), '.dll/', toString(1 + cityHash64(n, 30 + i) %% 3), '.0'), range(10)),
    if(rank <= 50 AND cityHash64(n, 9) %% 10 < 9, [concat('hook', toString(rank), '.dll/2.0')], emptyArrayString())),
  multiIf(cityHash64(n, 11) %% 100 < 70, 'GenuineIntel family 6 model 158', 'AuthenticAMD family 23 model 113'),
  multiIf(cityHash64(n, 12) %% 100 < 60, '0x8086', cityHash64(n, 12) %% 100 < 85, '0x10de', '0x1002')
FROM (
  SELECT number + %[2]d AS n,
    lower(hex(sipHash128(toString(n)))) AS h,
    toDateTime(%[3]d - intDiv(n * 60, %[6]d) * 86400 - toUInt32(cityHash64(n, 1) %% 86400)) AS sub,
    concat(substring(h, 1, 8), '-', substring(h, 9, 4), '-4', substring(h, 14, 3), '-a', substring(h, 18, 3), '-',
      substring(h, 21, 5), '0', formatDateTime(sub, '%%y%%m%%d')) AS id,
    cityHash64(n, 2) %% 100 AS p,
    multiIf(p < 70, 'Firefox', p < 90, 'Fenix', 'Thunderbird') AS product,
    concat(toString(130 + cityHash64(n, 3) %% 5), '.0') AS version,
    multiIf(n %% 7 = 0, 'beta', n %% 11 = 0, 'nightly', 'release') AS channel,
    toInt64(20261001000000 + (cityHash64(n, 3) %% 5) * 1000000) AS build,
    multiIf(cityHash64(n, 4) %% 100 < 50, 'parent', cityHash64(n, 4) %% 100 < 85, 'content', cityHash64(n, 4) %% 100 < 95, 'gpu', 'rdd') AS ptype,
    multiIf(cityHash64(n, 5) %% 100 < 70, 'Windows NT', cityHash64(n, 5) %% 100 < 85, 'Mac OS X', 'Linux') AS os,
    toUInt32(floor(exp((cityHash64(n, 6) %% 1000000) / 1000000 * log(%[4]d)))) AS rank,
    concat('sig_', toString(rank), ' | mozilla::dom::Something') AS sig,
    toInt64((cityHash64(n, 7) %% 7200)) AS uptime,
    toInt64(1700000000 + cityHash64(n, 8) %% 2000000) AS itime
  FROM system.numbers LIMIT %[5]d
)`, db, off, now.Unix(), benchSignatures, n, rows)
		require.NoError(t, conn.Exec(ctx, q))
	}
	migs, err := clickhouse.ClusterMigrations(db, cluster)
	require.NoError(t, err)
	for _, m := range migs {
		if m.Name == "attribute_daily" {
			for _, st := range m.Statements { // the table (there), the view again, the counts
				require.NoError(t, conn.Exec(ctx, st))
			}
		}
	}
	t.Logf("loaded %d rows in %s (%.0f rows/s, INSERT ... SELECT through the views)", rows, time.Since(start).Round(time.Second), float64(rows)/time.Since(start).Seconds())
	// let background merges settle so that timings are not of a table mid-merge
	opt := "OPTIMIZE TABLE " + db + ".top_crashers_daily"
	if cluster != "" {
		opt += "_local ON CLUSTER " + cluster
	}
	require.NoError(t, conn.Exec(ctx, opt))
}

// benchCompact is what cron does for closed days: one part per daily
// partition (CompactDay), so that DedupClean reads them without argMax.
// Today's partition is left as the sink leaves it.
func benchCompact(t *testing.T, conn driver.Conn, cfg clickhouse.Config) {
	t.Helper()
	rd, err := clickhouse.NewClusterReader(conn, cfg.Database, cfg.Cluster, clickhouse.DedupClean)
	require.NoError(t, err)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	start := time.Now()
	for d := today.AddDate(0, 0, -61); d.Before(today); d = d.AddDate(0, 0, 1) {
		require.NoError(t, rd.CompactDay(context.Background(), d))
	}
	t.Logf("compacted closed days in %s", time.Since(start).Round(time.Second))
}

func percentiles(ds []time.Duration) (p50, p95 time.Duration) {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2], ds[(len(ds)*95+99)/100-1]
}

func measure(t *testing.T, runs int, fn func() error) (time.Duration, time.Duration) {
	t.Helper()
	require.NoError(t, fn()) // warm-up
	ds := make([]time.Duration, runs)
	for i := range ds {
		s := time.Now()
		require.NoError(t, fn())
		ds[i] = time.Since(s)
	}
	return percentiles(ds)
}

func TestBenchQueries(t *testing.T) {
	conn, cfg, rows, runs := benchDB(t, 20)
	if os.Getenv("CRASHSTREAM_BENCH_ONLY") != "top" {
		benchCompact(t, conn, cfg)
	}
	ctx := context.Background()
	end := time.Now().UTC().AddDate(0, 0, 1)
	fs := supersearch.FromRegistry(fields.New())

	var out []string
	row := func(name string, p50, p95 time.Duration, note string) {
		out = append(out, fmt.Sprintf("| %d | %s | %d | %d | %s |", rows, name, p50.Milliseconds(), p95.Milliseconds(), note))
	}
	for _, tc := range []struct {
		name string
		p    clickhouse.TopCrashersParams
	}{
		{"top crashers Firefox 7d, all versions", clickhouse.TopCrashersParams{Product: "Firefox", Days: 7, End: end}},
		{"top crashers Firefox 7d, one version, content", clickhouse.TopCrashersParams{Product: "Firefox", Versions: []string{"132.0"}, Days: 7, End: end, ProcessType: "content"}},
		{"top crashers Firefox 28d, 300 signatures", clickhouse.TopCrashersParams{Product: "Firefox", Days: 28, End: end, Limit: 300}},
		{"top crashers Firefox 7d + installs", clickhouse.TopCrashersParams{Product: "Firefox", Days: 7, End: end, Installs: true}},
	} {
		rd, err := clickhouse.NewReader(conn, cfg.Database, clickhouse.DedupArgMax)
		require.NoError(t, err)
		var res *clickhouse.TopCrashersResult
		p50, p95 := measure(t, runs, func() error {
			var err error
			res, err = rd.TopCrashers(ctx, tc.p)
			return err
		})
		row(tc.name, p50, p95, fmt.Sprintf("%d crashes in window, top signature %d", res.Total, res.Crashers[0].Count))
	}
	modes := []struct {
		name string
		d    clickhouse.Dedup
	}{{"argMax", clickhouse.DedupArgMax}, {"FINAL", clickhouse.DedupFinal}, {"clean partitions", clickhouse.DedupClean}}
	if os.Getenv("CRASHSTREAM_BENCH_ONLY") == "top" {
		modes = nil // top crashers only
	}
	for _, mode := range modes {
		rd, err := clickhouse.NewClusterReader(conn, cfg.Database, cfg.Cluster, mode.d)
		require.NoError(t, err)
		for _, sq := range []struct{ name, raw string }{
			{"super search 7d, facets signature+product+os_name", "_facets=signature&_facets=product&_facets=os_name"},
			{"super search 7d, product=Firefox, signature ~, facets", "product=Firefox&signature=~sig_1&_facets=signature&_facets=version"},
			{"super search 1d, 3 facets, histogram by hour", "date=>=" + time.Now().UTC().AddDate(0, 0, -1).Format(time.RFC3339) + "&_facets=signature&_facets=product&_facets=process_type&_histogram.date=product&_histogram_interval.date=1h"},
		} {
			params, err := url.ParseQuery(sq.raw)
			require.NoError(t, err)
			q, err := supersearch.Parse(params, fs, false, time.Now())
			require.NoError(t, err)
			var res *clickhouse.SearchResult
			p50, p95 := measure(t, max(runs/4, 3), func() error {
				var err error
				res, err = rd.SuperSearch(ctx, q)
				return err
			})
			row(sq.name+" ("+mode.name+")", p50, p95, fmt.Sprintf("%d hits", res.Total))
		}
	}
	t.Logf("\n| crashes | query | p50 ms | p95 ms | note |\n|---|---|---|---|---|\n%s", strings.Join(out, "\n"))
}

// TestBenchSinkThroughput measures sink-clickhouse end to end: N processed
// crashes already on the topic, the sink started, time until all are in
// ClickHouse (rows/s), with the default batch settings.
//
//	CRASHSTREAM_STACK=1 CRASHSTREAM_BENCH_SINK=50000 go test -run TestBenchSinkThroughput -v ./sinks/
func TestBenchSinkThroughput(t *testing.T) {
	requireStack(t)
	n, _ := strconv.Atoi(os.Getenv("CRASHSTREAM_BENCH_SINK"))
	if n <= 0 {
		t.Skip("set CRASHSTREAM_BENCH_SINK (e.g. 50000) to measure sink throughput")
	}
	kcfg := kafkaConfig(t)
	conn, chcfg := chDB(t)
	s := serde(t)
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	crashes := make([]*schemas.ProcessedCrash, n)
	for i := range crashes {
		crashes[i] = newCrash(i, day, day.Add(time.Hour), fmt.Sprintf("sig_%d", i%500))
	}
	produce(t, kcfg, s, crashes)
	table, err := clickhouse.NewTable(fields.New())
	require.NoError(t, err)
	wcfg := clickhouse.WriterConfig{MaxAttempts: 5, Backoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	w, err := clickhouse.NewWriter(conn, chcfg.Database, table, wcfg)
	require.NoError(t, err)
	sink, err := sinks.NewClickHouse(sinks.ClickHouseConfig{Group: unique("bench-"), BatchRows: 5000, Linger: time.Second, Writer: wcfg},
		sinks.ClickHouseDeps{Writer: w, Table: table, Decoder: s, Registry: prometheus.NewRegistry()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- runStage(ctx, kcfg, sink.Stage(kcfg.Topics())) }()
	var first time.Time
	eventually(t, 10*time.Minute, "all rows stored", func() (bool, string) {
		var c uint64
		require.NoError(t, conn.QueryRow(context.Background(), "SELECT count() FROM "+chcfg.Database+".crashes").Scan(&c))
		if c > 0 && first.IsZero() {
			first = time.Now()
		}
		return c >= uint64(n), fmt.Sprint(c)
	})
	el := time.Since(start)
	cancel()
	require.NoError(t, <-done)
	t.Logf("sink-clickhouse: %d crashes in %s = %.0f rows/s (first row after %s: group join)", n, el.Round(time.Millisecond),
		float64(n)/el.Seconds(), first.Sub(start).Round(time.Millisecond))
	t.Logf("steady rate after the first row: %.0f rows/s", float64(n)/time.Since(first).Seconds())
}

// TestBenchVisibilityLag measures, at a steady produce rate, the time from
// a processed crash acknowledged on crash.processed.v1 to its row being
// queryable in ClickHouse, through sink-clickhouse with default batching.
// The poll runs every 50 ms, which bounds the resolution.
//
//	CRASHSTREAM_STACK=1 CRASHSTREAM_BENCH_LAG=100 go test -run TestBenchVisibilityLag -v ./sinks/
func TestBenchVisibilityLag(t *testing.T) {
	requireStack(t)
	rate, _ := strconv.Atoi(os.Getenv("CRASHSTREAM_BENCH_LAG"))
	if rate <= 0 {
		t.Skip("set CRASHSTREAM_BENCH_LAG to a produce rate per second (e.g. 100)")
	}
	const seconds = 30
	kcfg := kafkaConfig(t)
	conn, chcfg := chDB(t)
	s := serde(t)
	table, err := clickhouse.NewTable(fields.New())
	require.NoError(t, err)
	var defaults sinks.ClickHouseConfig
	defaults.RegisterFlags(flagSet())
	w, err := clickhouse.NewWriter(conn, chcfg.Database, table, defaults.Writer)
	require.NoError(t, err)
	defaults.Group = unique("lag-")
	sink, err := sinks.NewClickHouse(defaults, sinks.ClickHouseDeps{Writer: w, Table: table, Decoder: s, Registry: prometheus.NewRegistry()})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runStage(ctx, kcfg, sink.Stage(kcfg.Topics())) }()
	defer func() { cancel(); require.NoError(t, <-done) }()

	p, err := streams.NewProducer(kcfg, streams.Options{Logger: zerolog.Nop()})
	require.NoError(t, err)
	defer func() { _ = p.Close(context.Background()) }()
	// warm up: the group join is not part of the lag
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	produce(t, kcfg, s, []*schemas.ProcessedCrash{newCrash(1_000_000, day, day.Add(time.Hour), "warmup")})
	eventually(t, 2*time.Minute, "warm-up row", func() (bool, string) {
		var c uint64
		require.NoError(t, conn.QueryRow(context.Background(), "SELECT count() FROM "+chcfg.Database+".crashes").Scan(&c))
		return c == 1, fmt.Sprint(c)
	})

	var mu sync.Mutex
	acked := map[string]time.Time{}
	seen := map[string]time.Time{}
	stop := make(chan struct{})
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			rows, err := conn.Query(context.Background(), "SELECT crash_id FROM "+chcfg.Database+".crashes")
			if err != nil {
				continue
			}
			now := time.Now()
			mu.Lock()
			for rows.Next() {
				var id string
				if rows.Scan(&id) == nil {
					if _, ok := seen[id]; !ok {
						seen[id] = now
					}
				}
			}
			mu.Unlock()
			rows.Close()
		}
	}()
	interval := time.Second / time.Duration(rate)
	next := time.Now()
	for i := range rate * seconds {
		c := newCrash(i, day, day.Add(time.Hour), fmt.Sprintf("sig_%d", i%50))
		v, err := s.Marshal(c)
		require.NoError(t, err)
		id := c.CrashID
		p.SendAsync(context.Background(), kcfg.Topics().Processed, []byte(id), v, func(err error) {
			if err == nil {
				mu.Lock()
				acked[id] = time.Now()
				mu.Unlock()
			}
		})
		next = next.Add(interval)
		time.Sleep(time.Until(next))
	}
	eventually(t, 2*time.Minute, "every row seen", func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == rate*seconds+1, fmt.Sprint(len(seen))
	})
	close(stop)
	<-pollDone
	var lags []time.Duration
	mu.Lock()
	for id, a := range acked {
		lags = append(lags, seen[id].Sub(a))
	}
	mu.Unlock()
	p50, p95 := percentiles(lags)
	t.Logf("visibility lag at %d crashes/s for %d s (%d crashes): p50 %s, p95 %s (poll every 50 ms)", rate, seconds, len(lags), p50.Round(time.Millisecond), p95.Round(time.Millisecond))
}

// TestBenchCrashByID measures Reader.CrashByID (one query: crashes by its
// sorting key, IN the crash_ids row of the id; on a cluster sent to the
// crash's shard only) on the bulk-loaded set and, in the same run,
// interleaved with it, on a cluster the same query through the Distributed
// table (to every shard), and the two lookups it replaced
// (crash_ids, then crashes by the sorting key: two round trips) and the
// date-window scan before crash_ids existed (fewer runs). Every lookup is
// of a different id (never a cached granule of a previous one).
//
// Beside the times, which depend on the machine's load, it reports what
// does not: rows and bytes read per lookup (the server's progress, all
// shards), and, where the server keeps system.query_log, the CPU time per
// lookup summed over every node that took part.
//
//	CRASHSTREAM_STACK=1 CRASHSTREAM_BENCH_DB=my_bench CRASHSTREAM_BENCH_ROWS=10000000 go test -run TestBenchCrashByID -v -timeout 60m ./sinks/
func TestBenchCrashByID(t *testing.T) {
	conn, cfg, rows, runs := benchDB(t, 200)
	db := cfg.Database
	ctx := context.Background()
	scanRuns := min(runs, 20)
	var ids []string
	res, err := conn.Query(ctx, "SELECT crash_id FROM "+db+".crashes WHERE cityHash64(crash_id) % 1000 = 7 LIMIT ?", 3*runs+scanRuns+4)
	require.NoError(t, err)
	for res.Next() {
		var id string
		require.NoError(t, res.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, res.Err())
	require.Len(t, ids, 3*runs+scanRuns+4)
	rd, err := clickhouse.NewClusterReader(conn, db, cfg.Cluster, clickhouse.DedupArgMax)
	require.NoError(t, err)

	window := func(id string) (string, string) {
		day, err := clickhouse.CrashIDDate(id)
		require.NoError(t, err)
		return day.Add(-24 * time.Hour).Format(time.DateTime), day.Add(48 * time.Hour).Format(time.DateTime)
	}
	drain := func(ctx context.Context, q string, args ...any) (int, error) {
		r, err := conn.Query(ctx, q, args...)
		if err != nil {
			return 0, err
		}
		defer r.Close()
		n := 0
		for r.Next() {
			n++
		}
		return n, r.Err()
	}
	type variant struct {
		name    string
		runs    int
		cluster bool // measured on a cluster only
		lookup  func(qctx func(step int) context.Context, id string) error
		ids     []string
		ds      []time.Duration
		rows    uint64
		bytes   uint64
	}
	variants := []*variant{
		{name: "CrashByID (one query: crashes IN crash_ids)", runs: runs, lookup: func(qctx func(int) context.Context, id string) error {
			c, err := rd.CrashByID(qctx(1), id)
			if err == nil && c["crash_id"] != id {
				err = fmt.Errorf("crash %s: got %v", id, c["crash_id"])
			}
			return err
		}},
		{name: "the same query through the Distributed table (every shard)", runs: runs, cluster: true, lookup: func(qctx func(int) context.Context, id string) error {
			from, to := window(id)
			n, err := drain(qctx(1), "SELECT * FROM "+db+".crashes PREWHERE crash_id = ? WHERE submitted_timestamp >= toDateTime(?) AND submitted_timestamp < toDateTime(?) "+
				"AND (product, submitted_timestamp, crash_id) IN (SELECT product, submitted_timestamp, crash_id FROM "+db+".crash_ids_local WHERE crash_id = ? "+
				"AND submitted_timestamp >= toDateTime(?) AND submitted_timestamp < toDateTime(?)) ORDER BY row_version DESC LIMIT 1", id, from, to, id, from, to)
			if err == nil && n != 1 {
				err = fmt.Errorf("crash %s: %d rows", id, n)
			}
			return err
		}},
		{name: "two queries: crash_ids, then the sorting key (before)", runs: runs, lookup: func(qctx func(int) context.Context, id string) error {
			from, to := window(id)
			var product string
			var submitted time.Time
			if err := conn.QueryRow(qctx(1), "SELECT toString(product), submitted_timestamp FROM "+db+".crash_ids WHERE crash_id = ? "+
				"AND submitted_timestamp >= toDateTime(?) AND submitted_timestamp < toDateTime(?) LIMIT 1", id, from, to).Scan(&product, &submitted); err != nil {
				return err
			}
			n, err := drain(qctx(2), "SELECT * FROM "+db+".crashes WHERE product = ? AND submitted_timestamp = toDateTime(?) AND crash_id = ? "+
				"ORDER BY row_version DESC LIMIT 1", product, submitted.UTC().Format(time.DateTime), id)
			if err == nil && n != 1 {
				err = fmt.Errorf("crash %s: %d rows", id, n)
			}
			return err
		}},
		{name: "the date-window scan (before crash_ids)", runs: scanRuns, lookup: func(qctx func(int) context.Context, id string) error {
			from, to := window(id)
			n, err := drain(qctx(1), "SELECT * FROM "+db+".crashes WHERE crash_id = ? AND submitted_timestamp >= toDateTime(?) AND submitted_timestamp < toDateTime(?) "+
				"ORDER BY row_version DESC LIMIT 1", id, from, to)
			if err == nil && n != 1 {
				err = fmt.Errorf("crash %s: %d rows", id, n)
			}
			return err
		}},
	}
	if cfg.Cluster == "" {
		variants = slices.DeleteFunc(variants, func(v *variant) bool { return v.cluster })
	}
	next := 0
	for _, v := range variants {
		v.ids = ids[next : next+v.runs+1]
		next += v.runs + 1
		require.NoError(t, v.lookup(func(int) context.Context { return ctx }, v.ids[v.runs])) // warm-up
	}
	// The query ids (tag-variant-run-step) tag this run's lookups in
	// system.query_log.
	tag := fmt.Sprintf("bench-crashbyid-%d", time.Now().UnixNano())
	for i := 0; i < runs; i++ {
		for k, v := range variants {
			if i >= v.runs {
				continue
			}
			qctx := func(step int) context.Context {
				return ch.Context(ctx, ch.WithQueryID(fmt.Sprintf("%s-%d-%d-%d", tag, k, i, step)),
					ch.WithSettings(ch.Settings{"log_queries": 1}),
					ch.WithProgress(func(p *ch.Progress) { v.rows += p.Rows; v.bytes += p.Bytes }))
			}
			s := time.Now()
			require.NoError(t, v.lookup(qctx, v.ids[i]))
			v.ds = append(v.ds, time.Since(s))
		}
	}
	cpu := benchQueryCPU(t, conn, cfg.Cluster, tag, len(variants))
	out := "\n| crashes | query | p50 ms | p95 ms | runs | rows read / lookup | KB read / lookup | CPU ms / lookup |\n|---:|---|---:|---:|---:|---:|---:|---:|"
	for k, v := range variants {
		p50, p95 := percentiles(v.ds)
		c := "n/a"
		if cpu != nil {
			c = fmt.Sprintf("%.1f", cpu[k]/float64(v.runs)/1000)
		}
		out += fmt.Sprintf("\n| %d | %s | %.1f | %.1f | %d | %d | %d | %s |", rows, v.name, ms(p50), ms(p95), v.runs,
			v.rows/uint64(v.runs), v.bytes/uint64(v.runs)/1024, c)
	}
	t.Log(out)
}

// benchQueryCPU sums the CPU time (user + system, microseconds) of the
// queries tagged tag-<k>-<run>-<step>, and of the shard queries they
// started, per k, over every node of cluster (or the one server); nil when
// no server keeps a system.query_log (a node that has logged nothing yet
// has none either).
func benchQueryCPU(t *testing.T, conn driver.Conn, cluster, tag string, variants int) []float64 {
	t.Helper()
	ctx := context.Background()
	logs := []string{"system.query_log"}
	if cluster != "" {
		logs = nil
		r, err := conn.Query(ctx, "SELECT concat(host_address, ':', toString(port)) FROM system.clusters WHERE cluster = ?", cluster)
		require.NoError(t, err)
		for r.Next() {
			var a string
			require.NoError(t, r.Scan(&a))
			logs = append(logs, "remote('"+a+"', system.query_log)")
		}
		require.NoError(t, r.Err())
	}
	time.Sleep(10 * time.Second) // query_log is flushed every 7.5 s by default (1 s on tests/stack/cluster.sh)
	var out []float64
	for _, from := range logs {
		var n uint64
		tables := strings.Replace(from, "query_log", "tables", 1)
		require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM "+tables+" WHERE database = 'system' AND name = 'query_log'").Scan(&n))
		if n == 0 {
			continue
		}
		r, err := conn.Query(ctx, "SELECT toUInt32(splitByChar('-', if(is_initial_query, query_id, initial_query_id))[4]) AS k, "+
			"sum(ProfileEvents.Values[indexOf(ProfileEvents.Names, 'UserTimeMicroseconds')] + ProfileEvents.Values[indexOf(ProfileEvents.Names, 'SystemTimeMicroseconds')]) "+
			"FROM "+from+" WHERE type = 2 AND startsWith(if(is_initial_query, query_id, initial_query_id), ?) GROUP BY k", tag+"-")
		require.NoError(t, err)
		if out == nil {
			out = make([]float64, variants)
		}
		for r.Next() {
			var k uint32
			var us uint64
			require.NoError(t, r.Scan(&k, &us))
			out[k] += float64(us)
		}
		require.NoError(t, r.Err())
	}
	if out == nil {
		t.Log("no system.query_log on the server(s): CPU per lookup not measured")
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// TestBenchCorrelations measures the Correlations tab's query for the top
// signature of Firefox over 7 days: computed on demand (what a signature
// outside the precomputed top gets), the daily precomputation of the top
// 50 per product and channel, and the precomputed read.
//
//	CRASHSTREAM_STACK=1 CRASHSTREAM_BENCH_ROWS=1000000 CRASHSTREAM_BENCH_DB=cs_bench_corr_1000000 go test -run TestBenchCorrelations -v -timeout 60m ./sinks/
func TestBenchCorrelations(t *testing.T) {
	conn, cfg, rows, runs := benchDB(t, 20)
	ctx := context.Background()
	co, err := clickhouse.NewCorrelator(conn, cfg.Database, fields.New(), clickhouse.DefaultCorrelationAnnotations)
	require.NoError(t, err)
	// forget an earlier run's precomputed rows, so that the 7-day window is
	// computed on demand first
	cluster := os.Getenv("CRASHSTREAM_CLICKHOUSE_CLUSTER")
	drops := []string{"DROP TABLE IF EXISTS " + cfg.Database + ".signature_correlations"}
	if cluster != "" {
		drops = []string{"DROP TABLE IF EXISTS " + cfg.Database + ".signature_correlations ON CLUSTER " + cluster,
			"DROP TABLE IF EXISTS " + cfg.Database + ".signature_correlations_local ON CLUSTER " + cluster}
	}
	migs, err := clickhouse.ClusterMigrations(cfg.Database, cluster)
	require.NoError(t, err)
	for _, m := range migs {
		if m.Name == "signature_correlations" {
			drops = append(drops, m.Statements...)
		}
	}
	for _, st := range drops {
		require.NoError(t, conn.Exec(ctx, st))
	}
	const sig = "sig_1 | mozilla::dom::Something"
	p := clickhouse.CorrelationParams{Signature: sig, Product: "Firefox", Days: 14} // 14 days: never the precomputed path
	var res *clickhouse.CorrelationsResult
	p50, p95 := measure(t, runs, func() error {
		var err error
		res, err = co.Correlations(ctx, p)
		return err
	})
	require.NotEmpty(t, res.Items)
	t.Logf("on demand, 14 days: p50 %d ms, p95 %d ms; %d of %d crashes; first %s %s (%.2f vs %.2f)", p50.Milliseconds(), p95.Milliseconds(),
		res.SigTotal, res.AllTotal, res.Items[0].Kind, res.Items[0].Value, res.Items[0].SigShare, res.Items[0].AllShare)
	assert.Equal(t, "hook1.dll/2.0", res.Items[0].Value, "the top signature's own module ranks first")
	p.Days = 7
	p.End = time.Now().UTC().Truncate(24 * time.Hour) // the window precompute fills for yesterday
	q50, q95 := measure(t, runs, func() error {
		var err error
		res, err = co.Correlations(ctx, p)
		return err
	})
	require.False(t, res.Precomputed)
	t.Logf("on demand, 7 days: p50 %d ms, p95 %d ms; %d of %d crashes", q50.Milliseconds(), q95.Milliseconds(), res.SigTotal, res.AllTotal)
	start := time.Now()
	n, err := co.Precompute(ctx, p.End.Add(-24*time.Hour), 50)
	require.NoError(t, err)
	t.Logf("precompute top 50 per product and per product+channel: %d signatures in %s", n, time.Since(start).Round(time.Millisecond))
	r50, r95 := measure(t, runs, func() error {
		var err error
		res, err = co.Correlations(ctx, p)
		return err
	})
	require.True(t, res.Precomputed)
	t.Logf("\n| crashes | correlations, top signature of Firefox | p50 ms | p95 ms |\n|---|---|---|---|\n| %d | on demand, 14 days | %d | %d |\n| %d | on demand, 7 days | %d | %d |\n| %d | precomputed, 7 days | %d | %d |",
		rows, p50.Milliseconds(), p95.Milliseconds(), rows, q50.Milliseconds(), q95.Milliseconds(), rows, r50.Milliseconds(), r95.Milliseconds())
}
