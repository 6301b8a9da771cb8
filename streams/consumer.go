package streams

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Handler handles one record. It must be idempotent (see the package doc);
// return Permanent(err) for a record that can never succeed.
type Handler interface {
	Handle(ctx context.Context, m *Message) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, m *Message) error

// Handle implements Handler.
func (f HandlerFunc) Handle(ctx context.Context, m *Message) error { return f(ctx, m) }

// BatchHandler handles the records of one partition from one poll, in
// offset order, at once: sinks use it to write one batch per insert. It
// must be idempotent. Return nil when all are done, Reject(...) to
// dead-letter some records while the rest are done, Permanent(err) to
// dead-letter the whole batch, or another error to retry the whole batch.
type BatchHandler interface {
	HandleBatch(ctx context.Context, batch []*Message) error
}

// BatchHandlerFunc adapts a function to BatchHandler.
type BatchHandlerFunc func(ctx context.Context, batch []*Message) error

// HandleBatch implements BatchHandler.
func (f BatchHandlerFunc) HandleBatch(ctx context.Context, batch []*Message) error {
	return f(ctx, batch)
}

// RejectedError says which records of a batch can never succeed; the
// others are done.
type RejectedError struct {
	// Records maps batch indexes to their errors.
	Records map[int]error
}

func (r *RejectedError) Error() string {
	return fmt.Sprintf("%d records rejected", len(r.Records))
}

// Reject returns a BatchHandler result that dead-letters the records at
// the given batch indexes and treats the others as done. Reject(nil) or an
// empty map is nil.
func Reject(records map[int]error) error {
	if len(records) == 0 {
		return nil
	}
	return &RejectedError{Records: records}
}

// DLQ header keys. The value of a dead letter is the original value, its
// key the original key; these headers say where it came from and why.
const (
	HeaderDLQTopic     = "dlq.topic"
	HeaderDLQPartition = "dlq.partition"
	HeaderDLQOffset    = "dlq.offset"
	HeaderDLQGroup     = "dlq.group"
	HeaderDLQError     = "dlq.error"
)

// maxErrorHeader bounds the error text carried in a dead letter.
const maxErrorHeader = 1024

// maxQueuedBatches is how many polled batches may wait for one partition's
// worker before fetching from that partition pauses.
const maxQueuedBatches = 2

// ConsumerOptions names what a consumer reads and how it is wired.
type ConsumerOptions struct {
	Options
	// Group is the consumer group, e.g. "processor".
	Group string
	// Topics to consume (prefixed names).
	Topics []string
}

// Consumer is one member of a consumer group. Build it with NewConsumer
// or NewBatchConsumer, then Run it.
type Consumer struct {
	cfg     Config
	opts    ConsumerOptions
	handler BatchHandler
	single  Handler // set when built with NewConsumer: per-record retries
	cl      *kgo.Client
	log     zerolog.Logger
	metrics *consumerMetrics
	dlq     string
	sem     chan struct{}

	workCtx    context.Context // handlers' context: survives shutdown until the drain timeout
	cancelWork context.CancelFunc

	mu      sync.Mutex
	workers map[topicPartition]*worker

	closeOnce sync.Once

	// revokeStarted, when set (tests only), is called as a revocation begins.
	revokeStarted func(map[string][]int32)
}

type topicPartition struct {
	topic     string
	partition int32
}

// NewConsumer builds a consumer that calls h once per record.
func NewConsumer(cfg Config, o ConsumerOptions, h Handler) (*Consumer, error) {
	c, err := newConsumer(cfg, o)
	if err != nil {
		return nil, err
	}
	c.single = h
	return c, nil
}

// NewBatchConsumer builds a consumer that calls h once per partition batch.
func NewBatchConsumer(cfg Config, o ConsumerOptions, h BatchHandler) (*Consumer, error) {
	c, err := newConsumer(cfg, o)
	if err != nil {
		return nil, err
	}
	c.handler = h
	return c, nil
}

