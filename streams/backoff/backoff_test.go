package backoff

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDelayGrowsCappedWithJitter(t *testing.T) {
	p := Policy{Initial: 100 * time.Millisecond, Max: 2 * time.Second, Jitter: 0.5}
	for attempt := 1; attempt < 20; attempt++ {
		d := p.Delay(attempt)
		assert.GreaterOrEqual(t, d, 50*time.Millisecond)
		assert.LessOrEqual(t, d, 2*time.Second)
	}
	assert.LessOrEqual(t, p.Delay(1), 100*time.Millisecond)
	assert.GreaterOrEqual(t, p.Delay(30), time.Second, "capped at max, jitter in the upper half")

	fixed := Policy{Initial: time.Second, Max: time.Hour, Multiplier: 3}
	assert.Equal(t, []time.Duration{time.Second, 3 * time.Second, 9 * time.Second},
		[]time.Duration{fixed.Delay(1), fixed.Delay(2), fixed.Delay(3)})
	assert.Equal(t, time.Hour, fixed.Delay(100))
}

func TestValidate(t *testing.T) {
	good := Policy{Initial: time.Millisecond, Max: time.Second}
	require.NoError(t, good.Validate())
	for name, p := range map[string]Policy{
		"zero initial":   {Max: time.Second},
		"max < initial":  {Initial: time.Second, Max: time.Millisecond},
		"multiplier < 1": {Initial: time.Millisecond, Max: time.Second, Multiplier: 0.5},
		"jitter > 1":     {Initial: time.Millisecond, Max: time.Second, Jitter: 2},
		"negative":       {Initial: time.Millisecond, Max: time.Second, MaxAttempts: -1},
	} {
		assert.Error(t, p.Validate(), name)
	}
}

var errBoom = errors.New("boom")

func TestRetry(t *testing.T) {
	p := Policy{Initial: time.Microsecond, Max: time.Microsecond}
	ctx := context.Background()

	calls, retried := 0, 0
	err := p.Retry(ctx, func(n int) error {
		calls++
		if n < 3 {
			return errBoom
		}
		return nil
	}, nil, func(int, error) { retried++ })
	require.NoError(t, err)
	assert.Equal(t, 3, calls)
	assert.Equal(t, 2, retried)

	calls = 0
	err = p.Retry(ctx, func(int) error { calls++; return errBoom }, func(error) bool { return false }, nil)
	assert.ErrorIs(t, err, errBoom)
	assert.Equal(t, 1, calls, "an error that is not retryable is final")

	p.MaxAttempts = 4
	calls = 0
	err = p.Retry(ctx, func(int) error { calls++; return errBoom }, nil, nil)
	assert.ErrorIs(t, err, errBoom)
	assert.NotErrorIs(t, err, ErrStopped, "giving up is not being stopped")
	assert.Equal(t, 4, calls)

	p = Policy{Initial: time.Hour, Max: time.Hour}
	cctx, cancel := context.WithCancel(ctx)
	err = p.Retry(cctx, func(int) error { cancel(); return errBoom }, nil, nil)
	assert.ErrorIs(t, err, ErrStopped)
	assert.ErrorIs(t, err, errBoom)
}

func TestSleep(t *testing.T) {
	require.NoError(t, Sleep(context.Background(), time.Microsecond))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, Sleep(ctx, time.Hour), context.Canceled)
	assert.ErrorIs(t, Sleep(ctx, 0), context.Canceled)
}
