// Package e2e runs crashstream's binary against the real local stack and
// checks what crosses the service boundaries: HTTP in, objects and Kafka
// records out.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/registry"
	"github.com/crashstream/crashstream/services/lib/repotest"
	"github.com/crashstream/crashstream/streams"
	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, stacktest.LeakOptions()...) }

func requireStack(t *testing.T)          { stacktest.RequireStack(t) }
func sharedTestdata(t *testing.T) string { return repotest.SharedTestdata(t) }
func binary(t *testing.T) string         { return stacktest.Binary(t) }
func freePort(t *testing.T) string       { return stacktest.FreePort(t) }

// env is one isolated pipeline: its own topic prefix and buckets.
type env struct {
	t       *testing.T
	prefix  string
	bucket  string
	symbols string
	topics  streams.Topics
	minio   *minio.Client
	serde   *registry.Serde
}

func newEnv(t *testing.T) *env {
	t.Helper()
	requireStack(t)
	id := fmt.Sprintf("e2e%d", time.Now().UnixNano()%1e12)
	endpoint := "127.0.0.1:9000"
	if ep := os.Getenv("CRASHSTREAM_S3_ENDPOINT"); ep != "" {
		endpoint = ep // as the subprocesses read it
	}
	mc, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4("crashstream", "crashstream-secret", "")})
	require.NoError(t, err)
	serde, err := registry.NewStaticSerde()
	require.NoError(t, err)
	e := &env{t: t, prefix: id + ".", bucket: id, symbols: id + "-symbols", topics: streams.NewTopics(id + "."), minio: mc, serde: serde}
	ctx := context.Background()
	for _, b := range []string{e.bucket, e.symbols} {
		require.NoError(t, mc.MakeBucket(ctx, b, minio.MakeBucketOptions{}))
	}
	t.Cleanup(func() { // a failed test keeps its buckets to look at
		if !t.Failed() {
			for _, b := range []string{e.bucket, e.symbols} {
				_ = mc.RemoveBucketWithOptions(context.Background(), b, minio.RemoveBucketOptions{ForceDelete: true})
			}
		}
	})
	return e
}

// vars are the environment variables that point a crashstream process at
// this env's topics and buckets.
func (e *env) vars(extra ...string) []string {
	return append(append(os.Environ(),
		"CRASHSTREAM_KAFKA_TOPIC_PREFIX="+e.prefix,
		"CRASHSTREAM_S3_BUCKET="+e.bucket,
		"CRASHSTREAM_S3_SYMBOLS_BUCKET="+e.symbols,
		"CRASHSTREAM_LOG_FORMAT=json",
		"CRASHSTREAM_LOG_LEVEL=warn",
		"CRASHSTREAM_SHUTDOWN_TIMEOUT=20s",
	), extra...)
}

// start runs `crashstream <args>` against the env and waits until healthy.
func (e *env) start(args []string, extra ...string) *stacktest.Proc {
	return stacktest.Start(e.t, e.vars(extra...), args...)
}

// withCollector uploads the shared Breakpad symbols (only modules, when
// given) and starts a collector with extra environment; it returns the
// collector's URL and minidump2.dmp, the dump the tests submit.
func (e *env) withCollector(modules []string, extra ...string) (url string, dump []byte) {
	td := sharedTestdata(e.t)
	e.uploadSymbols(filepath.Join(td, "breakpad", "symbols"), modules...)
	addr := freePort(e.t)
	e.start([]string{"collector"}, append(extra, "CRASHSTREAM_COLLECTOR_ADDR="+addr)...)
	dump, err := os.ReadFile(filepath.Join(td, "breakpad", "minidump2.dmp"))
	require.NoError(e.t, err)
	return "http://" + addr, dump
}

// uploadSymbols copies a Breakpad-layout directory into the symbols bucket.
// With modules given, only those top-level directories are copied.
func (e *env) uploadSymbols(dir string, modules ...string) {
	ctx := context.Background()
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if len(modules) > 0 && !slices.Contains(modules, strings.Split(filepath.ToSlash(rel), "/")[0]) {
			return nil
		}
		_, err = e.minio.FPutObject(ctx, e.symbols, filepath.ToSlash(rel), path, minio.PutObjectOptions{})
		return err
	})
	require.NoError(e.t, err)
}

// processed consumes crash.processed.v1 until want crash ids are seen (each
// at least once), and returns the last event per crash id.
func (e *env) processed(want map[string]bool, timeout time.Duration) map[string]*schemas.ProcessedCrash {
	got := map[string]*schemas.ProcessedCrash{}
	cfg := streams.DefaultConfig()
	cfg.TopicPrefix = e.prefix
	stacktest.Consume(e.t, cfg, e.prefix+"checker", e.topics.Processed, timeout, func(m *streams.Message) bool {
		var pc schemas.ProcessedCrash
		if e.serde.Unmarshal(context.Background(), m.Value, &pc) != nil {
			return false
		}
		got[pc.CrashID] = &pc
		for id := range want {
			if got[id] == nil {
				return false
			}
		}
		return true
	})
	return got
}
