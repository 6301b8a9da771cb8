package browser

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/schemas/registry"
	"github.com/crashstream/crashstream/services/cron"
	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/services/lib/repotest"
	"github.com/crashstream/crashstream/services/webapp"
	"github.com/crashstream/crashstream/services/webapp/pages"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/streams"
	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

// requireStack skips unless the real stack is up (make up; CRASHSTREAM_STACK=1).
func requireStack(tb testing.TB) {
	tb.Helper()
	if os.Getenv("CRASHSTREAM_STACK") != "1" {
		tb.Skip("needs the real stack: CRASHSTREAM_STACK=1 (make up)")
	}
}

// stack is one isolated Crash Stats on the real stack: its own ClickHouse
// database, buckets and topic prefix, and the webapp (core + pages) served
// over real TCP.
type stack struct {
	URL    string
	DB     string
	Conn   driver.Conn
	Reader *clickhouse.Reader
	Bucket *objectstore.Bucket
	Tokens *auth.Store
	Kafka  streams.Config
	// Handler is the in-process webapp (nil when the binary serves).
	Handler  http.Handler
	producer *streams.Producer
	symbols  *objectstore.Bucket
	table    *clickhouse.Table
	writer   *clickhouse.Writer
	suffix   string
}

func parse(tb testing.TB, register func(*flag.FlagSet), args ...string) {
	tb.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	register(fs)
	require.NoError(tb, fs.Parse(args))
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newStack creates the isolated resources and serves the webapp in
// process (core and pages as the binary wires them), for the benchmark's
// server-side timings.
func newStack(tb testing.TB) *stack {
	tb.Helper()
	s := newResources(tb)
	s.serveInProcess(tb)
	return s
}

// newResources creates the isolated database, buckets and topics.
func newResources(tb testing.TB) *stack {
	tb.Helper()
	requireStack(tb)
	ctx := context.Background()
	s := &stack{suffix: randHex(4)}

	var chCfg clickhouse.Config
	parse(tb, chCfg.RegisterFlags, "-clickhouse.database=pages_"+s.suffix)
	conn, err := clickhouse.Open(ctx, chCfg)
	require.NoError(tb, err)
	_, err = clickhouse.Migrate(ctx, conn, chCfg.Database)
	require.NoError(tb, err)
	s.DB, s.Conn = chCfg.Database, conn
	tb.Cleanup(func() {
		_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+chCfg.Database)
		_ = conn.Close()
	})
	s.Reader, err = clickhouse.NewReader(conn, chCfg.Database, clickhouse.DedupArgMax)
	require.NoError(tb, err)
	s.table, err = clickhouse.NewTable(fields.New())
	require.NoError(tb, err)
	s.writer, err = clickhouse.NewWriter(conn, chCfg.Database, s.table, clickhouse.WriterConfig{MaxAttempts: 1, Backoff: time.Millisecond, MaxBackoff: time.Millisecond})
	require.NoError(tb, err)

	var s3 objectstore.Config
	parse(tb, s3.RegisterFlags, "-s3.bucket=pages-"+s.suffix, "-s3.symbols-bucket=pages-sym-"+s.suffix)
	if v := os.Getenv("CRASHSTREAM_S3_ENDPOINT"); v != "" { // as a served binary reads it
		s3.Endpoint = v
	}
	oc, err := objectstore.New(s3)
	require.NoError(tb, err)
	tb.Cleanup(oc.Close)
	s.Bucket = oc.Bucket(s3.Bucket)
	symbols := oc.Bucket(s3.SymbolsBucket)
	stacktest.TempBuckets(tb, s.Bucket, symbols)
	s.Tokens = auth.NewStore(auth.BucketBlobs(s.Bucket))

	parse(tb, s.Kafka.RegisterFlags, "-kafka.topic-prefix=pages"+s.suffix+".")
	require.NoError(tb, streams.EnsureTopics(ctx, s.Kafka, s.Kafka.Topics().All()...))
	prod, err := streams.NewProducer(s.Kafka, streams.Options{Logger: zerolog.Nop(), Registerer: prometheus.NewRegistry()})
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = prod.Close(context.Background()) })
	s.producer, s.symbols = prod, symbols
	return s
}

