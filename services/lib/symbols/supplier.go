package symbols

import (
	"container/list"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Config configures where symbols come from and how much is cached.
type Config struct {
	// Paths are local directories in Breakpad layout (or single .sym files),
	// searched first, in order.
	Paths []string
	// URLs are symbol servers, searched last, in order.
	URLs []string
	// CacheDir holds downloaded files ("" disables the disk cache).
	CacheDir string
	// CacheMaxBytes bounds the disk cache (0 = unbounded).
	CacheMaxBytes int64
	// MemoryMaxBytes bounds the parsed files kept in memory.
	MemoryMaxBytes int64
	// MaxFileBytes bounds one .sym file read from any source (0: 4 GiB), so
	// that a broken server cannot fill the disk cache.
	MaxFileBytes int64
	// FetchTimeout bounds one fetch-and-parse of one module.
	FetchTimeout time.Duration
	// NegativeTTL is how long a missing or corrupt module is remembered.
	NegativeTTL time.Duration
}

// listFlag is a comma-separated, repeatable flag value.
type listFlag struct{ dst *[]string }

func (l listFlag) String() string {
	if l.dst == nil {
		return ""
	}
	return strings.Join(*l.dst, ",")
}

func (l listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l.dst = append(*l.dst, s)
		}
	}
	return nil
}

// RegisterFlagsWithPrefix registers the symbol flags (prefix usually
// "symbols.").
func (c *Config) RegisterFlagsWithPrefix(prefix string, fs *flag.FlagSet) {
	fs.Var(listFlag{&c.Paths}, prefix+"path", "local symbol directories in Breakpad layout (comma-separated, repeatable)")
	fs.Var(listFlag{&c.URLs}, prefix+"url", "symbol server base URLs (comma-separated, repeatable)")
	fs.StringVar(&c.CacheDir, prefix+"cache-dir", c.CacheDir, "directory caching downloaded symbol files (empty: no disk cache)")
	fs.Int64Var(&c.CacheMaxBytes, prefix+"cache-max-bytes", 20<<30, "size bound of the symbol disk cache (0: unbounded)")
	fs.Int64Var(&c.MemoryMaxBytes, prefix+"memory-max-bytes", 2<<30, "size bound of parsed symbol files kept in memory")
	fs.Int64Var(&c.MaxFileBytes, prefix+"max-file-bytes", 4<<30, "largest symbol file accepted")
	fs.DurationVar(&c.FetchTimeout, prefix+"fetch-timeout", 2*time.Minute, "timeout of one symbol file fetch and parse")
	fs.DurationVar(&c.NegativeTTL, prefix+"negative-ttl", 10*time.Minute, "how long a missing symbol file is remembered")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	for _, u := range c.URLs {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return fmt.Errorf("symbols.url: %q is not an http(s) URL", u)
		}
	}
	if c.CacheMaxBytes < 0 {
		return errors.New("symbols.cache-max-bytes: must not be negative")
	}
	if c.MaxFileBytes < 0 {
		return errors.New("symbols.max-file-bytes: must not be negative")
	}
	if c.MemoryMaxBytes < 0 {
		return errors.New("symbols.memory-max-bytes: must not be negative")
	}
	if c.FetchTimeout <= 0 {
		return errors.New("symbols.fetch-timeout: must be positive")
	}
	if c.NegativeTTL < 0 {
		return errors.New("symbols.negative-ttl: must not be negative")
	}
	return nil
}

// Result is the outcome of loading one module's symbols.
type Result struct {
	File *SymbolFile
	// URL is the symbol_url to report (empty for local files).
	URL string
	// Err is nil when File is set; ErrNotFound when no source has the file;
	// a *ParseError when the file is corrupt; else a fetch failure.
	Err error
}

// Supplier finds, parses and caches symbol files. Sources are tried in
// rust-minidump's order: local paths, the disk cache, then the remote
// sources (the extra ones given to NewSupplier, such as an object store
// bucket, then the symbol servers); remote files are copied into the disk
// cache while they are parsed. Concurrent requests
// for one module share one fetch; parsed files are kept in a size-bounded
// LRU; misses are remembered for NegativeTTL.
type Supplier struct {
	cfg    Config
	local  []Source
	remote []Source
	disk   *DiskCache
	group  singleflight.Group
	now    func() time.Time

	mu       sync.Mutex
	lru      *list.List // of *memEntry, front = most recent
	index    map[Key]*list.Element
	memBytes int64
}

