package clickhouse

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/storage/clickhouse/supersearch"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMigrationsParse(t *testing.T) {
	migs, err := Migrations("crashstream")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(migs), 2)
	for i, m := range migs {
		assert.Equal(t, i+1, m.Version, "versions are contiguous")
		for _, st := range m.Statements {
			assert.NotContains(t, st, "{db}")
			if strings.HasPrefix(st, "INSERT INTO crashstream.crash_ids ") {
				continue // a backfill of a lookup table: running it twice only duplicates rows that merge away
			}
			if strings.HasPrefix(st, "INSERT INTO crashstream.signature_installs_daily ") {
				continue // the backfill of distinct counts and maxima: running it twice changes no answer
			}
			if strings.HasPrefix(st, "INSERT INTO crashstream.attribute_daily ") {
				continue // the backfill of the counts; Migrate records the migration right after it (a crash in between counts twice)
			}
			if addColumnStmtRE.MatchString(st) {
				continue // 18.16 has no ADD COLUMN IF NOT EXISTS; Migrate treats "column already exists" as done
			}
			assert.Contains(t, st, "IF NOT EXISTS", "every statement is idempotent")
		}
	}
	_, err = Migrations("bad-name")
	require.Error(t, err)
}

func TestConfigValidate(t *testing.T) {
	good := testConfig()
	require.NoError(t, good.Validate())
	for name, mut := range map[string]func(*Config){
		"addr":     func(c *Config) { c.Addr = "nohost" },
		"port":     func(c *Config) { c.Addr = "h:99999" },
		"database": func(c *Config) { c.Database = "x; DROP" },
		"user":     func(c *Config) { c.Username = "" },
		"dial":     func(c *Config) { c.DialTimeout = 0 },
		"conns":    func(c *Config) { c.MaxOpenConns = 0 },
	} {
		c := good
		mut(&c)
		assert.Error(t, c.Validate(), name)
	}
}

func TestCrashIDDate(t *testing.T) {
	d, err := CrashIDDate("de1bb258-cbbf-4589-a673-34f800160918")
	require.NoError(t, err)
	assert.Equal(t, time.Date(2016, 9, 18, 0, 0, 0, 0, time.UTC), d)
	for _, bad := range []string{"", "abc", "de1bb258-cbbf-4589-a673-34f800xx0918", "de1bb258-cbbf-4589-a673-34f800161345"} {
		_, err := CrashIDDate(bad)
		assert.Error(t, err, bad)
	}
}

func TestMigrateIdempotent(t *testing.T) {
	conn, db := stackDB(t)
	applied, err := Migrate(context.Background(), conn, db)
	require.NoError(t, err)
	assert.Empty(t, applied, "a second run applies nothing")
	done, err := AppliedMigrations(context.Background(), conn, db)
	require.NoError(t, err)
	assert.True(t, done[1] && done[2])
}

// loadSearch writes 20 crashes over two days and products, one of them
// reprocessed, and returns their ids.
func loadSearch(t *testing.T, conn driver.Conn, db string) []string {
	t.Helper()
	tab, w := testWriter(t, conn, db, 1)
	var rows []Row
	var ids []string
	for i := range 20 {
		day := time.Date(2026, 11, 19+i%2, 8, i, 0, 0, time.UTC)
		product := "Firefox"
		if i%4 == 3 {
			product = "Fenix"
		}
		c := testCrash(i, day, day.Add(time.Minute), product, fmt.Sprintf("sig_%d", i%3))
		c.Addons = []string{fmt.Sprintf("addon%d@x:1", i%2), "common@x:1"}
		r, err := tab.Row(c)
		require.NoError(t, err)
		rows = append(rows, r)
		ids = append(ids, c.CrashID)
	}
	require.NoError(t, w.Write(context.Background(), rows))
	// crash 0 reprocessed: sig_0 -> sig_new
	day := time.Date(2026, 11, 19, 8, 0, 0, 0, time.UTC)
	r, err := tab.Row(testCrash(0, day, day.Add(2*time.Hour), "Firefox", "sig_new"))
	require.NoError(t, err)
	require.NoError(t, w.Write(context.Background(), []Row{r}))
	return ids
}

