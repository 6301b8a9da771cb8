package clickhouse

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/crashstream/crashstream/schemas"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewestPerCrash(t *testing.T) {
	rows := []Row{{CrashID: "a", Version: 1}, {CrashID: "b", Version: 5}, {CrashID: "a", Version: 3}, {CrashID: "b", Version: 4}}
	got := newestPerCrash(rows)
	require.Len(t, got, 2)
	assert.Equal(t, Row{CrashID: "a", Version: 3}, got[0])
	assert.Equal(t, Row{CrashID: "b", Version: 5}, got[1])
}

func TestWriterConfigValidate(t *testing.T) {
	assert.NoError(t, WriterConfig{MaxAttempts: 1, Backoff: time.Millisecond, MaxBackoff: time.Second}.Validate())
	assert.Error(t, WriterConfig{MaxAttempts: 0, Backoff: time.Millisecond, MaxBackoff: time.Second}.Validate())
	assert.Error(t, WriterConfig{MaxAttempts: 1, Backoff: time.Second, MaxBackoff: time.Millisecond}.Validate())
}

func TestTableRow(t *testing.T) {
	tab := testTable(t)
	day := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	c := testCrash(7, day, time.Time{}, "Firefox", "sig")
	c.SubmittedTimestamp = time.Time{}
	r, err := tab.Row(c)
	require.NoError(t, err)
	k := tab.aggKey(r)
	assert.Equal(t, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), k.day, "submission day from the crash id")
	assert.Equal(t, uint64(day.Truncate(24*time.Hour).UnixMicro()), r.Version, "no date_processed: the submission time")
	assert.Equal(t, "Firefox", k.product)
	assert.Equal(t, int64(1), k.shortUptime, "uptime 7 < 60")
	assert.Len(t, r.Values, len(tab.ColumnNames()))

	_, err = tab.Row(&schemas.ProcessedCrash{CrashID: "bad"})
	require.True(t, errors.Is(err, ErrInvalidCrash))
}

