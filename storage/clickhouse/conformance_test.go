package clickhouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/storage/clickhouse/supersearch"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The current-engine lane (tests/chdb/run.sh) serves a current ClickHouse
// (chdb, 26.x) over HTTP at CRASHSTREAM_CURRENT_ADDR; these tests need it
// and skip without it.
func currentConfig(t *testing.T) Config {
	t.Helper()
	addr := os.Getenv("CRASHSTREAM_CURRENT_ADDR")
	if addr == "" {
		t.Skip("needs a current ClickHouse engine: tests/chdb/run.sh sets CRASHSTREAM_CURRENT_ADDR")
	}
	return Config{Addr: addr, Protocol: "http", Database: "crashstream", Username: "default",
		DialTimeout: 10 * time.Second, QueryTimeout: 120 * time.Second, MaxOpenConns: 4}
}

// migrated opens cfg, migrates a fresh database unique to the test and
// drops it at the end.
func migrated(t testing.TB, cfg Config) (driver.Conn, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	conn, err := Open(ctx, cfg)
	require.NoError(t, err, "Open on %s", cfg.Addr)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	db := "cs_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		_ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db)
		_ = conn.Close()
	})
	applied, err := Migrate(ctx, conn, db)
	require.NoError(t, err, "migrations on %s", cfg.Addr)
	require.NotEmpty(t, applied, "a fresh database applies every migration")
	return conn, db
}

