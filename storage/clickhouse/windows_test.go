package clickhouse

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/schemas/fields"
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

// BenchmarkWindows times what one alerts run asks per rule (the top 1000
// signatures by current count, with both counts) at a product's two
// windows holding BENCH_WINDOW_CRASHES crashes (default 200 000, 2 000
// signatures, Zipf-like), by the crashes table (two hours) and by the
// daily aggregates (two days). CRASHSTREAM_STACK=1.
func BenchmarkWindows(b *testing.B) {
	if os.Getenv("CRASHSTREAM_STACK") != "1" {
		b.Skip("needs the real stack: make up, then CRASHSTREAM_STACK=1")
	}
	conn, db := migrated(b, testConfig())
	ctx := context.Background()
	n := 200000
	if v := os.Getenv("BENCH_WINDOW_CRASHES"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	tab, err := NewTable(fields.New())
	require.NoError(b, err)
	w, err := NewWriter(conn, db, tab, WriterConfig{MaxAttempts: 1, Backoff: time.Millisecond, MaxBackoff: time.Millisecond})
	require.NoError(b, err)
	end := time.Now().UTC().Truncate(time.Hour)
	var rows []Row
	for i := range n {
		at := end.Add(-2 * time.Hour).Add(time.Duration(i) * 2 * time.Hour / time.Duration(n))
		r, err := tab.Row(testCrash(i, at, at, "BenchApp", fmt.Sprintf("sig %d", (i*i)%2000/(1+i%7))))
		require.NoError(b, err)
		rows = append(rows, r)
		if len(rows) == 5000 {
			require.NoError(b, w.Write(ctx, rows))
			rows = rows[:0]
		}
	}
	require.NoError(b, w.Write(ctx, rows))
	rd, err := NewReader(conn, db, DedupArgMax)
	require.NoError(b, err)
	day := end.Truncate(24 * time.Hour)
	for _, c := range []struct {
		name string
		p    WindowParams
	}{
		{"crashes-1h", WindowParams{Product: "BenchApp", Start: end.Add(-2 * time.Hour), Mid: end.Add(-time.Hour), End: end}},
		{"daily-1d", WindowParams{Product: "BenchApp", Start: day.Add(-24 * time.Hour), Mid: day, End: day.Add(24 * time.Hour)}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				_, err := rd.WindowSignatures(ctx, c.p, Current, 1, 1000)
				require.NoError(b, err)
			}
		})
	}
}
