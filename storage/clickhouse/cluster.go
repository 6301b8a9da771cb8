package clickhouse

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/cityhash102"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Cluster mode. With Config.Cluster set, crashstream's tables live on a
// ClickHouse cluster (the name of a <remote_servers> entry of every node):
//
//   - every migration runs ON CLUSTER;
//   - each table T is a Replicated*MergeTree T_local on every node (ZooKeeper
//     path /clickhouse/tables/{shard}/<db>/T_local, replica {replica}: the
//     nodes' macros), with a Distributed table T in front under the name a
//     single node uses, so the writer's and readers' SQL is the same;
//   - crashes, crash_ids and missing_symbols_crashes are sharded by
//     cityHash64(crash_id): every processing of one crash lands on one
//     shard, where ReplacingMergeTree,
//     FINAL and the writer's lookup deduplicate it as on one node;
//   - the aggregates (top_crashers_daily, signature_daily, signature_first)
//     are filled by materialized views on each node's crashes_local, so a
//     crash is counted on the shard that holds it; the writer's -1
//     corrections go through the Distributed table (sharded by signature),
//     and every read sums over all shards, so the sums stay exact;
//   - inserts are synchronous (insert_distributed_sync=1): Write returns
//     only once the shard's replica has the rows, which is what lets the
//     sink commit its offsets;
//   - a subquery on crashes inside a query on crashes (Super Search's
//     prefilter) names crashes_local, so each shard runs it on its own
//     rows, exact because of the sharding by crash id (18.16's native
//     protocol cannot carry distributed_product_mode, a string setting).
//
// Without Config.Cluster nothing of this applies: one node, the same DDL as
// before.

// shardingKeys is how each Distributed table spreads the rows it is given.
var shardingKeys = map[string]string{
	"crashes":                  "cityHash64(crash_id)",
	"crash_ids":                "cityHash64(crash_id)",
	"missing_symbols_crashes":  "cityHash64(crash_id)",
	"top_crashers_daily":       "cityHash64(signature)",
	"signature_daily":          "cityHash64(signature)",
	"signature_first":          "cityHash64(signature)",
	"signature_installs_daily": "cityHash64(signature)",
	"signature_correlations":   "cityHash64(signature)",
	"attribute_daily":          "cityHash64(kv)",
}

var (
	createTableRE = regexp.MustCompile(`(?s)^CREATE TABLE IF NOT EXISTS (\w+)\.(\w+) \((.*)\) ENGINE = (\w*MergeTree)\(([^)]*)\)(.*)$`)
	createViewRE  = regexp.MustCompile(`(?s)^CREATE MATERIALIZED VIEW IF NOT EXISTS (\w+)\.(\w+) TO (\w+)\.(\w+) AS\s+(.*)$`)
	fromCrashesRE = regexp.MustCompile(`\bFROM (\w+)\.crashes\b`)
	addColumnRE   = regexp.MustCompile(`(?s)^ALTER TABLE (\w+)\.(\w+) (ADD COLUMN .*)$`)
)

// clusterStatements turns one single-node migration statement into its
// cluster form: a table into its replicated local table and the Distributed
// table in front, a materialized view into one that reads and writes the
// local tables, the rest ON CLUSTER or unchanged (an INSERT goes through the
// Distributed tables).
func clusterStatements(st, cluster string) ([]string, error) {
	if m := createTableRE.FindStringSubmatch(st); m != nil {
		db, name, cols, engine, args, rest := m[1], m[2], m[3], m[4], strings.TrimSpace(m[5]), m[6]
		key, ok := shardingKeys[name]
		if !ok {
			return nil, fmt.Errorf("cluster mode: table %s has no sharding key", name)
		}
		repl := fmt.Sprintf("'/clickhouse/tables/{shard}/%s/%s_local', '{replica}'", db, name)
		if args != "" {
			repl += ", " + args
		}
		return []string{
			fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s_local ON CLUSTER %s (%s) ENGINE = Replicated%s(%s)%s", db, name, cluster, cols, engine, repl, rest),
			fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s ON CLUSTER %s AS %s.%s_local ENGINE = Distributed(%s, %s, %s_local, %s)", db, name, cluster, db, name, cluster, db, name, key),
		}, nil
	}
	if m := createViewRE.FindStringSubmatch(st); m != nil {
		db, name, tdb, target, sel := m[1], m[2], m[3], m[4], m[5]
		sel = fromCrashesRE.ReplaceAllString(sel, "FROM ${1}.crashes_local")
		return []string{fmt.Sprintf("CREATE MATERIALIZED VIEW IF NOT EXISTS %s.%s ON CLUSTER %s TO %s.%s_local AS %s", db, name, cluster, tdb, target, sel)}, nil
	}
	if m := addColumnRE.FindStringSubmatch(st); m != nil {
		// A column a schema field gained: the replicated local table on
		// every node first (an ALTER of a replicated table runs once a
		// shard and waits for the shard's replicas), then the Distributed
		// table in front of it is made again from the local table's new
		// structure. It cannot be altered ON CLUSTER: 18.16 refuses an
		// ALTER of a table that is not replicated on a shard its cluster
		// definition says is ("isn't replicated, but shard #1 is
		// replicated"). A Distributed table holds no rows of its own here
		// (inserts are synchronous), so dropping it loses nothing; a query
		// in the moment between the two statements fails and is retried.
		db, name, add := m[1], m[2], m[3]
		key, ok := shardingKeys[name]
		if !ok {
			return nil, fmt.Errorf("cluster mode: table %s has no cluster form", name)
		}
		return []string{
			fmt.Sprintf("ALTER TABLE %s.%s_local ON CLUSTER %s %s", db, name, cluster, add),
			fmt.Sprintf("DROP TABLE IF EXISTS %s.%s ON CLUSTER %s", db, name, cluster),
			fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s ON CLUSTER %s AS %s.%s_local ENGINE = Distributed(%s, %s, %s_local, %s)", db, name, cluster, db, name, cluster, db, name, key),
		}, nil
	}
	if strings.HasPrefix(st, "INSERT INTO ") {
		return []string{st}, nil
	}
	if strings.HasPrefix(st, "ALTER ") {
		return nil, fmt.Errorf("cluster mode: no cluster form for %.80q", st)
	}
	if strings.HasPrefix(st, "CREATE ") {
		return nil, fmt.Errorf("cluster mode: no cluster form for %.80q", st)
	}
	return []string{st}, nil
}