func TestSuperSearch(t *testing.T) {
	conn, db := stackDB(t)
	ids := loadSearch(t, conn, db)
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	fs := supersearch.FromRegistry(fields.New())
	// compact one of the two days so that DedupClean reads it plainly
	compact, err := NewReader(conn, db, DedupClean)
	require.NoError(t, err)
	require.NoError(t, compact.CompactDay(context.Background(), time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC)))
	for _, table := range dailyTables() {
		var parts uint64
		require.NoError(t, conn.QueryRow(context.Background(), "SELECT count() FROM system.parts WHERE active AND database = ? AND table = ? AND partition = '20261119'", db, table).Scan(&parts))
		assert.LessOrEqual(t, parts, uint64(1), "%s: the compacted day is one part", table)
	}
	for _, mode := range []Dedup{DedupArgMax, DedupFinal, DedupClean} {
		rd, err := NewReader(conn, db, mode)
		require.NoError(t, err)
		search := func(raw string) *SearchResult {
			t.Helper()
			params, err := url.ParseQuery(raw)
			require.NoError(t, err)
			q, err := supersearch.Parse(params, fs, false, now)
			require.NoError(t, err)
			res, err := rd.SuperSearch(context.Background(), q)
			require.NoError(t, err, raw)
			return res
		}
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			res := search("")
			assert.Equal(t, int64(20), res.Total, "one row per crash")
			assert.Len(t, res.Hits, 20)
			counts := map[string]int64{}
			for _, b := range res.Facets["signature"] {
				counts[b.Term] = b.Count
			}
			assert.Equal(t, map[string]int64{"sig_0": 6, "sig_1": 7, "sig_2": 6, "sig_new": 1}, counts)

			assert.Equal(t, int64(1), search("signature=sig_new").Total)
			assert.Equal(t, int64(6), search("signature=sig_0").Total, "the old processing does not match")
			assert.Equal(t, int64(7), search("signature=sig_0&signature=sig_new").Total, "values ORed")
			assert.Equal(t, int64(13), search("signature=!sig_1").Total)
			assert.Equal(t, int64(13), search("signature=~_0&signature=~_1").Total)
			assert.Equal(t, int64(13), search("signature=$0&signature=^sig_1").Total)
			assert.Equal(t, int64(12), search("signature=@^sig_[02]").Total)
			assert.Equal(t, int64(5), search("product=Fenix").Total)
			assert.Equal(t, int64(10), search("date=2026-11-19").Total)
			assert.Equal(t, int64(10), search("addons=addon1@x:1").Total)
			assert.Equal(t, int64(19), search("addons=~common").Total, "the reprocessing of crash 0 has other add-ons")
			assert.Equal(t, int64(20), search("addons=~@").Total)
			assert.Equal(t, int64(0), search("addons=__null__").Total)
			assert.Equal(t, int64(5), search("startup_crash=__true__").Total)
			assert.Equal(t, int64(10), search("uptime=>=5&uptime=<15").Total)
			assert.Equal(t, int64(20), search("cpu_count=__null__").Total)

			res = search("_facets=addons&_facets=product&_facets_size=1&_cardinality.signature=&_columns=uuid&_columns=signature&_sort=uptime&_results_number=3&_results_offset=1")
			assert.Equal(t, []Bucket{{Term: "common@x:1", Count: 19}}, res.Facets["addons"])
			assert.Equal(t, []Bucket{{Term: "Firefox", Count: 15}}, res.Facets["product"])
			assert.Equal(t, uint64(4), res.Cardinality["signature"])
			require.Len(t, res.Hits, 3)
			assert.Equal(t, ids[1], res.Hits[0]["uuid"], "sorted by uptime (i), offset 1")

			res = search("_aggs.product=signature&_histogram.date=product&_facets=signature")
			assert.Contains(t, res.Aggs["product.signature"], Bucket{Group: "Fenix", Term: "sig_0", Count: 2})
			assert.Contains(t, res.Histograms["date"], Bucket{Group: "2026-11-19", Count: 10})
			assert.Contains(t, res.Histograms["date.product"], Bucket{Group: "2026-11-20", Term: "Fenix", Count: 5})

			// Socorro's negation keeps crashes without the field
			assert.Equal(t, int64(20), search("cpu_count=!4").Total, "NULL is not 4")
			assert.Equal(t, int64(15), search("startup_crash=!__true__").Total)
			assert.Equal(t, int64(0), search("cpu_count=!__null__").Total)
			// Socorro's names
			assert.Equal(t, int64(20), search("platform=Windows NT").Total)
			assert.Equal(t, int64(7), search("build_id=20260101000001").Total)
			res = search("_facets=platform&_columns=build_id&_columns=date&_sort=build_id&_results_number=1")
			assert.Equal(t, []Bucket{{Term: "Windows NT", Count: 20}}, res.Facets["platform"])
			require.Len(t, res.Hits, 1)
			assert.Contains(t, res.Hits[0], "build_id")
			assert.Contains(t, res.Hits[0], "date")
			// nested levels, cardinality targets and histogram cardinality
			res = search("_aggs.product.signature=_cardinality.build_id&_aggs.product.signature=uptime&_histogram.date=_cardinality.product")
			assert.Contains(t, res.Aggs["product.signature"], Bucket{Group: "Fenix", Term: "sig_1", Count: 2})
			assert.Contains(t, res.AggCardinality["product.signature.build_id"], Bucket{Group: "Fenix\x1fsig_0", Count: 1})
			assert.Contains(t, res.Aggs["product.signature.uptime"], Bucket{Group: "Fenix\x1fsig_2", Term: "11", Count: 1})
			assert.Equal(t, []Bucket{{Group: "2026-11-19", Count: 1}, {Group: "2026-11-20", Count: 2}}, res.HistogramCardinality["date.product"])
			res = search("_aggs.product=_histogram.date&_aggs.product=_histogram.uptime&_histogram_interval.uptime=100")
			assert.Equal(t, []Bucket{{Group: "Fenix", Term: "2026-11-20", Count: 5}, {Group: "Firefox", Term: "2026-11-19", Count: 10},
				{Group: "Firefox", Term: "2026-11-20", Count: 5}}, res.AggHistograms["product.date"])
			assert.Contains(t, res.AggHistograms["product.uptime"], Bucket{Group: "Fenix", Term: "0", Count: 5})
			// _facets_size=0: no aggregation at all
			res = search("_facets_size=0&_facets=product&_histogram.date=product")
			assert.Empty(t, res.Facets)
			assert.Empty(t, res.Histograms)
			assert.Equal(t, int64(20), res.Total)
			// the unsplit histogram of a split request is summed from the
			// first split: it must equal the one queried on its own,
			// including for a list field (split by the list's text)
			alone := search("_histogram.date=").Histograms["date"]
			require.Len(t, alone, 2)
			for _, split := range []string{"product", "addons", "uptime"} {
				assert.Equal(t, alone, search("_histogram.date=" + split).Histograms["date"], split)
			}
		})
	}
}

