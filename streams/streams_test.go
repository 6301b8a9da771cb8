package streams

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitFor is a failsafe for conditions that become true quickly; the bound
// only stops a broken test from hanging, it asserts no speed.
const waitFor = 60 * time.Second

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{"defaults", func(*Config) {}, ""},
		{"no brokers", func(c *Config) { c.Brokers = nil }, "kafka.brokers"},
		{"bad broker", func(c *Config) { c.Brokers = []string{"localhost"} }, "kafka.brokers"},
		{"bad prefix", func(c *Config) { c.TopicPrefix = "a b" }, "kafka.topic-prefix"},
		{"partitions", func(c *Config) { c.Partitions = 0 }, "kafka.partitions"},
		{"replication", func(c *Config) { c.ReplicationFactor = 0 }, "kafka.replication-factor"},
		{"retention", func(c *Config) { c.Retention = time.Second }, "kafka.retention"},
		{"max message", func(c *Config) { c.MaxMessageBytes = 10 }, "kafka.max-message-bytes"},
		{"compression", func(c *Config) { c.Compression = "brotli" }, "kafka.compression"},
		{"linger", func(c *Config) { c.Linger = -1 }, "kafka.producer.linger"},
		{"concurrency", func(c *Config) { c.Concurrency = 0 }, "kafka.consumer.concurrency"},
		{"poll", func(c *Config) { c.MaxPollRecords = 0 }, "kafka.consumer.max-poll-records"},
		{"fetch min bytes", func(c *Config) { c.FetchMinBytes = 0 }, "kafka.consumer.fetch-min-bytes"},
		{"fetch min bytes over a message", func(c *Config) { c.FetchMinBytes = c.MaxMessageBytes + 1 }, "kafka.consumer.fetch-min-bytes"},
		{"fetch max wait", func(c *Config) { c.FetchMaxWait = 0 }, "kafka.consumer.fetch-max-wait"},
		{"backoff", func(c *Config) { c.Retry.Max = c.Retry.Initial / 2 }, "kafka.retry.backoff"},
		{"attempts", func(c *Config) { c.Retry.MaxAttempts = -1 }, "kafka.retry.max-attempts"},
		{"drain", func(c *Config) { c.DrainTimeout = 0 }, "kafka.consumer.drain-timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mod(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tt.wantErr)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c.RegisterFlags(fs)
	assert.Equal(t, []string{"127.0.0.1:9092"}, c.Brokers)
	require.NoError(t, fs.Parse([]string{"-kafka.brokers", "a:1, b:2", "-kafka.topic-prefix", "t1.", "-kafka.retry.max-attempts", "5"}))
	assert.Equal(t, []string{"a:1", "b:2"}, c.Brokers)
	assert.Equal(t, "a:1,b:2", fs.Lookup("kafka.brokers").Value.String())
	assert.Equal(t, 5, c.Retry.MaxAttempts)
	assert.Equal(t, "t1.crash.processed.v1", c.Topics().Processed)
	assert.Equal(t, []string{"t1.crash.received.v1", "t1.crash.priority.v1", "t1.crash.reprocess.v1",
		"t1.crash.processed.v1", "t1.crash.telemetry.v1", "t1.crash.dlq.v1"}, c.Topics().All())
}

func TestPermanent(t *testing.T) {
	base := errors.New("bad input")
	assert.Nil(t, Permanent(nil))
	p := Permanent(base)
	assert.True(t, IsPermanent(p))
	assert.True(t, IsPermanent(fmt.Errorf("wrapped: %w", p)))
	assert.ErrorIs(t, p, base)
	assert.False(t, IsPermanent(base))
	assert.Nil(t, Reject(nil))
	assert.Contains(t, Reject(map[int]error{1: base}).Error(), "1 records")
}

