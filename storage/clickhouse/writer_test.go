package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWriteAndDedup(t *testing.T) {
	conn, db := stackDB(t)
	ctx := context.Background()
	tab := testTable(t)
	w, err := NewWriter(conn, db, tab, WriterConfig{MaxAttempts: 2, Backoff: time.Millisecond, MaxBackoff: time.Millisecond})
	require.NoError(t, err)
	day := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var rows []Row
	for i := range 10 {
		r, err := tab.Row(testCrash(i, day, day.Add(time.Minute), "Firefox", "sig_a"))
		require.NoError(t, err)
		rows = append(rows, r)
	}
	require.NoError(t, w.Write(ctx, rows))
	// reprocess crash 3 into another signature, and replay the first batch.
	re, err := tab.Row(testCrash(3, day, day.Add(time.Hour), "Firefox", "sig_b"))
	require.NoError(t, err)
	require.NoError(t, w.Write(ctx, []Row{re}))
	require.NoError(t, w.Write(ctx, rows))

	var n uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM "+db+".crashes").Scan(&n))
	require.Equal(t, uint64(21), n, "raw rows before merges")
}
