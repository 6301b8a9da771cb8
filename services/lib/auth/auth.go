// Package auth is Crash Stats' access model: API tokens with permissions
// and an expiry, stored hashed; the caller of each request; and the
// permission names Socorro uses.
//
// Tokens live in the object store (one object per token, keyed by the
// SHA-256 of the token, under tokens/ in the crash bucket). That store is
// already required by every deployment, survives restarts, is shared by
// every webapp replica with read-after-write consistency, and needs no new
// database; a token lookup is one small GET. Revocation and expiry take
// effect on the next request, since nothing is cached.
//
// The raw token is shown once, at creation; only its hash is stored, so a
// leaked bucket does not leak usable tokens.
//
// Entry points: NewStore over BucketBlobs (or MemBlobs in tests) creates,
// authenticates, lists, revokes and expires tokens; Caller and the
// permission constants say what a request may do. It lives in services/lib,
// not in the webapp, because the webapp is one of several users: the cron
// job that drops expired tokens, the `crashstream token` command and the
// end-to-end tests reach it without importing a service.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Permissions, as Socorro names them (without the crashstats. prefix).
const (
	// ViewPII lets a caller see protected fields and search on them.
	ViewPII = "view_pii"
	// ViewRawDump lets a caller download raw dumps and the raw crash.
	ViewRawDump = "view_rawdump"
	// ReprocessCrashes lets a caller ask for crashes to be reprocessed.
	ReprocessCrashes = "reprocess_crashes"
	// UploadSymbols lets a caller upload symbol files.
	UploadSymbols = "upload_symbols"
	// ManageTokens lets a caller create (with a subset of its own
	// permissions), list and revoke tokens through the admin API.
	ManageTokens = "manage_tokens"
)

// AllPermissions lists every permission.
func AllPermissions() []string {
	return []string{ViewPII, ViewRawDump, ReprocessCrashes, UploadSymbols, ManageTokens}
}

// Token is a stored API token. The raw key is never stored.
type Token struct {
	// Hash is the hex SHA-256 of the raw key; it is the token's id.
	Hash        string    `json:"hash"`
	Name        string    `json:"name"`
	Permissions []string  `json:"permissions"`
	Created     time.Time `json:"created"`
	Expires     time.Time `json:"expires"`
	Revoked     bool      `json:"revoked"`
}

// Valid reports whether the token may be used at now.
func (t Token) Valid(now time.Time) bool { return !t.Revoked && now.Before(t.Expires) }

// Caller is who made a request and what they may do.
type Caller struct {
	// Anonymous is true without a valid token or session.
	Anonymous bool
	// Name is the token's name ("" when anonymous).
	Name string
	// TokenHash identifies the token (for rate limits and audit).
	TokenHash   string
	Permissions []string
}

// Has reports whether the caller holds permission p.
func (c Caller) Has(p string) bool { return !c.Anonymous && slices.Contains(c.Permissions, p) }

// Anonymous is the caller without credentials.
func Anonymous() Caller { return Caller{Anonymous: true} }

// ErrInvalidToken is returned for unknown, expired and revoked tokens.
var ErrInvalidToken = errors.New("invalid, expired or revoked token")

// HashKey returns the stored id of a raw token key.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Blobs is the object storage the token store needs; the crash bucket
// (*objectstore.Bucket) satisfies it through a small adapter in webapp.
type Blobs interface {
	Get(ctx context.Context, key string) ([]byte, error) // ErrNotFound-wrapping error when absent
	Put(ctx context.Context, key string, data []byte) error
	List(ctx context.Context, prefix string) ([]string, error)
	Delete(ctx context.Context, key string) error
	IsNotFound(err error) bool
}

// Store keeps tokens in Blobs under tokens/<hash>.
type Store struct {
	blobs Blobs
	now   func() time.Time
}

// NewStore returns a token store.
func NewStore(b Blobs) *Store { return &Store{blobs: b, now: time.Now} }

const prefix = "tokens/"

