package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/streams/backoff"
	"github.com/rs/zerolog"
)

// Store is where crashes are written: a bucket of the object store
// (*objectstore.Bucket satisfies it). Put must store exactly size bytes
// from r or fail; r is an io.ReadSeeker so the store may rewind to retry.
type Store interface {
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	Delete(ctx context.Context, key string) error
}

// Publisher announces a stored crash on crash.received.v1. Publish returns
// only once the record is acknowledged by every in-sync replica (acks=all),
// or an error; it must honour ctx.
type Publisher interface {
	Publish(ctx context.Context, ev schemas.CrashReceived) error
}

// crash is an accepted report ready to be stored.
type crash struct {
	id       string
	raw      []byte // raw crash JSON
	rawKey   string
	rep      *report
	received schemas.CrashReceived
}

// crashMover stores a crash and announces it, in Antenna's order since 2024
// (bug 1809500): dumps, dump names, raw crash, then publish, then answer.
// The raw crash goes last because it is what downstream treats as "the
// crash exists" (verify-processed lists it), so a failure part-way leaves
// nothing visible. A failed publish does not fail the request: the crash is
// stored, so it is retried in the background and, failing that, found by
// verify-processed (raw crash without processed crash).
type crashMover struct {
	store Store
	pub   Publisher
	cfg   Config
	m     *metrics
	log   zerolog.Logger
	retry chan schemas.CrashReceived
}

func newCrashMover(cfg Config, store Store, pub Publisher, m *metrics, log zerolog.Logger) *crashMover {
	return &crashMover{store: store, pub: pub, cfg: cfg, m: m, log: log,
		retry: make(chan schemas.CrashReceived, cfg.RepublishQueue)}
}

// maxWait caps the waits of the store and republish retries.
const maxWait = 30 * time.Second

// storePolicy is StoreAttempts tries, waits doubling from StoreBackoff.
func (c Config) storePolicy() backoff.Policy {
	return backoff.Policy{Initial: c.StoreBackoff, Max: max(c.StoreBackoff, maxWait), MaxAttempts: c.StoreAttempts}
}

// republishPolicy retries until shutdown, waits doubling from StoreBackoff
// (at least 1 ms, so a zero backoff does not spin) up to maxWait.
func (c Config) republishPolicy() backoff.Policy {
	return backoff.Policy{Initial: max(c.StoreBackoff, time.Millisecond), Max: maxWait}
}

// save writes every object of c. The dumps and the dump names go up
// concurrently (none of them is visible on its own); the raw crash goes
// last, once they all succeeded. On failure save removes what it wrote,
// best effort, and returns the error (the caller answers 503).
func (mv *crashMover) save(ctx context.Context, c *crash) error {
	type object struct {
		key  string
		open func() (io.Reader, int64)
		ct   string
	}
	names := make([]string, 0, len(c.rep.dumps))
	objs := make([]object, 0, len(c.rep.dumps)+1)
	for _, d := range c.rep.dumps {
		key, err := objectstore.DumpKey(d.name, c.id)
		if err != nil {
			return err
		}
		objs = append(objs, object{key, func() (io.Reader, int64) { return d.reader(), d.size }, "application/octet-stream"})
		names = append(names, d.name)
	}
	namesJSON, _ := json.Marshal(names)
	namesKey, err := objectstore.DumpNamesKey(c.id)
	if err != nil {
		return err
	}
	objs = append(objs, object{namesKey, bytesOpener(namesJSON), "application/json"})

	errs := make([]error, len(objs))
	var wg sync.WaitGroup
	for i, o := range objs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = mv.putRetry(ctx, o.key, o.open, o.ct)
		}()
	}
	wg.Wait()
	err = errors.Join(errs...)
	if err == nil {
		err = mv.putRetry(ctx, c.rawKey, bytesOpener(c.raw), "application/json")
	}
	if err != nil {
		// Orphan dumps are invisible without the raw crash, but are
		// garbage: try to remove them, briefly, without failing on it.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), mv.cfg.StoreTimeout)
		defer cancel()
		for i, o := range objs {
			if errs[i] == nil {
				_ = mv.store.Delete(cctx, o.key)
			}
		}
	}
	return err
}

func bytesOpener(b []byte) func() (io.Reader, int64) {
	return func() (io.Reader, int64) { return bytes.NewReader(b), int64(len(b)) }
}

// putRetry writes one object with bounded attempts, each bounded in time.
func (mv *crashMover) putRetry(ctx context.Context, key string, open func() (io.Reader, int64), ct string) error {
	attempts := 0
	err := mv.cfg.storePolicy().Retry(ctx, func(n int) error {
		attempts = n
		actx, cancel := context.WithTimeout(ctx, mv.cfg.StoreTimeout)
		defer cancel()
		r, size := open()
		return mv.store.Put(actx, key, r, size, ct)
	}, func(error) bool { return ctx.Err() == nil }, func(int, error) { mv.m.storeRetries.Inc() })
	if err == nil || ctx.Err() != nil {
		return err
	}
	return fmt.Errorf("store %s: %d attempts: %w", key, attempts, err)
}

// publish announces the crash within PublishTimeout; on failure the event
// is queued for the background republisher. It never fails the request.
func (mv *crashMover) publish(ctx context.Context, ev schemas.CrashReceived) {
	if len(mv.retry) > 0 {
		// The broker is already failing: don't make this client wait the
		// publish timeout too; queue behind the others.
		mv.m.publishFailures.Inc()
		mv.enqueue(ev)
		return
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), mv.cfg.PublishTimeout)
	err := mv.pub.Publish(pctx, ev)
	cancel()
	if err == nil {
		return
	}
	mv.m.publishFailures.Inc()
	mv.enqueue(ev)
}

func (mv *crashMover) enqueue(ev schemas.CrashReceived) {
	select {
	case mv.retry <- ev:
	default:
		mv.m.republishDropped.Inc()
		mv.log.Warn().Str("crash_id", ev.CrashID).Msg("republish queue full; crash stored but not announced (verify-processed will find it)")
	}
}

// runRepublisher retries queued publishes with capped exponential backoff
// until ctx is done. Events still queued at shutdown are counted as
// dropped: they are stored, and verify-processed re-queues them.
func (mv *crashMover) runRepublisher(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			if n := len(mv.retry); n > 0 {
				mv.m.republishDropped.Add(float64(n))
				mv.log.Warn().Int("crashes", n).Msg("shutdown with unannounced crashes; verify-processed will find them")
			}
			return nil
		case ev := <-mv.retry:
			err := mv.cfg.republishPolicy().Retry(ctx, func(int) error {
				pctx, cancel := context.WithTimeout(ctx, mv.cfg.PublishTimeout)
				defer cancel()
				return mv.pub.Publish(pctx, ev)
			}, nil, nil)
			if err != nil { // only shutdown ends the retries
				mv.m.republishDropped.Inc()
				continue
			}
			mv.m.republished.Inc()
		}
	}
}
