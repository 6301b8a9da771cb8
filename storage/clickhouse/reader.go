package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Dedup is how reads of the crashes table see one row per crash id.
type Dedup int

// Read-path deduplication strategies. All three are exact on 18.16 as long
// as a crash's product and submission day never change (the sorting key);
// they differ in speed, measured in BENCHMARKS.md ("Sinks and queries").
const (
	// DedupArgMax groups the window by crash_id and takes argMax(column,
	// row_version) of every column the query needs. It does not depend on
	// the sorting key at all.
	DedupArgMax Dedup = iota
	// DedupFinal reads with FINAL, which merges rows of equal sorting key at
	// query time. Conditions stay in WHERE (not PREWHERE), so they apply to
	// the merged row.
	DedupFinal
	// DedupClean skips deduplication for clean partitions and uses argMax
	// for the others. A daily partition made of a single part holds no
	// duplicates: the writer never inserts two rows of one crash in one
	// INSERT, and a ReplacingMergeTree merge keeps one row per key. Closed
	// days become single parts through CompactDay (run by cron); the current
	// day stays deduplicated by argMax. A row inserted into a clean
	// partition while a query runs may be counted twice by that query only.
	DedupClean
)

// String names the read path (test names, logs).
func (d Dedup) String() string {
	switch d {
	case DedupArgMax:
		return "argMax"
	case DedupFinal:
		return "final"
	case DedupClean:
		return "clean"
	}
	return "unknown"
}

// CompactDay merges one day's partition of every daily table into a single
// part with OPTIMIZE ... FINAL. In crashes this collapses duplicates, so
// that DedupClean reads the day without deduplication; in the aggregates it
// sums each key's rows into one, which is what makes a report's lookup of
// its signatures read few granules (top crashers at 100M crashes: the
// 28-day and filtered reports went from 308-328 to 285-294 ms p95). Cron
// runs it for closed days.
func (r *Reader) CompactDay(ctx context.Context, day time.Time) error {
	d := day.UTC()
	id := d.Year()*10000 + int(d.Month())*100 + d.Day()
	for _, t := range dailyTables() {
		if err := r.conn.Exec(ctx, fmt.Sprintf("OPTIMIZE TABLE %s.%s%s PARTITION %d FINAL", r.db, localTable(t, r.cluster), onCluster(r.cluster), id)); err != nil {
			return fmt.Errorf("compact %s %d: %w", t, id, err)
		}
	}
	return nil
}

// cleanDays is the set of days (toYYYYMMDD) whose crashes partition is a
// single part, as SQL for "day IN <sql>" with its bound arguments.
type cleanDays struct {
	sql  string
	args []any
}

// none reports whether no day is clean for sure, so that DedupClean reads
// as argMax without a clean branch.
func (c cleanDays) none() bool { return c.sql == "" }

// cleanDays finds the clean days. On one node it reads them once and binds
// them as a set (none when no day is clean yet). On a cluster the parts
// differ by shard and replica, so the set is a subquery of system.parts for
// crashes_local: a query on the Distributed table sends it to each shard,
// which runs it on the replica that reads its rows. SuperSearch pins the
// replica choice (load_balancing in_order) so that the clean and the
// deduplicated branch of one query see the same replica's parts.
func (r *Reader) cleanDays(ctx context.Context) (cleanDays, error) {
	const parts = "SELECT toUInt32OrZero(partition) AS p FROM system.parts WHERE database = ? AND table = ? AND active GROUP BY p HAVING count() = 1"
	if r.cluster != "" {
		return cleanDays{sql: "(" + parts + ")", args: []any{r.db, localTable("crashes", r.cluster)}}, nil
	}
	rows, err := r.conn.Query(ctx, parts, r.db, "crashes")
	if err != nil {
		return cleanDays{}, fmt.Errorf("clean partitions: %w", err)
	}
	defer rows.Close()
	var days []uint32
	for rows.Next() {
		var p uint32
		if err := rows.Scan(&p); err != nil {
			return cleanDays{}, err
		}
		days = append(days, p)
	}
	if err := rows.Err(); err != nil || len(days) == 0 {
		return cleanDays{}, err
	}
	return cleanDays{sql: "?", args: []any{set(days)}}, nil
}

