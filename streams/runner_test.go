package streams

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/crashstream/crashstream/streams/backoff"
)

// TestRunnerRunsDeclaredStages declares a per-record stage and a batch
// stage on one topic in two groups: the runner builds both consumers, each
// sees every record, dead-letters its bad one, and commits everything.
func TestRunnerRunsDeclaredStages(t *testing.T) {
	_, cfg := fakeKafka(t)
	topic := cfg.Topics().Processed
	const n = 40
	produce(t, cfg, topic, n)
	rec := newRecorder(n - 1)
	rec.panics["4"] = true // contained by WithRecover, dead-lettered
	var mu sync.Mutex
	batched := map[string]bool{}
	all := make(chan struct{})
	batch := BatchHandlerFunc(func(_ context.Context, b []*Message) error {
		mu.Lock()
		defer mu.Unlock()
		rej := map[int]error{}
		for i, m := range b {
			if string(m.Value) == "9" {
				rej[i] = Permanent(errors.New("bad row"))
				continue
			}
			batched[string(m.Value)] = true
		}
		if len(batched) == n-1 {
			close(all)
		}
		return Reject(rej)
	})
	r, err := NewRunner(cfg, fast(),
		Stage{Name: "one", Group: "g-one", Topics: []string{topic}, Handler: rec, Concurrency: 1},
		Stage{Name: "batch", Group: "g-batch", Topics: []string{topic}, BatchHandler: batch, MaxPollRecords: 5},
	)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	rec.wait(t)
	select {
	case <-all:
	case <-time.After(waitFor):
		t.Fatal("batch stage did not finish")
	}
	cancel()
	require.NoError(t, <-done)
	r.Close() // safe after Run

	dl := dlqRecords(t, cfg, 2)
	got := map[string]string{}
	for _, d := range dl {
		got[header(d, HeaderDLQGroup)] = string(d.Value)
	}
	assert.Equal(t, map[string]string{"g-one": "4", "g-batch": "9"}, got)
	for _, g := range []string{"g-one", "g-batch"} {
		c, end := committed(t, cfg, g, topic)
		assert.Equal(t, end, c, "group %s committed everything", g)
	}
}

func TestRunnerRejectsBadStage(t *testing.T) {
	_, cfg := fakeKafka(t)
	_, err := NewRunner(cfg, fast(), Stage{Name: "none", Group: "g", Topics: []string{"t"}})
	require.ErrorContains(t, err, "stage none: set exactly one")
	_, err = NewRunner(cfg, fast(),
		Stage{Name: "ok", Group: "g", Topics: []string{"t"}, Handler: newRecorder(0)},
		Stage{Name: "nogroup", Topics: []string{"t"}, Handler: newRecorder(0)})
	require.ErrorContains(t, err, "stage nogroup")
}

