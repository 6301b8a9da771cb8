package webapp

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/services/lib/auth"
)

// The token admin API mirrors `crashstream token`: it needs manage_tokens
// and an Auth-Token header (a browser session cannot use it, so a page of
// another site cannot either). A created token holds a subset of the
// caller's own permissions, so the API cannot widen anyone's access.

// tokenJSON is a token as the admin API shows it (never the key).
type tokenJSON struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Permissions []string  `json:"permissions"`
	Created     time.Time `json:"created"`
	Expires     time.Time `json:"expires"`
	State       string    `json:"state"`
}

func (s *Server) tokenView(t auth.Token) tokenJSON {
	state := "active"
	switch {
	case t.Revoked:
		state = "revoked"
	case !t.Valid(s.now()):
		state = "expired"
	}
	return tokenJSON{ID: t.Hash[:12], Name: t.Name, Permissions: t.Permissions, Created: t.Created, Expires: t.Expires, State: state}
}

// headerOnly refuses cookie-authenticated callers.
func headerOnly(c *gin.Context) {
	if c.GetHeader(tokenHeader) == "" {
		apiError(c, http.StatusForbidden, "Forbidden: the token API needs an Auth-Token header")
		return
	}
	c.Next()
}

func (s *Server) listTokens(c *gin.Context) {
	ts, err := s.deps.Tokens.List(c.Request.Context())
	if err != nil {
		s.backendError(c, "listing tokens", err)
		return
	}
	out := make([]tokenJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, s.tokenView(t))
	}
	c.JSON(http.StatusOK, gin.H{"tokens": out, "total": len(out)})
}

// MaxTokenDays bounds the lifetime of a token made through the API.
const MaxTokenDays = 365

func (s *Server) createToken(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, 64<<10)
	name := strings.TrimSpace(c.PostForm("name"))
	if name == "" || len(name) > 128 {
		apiError(c, http.StatusBadRequest, "name: required, at most 128 characters")
		return
	}
	days := 90
	if d := c.PostForm("expires_days"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > MaxTokenDays {
			apiError(c, http.StatusBadRequest, "expires_days: want 1..%d", MaxTokenDays)
			return
		}
		days = n
	}
	caller := CallerOf(c)
	var perms []string
	for _, v := range c.PostFormArray("permissions") {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			if !slices.Contains(auth.AllPermissions(), p) {
				apiError(c, http.StatusBadRequest, "permissions: unknown permission %q", p)
				return
			}
			if !caller.Has(p) {
				apiError(c, http.StatusForbidden, "Forbidden: a token cannot get %s, which yours does not have", p)
				return
			}
			perms = append(perms, p)
		}
	}
	key, t, err := s.deps.Tokens.Create(c.Request.Context(), name, perms, time.Duration(days)*24*time.Hour)
	if err != nil {
		s.backendError(c, "creating a token", err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"key": key, "token": s.tokenView(t)})
}

func (s *Server) revokeToken(c *gin.Context) {
	ref := strings.TrimSpace(c.PostForm("id"))
	if ref == "" || len(ref) > 128 {
		apiError(c, http.StatusBadRequest, "id: a token id prefix (6+ hex characters) or name is required")
		return
	}
	found, err := s.deps.Tokens.Find(c.Request.Context(), ref)
	if err != nil {
		s.backendError(c, "finding the token", err)
		return
	}
	switch len(found) {
	case 0:
		apiError(c, http.StatusNotFound, "no token with id prefix or name %q", ref)
		return
	case 1:
	default:
		apiError(c, http.StatusBadRequest, "%d tokens match %q; use a longer id prefix", len(found), ref)
		return
	}
	if err := s.deps.Tokens.Revoke(c.Request.Context(), found[0].Hash); err != nil {
		s.backendError(c, "revoking the token", err)
		return
	}
	found[0].Revoked = true
	c.JSON(http.StatusOK, gin.H{"revoked": s.tokenView(found[0])})
}