// The bug of issue 21 reproduced and fixed: a session that always sends the
// setting 18.16 needs fails on a current engine at the first statement, and
// Open, the migrations and a top-crashers query succeed there.
func TestCurrentEngineFirstOpen(t *testing.T) {
	cfg := currentConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	// Over the native protocol the ping succeeds and the first statement
	// fails; over HTTP the handshake query fails already.
	old, err := dial(ctx, cfg, ch.Settings{"allow_experimental_low_cardinality_type": 1})
	if err == nil {
		err = old.Exec(ctx, "CREATE DATABASE IF NOT EXISTS cs_conf_never")
		_ = old.Close()
	}
	require.Error(t, err, "the old always-sent setting must fail on a current engine")
	require.Contains(t, err.Error(), "115")

	conn, db := migrated(t, cfg)
	v, err := conn.ServerVersion()
	require.NoError(t, err)
	require.GreaterOrEqual(t, v.Version.Major, uint64(24), "the lane's engine is a current release")
	loadSearch(t, conn, db)
	rd, err := NewReader(conn, db, DedupArgMax)
	require.NoError(t, err)
	tc, err := rd.TopCrashers(ctx, TopCrashersParams{Product: "Firefox", Days: 7, End: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.NotEmpty(t, tc.Crashers)
	assert.Equal(t, int64(15), tc.Total)
}

// conformanceData writes the same crashes to every conn: n crashes over 10
// days, 3 products, 40 signatures, versions, platforms, process types,
// NULLs, lists, a tenth reprocessed with a new signature and one batch
// replayed.
func conformanceData(t *testing.T, n int, targets map[string]*Writer) []string {
	t.Helper()
	tab := testTable(t)
	base := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	var rows, again []Row
	var ids []string
	for i := range n {
		sub := base.Add(time.Duration(i%10)*24*time.Hour + time.Duration(i*37%86400)*time.Second)
		product := []string{"Firefox", "Fenix", "Thunderbird"}[i%7%3]
		c := testCrash(i, sub, sub.Add(time.Minute), product, fmt.Sprintf("sig_%02d", i*i%40))
		c.Version = []string{"130.0", "131.0b2", "129.0.1"}[i%3]
		c.OSName = []string{"Windows NT", "Linux", "Mac OS X"}[i%5%3]
		c.ProcessType = []string{"parent", "content", "gpu"}[i%11%3]
		c.Addons = []string{fmt.Sprintf("addon%d@x:1", i%4), "common@x:1"}
		if i%9 == 0 {
			c.Uptime, c.StartupCrash, c.Build = nil, nil, nil
		}
		if i%13 == 0 {
			c.IsGarbageCollecting = ptr(true)
		}
		r, err := tab.Row(c)
		require.NoError(t, err)
		rows = append(rows, r)
		ids = append(ids, c.CrashID)
		if i%10 == 0 {
			c2 := testCrash(i, sub, sub.Add(time.Hour), product, fmt.Sprintf("sig_re_%d", i%5))
			r2, err := tab.Row(c2)
			require.NoError(t, err)
			again = append(again, r2)
		}
	}
	ctx := context.Background()
	for name, w := range targets {
		for start := 0; start < len(rows); start += 500 {
			require.NoError(t, w.Write(ctx, rows[start:min(start+500, len(rows))]), name)
		}
		require.NoError(t, w.Write(ctx, rows[:500]), "%s: a replayed batch", name)
		require.NoError(t, w.Write(ctx, again), "%s: reprocessings", name)
	}
	return ids
}

// TestConformance runs the storage layer's queries on ClickHouse 18.16
// (the stack) and on the current engine with the same data and requires
// the same answers: a query that works on one and not the other fails.
func TestConformance(t *testing.T) {
	cur := currentConfig(t)
	if os.Getenv("CRASHSTREAM_STACK") != "1" {
		t.Skip("needs the stack's ClickHouse 18.16 too (CRASHSTREAM_STACK=1)")
	}
	// 18.16 over the native protocol: the stack's, or CRASHSTREAM_OLD_ADDR
	// (the lane points CRASHSTREAM_CLICKHOUSE_ADDR at the current engine).
	old := testConfig()
	old.Protocol, old.Addr = "", "127.0.0.1:19000"
	if a := os.Getenv("CRASHSTREAM_OLD_ADDR"); a != "" {
		old.Addr = a
	}
	oldConn, oldDB := migrated(t, old)
	curConn, curDB := migrated(t, cur)
	ov, err := oldConn.ServerVersion()
	require.NoError(t, err)
	cv, err := curConn.ServerVersion()
	require.NoError(t, err)
	t.Logf("comparing ClickHouse %s with %s", ov.Version, cv.Version)

	tab := testTable(t)
	wcfg := WriterConfig{MaxAttempts: 1, Backoff: time.Millisecond, MaxBackoff: time.Millisecond}
	ow, err := NewWriter(oldConn, oldDB, tab, wcfg)
	require.NoError(t, err)
	cw, err := NewWriter(curConn, curDB, tab, wcfg)
	require.NoError(t, err)
	ids := conformanceData(t, 3000, map[string]*Writer{"18.16": ow, "current": cw})

	ctx := context.Background()
	day := time.Date(2026, 11, 12, 0, 0, 0, 0, time.UTC)
	for _, rd := range []*Reader{{conn: oldConn, db: oldDB}, {conn: curConn, db: curDB}} {
		require.NoError(t, rd.CompactDay(ctx, day))
	}
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	fs := supersearch.FromRegistry(fields.New())
	searches := []string{
		"", "signature=sig_01", "signature=!sig_01", "signature=~_1&signature=~re", "signature=$0", "signature=^sig_re",
		"signature=@^sig_[02]", "product=Fenix", "product=!Firefox&version=131.0b2", "date=2026-11-12", "date=>=2026-11-14&date=<2026-11-16",
		"addons=addon1@x:1", "addons=~common", "addons=__null__", "startup_crash=__true__", "startup_crash=__null__",
		"uptime=>=5&uptime=<15", "uptime=__null__", "cpu_count=__null__", "os_name=Linux", "process_type=content",
		"_facets=signature&_facets=product&_facets=version&_facets=os_name&_facets_size=7",
		"_facets=addons&_facets_size=3&_cardinality.signature=&_cardinality.product=",
		"_columns=uuid&_columns=signature&_columns=uptime&_sort=uptime&_results_number=20&_results_offset=5",
		"_columns=uuid&_columns=date&_sort=-date&_results_number=30",
		"_columns=uuid&_sort=-uptime&_sort=uuid&_results_number=50&product=Fenix",
		"_aggs.product=signature&_aggs.product.version=os_name",
		"_histogram.date=product&_histogram.date=&_facets=signature",
		"_histogram.date=addons", "_histogram.date=uptime", "_histogram.uptime=&_histogram_interval.uptime=10",
	}
	for _, mode := range []Dedup{DedupArgMax, DedupFinal, DedupClean} {
		ord, err := NewReader(oldConn, oldDB, mode)
		require.NoError(t, err)
		crd, err := NewReader(curConn, curDB, mode)
		require.NoError(t, err)
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			for _, raw := range searches {
				params, err := url.ParseQuery(raw)
				require.NoError(t, err)
				q, err := supersearch.Parse(params, fs, false, now)
				if err != nil {
					t.Errorf("%q: %v", raw, err)
					continue
				}
				o, oerr := ord.SuperSearch(ctx, q)
				c, cerr := crd.SuperSearch(ctx, q)
				if !assert.Equal(t, oerr == nil, cerr == nil, "%q works on one engine only: 18.16 %v, current %v", raw, oerr, cerr) || oerr != nil {
					continue
				}
				assert.Equal(t, o, c, "super search %q", raw)
			}
		})
	}
	rd := func(conn driver.Conn, db string) *Reader {
		r, err := NewReader(conn, db, DedupArgMax)
		require.NoError(t, err)
		return r
	}
	ord, crd := rd(oldConn, oldDB), rd(curConn, curDB)
	end := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for _, p := range []TopCrashersParams{
		{Product: "Firefox", Days: 7, End: end},
		{Product: "Firefox", Days: 3, End: end, Limit: 100},
		{Product: "Fenix", Days: 1, End: end},
		{Product: "Firefox", Days: 7, End: end, Versions: []string{"130.0", "131.0b2"}},
		{Product: "Firefox", Days: 7, End: end, ProcessType: "content"},
		{Product: "Thunderbird", Days: 14, End: end, Platform: "Linux"},
		{Product: "Firefox", Days: 7, End: end, Installs: true},
		{Product: "Firefox", Days: 28, End: end, RangeType: "build"},
		{Product: "Nope", Days: 7, End: end},
	} {
		o, oerr := ord.TopCrashers(ctx, p)
		c, cerr := crd.TopCrashers(ctx, p)
		if !assert.Equal(t, oerr == nil, cerr == nil, "top crashers %+v: 18.16 %v, current %v", p, oerr, cerr) || oerr != nil {
			continue
		}
		assert.Equal(t, o, c, "top crashers %+v", p)
	}
	sigs := []string{"sig_01", "sig_re_0", "sig_39", "unknown"}
	o, err := ord.SignatureFirstDate(ctx, sigs)
	require.NoError(t, err)
	c, err := crd.SignatureFirstDate(ctx, sigs)
	require.NoError(t, err)
	assert.Equal(t, o, c, "signature first date")
	for _, id := range append(ids[:50:50], "ffffffff-0000-4000-8000-fffff0261119") {
		o, oerr := ord.CrashByID(ctx, id)
		c, cerr := crd.CrashByID(ctx, id)
		require.Equal(t, oerr, cerr, id)
		assert.Equal(t, o, c, "crash %s", id)
	}
	od, err := ord.DropPartitionsBefore(ctx, time.Date(2026, 11, 12, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	cd, err := crd.DropPartitionsBefore(ctx, time.Date(2026, 11, 12, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	assert.Equal(t, od, cd, "retention")
}
