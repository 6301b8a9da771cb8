// Package smoke checks that the local stack started by `make up` is usable
// with the exact client libraries crashstream uses: franz-go, minio-go v7
// and clickhouse-go v2. If these fail, every other integration test would
// fail for a reason that has nothing to do with crashstream.
package smoke

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// minio-go keeps idle HTTP connections in a shared transport; they are
	// not leaks of the code under test.
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

func requireStack(t *testing.T) {
	t.Helper()
	if os.Getenv("CRASHSTREAM_STACK") != "1" {
		t.Skip("needs the real stack: run `make up` and set CRASHSTREAM_STACK=1 (make test does both)")
	}
}

func unique(prefix string) string { return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()) }

func TestKafkaProduceConsume(t *testing.T) {
	requireStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := unique("smoke")
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:9092"), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.RequiredAcks(kgo.AllISRAcks()))
	require.NoError(t, err)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	_, err = adm.CreateTopic(ctx, 3, 1, nil, topic)
	require.NoError(t, err)
	defer adm.DeleteTopics(context.Background(), topic) //nolint:errcheck // best-effort cleanup

	const n = 100
	for i := 0; i < n; i++ {
		cl.Produce(ctx, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprint(i % 7)), Value: []byte(fmt.Sprint(i))}, func(_ *kgo.Record, err error) {
			assert.NoError(t, err)
		})
	}
	require.NoError(t, cl.Flush(ctx))
	seen := map[string]bool{}
	for len(seen) < n {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "consumed %d of %d records", len(seen), n)
		fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
	}
	assert.Len(t, seen, n)
}

func TestMinIOPutGet(t *testing.T) {
	requireStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := minio.New("127.0.0.1:9000", &minio.Options{Creds: credentials.NewStaticV4("crashstream", "crashstream-secret", "")})
	require.NoError(t, err)
	bucket := unique("smoke")
	require.NoError(t, cl.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}))
	want := bytes.Repeat([]byte("minidump"), 100_000)
	_, err = cl.PutObject(ctx, bucket, "v1/dump/x", bytes.NewReader(want), int64(len(want)), minio.PutObjectOptions{})
	require.NoError(t, err)
	obj, err := cl.GetObject(ctx, bucket, "v1/dump/x", minio.GetObjectOptions{})
	require.NoError(t, err)
	got, err := io.ReadAll(obj)
	require.NoError(t, err)
	obj.Close()
	assert.Equal(t, want, got)
	require.NoError(t, cl.RemoveObject(ctx, bucket, "v1/dump/x", minio.RemoveObjectOptions{}))
	require.NoError(t, cl.RemoveBucket(ctx, bucket))
}

func TestClickHouseCreateInsertSelect(t *testing.T) {
	requireStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{"127.0.0.1:19000"}})
	require.NoError(t, err)
	defer conn.Close()
	table := fmt.Sprintf("default.smoke_%d", time.Now().UnixNano())
	require.NoError(t, conn.Exec(ctx, "CREATE TABLE "+table+" (id String, n UInt32, d Date) ENGINE = MergeTree() PARTITION BY toYYYYMM(d) ORDER BY id"))
	defer conn.Exec(context.Background(), "DROP TABLE IF EXISTS "+table) //nolint:errcheck // best-effort cleanup
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+table+" (id, n, d)")
	require.NoError(t, err)
	for i := 0; i < 1000; i++ {
		require.NoError(t, batch.Append(fmt.Sprint(i), uint32(i), time.Date(2026, 11, 1+i%20, 0, 0, 0, 0, time.UTC)))
	}
	require.NoError(t, batch.Send())
	var count, sum uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(), sum(n) FROM "+table).Scan(&count, &sum))
	assert.Equal(t, uint64(1000), count)
	assert.Equal(t, uint64(999*1000/2), sum)
}
