// Package api tests the Crash Stats API against the real local stack, with
// crashstream's binary as subprocesses: the access-control matrix of
// protected fields, reprocessing, symbol upload (late symbols fix stacks;
// bad uploads store nothing) and rate limits.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/registry"
	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/services/lib/repotest"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/streams"
	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, stacktest.LeakOptions()...) }

func requireStack(t *testing.T)          { stacktest.RequireStack(t) }
func sharedTestdata(t *testing.T) string { return repotest.SharedTestdata(t) }
func freePort(t *testing.T) string       { return stacktest.FreePort(t) }

func unique(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// env is one isolated install: its own topics, buckets and database.
type env struct {
	t        *testing.T
	id       string
	topics   streams.Topics
	store    *objectstore.Client
	crashes  *objectstore.Bucket
	symbols  *objectstore.Bucket
	tokens   *auth.Store
	serde    *registry.Serde
	database string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	requireStack(t)
	id := unique("api")
	var s3 objectstore.Config
	fs := flag.NewFlagSet("s3", flag.ContinueOnError)
	s3.RegisterFlags(fs) // the defaults are the local stack's
	if ep := os.Getenv("CRASHSTREAM_S3_ENDPOINT"); ep != "" {
		s3.Endpoint = ep // as the subprocesses read it
	}
	s3.Bucket, s3.SymbolsBucket, s3.TelemetryBucket = id, id+"-symbols", id+"-telemetry"
	store, err := objectstore.New(s3)
	require.NoError(t, err)
	t.Cleanup(store.Close)
	static, err := registry.NewStatic()
	require.NoError(t, err)
	serde, err := registry.NewSerde(context.Background(), static)
	require.NoError(t, err)
	e := &env{t: t, id: id, topics: streams.NewTopics(id + "."), store: store, crashes: store.Bucket(id),
		symbols: store.Bucket(id + "-symbols"), serde: serde, database: "cs_" + id}
	ctx := context.Background()
	require.NoError(t, e.crashes.Ensure(ctx))
	require.NoError(t, e.symbols.Ensure(ctx))
	e.tokens = auth.NewStore(auth.BucketBlobs(e.crashes))
	cfg := streams.DefaultConfig()
	cfg.TopicPrefix = id + "."
	require.NoError(t, streams.EnsureTopics(ctx, cfg, e.topics.All()...))
	t.Cleanup(func() {
		conn, err := clickhouse.Open(context.Background(), e.chConfig())
		if err == nil {
			_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+e.database)
			_ = conn.Close()
		}
	})
	return e
}

func (e *env) chConfig() clickhouse.Config {
	addr := "127.0.0.1:19000"
	if a := os.Getenv("CRASHSTREAM_CLICKHOUSE_ADDR"); a != "" {
		addr = a // as the subprocesses read it
	}
	return clickhouse.Config{Addr: addr, Database: e.database, Username: "default",
		DialTimeout: 5 * time.Second, QueryTimeout: time.Minute, MaxOpenConns: 2}
}

// token creates a token and returns its raw key.
func (e *env) token(name string, ttl time.Duration, perms ...string) string {
	key, _, err := e.tokens.Create(context.Background(), name, perms, ttl)
	require.NoError(e.t, err)
	return key
}

// vars point a crashstream process at this env.
func (e *env) vars(extra ...string) []string {
	return append(append(os.Environ(),
		"CRASHSTREAM_KAFKA_TOPIC_PREFIX="+e.id+".",
		"CRASHSTREAM_S3_BUCKET="+e.id,
		"CRASHSTREAM_S3_SYMBOLS_BUCKET="+e.id+"-symbols",
		"CRASHSTREAM_S3_TELEMETRY_BUCKET="+e.id+"-telemetry",
		"CRASHSTREAM_CLICKHOUSE_DATABASE="+e.database,
		"CRASHSTREAM_LOG_FORMAT=json",
		"CRASHSTREAM_LOG_LEVEL=warn",
	), extra...)
}

// start runs `crashstream <args>` against the env and waits until healthy.
func (e *env) start(args []string, extra ...string) *stacktest.Proc {
	return stacktest.Start(e.t, e.vars(extra...), args...)
}

// webapp starts the webapp and returns its base URL.
func (e *env) webapp(extra ...string) string {
	addr := freePort(e.t)
	e.start([]string{"webapp"}, append(extra, "CRASHSTREAM_WEBAPP_ADDR="+addr,
		"CRASHSTREAM_WEBAPP_SECRET_KEY=0123456789abcdef0123456789abcdef")...)
	return "http://" + addr
}

// response is an HTTP answer, read whole.
type response struct {
	code   int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), string(r.body))
}

// call makes one request with an optional Auth-Token.
func call(t *testing.T, method, url, token string, body io.Reader, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Auth-Token", token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{code: resp.StatusCode, header: resp.Header, body: b}
}

// crashID makes a crash id for day (Antenna's layout).
func crashID(day time.Time) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:25] + "0" + day.UTC().Format("060102")
}

// reprocessRequests reads crash.reprocess.v1 until n requests arrived or
// timeout, from the start of the topic.
func (e *env) reprocessRequests(n int, timeout time.Duration) []schemas.ProcessRequest {
	var mu sync.Mutex
	var got []schemas.ProcessRequest
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cfg := streams.DefaultConfig()
	cfg.TopicPrefix = e.id + "."
	c, err := streams.NewConsumer(cfg, streams.ConsumerOptions{
		Options: streams.Options{Logger: zerolog.Nop()}, Group: unique(e.id + ".check"), Topics: []string{e.topics.Reprocess},
	}, streams.HandlerFunc(func(ctx context.Context, m *streams.Message) error {
		var r schemas.ProcessRequest
		if err := e.serde.Unmarshal(ctx, m.Value, &r); err != nil {
			return streams.Permanent(err)
		}
		mu.Lock()
		got = append(got, r)
		if len(got) >= n {
			cancel()
		}
		mu.Unlock()
		return nil
	}))
	require.NoError(e.t, err)
	require.NoError(e.t, c.Run(ctx))
	mu.Lock()
	defer mu.Unlock()
	return got
}
