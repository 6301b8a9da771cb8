package collector

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// fakeClock is a settable clock for the limiter's cut interval.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestStoreLimitStartsAtMaxAndSheds(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	l := newStoreLimit(2, 3, 100*time.Millisecond, clk.now)
	for i := 0; i < 3; i++ {
		assert.False(t, l.full())
		assert.True(t, l.acquire(), "slot %d", i)
	}
	assert.True(t, l.full())
	assert.False(t, l.acquire(), "past the limit: shed")
	l.release(time.Millisecond, 0)
	assert.True(t, l.acquire(), "a released slot is free again")
}

// window releases n reports, slow of them slow, within one limit window,
// then moves the clock past it; the next release judges the window.
func window(l *storeLimit, clk *fakeClock, n, slow int) {
	for i := 0; i < n; i++ {
		l.acquire()
		took := time.Millisecond
		if i < slow {
			took = time.Second
		}
		l.release(took, 0)
	}
	clk.t = clk.t.Add(limitWindow)
}

func TestStoreLimitCutsOnSlowShare(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	l := newStoreLimit(4, 100, 100*time.Millisecond, clk.now)
	l.acquire()
	l.release(time.Millisecond, 0) // opens the first window
	window(l, clk, 20, 2)          // a tenth slow: the p90 is in time
	window(l, clk, 20, 3)          // more than a tenth: one cut, judged here
	assert.InDelta(t, 100, l.current(), 1e-9)
	window(l, clk, 9, 9) // too few to judge: no cut
	assert.InDelta(t, 80, l.current(), 1e-9, "the slow window was cut once")
	window(l, clk, 10, 10)
	l.acquire()
	l.release(time.Millisecond, 0)
	assert.InDelta(t, 64, l.current(), 1e-9, "a later slow window cuts again")
}

func TestStoreLimitFloor(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	l := newStoreLimit(4, 10, 10*time.Millisecond, clk.now)
	for i := 0; i < 50; i++ {
		window(l, clk, 10, 10)
	}
	for l.inFlight > 0 {
		l.release(time.Millisecond, 0)
	}
	assert.InDelta(t, 4, l.current(), 1e-9)
	for i := 0; i < 4; i++ {
		assert.True(t, l.acquire(), "the floor is always served")
	}
	assert.False(t, l.acquire())
}

// TestStoreLimitOffWithoutTarget: with no target (the default) a slow
// store never cuts the limit; it stays at max.
func TestStoreLimitOffWithoutTarget(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	l := newStoreLimit(4, 10, 0, clk.now)
	for i := 0; i < 50; i++ {
		clk.t = clk.t.Add(time.Second)
		l.acquire()
		l.release(time.Minute, 0)
	}
	assert.InDelta(t, 10, l.current(), 1e-9)
}

func TestStoreLimitGrowsOnlyWhenUsed(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	l := newStoreLimit(1, 100, 100*time.Millisecond, clk.now)
	window(l, clk, 10, 10)
	window(l, clk, 10, 10) // 100 -> 80
	window(l, clk, 1, 1)   // -> 64
	assert.InDelta(t, 64, l.current(), 1e-9)
	// one report at a time, fast: the limit is not in use, so it stays
	for i := 0; i < 100; i++ {
		l.acquire()
		l.release(time.Millisecond, 0)
	}
	assert.InDelta(t, 64, l.current(), 1e-9)
	// the limit in use (40 of 64 at once), fast: +1/limit per report
	for i := 0; i < 40; i++ {
		l.acquire()
	}
	for i := 0; i < 32; i++ {
		l.release(time.Millisecond, 0)
		l.acquire()
	}
	assert.Greater(t, l.current(), 64.4)
	assert.Less(t, l.current(), 65.0)
}

func TestStoreLimitAllowsForSize(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	l := newStoreLimit(1, 10, 100*time.Millisecond, clk.now)
	l.acquire()
	l.release(time.Millisecond, 0) // opens the first window
	// 64 MiB take 1 s at the healthy rate: 1.05 s is within 1.1 s
	for i := 0; i < 10; i++ {
		l.acquire()
		l.release(1050*time.Millisecond, 64<<20)
	}
	clk.t = clk.t.Add(limitWindow)
	l.acquire()
	l.release(time.Millisecond, 0)
	assert.InDelta(t, 10, l.current(), 1e-9, "a large report is not slow for its size")
	for i := 0; i < 10; i++ {
		l.acquire()
		l.release(1200*time.Millisecond, 64<<20)
	}
	clk.t = clk.t.Add(limitWindow)
	l.acquire()
	l.release(time.Millisecond, 0)
	assert.InDelta(t, 8, l.current(), 1e-9)
}
