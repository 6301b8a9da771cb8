// Package backoff is crashstream's one retry policy: how long to wait
// between attempts, how many attempts to make, and a sleep that ends when
// its context does. Every retry loop in the pipeline (the consumers'
// handler retries and dead-letter produce, the ClickHouse writer, the
// collector's store and republish loops, cron's failed-run delay) uses a
// Policy, so they are configured and reasoned about the same way.
//
// The package has no dependencies beyond the standard library, so the
// storage layer can use it without importing the Kafka client.
package backoff

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Policy is exponential backoff with jitter and optional bounds.
//
// The wait after the n-th failed attempt is Initial·Multiplier^(n-1),
// capped at Max; Jitter draws that fraction of the wait at random (0: fixed
// waits; 0.5: uniformly in the upper half, so that many workers do not
// retry in lockstep; 1: full jitter). The zero value of MaxAttempts and
// MaxElapsed means no bound: retry until success or the context ends.
type Policy struct {
	// Initial is the wait after the first failure.
	Initial time.Duration
	// Max caps every wait.
	Max time.Duration
	// Multiplier grows the wait per failure; 0 means 2.
	Multiplier float64
	// Jitter is the fraction of each wait drawn at random, in [0, 1].
	Jitter float64
	// MaxAttempts stops after that many attempts; 0 = no bound.
	MaxAttempts int
	// MaxElapsed stops once that much time has passed since the first
	// attempt began; 0 = no bound.
	MaxElapsed time.Duration
}

// Validate checks the policy; errors name the fields, and callers prefix
// them with their flags.
func (p Policy) Validate() error {
	var errs []error
	if p.Initial <= 0 || p.Max < p.Initial {
		errs = append(errs, fmt.Errorf("backoff: want 0 < initial <= max, got %s and %s", p.Initial, p.Max))
	}
	if p.Multiplier != 0 && p.Multiplier < 1 {
		errs = append(errs, fmt.Errorf("backoff: multiplier %g is below 1", p.Multiplier))
	}
	if p.Jitter < 0 || p.Jitter > 1 {
		errs = append(errs, fmt.Errorf("backoff: jitter %g is outside [0, 1]", p.Jitter))
	}
	if p.MaxAttempts < 0 || p.MaxElapsed < 0 {
		errs = append(errs, errors.New("backoff: max attempts and max elapsed must not be negative"))
	}
	return errors.Join(errs...)
}

// Delay is the wait after the attempt-th failure (attempt counts from 1).
func (p Policy) Delay(attempt int) time.Duration {
	mult := p.Multiplier
	if mult == 0 {
		mult = 2
	}
	d := float64(p.Initial)
	for i := 1; i < attempt && d < float64(p.Max); i++ {
		d *= mult
	}
	w := min(time.Duration(d), p.Max)
	if p.Jitter <= 0 || w <= 0 {
		return w
	}
	spread := time.Duration(float64(w) * min(p.Jitter, 1))
	return w - spread + rand.N(spread+1)
}

// Exhausted reports whether attempt failed attempts, the first begun at
// start, use up the policy's bounds.
func (p Policy) Exhausted(attempt int, start time.Time) bool {
	return (p.MaxAttempts > 0 && attempt >= p.MaxAttempts) ||
		(p.MaxElapsed > 0 && time.Since(start) >= p.MaxElapsed)
}

// Retry calls fn until it returns nil, returns an error that retryable
// rejects (nil retryable: every error is retried), or the policy's bounds
// are used up; it returns fn's last error. Between attempts it waits with
// Sleep on wait: when wait ends first, Retry returns an error wrapping
// both ErrStopped and fn's last error, so a caller can tell "gave up" from
// "was stopped". onRetry, when set, is told of each failure about to be
// retried (for metrics and logs).
func (p Policy) Retry(wait context.Context, fn func(attempt int) error, retryable func(error) bool, onRetry func(attempt int, err error)) error {
	start := time.Now()
	for n := 1; ; n++ {
		err := fn(n)
		if err == nil || (retryable != nil && !retryable(err)) || p.Exhausted(n, start) {
			return err
		}
		if wait.Err() != nil {
			return fmt.Errorf("%w: %w", ErrStopped, err)
		}
		if onRetry != nil {
			onRetry(n, err)
		}
		if Sleep(wait, p.Delay(n)) != nil {
			return fmt.Errorf("%w: %w", ErrStopped, err)
		}
	}
}

// ErrStopped marks a Retry that ended because its wait context did, not
// because the policy gave up.
var ErrStopped = errors.New("retry stopped before an answer")

// Sleep waits for d or until ctx ends, whichever is first, and returns
// ctx's error in the second case.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