type memEntry struct {
	key     Key
	res     Result
	size    int64
	expires time.Time // zero for positive entries
}

// NewSupplier builds a Supplier. extra sources (the object store bucket) are
// searched after the local paths and before the symbol servers.
func NewSupplier(cfg Config, client *http.Client, extra ...Source) (*Supplier, error) {
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = 2 * time.Minute
	}
	if cfg.MaxFileBytes <= 0 {
		cfg.MaxFileBytes = 4 << 30
	}
	s := &Supplier{cfg: cfg, now: time.Now, lru: list.New(), index: map[Key]*list.Element{}}
	for _, p := range cfg.Paths {
		s.local = append(s.local, DirSource{Path: p})
	}
	s.remote = append(s.remote, extra...)
	for _, u := range cfg.URLs {
		s.remote = append(s.remote, HTTPSource{BaseURL: u, Client: client})
	}
	if cfg.CacheDir != "" {
		d, err := OpenDiskCache(cfg.CacheDir, cfg.CacheMaxBytes)
		if err != nil {
			return nil, err
		}
		s.disk = d
	}
	return s, nil
}

// Load returns the symbols of one module. It never returns a nil Result.Err
// without a File.
func (s *Supplier) Load(ctx context.Context, k Key) Result {
	if r, ok := s.cached(k); ok {
		return r
	}
	ch := s.group.DoChan(k.DebugFile+"\x00"+k.DebugID+"\x00"+k.CodeFile+"\x00"+k.CodeID, func() (any, error) {
		if r, ok := s.cached(k); ok {
			return r, nil
		}
		// The fetch is shared by every waiter, so it must not die with the
		// first caller's context; it is bounded by FetchTimeout instead,
		// and a caller whose deadline passes stops waiting for it.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.FetchTimeout)
		defer cancel()
		r := s.fetch(fctx, k)
		s.remember(k, r)
		return r, nil
	})
	select {
	case v := <-ch:
		return v.Val.(Result)
	case <-ctx.Done():
		return Result{Err: ctx.Err()}
	}
}

func (s *Supplier) cached(k Key) (Result, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.index[k]
	if !ok {
		return Result{}, false
	}
	me := e.Value.(*memEntry)
	if !me.expires.IsZero() && s.now().After(me.expires) {
		s.removeLocked(e)
		return Result{}, false
	}
	s.lru.MoveToFront(e)
	return me.res, true
}

func (s *Supplier) removeLocked(e *list.Element) {
	me := e.Value.(*memEntry)
	s.lru.Remove(e)
	delete(s.index, me.key)
	s.memBytes -= me.size
}

func (s *Supplier) remember(k Key, r Result) {
	me := &memEntry{key: k, res: r, size: 128}
	switch {
	case r.File != nil:
		me.size = r.File.SizeBytes()
	case errors.Is(r.Err, ErrNotFound), isParseError(r.Err):
		me.expires = s.now().Add(s.cfg.NegativeTTL)
	default:
		return // transient failures are retried by the next dump
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.index[k]; ok {
		s.removeLocked(e)
	}
	s.index[k] = s.lru.PushFront(me)
	s.memBytes += me.size
	for s.cfg.MemoryMaxBytes > 0 && s.memBytes > s.cfg.MemoryMaxBytes && s.lru.Len() > 1 {
		s.removeLocked(s.lru.Back())
	}
}

// ForgetMissing drops every remembered miss, so the next lookups ask the
// sources again: symbols uploaded after a crash was first processed must be
// found when that crash is reprocessed, without waiting out NegativeTTL.
func (s *Supplier) ForgetMissing() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for e := s.lru.Front(); e != nil; {
		next := e.Next()
		if me := e.Value.(*memEntry); !me.expires.IsZero() {
			s.removeLocked(e)
		}
		e = next
	}
}

func isParseError(err error) bool {
	var pe *ParseError
	return errors.As(err, &pe) || errors.Is(err, ErrEmptyFile)
}