func TestSignatureFirstDateAndCrashByID(t *testing.T) {
	conn, db := stackDB(t)
	ids := loadSearch(t, conn, db)
	rd, err := NewReader(conn, db, DedupArgMax)
	require.NoError(t, err)
	vs, err := rd.VersionStrings(context.Background(), "Fenix", "Release", 20260101000001)
	require.NoError(t, err)
	assert.Equal(t, []string{"130.0"}, vs, "VersionString: the versions crashes of that build gave")
	vs, err = rd.VersionStrings(context.Background(), "Fenix", "beta", 20260101000001)
	require.NoError(t, err)
	assert.Empty(t, vs)
	got, err := rd.SignatureFirstDate(context.Background(), []string{"sig_1", "sig_new", "unknown"})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "sig_1", got[0].Signature)
	assert.Equal(t, time.Date(2026, 11, 19, 8, 4, 0, 0, time.UTC), got[0].FirstDate, "i=1 is on the 20th; i=4 at 8:04 on the 19th")
	require.NotNil(t, got[0].FirstBuild)
	assert.Equal(t, int64(20260101000001), *got[0].FirstBuild)

	c, err := rd.CrashByID(context.Background(), ids[5])
	require.NoError(t, err)
	assert.Equal(t, ids[5], c["crash_id"])
	assert.Equal(t, "secret comment", c["user_comments"], "the row holds protected fields; redaction is the webapp's")
	_, err = rd.CrashByID(context.Background(), "ffffffff-0000-4000-8000-fffff0261119")
	assert.ErrorIs(t, err, ErrNotFound)
}