// serveInProcess serves the webapp from this process over real TCP.
func (s *stack) serveInProcess(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	static, err := registry.NewStatic()
	require.NoError(tb, err)
	serde, err := registry.NewSerde(ctx, static)
	require.NoError(tb, err)

	var wc webapp.Config
	parse(tb, wc.RegisterFlags, "-webapp.secret-key=browser-test-secret-key-0123456789abcdef",
		"-webapp.source-url-template=https://source.example/{file}#L{line}",
		// pages and benchmarks issue many searches from one address; the
		// limiter has its own tests in services/webapp
		"-webapp.ratelimit.search-anonymous=100000", "-webapp.ratelimit.pages-anonymous=100000")
	srv, err := webapp.New(wc, webapp.Deps{Reader: s.Reader, Crashes: s.Bucket, Symbols: s.symbols, Tokens: s.Tokens,
		Publisher: s.producer, Serde: serde, Topics: s.Kafka.Topics(), Fields: fields.New(), Schemas: static,
		Registry: prometheus.NewRegistry(), Logger: zerolog.Nop()}, pages.FromServer)
	require.NoError(tb, err)
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(runCtx) }()
	hs := httptest.NewServer(srv.Handler())
	tb.Cleanup(func() { hs.Close(); cancel(); <-done })
	s.URL, s.Handler = hs.URL, srv.Handler()
}

// load stores processed crashes as the sinks do: rows in ClickHouse (the
// materialized views fill the aggregates), the processed JSON and a raw
// crash in the bucket.
func (s *stack) load(tb testing.TB, crashes []*schemas.ProcessedCrash) {
	tb.Helper()
	ctx := context.Background()
	rows := make([]clickhouse.Row, 0, len(crashes))
	for _, c := range crashes {
		r, err := s.table.Row(c)
		require.NoError(tb, err)
		rows = append(rows, r)
		b, err := json.Marshal(c)
		require.NoError(tb, err)
		key, err := objectstore.ProcessedCrashKey(c.CrashID)
		require.NoError(tb, err)
		require.NoError(tb, s.Bucket.PutBytes(ctx, key, b, "application/json"))
		s.putRaw(tb, c.CrashID)
	}
	require.NoError(tb, s.writer.Write(ctx, rows))
}

// putRaw stores a raw crash (what the collector leaves for the processor).
func (s *stack) putRaw(tb testing.TB, id string) {
	tb.Helper()
	key, err := objectstore.RawCrashKey(id)
	require.NoError(tb, err)
	require.NoError(tb, s.Bucket.PutBytes(context.Background(), key, []byte(`{"ProductName":"Firefox","Version":"130.0"}`), "application/json"))
}

// runCron runs the two cron jobs whose reports the pages show.
func (s *stack) runCron(tb testing.TB, day time.Time) {
	tb.Helper()
	ctx := context.Background()
	require.NoError(tb, cron.Versions(s.Bucket, cron.ClickHouseVersions{Conn: s.Conn, Database: s.DB}).Run(ctx, time.Now().UTC()))
	require.NoError(tb, cron.MissingSymbols(s.Bucket, 1000).Run(ctx, day))
}

// newCrashID returns a crash id of day (throttle digit 0) unique per stack.
func (s *stack) newCrashID(n int, day time.Time) string {
	return fmt.Sprintf("%s-%04x-4%03x-8%03x-%05x0%s", s.suffix, n>>24&0xffff, n>>12&0xfff, n&0xfff, n&0xfffff, day.UTC().Format("060102"))
}

// artifactDir is tests/artifacts/browser under the repository root (found
// by walking up to go.work); screenshots are kept there (git-ignored).
func artifactDir(tb testing.TB) string {
	tb.Helper()
	out := filepath.Join(repotest.Root(tb), "tests", "artifacts", "browser")
	require.NoError(tb, os.MkdirAll(out, 0o755))
	return out
}
