// Package collector holds the collector's tests against the real stack
// (MinIO and Kafka from `make up`) and its benchmark harness.
package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/registry"
	"github.com/crashstream/crashstream/services/collector"
	"github.com/crashstream/crashstream/services/lib/repotest"
	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/streams"
	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode) // no route dump per collector built
	goleak.VerifyTestMain(m)
}

func needStack(t testing.TB) {
	t.Helper()
	if os.Getenv("CRASHSTREAM_STACK") != "1" {
		t.Skip("needs the real stack: run `make up` and set CRASHSTREAM_STACK=1")
	}
}

func unique(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// s3Config is the local stack's MinIO, or CRASHSTREAM_S3_ENDPOINT.
func s3Config(endpoint string) objectstore.Config {
	cfg := objectstore.Config{Endpoint: "127.0.0.1:9000", AccessKey: "crashstream", SecretKey: "crashstream-secret",
		Region: "us-east-1", Bucket: "crashstream", SymbolsBucket: "crashstream-symbols",
		TelemetryBucket: "crashstream-telemetry", RequestAttempts: 1}
	if e := os.Getenv("CRASHSTREAM_S3_ENDPOINT"); e != "" {
		cfg.Endpoint = e
	}
	if endpoint != "" {
		cfg.Endpoint = endpoint
	}
	return cfg
}

// freshBucket creates a bucket for one test, removed when it passes
// (stacktest.TempBuckets).
func freshBucket(t testing.TB, cfg objectstore.Config) *objectstore.Bucket {
	t.Helper()
	c, err := objectstore.New(cfg)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	b := c.Bucket(unique("test-collector-"))
	stacktest.TempBuckets(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, b.CheckWritable(ctx))
	return b
}

// kafka returns a stack config with a fresh topic prefix, topics created.
func kafka(t testing.TB) streams.Config {
	t.Helper()
	cfg := streams.DefaultConfig()
	if b := os.Getenv("CRASHSTREAM_KAFKA_BROKERS"); b != "" {
		cfg.Brokers = strings.Split(b, ",")
	}
	cfg.TopicPrefix = unique("collector") + "."
	cfg.Partitions = 1
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, streams.EnsureTopics(ctx, cfg, cfg.Topics().Received))
	return cfg
}

func serde(t testing.TB) *registry.Serde {
	t.Helper()
	s, err := registry.NewStaticSerde()
	require.NoError(t, err)
	return s
}

func producer(t testing.TB, cfg streams.Config) *streams.Producer {
	t.Helper()
	p, err := streams.NewProducer(cfg, streams.Options{Logger: zerolog.Nop()})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Close(ctx)
	})
	return p
}

// server runs a collector over store and pub on a real listener.
func server(t testing.TB, store collector.Store, pub collector.Publisher, mut func(*collector.Config)) (*collector.Collector, string) {
	t.Helper()
	cfg := collector.DefaultConfig()
	cfg.SpoolDir = t.TempDir()
	cfg.StoreBackoff = 50 * time.Millisecond
	cfg.StoreTimeout = 5 * time.Second
	if mut != nil {
		mut(&cfg)
	}
	c, err := collector.New(cfg, store, pub, prometheus.NewRegistry(), zerolog.Nop())
	require.NoError(t, err)
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	return c, srv.URL + "/submit"
}

type report struct {
	annotations map[string]string
	dumps       map[string][]byte
}