func TestWriteDedupAndCorrections(t *testing.T) {
	conn, db := stackDB(t)
	ctx := context.Background()
	tab, w := testWriter(t, conn, db, 2)
	rd, err := NewReader(conn, db, DedupArgMax)
	require.NoError(t, err)
	day := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var rows []Row
	for i := range 10 {
		r, err := tab.Row(testCrash(i, day, day.Add(time.Minute), "Firefox", "sig_a"))
		require.NoError(t, err)
		rows = append(rows, r)
	}
	require.NoError(t, w.Write(ctx, rows))
	// crash 3 reprocessed into another signature; then the first batch
	// replayed (a sink killed before its commit); then an older processing
	// of crash 3 arriving late.
	re, err := tab.Row(testCrash(3, day, day.Add(time.Hour), "Firefox", "sig_b"))
	require.NoError(t, err)
	require.NoError(t, w.Write(ctx, []Row{re}))
	require.NoError(t, w.Write(ctx, rows))
	require.NoError(t, w.Write(ctx, rows[3:4]))

	var n uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM "+db+".crashes").Scan(&n))
	assert.Equal(t, uint64(11), n, "10 crashes + 1 reprocessing; replays skipped")

	got, err := rd.CrashByID(ctx, rows[3].CrashID)
	require.NoError(t, err)
	assert.Equal(t, "sig_b", got["signature"], "the newer processing wins")

	tc, err := rd.TopCrashers(ctx, TopCrashersParams{Product: "Firefox", Days: 7, End: day.AddDate(0, 0, 1)})
	require.NoError(t, err)
	require.Len(t, tc.Crashers, 2)
	assert.Equal(t, "sig_a", tc.Crashers[0].Signature)
	assert.Equal(t, int64(9), tc.Crashers[0].Count, "the -1 correction moved crash 3 out of sig_a")
	assert.Equal(t, int64(1), tc.Crashers[1].Count)
	assert.Equal(t, int64(10), tc.Total)
	assert.Equal(t, map[string]int64{"Windows NT": 9}, tc.Crashers[0].Platforms)
	assert.Equal(t, map[string]int64{"parent": 9}, tc.Crashers[0].ProcessTypes)
	assert.True(t, tc.Crashers[0].New, "nothing in the previous window")

	// the filtered path (top_crashers_daily) agrees with signature_daily
	tf, err := rd.TopCrashers(ctx, TopCrashersParams{Product: "Firefox", Days: 7, End: day.AddDate(0, 0, 1), ProcessType: "parent", Versions: []string{"130.0"}})
	require.NoError(t, err)
	require.Len(t, tf.Crashers, 2)
	assert.Equal(t, tc.Crashers[0].Count, tf.Crashers[0].Count)
	assert.Equal(t, tc.Total, tf.Total)

	// by build date: the builds are of 2026-01-01; deduplicated raw rows
	tb, err := rd.TopCrashers(ctx, TopCrashersParams{Product: "Firefox", Days: 7, End: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), RangeType: "build"})
	require.NoError(t, err)
	require.Len(t, tb.Crashers, 2)
	assert.Equal(t, int64(9), tb.Crashers[0].Count)
	assert.Equal(t, int64(10), tb.Total)
	assert.Equal(t, map[string]int64{"Windows NT": 9}, tb.Crashers[0].Platforms)
	_, err = rd.TopCrashers(ctx, TopCrashersParams{Product: "Firefox", Days: 7, RangeType: "bogus"})
	require.Error(t, err)

	// a week later, this week is the previous window
	later, err := rd.TopCrashers(ctx, TopCrashersParams{Product: "Firefox", Days: 7, End: day.AddDate(0, 0, 8)})
	require.NoError(t, err)
	assert.Empty(t, later.Crashers)

	// installs: the aggregate states answer what the window's crashes do
	// (crashes 0-9 have install times n%7: 7 distinct, 6 of them in sig_a
	// once crash 3 has moved, but its first processing still counts there
	// until the day is rebuilt; builds end in n%3)
	ti, err := rd.TopCrashers(ctx, TopCrashersParams{Product: "Firefox", Days: 7, End: day.AddDate(0, 0, 1), Installs: true})
	require.NoError(t, err)
	tf, err = rd.TopCrashers(ctx, TopCrashersParams{Product: "Firefox", Days: 7, End: day.AddDate(0, 0, 1), Installs: true, ProcessType: "parent"})
	require.NoError(t, err)
	for i := range ti.Crashers {
		assert.Equal(t, tf.Crashers[i].Installs, ti.Crashers[i].Installs, "states and crashes agree on %s", ti.Crashers[i].Signature)
		assert.Equal(t, tf.Crashers[i].LatestBuild, ti.Crashers[i].LatestBuild)
	}
	assert.Equal(t, uint64(7), ti.Crashers[0].Installs)
	assert.Equal(t, int64(20260101000002), ti.Crashers[0].LatestBuild)
	assert.Equal(t, uint64(1), ti.Crashers[1].Installs)

	// RebuildDay gives the same numbers from the deduplicated rows.
	require.NoError(t, rd.RebuildDay(ctx, day))
	tc2, err := rd.TopCrashers(ctx, TopCrashersParams{Product: "Firefox", Days: 7, End: day.AddDate(0, 0, 1)})
	require.NoError(t, err)
	assert.Equal(t, tc.Total, tc2.Total)
	assert.Equal(t, tc.Crashers[0].Count, tc2.Crashers[0].Count)
	ti, err = rd.TopCrashers(ctx, TopCrashersParams{Product: "Firefox", Days: 7, End: day.AddDate(0, 0, 1), Installs: true})
	require.NoError(t, err)
	assert.Equal(t, uint64(6), ti.Crashers[0].Installs, "rebuilt from the newest processings: crash 3's install time left sig_a")
	assert.Equal(t, uint64(1), ti.Crashers[1].Installs)

	// A node killed between the crashes insert and its materialized views
	// leaves crashes that CrashByID cannot find; RebuildDay puts their
	// crash_ids rows back, once.
	require.NoError(t, conn.Exec(ctx, "ALTER TABLE "+db+".crash_ids DROP PARTITION 20261120"))
	_, err = rd.CrashByID(ctx, rows[5].CrashID)
	require.ErrorIs(t, err, ErrNotFound)
	for range 2 {
		require.NoError(t, rd.RebuildDay(ctx, day))
		require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM "+db+".crash_ids").Scan(&n))
		assert.Equal(t, uint64(10), n, "one index row per crash, however often the day is rebuilt")
	}
	got, err = rd.CrashByID(ctx, rows[5].CrashID)
	require.NoError(t, err)
	assert.Equal(t, "sig_a", got["signature"])
}
