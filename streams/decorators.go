package streams

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/crashstream/crashstream/streams/backoff"
)

// Decorator wraps a BatchHandler with one concern of the delivery
// contract. The consumer stacks them around every stage, outermost first:
//
//	WithDeadLetters → WithMetrics → WithRetry → WithRecover → stage
//
// so a panic becomes a permanent error, permanent errors are not retried,
// metrics see the handler's final verdict and its time with retries, and
// whatever is still an error after retrying is dead-lettered. After
// WithDeadLetters the chain returns nil (every record is done: handled or
// safely in the dead-letter topic) or an unfinished error (the partition
// was given up first; nothing may be committed).
type Decorator func(BatchHandler) BatchHandler

// Chain applies decorators to h, the first outermost.
func Chain(h BatchHandler, ds ...Decorator) BatchHandler {
	for i := len(ds) - 1; i >= 0; i-- {
		h = ds[i](h)
	}
	return h
}

// stopKey carries the context that ends when the consumer gives up a
// partition (revoked, lost, or shutting down). Handler calls in flight keep
// their own context until the drain timeout; waits between attempts end
// at once, leaving the record to be delivered again.
type stopKey struct{}

func withStop(ctx, stop context.Context) context.Context {
	return context.WithValue(ctx, stopKey{}, stop)
}

// waitContext is the context retries wait on: the partition's stop
// context when the consumer set one, else ctx.
func waitContext(ctx context.Context) context.Context {
	if s, ok := ctx.Value(stopKey{}).(context.Context); ok {
		return s
	}
	return ctx
}

// WithRecover turns a panic in the handler into a permanent error carrying
// the stack: a handler bug on one record must neither kill the service nor
// stall the partition forever. It is the pipeline's one panic guard around
// a stage (a stage may still contain panics of its own parts, as the
// processor's rules do, to keep going with a note).
func WithRecover() Decorator {
	return func(next BatchHandler) BatchHandler {
		return BatchHandlerFunc(func(ctx context.Context, batch []*Message) (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = Permanent(fmt.Errorf("handler panic: %v\n%s", p, debug.Stack()))
				}
			}()
			return next.HandleBatch(ctx, batch)
		})
	}
}

// WithRetry retries transient failures with policy, keeping the
// partition's order (the next record waits). Permanent errors and
// Reject results are final at once; when the policy's attempts run out
// the last error is final too (and is dead-lettered). onRetry, when set,
// hears of each failure about to be retried.
func WithRetry(policy backoff.Policy, onRetry func(batch []*Message, attempt int, err error)) Decorator {
	return func(next BatchHandler) BatchHandler {
		return BatchHandlerFunc(func(ctx context.Context, batch []*Message) error {
			wait := waitContext(ctx)
			err := policy.Retry(wait,
				func(int) error { return next.HandleBatch(ctx, batch) },
				retryable,
				func(n int, err error) {
					if onRetry != nil {
						onRetry(batch, n, err)
					}
				})
			return unfinishedIf(wait, err)
		})
	}
}

func retryable(err error) bool {
	var rej *RejectedError
	return !IsPermanent(err) && !errors.As(err, &rej)
}

// errUnfinished marks a chain result reached because the partition was
// given up before an answer: nothing may be marked done. It is private so
// that a handler's own error (say, a writer's retries stopped by its
// context) can never pass for it and leave a partition without a worker.
var errUnfinished = errors.New("streams: partition given up before an answer")

// unfinishedIf marks err unfinished when it is a retry stopped by wait.
func unfinishedIf(wait context.Context, err error) error {
	if err != nil && wait.Err() != nil && errors.Is(err, backoff.ErrStopped) {
		return errors.Join(errUnfinished, err)
	}
	return err
}

// stopped reports whether err says the partition was given up before the
// chain reached an answer.
func stopped(err error) bool { return errors.Is(err, errUnfinished) }