func TestLoggerAdapter(t *testing.T) {
	var buf bytes.Buffer
	tests := []struct {
		level zerolog.Level
		want  kgo.LogLevel
	}{
		{zerolog.DebugLevel, kgo.LogLevelInfo},
		{zerolog.InfoLevel, kgo.LogLevelWarn},
		{zerolog.WarnLevel, kgo.LogLevelWarn},
		{zerolog.ErrorLevel, kgo.LogLevelError},
		{zerolog.Disabled, kgo.LogLevelNone},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, newKgoLogger(zerolog.New(&buf).Level(tt.level)).Level(), tt.level.String())
	}
	l := newKgoLogger(zerolog.New(&buf).Level(zerolog.DebugLevel))
	l.Log(kgo.LogLevelWarn, "broker gone", "broker", 1, 7, "odd key")
	assert.Contains(t, buf.String(), `"level":"warn"`)
	assert.Contains(t, buf.String(), `"broker":1`)
	assert.Contains(t, buf.String(), `"component":"kafka"`)
	assert.Contains(t, buf.String(), `"message":"broker gone"`)
}

// fakeKafka starts an in-process cluster and returns a config for it with
// a test-unique topic prefix and fast polling.
func fakeKafka(t *testing.T, opts ...kfake.Opt) (*kfake.Cluster, Config) {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	cfg := DefaultConfig()
	cfg.Brokers = c.ListenAddrs()
	cfg.TopicPrefix = "t" + strconv.FormatInt(time.Now().UnixNano(), 36) + "."
	cfg.Retry.Initial = 5 * time.Millisecond
	cfg.Retry.Max = 20 * time.Millisecond
	cfg.Linger = 0
	require.NoError(t, EnsureTopics(context.Background(), cfg, cfg.Topics().All()...))
	return c, cfg
}

func fast() Options {
	return Options{Logger: zerolog.Nop()}.WithKgoOptions(kgo.FetchMaxWait(100*time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }))
}

func TestEnsureTopicsIdempotent(t *testing.T) {
	_, cfg := fakeKafka(t)
	ctx := context.Background()
	require.NoError(t, EnsureTopics(ctx, cfg, cfg.Topics().All()...), "second run must succeed")
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...))
	require.NoError(t, err)
	defer cl.Close()
	td, err := kadm.NewClient(cl).ListTopics(ctx, cfg.Topics().All()...)
	require.NoError(t, err)
	for _, name := range cfg.Topics().All() {
		require.Contains(t, td, name)
		assert.Len(t, td[name].Partitions, cfg.Partitions, name)
	}
	off := cfg
	off.CreateTopics = false
	assert.NoError(t, EnsureTopics(ctx, off, "never-created"))
}

// produce writes n records keyed k0..k(n-1) spread over the partitions.
func produce(t *testing.T, cfg Config, topic string, n int) {
	t.Helper()
	p, err := NewProducer(cfg, fast())
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Close(context.Background())) }()
	var failed atomic.Int64
	for i := range n {
		p.SendAsync(context.Background(), topic, []byte("k"+strconv.Itoa(i)), []byte(strconv.Itoa(i)), func(err error) {
			if err != nil {
				failed.Add(1)
			}
		})
	}
	require.NoError(t, p.Flush(context.Background()))
	require.Zero(t, failed.Load())
}

func TestProducer(t *testing.T) {
	_, cfg := fakeKafka(t)
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	p, err := NewProducer(cfg, Options{Logger: zerolog.Nop(), Registerer: reg})
	require.NoError(t, err)
	require.NoError(t, p.Ping(ctx))
	require.NoError(t, p.Send(ctx, cfg.Topics().Received, []byte("id1"), []byte("v1"), Header{Key: "h", Value: []byte("x")}))
	done := make(chan error, 1)
	p.SendAsync(ctx, cfg.Topics().Received, []byte("id2"), []byte("v2"), func(err error) { done <- err })
	require.NoError(t, p.Flush(ctx))
	require.NoError(t, <-done)
	require.NoError(t, p.Close(ctx))
	assert.Equal(t, 2.0, testutil.ToFloat64(p.metrics.records.WithLabelValues(cfg.Topics().Received, "ok")))
	assert.Equal(t, 4.0, testutil.ToFloat64(p.metrics.bytes.WithLabelValues(cfg.Topics().Received)))

	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...), kgo.ConsumeTopics(cfg.Topics().Received),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	var got []*kgo.Record
	for len(got) < 2 {
		fctx, cancel := context.WithTimeout(ctx, waitFor)
		fs := cl.PollFetches(fctx)
		cancel()
		require.NoError(t, fs.Err0())
		got = append(got, fs.Records()...)
	}
	byKey := map[string]*kgo.Record{}
	for _, r := range got {
		byKey[string(r.Key)] = r
	}
	assert.Equal(t, "v1", string(byKey["id1"].Value))
	assert.Equal(t, []kgo.RecordHeader{{Key: "h", Value: []byte("x")}}, byKey["id1"].Headers)
}

