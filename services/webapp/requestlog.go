package webapp

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
)

// RequestIDHeader carries the request id on every answer (and, from a
// trusted front end, on the request). A page or API error shows it, and the
// log line of a failed request names it, so a user's report of a failure
// leads to its cause.
const RequestIDHeader = "X-Request-Id"

// requestIDRE bounds an id taken from the request: short and plain, so it
// cannot forge log fields or break the page. Compiled on first use, so the
// binary's tool commands do not pay for it at start.
var requestIDRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`) })

const requestIDKey = "crashstream.request_id"

// RequestID returns the request's id (set by the first middleware).
func RequestID(c *gin.Context) string { return c.GetString(requestIDKey) }

// errNoCause stands for a 5xx answer whose handler recorded no error: the
// log line still appears, and names the gap.
var errNoCause = errors.New("no error recorded by the handler")

// requestLog is the outermost middleware: it gives each request an id (a
// well-formed X-Request-Id of the request, else a random one), sends it back
// in X-Request-Id, and logs exactly one line for every answer of status 500
// or more with the route, method, status, request id and the errors the
// handlers recorded with c.Error. Handlers therefore record the cause and do
// not log it themselves.
func (s *Server) requestLog(c *gin.Context) {
	id := c.GetHeader(RequestIDHeader)
	if !requestIDRE().MatchString(id) {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	c.Set(requestIDKey, id)
	c.Header(RequestIDHeader, id)
	c.Next()
	status := c.Writer.Status()
	if status < http.StatusInternalServerError {
		return
	}
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	err := errNoCause
	if len(c.Errors) > 0 {
		err = errors.New(strings.Join(c.Errors.Errors(), "; "))
	}
	s.deps.Logger.Error().Str("route", route).Str("method", c.Request.Method).Int("status", status).
		Str("request_id", id).AnErr("error", err).Msg("request failed")
}
