package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
	chstore "github.com/crashstream/crashstream/storage/clickhouse"
)

// crashIDOn makes a crash id whose date suffix is day.
func crashIDOn(n int, day time.Time) string {
	return fmt.Sprintf("c0ffee00-0000-4000-8000-%06d%s", n, day.Format("060102"))
}

// putObject stores bytes in the env's crash bucket.
func (e *env) putObject(key string, data []byte) {
	_, err := e.minio.PutObject(context.Background(), e.bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
	require.NoError(e.t, err)
}

func (e *env) exists(key string) bool {
	_, err := e.minio.StatObject(context.Background(), e.bucket, key, minio.StatObjectOptions{})
	return err == nil
}

// storeRawCrash writes a crash the way the collector does, without sending
// crash.received (as if the publish had failed).
func (e *env) storeRawCrash(id string, day time.Time, dump []byte) {
	raw, _ := json.Marshal(map[string]any{"ProductName": "TestApp", "Version": "1.0", "uuid": id,
		"submitted_timestamp": day.Add(12 * time.Hour).Format(time.RFC3339)})
	e.putObject("v1/dump/"+id, dump)
	e.putObject("v1/dump_names/"+id, []byte(`["upload_file_minidump"]`))
	e.putObject("v1/raw_crash/"+day.Format("20060102")+"/"+id, raw)
}

// cron runs `crashstream cron <args>` against the env and returns its output.
func (e *env) cron(database string, args ...string) string {
	cmd := exec.Command(binary(e.t), append([]string{"cron"}, args...)...)
	cmd.Env = e.vars("CRASHSTREAM_CLICKHOUSE_DATABASE="+database, "CRASHSTREAM_ADMIN_ADDR=")
	out, err := cmd.CombinedOutput()
	require.NoError(e.t, err, "crashstream cron %v:\n%s", args, out)
	return string(out)
}

// TestVerifyProcessedHealsAMissingPublish: a crash stored without a
// crash.received record is found by verify-processed, re-queued, processed
// and stored as a processed crash.
func TestVerifyProcessedHealsAMissingPublish(t *testing.T) {
	e := newEnv(t)
	td := sharedTestdata(t)
	e.uploadSymbols(filepath.Join(td, "breakpad", "symbols"))
	dump, err := os.ReadFile(filepath.Join(td, "breakpad", "minidump2.dmp"))
	require.NoError(t, err)
	db := "cron_" + e.bucket
	e.start([]string{"processor"})
	e.start([]string{"sink-objectstore"})

	yesterday := time.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	id := crashIDOn(1, yesterday)
	e.storeRawCrash(id, yesterday, dump)
	require.False(t, e.exists("v1/processed_crash/"+id))

	out := e.cron(db, "run", "verify-processed")
	assert.Contains(t, out, "verify-processed: last success")
	assert.True(t, e.exists("cron/missing-processed/"+id), "recorded for the MissingProcessedCrash API")
	deadline := time.Now().Add(90 * time.Second)
	for !e.exists("v1/processed_crash/"+id) && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
	}
	require.True(t, e.exists("v1/processed_crash/"+id), "verify-processed did not get the crash processed")
	obj, err := e.minio.GetObject(context.Background(), e.bucket, "v1/processed_crash/"+id, minio.GetObjectOptions{})
	require.NoError(t, err)
	b, _ := io.ReadAll(obj)
	obj.Close()
	var pc schemas.ProcessedCrash
	require.NoError(t, json.Unmarshal(b, &pc))
	assert.Equal(t, "(anonymous namespace)::CrashFunction", pc.Signature)
	assert.Contains(t, e.cron(db, "list"), "verify-processed")
}