func TestProducerSendError(t *testing.T) {
	c, cfg := fakeKafka(t)
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		pr := req.(*kmsg.ProduceRequest)
		resp := pr.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range pr.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.InvalidRecord.Code // not retriable
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	p, err := NewProducer(cfg, fast())
	require.NoError(t, err)
	defer func() { _ = p.Close(context.Background()) }()
	err = p.Send(context.Background(), cfg.Topics().Received, []byte("k"), []byte("v"))
	assert.ErrorIs(t, err, kerr.InvalidRecord)
	assert.Equal(t, 1.0, testutil.ToFloat64(p.metrics.records.WithLabelValues(cfg.Topics().Received, "error")))
	assert.NoError(t, p.Send(context.Background(), cfg.Topics().Received, []byte("k"), []byte("v")), "one fault only")
}

// recorder is a handler that remembers what it saw, per partition, and can
// fail chosen values.
type recorder struct {
	mu       sync.Mutex
	seen     map[int32][]int64 // partition -> offsets in handling order
	values   map[string]int    // value -> times handled
	failures map[string]int    // value -> transient failures left
	poison   map[string]bool   // value -> permanent failure
	panics   map[string]bool
	want     int
	all      chan struct{}
}

func newRecorder(want int) *recorder {
	return &recorder{seen: map[int32][]int64{}, values: map[string]int{}, failures: map[string]int{},
		poison: map[string]bool{}, panics: map[string]bool{}, want: want, all: make(chan struct{})}
}

func (r *recorder) Handle(_ context.Context, m *Message) error {
	v := string(m.Value)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.panics[v] {
		panic("boom on " + v)
	}
	if r.poison[v] {
		return Permanent(errors.New("poison " + v))
	}
	if r.failures[v] > 0 {
		r.failures[v]--
		return errors.New("transient on " + v)
	}
	r.seen[m.Partition] = append(r.seen[m.Partition], m.Offset)
	r.values[v]++
	if len(r.values) == r.want {
		close(r.all)
		r.want = -1
	}
	return nil
}

func (r *recorder) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.all:
	case <-time.After(waitFor):
		t.Fatal("records not all handled")
	}
}

// runConsumer runs c until stop is called; stop waits for Run to return.
func runConsumer(t *testing.T, c *Consumer) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	return func() {
		cancel()
		require.NoError(t, <-done)
	}
}

func committed(t *testing.T, cfg Config, group, topic string) (committed, end map[int32]int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...))
	require.NoError(t, err)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	offs, err := adm.FetchOffsets(ctx, group)
	require.NoError(t, err)
	ends, err := adm.ListEndOffsets(ctx, topic)
	require.NoError(t, err)
	committed, end = map[int32]int64{}, map[int32]int64{}
	offs.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic {
			committed[o.Partition] = o.At
		}
	})
	ends.Each(func(o kadm.ListedOffset) { end[o.Partition] = o.Offset })
	return committed, end
}

func TestConsumerOrderCommitAndMetrics(t *testing.T) {
	_, cfg := fakeKafka(t)
	topic := cfg.Topics().Received
	const n = 300
	produce(t, cfg, topic, n)
	rec := newRecorder(n)
	rec.failures["7"] = 3 // transient: retried in place
	reg := prometheus.NewRegistry()
	o := fast()
	o.Registerer = reg
	c, err := NewConsumer(cfg, ConsumerOptions{Options: o, Group: "g-order", Topics: []string{topic}}, rec)
	require.NoError(t, err)
	stop := runConsumer(t, c)
	rec.wait(t)
	stop()

	for p, offs := range rec.seen {
		for i := 1; i < len(offs); i++ {
			require.Less(t, offs[i-1], offs[i], "partition %d out of order", p)
		}
	}
	for v, times := range rec.values {
		assert.Equal(t, 1, times, "value %s handled more than once without a failure", v)
	}
	got, end := committed(t, cfg, "g-order", topic)
	assert.Equal(t, end, got, "everything handled is committed at shutdown")
	assert.Equal(t, float64(n), testutil.ToFloat64(c.metrics.records.WithLabelValues("g-order", topic, "ok")))
	assert.Equal(t, 3.0, testutil.ToFloat64(c.metrics.retries.WithLabelValues("g-order", topic)))
	families, err := reg.Gather()
	require.NoError(t, err)
	names := map[string]bool{}
	for _, f := range families {
		names[f.GetName()] = true
	}
	assert.True(t, names["crashstream_kafka_consumer_records_total"])
	assert.True(t, names["crashstream_kafka_consumer_handle_seconds"])
}