func newConsumer(cfg Config, o ConsumerOptions) (*Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if o.Group == "" || len(o.Topics) == 0 {
		return nil, errors.New("streams: consumer needs a group and topics")
	}
	c := &Consumer{
		cfg: cfg, opts: o,
		log:     o.Logger.With().Str("group", o.Group).Logger(),
		metrics: newConsumerMetrics(o.Registerer),
		dlq:     cfg.Topics().DLQ,
		sem:     make(chan struct{}, cfg.Concurrency),
		workers: map[topicPartition]*worker{},
	}
	opts, err := clientOpts(cfg, o.Options)
	if err != nil {
		return nil, err
	}
	opts = append([]kgo.Opt{
		kgo.ConsumerGroup(o.Group),
		kgo.ConsumeTopics(o.Topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), // a new group misses no crash
		kgo.BlockRebalanceOnPoll(),
		kgo.AutoCommitMarks(),
		kgo.OnPartitionsRevoked(c.revoked),
		kgo.OnPartitionsLost(c.lost),
	}, opts...)
	c.cl, err = kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("streams: consumer: %w", err)
	}
	return c, nil
}

// Close releases a consumer that will not Run (Run closes it itself).
func (c *Consumer) Close() { c.closeOnce.Do(c.cl.Close) }

// Ping checks that a broker answers, for health checks.
func (c *Consumer) Ping(ctx context.Context) error { return c.cl.Ping(ctx) }

// Run consumes until ctx ends, then stops fetching, lets handler calls in
// flight finish (up to the drain timeout), commits what is done, leaves the
// group and returns nil. Call it once.
func (c *Consumer) Run(ctx context.Context) error {
	c.workCtx, c.cancelWork = context.WithCancel(context.WithoutCancel(ctx))
	defer c.cancelWork()
	c.log.Info().Strs("topics", c.opts.Topics).Msg("consumer started")
	for {
		fetches := c.cl.PollRecords(ctx, c.cfg.MaxPollRecords)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			break
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			c.metrics.errors.WithLabelValues(c.opts.Group, "fetch").Inc()
			c.log.Warn().Err(err).Str("topic", topic).Int32("partition", p).Msg("fetch failed")
		})
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) > 0 {
				c.worker(topicPartition{p.Topic, p.Partition}).push(batch{records: p.Records, hwm: p.HighWatermark})
			}
		})
		c.cl.AllowRebalance()
	}
	c.shutdown()
	c.log.Info().Msg("consumer stopped")
	return nil
}

func (c *Consumer) shutdown() {
	drain := time.AfterFunc(c.cfg.DrainTimeout, c.cancelWork)
	defer drain.Stop()
	c.mu.Lock()
	all := make([]topicPartition, 0, len(c.workers))
	for tp := range c.workers {
		all = append(all, tp)
	}
	c.mu.Unlock()
	c.stopWorkers(all, false)
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.DrainTimeout)
	defer cancel()
	c.commit(ctx)
	c.cl.AllowRebalance()
	c.Close() // leaves the group; revoked() runs once more with nothing left
}

// revoked runs inside a rebalance: the partitions' in-flight work finishes,
// what is done is committed, then the rebalance may go on.
func (c *Consumer) revoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	if c.revokeStarted != nil {
		c.revokeStarted(revoked)
	}
	c.stopWorkers(flatten(revoked), false)
	c.commit(ctx)
}

// lost partitions belong to someone else already: their work is moot, so
// the handlers' context is cancelled, and nothing is committed.
func (c *Consumer) lost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	c.stopWorkers(flatten(lost), true)
}

func flatten(m map[string][]int32) []topicPartition {
	var out []topicPartition
	for t, ps := range m {
		for _, p := range ps {
			out = append(out, topicPartition{t, p})
		}
	}
	return out
}

func (c *Consumer) commit(ctx context.Context) {
	if err := c.cl.CommitMarkedOffsets(ctx); err != nil {
		c.metrics.errors.WithLabelValues(c.opts.Group, "commit").Inc()
		c.log.Warn().Err(err).Msg("commit failed; uncommitted records will be delivered again")
	}
}

// stopWorkers stops the partitions' workers and waits for them: a handler
// call in flight finishes (or, with cancel, sees its context cancelled).
func (c *Consumer) stopWorkers(tps []topicPartition, cancel bool) {
	var stopped []*worker
	c.mu.Lock()
	for _, tp := range tps {
		if w, ok := c.workers[tp]; ok {
			delete(c.workers, tp)
			close(w.stop)
			if cancel {
				w.cancel()
			}
			stopped = append(stopped, w)
		}
	}
	c.mu.Unlock()
	for _, w := range stopped {
		<-w.done
		c.metrics.lag.DeleteLabelValues(c.opts.Group, w.tp.topic, strconv.Itoa(int(w.tp.partition)))
	}
}

