package cron

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/streams/backoff"
)

// Job is one housekeeping task.
type Job interface {
	// Name identifies the job in state, locks, metrics and the CLI.
	Name() string
	// Period is how often the job runs (periods are aligned to the epoch,
	// so a daily job's periods are UTC days).
	Period() time.Duration
	// Backfill makes the runner run every missed period, oldest first;
	// without it only the latest due period runs.
	Backfill() bool
	// Run does the work for the period starting at period. It must be
	// safe to repeat for the same period.
	Run(ctx context.Context, period time.Time) error
}

// Store is the object storage the runner keeps state and leases in;
// *objectstore.Bucket implements it.
type Store interface {
	GetWithETag(ctx context.Context, key string, maxSize int64) ([]byte, string, error)
	PutBytes(ctx context.Context, key string, data []byte, contentType string) error
	PutIfAbsent(ctx context.Context, key string, data []byte) error
	PutIfMatch(ctx context.Context, key string, data []byte, etag string) error
	Delete(ctx context.Context, key string) error
}

// State is what the runner remembers of a job.
type State struct {
	// LastRun is when the job last ran (success or not).
	LastRun time.Time `json:"last_run"`
	// LastSuccess is when the job last succeeded.
	LastSuccess time.Time `json:"last_success"`
	// LastPeriod is the start of the last period that succeeded.
	LastPeriod time.Time `json:"last_period"`
	// LastError is the error of the last failed run ("" after a success).
	LastError string `json:"last_error"`
	// Failures counts consecutive failures (drives the backoff).
	Failures int `json:"failures"`
	// RetryAt is when a failed job may run again.
	RetryAt time.Time `json:"retry_at"`
}

// Config tunes the runner.
type Config struct {
	// Tick is how often the runner looks for due jobs.
	Tick time.Duration
	// LeaseTTL is how long a lease lasts without renewal.
	LeaseTTL time.Duration
	// RetryBackoff is the first wait after a failure; it doubles per
	// consecutive failure up to the job's period.
	RetryBackoff time.Duration
	// MaxBackfill bounds how many missed periods one tick runs.
	MaxBackfill int
}

// Runner runs jobs. Safe for one goroutine; several runners (processes)
// coordinate through leases.
type Runner struct {
	cfg     Config
	store   Store
	jobs    map[string]Job
	holder  string
	now     func() time.Time
	log     zerolog.Logger
	metrics *metrics
}

// NewRunner returns a runner over jobs.
func NewRunner(cfg Config, store Store, jobs []Job, log zerolog.Logger, reg prometheus.Registerer) *Runner {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	r := &Runner{cfg: cfg, store: store, jobs: map[string]Job{}, holder: hex.EncodeToString(b), now: time.Now, log: log, metrics: newMetrics(reg)}
	for _, j := range jobs {
		r.jobs[j.Name()] = j
	}
	return r
}

// Names lists the jobs, sorted.
func (r *Runner) Names() []string {
	var out []string
	for n := range r.jobs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ErrUnknownJob is returned for a job name the runner does not have.
var ErrUnknownJob = errors.New("unknown job")

// ErrLocked is returned when another runner holds the job's lease.
var ErrLocked = errors.New("another runner is running this job")

func stateKey(name string) string { return "cron/state/" + name + ".json" }
func lockKey(name string) string  { return "cron/locks/" + name + ".json" }

// State returns a job's recorded state (zero when it never ran).
func (r *Runner) State(ctx context.Context, name string) (State, error) {
	var s State
	b, _, err := r.store.GetWithETag(ctx, stateKey(name), 1<<20)
	if errors.Is(err, objectstore.ErrNotFound) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(b, &s)
}

func (r *Runner) saveState(ctx context.Context, name string, s State) error {
	b, _ := json.Marshal(s)
	return r.store.PutBytes(ctx, stateKey(name), b, "application/json")
}

// Reset forgets a job's state: it runs at the next tick for the latest
// period only.
func (r *Runner) Reset(ctx context.Context, name string) error {
	if _, ok := r.jobs[name]; !ok {
		return fmt.Errorf("%w %q", ErrUnknownJob, name)
	}
	return r.store.Delete(ctx, stateKey(name))
}

// MarkSuccess records the latest due period as done without running it.
func (r *Runner) MarkSuccess(ctx context.Context, name string) error {
	j, ok := r.jobs[name]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownJob, name)
	}
	now := r.now().UTC()
	s, err := r.State(ctx, name)
	if err != nil {
		return err
	}
	s.LastSuccess, s.LastPeriod, s.LastError, s.Failures, s.RetryAt = now, latestDue(j, now), "", 0, time.Time{}
	return r.saveState(ctx, name, s)
}

