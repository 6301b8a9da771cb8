package cron

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crashstream/crashstream/storage/objectstore"
)

// leaseDoc is the lock object's content.
type leaseDoc struct {
	Holder  string    `json:"holder"`
	Expires time.Time `json:"expires"`
}

// lease is a held job lock.
type lease struct {
	r      *Runner
	key    string
	mu     sync.Mutex
	etag   string
	isLost atomic.Bool
}

// acquire takes the job's lease: create it if absent, or take it over if
// it expired (its holder died). ErrLocked when another runner holds it.
func (r *Runner) acquire(ctx context.Context, name string) (*lease, error) {
	key := lockKey(name)
	doc, _ := json.Marshal(leaseDoc{Holder: r.holder, Expires: r.now().Add(r.cfg.LeaseTTL)})
	err := r.store.PutIfAbsent(ctx, key, doc)
	if err == nil {
		_, etag, err := r.store.GetWithETag(ctx, key, 1<<10)
		if err != nil {
			return nil, err
		}
		return &lease{r: r, key: key, etag: etag}, nil
	}
	if !errors.Is(err, objectstore.ErrPrecondition) {
		return nil, err
	}
	b, etag, err := r.store.GetWithETag(ctx, key, 1<<10)
	if errors.Is(err, objectstore.ErrNotFound) {
		return nil, ErrLocked // released between our two calls; next tick
	}
	if err != nil {
		return nil, err
	}
	var cur leaseDoc
	if json.Unmarshal(b, &cur) == nil && cur.Expires.After(r.now()) && cur.Holder != r.holder {
		return nil, ErrLocked
	}
	if err := r.store.PutIfMatch(ctx, key, doc, etag); err != nil {
		if errors.Is(err, objectstore.ErrPrecondition) {
			return nil, ErrLocked
		}
		return nil, err
	}
	_, etag, err = r.store.GetWithETag(ctx, key, 1<<10)
	if err != nil {
		return nil, err
	}
	return &lease{r: r, key: key, etag: etag}, nil
}

// renew extends the lease; it fails if someone else took it over.
func (l *lease) renew(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	doc, _ := json.Marshal(leaseDoc{Holder: l.r.holder, Expires: l.r.now().Add(l.r.cfg.LeaseTTL)})
	if err := l.r.store.PutIfMatch(ctx, l.key, doc, l.etag); err != nil {
		return err
	}
	_, etag, err := l.r.store.GetWithETag(ctx, l.key, 1<<10)
	if err != nil {
		return err
	}
	l.etag = etag
	return nil
}

// keepAlive renews the lease every third of its TTL until stopped; if a
// renewal finds the lease taken, it marks it lost and cancels the job.
func (l *lease) keepAlive(ctx context.Context, cancelJob context.CancelFunc) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(l.r.cfg.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if err := l.renew(ctx); errors.Is(err, objectstore.ErrPrecondition) || errors.Is(err, objectstore.ErrNotFound) {
					l.isLost.Store(true)
					cancelJob()
					return
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func (l *lease) lost() bool { return l.isLost.Load() }

// release gives the lease up by expiring it (only if still ours).
func (l *lease) release(ctx context.Context) {
	if l.lost() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	doc, _ := json.Marshal(leaseDoc{Holder: "", Expires: time.Time{}})
	_ = l.r.store.PutIfMatch(ctx, l.key, doc, l.etag)
}
