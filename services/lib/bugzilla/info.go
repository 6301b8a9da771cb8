package bugzilla

import (
	"context"
	"sync"
	"time"
)

// InfoSource answers bug status and summary; *Client implements it.
type InfoSource interface {
	Bugs(ctx context.Context, ids []int64) ([]Bug, error)
}

// InfoCache is BugzillaBugInfo's cache: each bug's status and summary is
// kept for TTL (Socorro keeps them an hour), so pages and API callers
// asking about the same bugs cost Bugzilla one request an hour. It holds
// at most maxInfo bugs; past that it starts again empty. Safe for
// concurrent use.
type InfoCache struct {
	src InfoSource
	ttl time.Duration
	now func() time.Time

	mu   sync.Mutex
	bugs map[int64]cachedBug
}

type cachedBug struct {
	bug Bug
	at  time.Time
}

const maxInfo = 100_000

// NewInfoCache caches src's answers for ttl.
func NewInfoCache(src InfoSource, ttl time.Duration) *InfoCache {
	return &InfoCache{src: src, ttl: ttl, now: time.Now, bugs: map[int64]cachedBug{}}
}

// Bugs answers the bugs Bugzilla knows of ids, from the cache when fresh,
// in the order asked.
func (c *InfoCache) Bugs(ctx context.Context, ids []int64) ([]Bug, error) {
	now := c.now()
	var missing []int64
	c.mu.Lock()
	for _, id := range ids {
		if b, ok := c.bugs[id]; !ok || now.Sub(b.at) >= c.ttl {
			missing = append(missing, id)
		}
	}
	c.mu.Unlock()
	if len(missing) > 0 {
		got, err := c.src.Bugs(ctx, missing)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		if len(c.bugs)+len(got) > maxInfo {
			c.bugs = map[int64]cachedBug{}
		}
		for _, b := range got {
			c.bugs[b.ID] = cachedBug{b, now}
		}
		c.mu.Unlock()
	}
	out := make([]Bug, 0, len(ids))
	seen := map[int64]bool{}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		if b, ok := c.bugs[id]; ok && !seen[id] {
			seen[id] = true
			out = append(out, b.bug)
		}
	}
	return out, nil
}