// TestRetentionDeletesExactlyTheExpired: with 180 days for reports and 30
// for dumps, retention deletes the rows and objects of expired crashes and
// nothing newer; dump retention deletes only dumps.
func TestRetentionDeletesExactlyTheExpired(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	db := "cron_" + e.bucket
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{"127.0.0.1:19000"},
		Settings: clickhouse.Settings{"allow_experimental_low_cardinality_type": 1}})
	require.NoError(t, err)
	defer conn.Close()
	_, err = chstore.Migrate(ctx, conn, db)
	require.NoError(t, err)
	defer conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db) //nolint:errcheck // cleanup

	// The run's period is yesterday; reports older than yesterday-180d expire.
	yesterday := time.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	cutoff := yesterday.Add(-180 * 24 * time.Hour)
	days := map[string]time.Time{
		"expired-on-cutoff": cutoff,
		"expired-older":     cutoff.Add(-15 * 24 * time.Hour),
		"expired-month":     cutoff.Add(-45 * 24 * time.Hour), // a month wholly before the cutoff's
		"kept-after-cutoff": cutoff.Add(24 * time.Hour),
		"dump-expired":      yesterday.Add(-40 * 24 * time.Hour),
		"fresh":             yesterday.Add(-10 * 24 * time.Hour),
	}
	ids := map[string]string{}
	table, err := chstore.NewTable(fields.New())
	require.NoError(t, err)
	w, err := chstore.NewWriter(conn, db, table, chstore.WriterConfig{MaxAttempts: 2, Backoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	require.NoError(t, err)
	var rows []chstore.Row
	n := 0
	for name, day := range days {
		n++
		id := crashIDOn(n, day)
		ids[name] = id
		e.storeRawCrash(id, day, []byte("MDMP not really"))
		e.putObject("v1/processed_crash/"+id, []byte(`{"crash_id":"`+id+`"}`))
		ts := day.Add(12 * time.Hour)
		row, err := table.Row(&schemas.ProcessedCrash{CrashID: id, UUID: id, Product: "TestApp", Version: "1.0",
			Signature: "sig " + name, SubmittedTimestamp: ts, DateProcessed: ts})
		require.NoError(t, err)
		rows = append(rows, row)
	}
	require.NoError(t, w.Write(ctx, rows))

	e.cron(db, "run", "retention", "-force")
	e.cron(db, "run", "retention-dumps", "-force")

	for name, id := range ids {
		raw := "v1/raw_crash/" + days[name].Format("20060102") + "/" + id
		var count uint64
		require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM "+db+".crashes WHERE crash_id = ?", id).Scan(&count))
		switch name {
		case "expired-month":
			// older than the object sweep's lookback (30 days), which
			// only the ClickHouse partitions are not bound to
			assert.Zero(t, count, "%s: ClickHouse row must be gone", name)
		case "expired-on-cutoff", "expired-older":
			assert.False(t, e.exists(raw), "%s: raw crash must be gone", name)
			assert.False(t, e.exists("v1/processed_crash/"+id), "%s: processed crash must be gone", name)
			assert.False(t, e.exists("v1/dump/"+id), "%s: dump must be gone", name)
			assert.Zero(t, count, "%s: ClickHouse row must be gone", name)
		case "dump-expired":
			assert.True(t, e.exists(raw), "%s: the report stays", name)
			assert.False(t, e.exists("v1/dump/"+id), "%s: the dump expired", name)
			assert.Equal(t, uint64(1), count, name)
		default:
			assert.True(t, e.exists(raw), "%s: raw crash must stay", name)
			assert.True(t, e.exists("v1/processed_crash/"+id), "%s", name)
			assert.True(t, e.exists("v1/dump/"+id), "%s: dump must stay", name)
			assert.Equal(t, uint64(1), count, "%s: row must stay", name)
		}
	}
	// the monthly aggregates: every month wholly before the cutoff is gone,
	// the cutoff's month and later stay
	var old, kept uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT countIf(toYYYYMM(day) < toYYYYMM(toDate(?))), countIf(day = toDate(?)) FROM "+db+".attribute_daily",
		cutoff, days["kept-after-cutoff"]).Scan(&old, &kept))
	assert.Zero(t, old, "attribute_daily: the months before the cutoff's are dropped")
	assert.NotZero(t, kept, "attribute_daily: the kept crash's day stays")
}
