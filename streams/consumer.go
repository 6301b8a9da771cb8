package streams

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DLQ header keys. The value of a dead letter is the original value, its
// key the original key; these headers say where it came from and why.
const (
	HeaderDLQTopic     = "dlq.topic"
	HeaderDLQPartition = "dlq.partition"
	HeaderDLQOffset    = "dlq.offset"
	HeaderDLQGroup     = "dlq.group"
	HeaderDLQError     = "dlq.error"
)

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
	// Concurrency, when positive, overrides kafka.consumer.concurrency:
	// the partitions handled at once.
	Concurrency int
	// MaxPollRecords, when positive, overrides
	// kafka.consumer.max-poll-records, which also bounds a batch.
	MaxPollRecords int
}

// Consumer is one member of a consumer group: the transport around one
// stage. Build it with NewConsumer or NewBatchConsumer (or declare a Stage
// and let a Runner build it), then Run it.
type Consumer struct {
	cfg     Config
	opts    ConsumerOptions
	chain   BatchHandler // the stage inside the decorators
	single  bool         // the stage is a Handler: the chain is called per record
	cl      *kgo.Client
	log     zerolog.Logger
	metrics *ConsumerMetrics
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
	return newConsumer(cfg, o, perRecord{h}, true)
}

// NewBatchConsumer builds a consumer that calls h once per partition batch.
func NewBatchConsumer(cfg Config, o ConsumerOptions, h BatchHandler) (*Consumer, error) {
	return newConsumer(cfg, o, h, false)
}

func newConsumer(cfg Config, o ConsumerOptions, h BatchHandler, single bool) (*Consumer, error) {
	if o.Concurrency > 0 {
		cfg.Concurrency = o.Concurrency
	}
	if o.MaxPollRecords > 0 {
		cfg.MaxPollRecords = o.MaxPollRecords
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if o.Group == "" || len(o.Topics) == 0 {
		return nil, errors.New("streams: consumer needs a group and topics")
	}
	c := &Consumer{
		cfg: cfg, opts: o, single: single,
		log:     o.Logger.With().Str("group", o.Group).Logger(),
		metrics: NewConsumerMetrics(o.Registerer),
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
		kgo.FetchMinBytes(int32(cfg.FetchMinBytes)),
		kgo.FetchMaxWait(cfg.FetchMaxWait),
		kgo.OnPartitionsRevoked(c.revoked),
		kgo.OnPartitionsLost(c.lost),
	}, opts...)
	c.cl, err = kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("streams: consumer: %w", err)
	}
	// The delivery contract, as decorators around the stage (see Decorator).
	// Dead letters go out through the consumer's own client: idempotent,
	// acks=all, like the Producer.
	c.chain = Chain(h,
		WithDeadLetters(DeadLetters{
			Sender: clientSender{c.cl}, Topic: cfg.Topics().DLQ, Group: o.Group,
			Backoff: cfg.Retry, Logger: c.log,
			OnProduceError: func(error) { c.metrics.errors.WithLabelValues(o.Group, "dead_letter_produce").Inc() },
		}),
		WithMetrics(c.metrics, o.Group),
		WithRetry(cfg.Retry, c.onRetry),
		WithRecover(),
	)
	return c, nil
}

// onRetry counts a transient failure and logs the first and every tenth.
func (c *Consumer) onRetry(batch []*Message, n int, err error) {
	m := batch[0]
	c.metrics.retries.WithLabelValues(c.opts.Group, m.Topic).Inc()
	if n == 1 || n%10 == 0 {
		c.log.Warn().Err(err).Str("topic", m.Topic).Int32("partition", m.Partition).Int("attempt", n).Msg("handler failed; retrying")
	}
}

// clientSender produces through a consumer's own client.
type clientSender struct{ cl *kgo.Client }

func (s clientSender) Send(ctx context.Context, topic string, key, value []byte, headers ...Header) error {
	return s.cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: key, Value: value, Headers: toKgoHeaders(headers)}).FirstErr()
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
			w.stopWork()
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
		w = &worker{c: c, tp: tp, signal: make(chan struct{}, 1), done: make(chan struct{})}
		w.ctx, w.cancel = context.WithCancel(c.workCtx)
		w.stop, w.stopWork = context.WithCancel(w.ctx)
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
	c        *Consumer
	tp       topicPartition
	ctx      context.Context // handlers' context; cancelled if the partition is lost
	cancel   context.CancelFunc
	stop     context.Context // ends when the partition is given up: no new work, no more waiting
	stopWork context.CancelFunc
	signal   chan struct{}
	done     chan struct{}

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
			case <-w.stop.Done():
				return
			}
		}
		select {
		case w.c.sem <- struct{}{}:
		case <-w.stop.Done():
			return
		}
		completed := w.handle(b)
		<-w.c.sem
		if !completed {
			return
		}
	}
}

// handle runs one batch through the chain and marks what is done; false
// means the partition was given up first (the rest will be redelivered).
func (w *worker) handle(b batch) bool {
	c := w.c
	ctx := withStop(w.ctx, w.stop)
	if c.single {
		for _, r := range b.records {
			if w.stop.Err() != nil { // revoked or shutting down: leave the rest to the next owner
				return false
			}
			if c.chain.HandleBatch(ctx, []*Message{fromKgo(r)}) != nil {
				return false
			}
			c.cl.MarkCommitRecords(r)
		}
	} else {
		msgs := make([]*Message, len(b.records))
		for i, r := range b.records {
			msgs[i] = fromKgo(r)
		}
		if c.chain.HandleBatch(ctx, msgs) != nil {
			return false
		}
		c.cl.MarkCommitRecords(b.records...)
	}
	last := b.records[len(b.records)-1]
	c.metrics.lag.WithLabelValues(c.opts.Group, w.tp.topic, strconv.Itoa(int(w.tp.partition))).Set(float64(max(0, b.hwm-last.Offset-1)))
	return true
}