func (r report) encode() ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	keys := make([]string, 0, len(r.annotations))
	for k := range r.annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		_ = w.WriteField(k, r.annotations[k])
	}
	names := make([]string, 0, len(r.dumps))
	for k := range r.dumps {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, n := range names {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename="%s.dmp"`, n, n))
		h.Set("Content-Type", "application/octet-stream")
		p, _ := w.CreatePart(h)
		_, _ = p.Write(r.dumps[n])
	}
	_ = w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

var crashIDRE = regexp.MustCompile(`^CrashID=bp-([0-9a-f-]{36})\n$`)

// send posts a report; gzipped compresses the whole body.
func send(t testing.TB, client *http.Client, url string, r report, gzipped bool) (*http.Response, string) {
	t.Helper()
	body, ct := r.encode()
	req, err := http.NewRequest(http.MethodPost, url, nil)
	require.NoError(t, err)
	if gzipped {
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		_, _ = w.Write(body)
		_ = w.Close()
		body = z.Bytes()
		req.Header.Set("Content-Encoding", "gzip")
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("User-Agent", "crashstream-stack-test")
	resp, err := client.Do(req)
	require.NoError(t, err)
	text, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(text)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// consume reads every record of topic until want records arrived.
func consume(t *testing.T, cfg streams.Config, topic string, want int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for len(recs) < want {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "waiting for %d records, got %d", want, len(recs))
		fs.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	}
	// Anything more would be a duplicate: poll once more, briefly.
	short, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	cl.PollFetches(short).EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
	return recs
}

// TestStackPlainAndGzipCrash: two dumps, plain and gzip → exact object
// keys and bytes in MinIO, the raw crash JSON, and exactly one
// crash.received.v1 record per crash that decodes.
func TestStackPlainAndGzipCrash(t *testing.T) {
	needStack(t)
	bucket := freshBucket(t, s3Config(""))
	kcfg := kafka(t)
	sd := serde(t)
	topic := kcfg.Topics().Received
	_, url := server(t, bucket, collector.NewKafkaPublisher(producer(t, kcfg), sd, topic), nil)
	client := &http.Client{Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ids := map[string]report{}
	for _, gzipped := range []bool{false, true} {
		r := report{
			annotations: map[string]string{"ProductName": "Firefox", "Version": "147.0", "ReleaseChannel": "nightly", "Email": "someone@example.com"},
			dumps:       map[string][]byte{"upload_file_minidump": randomBytes(400_000), "upload_file_minidump_browser": randomBytes(3 << 20)},
		}
		resp, text := send(t, client, url, r, gzipped)
		require.Equal(t, 200, resp.StatusCode, text)
		m := crashIDRE.FindStringSubmatch(text)
		require.NotNil(t, m, text)
		id := m[1]
		ids[id] = r

		rawKey, err := objectstore.RawCrashKey(id)
		require.NoError(t, err)
		var keys []string
		for o, err := range bucket.List(ctx, "v1/") {
			require.NoError(t, err)
			if strings.HasSuffix(o.Key, id) {
				keys = append(keys, o.Key)
			}
		}
		assert.ElementsMatch(t, []string{"v1/dump/" + id, "v1/upload_file_minidump_browser/" + id, "v1/dump_names/" + id, rawKey}, keys)
		got, err := bucket.GetBytes(ctx, "v1/dump/"+id, 10<<20)
		require.NoError(t, err)
		assert.Equal(t, r.dumps["upload_file_minidump"], got)
		got, err = bucket.GetBytes(ctx, "v1/upload_file_minidump_browser/"+id, 10<<20)
		require.NoError(t, err)
		assert.Equal(t, r.dumps["upload_file_minidump_browser"], got)
		names, err := bucket.GetBytes(ctx, "v1/dump_names/"+id, 1<<20)
		require.NoError(t, err)
		assert.JSONEq(t, `["upload_file_minidump","upload_file_minidump_browser"]`, string(names))

		rawJSON, err := bucket.GetBytes(ctx, rawKey, 1<<20)
		require.NoError(t, err)
		var raw map[string]any
		require.NoError(t, json.Unmarshal(rawJSON, &raw))
		assert.Equal(t, "Firefox", raw["ProductName"])
		assert.Equal(t, id, raw["uuid"])
		assert.EqualValues(t, 2, raw["version"])
		assert.NotContains(t, raw, "Email")
		meta := raw["metadata"].(map[string]any)
		assert.Equal(t, map[bool]string{false: "0", true: "1"}[gzipped], meta["payload_compressed"])
		assert.Equal(t, "multipart", meta["payload"])
		assert.Equal(t, "crashstream-stack-test", meta["user_agent"])
		assert.Equal(t, []any{"Removed Email from raw crash."}, meta["collector_notes"])
		sum := sha256.Sum256(r.dumps["upload_file_minidump"])
		assert.Equal(t, hex.EncodeToString(sum[:]), meta["dump_checksums"].(map[string]any)["upload_file_minidump"])
	}

	recs := consume(t, kcfg, topic, 2)
	require.Len(t, recs, 2, "exactly one record per crash")
	for _, rec := range recs {
		var ev schemas.CrashReceived
		require.NoError(t, sd.Unmarshal(ctx, rec.Value, &ev))
		r, ok := ids[ev.CrashID]
		require.True(t, ok, "record for an unknown crash %s", ev.CrashID)
		assert.Equal(t, ev.CrashID, string(rec.Key))
		assert.Equal(t, "Firefox", ev.Product)
		assert.Equal(t, "147.0", ev.Version)
		assert.Equal(t, "nightly", ev.ReleaseChannel)
		assert.Equal(t, "accept_everything", ev.ThrottleRule)
		rawKey, _ := objectstore.RawCrashKey(ev.CrashID)
		assert.Equal(t, rawKey, ev.RawCrashKey)
		require.Len(t, ev.Dumps, 2)
		for _, d := range ev.Dumps {
			assert.Equal(t, int64(len(r.dumps[d.Name])), d.Size, d.Name)
		}
		delete(ids, ev.CrashID)
	}
}

// minioBinary finds a MinIO server binary for a private instance.
func minioBinary(t testing.TB) string {
	t.Helper()
	cands := []string{os.Getenv("CRASHSTREAM_MINIO_BIN")}
	if home, err := os.UserHomeDir(); err == nil {
		cands = append(cands, filepath.Join(home, "go", "bin", "minio"))
	}
	cands = append(cands, filepath.Join(repotest.Root(t), ".stack", "bin", "minio"))
	if p, err := exec.LookPath("minio"); err == nil {
		cands = append(cands, p)
	}
	for _, c := range cands {
		if c == "" {
			continue
		}
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c
		}
	}
	t.Skip("no minio binary (set CRASHSTREAM_MINIO_BIN)")
	return ""
}

// privateMinIO is a MinIO server this test owns, so it can stop it.
type privateMinIO struct {
	bin, dir, addr string
	cmd            *exec.Cmd
}

func startPrivateMinIO(t *testing.T) *privateMinIO {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	m := &privateMinIO{bin: minioBinary(t), dir: t.TempDir(), addr: addr}
	m.start(t)
	t.Cleanup(func() { m.stop(t) })
	return m
}

func (m *privateMinIO) start(t *testing.T) {
	t.Helper()
	m.cmd = exec.Command(m.bin, "server", m.dir, "--quiet", "--address", m.addr, "--console-address", "127.0.0.1:0")
	m.cmd.Env = append(os.Environ(), "MINIO_ROOT_USER=crashstream", "MINIO_ROOT_PASSWORD=crashstream-secret", "MINIO_BROWSER=off")
	require.NoError(t, m.cmd.Start())
	// Ready means answering S3 requests: the health endpoint turns green
	// a little before the server is initialised.
	c, err := objectstore.New(s3Config(m.addr))
	require.NoError(t, err)
	defer c.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := c.Bucket("probe").Check(ctx)
		cancel()
		if err == nil || errors.Is(err, objectstore.ErrNotFound) {
			return
		}
		require.True(t, time.Now().Before(deadline), "private minio did not start: %v", err)
		time.Sleep(100 * time.Millisecond)
	}
}

func (m *privateMinIO) stop(t *testing.T) {
	t.Helper()
	if m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Kill() // our own child, by pid
	_ = m.cmd.Wait()
	m.cmd = nil
}

// TestStackMinIOStopped: with the object store down the collector answers
// 503 with Retry-After and leaves no raw crash; after a restart the
// client's retry succeeds.
func TestStackMinIOStopped(t *testing.T) {
	needStack(t)
	m := startPrivateMinIO(t)
	cfg := s3Config(m.addr)
	bucket := freshBucket(t, cfg)
	kcfg := kafka(t)
	sd := serde(t)
	_, url := server(t, bucket, collector.NewKafkaPublisher(producer(t, kcfg), sd, kcfg.Topics().Received), func(c *collector.Config) {
		c.StoreTimeout = 2 * time.Second
	})
	client := &http.Client{Timeout: 60 * time.Second}
	defer client.CloseIdleConnections()
	r := report{annotations: map[string]string{"ProductName": "Firefox"}, dumps: map[string][]byte{"upload_file_minidump": randomBytes(100_000)}}

	m.stop(t)
	resp, text := send(t, client, url, r, false)
	assert.Equal(t, 503, resp.StatusCode, text)
	assert.Equal(t, "Discarded=storage_unavailable", text)
	assert.Equal(t, "30", resp.Header.Get("Retry-After"))

	m.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for o, err := range bucket.List(ctx, "v1/raw_crash/") {
		require.NoError(t, err)
		t.Fatalf("a raw crash was left by the failed request: %s", o.Key)
	}
	resp, text = send(t, client, url, r, false)
	require.Equal(t, 200, resp.StatusCode, text)
	id := crashIDRE.FindStringSubmatch(text)[1]
	got, err := bucket.GetBytes(ctx, "v1/dump/"+id, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, r.dumps["upload_file_minidump"], got)
	recs := consume(t, kcfg, kcfg.Topics().Received, 1)
	assert.Len(t, recs, 1, "only the stored crash was announced")
}

// switchSender sends through whichever sender is current, so a test can
// "restart" Kafka for the collector by pointing it at a live broker.
type switchSender struct {
	mu sync.Mutex
	s  streams.Sender
}

func (w *switchSender) Send(ctx context.Context, topic string, key, value []byte, headers ...streams.Header) error {
	w.mu.Lock()
	s := w.s
	w.mu.Unlock()
	return s.Send(ctx, topic, key, value, headers...)
}

func (w *switchSender) set(s streams.Sender) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.s = s
}

// TestStackKafkaDownAfterStorage: the broker is unreachable (a closed
// port), so the crash is stored, the client still gets its CrashID, and the
// background republisher announces it once a broker answers.
func TestStackKafkaDownAfterStorage(t *testing.T) {
	needStack(t)
	bucket := freshBucket(t, s3Config(""))
	live := kafka(t)
	dead := live
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead.Brokers = []string{ln.Addr().String()}
	require.NoError(t, ln.Close()) // nothing listens there now
	sd := serde(t)
	sw := &switchSender{s: producer(t, dead)}
	c, url := server(t, bucket, collector.NewKafkaPublisher(sw, sd, live.Topics().Received), func(c *collector.Config) {
		c.PublishTimeout = time.Second
	})
	client := &http.Client{Timeout: 60 * time.Second}
	defer client.CloseIdleConnections()

	r := report{annotations: map[string]string{"ProductName": "Firefox"}, dumps: map[string][]byte{"upload_file_minidump": randomBytes(50_000)}}
	resp, text := send(t, client, url, r, false)
	require.Equal(t, 200, resp.StatusCode, text)
	id := crashIDRE.FindStringSubmatch(text)[1]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rawKey, _ := objectstore.RawCrashKey(id)
	ok, err := bucket.Exists(ctx, rawKey)
	require.NoError(t, err)
	assert.True(t, ok, "stored although the publish failed: verify-processed can find it")

	sw.set(producer(t, live))
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Run(rctx) }()
	recs := consume(t, live, live.Topics().Received, 1)
	stop()
	require.NoError(t, <-done)
	require.Len(t, recs, 1)
	var ev schemas.CrashReceived
	require.NoError(t, sd.Unmarshal(ctx, recs[0].Value, &ev))
	assert.Equal(t, id, ev.CrashID)
}

// TestStackRefusesToStartWithoutWritableBucket: Antenna's rule, a
// collector that could not store a crash must not accept one. With
// credentials the store refuses, the binary exits non-zero before
// listening, naming the object store.
func TestStackRefusesToStartWithoutWritableBucket(t *testing.T) {
	needStack(t)
	bin := buildBinary(t)
	cfg := s3Config("")
	cmd := exec.Command(bin, "collector", "-collector.addr", freePort(t), "-admin.addr", freePort(t),
		"-s3.endpoint", cfg.Endpoint, "-s3.secret-key", "not-the-secret", "-s3.bucket", unique("test-collector-"))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, string(out))
	assert.Equal(t, 1, exit.ExitCode())
	assert.Contains(t, string(out), "objectstore")
	assert.NotContains(t, string(out), "collector ready")
}
