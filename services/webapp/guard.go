package webapp

import (
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// blocked reports, without taking anything, whether key's bucket is empty,
// and how long until it holds one request again.
func (l *limiter) blocked(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		return false, 0
	}
	tokens := math.Min(b.rate, b.tokens+l.now().Sub(b.last).Minutes()*b.rate)
	if tokens >= 1 {
		return false, 0
	}
	return true, time.Duration((1 - tokens) / b.rate * float64(time.Minute))
}

// authFailureKey is the failure budget's key: the client address.
func authFailureKey(c *gin.Context) string { return "ip:" + c.ClientIP() }

// authBlocked answers 429 when the client address has used up its failed
// sign-ins and invalid tokens for now. It runs before any token is looked
// up, so a blocked address costs the token store nothing.
func (s *Server) authBlocked(c *gin.Context) bool {
	blocked, wait := s.authFailures.blocked(authFailureKey(c))
	if !blocked {
		return false
	}
	s.m.ratelimited.WithLabelValues("auth-failures").Inc()
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	c.Header("Retry-After", strconv.Itoa(secs))
	c.AbortWithStatusJSON(http.StatusTooManyRequests, gin.H{"error": "Too Many Requests: too many failed sign-ins or invalid tokens from this address, retry after " + strconv.Itoa(secs) + " s"})
	return true
}

// authFailed counts one failed sign-in or invalid token of the address.
func (s *Server) authFailed(c *gin.Context) { s.authFailures.allow(authFailureKey(c), false) }

// uploadPaths take symbol archives: their bodies get UploadReadTimeout.
var uploadPaths = map[string]bool{"/api/upload-symbols": true, "/api/upload-symbols/": true, "/upload/": true}

// bodyGuard bounds reading a request body: a deadline for the whole body
// (BodyReadTimeout, UploadReadTimeout for symbol uploads), cleared as soon
// as the body ends so a slow backend after it is never cut off, and a size
// cap on url-encoded forms (MaxFormBytes). Requests without a body are
// left alone (the header deadline and the idle timeout cover them).
func (s *Server) bodyGuard(c *gin.Context) {
	r := c.Request
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		c.Next()
		return
	}
	timeout := s.cfg.BodyReadTimeout
	if uploadPaths[r.URL.Path] {
		timeout = s.cfg.UploadReadTimeout
	}
	rc := http.NewResponseController(c.Writer)
	_ = rc.SetReadDeadline(time.Now().Add(timeout)) // unsupported writers (tests) keep no deadline
	g := &guardedBody{ReadCloser: r.Body, rc: rc}
	r.Body = g
	if strings.HasPrefix(strings.ToLower(r.Header.Get("Content-Type")), "application/x-www-form-urlencoded") {
		r.Body = http.MaxBytesReader(c.Writer, g, s.cfg.MaxFormBytes)
	}
	c.Next()
	// A body not read to its end keeps its deadline: the server's drain of
	// the rest after the handler is bounded by it, then the connection is
	// closed (a stalled client cannot hold it).
}

// guardedBody clears the connection's read deadline when the body ends
// cleanly: after the body's EOF net/http keeps a background read on the
// connection, and a deadline left on it would cancel the request's context
// mid-handler (the collector's deadlineReader has the same rule). A body
// that timed out keeps its expired deadline, so the connection is closed.
type guardedBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	cleared bool
}

func (g *guardedBody) Read(p []byte) (int, error) {
	n, err := g.ReadCloser.Read(p)
	if err == io.EOF && !g.cleared {
		g.cleared = true
		_ = g.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
