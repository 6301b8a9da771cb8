package webapp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/services/lib/auth"
)

// Sessions are signed cookies holding a random session id, the hash of the
// API token the user signed in with (none when anonymous) and an expiry:
//
//	base64url(sid|token_hash|expires_unix) "." base64url(HMAC-SHA256(key, payload))
//
// Nothing secret is in the cookie (the token hash is not a credential: the
// Auth-Token header takes the raw key), and the token record is read on
// every request, so revoking or expiring a token ends its sessions at once.
// The CSRF token of a form is HMAC(key, "csrf|"+sid): it needs no storage,
// and a page of another site can neither read it nor guess it.

const (
	sessionCookie = "crashstream_session"
	callerKey     = "crashstream.caller"
	sessionKey    = "crashstream.session"
	csrfField     = "csrf_token"
	csrfHeader    = "X-CSRF-Token"
	tokenHeader   = "Auth-Token"
)

type session struct {
	sid       string
	tokenHash string
	expires   time.Time
}

func secretKey(configured string) ([]byte, error) {
	if configured != "" {
		return []byte(configured), nil
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	return k, nil
}

func (s *Server) sign(payload string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Server) encodeSession(ss session) string {
	p := ss.sid + "|" + ss.tokenHash + "|" + strconv.FormatInt(ss.expires.Unix(), 10)
	return base64.RawURLEncoding.EncodeToString([]byte(p)) + "." + s.sign(p)
}

// decodeSession verifies a cookie value; any flaw gives ok=false.
func (s *Server) decodeSession(v string) (session, bool) {
	if len(v) > 512 {
		return session{}, false
	}
	enc, mac, ok := strings.Cut(v, ".")
	if !ok {
		return session{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	// The decoder skips CR/LF and ignores the last character's unused bits:
	// accept only the one spelling the server signed.
	if err != nil || base64.RawURLEncoding.EncodeToString(raw) != enc {
		return session{}, false
	}
	p := string(raw)
	if subtle.ConstantTimeCompare([]byte(s.sign(p)), []byte(mac)) != 1 {
		return session{}, false
	}
	parts := strings.Split(p, "|")
	if len(parts) != 3 || len(parts[0]) != 32 {
		return session{}, false
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || !s.now().Before(time.Unix(exp, 0)) {
		return session{}, false
	}
	return session{sid: parts[0], tokenHash: parts[1], expires: time.Unix(exp, 0)}, true
}

func newSID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) setSession(c *gin.Context, ss session) {
	secure := s.secure || c.Request.TLS != nil
	http.SetCookie(c.Writer, &http.Cookie{
		Name: sessionCookie, Value: s.encodeSession(ss), Path: "/", Expires: ss.expires,
		MaxAge: int(ss.expires.Sub(s.now()).Seconds()), HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode,
	})
	c.Set(sessionKey, ss)
}

// CallerOf returns who made the request (anonymous when nobody signed in).
func CallerOf(c *gin.Context) auth.Caller {
	if v, ok := c.Get(callerKey); ok {
		if caller, ok := v.(auth.Caller); ok {
			return caller
		}
	}
	return auth.Anonymous()
}

// CSRFToken returns the token a form must send back in its csrf_token field
// (or the X-CSRF-Token header). It starts an anonymous session when the
// visitor has none, so call it before writing the response body.
func CSRFToken(c *gin.Context) string {
	s := FromContext(c)
	if s == nil {
		return ""
	}
	ss := s.sessionOf(c)
	if ss.sid == "" {
		ss = session{sid: newSID(), expires: s.now().Add(s.cfg.SessionTTL)}
		s.setSession(c, ss)
	}
	return s.csrfFor(ss.sid)
}

// CSRFField is the name of the form field carrying the CSRF token.
const CSRFField = csrfField

func (s *Server) csrfFor(sid string) string { return s.sign("csrf|" + sid) }

func (s *Server) sessionOf(c *gin.Context) session {
	if v, ok := c.Get(sessionKey); ok {
		return v.(session)
	}
	return session{}
}

// authenticate resolves the caller: the Auth-Token header (an unknown,
// expired or revoked token is refused with 403, as Socorro does, and counts
// against the address's anonymous API allowance: 429 once spent), else the
// session cookie (a session whose token is no longer valid is anonymous).
func (s *Server) authenticate(c *gin.Context) {
	if ck, err := c.Request.Cookie(sessionCookie); err == nil {
		if ss, ok := s.decodeSession(ck.Value); ok {
			c.Set(sessionKey, ss)
		}
	}
	if key := c.GetHeader(tokenHeader); key != "" {
		if s.authBlocked(c) {
			return
		}
		caller, err := s.deps.Tokens.Authenticate(c.Request.Context(), key)
		if errors.Is(err, auth.ErrInvalidToken) {
			s.authFailed(c)
			if !s.chargeBadToken(c) {
				return
			}
			c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "Forbidden: " + err.Error()})
			return
		}
		if err != nil {
			_ = c.Error(fmt.Errorf("token store unavailable: %w", err))
			c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{"error": "token store unavailable, try again"})
			return
		}
		c.Set(callerKey, caller)
		c.Next()
		return
	}
	caller := auth.Anonymous()
	if ss := s.sessionOf(c); ss.tokenHash != "" {
		t, err := s.deps.Tokens.Get(c.Request.Context(), ss.tokenHash)
		if err == nil && t.Valid(s.now()) {
			caller = auth.Caller{Name: t.Name, TokenHash: t.Hash, Permissions: t.Permissions}
		}
	}
	c.Set(callerKey, caller)
	c.Next()
}

