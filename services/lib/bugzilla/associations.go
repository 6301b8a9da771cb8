package bugzilla

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/crashstream/crashstream/storage/objectstore"
)

// AssociationsKey is where the association set lives in the crash bucket.
const AssociationsKey = "bugs/associations.json"

// maxSetBytes bounds the stored set (a large Bugzilla has tens of
// thousands of bugs with signatures: a few MB).
const maxSetBytes = 256 << 20

// Entry is one bug of the set: the signatures its field lists and its
// state when last read.
type Entry struct {
	ID         int64    `json:"id"`
	Signatures []string `json:"signatures"`
	Status     string   `json:"status"`
	Resolution string   `json:"resolution"`
	Summary    string   `json:"summary"`
}

// Open reports whether the bug is unresolved.
func (e Entry) Open() bool { return e.Resolution == "" }

// Set is the association set: every bug whose field lists a signature.
type Set struct {
	// Updated is when the set was last written.
	Updated time.Time `json:"updated"`
	// Through is the start of the last period the job read.
	Through time.Time `json:"through"`
	Bugs    []Entry   `json:"bugs"`
}

// Change counts what Apply changed.
type Change struct {
	// Read is the bugs applied; Added and Removed the (bug, signature)
	// pairs gained and lost; Malformed the skipped "[@" parts.
	Read, Added, Removed, Malformed int
}

// Apply makes the set hold each bug's current field: signatures the field
// gained are added, those it lost removed, and a bug whose field lists
// none leaves the set.
func (s *Set) Apply(bugs []Bug) Change {
	byID := make(map[int64]int, len(s.Bugs))
	for i, e := range s.Bugs {
		byID[e.ID] = i
	}
	var ch Change
	drop := map[int64]bool{}
	for _, b := range bugs {
		ch.Read++
		sigs, bad := ParseSignatures(b.CrashSignature)
		ch.Malformed += bad
		var old []string
		i, had := byID[b.ID]
		if had {
			old = s.Bugs[i].Signatures
		}
		for _, sg := range sigs {
			if !slices.Contains(old, sg) {
				ch.Added++
			}
		}
		for _, sg := range old {
			if !slices.Contains(sigs, sg) {
				ch.Removed++
			}
		}
		e := Entry{ID: b.ID, Signatures: sigs, Status: b.Status, Resolution: b.Resolution, Summary: b.Summary}
		switch {
		case len(sigs) == 0 && had:
			drop[b.ID] = true
		case len(sigs) == 0:
		case had:
			s.Bugs[i] = e
			delete(drop, b.ID)
		default:
			byID[b.ID] = len(s.Bugs)
			s.Bugs = append(s.Bugs, e)
		}
	}
	if len(drop) > 0 {
		s.Bugs = slices.DeleteFunc(s.Bugs, func(e Entry) bool { return drop[e.ID] })
	}
	sort.Slice(s.Bugs, func(i, j int) bool { return s.Bugs[i].ID < s.Bugs[j].ID })
	return ch
}

// Getter reads objects (*objectstore.Bucket); a missing key wraps
// objectstore.ErrNotFound.
type Getter interface {
	GetBytes(ctx context.Context, key string, maxSize int64) ([]byte, error)
}

// Store reads and replaces the set (*objectstore.Bucket).
type Store interface {
	Getter
	PutBytes(ctx context.Context, key string, data []byte, contentType string) error
}

// LoadSet reads the stored set; before the first run it is empty.
func LoadSet(ctx context.Context, g Getter) (*Set, error) {
	data, err := g.GetBytes(ctx, AssociationsKey, maxSetBytes)
	if errors.Is(err, objectstore.ErrNotFound) {
		return &Set{}, nil
	}
	if err != nil {
		return nil, err
	}
	var s Set
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("bugzilla: %s: %w", AssociationsKey, err)
	}
	return &s, nil
}

// SaveSet replaces the stored set with s in one write.
func SaveSet(ctx context.Context, st Store, s *Set) error {
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return st.PutBytes(ctx, AssociationsKey, data, "application/json")
}

// Index answers which bugs name a signature and which signatures a bug
// names, from one version of the set.
type Index struct {
	bugs  map[int64]Entry
	bySig map[string][]int64
}

// NewIndex indexes s. A signature's bugs are ordered open first, then by
// id, newest first.
func NewIndex(s *Set) *Index {
	ix := &Index{bugs: make(map[int64]Entry, len(s.Bugs)), bySig: map[string][]int64{}}
	for _, e := range s.Bugs {
		ix.bugs[e.ID] = e
		for _, sg := range e.Signatures {
			ix.bySig[sg] = append(ix.bySig[sg], e.ID)
		}
	}
	for _, ids := range ix.bySig {
		sort.Slice(ids, func(i, j int) bool {
			a, b := ix.bugs[ids[i]], ix.bugs[ids[j]]
			if a.Open() != b.Open() {
				return a.Open()
			}
			return a.ID > b.ID
		})
	}
	return ix
}

// Pair is one (bug, signature) association, as the Bugs and
// SignaturesByBugs API models answer them.
type Pair struct {
	ID        int64  `json:"id"`
	Signature string `json:"signature"`
}

// ForSignature lists the bugs naming sig, open first.
func (ix *Index) ForSignature(sig string) []Entry {
	ids := ix.bySig[sig]
	out := make([]Entry, len(ids))
	for i, id := range ids {
		out[i] = ix.bugs[id]
	}
	return out
}

// Bug returns a bug of the set.
func (ix *Index) Bug(id int64) (Entry, bool) {
	e, ok := ix.bugs[id]
	return e, ok
}

// BySignatures lists the pairs of the given signatures, by id then
// signature.
func (ix *Index) BySignatures(sigs []string) []Pair {
	var out []Pair
	seen := map[string]bool{}
	for _, sg := range sigs {
		if seen[sg] {
			continue
		}
		seen[sg] = true
		for _, id := range ix.bySig[sg] {
			out = append(out, Pair{ID: id, Signature: sg})
		}
	}
	sortPairs(out)
	return out
}

// ByBugs lists the pairs of the given bugs, by id then signature.
func (ix *Index) ByBugs(ids []int64) []Pair {
	var out []Pair
	seen := map[int64]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		for _, sg := range ix.bugs[id].Signatures {
			out = append(out, Pair{ID: id, Signature: sg})
		}
	}
	sortPairs(out)
	return out
}

func sortPairs(p []Pair) {
	sort.Slice(p, func(i, j int) bool {
		if p[i].ID != p[j].ID {
			return p[i].ID < p[j].ID
		}
		return p[i].Signature < p[j].Signature
	})
}

// Cache keeps the latest Index, reading the set again when it is older
// than TTL. Safe for concurrent use.
type Cache struct {
	get Getter
	ttl time.Duration
	now func() time.Time

	mu     sync.Mutex
	idx    *Index
	loaded time.Time
}

// NewCache reads the set from g at most once per ttl.
func NewCache(g Getter, ttl time.Duration) *Cache {
	return &Cache{get: g, ttl: ttl, now: time.Now}
}

// Index returns the current index. When a refresh fails and an older
// index is held, the older one is answered (bug links are not worth a
// failed page).
func (c *Cache) Index(ctx context.Context) (*Index, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.idx != nil && c.now().Sub(c.loaded) < c.ttl {
		return c.idx, nil
	}
	s, err := LoadSet(ctx, c.get)
	if err != nil {
		if c.idx != nil {
			return c.idx, nil
		}
		return nil, err
	}
	c.idx, c.loaded = NewIndex(s), c.now()
	return c.idx, nil
}
