package clickhouse

import (
	"strings"
	"testing"

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
// schema field) alters the local table on every node, then the Distributed
// table; an ALTER with no cluster form fails instead of running on one node.
func TestClusterAddColumn(t *testing.T) {
	got, err := clusterStatements("ALTER TABLE cs.crashes ADD COLUMN IF NOT EXISTS x Nullable(Int64)", "c1")
	require.NoError(t, err)
	assert.Equal(t, []string{
		"ALTER TABLE cs.crashes_local ON CLUSTER c1 ADD COLUMN IF NOT EXISTS x Nullable(Int64)",
		"ALTER TABLE cs.crashes ON CLUSTER c1 ADD COLUMN IF NOT EXISTS x Nullable(Int64)",
	}, got)
	_, err = clusterStatements("ALTER TABLE cs.crashes DROP COLUMN x", "c1")
	assert.Error(t, err)
	_, err = clusterStatements("ALTER TABLE cs.other ADD COLUMN x String", "c1")
	assert.Error(t, err)
}