// onCluster is the clause DDL on local tables takes in cluster mode.
func onCluster(cluster string) string {
	if cluster == "" {
		return ""
	}
	return " ON CLUSTER " + cluster
}

// localTable is the name of a table's data on the node: T itself on one
// node, T_local (behind the Distributed T) on a cluster.
func localTable(table, cluster string) string {
	if cluster == "" {
		return table
	}
	return table + "_local"
}

// crashShards sends a lookup by crash id to the one shard that holds the
// crash. The Distributed tables put a row on shard
// slot[cityHash64(crash_id) % total weight] (each shard owns as many slots
// as its weight, in the cluster's order), and every query on them goes to
// all shards. 18.16 has no optimize_skip_unused_shards, but it has the
// table function shardByHash(cluster, 'key', db, table), which sends a
// query to shard number sipHash64(key) % shards with the cluster's
// replicas, load balancing and credentials, like the Distributed table.
// With one key per shard (a string whose sipHash64 picks that shard, found
// by the server itself), the reader computes the crash's shard from the id
// (CityHash64 v1.0.2, ClickHouse's cityHash64) and names it in the query.
//
// Current releases have no shardByHash; there slotKeys is empty and the
// lookup goes through the Distributed table, to every shard.
type crashShards struct {
	slotKeys []string // the shardByHash key of each slot's shard; empty: no routing
}

// from is the FROM clause of a lookup of id in table (crashes or crash_ids):
// the shard's local table through shardByHash, or the Distributed table.
func (s *crashShards) from(db, cluster, table, id string) string {
	if len(s.slotKeys) == 0 {
		return db + "." + table
	}
	slot := cityhash102.CityHash64([]byte(id), uint32(len(id))) % uint64(len(s.slotKeys))
	return fmt.Sprintf("shardByHash('%s', '%s', %s, %s)", cluster, s.slotKeys[slot], db, localTable(table, cluster))
}

// maxSlots bounds the slots (the sum of the shards' weights) of a cluster
// the reader routes lookups on; beyond it, lookups ask every shard.
const maxSlots = 1024

// probeCrashShards asks the server whether it has shardByHash, the cluster's
// shards and weights, and a key for each shard.
func probeCrashShards(ctx context.Context, conn driver.Conn, cluster string) (*crashShards, error) {
	var has uint64
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.table_functions WHERE name = 'shardByHash'").Scan(&has); err != nil {
		return nil, fmt.Errorf("cluster %s: table functions: %w", cluster, err)
	}
	if has == 0 {
		return &crashShards{}, nil
	}
	rows, err := conn.Query(ctx, "SELECT shard_num, any(shard_weight) FROM system.clusters WHERE cluster = ? GROUP BY shard_num ORDER BY shard_num", cluster)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: shards: %w", cluster, err)
	}
	defer rows.Close()
	var weights []uint32
	total := 0
	for rows.Next() {
		var num, weight uint32
		if err := rows.Scan(&num, &weight); err != nil {
			return nil, err
		}
		weights = append(weights, weight)
		total += int(weight)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(weights) == 0 {
		return nil, fmt.Errorf("cluster %s: not in system.clusters", cluster)
	}
	if total == 0 || total > maxSlots {
		return &crashShards{}, nil
	}
	keys := make([]string, len(weights))
	krows, err := conn.Query(ctx, "SELECT toUInt32(sipHash64(toString(number)) % ?) AS shard, toString(min(number)) FROM numbers(?) GROUP BY shard",
		len(weights), 64*len(weights))
	if err != nil {
		return nil, fmt.Errorf("cluster %s: shard keys: %w", cluster, err)
	}
	defer krows.Close()
	for krows.Next() {
		var shard uint32
		var key string
		if err := krows.Scan(&shard, &key); err != nil {
			return nil, err
		}
		keys[shard] = key
	}
	if err := krows.Err(); err != nil {
		return nil, err
	}
	s := &crashShards{}
	for shard, w := range weights {
		if keys[shard] == "" {
			return &crashShards{}, nil // no key found for a shard: ask them all
		}
		for range w {
			s.slotKeys = append(s.slotKeys, keys[shard])
		}
	}
	return s, nil
}
