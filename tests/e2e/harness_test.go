// Package e2e runs crashstream's binary against the real local stack and
// checks what crosses the service boundaries: HTTP in, objects and Kafka
// records out.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/registry"
	"github.com/crashstream/crashstream/streams"
)

func TestMain(m *testing.M) {
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

// repoRoot is the directory holding go.work.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "go.work not found")
		dir = parent
	}
}

func sharedTestdata(t *testing.T) string {
	p := filepath.Join(repoRoot(t), "..", "shared", "testdata")
	if _, err := os.Stat(p); err != nil {
		t.Skip("shared test data not found beside the repository")
	}
	return p
}

var buildOnce struct {
	sync.Once
	bin string
	err error
}

// binary builds bin/crashstream once per test process.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "crashstream-e2e")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.bin = filepath.Join(dir, "crashstream")
		cmd := exec.Command("go", "build", "-o", buildOnce.bin, "./cmd/crashstream")
		cmd.Dir = filepath.Join(repoRoot(t), "services")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, buildOnce.err)
	return buildOnce.bin
}

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
	mc, err := minio.New("127.0.0.1:9000", &minio.Options{Creds: credentials.NewStaticV4("crashstream", "crashstream-secret", "")})
	require.NoError(t, err)
	static, err := registry.NewStatic()
	require.NoError(t, err)
	serde, err := registry.NewSerde(context.Background(), static)
	require.NoError(t, err)
	e := &env{t: t, prefix: id + ".", bucket: id, symbols: id + "-symbols", topics: streams.NewTopics(id + "."), minio: mc, serde: serde}
	ctx := context.Background()
	for _, b := range []string{e.bucket, e.symbols} {
		require.NoError(t, mc.MakeBucket(ctx, b, minio.MakeBucketOptions{}))
	}
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

// proc is a crashstream subprocess.
type proc struct {
	cmd    *exec.Cmd
	stderr *syncWriter
	done   chan error
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// start runs `crashstream <args>` and waits until its admin server answers.
func (e *env) start(args []string, extra ...string) *proc {
	t := e.t
	admin := freePort(t)
	cmd := exec.Command(binary(t), args...)
	cmd.Env = e.vars(append(extra, "CRASHSTREAM_ADMIN_ADDR="+admin)...)
	p := &proc{cmd: cmd, stderr: &syncWriter{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	require.NoError(t, cmd.Start())
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { p.stop(t) })
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%v exited during start-up: %v\n%s", args, err, p.stderr)
		default:
		}
		if resp, err := http.Get("http://" + admin + "/__heartbeat__"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%v not healthy within 60s\n%s", args, p.stderr)
	return nil
}

func (p *proc) stop(t *testing.T) {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// kill sends SIGKILL, as a crash or an OOM kill would.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
	p.done <- nil
}

// syncWriter collects a subprocess's output while the test may read it.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(b)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// submit posts a crash report and returns the crash id.
func submit(t *testing.T, url string, annotations map[string]string, dumps map[string][]byte) string {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for k, v := range annotations {
		require.NoError(t, w.WriteField(k, v))
	}
	for name, b := range dumps {
		fw, err := w.CreateFormFile(name, name+".dmp")
		require.NoError(t, err)
		_, _ = fw.Write(b)
	}
	require.NoError(t, w.Close())
	resp, err := http.Post(url+"/submit", w.FormDataContentType(), &body)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(out))
	s := strings.TrimSpace(string(out))
	require.True(t, strings.HasPrefix(s, "CrashID=bp-"), s)
	return strings.TrimPrefix(s, "CrashID=bp-")
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
	t := e.t
	got := map[string]*schemas.ProcessedCrash{}
	var mu sync.Mutex
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cfg := streams.DefaultConfig()
	cfg.TopicPrefix = e.prefix
	c, err := streams.NewConsumer(cfg, streams.ConsumerOptions{
		Options: streams.Options{Logger: zerolog.Nop()}, Group: e.prefix + "checker", Topics: []string{e.topics.Processed},
	}, streams.HandlerFunc(func(ctx context.Context, m *streams.Message) error {
		var pc schemas.ProcessedCrash
		if err := e.serde.Unmarshal(ctx, m.Value, &pc); err != nil {
			return streams.Permanent(err)
		}
		mu.Lock()
		got[pc.CrashID] = &pc
		all := true
		for id := range want {
			all = all && got[id] != nil
		}
		mu.Unlock()
		if all {
			cancel()
		}
		return nil
	}))
	require.NoError(t, err)
	require.NoError(t, c.Run(ctx))
	mu.Lock()
	defer mu.Unlock()
	return got
}