func (c *Consumer) worker(tp topicPartition) *worker {
	c.mu.Lock()
	defer c.mu.Unlock()
	w, ok := c.workers[tp]
	if !ok {
		w = &worker{c: c, tp: tp, signal: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
		w.ctx, w.cancel = context.WithCancel(c.workCtx)
		c.workers[tp] = w
		go w.run()
	}
	return w
}

type batch struct {
	records []*kgo.Record
	hwm     int64
}

// worker handles one partition's batches in order. The poll loop pushes;
// when too many batches wait, fetching from the partition pauses until
// the worker catches up, so a slow partition neither blocks the poll loop
// (and with it rebalances) nor buffers without bound.
type worker struct {
	c      *Consumer
	tp     topicPartition
	ctx    context.Context // handlers' context; cancelled if the partition is lost
	cancel context.CancelFunc
	signal chan struct{}
	stop   chan struct{}
	done   chan struct{}

	mu     sync.Mutex
	queue  []batch
	paused bool
}

func (w *worker) push(b batch) {
	w.mu.Lock()
	w.queue = append(w.queue, b)
	if len(w.queue) >= maxQueuedBatches && !w.paused {
		w.paused = true
		w.c.cl.PauseFetchPartitions(map[string][]int32{w.tp.topic: {w.tp.partition}})
	}
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

func (w *worker) pop() (batch, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) == 0 {
		return batch{}, false
	}
	b := w.queue[0]
	w.queue = w.queue[1:]
	if w.paused && len(w.queue) < maxQueuedBatches {
		w.paused = false
		w.c.cl.ResumeFetchPartitions(map[string][]int32{w.tp.topic: {w.tp.partition}})
	}
	return b, true
}

func (w *worker) run() {
	defer close(w.done)
	defer w.cancel()
	defer func() { // a revoked partition must not stay paused if it comes back
		w.mu.Lock()
		if w.paused {
			w.c.cl.ResumeFetchPartitions(map[string][]int32{w.tp.topic: {w.tp.partition}})
		}
		w.mu.Unlock()
	}()
	for {
		b, ok := w.pop()
		if !ok {
			select {
			case <-w.signal:
				continue
			case <-w.stop:
				return
			}
		}
		select {
		case w.c.sem <- struct{}{}:
		case <-w.stop:
			return
		}
		start := time.Now()
		completed := w.handle(b)
		<-w.c.sem
		w.c.metrics.duration.WithLabelValues(w.c.opts.Group, w.tp.topic).Observe(time.Since(start).Seconds())
		if !completed {
			return
		}
	}
}

// handle processes one batch and marks what is done; false means it was
// stopped before finishing (the rest will be redelivered).
func (w *worker) handle(b batch) bool {
	c := w.c
	if c.single != nil {
		for _, r := range b.records {
			select {
			case <-w.stop: // revoked or shutting down: leave the rest to the next owner
				return false
			default:
			}
			msg := fromKgo(r)
			ok, err := w.attempt(func(ctx context.Context) error { return c.single.Handle(ctx, msg) })
			if !ok {
				return false
			}
			if err != nil && !w.deadLetter(r, err) {
				return false
			}
			w.done1(r, err == nil)
		}
	} else {
		msgs := make([]*Message, len(b.records))
		for i, r := range b.records {
			msgs[i] = fromKgo(r)
		}
		ok, err := w.attempt(func(ctx context.Context) error { return c.handler.HandleBatch(ctx, msgs) })
		if !ok {
			return false
		}
		var rej *RejectedError
		isRej := errors.As(err, &rej)
		for i, r := range b.records {
			var recErr error
			switch {
			case isRej:
				recErr = rej.Records[i]
			case err != nil:
				recErr = err
			}
			if recErr != nil && !w.deadLetter(r, recErr) {
				return false
			}
			w.done1(r, recErr == nil)
		}
	}
	last := b.records[len(b.records)-1]
	c.metrics.lag.WithLabelValues(c.opts.Group, w.tp.topic, strconv.Itoa(int(w.tp.partition))).Set(float64(max(0, b.hwm-last.Offset-1)))
	return true
}

func (w *worker) done1(r *kgo.Record, ok bool) {
	c := w.c
	c.cl.MarkCommitRecords(r)
	outcome := "ok"
	if !ok {
		outcome = "dead_letter"
	}
	c.metrics.records.WithLabelValues(c.opts.Group, r.Topic, outcome).Inc()
	c.metrics.bytes.WithLabelValues(c.opts.Group, r.Topic).Add(float64(len(r.Value)))
}

// attempt calls fn until it succeeds, fails permanently, or runs out of
// attempts; transient failures wait with backoff. It returns false if the
// worker was stopped before a final answer, else true and the final error
// (nil, or one to dead-letter).
func (w *worker) attempt(fn func(context.Context) error) (bool, error) {
	c := w.c
	for n := 1; ; n++ {
		err := call(w.ctx, fn)
		if err == nil {
			return true, nil
		}
		if IsPermanent(err) || (c.cfg.RetryMaxAttempts > 0 && n >= c.cfg.RetryMaxAttempts) {
			return true, err
		}
		var rej *RejectedError
		if errors.As(err, &rej) {
			return true, err
		}
		if w.ctx.Err() != nil {
			return false, err // drain timed out, or the partition was lost
		}
		c.metrics.retries.WithLabelValues(c.opts.Group, w.tp.topic).Inc()
		if n == 1 || n%10 == 0 {
			c.log.Warn().Err(err).Str("topic", w.tp.topic).Int32("partition", w.tp.partition).Int("attempt", n).Msg("handler failed; retrying")
		}
		if !w.sleep(backoff(c.cfg.RetryBackoff, c.cfg.RetryMaxBackoff, n)) {
			return false, err
		}
	}
}

// call runs fn, turning a panic into a permanent error: a handler bug on
// one record must not kill the service or stall the partition forever.
func call(ctx context.Context, fn func(context.Context) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = Permanent(fmt.Errorf("handler panic: %v\n%s", p, debug.Stack()))
		}
	}()
	return fn(ctx)
}