// dlqRecords reads the DLQ topic until n records arrived.
func dlqRecords(t *testing.T, cfg Config, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...), kgo.ConsumeTopics(cfg.Topics().DLQ),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer cl.Close()
	var out []*kgo.Record
	for len(out) < n {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		fs := cl.PollFetches(ctx)
		cancel()
		require.NoError(t, fs.Err0())
		out = append(out, fs.Records()...)
	}
	return out
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func TestConsumerDeadLetters(t *testing.T) {
	tests := []struct {
		name        string
		setup       func(*recorder, *Config)
		errContains string
	}{
		{"permanent", func(r *recorder, _ *Config) { r.poison["5"] = true }, "poison 5"},
		{"panic", func(r *recorder, _ *Config) { r.panics["5"] = true }, "handler panic: boom on 5"},
		{"attempts exhausted", func(r *recorder, c *Config) { r.failures["5"] = 1000; c.Retry.MaxAttempts = 3 }, "transient on 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, cfg := fakeKafka(t)
			topic := cfg.Topics().Received
			const n = 30
			rec := newRecorder(n - 1) // all but the bad one
			tt.setup(rec, &cfg)
			produce(t, cfg, topic, n)
			c, err := NewConsumer(cfg, ConsumerOptions{Options: fast(), Group: "g-dlq", Topics: []string{topic}}, rec)
			require.NoError(t, err)
			stop := runConsumer(t, c)
			rec.wait(t) // the partition moved on past the bad record
			stop()

			dl := dlqRecords(t, cfg, 1)
			require.Len(t, dl, 1)
			d := dl[0]
			assert.Equal(t, "k5", string(d.Key))
			assert.Equal(t, "5", string(d.Value))
			assert.Equal(t, topic, header(d, HeaderDLQTopic))
			assert.Equal(t, "g-dlq", header(d, HeaderDLQGroup))
			assert.Contains(t, header(d, HeaderDLQError), tt.errContains)
			p, err := strconv.Atoi(header(d, HeaderDLQPartition))
			require.NoError(t, err)
			off, err := strconv.ParseInt(header(d, HeaderDLQOffset), 10, 64)
			require.NoError(t, err)
			assert.NotContains(t, rec.seen[int32(p)], off)
			got, end := committed(t, cfg, "g-dlq", topic)
			assert.Equal(t, end, got)
			assert.Equal(t, 1.0, testutil.ToFloat64(c.metrics.records.WithLabelValues("g-dlq", topic, "dead_letter")))
		})
	}
}

// TestDeadLetterProduceFaultIsRetried injects a failure of the first DLQ
// produce: the record must still reach the DLQ, and only then be committed.
func TestDeadLetterProduceFaultIsRetried(t *testing.T) {
	c, cfg := fakeKafka(t)
	topic := cfg.Topics().Received
	produce(t, cfg, topic, 10)
	dlqID := topicID(t, cfg, cfg.Topics().DLQ)
	var injected atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		pr := req.(*kmsg.ProduceRequest)
		if len(pr.Topics) != 1 || (pr.Topics[0].Topic != cfg.Topics().DLQ && pr.Topics[0].TopicID != dlqID) {
			c.KeepControl()
			return nil, nil, false
		}
		injected.Add(1)
		resp := pr.ResponseKind().(*kmsg.ProduceResponse)
		st := kmsg.NewProduceResponseTopic()
		st.Topic, st.TopicID = pr.Topics[0].Topic, pr.Topics[0].TopicID
		for _, rp := range pr.Topics[0].Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.ErrorCode = kerr.InvalidRecord.Code
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
		return resp, nil, true
	})
	rec := newRecorder(9)
	rec.poison["3"] = true
	cons, err := NewConsumer(cfg, ConsumerOptions{Options: fast(), Group: "g-dlqfault", Topics: []string{topic}}, rec)
	require.NoError(t, err)
	stop := runConsumer(t, cons)
	rec.wait(t)
	dl := dlqRecords(t, cfg, 1)
	stop()
	assert.Equal(t, "3", string(dl[0].Value))
	assert.Equal(t, int32(1), injected.Load())
	assert.Equal(t, 1.0, testutil.ToFloat64(cons.metrics.errors.WithLabelValues("g-dlqfault", "dead_letter_produce")))
}