// Reader is the query library the webapp uses. Every value is a bound
// parameter; identifiers come from the field registry and are checked.
type Reader struct {
	conn    driver.Conn
	db      string
	cluster string // "" on one node
	dedup   Dedup

	shardsMu sync.Mutex
	shards   *crashShards // cluster mode: how CrashByID finds a crash's shard; nil until the first lookup
}

// NewReader returns a reader of database.
func NewReader(conn driver.Conn, database string, dedup Dedup) (*Reader, error) {
	if !identRE.MatchString(database) {
		return nil, fmt.Errorf("database %q is not a plain identifier", database)
	}
	return &Reader{conn: conn, db: database, dedup: dedup}, nil
}

// NewClusterReader returns a reader of database on cluster (cluster mode,
// see cluster.go; "" is NewReader). The reads go through the Distributed
// tables; maintenance (CompactDay, RebuildDay, DropPartitionsBefore) runs ON
// CLUSTER on the local tables. DedupClean asks each shard which of its
// partitions are single parts (cleanDays); FINAL and argMax are exact per
// shard because all processings of a crash are on one shard.
func NewClusterReader(conn driver.Conn, database, cluster string, dedup Dedup) (*Reader, error) {
	r, err := NewReader(conn, database, dedup)
	if err != nil {
		return nil, err
	}
	if cluster != "" {
		if !identRE.MatchString(cluster) {
			return nil, fmt.Errorf("cluster %q is not a plain identifier", cluster)
		}
		r.cluster = cluster
	}
	return r, nil
}

// ErrNotFound is returned by CrashByID for an unknown crash id.
var ErrNotFound = errors.New("crash not found")

// CrashByID returns the newest processing of a crash as column -> value.
//
// It is one query that reads a few granules at any table size: crash_ids
// (sorted by crash id, in the daily partitions around the id's date) gives
// the crash's product and submission time, which with the id are the whole
// crashes sorting key, and the IN on that tuple lets the crashes index go to
// the crash's granule. The tuple names submitted_timestamp (every
// processing of a crash has the same), not toDate(submitted_timestamp):
// with the latter 18.16 does not use the set for the index at all and reads
// the whole window. PREWHERE crash_id: without it 18.16 reads all ~115
// columns of the granule (17 MB per lookup at 10M rows instead of 0.7 MB;
// BENCHMARKS.md).
//
// On a cluster the query goes to the one shard that holds the crash id
// (crashShards), or, on releases without shardByHash, to every shard
// through the Distributed table. Either way the subquery names
// crash_ids_local, so each shard answers from its own rows: crash_ids is
// sharded like crashes (cityHash64(crash_id)), so the shard holding the
// crash has its crash_ids row too. An id not found on its shard is looked
// up once more on every shard, so a cluster whose shards changed since the
// reader started still answers right.
func (r *Reader) CrashByID(ctx context.Context, id string) (map[string]any, error) {
	day, err := CrashIDDate(id)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	if r.cluster == "" {
		return r.crashByID(ctx, r.db+".crashes", r.db+".crash_ids", id, day)
	}
	shards, err := r.crashShards(ctx)
	if err != nil {
		return nil, fmt.Errorf("crash by id: %w", err)
	}
	ids := r.db + "." + localTable("crash_ids", r.cluster)
	c, err := r.crashByID(ctx, shards.from(r.db, r.cluster, "crashes", id), ids, id, day)
	if errors.Is(err, ErrNotFound) && len(shards.slotKeys) > 0 {
		return r.crashByID(ctx, r.db+".crashes", ids, id, day)
	}
	return c, err
}

// crashByID is CrashByID's query on crashes (a table or table function)
// with crash_ids (a table) for the sorting key.
func (r *Reader) crashByID(ctx context.Context, crashes, crashIDs, id string, day time.Time) (map[string]any, error) {
	window := "submitted_timestamp >= toDateTime(@from) AND submitted_timestamp < toDateTime(@to)"
	q := "SELECT * FROM " + crashes + " PREWHERE crash_id = @id WHERE " + window +
		" AND (product, submitted_timestamp, crash_id) IN (SELECT product, submitted_timestamp, crash_id FROM " +
		crashIDs + " WHERE crash_id = @id AND " + window + ") ORDER BY row_version DESC LIMIT 1"
	rows, err := r.conn.Query(ctx, q, ch.Named("id", id), ch.Named("from", chTime(day.Add(-24*time.Hour))), ch.Named("to", chTime(day.Add(48*time.Hour))))
	if err != nil {
		return nil, fmt.Errorf("crash by id: %w", err)
	}
	maps, err := scanMaps(rows)
	if err != nil {
		return nil, err
	}
	if len(maps) == 0 {
		return nil, ErrNotFound
	}
	return maps[0], nil
}