// WithMetrics counts the handler's verdict per record (ok, dead_letter),
// the bytes handled and the time per call, retries included.
func WithMetrics(m *ConsumerMetrics, group string) Decorator {
	return func(next BatchHandler) BatchHandler {
		return BatchHandlerFunc(func(ctx context.Context, batch []*Message) error {
			start := time.Now()
			err := next.HandleBatch(ctx, batch)
			topic := batch[0].Topic
			m.duration.WithLabelValues(group, topic).Observe(time.Since(start).Seconds())
			if stopped(err) {
				return err
			}
			var rej *RejectedError
			isRej := errors.As(err, &rej)
			for i, msg := range batch {
				outcome := "ok"
				if (isRej && rej.Records[i] != nil) || (!isRej && err != nil) {
					outcome = "dead_letter"
				}
				m.records.WithLabelValues(group, msg.Topic, outcome).Inc()
				m.bytes.WithLabelValues(group, msg.Topic).Add(float64(len(msg.Value)))
			}
			return err
		})
	}
}

// DeadLetters configures WithDeadLetters.
type DeadLetters struct {
	// Sender writes the dead letters.
	Sender Sender
	// Topic is the dead-letter topic (crash.dlq.v1 with the prefix).
	Topic string
	// Group names the consumer group in the dlq.group header.
	Group string
	// Backoff paces produce retries; its attempt bounds are ignored, since
	// a record may only be marked done once it is safe somewhere.
	Backoff backoff.Policy
	// Logger hears of each dead letter and failed produce.
	Logger zerolog.Logger
	// OnProduceError, when set, hears of each failed produce.
	OnProduceError func(error)
}

// WithDeadLetters writes every record the handler finally failed (a
// permanent error, a Reject, or retries used up) to the dead-letter topic,
// with headers naming where it came from and why, and returns nil once
// they are acknowledged. If the partition is given up before that, it
// returns an unfinished error and nothing is done.
func WithDeadLetters(d DeadLetters) Decorator {
	d.Backoff.MaxAttempts, d.Backoff.MaxElapsed = 0, 0
	return func(next BatchHandler) BatchHandler {
		return BatchHandlerFunc(func(ctx context.Context, batch []*Message) error {
			err := next.HandleBatch(ctx, batch)
			if err == nil || stopped(err) {
				return err
			}
			var rej *RejectedError
			isRej := errors.As(err, &rej)
			for i, m := range batch {
				cause := err
				if isRej {
					cause = rej.Records[i]
				}
				if cause == nil {
					continue
				}
				if err := d.write(ctx, m, cause); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

// maxErrorHeader bounds the error text carried in a dead letter.
const maxErrorHeader = 1024

func (d DeadLetters) write(ctx context.Context, m *Message, cause error) error {
	msg := cause.Error()
	if len(msg) > maxErrorHeader {
		msg = msg[:maxErrorHeader]
	}
	headers := append(append([]Header(nil), m.Headers...),
		Header{Key: HeaderDLQTopic, Value: []byte(m.Topic)},
		Header{Key: HeaderDLQPartition, Value: []byte(strconv.Itoa(int(m.Partition)))},
		Header{Key: HeaderDLQOffset, Value: []byte(strconv.FormatInt(m.Offset, 10))},
		Header{Key: HeaderDLQGroup, Value: []byte(d.Group)},
		Header{Key: HeaderDLQError, Value: []byte(msg)},
	)
	wait := waitContext(ctx)
	err := d.Backoff.Retry(wait, func(int) error {
		return d.Sender.Send(ctx, d.Topic, m.Key, m.Value, headers...)
	}, nil, func(_ int, err error) {
		if d.OnProduceError != nil {
			d.OnProduceError(err)
		}
		d.Logger.Error().Err(err).Str("dlq", d.Topic).Msg("dead-letter produce failed; retrying")
	})
	if err != nil { // unbounded retries end only when wait does
		return errors.Join(errUnfinished, err)
	}
	d.Logger.Warn().Str("topic", m.Topic).Int32("partition", m.Partition).Int64("offset", m.Offset).
		Str("error", msg).Msg("record dead-lettered")
	return nil
}
