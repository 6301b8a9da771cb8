package webapp

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAuthFailuresLimited: per address, the failed sign-ins and invalid
// Auth-Tokens share one budget; past it the address gets 429 with
// Retry-After before its token is even looked at (a valid one too), other
// addresses are unaffected, and the budget refills with time.
func TestAuthFailuresLimited(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.AuthFailuresPerMin = 3 })
	rec := f.do("GET", "/signin", "", nil)
	ck := rec.Result().Cookies()[0]
	csrf := between(rec.Body.String(), `name="csrf_token" value="`, `"`)
	signin := func(token, addr string) int {
		req := httptest.NewRequest("POST", "/signin", strings.NewReader(url.Values{"token": {token}, "csrf_token": {csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = addr
		req.AddCookie(ck)
		rec := httptest.NewRecorder()
		f.srv.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
	apiCall := func(key, addr string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/api/SuperSearchFields/", nil)
		req.Header.Set("Auth-Token", key)
		req.RemoteAddr = addr
		rec := httptest.NewRecorder()
		f.srv.Handler().ServeHTTP(rec, req)
		return rec
	}
	const a, b = "192.0.2.7:1000", "192.0.2.8:1000"
	assert.Equal(t, 403, signin("wrong-1", a))
	assert.Equal(t, 403, apiCall("wrong-2", a).Code)
	assert.Equal(t, 403, signin(f.keys["revoked"], a))
	assert.Equal(t, 429, signin("wrong-3", a), "the 4th failure within a minute")
	rec = apiCall(f.keys["pii"], a)
	assert.Equal(t, 429, rec.Code, "blocked before the token is looked at")
	assert.NotEmpty(t, rec.Header().Get("Retry-After"))
	assert.Equal(t, 303, signin(f.keys["pii"], b), "another address is not blocked")
	assert.Equal(t, 200, apiCall(f.keys["pii"], b).Code)
	f.now = f.now.Add(time.Minute)
	assert.Equal(t, 200, apiCall(f.keys["pii"], a).Code, "refilled after a minute")
	// successes do not use the budget
	for range 10 {
		require.Equal(t, 200, apiCall(f.keys["pii"], b).Code)
	}
}

// TestFormSizeBounded: a url-encoded form over MaxFormBytes reads as empty
// (the sign-in fails cleanly), never as a 5xx or an unbounded read.
func TestFormSizeBounded(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxFormBytes = 4 << 10 })
	rec := f.do("GET", "/signin", "", nil)
	ck := rec.Result().Cookies()[0]
	csrf := between(rec.Body.String(), `name="csrf_token" value="`, `"`)
	form := url.Values{"token": {f.keys["pii"]}, "csrf_token": {csrf}, "pad": {strings.Repeat("x", 8<<10)}}.Encode()
	req := httptest.NewRequest("POST", "/signin", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(ck)
	out := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(out, req)
	assert.Equal(t, 403, out.Code)
}

// TestHalfSentBodyIsCutOff: a POST /signin whose body never completes is
// answered and its connection closed once BodyReadTimeout passes, on a
// real server (the deadline lives on the connection); the wait is bounded
// by 30 s, far above the 200 ms limit, so this is not a timing assertion.
func TestHalfSentBodyIsCutOff(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.BodyReadTimeout = 200 * time.Millisecond })
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = fmt.Fprintf(conn, "POST /signin HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\ntoken=abc")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(30*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		resp.Body.Close()
		assert.GreaterOrEqual(t, resp.StatusCode, 400, "the half-sent form is refused")
	}
	// either way the server is done with the connection: a read ends (EOF
	// or reset), not our 30 s deadline
	buf := make([]byte, 1)
	_, err = conn.Read(buf)
	require.Error(t, err)
	var ne net.Error
	if errors.As(err, &ne) {
		assert.False(t, ne.Timeout(), "the server closed the connection, not our 30 s deadline")
	}
}