func TestRetention(t *testing.T) {
	conn, db := stackDB(t)
	loadSearch(t, conn, db)
	rd, err := NewReader(conn, db, DedupArgMax)
	require.NoError(t, err)
	dropped, err := rd.DropPartitionsBefore(context.Background(), time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	assert.Equal(t, []string{"crash_ids/20261119", "crashes/20261119", "signature_daily/20261119", "signature_installs_daily/20261119", "top_crashers_daily/20261119"}, dropped)
	var n uint64
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT count() FROM "+db+".crashes").Scan(&n))
	assert.Equal(t, uint64(10), n)
}

// TestRetentionMonthlyTables: retention drops the monthly partitions of
// attribute_daily and signature_correlations once their whole month is
// older than the cutoff, and keeps a month the cutoff falls inside, with
// the daily tables pruned by day as before.
func TestRetentionMonthlyTables(t *testing.T) {
	conn, db := stackDB(t)
	ctx := context.Background()
	tab, w := testWriter(t, conn, db, 1)
	old, recent := time.Date(2026, 10, 15, 8, 0, 0, 0, time.UTC), time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	var rows []Row
	for i, day := range []time.Time{old, recent} {
		r, err := tab.Row(testCrash(i, day, day.Add(time.Minute), "Firefox", "sig"))
		require.NoError(t, err)
		rows = append(rows, r)
	}
	require.NoError(t, w.Write(ctx, rows))
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+".signature_correlations (day, product, channel, signature, attribute, value, sig_count, sig_total, all_count, all_total, computed_at)")
	require.NoError(t, err)
	for _, day := range []time.Time{old, recent} {
		require.NoError(t, batch.Append(day, "Firefox", "", "sig", "addon", "a@x:1", uint64(1), uint64(1), uint64(1), uint64(1), day))
	}
	require.NoError(t, batch.Send())
	days := func(table string) []string {
		t.Helper()
		r, err := conn.Query(ctx, "SELECT DISTINCT toString(day) AS d FROM "+db+"."+table+" ORDER BY d")
		require.NoError(t, err)
		defer r.Close()
		var out []string
		for r.Next() {
			var d string
			require.NoError(t, r.Scan(&d))
			out = append(out, d)
		}
		require.NoError(t, r.Err())
		return out
	}
	require.Equal(t, []string{"2026-10-15", "2026-11-20"}, days("attribute_daily"), "the view counted both crashes")
	rd, err := NewReader(conn, db, DedupArgMax)
	require.NoError(t, err)

	// the cutoff inside October: October's crashes go, its aggregates stay
	dropped, err := rd.DropPartitionsBefore(ctx, time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	assert.Equal(t, []string{"crash_ids/20261015", "crashes/20261015", "signature_daily/20261015", "signature_installs_daily/20261015", "top_crashers_daily/20261015"}, dropped)
	assert.Equal(t, []string{"2026-10-15", "2026-11-20"}, days("attribute_daily"), "October is partly inside the window")
	assert.Equal(t, []string{"2026-10-15", "2026-11-20"}, days("signature_correlations"))

	// the cutoff on November 1st: all of October is older
	dropped, err = rd.DropPartitionsBefore(ctx, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	assert.Equal(t, []string{"attribute_daily/202610", "signature_correlations/202610"}, dropped)
	assert.Equal(t, []string{"2026-11-20"}, days("attribute_daily"))
	assert.Equal(t, []string{"2026-11-20"}, days("signature_correlations"))
	assert.Equal(t, []string{"2026-11-20"}, days("top_crashers_daily"))
}

func TestTopCrashersPreviousWindow(t *testing.T) {
	conn, db := stackDB(t)
	loadSearch(t, conn, db)
	rd, err := NewReader(conn, db, DedupArgMax)
	require.NoError(t, err)
	// window: the 20th (odd crashes); previous window: the 19th (even ones)
	tc, err := rd.TopCrashers(context.Background(), TopCrashersParams{Product: "Firefox", Days: 1, End: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.NotEmpty(t, tc.Crashers)
	prev := map[string]int64{}
	for i := 0; i < 20; i += 2 {
		if i%4 != 3 { // Firefox only
			prev[fmt.Sprintf("sig_%d", i%3)]++
		}
	}
	prev["sig_0"]-- // crash 0 was reprocessed into sig_new
	prev["sig_new"]++
	for _, c := range tc.Crashers {
		if p, ok := prev[c.Signature]; ok && p > 0 {
			assert.False(t, c.New, c.Signature)
			assert.Equal(t, p, c.PrevCount, c.Signature)
			assert.Positive(t, c.PrevRank)
			assert.Equal(t, c.PrevRank-c.Rank, c.RankDiff)
		} else {
			assert.True(t, c.New, c.Signature)
		}
	}
}

// Migration 0004 fills crash_ids from the crashes stored before it, so a
// crash written before the upgrade is still found by id.
func TestCrashIDsBackfill(t *testing.T) {
	conn, db := stackDB(t)
	ids := loadSearch(t, conn, db)
	ctx := context.Background()
	for _, st := range []string{"DROP TABLE " + db + ".crash_ids_mv", "DROP TABLE " + db + ".crash_ids"} {
		require.NoError(t, conn.Exec(ctx, st))
	}
	rd, err := NewReader(conn, db, DedupArgMax)
	require.NoError(t, err)
	_, err = rd.CrashByID(ctx, ids[3])
	require.Error(t, err, "without crash_ids the lookup has nothing to read")
	migs, err := Migrations(db)
	require.NoError(t, err)
	require.Equal(t, "crash_ids", migs[3].Name)
	for _, st := range migs[3].Statements {
		require.NoError(t, conn.Exec(ctx, st))
	}
	for _, id := range ids {
		c, err := rd.CrashByID(ctx, id)
		require.NoError(t, err, id)
		assert.Equal(t, id, c["crash_id"])
	}
	c, err := rd.CrashByID(ctx, ids[0])
	require.NoError(t, err)
	assert.Equal(t, "sig_new", c["signature"], "the newest processing")
}