// csrf refuses state-changing requests that rely on the session cookie
// without the session's CSRF token. Requests carrying an Auth-Token header
// are not cookie-authenticated and need none (a browser never adds that
// header on its own). Multipart bodies must send the header, so the check
// never parses an upload.
func (s *Server) csrf(c *gin.Context) {
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		c.Next()
		return
	}
	if c.GetHeader(tokenHeader) != "" || csrfExempt[c.Request.URL.Path] {
		c.Next()
		return
	}
	if !s.csrfValid(c) {
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "Forbidden: CSRF token missing or invalid (send the form's csrf_token, or use the Auth-Token header)"})
		return
	}
	c.Next()
}

// csrfExempt are POST endpoints that neither read the caller nor change
// state (CrashSignature computes signatures of the posted data), so a forged
// cross-site request gains nothing; Socorro's is public and CSRF-exempt too.
var csrfExempt = map[string]bool{"/api/CrashSignature": true, "/api/CrashSignature/": true}

// csrfValid checks the X-CSRF-Token header or, for url-encoded forms (at
// most 1 MiB), the csrf_token field against the session's token.
func (s *Server) csrfValid(c *gin.Context) bool {
	got := c.GetHeader(csrfHeader)
	if got == "" && strings.HasPrefix(c.ContentType(), "application/x-www-form-urlencoded") {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 1<<20)
		got = c.PostForm(csrfField)
	}
	ss := s.sessionOf(c)
	return ss.sid != "" && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrfFor(ss.sid))) == 1
}

// signinHTML is the minimal sign-in page (pages may offer their own form
// posting to SignInPath).
const signinHTML = `<!doctype html><html><head><meta charset="utf-8"><title>Sign in - Crash Stats</title></head><body>
<h1>Sign in</h1>
{{if .Caller.Anonymous}}<p>Paste an API token (create one with <code>crashstream token create</code>).</p>
{{if .Error}}<p role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/signin"><input type="hidden" name="csrf_token" value="{{.CSRF}}">
<input type="hidden" name="next" value="{{.Next}}">
<label>API token <input type="password" name="token" autocomplete="off" required></label> <button type="submit">Sign in</button></form>
{{else}}<p>Signed in as {{.Caller.Name}} ({{range .Caller.Permissions}}{{.}} {{end}}).</p>
<form method="post" action="/signout"><input type="hidden" name="csrf_token" value="{{.CSRF}}"><button type="submit">Sign out</button></form>{{end}}
</body></html>`

// safeNext keeps a post-sign-in redirect on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || len(next) > 2048 {
		return "/"
	}
	return next
}

func (s *Server) signinForm(c *gin.Context, status int, msg string) {
	csrf := CSRFToken(c)
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	c.Status(status)
	_ = s.signinPage.Execute(c.Writer, map[string]any{"Caller": CallerOf(c), "CSRF": csrf, "Error": msg, "Next": safeNext(c.Query("next"))})
}

func (s *Server) signin(c *gin.Context) {
	if s.authBlocked(c) {
		return
	}
	key := c.PostForm("token")
	caller, err := s.deps.Tokens.Authenticate(c.Request.Context(), key)
	if err != nil {
		status := http.StatusForbidden
		msg := "That token is unknown, expired or revoked."
		if errors.Is(err, auth.ErrInvalidToken) {
			s.authFailed(c)
		} else {
			status, msg = http.StatusServiceUnavailable, "The token store is unavailable; try again."
		}
		c.Set(callerKey, auth.Anonymous())
		s.signinForm(c, status, msg)
		return
	}
	t, err := s.deps.Tokens.Get(c.Request.Context(), caller.TokenHash)
	if err != nil {
		c.AbortWithStatus(http.StatusServiceUnavailable)
		return
	}
	exp := s.now().Add(s.cfg.SessionTTL)
	if t.Expires.Before(exp) {
		exp = t.Expires
	}
	// a new session id at sign-in (no session fixation)
	s.setSession(c, session{sid: newSID(), tokenHash: caller.TokenHash, expires: exp})
	c.Redirect(http.StatusSeeOther, safeNext(c.PostForm("next")))
}

func (s *Server) signout(c *gin.Context) {
	s.setSession(c, session{sid: newSID(), expires: s.now().Add(s.cfg.SessionTTL)})
	c.Redirect(http.StatusSeeOther, "/")
}
