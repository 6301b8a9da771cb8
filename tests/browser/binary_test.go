package browser

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

// stackFlags are the flags that point the binary at this stack's
// database, buckets and topics.
func (s *stack) stackFlags() []string {
	return []string{"-clickhouse.database=" + s.DB, "-s3.bucket=" + s.Bucket.Name(), "-s3.symbols-bucket=" + s.symbols.Name(),
		"-kafka.topic-prefix=" + s.Kafka.TopicPrefix}
}

// serveBinary runs `crashstream webapp` as a subprocess on this stack
// (extra flags appended) and waits until it answers; it is stopped with SIGTERM at cleanup.
func (s *stack) serveBinary(tb testing.TB, bin string, extra ...string) {
	tb.Helper()
	addr := stacktest.FreePort(tb)
	args := append([]string{"webapp", "-webapp.addr=" + addr, "-admin.addr=" + stacktest.FreePort(tb), "-log.format=json", "-log.level=warn",
		"-webapp.secret-key=browser-test-secret-key-0123456789abcdef", "-webapp.source-url-template=https://source.example/{file}#L{line}"},
		append(s.stackFlags(), extra...)...)
	cmd := exec.Command(bin, args...)
	logs := &stacktest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(tb, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if tb.Failed() {
			tb.Logf("crashstream webapp output:\n%s", logs.String())
		}
	})
	s.URL = "http://" + addr
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case err := <-exited:
			tb.Fatalf("crashstream webapp exited: %v\n%s", err, logs.String())
		default:
		}
		resp, err := http.Get(s.URL + "/__lbheartbeat__")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("crashstream webapp did not start:\n%s", logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// createToken runs `crashstream token create` and returns the raw key.
func (s *stack) createToken(tb testing.TB, bin, name string, perms ...string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := []string{"token", "create", "-name=" + name, "-permissions=" + strings.Join(perms, ","), "-expires=1h",
		"-s3.bucket=" + s.Bucket.Name()}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(tb, cmd.Run(), stderr.String())
	key := strings.TrimSpace(stdout.String())
	require.Len(tb, key, 32, "token key")
	return key
}

// records reads topic from the start until want records arrived, then
// polls briefly once more so that a duplicate would be seen too.
func (s *stack) records(tb testing.TB, topic string, want int) []*kgo.Record {
	tb.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Kafka.Brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	require.NoError(tb, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var recs []*kgo.Record
	for len(recs) < want {
		fs := cl.PollFetches(ctx)
		require.NoError(tb, ctx.Err(), "waiting for %d records of %s, got %d", want, topic, len(recs))
		fs.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	}
	short, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	cl.PollFetches(short).EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	return recs
}