// Create makes a token and returns its raw key (shown once) and record.
func (s *Store) Create(ctx context.Context, name string, perms []string, ttl time.Duration) (string, Token, error) {
	if strings.TrimSpace(name) == "" {
		return "", Token{}, errors.New("a token needs a name")
	}
	if ttl <= 0 {
		return "", Token{}, errors.New("a token needs a positive lifetime")
	}
	for _, p := range perms {
		if !slices.Contains(AllPermissions(), p) {
			return "", Token{}, fmt.Errorf("unknown permission %q (known: %s)", p, strings.Join(AllPermissions(), ", "))
		}
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", Token{}, err
	}
	key := hex.EncodeToString(raw) // 32 characters, like Socorro's keys
	now := s.now().UTC()
	perms = slices.Clone(perms)
	sort.Strings(perms)
	perms = slices.Compact(perms)
	t := Token{Hash: HashKey(key), Name: name, Permissions: perms, Created: now, Expires: now.Add(ttl)}
	if err := s.put(ctx, t); err != nil {
		return "", Token{}, err
	}
	return key, t, nil
}

func (s *Store) put(ctx context.Context, t Token) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return s.blobs.Put(ctx, prefix+t.Hash, b)
}

// Get returns the token with this hash.
func (s *Store) Get(ctx context.Context, hash string) (Token, error) {
	if len(hash) != 64 {
		return Token{}, ErrInvalidToken
	}
	b, err := s.blobs.Get(ctx, prefix+hash)
	if err != nil {
		if s.blobs.IsNotFound(err) {
			return Token{}, ErrInvalidToken
		}
		return Token{}, err
	}
	var t Token
	if err := json.Unmarshal(b, &t); err != nil {
		return Token{}, fmt.Errorf("token %s: %w", hash[:8], err)
	}
	return t, nil
}

// Authenticate resolves a raw key to a caller. Unknown, expired and revoked
// keys give ErrInvalidToken; a store failure gives another error.
func (s *Store) Authenticate(ctx context.Context, key string) (Caller, error) {
	key = strings.TrimSpace(key)
	if key == "" || len(key) > 128 {
		return Caller{}, ErrInvalidToken
	}
	t, err := s.Get(ctx, HashKey(key))
	if err != nil {
		return Caller{}, err
	}
	if !t.Valid(s.now()) {
		return Caller{}, ErrInvalidToken
	}
	return Caller{Name: t.Name, TokenHash: t.Hash, Permissions: t.Permissions}, nil
}

// List returns every token, newest first.
func (s *Store) List(ctx context.Context) ([]Token, error) {
	keys, err := s.blobs.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var out []Token
	for _, k := range keys {
		t, err := s.Get(ctx, strings.TrimPrefix(k, prefix))
		if errors.Is(err, ErrInvalidToken) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// Find returns the tokens whose hash starts with idPrefix or whose name is
// idPrefix, for the CLI's revoke.
func (s *Store) Find(ctx context.Context, idPrefix string) ([]Token, error) {
	all, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []Token
	for _, t := range all {
		if t.Name == idPrefix || (len(idPrefix) >= 6 && strings.HasPrefix(t.Hash, idPrefix)) {
			out = append(out, t)
		}
	}
	return out, nil
}

// Revoke marks a token revoked; it keeps the record for audit until the
// tokens housekeeping job deletes it.
func (s *Store) Revoke(ctx context.Context, hash string) error {
	t, err := s.Get(ctx, hash)
	if err != nil {
		return err
	}
	t.Revoked = true
	return s.put(ctx, t)
}

// DeleteExpired removes tokens that expired or were revoked before cutoff;
// it returns how many. The cron "tokens" job calls it.
func (s *Store) DeleteExpired(ctx context.Context, cutoff time.Time) (int, error) {
	all, err := s.List(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, t := range all {
		if t.Expires.Before(cutoff) || t.Revoked {
			if err := s.blobs.Delete(ctx, prefix+t.Hash); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