// periodStart aligns t down to the job's period.
func periodStart(j Job, t time.Time) time.Time {
	return t.Truncate(j.Period()).UTC()
}

// latestDue is the start of the latest period that has ended by now.
func latestDue(j Job, now time.Time) time.Time {
	return periodStart(j, now).Add(-j.Period())
}

// duePeriods lists the periods to run now, oldest first.
func (r *Runner) duePeriods(j Job, s State, now time.Time) []time.Time {
	if now.Before(s.RetryAt) {
		return nil
	}
	last := latestDue(j, now)
	if !s.LastPeriod.IsZero() && !s.LastPeriod.Before(last) {
		return nil
	}
	if !j.Backfill() || s.LastPeriod.IsZero() {
		return []time.Time{last}
	}
	var out []time.Time
	for p := s.LastPeriod.Add(j.Period()); !p.After(last) && len(out) < r.cfg.MaxBackfill; p = p.Add(j.Period()) {
		out = append(out, p)
	}
	return out
}

// Tick runs every job that is due. Errors of one job do not stop the others.
func (r *Runner) Tick(ctx context.Context) error {
	var errs []error
	for _, name := range r.Names() {
		if ctx.Err() != nil {
			break
		}
		if err := r.runDue(ctx, r.jobs[name], false); err != nil && !errors.Is(err, ErrLocked) {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// RunJob runs one job now: its due periods, or with force the latest
// period even if it already succeeded.
func (r *Runner) RunJob(ctx context.Context, name string, force bool) error {
	j, ok := r.jobs[name]
	if !ok {
		return fmt.Errorf("%w %q (jobs: %v)", ErrUnknownJob, name, r.Names())
	}
	return r.runDue(ctx, j, force)
}

func (r *Runner) runDue(ctx context.Context, j Job, force bool) error {
	now := r.now().UTC()
	s, err := r.State(ctx, j.Name())
	if err != nil {
		return err
	}
	periods := r.duePeriods(j, s, now)
	if force {
		periods = []time.Time{latestDue(j, now)}
	}
	if len(periods) == 0 {
		return nil
	}
	lease, err := r.acquire(ctx, j.Name())
	if err != nil {
		return err
	}
	defer lease.release(context.WithoutCancel(ctx))
	// Re-read: another runner may have finished these periods meanwhile.
	if s, err = r.State(ctx, j.Name()); err != nil {
		return err
	}
	if !force {
		periods = r.duePeriods(j, s, now)
	}
	for _, p := range periods {
		jctx, cancel := context.WithCancel(ctx)
		stopRenew := lease.keepAlive(jctx, cancel)
		start := r.now()
		err := j.Run(jctx, p)
		stopRenew()
		cancel()
		if err == nil && lease.lost() {
			err = errors.New("lease lost during the run")
		}
		d := r.now().Sub(start)
		s.LastRun = r.now().UTC()
		r.metrics.runs.WithLabelValues(j.Name()).Inc()
		r.metrics.duration.WithLabelValues(j.Name()).Observe(d.Seconds())
		if err != nil {
			s.Failures++
			s.LastError = err.Error()
			retry := backoff.Policy{Initial: r.cfg.RetryBackoff, Max: j.Period()}
			s.RetryAt = s.LastRun.Add(retry.Delay(s.Failures))
			r.metrics.failures.WithLabelValues(j.Name()).Inc()
			r.log.Error().Err(err).Str("job", j.Name()).Time("period", p).Int("failures", s.Failures).Msg("job failed")
			if serr := r.saveState(ctx, j.Name(), s); serr != nil {
				return errors.Join(err, serr)
			}
			return err
		}
		s.LastSuccess, s.LastPeriod, s.LastError, s.Failures, s.RetryAt = s.LastRun, p, "", 0, time.Time{}
		r.metrics.lastSuccess.WithLabelValues(j.Name()).Set(float64(s.LastSuccess.Unix()))
		r.log.Info().Str("job", j.Name()).Time("period", p).Dur("took", d).Msg("job done")
		if err := r.saveState(ctx, j.Name(), s); err != nil {
			return err
		}
	}
	return nil
}

// Run ticks until ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.Tick)
	defer t.Stop()
	for {
		if err := r.Tick(ctx); err != nil {
			r.log.Warn().Err(err).Msg("tick had failures")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
