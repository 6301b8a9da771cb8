package sinks

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/storage/clickhouse"
)

// BenchmarkWriter measures the ClickHouse writer alone (lookup of stored
// versions + INSERT naming its columns + materialized views) in batches of
// 1000 new crashes: rows/s is b.N*1000 / elapsed.
func BenchmarkWriter(b *testing.B) {
	requireStack(b)
	conn, cfg := chDB(b)
	table, err := clickhouse.NewTable(fields.New())
	require.NoError(b, err)
	w, err := clickhouse.NewWriter(conn, cfg.Database, table, clickhouse.WriterConfig{MaxAttempts: 1, Backoff: time.Millisecond, MaxBackoff: time.Millisecond})
	require.NoError(b, err)
	day := time.Now().UTC().Truncate(24 * time.Hour)
	const batch = 1000
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		rows := make([]clickhouse.Row, batch)
		for j := range rows {
			c := newCrash(i*batch+j, day, day.Add(time.Hour), fmt.Sprintf("sig_%d", j%97))
			rows[j], err = table.Row(c)
			require.NoError(b, err)
		}
		b.StartTimer()
		require.NoError(b, w.Write(context.Background(), rows))
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
}
