package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/storage/clickhouse"
)

func runMigrateCmd(t *testing.T, vars map[string]string, args ...string) (string, string, error) {
	t.Helper()
	return runCommand(migrateCommand(), "", vars, args...)
}

func TestMigrateCommandUsage(t *testing.T) {
	_, stderr, err := runMigrateCmd(t, nil, "-help")
	require.ErrorIs(t, err, flag.ErrHelp)
	assert.Contains(t, stderr, "-clickhouse.addr")
	_, _, err = runMigrateCmd(t, nil, "extra")
	require.ErrorIs(t, err, errUsage)
	_, _, err = runMigrateCmd(t, map[string]string{"CRASHSTREAM_CLICKHOUSE_DATABASE": "x;y"})
	require.ErrorContains(t, err, "-clickhouse.database")
}

func TestMigrateCommandRealStack(t *testing.T) {
	if os.Getenv("CRASHSTREAM_STACK") != "1" {
		t.Skip("needs the real stack: make up, then CRASHSTREAM_STACK=1")
	}
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	db := "cs_cmd_" + hex.EncodeToString(b)
	vars := map[string]string{"CRASHSTREAM_CLICKHOUSE_DATABASE": db, "CRASHSTREAM_CLICKHOUSE_ADDR": os.Getenv("CRASHSTREAM_CLICKHOUSE_ADDR")}
	if vars["CRASHSTREAM_CLICKHOUSE_ADDR"] == "" {
		delete(vars, "CRASHSTREAM_CLICKHOUSE_ADDR")
	}
	migrations, err := clickhouse.Migrations(db)
	require.NoError(t, err)
	versions := make([]int, 0, len(migrations))
	for _, m := range migrations {
		versions = append(versions, m.Version)
	}
	out, _, err := runMigrateCmd(t, vars)
	require.NoError(t, err)
	// Every embedded migration, so that adding one does not break this test.
	assert.Contains(t, out, fmt.Sprintf("applied migrations %v", versions))
	out, _, err = runMigrateCmd(t, vars, "-clickhouse.query-timeout", "10s")
	require.NoError(t, err)
	assert.Contains(t, out, "up to date")
	dropDatabase(t, vars, db)
}
func dropDatabase(t *testing.T, vars map[string]string, db string) {
	t.Helper()
	addr := vars["CRASHSTREAM_CLICKHOUSE_ADDR"]
	if addr == "" {
		addr = "127.0.0.1:19000"
	}
	conn, err := clickhouse.Open(context.Background(), clickhouse.Config{Addr: addr, Database: db, Username: "default",
		DialTimeout: 5 * time.Second, QueryTimeout: 30 * time.Second, MaxOpenConns: 1})
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db))
}
