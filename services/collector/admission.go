package collector

import (
	"sync"
	"sync/atomic"
	"time"
)

// admission bounds the submissions in flight (-collector.max-in-flight)
// without letting slow clients starve fast ones: when every slot is taken,
// a newcomer evicts the slowest body still being read (the lowest bytes per
// second, once it has had minAge to show its pace), if that one is slower
// than evictBelow; the evicted request stops reading at once and answers
// 408 Discarded=timeout, and the newcomer takes its slot. Only when no
// reader is slow enough does the newcomer get 503 overloaded. Requests
// past their body (storing, publishing) are never evicted: they are nearly
// done and hold their client's crash.
type admission struct {
	mu         sync.Mutex
	slots      int
	active     map[*ticket]struct{}
	minAge     time.Duration
	evictBelow float64 // bytes per second
	now        func() time.Time
	freed      chan struct{}
	reserved   int // slots freed by evictions, held for their evictors
}

// ticket is one admitted request.
type ticket struct {
	start   time.Time
	bytes   atomic.Int64 // body bytes received so far
	reading atomic.Bool  // still reading its body (evictable)
	evict   chan struct{}
	once    sync.Once
	handoff chan struct{} // the evictor waiting for this slot
}

func newAdmission(slots int, minAge time.Duration, evictBelow float64, now func() time.Time) *admission {
	return &admission{slots: slots, active: map[*ticket]struct{}{}, minAge: minAge, evictBelow: evictBelow,
		now: now, freed: make(chan struct{}, 1)}
}

// admit returns a ticket, or nil when the request must be refused. On a
// full house it evicts the slowest reader (once) and waits for the slot;
// when no reader is evictable yet (all too young to judge, or past their
// bodies) it keeps looking, up to wait in all.
func (a *admission) admit(wait time.Duration) *ticket {
	deadline := a.now().Add(wait)
	for {
		a.mu.Lock()
		if len(a.active)+a.reserved < a.slots {
			t := a.addLocked()
			a.mu.Unlock()
			return t
		}
		handoff := a.evictSlowestLocked()
		readers := a.readersLocked()
		a.mu.Unlock()
		left := deadline.Sub(a.now())
		if handoff != nil {
			// the evicted request gives its slot to us, not to whoever
			// asks next; it stops reading at once, so this is short (its
			// handler always releases)
			<-handoff
			a.mu.Lock()
			a.reserved--
			t := a.addLocked()
			a.mu.Unlock()
			return t
		}
		if left <= 0 || readers == 0 {
			// nobody is still reading a body: plain overload, refused at
			// once (a waiting newcomer would only pile up)
			return nil
		}
		// re-check when a slot frees, or soon (a reader may become old
		// enough to judge)
		select {
		case <-a.freed:
		case <-time.After(min(left, a.minAge/2+time.Millisecond)):
		}
	}
}

// readersLocked counts the admitted requests still reading their bodies.
func (a *admission) readersLocked() int {
	n := 0
	for t := range a.active {
		if t.reading.Load() {
			n++
		}
	}
	return n
}

func (a *admission) addLocked() *ticket {
	t := &ticket{start: a.now(), evict: make(chan struct{})}
	t.reading.Store(true)
	a.active[t] = struct{}{}
	return t
}

// evictSlowestLocked signals the slowest evictable reader and returns the
// channel on which its slot will be handed over; nil when no reader is old
// and slow enough.
func (a *admission) evictSlowestLocked() chan struct{} {
	now := a.now()
	var victim *ticket
	best := a.evictBelow
	for t := range a.active {
		if !t.reading.Load() {
			continue
		}
		age := now.Sub(t.start)
		if age < a.minAge {
			continue
		}
		rate := float64(t.bytes.Load()) / age.Seconds()
		if rate < best {
			best, victim = rate, t
		}
	}
	if victim == nil {
		return nil
	}
	victim.reading.Store(false) // one eviction per ticket
	victim.handoff = make(chan struct{}, 1)
	victim.once.Do(func() { close(victim.evict) })
	return victim.handoff
}

// release gives the slot back: to the request that evicted this one, if
// any, else to anyone.
func (a *admission) release(t *ticket) {
	a.mu.Lock()
	delete(a.active, t)
	if t.handoff != nil {
		a.reserved++
		t.handoff <- struct{}{}
		a.mu.Unlock()
		return
	}
	a.mu.Unlock()
	select {
	case a.freed <- struct{}{}:
	default:
	}
}

// inFlight is the number of admitted requests.
func (a *admission) inFlight() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.active)
}
