package clickhouse

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// migrationFS holds the versioned DDL. Files are named NNNN_name.sql, applied
// in version order, and written with {db} where the database goes. A
// migration is never edited once released: a change is a new file.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// Migration is one versioned DDL file.
type Migration struct {
	Version    int
	Name       string
	Statements []string
}

// Migrations returns the embedded migrations in version order, with {db}
// replaced by database. It fails on a malformed file name or a duplicate
// version, which a unit test catches before release.
func Migrations(database string) ([]Migration, error) { return ClusterMigrations(database, "") }

// ClusterMigrations returns the migrations in the form cluster mode runs
// them (see cluster.go); with cluster "" they are Migrations(database).
func ClusterMigrations(database, cluster string) ([]Migration, error) {
	if cluster != "" && !identRE.MatchString(cluster) {
		return nil, fmt.Errorf("cluster %q is not a plain identifier", cluster)
	}
	if !identRE.MatchString(database) {
		return nil, fmt.Errorf("database %q is not a plain identifier", database)
	}
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var out []Migration
	seen := map[int]bool{}
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || !strings.HasSuffix(name, ".sql") {
			return nil, fmt.Errorf("migration file %q: want NNNN_name.sql", name)
		}
		if seen[v] {
			return nil, fmt.Errorf("migration version %d is duplicated", v)
		}
		seen[v] = true
		body, err := migrationFS.ReadFile("migrations/" + name)
		if err != nil {
			return nil, err
		}
		sts := splitStatements(strings.ReplaceAll(string(body), "{db}", database))
		if cluster != "" {
			var cs []string
			for _, st := range sts {
				more, err := clusterStatements(st, cluster)
				if err != nil {
					return nil, fmt.Errorf("migration %s: %w", name, err)
				}
				cs = append(cs, more...)
			}
			sts = cs
		}
		out = append(out, Migration{Version: v, Name: rest, Statements: sts})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// splitStatements drops "--" comment lines and splits on ";" at line ends:
// the native protocol takes one statement per query.
func splitStatements(sql string) []string {
	var b strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	var out []string
	for _, st := range strings.Split(b.String(), ";\n") {
		if st = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(st), ";")); st != "" {
			out = append(out, st)
		}
	}
	return out
}

// Migrate creates the database and applies every migration not yet recorded
// in schema_migrations, returning the versions it applied. It is safe to run
// from several processes at once (the sinks run it at start-up): every
// statement is IF NOT EXISTS, so a migration applied twice is a no-op and a
// duplicate record is harmless (versions are read DISTINCT).
func Migrate(ctx context.Context, conn driver.Conn, database string) ([]int, error) {
	return MigrateCluster(ctx, conn, database, "")
}

// MigrateCluster is Migrate for cluster mode (cluster "" is one node): the
// DDL runs ON CLUSTER in its cluster form, and schema_migrations is one
// table replicated to every node of the cluster, so whichever node a
// process connects to knows what was applied.
func MigrateCluster(ctx context.Context, conn driver.Conn, database, cluster string) ([]int, error) {
	migs, err := ClusterMigrations(database, cluster)
	if err != nil {
		return nil, err
	}
	engine := "MergeTree()"
	if cluster != "" {
		engine = fmt.Sprintf("ReplicatedMergeTree('/clickhouse/tables/all/%s/schema_migrations', '{shard}-{replica}')", database)
	}
	for _, st := range []string{
		"CREATE DATABASE IF NOT EXISTS " + database + onCluster(cluster),
		"CREATE TABLE IF NOT EXISTS " + database + ".schema_migrations" + onCluster(cluster) +
			" (version UInt32, name String, applied_at DateTime DEFAULT now()) ENGINE = " + engine + " ORDER BY version",
	} {
		if err := conn.Exec(ctx, st); err != nil {
			return nil, fmt.Errorf("migrations table: %w", err)
		}
	}
	done, err := AppliedMigrations(ctx, conn, database)
	if err != nil {
		return nil, err
	}
	var applied []int
	for _, m := range migs {
		if done[m.Version] {
			continue
		}
		for i, st := range m.Statements {
			if err := conn.Exec(ctx, st); err != nil && !columnExists(st, err) {
				return applied, fmt.Errorf("migration %04d_%s statement %d: %w", m.Version, m.Name, i+1, err)
			}
		}
		if err := recordMigration(ctx, conn, database, m); err != nil {
			return applied, fmt.Errorf("record migration %d: %w", m.Version, err)
		}
		applied = append(applied, m.Version)
	}
	return applied, nil
}

// AppliedMigrations reads the recorded versions.
func AppliedMigrations(ctx context.Context, conn driver.Conn, database string) (map[int]bool, error) {
	rows, err := conn.Query(ctx, "SELECT DISTINCT version FROM "+database+".schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	defer rows.Close()
	done := map[int]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		done[int(v)] = true
	}
	return done, rows.Err()
}

// recordMigration inserts through a batch: over the native protocol an
// INSERT ... VALUES sent with Exec waits for data blocks that never come.
func recordMigration(ctx context.Context, conn driver.Conn, database string, m Migration) error {
	b, err := conn.PrepareBatch(ctx, "INSERT INTO "+database+".schema_migrations (version, name)")
	if err != nil {
		return err
	}
	if err := b.Append(uint32(m.Version), m.Name); err != nil {
		_ = b.Abort()
		return err
	}
	return b.Send()
}

// addColumnStmtRE matches an ALTER TABLE ... ADD COLUMN statement (single-node
// or cluster form).
var addColumnStmtRE = regexp.MustCompile(`^ALTER TABLE \S+( ON CLUSTER \w+)? ADD COLUMN `)

// columnExists reports whether err is an ADD COLUMN meeting its column:
// ClickHouse 18.16 has no ADD COLUMN IF NOT EXISTS, so a migration
// interrupted after its ALTER and run again treats this as done.
func columnExists(st string, err error) bool {
	return addColumnStmtRE.MatchString(st) && strings.Contains(err.Error(), "already exists")
}