// topicID returns a topic's id: recent Produce versions name topics by id.
func topicID(t *testing.T, cfg Config, topic string) [16]byte {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cfg.Brokers...))
	require.NoError(t, err)
	defer cl.Close()
	td, err := kadm.NewClient(cl).ListTopics(context.Background(), topic)
	require.NoError(t, err)
	return td[topic].ID
}

func TestBatchConsumerReject(t *testing.T) {
	_, cfg := fakeKafka(t)
	topic := cfg.Topics().Processed
	const n = 50
	produce(t, cfg, topic, n)
	var mu sync.Mutex
	done := map[string]bool{}
	all := make(chan struct{})
	var failOnce atomic.Bool
	h := BatchHandlerFunc(func(_ context.Context, batch []*Message) error {
		if failOnce.CompareAndSwap(false, true) {
			return errors.New("sink down") // whole batch retried
		}
		rej := map[int]error{}
		mu.Lock()
		defer mu.Unlock()
		for i, m := range batch {
			if string(m.Value) == "13" {
				rej[i] = errors.New("unparseable row")
				continue
			}
			done[string(m.Value)] = true
		}
		if len(done) == n-1 {
			close(all)
		}
		return Reject(rej)
	})
	c, err := NewBatchConsumer(cfg, ConsumerOptions{Options: fast(), Group: "g-batch", Topics: []string{topic}}, h)
	require.NoError(t, err)
	stop := runConsumer(t, c)
	select {
	case <-all:
	case <-time.After(waitFor):
		t.Fatal("batches not handled")
	}
	stop()
	dl := dlqRecords(t, cfg, 1)
	assert.Equal(t, "13", string(dl[0].Value))
	assert.Equal(t, "unparseable row", header(dl[0], HeaderDLQError))
	got, end := committed(t, cfg, "g-batch", topic)
	assert.Equal(t, end, got)
}

func TestConsumerBoundedConcurrency(t *testing.T) {
	_, cfg := fakeKafka(t)
	cfg.Partitions = 6
	cfg.TopicPrefix += "wide."
	require.NoError(t, EnsureTopics(context.Background(), cfg, cfg.Topics().Received))
	cfg.Concurrency = 2
	topic := cfg.Topics().Received
	const n = 120
	produce(t, cfg, topic, n)
	var inflight, peak atomic.Int32
	var handled atomic.Int32
	all := make(chan struct{})
	h := HandlerFunc(func(context.Context, *Message) error {
		cur := inflight.Add(1)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		time.Sleep(time.Millisecond) // widen the window in which overlap could show
		inflight.Add(-1)
		if handled.Add(1) == n {
			close(all)
		}
		return nil
	})
	c, err := NewConsumer(cfg, ConsumerOptions{Options: fast(), Group: "g-conc", Topics: []string{topic}}, h)
	require.NoError(t, err)
	stop := runConsumer(t, c)
	select {
	case <-all:
	case <-time.After(waitFor):
		t.Fatal("not all handled")
	}
	stop()
	assert.LessOrEqual(t, peak.Load(), int32(2))
	assert.GreaterOrEqual(t, peak.Load(), int32(1))
}

