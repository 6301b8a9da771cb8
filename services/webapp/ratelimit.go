package webapp

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// limiter is a token bucket per client: an anonymous caller's address or a
// token's hash. A bucket holds one minute's allowance and refills
// continuously, so a client gets its per-minute count at once and then
// that rate — the 11th anonymous search within a minute is refused.
type limiter struct {
	mu         sync.Mutex
	anon, auth float64 // per minute
	buckets    map[string]*bucket
	now        func() time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
	rate   float64 // per minute, also the capacity
}

func newLimiter(anon, auth int, now func() time.Time) *limiter {
	return &limiter{anon: float64(anon), auth: float64(auth), buckets: map[string]*bucket{}, now: now}
}

// allow takes one request from key's bucket; when empty it returns how long
// until the next request is allowed.
func (l *limiter) allow(key string, authenticated bool) (bool, time.Duration) {
	rate := l.anon
	if authenticated {
		rate = l.auth
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxTracked {
			l.sweepLocked(now)
		}
		b = &bucket{tokens: rate, last: now, rate: rate}
		l.buckets[key] = b
	}
	if el := now.Sub(b.last); el > 0 {
		b.tokens = math.Min(b.rate, b.tokens+el.Minutes()*b.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / b.rate * float64(time.Minute))
	return false, wait
}

func (l *limiter) sweep() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(l.now())
}

// sweepLocked forgets buckets that have refilled (forgetting them changes
// nothing); if every bucket is in use it forgets them all rather than grow.
func (l *limiter) sweepLocked(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Minutes()*b.rate >= b.rate {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxTracked {
		clear(l.buckets)
	}
}

// rateLimit is the middleware of one limit class ("search" or "api").
func (s *Server) rateLimit(class string, l *limiter) gin.HandlerFunc {
	return func(c *gin.Context) {
		caller := CallerOf(c)
		key := "ip:" + c.ClientIP()
		if !caller.Anonymous {
			key = "token:" + caller.TokenHash
		}
		ok, wait := l.allow(key, !caller.Anonymous)
		if ok {
			c.Next()
			return
		}
		s.tooMany(c, class, wait)
	}
}

// tooMany answers 429 with Retry-After: JSON for the API, and for a page a
// page that says when to retry (in seconds and as a UTC time).
func (s *Server) tooMany(c *gin.Context, class string, wait time.Duration) {
	s.m.ratelimited.WithLabelValues(class).Inc()
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	c.Header("Retry-After", strconv.Itoa(secs))
	if class != "pages" {
		c.AbortWithStatusJSON(http.StatusTooManyRequests, gin.H{"error": "Too Many Requests: rate limit exceeded, retry after " + strconv.Itoa(secs) + " s"})
		return
	}
	at := s.now().UTC().Add(time.Duration(secs) * time.Second).Format("15:04:05")
	c.Header("Cache-Control", "no-store")
	c.Data(http.StatusTooManyRequests, "text/html; charset=utf-8", []byte(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Too many requests — Crash Stats</title></head>
<body><main><h1>Too many requests</h1><p id="retry">This address has viewed more pages in the last minute than Crash Stats serves to one client. Retry in `+
		strconv.Itoa(secs)+` seconds (after `+at+` UTC).</p><p>Scripts should use the <a href="/api/openapi.json">API</a> with an API token.</p></main></body></html>`))
	c.Abort()
}

// chargeBadToken counts a request with an unknown, expired or revoked
// Auth-Token against its address's API allowance, as an anonymous
// request: guessing tokens is not free. It reports whether the request may
// still be answered (with 403); when not, it has answered 429.
func (s *Server) chargeBadToken(c *gin.Context) bool {
	ok, wait := s.api.allow("ip:"+c.ClientIP(), false)
	if !ok {
		s.tooMany(c, "api", wait)
	}
	return ok
}

// PageLimit is the HTML pages' rate limit as middleware (class "pages",
// per address for anonymous callers and per token for signed-in ones).
func (s *Server) PageLimit() gin.HandlerFunc { return s.rateLimit("pages", s.pages) }

// SearchLimit is the Super Search API's rate limit as middleware, for the
// HTML pages that run Super Search queries: one budget per caller, so the
// pages are not a way around the API's limit.
func (s *Server) SearchLimit() gin.HandlerFunc { return s.rateLimit("search", s.search) }
