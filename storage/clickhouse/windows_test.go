package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWindows: counts per signature in two adjacent windows, from the
// crashes table (an hour each, a reprocessed crash counted once under its
// new signature) and from the daily aggregates (whole days), and the
// volume of both.
func TestWindows(t *testing.T) {
	conn, db := stackDB(t)
	ctx := context.Background()
	tab, w := testWriter(t, conn, db, 1)
	end := time.Now().UTC().Truncate(time.Hour)
	mid, start := end.Add(-time.Hour), end.Add(-2*time.Hour)
	var rows []Row
	add := func(n int, at time.Time, sig string) {
		r, err := tab.Row(testCrash(n, at, at.Add(time.Minute), "WinApp", sig))
		require.NoError(t, err)
		rows = append(rows, r)
	}
	n := 0
	for range 2 {
		add(n, start.Add(time.Duration(n)*time.Second), "Grows")
		n++
	}
	for range 20 {
		add(n, mid.Add(time.Duration(n)*time.Second), "Grows")
		n++
	}
	for range 3 {
		add(n, mid.Add(time.Duration(n)*time.Second), "Fresh")
		n++
	}
	add(n, end.Add(time.Second), "Later") // after the windows
	require.NoError(t, w.Write(ctx, rows))
	// the first current-window crash of Grows reprocessed into Fresh
	r, err := tab.Row(testCrash(2, mid.Add(2*time.Second), mid.Add(time.Hour), "WinApp", "Fresh"))
	require.NoError(t, err)
	require.NoError(t, w.Write(ctx, []Row{r}))

	rd, err := NewReader(conn, db, DedupArgMax)
	require.NoError(t, err)
	p := WindowParams{Product: "WinApp", Start: start, Mid: mid, End: end}
	tot, err := rd.WindowTotals(ctx, p)
	require.NoError(t, err)
	assert.Equal(t, WindowCount{Current: 23, Previous: 2}, tot)
	cur, err := rd.WindowSignatures(ctx, p, Current, 1, 10)
	require.NoError(t, err)
	assert.Equal(t, []WindowCount{{"Grows", 19, 2}, {"Fresh", 4, 0}}, cur)
	prev, err := rd.WindowSignatures(ctx, p, Previous, 1, 10)
	require.NoError(t, err)
	assert.Equal(t, []WindowCount{{"Grows", 19, 2}}, prev)
	big, err := rd.WindowSignatures(ctx, p, Current, 5, 10)
	require.NoError(t, err)
	assert.Equal(t, []WindowCount{{"Grows", 19, 2}}, big, "min applies to the ranked window")
	none, err := rd.WindowSignatures(ctx, WindowParams{Product: "WinApp", Version: "1.0", Start: start, Mid: mid, End: end}, Current, 1, 10)
	require.NoError(t, err)
	assert.Empty(t, none, "other version")

	// whole days: the aggregates, which the reprocessing corrected too
	day := end.Truncate(24 * time.Hour)
	dp := WindowParams{Product: "WinApp", Version: "130.0", Start: day.Add(-24 * time.Hour), Mid: day, End: day.Add(24 * time.Hour)}
	require.True(t, dp.daily())
	dtot, err := rd.WindowTotals(ctx, dp)
	require.NoError(t, err)
	all, err := rd.WindowTotals(ctx, WindowParams{Product: "WinApp", Start: start.Add(-48 * time.Hour), Mid: start.Add(-24 * time.Hour), End: end.Add(time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, int64(26), dtot.Current+dtot.Previous, "every crash once, by day")
	assert.Equal(t, int64(26), all.Current)
	got := map[string]int64{}
	for _, side := range []WindowSide{Current, Previous} { // near midnight the hours straddle two days
		dsig, err := rd.WindowSignatures(ctx, dp, side, 1, 10)
		require.NoError(t, err)
		for _, s := range dsig {
			got[s.Signature] = s.Current + s.Previous
		}
	}
	assert.Equal(t, map[string]int64{"Grows": 21, "Fresh": 4, "Later": 1}, got)

	_, err = rd.WindowSignatures(ctx, WindowParams{Product: "WinApp", Start: end, Mid: mid, End: start}, Current, 1, 10)
	assert.Error(t, err, "windows out of order")
	_, err = rd.WindowSignatures(ctx, p, "both", 1, 10)
	assert.Error(t, err)
}
