package streams

import (
	"context"
	"fmt"
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

// perRecord presents a Handler as a BatchHandler of one record, so that
// one chain of decorators serves both kinds: the consumer calls it once
// per record, and retries and dead letters are per record.
type perRecord struct{ h Handler }

func (p perRecord) HandleBatch(ctx context.Context, batch []*Message) error {
	return p.h.Handle(ctx, batch[0])
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
