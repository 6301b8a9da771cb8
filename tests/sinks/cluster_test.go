package sinks

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/services/sinks"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/clickhouse/supersearch"
)

// The local cluster of tests/stack/cluster.sh: two shards x two replicas;
// node k listens on 21900+k.
const (
	clusterName = "crashstream_cluster"
	clusterNode = "127.0.0.1:21901"
)

func requireCluster(t *testing.T) {
	t.Helper()
	requireStack(t)
	if os.Getenv("CRASHSTREAM_CLUSTER") != "1" {
		t.Skip("needs the local ClickHouse cluster: make up CLICKHOUSE_CLUSTER=1, then CRASHSTREAM_CLUSTER=1")
	}
}

// clusterScript runs tests/stack/cluster.sh (kill / start one node).
func clusterScript(t *testing.T, args ...string) {
	t.Helper()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	out, err := exec.Command(filepath.Join(root, "tests/stack/cluster.sh"), args...).CombinedOutput()
	require.NoError(t, err, "cluster.sh %v: %s", args, out)
}

// TestClusterSinkKillReplica: the ClickHouse sink writes N processed crashes
// (and a reprocessing of every tenth) from Kafka into the 2x2 cluster while
// one replica is killed with kill -9 and started again, and, from the same
// topic, into one node. Then every crash is exactly one row after
// deduplication on the cluster, both replicas of each shard hold their
// shard's crashes, and top crashers and Super Search answer the same on the
// cluster as on one node. N is CRASHSTREAM_CLUSTER_CRASHES (default 2,000;
// the run is 10,000, see RELIABILITY.md).
func TestClusterSinkKillReplica(t *testing.T) {
	requireCluster(t)
	n := 2000
	if v, _ := strconv.Atoi(os.Getenv("CRASHSTREAM_CLUSTER_CRASHES")); v > 0 {
		n = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// the cluster, through node 1
	ccfg := chConfig(unique("cs_cluster_"))
	ccfg.Addr, ccfg.Cluster = clusterNode, clusterName
	cconn, err := clickhouse.Open(ctx, ccfg)
	require.NoError(t, err)
	defer cconn.Close()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		_ = cconn.Exec(ctx, "DROP DATABASE IF EXISTS "+ccfg.Database+" ON CLUSTER "+clusterName)
	})
	_, err = clickhouse.MigrateCluster(ctx, cconn, ccfg.Database, ccfg.Cluster)
	require.NoError(t, err)
	// one node, the same data
	sconn, scfg := chDB(t)

	kcfg := kafkaConfig(t)
	s := serde(t)
	table, err := clickhouse.NewTable(fields.New())
	require.NoError(t, err)
	wcfg := clickhouse.WriterConfig{MaxAttempts: 10, Backoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second}
	newSink := func(conn driver.Conn, db, group string) *sinks.ClickHouse {
		w, err := clickhouse.NewWriter(conn, db, table, wcfg)
		require.NoError(t, err)
		sk, err := sinks.NewClickHouse(sinks.ClickHouseConfig{Group: unique(group), BatchRows: 500, Linger: 200 * time.Millisecond, Writer: wcfg},
			sinks.ClickHouseDeps{Writer: w, Table: table, Decoder: s, Registry: prometheus.NewRegistry()})
		require.NoError(t, err)
		return sk
	}
	csink := newSink(cconn, ccfg.Database, "sink-cluster-")
	ssink := newSink(sconn, scfg.Database, "sink-single-")
	var wg sync.WaitGroup
	for _, sk := range []*sinks.ClickHouse{csink, ssink} {
		wg.Go(func() { assert.NoError(t, runStage(ctx, kcfg, sk.Stage(kcfg.Topics()))) })
	}
	defer wg.Wait()
	defer cancel()

	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	var crashes, again []*schemas.ProcessedCrash
	for i := range n {
		c := newCrash(i, day, day.Add(2*time.Hour), fmt.Sprintf("sig_%d", i*i%97))
		c.Product = []string{"Firefox", "Fenix", "Thunderbird"}[i%7%3]
		c.Version = []string{"130.0", "131.0"}[i%2]
		crashes = append(crashes, c)
		if i%10 == 0 {
			r := *c
			r.DateProcessed, r.Signature = day.Add(3*time.Hour), fmt.Sprintf("sig_re_%d", i%5)
			again = append(again, &r)
		}
	}
	count := func(conn driver.Conn, q string) uint64 {
		var v uint64
		if err := conn.QueryRow(ctx, q).Scan(&v); err != nil {
			return 0
		}
		return v
	}
	// produce in two halves; kill -9 node 3 (a replica of shard 2, which
	// node 1 inserts into over the network) once the cluster sink writes
	produce(t, kcfg, s, crashes[:n/2])
	eventually(t, 3*time.Minute, "the cluster sink writing", func() (bool, string) {
		c := count(cconn, "SELECT count() FROM "+ccfg.Database+".crashes")
		return c > uint64(n/10), fmt.Sprint(c)
	})
	clusterScript(t, "kill", "3")
	t.Log("node 3 killed with SIGKILL")
	produce(t, kcfg, s, crashes[n/2:])
	produce(t, kcfg, s, again)
	time.Sleep(3 * time.Second)
	clusterScript(t, "start", "3")
	t.Log("node 3 started again")

	// the two databases the sinks write, by name
	stores := map[string]struct {
		conn driver.Conn
		db   string
	}{"cluster": {cconn, ccfg.Database}, "one node": {sconn, scfg.Database}}
	for name, x := range stores {
		eventually(t, 5*time.Minute, name+": every crash stored", func() (bool, string) {
			c := count(x.conn, "SELECT uniqExact(crash_id) FROM "+x.db+".crashes")
			re := count(x.conn, "SELECT count() FROM "+x.db+".crashes FINAL WHERE signature LIKE 'sig_re_%'")
			return c == uint64(n) && re == uint64(len(again)), fmt.Sprintf("%d crashes, %d reprocessed", c, re)
		})
	}
	// replicas caught up: on every node every table active (the restarted
	// one waits for its old ZooKeeper session to expire) with an empty
	// queue; then each shard's two replicas hold the same crashes, once
	// each, and the shards add up to N
	nodes := map[int]driver.Conn{}
	for k := 1; k <= 4; k++ {
		conn, err := clickhouse.Open(ctx, clickhouse.Config{Addr: fmt.Sprintf("127.0.0.1:%d", 21900+k), Database: ccfg.Database, Username: "default",
			DialTimeout: 5 * time.Second, QueryTimeout: 2 * time.Minute, MaxOpenConns: 1})
		require.NoError(t, err)
		defer conn.Close()
		nodes[k] = conn
	}
	perNode := map[int]uint64{}
	eventually(t, 5*time.Minute, "replicas caught up", func() (bool, string) {
		for k, conn := range nodes {
			busy := count(conn, "SELECT count() FROM system.replicas WHERE database = '"+ccfg.Database+"' AND (is_readonly OR is_session_expired OR queue_size > 0)")
			tables := count(conn, "SELECT count() FROM system.replicas WHERE database = '"+ccfg.Database+"'")
			if busy > 0 || tables < 6 {
				return false, fmt.Sprintf("node %d: %d of %d replicated tables busy", k, busy, tables)
			}
			perNode[k] = count(conn, "SELECT count() FROM "+ccfg.Database+".crashes_local FINAL")
		}
		return perNode[1] == perNode[2] && perNode[3] == perNode[4] && perNode[1]+perNode[3] == uint64(n), fmt.Sprintf("rows per node %v", perNode)
	})
	t.Logf("rows per node after FINAL: %v", perNode)
	for k, conn := range nodes {
		dups := count(conn, "SELECT count() - uniqExact(crash_id) FROM "+ccfg.Database+".crashes_local FINAL")
		assert.Zero(t, dups, "node %d: one row per crash after deduplication", k)
	}
	assert.NotZero(t, perNode[1])
	assert.NotZero(t, perNode[3])
	assert.Equal(t, uint64(n), count(cconn, "SELECT count() FROM "+ccfg.Database+".crashes FINAL"), "exactly one row per crash")

	// the same answers as one node, once both have merged the day (the
	// installs count reads every processing, so it depends on merges)
	for _, rd := range []struct {
		conn     driver.Conn
		db, clus string
	}{{cconn, ccfg.Database, ccfg.Cluster}, {sconn, scfg.Database, ""}} {
		r, err := clickhouse.NewClusterReader(rd.conn, rd.db, rd.clus, clickhouse.DedupClean)
		require.NoError(t, err)
		require.NoError(t, r.CompactDay(ctx, day))
	}
	end := day.AddDate(0, 0, 1)
	crd, err := clickhouse.NewClusterReader(cconn, ccfg.Database, ccfg.Cluster, clickhouse.DedupArgMax)
	require.NoError(t, err)
	// A node killed after a part of crashes_local is committed and before
	// its materialized views' inserts leaves the aggregates short (the
	// writer's retry finds the crash stored and skips it): the repair is
	// RebuildDay, which cron runs, and which also puts back the crash_ids rows
	// CrashByID needs; the crashes table itself is exact.
	before, after := rebuildDay(ctx, t, crd, day)
	t.Logf("RebuildDay after the kill changed the Firefox report: %v", !assert.ObjectsAreEqual(before, after))
	for _, mode := range []clickhouse.Dedup{clickhouse.DedupArgMax, clickhouse.DedupFinal, clickhouse.DedupClean} {
		crd, err := clickhouse.NewClusterReader(cconn, ccfg.Database, ccfg.Cluster, mode)
		require.NoError(t, err)
		srd, err := clickhouse.NewReader(sconn, scfg.Database, mode)
		require.NoError(t, err)
		for _, p := range []clickhouse.TopCrashersParams{
			{Product: "Firefox", Days: 7, End: end},
			{Product: "Fenix", Days: 1, End: end, Versions: []string{"131.0"}},
			{Product: "Firefox", Days: 3, End: end, Platform: "Linux", Installs: true},
		} {
			cr, err := crd.TopCrashers(ctx, p)
			require.NoError(t, err)
			sr, err := srd.TopCrashers(ctx, p)
			require.NoError(t, err)
			assert.Equal(t, sr, cr, "top crashers %+v (%s)", p, mode)
		}
		fs := supersearch.FromRegistry(fields.New())
		for _, raw := range []string{
			"", "product=Fenix", "signature=~re_&_facets=signature", "_facets=os_name&_facets=version&_cardinality.signature=",
			"_columns=uuid&_columns=signature&_sort=uuid&_results_number=40", "_histogram.date=product",
		} {
			params, err := url.ParseQuery(raw)
			require.NoError(t, err)
			q, err := supersearch.Parse(params, fs, false, time.Now())
			require.NoError(t, err)
			cr, err := crd.SuperSearch(ctx, q)
			require.NoError(t, err, raw)
			sr, err := srd.SuperSearch(ctx, q)
			require.NoError(t, err, raw)
			assert.Equal(t, sr, cr, "super search %q (%s)", raw, mode)
		}
		for _, c := range append(crashes[:20:20], again[:5]...) {
			cr, err := crd.CrashByID(ctx, c.CrashID)
			require.NoError(t, err)
			sr, err := srd.CrashByID(ctx, c.CrashID)
			require.NoError(t, err)
			assert.Equal(t, sr, cr, "crash %s", c.CrashID)
		}
	}
	// Super Search reads clean days per shard: with merges stopped, one more
	// processing of a crash makes the day two parts on its shard's replicas
	// and leaves it one part on the other shard; the answers still match
	// one node's (a clean set decided on one node would count that crash
	// twice or miss the other shard's rows)
	for _, conn := range nodes {
		require.NoError(t, conn.Exec(ctx, "SYSTEM STOP MERGES "+ccfg.Database+".crashes_local"))
	}
	late := *crashes[1]
	late.DateProcessed, late.Signature = day.Add(4*time.Hour), "sig_late"
	produce(t, kcfg, s, []*schemas.ProcessedCrash{&late})
	for name, x := range stores {
		eventually(t, 2*time.Minute, name+": the late processing stored", func() (bool, string) {
			c := count(x.conn, "SELECT count() FROM "+x.db+".crashes WHERE signature = 'sig_late'")
			return c == 1, fmt.Sprint(c)
		})
	}
	// both replicas of the late crash's shard have fetched its part
	eventually(t, 2*time.Minute, "one shard's day two parts on both replicas, the other's one", func() (bool, string) {
		parts := map[int]uint64{}
		for k, conn := range nodes {
			parts[k] = count(conn, "SELECT count() FROM system.parts WHERE database = '"+ccfg.Database+
				"' AND table = 'crashes_local' AND active AND partition = '"+day.Format("20060102")+"'")
		}
		return parts[1] == parts[2] && parts[3] == parts[4] && (parts[1] == 1) != (parts[3] == 1), fmt.Sprintf("parts per node %v", parts)
	})
	crd, err = clickhouse.NewClusterReader(cconn, ccfg.Database, ccfg.Cluster, clickhouse.DedupClean)
	require.NoError(t, err)
	srd, err := clickhouse.NewReader(sconn, scfg.Database, clickhouse.DedupClean)
	require.NoError(t, err)
	for _, raw := range []string{"", "_facets=signature", "signature=sig_late&_columns=uuid&_columns=signature"} {
		params, err := url.ParseQuery(raw)
		require.NoError(t, err)
		q, err := supersearch.Parse(params, supersearch.FromRegistry(fields.New()), false, time.Now())
		require.NoError(t, err)
		cr, err := crd.SuperSearch(ctx, q)
		require.NoError(t, err, raw)
		sr, err := srd.SuperSearch(ctx, q)
		require.NoError(t, err, raw)
		assert.Equal(t, sr, cr, "super search %q with one shard clean", raw)
		if raw == "" {
			assert.Equal(t, int64(n), cr.Total, "every crash once")
		}
	}
	for _, conn := range nodes {
		require.NoError(t, conn.Exec(ctx, "SYSTEM START MERGES "+ccfg.Database+".crashes_local"))
	}

	// cron's maintenance on the cluster: rebuilding the day again gives the
	// same report, retention empties every table of the day on every shard
	before, after = rebuildDay(ctx, t, crd, day)
	assert.Equal(t, before, after, "RebuildDay on the cluster")
	dropped, err := crd.DropPartitionsBefore(ctx, end)
	require.NoError(t, err)
	part := day.Format("20060102")
	assert.Subset(t, dropped, []string{"crash_ids/" + part, "crashes/" + part, "signature_daily/" + part, "signature_installs_daily/" + part, "top_crashers_daily/" + part})
	assert.Zero(t, count(cconn, "SELECT count() FROM "+ccfg.Database+".crashes"), "retention on every shard")
	// the monthly attribute_daily goes once its whole month is past (with
	// end on the 1st, the call above already dropped it)
	more, err := crd.DropPartitionsBefore(ctx, time.Date(day.Year(), day.Month()+1, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	assert.Contains(t, append(dropped, more...), "attribute_daily/"+day.Format("200601"))
	assert.Zero(t, count(cconn, "SELECT count() FROM "+ccfg.Database+".attribute_daily"), "monthly retention on every shard")
}

// rebuildDay runs cron's repair, RebuildDay, for day and returns the
// Firefox weekly top-crashers report ending the day after, before and after
// it.
func rebuildDay(ctx context.Context, t *testing.T, rd *clickhouse.Reader, day time.Time) (before, after *clickhouse.TopCrashersResult) {
	t.Helper()
	p := clickhouse.TopCrashersParams{Product: "Firefox", Days: 7, End: day.AddDate(0, 0, 1)}
	before, err := rd.TopCrashers(ctx, p)
	require.NoError(t, err)
	require.NoError(t, rd.RebuildDay(ctx, day))
	after, err = rd.TopCrashers(ctx, p)
	require.NoError(t, err)
	return before, after
}
