// Package sinks tests the three sinks against the real local stack (Kafka,
// MinIO, ClickHouse), through the query library the webapp uses, and holds
// the bulk-load benchmark harness of the ClickHouse layer (bench_test.go).
package sinks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/registry"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/streams"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

func requireStack(t testing.TB) {
	t.Helper()
	if os.Getenv("CRASHSTREAM_STACK") != "1" {
		t.Skip("needs the real stack: run `make up` and set CRASHSTREAM_STACK=1 (make test does both)")
	}
}

func unique(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// chConfig is the stack's ClickHouse; CRASHSTREAM_CLICKHOUSE_ADDR overrides.
func chConfig(db string) clickhouse.Config {
	addr := os.Getenv("CRASHSTREAM_CLICKHOUSE_ADDR")
	if addr == "" {
		addr = "127.0.0.1:19000"
	}
	// CRASHSTREAM_CLICKHOUSE_CLUSTER: the benchmarks on a cluster
	return clickhouse.Config{Addr: addr, Database: db, Username: "default", DialTimeout: 5 * time.Second,
		QueryTimeout: 5 * time.Minute, MaxOpenConns: 4, Cluster: os.Getenv("CRASHSTREAM_CLICKHOUSE_CLUSTER")}
}

// chDB opens ClickHouse, migrates a test-unique database and drops it at
// cleanup.
func chDB(t testing.TB) (driver.Conn, clickhouse.Config) {
	t.Helper()
	cfg := chConfig(unique("cs_sinks_"))
	ctx := context.Background()
	conn, err := clickhouse.Open(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+cfg.Database)
		_ = conn.Close()
	})
	_, err = clickhouse.Migrate(ctx, conn, cfg.Database)
	require.NoError(t, err)
	return conn, cfg
}

// kafkaConfig returns the stack's Kafka with a test-unique topic prefix and
// the topics created.
func kafkaConfig(t testing.TB) streams.Config {
	t.Helper()
	cfg := streams.DefaultConfig()
	cfg.TopicPrefix = unique("t") + "."
	cfg.Retry.Initial = 20 * time.Millisecond
	cfg.Retry.Max = 200 * time.Millisecond
	require.NoError(t, streams.EnsureTopics(context.Background(), cfg, cfg.Topics().All()...))
	return cfg
}

// runStage runs one sink's stage until ctx ends, as the crashstream
// binary's runner does.
func runStage(ctx context.Context, kcfg streams.Config, st streams.Stage) error {
	r, err := streams.NewRunner(kcfg, streams.Options{Logger: zerolog.Nop()}, st)
	if err != nil {
		return err
	}
	return r.Run(ctx)
}

func serde(t testing.TB) *registry.Serde {
	t.Helper()
	s, err := registry.NewStaticSerde()
	require.NoError(t, err)
	return s
}

func ptr[T any](v T) *T { return &v }

// newCrash returns processed crash n submitted on day, with a signature
// and the protected fields a telemetry export must drop.
func newCrash(n int, day time.Time, processed time.Time, sig string) *schemas.ProcessedCrash {
	id := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%05x0%s", n, n%0xffff, n%0xfff, n%0xfff, n%0xfffff, day.UTC().Format("060102"))
	return &schemas.ProcessedCrash{
		CrashID: id, UUID: id, SubmittedTimestamp: day.Add(time.Duration(n%3600) * time.Second), DateProcessed: processed,
		Product: "Firefox", Version: "130.0", ReleaseChannel: "release", Build: ptr(int64(20261101000000)),
		ProcessType: "parent", OSName: []string{"Windows NT", "Linux", "Mac OS X"}[n%3], Signature: sig,
		Uptime: ptr(int64(n % 300)), StartupCrash: ptr(n%5 == 0), InstallTime: ptr(int64(1700000000 + n%50)),
		UserComments: "PROTECTED-COMMENT", URL: "https://protected.example/", ModulesInStack: []string{"xul.dll/ABC"},
	}
}

// produce sends crashes to crash.processed.v1, keyed by crash id.
func produce(t testing.TB, cfg streams.Config, s *registry.Serde, crashes []*schemas.ProcessedCrash) {
	t.Helper()
	p, err := streams.NewProducer(cfg, streams.Options{Logger: zerolog.Nop()})
	require.NoError(t, err)
	defer func() { _ = p.Close(context.Background()) }()
	var wg sync.WaitGroup
	errs := make(chan error, len(crashes))
	for _, c := range crashes {
		v, err := s.Marshal(c)
		require.NoError(t, err)
		wg.Add(1)
		p.SendAsync(context.Background(), cfg.Topics().Processed, []byte(c.CrashID), v, func(err error) {
			if err != nil {
				errs <- err
			}
			wg.Done()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// eventually polls cond until it holds or the bound passes; the bound is
// generous (shared 2-core machine) and only turns a hang into a failure.
func eventually(t testing.TB, bound time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(bound)
	var last string
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not reached within %s (last: %s)", what, bound, last)
}

var buildOnce struct {
	sync.Once
	bin string
	err error
}

// binary builds the crashstream binary once per test process.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		// one fixed directory, overwritten by each run, so runs leave no litter
		dir := filepath.Join(os.TempDir(), "crashstream-sinks-test")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.bin = filepath.Join(dir, "crashstream")
		out, err := exec.Command("go", "build", "-o", buildOnce.bin, "github.com/crashstream/crashstream/services/cmd/crashstream").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildOnce.err)
	return buildOnce.bin
}
