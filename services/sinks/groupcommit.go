package sinks

import (
	"context"
	"sync"
	"time"
)

// groupCommit merges the rows of concurrent callers into one write: the
// first caller of a group leads it and flushes when the group holds
// maxRows, when every caller that has entered has joined a group (nobody
// else is about to add rows, so waiting would only add latency), or when
// linger has passed — rows or time, whichever first. Every member returns
// the write's result, so a caller's rows are durable when it gets nil.
//
// Flushes start at least minInterval apart unless the group is full: an
// idle sink writes a lone row at once, a busy one gathers what arrives
// within the interval into one write. Each INSERT into ClickHouse makes a
// part in the crashes table and in every materialized view, to be merged
// later; one per record cost ClickHouse 56 ms of CPU a crash at 20/s.
//
// Callers announce themselves with enter before preparing rows, then call
// either write or skip exactly once.
type groupCommit[T any] struct {
	maxRows     int
	linger      time.Duration
	minInterval time.Duration
	flush       func(ctx context.Context, rows []T) error

	mu        sync.Mutex
	pending   int // entered, not yet joined or skipped
	cur       *group[T]
	lastFlush time.Time     // when the previous group closed
	changed   chan struct{} // closed and replaced on every change
}

type group[T any] struct {
	rows []T
	done chan struct{}
	err  error
}

func newGroupCommit[T any](maxRows int, linger, minInterval time.Duration, flush func(context.Context, []T) error) *groupCommit[T] {
	return &groupCommit[T]{maxRows: maxRows, linger: linger, minInterval: minInterval, flush: flush, changed: make(chan struct{})}
}

// notify wakes a waiting leader; b.mu must be held.
func (b *groupCommit[T]) notify() {
	close(b.changed)
	b.changed = make(chan struct{})
}

func (b *groupCommit[T]) enter() {
	b.mu.Lock()
	b.pending++
	b.mu.Unlock()
}

func (b *groupCommit[T]) skip() {
	b.mu.Lock()
	b.pending--
	b.notify()
	b.mu.Unlock()
}

// write adds rows to the open group and returns once that group's flush
// finished (or ctx ended: the rows may still be written, which the
// idempotent writer tolerates when the records are redelivered).
func (b *groupCommit[T]) write(ctx context.Context, rows []T) error {
	b.mu.Lock()
	b.pending--
	g := b.cur
	leader := g == nil
	if leader {
		g = &group[T]{done: make(chan struct{})}
		b.cur = g
	}
	g.rows = append(g.rows, rows...)
	b.notify()
	b.mu.Unlock()
	if !leader {
		select {
		case <-g.done:
			return g.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	// The group may close once everybody joined, but not before earliest;
	// it must close at deadline (or when full) even if somebody has not.
	b.mu.Lock()
	earliest := b.lastFlush.Add(b.minInterval)
	b.mu.Unlock()
	deadline := time.Now().Add(b.linger)
	if earliest.After(deadline) {
		deadline = earliest
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		b.mu.Lock()
		now := time.Now()
		idle := b.pending == 0
		ready := len(g.rows) >= b.maxRows || !now.Before(deadline) || (idle && !now.Before(earliest))
		ch := b.changed
		if ready {
			b.cur, b.lastFlush = nil, now
		}
		b.mu.Unlock()
		if ready {
			break
		}
		wake := deadline
		if idle {
			wake = earliest
		}
		timer.Reset(time.Until(wake))
		select {
		case <-ch:
			continue
		case <-timer.C:
			continue
		case <-ctx.Done():
		}
		b.mu.Lock()
		b.cur, b.lastFlush = nil, time.Now()
		b.mu.Unlock()
		break
	}
	g.err = b.flush(ctx, g.rows)
	close(g.done)
	return g.err
}
