package cron

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/services/lib/objectstoretest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type recordingJob struct {
	name     string
	period   time.Duration
	backfill bool
	mu       sync.Mutex
	runs     []time.Time
	fail     func(time.Time) error
	running  atomic.Int32
	overlaps atomic.Int32
	hold     time.Duration
}

func (j *recordingJob) Name() string          { return j.name }
func (j *recordingJob) Period() time.Duration { return j.period }
func (j *recordingJob) Backfill() bool        { return j.backfill }
func (j *recordingJob) Run(ctx context.Context, p time.Time) error {
	if j.running.Add(1) > 1 {
		j.overlaps.Add(1)
	}
	defer j.running.Add(-1)
	if j.hold > 0 {
		time.Sleep(j.hold)
	}
	if j.fail != nil {
		if err := j.fail(p); err != nil {
			return err
		}
	}
	j.mu.Lock()
	j.runs = append(j.runs, p)
	j.mu.Unlock()
	return nil
}

func testConfig() Config {
	return Config{Tick: time.Minute, LeaseTTL: time.Minute, RetryBackoff: time.Minute, MaxBackfill: 100}
}

func day(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }

func TestBackfillAfterFailure(t *testing.T) {
	ctx := context.Background()
	store := objectstoretest.NewBucket()
	broken := true
	job := &recordingJob{name: "verify-processed", period: 24 * time.Hour, backfill: true,
		fail: func(p time.Time) error {
			if broken {
				return errors.New("object store down")
			}
			return nil
		}}
	r := NewRunner(testConfig(), store, []Job{job}, zerolog.Nop(), nil)
	now := day(10).Add(3 * time.Hour)
	r.now = func() time.Time { return now }

	// First run ever: only yesterday.
	broken = false
	require.NoError(t, r.Tick(ctx))
	assert.Equal(t, []time.Time{day(9)}, job.runs)

	// Three days pass while the job fails.
	broken = true
	for d := 11; d <= 13; d++ {
		now = day(d).Add(3 * time.Hour)
		err := r.Tick(ctx)
		require.Error(t, err)
		st, _ := r.State(ctx, job.name)
		assert.Equal(t, "object store down", st.LastError)
		assert.True(t, st.RetryAt.After(now), "a failure waits for its backoff")
		// Within the backoff nothing runs.
		require.NoError(t, r.Tick(ctx))
	}
	st, _ := r.State(ctx, job.name)
	assert.Equal(t, 3, st.Failures)
	assert.Equal(t, day(9), st.LastPeriod)

	// Fixed: the next tick after the backoff runs every missed day, oldest first.
	broken = false
	now = day(13).Add(6 * time.Hour)
	require.NoError(t, r.Tick(ctx))
	assert.Equal(t, []time.Time{day(9), day(10), day(11), day(12)}, job.runs)
	st, _ = r.State(ctx, job.name)
	assert.Empty(t, st.LastError)
	assert.Equal(t, 0, st.Failures)
	assert.Equal(t, day(12), st.LastPeriod)

	// Nothing is due until the next day ends.
	require.NoError(t, r.Tick(ctx))
	assert.Len(t, job.runs, 4)
}

func TestNoBackfillRunsLatestOnly(t *testing.T) {
	store := objectstoretest.NewBucket()
	job := &recordingJob{name: "versions", period: time.Hour}
	r := NewRunner(testConfig(), store, []Job{job}, zerolog.Nop(), nil)
	now := day(10)
	r.now = func() time.Time { return now }
	require.NoError(t, r.Tick(context.Background()))
	now = now.Add(5 * time.Hour)
	require.NoError(t, r.Tick(context.Background()))
	assert.Equal(t, []time.Time{day(10).Add(-time.Hour), day(10).Add(4 * time.Hour)}, job.runs)
}

func TestTwoRunnersNeverOverlap(t *testing.T) {
	store := objectstoretest.NewBucket()
	job := &recordingJob{name: "retention", period: time.Hour, hold: 20 * time.Millisecond}
	var wg sync.WaitGroup
	var locked atomic.Int32
	for i := 0; i < 4; i++ {
		r := NewRunner(testConfig(), store, []Job{job}, zerolog.Nop(), nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 10; k++ {
				if err := r.RunJob(context.Background(), "retention", true); errors.Is(err, ErrLocked) {
					locked.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, job.overlaps.Load(), "two runners ran the job at once")
	assert.Positive(t, locked.Load(), "contention was exercised")
}

func TestExpiredLeaseIsTakenOver(t *testing.T) {
	ctx := context.Background()
	store := objectstoretest.NewBucket()
	job := &recordingJob{name: "tokens", period: time.Hour}
	dead := NewRunner(testConfig(), store, []Job{job}, zerolog.Nop(), nil)
	now := day(10)
	dead.now = func() time.Time { return now }
	_, err := dead.acquire(ctx, "tokens") // then the holder dies without releasing
	require.NoError(t, err)

	alive := NewRunner(testConfig(), store, []Job{job}, zerolog.Nop(), nil)
	alive.now = func() time.Time { return now }
	assert.ErrorIs(t, alive.RunJob(ctx, "tokens", true), ErrLocked)
	now = now.Add(2 * time.Minute) // past the lease TTL
	require.NoError(t, alive.RunJob(ctx, "tokens", true))
	assert.Len(t, job.runs, 1)
}

func TestResetAndMarkSuccess(t *testing.T) {
	ctx := context.Background()
	job := &recordingJob{name: "signatures", period: 24 * time.Hour, backfill: true}
	r := NewRunner(testConfig(), objectstoretest.NewBucket(), []Job{job}, zerolog.Nop(), nil)
	now := day(10).Add(time.Hour)
	r.now = func() time.Time { return now }
	require.NoError(t, r.MarkSuccess(ctx, "signatures"))
	require.NoError(t, r.Tick(ctx))
	assert.Empty(t, job.runs, "marked done")
	require.NoError(t, r.Reset(ctx, "signatures"))
	require.NoError(t, r.Tick(ctx))
	assert.Equal(t, []time.Time{day(9)}, job.runs)
	assert.ErrorIs(t, r.RunJob(ctx, "nope", false), ErrUnknownJob)
}
