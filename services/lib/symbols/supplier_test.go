package symbols

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKeyPaths(t *testing.T) {
	tests := []struct {
		name     string
		k        Key
		rel      string
		relOK    bool
		codeID   string
		codeIDOK bool
	}{
		{"pdb", Key{DebugFile: `c:\build\xul.pdb`, DebugID: "AB1", CodeFile: "xul.dll", CodeID: "5f2eabc1234"},
			"xul.pdb/AB1/xul.sym", true, "xul.dll/5F2EABC1234/xul.sym", true},
		{"upper pdb", Key{DebugFile: "FOO.PDB", DebugID: "AB1"}, "FOO.PDB/AB1/FOO.sym", true, "", false},
		{"elf", Key{DebugFile: "/usr/lib/libxul.so", DebugID: "AB0", CodeFile: "/usr/lib/libxul.so", CodeID: "abcd"},
			"libxul.so/AB0/libxul.so.sym", true, "libxul.so/ABCD/libxul.so.sym", true},
		{"empty debug file falls back to code file", Key{CodeFile: "/bin/app", DebugID: "AB0"}, "app/AB0/app.sym", true, "", false},
		{"traversal id", Key{DebugFile: "a.pdb", DebugID: ".."}, "", false, "", false},
		{"slash in id", Key{DebugFile: "a.pdb", DebugID: "x/y"}, "", false, "", false},
		{"no id", Key{DebugFile: "a.pdb"}, "", false, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rel, ok := tc.k.RelPath()
			assert.Equal(t, tc.relOK, ok)
			assert.Equal(t, tc.rel, rel)
			cp, ok := tc.k.CodeIDPath()
			assert.Equal(t, tc.codeIDOK, ok)
			assert.Equal(t, tc.codeID, cp)
		})
	}
}

const tinySym = "MODULE Linux x86_64 AB0 app\nFUNC 10 10 0 main\n10 10 3 0\nFILE 0 a.c\n"

func writeSym(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}

func TestDirSource(t *testing.T) {
	dir := t.TempDir()
	writeSym(t, dir, "app/AB0/app.sym", tinySym)
	s, err := NewSupplier(Config{Paths: []string{filepath.Join(dir, "missing"), dir}}, nil)
	require.NoError(t, err)
	r := s.Load(context.Background(), Key{DebugFile: "app", DebugID: "AB0"})
	require.NoError(t, r.Err)
	assert.Equal(t, "", r.URL)
	loc, ok := r.File.Lookup(0x12)
	require.True(t, ok)
	assert.Equal(t, "main", loc.Function)

	r = s.Load(context.Background(), Key{DebugFile: "app", DebugID: "AB1"})
	assert.ErrorIs(t, r.Err, ErrNotFound)

	// A single .sym file as the path matches on its MODULE id.
	single, err := NewSupplier(Config{Paths: []string{filepath.Join(dir, "app/AB0/app.sym")}}, nil)
	require.NoError(t, err)
	assert.NoError(t, single.Load(context.Background(), Key{DebugFile: "whatever", DebugID: "ab0"}).Err)
	assert.ErrorIs(t, single.Load(context.Background(), Key{DebugFile: "app", DebugID: "AB1"}).Err, ErrNotFound)
}

func TestCorruptFileReported(t *testing.T) {
	dir := t.TempDir()
	writeSym(t, dir, "app/AB0/app.sym", "MODULE Linux x86_64 AB0 app\nGARBAGE\n")
	s, err := NewSupplier(Config{Paths: []string{dir}, NegativeTTL: time.Hour}, nil)
	require.NoError(t, err)
	r := s.Load(context.Background(), Key{DebugFile: "app", DebugID: "AB0"})
	var pe *ParseError
	assert.ErrorAs(t, r.Err, &pe)
}

// symServer serves tinySym at its Breakpad path, counting requests.
type symServer struct {
	hits   atomic.Int64
	gate   chan struct{} // when set, requests wait for it
	status int
}

func (s *symServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	if s.gate != nil {
		<-s.gate
	}
	if s.status != 0 {
		w.WriteHeader(s.status)
		return
	}
	switch r.URL.Path {
	case "/app/AB0/app.sym":
		io.WriteString(w, tinySym)
	case "/app.exe/5F00AA1000/app.sym":
		io.WriteString(w, strings.Replace(tinySym, "AB0", "CD0", 1))
	default:
		http.NotFound(w, r)
	}
}

