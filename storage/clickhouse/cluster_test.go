package clickhouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every migration has a cluster form: replicated local tables with a
// Distributed table in front, views on the local tables, all ON CLUSTER.
func TestClusterMigrations(t *testing.T) {
	one, err := Migrations("cs")
	require.NoError(t, err)
	migs, err := ClusterMigrations("cs", "c1")
	require.NoError(t, err)
	require.Len(t, migs, len(one))
	var all []string
	for _, m := range migs {
		all = append(all, m.Statements...)
	}
	joined := strings.Join(all, "\n")
	assert.Contains(t, joined, "CREATE TABLE IF NOT EXISTS cs.crashes_local ON CLUSTER c1 (")
	assert.Contains(t, joined, "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/cs/crashes_local', '{replica}', row_version)")
	assert.Contains(t, joined, "CREATE TABLE IF NOT EXISTS cs.crashes ON CLUSTER c1 AS cs.crashes_local ENGINE = Distributed(c1, cs, crashes_local, cityHash64(crash_id))")
	assert.Contains(t, joined, "ENGINE = ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/cs/top_crashers_daily_local', '{replica}')")
	assert.Contains(t, joined, "CREATE MATERIALIZED VIEW IF NOT EXISTS cs.top_crashers_daily_mv ON CLUSTER c1 TO cs.top_crashers_daily_local AS")
	for _, st := range all {
		switch {
		case strings.HasPrefix(st, "CREATE MATERIALIZED VIEW"):
			assert.Contains(t, st, "FROM cs.crashes_local", "a view reads its node's rows")
			assert.NotRegexp(t, `FROM cs\.crashes\b[^_]`, st)
		case strings.HasPrefix(st, "CREATE"):
			assert.Contains(t, st, " ON CLUSTER c1 ", st)
		}
	}
	_, err = ClusterMigrations("cs", "bad-name")
	require.Error(t, err)
	_, err = clusterStatements("CREATE TABLE IF NOT EXISTS cs.other (a String) ENGINE = MergeTree() ORDER BY a", "c1")
	require.ErrorContains(t, err, "no sharding key")
}

// TestClusterAddColumn: a migration that adds a column (a new searchable
// schema field) alters the local table on every node, then makes the
// Distributed table again from it (18.16 refuses to alter it ON CLUSTER on
// replicated shards); an ALTER with no cluster form fails instead of running on one node.
func TestClusterAddColumn(t *testing.T) {
	got, err := clusterStatements("ALTER TABLE cs.crashes ADD COLUMN x Nullable(Int64)", "c1")
	require.NoError(t, err)
	assert.Equal(t, []string{
		"ALTER TABLE cs.crashes_local ON CLUSTER c1 ADD COLUMN x Nullable(Int64)",
		"DROP TABLE IF EXISTS cs.crashes ON CLUSTER c1",
		"CREATE TABLE IF NOT EXISTS cs.crashes ON CLUSTER c1 AS cs.crashes_local ENGINE = Distributed(c1, cs, crashes_local, cityHash64(crash_id))",
	}, got)
	_, err = clusterStatements("ALTER TABLE cs.crashes DROP COLUMN x", "c1")
	assert.Error(t, err)
	_, err = clusterStatements("ALTER TABLE cs.other ADD COLUMN x String", "c1")
	assert.Error(t, err)
}

// TestClusterCrashByIDOneShard, on the local 2x2 cluster of
// tests/stack/cluster.sh (CRASHSTREAM_CLUSTER=1): CrashByID sends each
// lookup to the shard the Distributed table put the crash on, and only
// there (the other shard does not hold it), and a reader whose idea of the
// shards is wrong (the cluster changed since it started) still finds every
// crash through the Distributed table.
func TestClusterCrashByIDOneShard(t *testing.T) {
	if os.Getenv("CRASHSTREAM_STACK") != "1" || os.Getenv("CRASHSTREAM_CLUSTER") != "1" {
		t.Skip("needs the local ClickHouse cluster: tests/stack/cluster.sh up, then CRASHSTREAM_STACK=1 CRASHSTREAM_CLUSTER=1")
	}
	const cluster = "crashstream_cluster"
	cfg := testConfig()
	cfg.Addr, cfg.Cluster = "127.0.0.1:21901", cluster
	// ON CLUSTER DDL answers once every node ran it: up to 18.16's
	// distributed_ddl_task_timeout (180 s) when one is behind
	cfg.QueryTimeout = 3 * time.Minute
	ctx := context.Background()
	conn, err := Open(ctx, cfg)
	require.NoError(t, err)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	db := "cs_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db+" ON CLUSTER "+cluster)
		_ = conn.Close()
	})
	_, err = MigrateCluster(ctx, conn, db, cluster)
	require.NoError(t, err)
	ids := loadSearch(t, conn, db)

	rd, err := NewClusterReader(conn, db, cluster, DedupArgMax)
	require.NoError(t, err)
	shards, err := rd.crashShards(ctx)
	require.NoError(t, err)
	require.Len(t, shards.slotKeys, 2, "18.16 has shardByHash: one key per slot, two shards of weight 1")
	require.NotEqual(t, shards.slotKeys[0], shards.slotKeys[1])
	other := &crashShards{slotKeys: []string{shards.slotKeys[1], shards.slotKeys[0]}}
	perShard := map[string]int{}
	for _, id := range ids {
		for _, s := range []struct {
			shards *crashShards
			want   uint64
		}{{shards, 1}, {other, 0}} {
			from := s.shards.from(db, cluster, "crashes", id)
			var n uint64
			require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM "+from+" FINAL WHERE crash_id = ?", id).Scan(&n))
			assert.Equal(t, s.want, n, "crash %s in %s", id, from)
		}
		perShard[shards.from(db, cluster, "crashes", id)]++
		c, err := rd.CrashByID(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, id, c["crash_id"])
	}
	assert.Len(t, perShard, 2, "the crashes are on both shards: %v", perShard)
	c, err := rd.CrashByID(ctx, ids[0])
	require.NoError(t, err)
	assert.Equal(t, "sig_new", c["signature"], "the newest processing")
	_, err = rd.CrashByID(ctx, "ffffffff-0000-4000-8000-fffff0261119")
	assert.ErrorIs(t, err, ErrNotFound)

	stale, err := NewClusterReader(conn, db, cluster, DedupArgMax)
	require.NoError(t, err)
	stale.shards = other
	for _, id := range ids {
		c, err := stale.CrashByID(ctx, id)
		require.NoError(t, err, "a wrong shard falls back to every shard")
		assert.Equal(t, id, c["crash_id"])
	}
}