func (s *Supplier) fetch(ctx context.Context, k Key) Result {
	var firstErr error
	try := func(src Source) (Result, bool) {
		rc, u, err := src.Open(ctx, k)
		if err != nil {
			if !errors.Is(err, ErrNotFound) && firstErr == nil {
				firstErr = err
			}
			return Result{}, false
		}
		defer rc.Close()
		// A local file is parsed in place, but its snapshot can still live
		// in the disk cache, keyed by the file's path, size and time.
		snapKey := ""
		if f, ok := rc.(*os.File); ok && s.disk != nil && !src.Cacheable() {
			snapKey = localSnapshotKey(f)
			if snapKey != "" {
				if sf, ok := s.readSnapshot(ctx, snapKey); ok {
					return Result{File: sf, URL: sf.URL}, true
				}
			}
		}
		var pending *Pending
		var r io.Reader = &limitReader{r: rc, left: s.cfg.MaxFileBytes}
		if s.disk != nil && src.Cacheable() {
			if rel, ok := k.RelPath(); ok {
				if p, err := s.disk.Create(rel); err == nil {
					pending = p
					r = io.TeeReader(rc, p)
				}
			}
		}
		sf, err := Parse(ctxReader{ctx, r})
		if err != nil {
			if pending != nil {
				pending.Abort()
			}
			return Result{Err: err, URL: u}, true
		}
		if sf.URL != "" && u == "" {
			u = sf.URL
		}
		if snapKey != "" {
			s.writeSnapshotAt(snapKey, sf)
		}
		if pending != nil {
			// A failed cache write only costs a refetch.
			if pending.Commit(u) == nil {
				if sf.URL == "" {
					sf.URL = u
				}
				s.writeSnapshot(k, sf)
			}
		}
		return Result{File: sf, URL: u}, true
	}
	for _, src := range s.local {
		if r, ok := try(src); ok {
			return r
		}
	}
	if s.disk != nil {
		if rel, ok := k.RelPath(); ok {
			if sf, ok := s.readSnapshot(ctx, rel+snapshotExt); ok {
				return Result{File: sf, URL: sf.URL}
			}
			if f, err := s.disk.Open(rel); err == nil {
				sf, err := Parse(ctxReader{ctx, f})
				f.Close()
				if err == nil {
					s.writeSnapshot(k, sf)
					return Result{File: sf, URL: sf.URL}
				}
			}
		}
	}
	for _, src := range s.remote {
		if r, ok := try(src); ok {
			return r
		}
	}
	if firstErr != nil {
		return Result{Err: firstErr}
	}
	return Result{Err: ErrNotFound}
}

// writeSnapshot stores a parsed file's snapshot in the disk cache next to
// its .sym; failure only costs a text parse next time.
func (s *Supplier) writeSnapshot(k Key, sf *SymbolFile) {
	if rel, ok := k.RelPath(); ok {
		s.writeSnapshotAt(rel+snapshotExt, sf)
	}
}

func (s *Supplier) writeSnapshotAt(rel string, sf *SymbolFile) {
	if s.disk == nil {
		return
	}
	p, err := s.disk.Create(rel)
	if err != nil {
		return
	}
	if err := sf.WriteSnapshot(p); err != nil {
		p.Abort()
		return
	}
	_ = p.Commit("")
}

func (s *Supplier) readSnapshot(ctx context.Context, rel string) (*SymbolFile, bool) {
	f, err := s.disk.Open(rel)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	sf, err := ReadSnapshot(ctxReader{ctx, f})
	return sf, err == nil
}

// localSnapshotKey names the snapshot of a local .sym file in the disk
// cache: a changed file (other size or time) gets a new name.
func localSnapshotKey(f *os.File) string {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return ""
	}
	abs, err := filepath.Abs(f.Name())
	if err != nil {
		return ""
	}
	h := sha256.Sum256([]byte(abs))
	return fmt.Sprintf("%s/%x-%d-%d%s", localSnapshotDir, h[:12], st.Size(), st.ModTime().UnixNano(), snapshotExt)
}

// ErrTooLarge reports a symbol file over Config.MaxFileBytes.
var ErrTooLarge = errors.New("symbols: file too large")

// limitReader fails (rather than truncating, which would parse as a valid
// but incomplete file) once more than left bytes were read.
type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		if n, _ := l.r.Read(one[:]); n > 0 {
			return 0, ErrTooLarge
		}
		return l.r.Read(p)
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// ctxReader stops a long parse when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