// TestRestartLosesNothing stops a consumer while one record keeps failing
// transiently: nothing after it in its partition may be committed, and a
// new member of the group must get (and handle) it.
func TestRestartLosesNothing(t *testing.T) {
	_, cfg := fakeKafka(t)
	topic := cfg.Topics().Received
	const n = 60
	produce(t, cfg, topic, n)

	first := newRecorder(n - 1)
	first.failures["20"] = 1 << 30 // stuck until shutdown
	c1, err := NewConsumer(cfg, ConsumerOptions{Options: fast(), Group: "g-restart", Topics: []string{topic}}, first)
	require.NoError(t, err)
	stop := runConsumer(t, c1)
	// Wait until the stuck record has been tried, then kill the consumer.
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(c1.metrics.retries.WithLabelValues("g-restart", topic)) > 0
	}, waitFor, 5*time.Millisecond)
	stop()
	first.mu.Lock()
	assert.NotContains(t, first.values, "20")
	handledFirst := len(first.values)
	first.mu.Unlock()
	assert.Less(t, handledFirst, n)

	second := newRecorder(n - handledFirst)
	c2, err := NewConsumer(cfg, ConsumerOptions{Options: fast(), Group: "g-restart", Topics: []string{topic}}, second)
	require.NoError(t, err)
	stop2 := runConsumer(t, c2)
	second.wait(t)
	stop2()
	union := map[string]bool{}
	for v := range first.values {
		union[v] = true
	}
	for v := range second.values {
		union[v] = true
	}
	assert.Len(t, union, n, "every record handled by one member or the other")
	assert.Contains(t, second.values, "20")
}

func TestConsumerNeedsGroupAndTopics(t *testing.T) {
	cfg := DefaultConfig()
	_, err := NewConsumer(cfg, ConsumerOptions{Topics: []string{"x"}}, HandlerFunc(nil))
	assert.Error(t, err)
	_, err = NewBatchConsumer(cfg, ConsumerOptions{Group: "g"}, BatchHandlerFunc(nil))
	assert.Error(t, err)
	bad := cfg
	bad.Brokers = nil
	_, err = NewConsumer(bad, ConsumerOptions{Group: "g", Topics: []string{"x"}}, HandlerFunc(nil))
	assert.ErrorContains(t, err, "kafka.brokers")
	c, err := NewConsumer(cfg, ConsumerOptions{Options: fast(), Group: "g", Topics: []string{"x"}}, HandlerFunc(nil))
	require.NoError(t, err)
	c.Close()
	c.Close()
}

func TestMessageHeader(t *testing.T) {
	m := fromKgo(&kgo.Record{Topic: "t", Headers: []kgo.RecordHeader{{Key: "a", Value: []byte("1")}}})
	v, ok := m.Header("a")
	assert.True(t, ok)
	assert.Equal(t, "1", string(v))
	_, ok = m.Header("b")
	assert.False(t, ok)
}

// TestRevocationWaitsForInFlight holds a handler call of member A while
// member B joins: A's revocation must wait for it and commit it, so B never
// handles that record again, and no record is handled twice.
func TestRevocationWaitsForInFlight(t *testing.T) {
	_, cfg := fakeKafka(t)
	topic, group := cfg.Topics().Received, "g-revoke"
	const n = 90
	produce(t, cfg, topic, n)
	var mu sync.Mutex
	counts := map[string]int{}
	all := make(chan struct{})
	count := func(v string) {
		mu.Lock()
		defer mu.Unlock()
		counts[v]++
		if len(counts) == n {
			close(all)
		}
	}
	// A holds the first record of every partition, so whichever partition
	// the rebalance moves to B has a call in flight.
	inflight, release := make(chan string, cfg.Partitions), make(chan struct{})
	var heldMu sync.Mutex
	heldParts := map[int32]bool{}
	a, err := NewConsumer(cfg, ConsumerOptions{Options: fast(), Group: group, Topics: []string{topic}},
		HandlerFunc(func(_ context.Context, m *Message) error {
			heldMu.Lock()
			first := !heldParts[m.Partition]
			heldParts[m.Partition] = true
			heldMu.Unlock()
			if first {
				inflight <- string(m.Value)
				<-release
			}
			count(string(m.Value))
			return nil
		}))
	require.NoError(t, err)
	revoking := make(chan struct{})
	var once sync.Once
	a.revokeStarted = func(m map[string][]int32) {
		if len(m) > 0 {
			once.Do(func() { close(revoking) })
		}
	}
	stopA := runConsumer(t, a)
	var heldValues []string
	for range cfg.Partitions {
		heldValues = append(heldValues, <-inflight)
	}

	var bHandled atomic.Int64
	b, err := NewConsumer(cfg, ConsumerOptions{Options: fast(), Group: group, Topics: []string{topic}},
		HandlerFunc(func(_ context.Context, m *Message) error { bHandled.Add(1); count(string(m.Value)); return nil }))
	require.NoError(t, err)
	stopB := runConsumer(t, b)
	// Release A's held calls only once its revocation has begun: the
	// revocation must then wait for them, and commit them, before B gets
	// their partitions.
	<-revoking
	close(release)

	select {
	case <-all:
	case <-time.After(waitFor):
		t.Fatal("not all handled")
	}
	// B must have taken over a partition: that is where a record whose
	// handling was not waited for would be handled a second time.
	require.Eventually(t, func() bool { return bHandled.Load() > 0 }, waitFor, 5*time.Millisecond)
	stopB()
	stopA()
	mu.Lock()
	defer mu.Unlock()
	for _, v := range heldValues {
		assert.Equal(t, 1, counts[v], "held record %s was committed before its partition moved", v)
	}
	for v, c := range counts {
		assert.Equal(t, 1, c, "record %s handled %d times", v, c)
	}
}