func TestHTTPSourceCacheAndNegatives(t *testing.T) {
	srv := &symServer{}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	cacheDir := t.TempDir()
	s, err := NewSupplier(Config{URLs: []string{ts.URL}, CacheDir: cacheDir, NegativeTTL: time.Hour, FetchTimeout: 10 * time.Second}, ts.Client())
	require.NoError(t, err)
	ctx := context.Background()

	r := s.Load(ctx, Key{DebugFile: "app", DebugID: "AB0"})
	require.NoError(t, r.Err)
	assert.Equal(t, ts.URL+"/app/AB0/app.sym", r.URL)
	cached, err := os.ReadFile(filepath.Join(cacheDir, "app/AB0/app.sym"))
	require.NoError(t, err)
	assert.Contains(t, string(cached), "INFO URL "+ts.URL+"/app/AB0/app.sym")

	// Memory cache: no new request.
	before := srv.hits.Load()
	require.NoError(t, s.Load(ctx, Key{DebugFile: "app", DebugID: "AB0"}).Err)
	assert.Equal(t, before, srv.hits.Load())

	// A fresh supplier finds the file in the disk cache (as a snapshot),
	// URL included; without the snapshot it parses the cached text.
	_, err = os.Stat(filepath.Join(cacheDir, "app/AB0/app.sym.snap"))
	require.NoError(t, err)
	for _, dropSnapshot := range []bool{false, true} {
		if dropSnapshot {
			require.NoError(t, os.Remove(filepath.Join(cacheDir, "app/AB0/app.sym.snap")))
		}
		s2, err := NewSupplier(Config{URLs: []string{ts.URL}, CacheDir: cacheDir}, ts.Client())
		require.NoError(t, err)
		r2 := s2.Load(ctx, Key{DebugFile: "app", DebugID: "AB0"})
		require.NoError(t, r2.Err)
		assert.Equal(t, r.URL, r2.URL)
		assert.Equal(t, before, srv.hits.Load())
		loc, ok := r2.File.Lookup(0x12)
		require.True(t, ok)
		assert.Equal(t, "main", loc.Function)
	}
	_, err = os.Stat(filepath.Join(cacheDir, "app/AB0/app.sym.snap"))
	assert.NoError(t, err, "the snapshot is rewritten after a text parse")

	// Misses are remembered.
	miss := Key{DebugFile: "nope", DebugID: "AB0"}
	assert.ErrorIs(t, s.Load(ctx, miss).Err, ErrNotFound)
	n := srv.hits.Load()
	assert.ErrorIs(t, s.Load(ctx, miss).Err, ErrNotFound)
	assert.Equal(t, n, srv.hits.Load())

	// Code-id fallback.
	r3 := s.Load(ctx, Key{DebugFile: "app.pdb", DebugID: "FF0", CodeFile: "app.exe", CodeID: "5f00aa1000"})
	require.NoError(t, r3.Err)
	assert.Equal(t, "CD0", r3.File.Module.DebugID)
}

// TestForgetMissingHTTP: a miss on a symbol server is remembered until
// ForgetMissing, after which the file the server now has is fetched (what
// a reprocess job of the webapp's symbol-server probe relies on).
func TestForgetMissingHTTP(t *testing.T) {
	var serving atomic.Bool
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if !serving.Load() || r.URL.Path != "/app/AB0/app.sym" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, tinySym)
	}))
	defer ts.Close()
	s, err := NewSupplier(Config{URLs: []string{ts.URL}, NegativeTTL: time.Hour}, ts.Client())
	require.NoError(t, err)
	ctx := context.Background()
	k := Key{DebugFile: "app", DebugID: "AB0"}
	require.ErrorIs(t, s.Load(ctx, k).Err, ErrNotFound)
	serving.Store(true)
	n := hits.Load()
	require.ErrorIs(t, s.Load(ctx, k).Err, ErrNotFound, "the miss is remembered")
	assert.Equal(t, n, hits.Load())
	s.ForgetMissing()
	r := s.Load(ctx, k)
	require.NoError(t, r.Err)
	assert.Equal(t, ts.URL+"/app/AB0/app.sym", r.URL)
}