// crashShards probes the cluster's shards once (probeCrashShards); a failed
// probe is tried again on the next lookup.
func (r *Reader) crashShards(ctx context.Context) (*crashShards, error) {
	r.shardsMu.Lock()
	defer r.shardsMu.Unlock()
	if r.shards == nil {
		s, err := probeCrashShards(ctx, r.conn, r.cluster)
		if err != nil {
			return nil, err
		}
		r.shards = s
	}
	return r.shards, nil
}

// SignatureFirst is the first date and build a signature was seen with.
type SignatureFirst struct {
	Signature string
	FirstDate time.Time
	// FirstBuild is nil when no crash of the signature had a build id.
	FirstBuild *int64
}

// MaxSignatures bounds one SignatureFirstDate call.
const MaxSignatures = 1000

// SignatureFirstDate answers Socorro's SignatureFirstDate for signatures;
// unknown signatures are absent from the result.
func (r *Reader) SignatureFirstDate(ctx context.Context, signatures []string) ([]SignatureFirst, error) {
	if len(signatures) == 0 {
		return nil, nil
	}
	if len(signatures) > MaxSignatures {
		return nil, fmt.Errorf("at most %d signatures, got %d", MaxSignatures, len(signatures))
	}
	rows, err := r.conn.Query(ctx, "SELECT signature, minMerge(first_date), minMerge(first_build) FROM "+r.db+
		".signature_first WHERE signature IN ? GROUP BY signature ORDER BY signature", set(signatures))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SignatureFirst
	for rows.Next() {
		var s SignatureFirst
		var build int64
		if err := rows.Scan(&s.Signature, &s.FirstDate, &build); err != nil {
			return nil, err
		}
		if build != noBuild {
			s.FirstBuild = &build
		}
		s.FirstDate = s.FirstDate.UTC()
		out = append(out, s)
	}
	return out, rows.Err()
}

// noBuild is what signature_first stores for "no build id" (see 0002).
const noBuild = int64(9223372036854775807)

// chTime formats t for toDateTime(?) (UTC; the server's zone is not assumed).
func chTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

// scanMaps reads every row into column -> value, with the Go type the
// driver picks for each column.
func scanMaps(rows driver.Rows) ([]map[string]any, error) {
	defer rows.Close()
	types := rows.ColumnTypes()
	var out []map[string]any
	for rows.Next() {
		dst := make([]any, len(types))
		for i, ct := range types {
			dst[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, err
		}
		m := make(map[string]any, len(types))
		for i, ct := range types {
			v := reflect.ValueOf(dst[i]).Elem().Interface()
			if t, ok := v.(time.Time); ok {
				v = t.UTC()
			}
			m[strings.TrimPrefix(ct.Name(), "f_")] = v
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// set binds xs as a parenthesised list for "x IN ?" (a plain slice would
// bind as an array literal, which IN does not take on 18.16). xs must not
// be empty.
func set[T any](xs []T) ch.GroupSet {
	v := make([]any, len(xs))
	for i, x := range xs {
		v[i] = x
	}
	return ch.GroupSet{Value: v}
}

// MaxVersionStrings bounds the versions VersionStrings returns.
const MaxVersionStrings = 100

// VersionStrings lists the distinct versions crash reports gave for a
// product, release channel and build id (Socorro's VersionString model; its
// answers come from the product archive, crashstream's from the crashes
// themselves), sorted.
func (r *Reader) VersionStrings(ctx context.Context, product, channel string, build int64) ([]string, error) {
	rows, err := r.conn.Query(ctx, "SELECT DISTINCT version FROM "+r.db+".crashes WHERE product = ? AND lower(release_channel) = ? "+
		"AND build = ? AND version != '' ORDER BY version LIMIT ?", product, strings.ToLower(channel), build, MaxVersionStrings)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
