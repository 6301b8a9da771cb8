package streams

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Options are the dependencies of a producer or consumer.
type Options struct {
	// Logger receives start/stop events and franz-go's own logs.
	Logger zerolog.Logger
	// Registerer receives the metrics; nil disables them.
	Registerer prometheus.Registerer
	// extra kgo options, for tests (fault injection, timeouts).
	kgoOpts []kgo.Opt
}

// WithKgoOptions returns o with extra franz-go options appended; tests use
// it to shorten timeouts. Services should not need it.
func (o Options) WithKgoOptions(opts ...kgo.Opt) Options {
	o.kgoOpts = append(append([]kgo.Opt(nil), o.kgoOpts...), opts...)
	return o
}

func clientOpts(cfg Config, o Options) ([]kgo.Opt, error) {
	codec, err := compression(cfg.Compression)
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID(cfg.ClientID),
		kgo.WithLogger(newKgoLogger(o.Logger)),
		// Idempotence is on by default in franz-go and requires acks=all.
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(codec),
		kgo.ProducerBatchMaxBytes(int32(cfg.MaxMessageBytes)),
		kgo.ProducerLinger(cfg.Linger),
		kgo.FetchMaxPartitionBytes(int32(cfg.MaxMessageBytes)),
		kgo.FetchMaxBytes(int32(4 * cfg.MaxMessageBytes)),
	}
	sec, err := cfg.Security.opts()
	if err != nil {
		return nil, err
	}
	opts = append(opts, sec...)
	return append(opts, o.kgoOpts...), nil
}

// Sender produces one record and returns once every in-sync replica has
// it. *Producer implements it; the services (processor, sinks, collector,
// webapp) and the dead-letter decorator depend on this one interface, so
// tests can stand in for Kafka.
type Sender interface {
	Send(ctx context.Context, topic string, key, value []byte, headers ...Header) error
}

// Producer writes records to Kafka. It is safe for concurrent use.
type Producer struct {
	cl      *kgo.Client
	metrics *producerMetrics
}

// NewProducer connects a producer (lazily: the first send dials).
func NewProducer(cfg Config, o Options) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts, err := clientOpts(cfg, o)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("streams: producer: %w", err)
	}
	return &Producer{cl: cl, metrics: newProducerMetrics(o.Registerer)}, nil
}

// Send writes one record and waits until all in-sync replicas have it, or
// ctx ends. This is the collector's path: it answers the client only after
// Send returned nil.
func (p *Producer) Send(ctx context.Context, topic string, key, value []byte, headers ...Header) error {
	rec := &kgo.Record{Topic: topic, Key: key, Value: value, Headers: toKgoHeaders(headers)}
	err := p.cl.ProduceSync(ctx, rec).FirstErr()
	p.count(rec, err)
	if err != nil {
		return fmt.Errorf("streams: send to %s: %w", topic, err)
	}
	return nil
}

// SendAsync queues one record for batched delivery and returns at once
// (it blocks only while the producer's buffer is full, until ctx ends).
// done, if not nil, is called exactly once with the outcome, from a
// producer goroutine: keep it short. Use Flush to wait for all of them.
func (p *Producer) SendAsync(ctx context.Context, topic string, key, value []byte, done func(error), headers ...Header) {
	rec := &kgo.Record{Topic: topic, Key: key, Value: value, Headers: toKgoHeaders(headers)}
	p.cl.Produce(ctx, rec, func(r *kgo.Record, err error) {
		p.count(r, err)
		if done != nil {
			if err != nil {
				err = fmt.Errorf("streams: send to %s: %w", topic, err)
			}
			done(err)
		}
	})
}

// Flush waits until every record queued so far is acknowledged or failed.
func (p *Producer) Flush(ctx context.Context) error {
	if err := p.cl.Flush(ctx); err != nil {
		return fmt.Errorf("streams: flush: %w", err)
	}
	return nil
}

// Ping checks that a broker answers, for health checks.
func (p *Producer) Ping(ctx context.Context) error { return p.cl.Ping(ctx) }

// Close flushes what is queued (bounded by ctx) and closes the client.
func (p *Producer) Close(ctx context.Context) error {
	err := p.Flush(ctx)
	p.cl.Close()
	return err
}

func (p *Producer) count(r *kgo.Record, err error) {
	if err != nil {
		p.metrics.records.WithLabelValues(r.Topic, "error").Inc()
		return
	}
	p.metrics.records.WithLabelValues(r.Topic, "ok").Inc()
	p.metrics.bytes.WithLabelValues(r.Topic).Add(float64(len(r.Value)))
}
