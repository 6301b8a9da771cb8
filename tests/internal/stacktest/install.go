package stacktest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/schemas/registry"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/streams"
)

// Install is one isolated crashstream install on the real stack: a topic
// prefix, three buckets and a ClickHouse database, all named after ID, so
// that suites running at once never see each other's data. Processes
// started with Environ use them; the test reaches them through the fields.
type Install struct {
	// ID is the prefix given to NewInstall and a random suffix.
	ID string
	// Kafka is the stack's client configuration with the topic prefix
	// "<ID>."; its topics exist.
	Kafka streams.Config
	// Crashes (<ID>), Symbols (<ID>-symbols) and Telemetry (<ID>-telemetry)
	// are the install's buckets, made by NewInstall.
	Store                       *objectstore.Client
	Crashes, Symbols, Telemetry *objectstore.Bucket
	// Serde encodes and decodes the topics' records (the static registry).
	Serde *registry.Serde
	// Database (cs_<ID>) is made by the first process that migrates it and
	// dropped when the test ends.
	Database string
}

// NewInstall makes an install's topics and buckets; it skips the test
// without the stack. CRASHSTREAM_S3_ENDPOINT and CRASHSTREAM_CLICKHOUSE_ADDR,
// when set, point it (as they point the subprocesses) at another object
// store or ClickHouse.
func NewInstall(t testing.TB, prefix string) *Install {
	t.Helper()
	RequireStack(t)
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	id := prefix + hex.EncodeToString(b)
	var s3 objectstore.Config
	s3.RegisterFlags(flag.NewFlagSet("s3", flag.ContinueOnError)) // the defaults are the local stack's
	if ep := os.Getenv("CRASHSTREAM_S3_ENDPOINT"); ep != "" {
		s3.Endpoint = ep
	}
	s3.Bucket, s3.SymbolsBucket, s3.TelemetryBucket = id, id+"-symbols", id+"-telemetry"
	store, err := objectstore.New(s3)
	require.NoError(t, err)
	t.Cleanup(store.Close)
	serde, err := registry.NewStaticSerde()
	require.NoError(t, err)
	in := &Install{ID: id, Kafka: streams.DefaultConfig(), Store: store, Crashes: store.Bucket(id),
		Symbols: store.Bucket(id + "-symbols"), Telemetry: store.Bucket(id + "-telemetry"), Serde: serde, Database: "cs_" + id}
	in.Kafka.TopicPrefix = id + "."
	ctx := context.Background()
	TempBuckets(t, in.Crashes, in.Symbols, in.Telemetry)
	require.NoError(t, streams.EnsureTopics(ctx, in.Kafka, in.Kafka.Topics().All()...))
	t.Cleanup(func() {
		if conn, err := clickhouse.Open(context.Background(), in.ClickHouse()); err == nil {
			_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+in.Database)
			_ = conn.Close()
		}
	})
	return in
}

// TempBuckets makes buckets for one test and removes them, contents and
// all, when it ends. Buckets left behind keep MinIO's scanner busy on a
// developer's stack (a tenth of a core with a few hundred of them). A
// failed test keeps its buckets to look at, and says so.
func TempBuckets(t testing.TB, buckets ...*objectstore.Bucket) {
	t.Helper()
	for _, b := range buckets {
		require.NoError(t, b.Ensure(context.Background()))
	}
	t.Cleanup(func() {
		for _, b := range buckets {
			if t.Failed() {
				t.Logf("stacktest: kept bucket %s for inspection", b.Name())
				continue
			}
			_ = b.RemoveWithContents(context.Background())
		}
	})
}

// ClickHouse is the client configuration of the install's database.
func (in *Install) ClickHouse() clickhouse.Config {
	addr := "127.0.0.1:19000"
	if a := os.Getenv("CRASHSTREAM_CLICKHOUSE_ADDR"); a != "" {
		addr = a
	}
	return clickhouse.Config{Addr: addr, Database: in.Database, Username: "default",
		DialTimeout: 5 * time.Second, QueryTimeout: time.Minute, MaxOpenConns: 4}
}

// Conn opens the install's ClickHouse, closed when the test ends.
func (in *Install) Conn(t testing.TB) driver.Conn {
	t.Helper()
	conn, err := clickhouse.Open(context.Background(), in.ClickHouse())
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// Writer writes crashes into the install's database as the ClickHouse sink
// does (the materialized views fill the aggregates), with the table of reg
// (fields.New() when nil); one attempt per batch.
func (in *Install) Writer(t testing.TB, reg *fields.Registry) (*clickhouse.Table, *clickhouse.Writer) {
	t.Helper()
	if reg == nil {
		reg = fields.New()
	}
	table, err := clickhouse.NewTable(reg)
	require.NoError(t, err)
	w, err := clickhouse.NewWriter(in.Conn(t), in.Database, table, clickhouse.WriterConfig{MaxAttempts: 1, Backoff: time.Millisecond, MaxBackoff: time.Millisecond})
	require.NoError(t, err)
	return table, w
}

// Environ is the process environment plus the variables that point a
// crashstream process at the install (JSON logs at warn level), then extra.
func (in *Install) Environ(extra ...string) []string {
	return append(append(os.Environ(),
		"CRASHSTREAM_KAFKA_TOPIC_PREFIX="+in.Kafka.TopicPrefix,
		"CRASHSTREAM_S3_BUCKET="+in.ID,
		"CRASHSTREAM_S3_SYMBOLS_BUCKET="+in.ID+"-symbols",
		"CRASHSTREAM_S3_TELEMETRY_BUCKET="+in.ID+"-telemetry",
		"CRASHSTREAM_CLICKHOUSE_DATABASE="+in.Database,
		"CRASHSTREAM_LOG_FORMAT=json",
		"CRASHSTREAM_LOG_LEVEL=warn",
	), extra...)
}

// CrashID makes a fresh crash id for day, in Antenna's layout (the last
// six digits are the day, which the object keys and partitions use).
func CrashID(day time.Time) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:25] + "0" + day.UTC().Format("060102")
}