// TestLostPartitionCancelsHandler: when partitions are lost (the member was
// fenced), their work is moot: a handler blocked on its context must be
// released, or the client's group loop would hang with it.
func TestLostPartitionCancelsHandler(t *testing.T) {
	_, cfg := fakeKafka(t)
	topic := cfg.Topics().Received
	produce(t, cfg, topic, 1)
	entered := make(chan *Message, 1)
	var sawCancel atomic.Bool
	c, err := NewConsumer(cfg, ConsumerOptions{Options: fast(), Group: "g-lost", Topics: []string{topic}},
		HandlerFunc(func(ctx context.Context, m *Message) error {
			select {
			case entered <- m:
			default:
			}
			<-ctx.Done()
			sawCancel.Store(true)
			return ctx.Err()
		}))
	require.NoError(t, err)
	stop := runConsumer(t, c)
	m := <-entered
	c.lost(context.Background(), nil, map[string][]int32{topic: {m.Partition}}) // returns only once the worker is gone
	assert.True(t, sawCancel.Load())
	stop()
	got, _ := committed(t, cfg, "g-lost", topic)
	assert.Zero(t, got[m.Partition], "nothing committed for the lost record")
}

// TestSlowPartitionPausesFetching: while a partition's worker is stuck,
// batches for it stop piling up (its fetching pauses) and resume after.
func TestSlowPartitionPausesFetching(t *testing.T) {
	_, cfg := fakeKafka(t)
	cfg.Partitions = 1
	cfg.TopicPrefix += "one."
	cfg.MaxPollRecords = 1 // one record per batch, so batches queue up
	topic := cfg.Topics().Received
	require.NoError(t, EnsureTopics(context.Background(), cfg, topic, cfg.Topics().DLQ))
	const n = 20
	produce(t, cfg, topic, n)
	release := make(chan struct{})
	var handled atomic.Int32
	all := make(chan struct{})
	c, err := NewConsumer(cfg, ConsumerOptions{Options: fast(), Group: "g-pause", Topics: []string{topic}},
		HandlerFunc(func(context.Context, *Message) error {
			<-release
			if handled.Add(1) == n {
				close(all)
			}
			return nil
		}))
	require.NoError(t, err)
	stop := runConsumer(t, c)
	require.Eventually(t, func() bool {
		return len(c.cl.PauseFetchPartitions(nil)[topic]) == 1 // nil: only reports
	}, waitFor, 5*time.Millisecond, "fetching must pause while the worker is stuck")
	c.mu.Lock()
	w := c.workers[topicPartition{topic, 0}]
	c.mu.Unlock()
	require.NotNil(t, w)
	w.mu.Lock()
	queued := len(w.queue)
	w.mu.Unlock()
	assert.LessOrEqual(t, queued, maxQueuedBatches+1, "bounded queue")
	close(release)
	select {
	case <-all:
	case <-time.After(waitFor):
		t.Fatal("not all handled after release")
	}
	assert.Empty(t, c.cl.PauseFetchPartitions(nil), "resumed")
	stop()
}