// TestFileURL: the probe's URL is the one Open fetches first, each path
// element escaped, with or without a trailing slash on the base.
func TestFileURL(t *testing.T) {
	for _, base := range []string{"https://sym.example/breakpad", "https://sym.example/breakpad/"} {
		u, ok := HTTPSource{BaseURL: base}.FileURL(Key{DebugFile: "my app.pdb", DebugID: "AB1"})
		require.True(t, ok)
		assert.Equal(t, "https://sym.example/breakpad/my%20app.pdb/AB1/my%20app.sym", u)
	}
	_, ok := HTTPSource{BaseURL: "https://sym.example"}.FileURL(Key{DebugFile: "a.pdb", DebugID: ".."})
	assert.False(t, ok)
}

func TestHTTPServerErrorNotCached(t *testing.T) {
	srv := &symServer{status: http.StatusInternalServerError}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	s, err := NewSupplier(Config{URLs: []string{ts.URL}, NegativeTTL: time.Hour}, ts.Client())
	require.NoError(t, err)
	k := Key{DebugFile: "app", DebugID: "AB0"}
	r := s.Load(context.Background(), k)
	require.Error(t, r.Err)
	assert.NotErrorIs(t, r.Err, ErrNotFound)
	n := srv.hits.Load()
	s.Load(context.Background(), k)
	assert.Greater(t, srv.hits.Load(), n, "a transient failure must be retried")
}

func TestConcurrentLoadsCoalesce(t *testing.T) {
	srv := &symServer{gate: make(chan struct{})}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	s, err := NewSupplier(Config{URLs: []string{ts.URL}}, ts.Client())
	require.NoError(t, err)
	var wg sync.WaitGroup
	results := make([]Result, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = s.Load(context.Background(), Key{DebugFile: "app", DebugID: "AB0"})
		}()
	}
	// Let the one request through once it arrived.
	for srv.hits.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(srv.gate)
	wg.Wait()
	for _, r := range results {
		require.NoError(t, r.Err)
	}
	assert.Equal(t, int64(1), srv.hits.Load())
}

type mapFetcher map[string]string

func (m mapFetcher) Get(_ context.Context, key string) (io.ReadCloser, error) {
	v, ok := m[key]
	if !ok {
		return nil, fmt.Errorf("object %s: %w", key, ErrNotFound)
	}
	return io.NopCloser(strings.NewReader(v)), nil
}

func TestBucketSource(t *testing.T) {
	f := mapFetcher{"syms/app/AB0/app.sym": tinySym}
	s, err := NewSupplier(Config{}, nil, BucketSource{Fetcher: f, Prefix: "syms/", Name: "s3://bucket"})
	require.NoError(t, err)
	r := s.Load(context.Background(), Key{DebugFile: "app", DebugID: "AB0"})
	require.NoError(t, r.Err)
	assert.Equal(t, "s3://bucket/syms/app/AB0/app.sym", r.URL)
	assert.ErrorIs(t, s.Load(context.Background(), Key{DebugFile: "app", DebugID: "AB1"}).Err, ErrNotFound)
}

func TestDiskCacheLRU(t *testing.T) {
	dir := t.TempDir()
	c, err := OpenDiskCache(dir, 250)
	require.NoError(t, err)
	put := func(rel string) {
		p, err := c.Create(rel)
		require.NoError(t, err)
		_, err = p.Write(bytes.Repeat([]byte("x"), 100))
		require.NoError(t, err)
		require.NoError(t, p.Commit(""))
	}
	put("a/1/a.sym")
	put("b/1/b.sym")
	f, err := c.Open("a/1/a.sym") // a is now more recent than b
	require.NoError(t, err)
	f.Close()
	put("c/1/c.sym") // over 250 bytes: evicts b
	_, err = c.Open("b/1/b.sym")
	assert.ErrorIs(t, err, ErrNotFound)
	for _, rel := range []string{"a/1/a.sym", "c/1/c.sym"} {
		f, err := c.Open(rel)
		require.NoError(t, err, rel)
		f.Close()
	}
	assert.Equal(t, int64(200), c.Size())

	// Reopening indexes what is on disk, and aborted writes leave nothing.
	p, err := c.Create("d/1/d.sym")
	require.NoError(t, err)
	p.Abort()
	c2, err := OpenDiskCache(dir, 1000)
	require.NoError(t, err)
	assert.Equal(t, int64(200), c2.Size())
	tmp, err := os.ReadDir(filepath.Join(dir, tmpDirName))
	require.NoError(t, err)
	assert.Empty(t, tmp)
}

