package collector

import (
	"sync"
	"time"
)

// storeLimit is an adaptive bound on the reports being stored and
// announced at once (object store writes, then the crash.received
// publish): the collector's own work after a body is in. Its limit follows
// the measured latency of that work, AIMD: a second in which more than a
// tenth of at least ten reports took longer than the target (plus their
// bytes at healthyStoreRate, so a large dump is not counted slow for its
// size) shrinks it by a factor, and a report done within the target while
// the limit was at least half used grows it by 1/limit (one slot per
// limit's worth of fast reports). The limit thus follows the stores' p90,
// not their slowest report: when every slow report cut it (the first
// version), one late store per interval was always there on a busy
// machine and the limit sat at its floor. When the stores
// are slower than the target the limit falls to what they serve in time,
// and the reports past it are shed with 503 + Retry-After at once, rather
// than queueing behind the stores for seconds (issue 27): accepted reports
// keep their latency, the others are told to come back.
//
// It is off unless a target is set (-collector.store-latency-target): the
// measured latency includes every wait for a CPU, so on a small shared
// machine the limit sat at its floor and halved the acknowledged rate (97
// → 54/s at 100/s offered in one run, BENCHMARKS.md "Admission"). Without
// a target the limit stays at -collector.max-in-flight.
//
// The body read is outside it on purpose: a client's upload speed says
// nothing about the collector's capacity, and slow bodies are bounded by
// admission (eviction) and the read deadlines instead.
// healthyStoreRate is the slowest object store write rate, in bytes per
// second, still counted as healthy: a report's allowance is the target plus
// its bytes at this rate.
const healthyStoreRate = 64 << 20

// The limit is judged once per limitWindow, on at least limitMinSamples
// reports, and cut when more than limitSlowShare of them were slow.
const (
	limitWindow     = time.Second
	limitMinSamples = 10
	limitSlowShare  = 0.1
)

type storeLimit struct {
	mu       sync.Mutex
	limit    float64
	min, max float64
	target   time.Duration
	backoff  float64
	inFlight int
	// the current window: when it began, reports done, slow among them
	windowStart time.Time
	done, slow  int
	now         func() time.Time
}

// newStoreLimit starts at max: a collector at rest takes a burst whole, and
// the limit comes down only when the stores are measured slow.
func newStoreLimit(minLimit, maxLimit int, target time.Duration, now func() time.Time) *storeLimit {
	minLimit = max(1, min(minLimit, maxLimit))
	return &storeLimit{limit: float64(maxLimit), min: float64(minLimit), max: float64(maxLimit),
		target: target, backoff: 0.8, now: now}
}

// full reports whether a report would be shed now. handle asks before
// reading a body, so a report that would be shed after its upload is
// refused before it (the common case under overload; acquire still
// decides).
func (l *storeLimit) full() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inFlight >= int(l.limit)
}

// acquire takes a slot for one report's store and publish; false when the
// limit is reached (shed it).
func (l *storeLimit) acquire() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight >= int(l.limit) {
		return false
	}
	l.inFlight++
	return true
}

// release gives the slot back with the time the store and publish of a
// report of size bytes took, and adapts the limit to it.
func (l *storeLimit) release(took time.Duration, size int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	used := l.inFlight
	l.inFlight--
	if l.target <= 0 {
		return // no target: the limit stays at max
	}
	if now := l.now(); now.Sub(l.windowStart) >= limitWindow {
		if l.done >= limitMinSamples && float64(l.slow) > limitSlowShare*float64(l.done) {
			l.limit = max(l.min, l.limit*l.backoff)
		}
		l.windowStart, l.done, l.slow = now, 0, 0
	}
	l.done++
	allowed := l.target + time.Duration(float64(size)/healthyStoreRate*float64(time.Second))
	switch {
	case took > allowed:
		l.slow++
	case float64(used) >= l.limit/2:
		l.limit = min(l.max, l.limit+1/l.limit)
	}
}

// current is the limit now (the metric).
func (l *storeLimit) current() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit
}
