package cron

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/storage/objectstore"
)

// realBucket is a fresh bucket on the local stack's MinIO; the tests using
// it skip unless CRASHSTREAM_STACK=1.
func realBucket(t *testing.T) *objectstore.Bucket {
	t.Helper()
	if os.Getenv("CRASHSTREAM_STACK") != "1" {
		t.Skip("needs the real stack: run `make up` and set CRASHSTREAM_STACK=1")
	}
	var cfg objectstore.Config
	cfg.RegisterFlags(flag.NewFlagSet("s3", flag.ContinueOnError))
	cfg.Bucket = fmt.Sprintf("cron-%d", time.Now().UnixNano())
	c, err := objectstore.New(cfg)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	b := c.Bucket(cfg.Bucket)
	require.NoError(t, b.Ensure(context.Background()))
	t.Cleanup(func() {
		ctx := context.Background()
		for info, err := range b.List(ctx, "") {
			if err == nil {
				_ = b.Delete(ctx, info.Key)
			}
		}
		_ = b.Remove(ctx)
	})
	return b
}

// TestRealStoreBackfillAfterFailure: on MinIO, a failing daily job is
// retried after its backoff and, once fixed, runs every missed day.
func TestRealStoreBackfillAfterFailure(t *testing.T) {
	ctx := context.Background()
	b := realBucket(t)
	var broken atomic.Bool
	job := &recordingJob{name: "verify-processed", period: 24 * time.Hour, backfill: true,
		fail: func(time.Time) error {
			if broken.Load() {
				return errors.New("dependency down")
			}
			return nil
		}}
	r := NewRunner(testConfig(), b, []Job{job}, zerolog.Nop(), nil)
	now := day(10).Add(time.Hour)
	r.now = func() time.Time { return now }
	require.NoError(t, r.Tick(ctx))
	broken.Store(true)
	for d := 11; d <= 12; d++ {
		now = day(d).Add(time.Hour)
		require.Error(t, r.Tick(ctx))
	}
	st, err := r.State(ctx, job.name)
	require.NoError(t, err)
	assert.Equal(t, 2, st.Failures)
	broken.Store(false)
	now = day(12).Add(5 * time.Hour)
	require.NoError(t, r.Tick(ctx))
	assert.Equal(t, []time.Time{day(9), day(10), day(11)}, job.runs)
}

// TestRealStoreRunnersNeverOverlap: runners sharing a MinIO bucket (as
// replicas do) never run one job at the same time.
func TestRealStoreRunnersNeverOverlap(t *testing.T) {
	b := realBucket(t)
	job := &recordingJob{name: "retention", period: time.Hour, hold: 30 * time.Millisecond}
	var wg sync.WaitGroup
	var locked, ran atomic.Int32
	for i := 0; i < 3; i++ {
		r := NewRunner(testConfig(), b, []Job{job}, zerolog.Nop(), nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 6; k++ {
				err := r.RunJob(context.Background(), "retention", true)
				switch {
				case errors.Is(err, ErrLocked):
					locked.Add(1)
				case err == nil:
					ran.Add(1)
				default:
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	assert.Zero(t, job.overlaps.Load(), "two runners ran the job at once")
	assert.Positive(t, locked.Load(), "contention was exercised")
	assert.Positive(t, ran.Load())
}