func TestMemoryBound(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"AB0", "AB1", "AB2"} {
		writeSym(t, dir, "app/"+id+"/app.sym", strings.Replace(tinySym, "AB0", id, 1))
	}
	s, err := NewSupplier(Config{Paths: []string{dir}, MemoryMaxBytes: 1}, nil)
	require.NoError(t, err)
	for _, id := range []string{"AB0", "AB1", "AB2"} {
		require.NoError(t, s.Load(context.Background(), Key{DebugFile: "app", DebugID: id}).Err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.Equal(t, 1, s.lru.Len(), "the bound keeps only the most recent file")
}

func TestConfigValidate(t *testing.T) {
	good := Config{FetchTimeout: time.Second}
	assert.NoError(t, good.Validate())
	bad := Config{FetchTimeout: time.Second, URLs: []string{"ftp://x"}}
	assert.ErrorContains(t, bad.Validate(), "symbols.url")
	bad = Config{}
	assert.ErrorContains(t, bad.Validate(), "symbols.fetch-timeout")
}

func TestLoadHonoursCallerDeadline(t *testing.T) {
	srv := &symServer{gate: make(chan struct{})}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	s, err := NewSupplier(Config{URLs: []string{ts.URL}, FetchTimeout: time.Minute}, ts.Client())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Result)
	go func() { done <- s.Load(ctx, Key{DebugFile: "app", DebugID: "AB0"}) }()
	for srv.hits.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	r := <-done
	assert.ErrorIs(t, r.Err, context.Canceled)
	// The shared fetch still completes and fills the cache.
	close(srv.gate)
	require.Eventually(t, func() bool {
		_, ok := s.cached(Key{DebugFile: "app", DebugID: "AB0"})
		return ok
	}, 10*time.Second, time.Millisecond)
	assert.NoError(t, s.Load(context.Background(), Key{DebugFile: "app", DebugID: "AB0"}).Err)
}

func TestMaxFileBytes(t *testing.T) {
	dir := t.TempDir()
	writeSym(t, dir, "app/AB0/app.sym", tinySym)
	s, err := NewSupplier(Config{Paths: []string{dir}, MaxFileBytes: int64(len(tinySym) - 1)}, nil)
	require.NoError(t, err)
	assert.ErrorIs(t, s.Load(context.Background(), Key{DebugFile: "app", DebugID: "AB0"}).Err, ErrTooLarge)
	s, err = NewSupplier(Config{Paths: []string{dir}, MaxFileBytes: int64(len(tinySym))}, nil)
	require.NoError(t, err)
	assert.NoError(t, s.Load(context.Background(), Key{DebugFile: "app", DebugID: "AB0"}).Err)
}

func TestLocalFileSnapshots(t *testing.T) {
	dir, cacheDir := t.TempDir(), t.TempDir()
	writeSym(t, dir, "app/AB0/app.sym", tinySym)
	p := filepath.Join(dir, "app/AB0/app.sym")
	st, err := os.Stat(p)
	require.NoError(t, err)
	load := func() *SymbolFile {
		s, err := NewSupplier(Config{Paths: []string{dir}, CacheDir: cacheDir}, nil)
		require.NoError(t, err)
		r := s.Load(context.Background(), Key{DebugFile: "app", DebugID: "AB0"})
		require.NoError(t, r.Err)
		return r.File
	}
	fn := func(sf *SymbolFile) string {
		loc, _ := sf.Lookup(0x12)
		return loc.Function
	}
	assert.Equal(t, "main", fn(load()))
	snaps, _ := filepath.Glob(filepath.Join(cacheDir, localSnapshotDir, "*"+snapshotExt))
	require.Len(t, snaps, 1)

	// Same size and time, other content: the snapshot answers, which
	// shows the text was not parsed again.
	require.NoError(t, os.WriteFile(p, []byte(strings.Replace(tinySym, "main", "mian", 1)), 0o644))
	require.NoError(t, os.Chtimes(p, st.ModTime(), st.ModTime()))
	assert.Equal(t, "main", fn(load()))

	// A changed file (new time) is parsed again.
	later := st.ModTime().Add(time.Second)
	require.NoError(t, os.Chtimes(p, later, later))
	assert.Equal(t, "mian", fn(load()))
}