// TestDecoratorChain checks the decorators' order and verdicts without a
// broker: a panic is contained and dead-lettered once, a transient error is
// retried then succeeds, exhausted retries are dead-lettered, and a stop
// during a wait leaves the record undone.
func TestDecoratorChain(t *testing.T) {
	pol := backoff.Policy{Initial: time.Microsecond, Max: time.Microsecond, MaxAttempts: 3}
	m := NewConsumerMetrics(nil)
	type sent struct{ value, err string }
	var letters []sent
	sender := senderFunc(func(_ context.Context, _ string, _, value []byte, hs ...Header) error {
		for _, h := range hs {
			if h.Key == HeaderDLQError {
				letters = append(letters, sent{string(value), string(h.Value)})
			}
		}
		return nil
	})
	calls := 0
	h := BatchHandlerFunc(func(_ context.Context, b []*Message) error {
		calls++
		switch string(b[0].Value) {
		case "panic":
			panic("boom")
		case "flaky":
			if calls < 2 {
				return errors.New("flaky")
			}
			return nil
		default:
			return errors.New("down")
		}
	})
	retries := 0
	chain := Chain(h,
		WithDeadLetters(DeadLetters{Sender: sender, Topic: "dlq", Group: "g", Backoff: pol}),
		WithMetrics(m, "g"),
		WithRetry(pol, func([]*Message, int, error) { retries++ }),
		WithRecover(),
	)
	ctx := context.Background()
	msg := func(v string) []*Message { return []*Message{{Topic: "t", Value: []byte(v)}} }

	require.NoError(t, chain.HandleBatch(ctx, msg("panic")))
	require.Len(t, letters, 1)
	assert.True(t, strings.HasPrefix(letters[0].err, "permanent: handler panic: boom"), letters[0].err)
	assert.Equal(t, 0, retries, "a panic is permanent: not retried")

	calls = 0
	require.NoError(t, chain.HandleBatch(ctx, msg("flaky")))
	assert.Equal(t, 1, retries)
	assert.Len(t, letters, 1)

	calls, retries = 0, 0
	require.NoError(t, chain.HandleBatch(ctx, msg("down")))
	assert.Equal(t, 3, calls)
	require.Len(t, letters, 2)
	assert.Equal(t, sent{"down", "down"}, letters[1])

	stop, cancel := context.WithCancel(ctx)
	cancel()
	long := Chain(h, WithDeadLetters(DeadLetters{Sender: sender, Topic: "dlq", Group: "g", Backoff: pol}),
		WithRetry(backoff.Policy{Initial: time.Hour, Max: time.Hour}, nil))
	err := long.HandleBatch(withStop(ctx, stop), msg("down"))
	assert.ErrorIs(t, err, errUnfinished, "stopped while waiting: not done, not dead-lettered")
	assert.Len(t, letters, 2)

	// A handler error that merely wraps backoff.ErrStopped (its own retries
	// stopped) is an ordinary failure: retried, then dead-lettered.
	own := Chain(BatchHandlerFunc(func(context.Context, []*Message) error {
		return errors.Join(backoff.ErrStopped, errors.New("writer gave up"))
	}), WithDeadLetters(DeadLetters{Sender: sender, Topic: "dlq", Group: "g", Backoff: pol}), WithRetry(pol, nil))
	require.NoError(t, own.HandleBatch(ctx, msg("own")))
	assert.Len(t, letters, 3)
}

type senderFunc func(ctx context.Context, topic string, key, value []byte, hs ...Header) error

func (f senderFunc) Send(ctx context.Context, topic string, key, value []byte, hs ...Header) error {
	return f(ctx, topic, key, value, hs...)
}

// TestRunnerCommitFaultRedelivers injects a failure into every offset
// commit of a first runner: what it handled is not committed, so a second
// runner of the same group gets every record again. At least once: a
// commit lost is a record seen twice, never one lost.
func TestRunnerCommitFaultRedelivers(t *testing.T) {
	c, cfg := fakeKafka(t)
	topic := cfg.Topics().Received
	const n = 20
	produce(t, cfg, topic, n)
	var failCommits atomic.Bool
	failCommits.Store(true)
	c.ControlKey(int16(kmsg.OffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !failCommits.Load() {
			return nil, nil, false
		}
		oc := req.(*kmsg.OffsetCommitRequest)
		resp := oc.ResponseKind().(*kmsg.OffsetCommitResponse)
		for _, rt := range oc.Topics {
			st := kmsg.NewOffsetCommitResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewOffsetCommitResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.OffsetMetadataTooLarge.Code // not retried by the client
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	run := func(h Handler) {
		t.Helper()
		r, err := NewRunner(cfg, fast(), Stage{Name: "s", Group: "g-commitfault", Topics: []string{topic}, Handler: h})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		h.(*recorder).wait(t)
		cancel()
		require.NoError(t, <-done)
	}
	run(newRecorder(n))
	failCommits.Store(false)
	second := newRecorder(n)
	run(second)
	assert.Len(t, second.values, n, "nothing was committed: every record is delivered again")
	got, end := committed(t, cfg, "g-commitfault", topic)
	assert.Equal(t, end, got, "the second runner committed everything")
}

// BenchmarkDecoratorChain is the per-record cost of the delivery contract's
// decorators around a handler that succeeds (go test -bench Chain -run ^$).
func BenchmarkDecoratorChain(b *testing.B) {
	pol := backoff.Policy{Initial: time.Millisecond, Max: time.Second}
	chain := Chain(BatchHandlerFunc(func(context.Context, []*Message) error { return nil }),
		WithDeadLetters(DeadLetters{Topic: "dlq", Group: "g", Backoff: pol}),
		WithMetrics(NewConsumerMetrics(nil), "g"),
		WithRetry(pol, nil),
		WithRecover(),
	)
	batch := []*Message{{Topic: "t", Value: make([]byte, 1000)}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := chain.HandleBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}
