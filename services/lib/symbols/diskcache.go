package symbols

import (
	"container/list"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// DiskCache keeps downloaded .sym files on disk in Breakpad layout (so that
// minidump-stackwalk can share the directory), each with a binary snapshot
// of its parsed tables (<name>.sym.snap) that loads much faster than the
// text, bounded in total size by
// evicting the least recently used files. Writes go to a temporary file in
// the same directory and are renamed into place, so readers never see a
// partial file.
type DiskCache struct {
	dir      string
	maxBytes int64

	mu    sync.Mutex
	lru   *list.List // front = most recently used; values are *diskEntry
	index map[string]*list.Element
	total int64
}

type diskEntry struct {
	rel  string
	size int64
}

const tmpDirName = ".tmp"

// localSnapshotDir holds the snapshots of symbol files read from local
// directories (which are not copied into the cache).
const localSnapshotDir = "_local"

// snapshotExt is appended to a cached .sym path for its snapshot
// (xul.sym -> xul.sym.snap).
const snapshotExt = ".snap"

// OpenDiskCache indexes an existing cache directory (oldest modification
// time = least recently used) and trims it to maxBytes. With maxBytes 0
// the cache is unbounded and the directory is not indexed.
func OpenDiskCache(dir string, maxBytes int64) (*DiskCache, error) {
	if err := os.MkdirAll(filepath.Join(dir, tmpDirName), 0o755); err != nil {
		return nil, fmt.Errorf("symbols cache: %w", err)
	}
	c := &DiskCache{dir: dir, maxBytes: maxBytes, lru: list.New(), index: map[string]*list.Element{}}
	if maxBytes == 0 {
		// Unbounded: nothing will be evicted, so skip indexing what may be
		// a large shared directory (a one-shot CLI run would pay for it).
		return c, nil
	}
	type found struct {
		rel   string
		size  int64
		mtime time.Time
	}
	var files []found
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable parts of a cache are just not indexed
		}
		if d.IsDir() {
			if d.Name() == tmpDirName {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), ".sym") && !strings.HasSuffix(d.Name(), snapshotExt) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return nil
		}
		files = append(files, found{filepath.ToSlash(rel), info.Size(), info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("symbols cache: %w", err)
	}
	// Oldest first, each pushed to the front: the newest ends up in front.
	for i := 1; i < len(files); i++ {
		for j := i; j > 0 && files[j].mtime.Before(files[j-1].mtime); j-- {
			files[j], files[j-1] = files[j-1], files[j]
		}
	}
	for _, f := range files {
		c.index[f.rel] = c.lru.PushFront(&diskEntry{rel: f.rel, size: f.size})
		c.total += f.size
	}
	c.mu.Lock()
	c.evictLocked()
	c.mu.Unlock()
	return c, nil
}

// Dir is the cache's root directory.
func (c *DiskCache) Dir() string { return c.dir }

// Size is the total size of the cached files.
func (c *DiskCache) Size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// Open returns a cached file and marks it recently used, or ErrNotFound.
func (c *DiskCache) Open(rel string) (*os.File, error) {
	f, err := os.Open(filepath.Join(c.dir, filepath.FromSlash(rel)))
	if errors.Is(err, fs.ErrNotExist) {
		c.mu.Lock()
		if e, ok := c.index[rel]; ok { // removed behind our back
			c.total -= e.Value.(*diskEntry).size
			c.lru.Remove(e)
			delete(c.index, rel)
		}
		c.mu.Unlock()
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	now := time.Now()
	_ = os.Chtimes(f.Name(), now, now) // persist recency across restarts
	c.mu.Lock()
	if e, ok := c.index[rel]; ok {
		c.lru.MoveToFront(e)
	} else if st, err := f.Stat(); err == nil {
		c.index[rel] = c.lru.PushFront(&diskEntry{rel: rel, size: st.Size()})
		c.total += st.Size()
	}
	c.mu.Unlock()
	return f, nil
}

// Pending is a cache file being written; Commit publishes it atomically,
// Abort discards it.
type Pending struct {
	c    *DiskCache
	rel  string
	f    *os.File
	size int64
}

// Create starts writing a cache entry.
func (c *DiskCache) Create(rel string) (*Pending, error) {
	f, err := os.CreateTemp(filepath.Join(c.dir, tmpDirName), "dl-*.sym")
	if err != nil {
		return nil, err
	}
	return &Pending{c: c, rel: rel, f: f}, nil
}

// Write implements io.Writer.
func (p *Pending) Write(b []byte) (int, error) {
	n, err := p.f.Write(b)
	p.size += int64(n)
	return n, err
}

// Abort removes the partial file.
func (p *Pending) Abort() {
	p.f.Close()
	os.Remove(p.f.Name())
}

// Commit appends "INFO URL" (so a cache hit still reports where the file
// came from), then renames the file into place and evicts old entries.
func (p *Pending) Commit(symbolURL string) error {
	if symbolURL != "" {
		if _, err := io.WriteString(p, "\nINFO URL "+symbolURL+"\n"); err != nil {
			p.Abort()
			return err
		}
	}
	if err := p.f.Sync(); err != nil {
		p.Abort()
		return err
	}
	if err := p.f.Close(); err != nil {
		os.Remove(p.f.Name())
		return err
	}
	dst := filepath.Join(p.c.dir, filepath.FromSlash(p.rel))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		os.Remove(p.f.Name())
		return err
	}
	if err := os.Rename(p.f.Name(), dst); err != nil {
		os.Remove(p.f.Name())
		return err
	}
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.index[p.rel]; ok {
		c.total -= e.Value.(*diskEntry).size
		c.lru.Remove(e)
	}
	c.index[p.rel] = c.lru.PushFront(&diskEntry{rel: p.rel, size: p.size})
	c.total += p.size
	c.evictLocked()
	return nil
}

func (c *DiskCache) evictLocked() {
	for c.maxBytes > 0 && c.total > c.maxBytes && c.lru.Len() > 1 {
		e := c.lru.Back()
		de := e.Value.(*diskEntry)
		c.lru.Remove(e)
		delete(c.index, de.rel)
		c.total -= de.size
		os.Remove(filepath.Join(c.dir, filepath.FromSlash(de.rel)))
	}
}