func (w *worker) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-w.stop:
		return false
	}
}

// backoff is exponential from base, capped, with full jitter in the upper
// half so that many workers do not retry in lockstep.
func backoff(base, ceiling time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < ceiling; i++ {
		d *= 2
	}
	d = min(d, ceiling)
	return d/2 + rand.N(d/2+1)
}

// deadLetter writes r to the DLQ topic, retrying until it is acknowledged
// (a record may only be marked done once it is safe somewhere). false
// means the worker stopped first.
func (w *worker) deadLetter(r *kgo.Record, cause error) bool {
	c := w.c
	msg := cause.Error()
	if len(msg) > maxErrorHeader {
		msg = msg[:maxErrorHeader]
	}
	headers := append(append([]kgo.RecordHeader(nil), r.Headers...),
		kgo.RecordHeader{Key: HeaderDLQTopic, Value: []byte(r.Topic)},
		kgo.RecordHeader{Key: HeaderDLQPartition, Value: []byte(strconv.Itoa(int(r.Partition)))},
		kgo.RecordHeader{Key: HeaderDLQOffset, Value: []byte(strconv.FormatInt(r.Offset, 10))},
		kgo.RecordHeader{Key: HeaderDLQGroup, Value: []byte(c.opts.Group)},
		kgo.RecordHeader{Key: HeaderDLQError, Value: []byte(msg)},
	)
	for n := 1; ; n++ {
		dl := &kgo.Record{Topic: c.dlq, Key: r.Key, Value: r.Value, Headers: headers}
		err := c.cl.ProduceSync(w.ctx, dl).FirstErr()
		if err == nil {
			c.log.Warn().Str("topic", r.Topic).Int32("partition", r.Partition).Int64("offset", r.Offset).
				Str("error", msg).Msg("record dead-lettered")
			return true
		}
		c.metrics.errors.WithLabelValues(c.opts.Group, "dead_letter_produce").Inc()
		c.log.Error().Err(err).Str("dlq", c.dlq).Msg("dead-letter produce failed; retrying")
		if w.ctx.Err() != nil || !w.sleep(backoff(c.cfg.RetryBackoff, c.cfg.RetryMaxBackoff, n)) {
			return false
		}
	}
}
