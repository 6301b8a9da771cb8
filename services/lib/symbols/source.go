package symbols

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotFound means a source does not have the requested symbol file. It is
// the only error that lets a lookup move on to the next source silently
// and that is remembered in the negative cache.
var ErrNotFound = errors.New("symbols: not found")

// Key identifies the symbol file of one module.
type Key struct {
	// DebugFile and DebugID are the module's CodeView identity
	// (e.g. "xul.pdb", "ABCD…1"); CodeFile and CodeID its executable
	// identity, used for the code-id fallback on symbol servers.
	DebugFile, DebugID string
	CodeFile, CodeID   string
}

// leaf returns the last path element, splitting on both separators because
// Windows paths reach us from dumps made anywhere.
func leaf(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// symName turns a debug file leaf into its .sym name: a final ".pdb" (any
// case) becomes ".sym", anything else gets ".sym" appended.
func symName(l string) string {
	if len(l) >= 4 && strings.EqualFold(l[len(l)-4:], ".pdb") {
		return l[:len(l)-4] + ".sym"
	}
	return l + ".sym"
}

// validComponent rejects path pieces that could escape a directory or a
// bucket prefix: keys come from untrusted dumps.
func validComponent(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\\\x00")
}

// RelPath is the Breakpad layout path of a module's symbol file:
// <leaf(debug_file)>/<debug_id>/<sym name>. An empty debug file falls back
// to the code file. ok is false when the key cannot form a safe path.
func (k Key) RelPath() (string, bool) {
	df := leaf(k.DebugFile)
	if df == "" {
		df = leaf(k.CodeFile)
	}
	if !validComponent(df) || !validComponent(k.DebugID) {
		return "", false
	}
	return df + "/" + k.DebugID + "/" + symName(df), true
}

// CodeIDPath is the symbol-server code-id fallback path:
// <code_file>/<CODE_ID upper>/<code_file with .dll/.exe -> .sym>.
func (k Key) CodeIDPath() (string, bool) {
	cf := leaf(k.CodeFile)
	if !validComponent(cf) || !validComponent(k.CodeID) {
		return "", false
	}
	name := cf
	if len(name) >= 4 && (strings.EqualFold(name[len(name)-4:], ".dll") || strings.EqualFold(name[len(name)-4:], ".exe")) {
		name = name[:len(name)-4]
	}
	return cf + "/" + strings.ToUpper(k.CodeID) + "/" + name + ".sym", true
}

// String names the key in logs: debug file and id.
func (k Key) String() string {
	return k.DebugFile + "/" + k.DebugID
}

// Source is one place symbol files come from. Open returns the file's
// content and the URL to report as its symbol_url ("" for local files), or
// ErrNotFound.
type Source interface {
	Open(ctx context.Context, k Key) (rc io.ReadCloser, symbolURL string, err error)
	// Cacheable reports whether files from this source are worth copying
	// into the disk cache (remote sources yes, local directories no).
	Cacheable() bool
}

// DirSource reads a local directory in Breakpad layout, or a single .sym file
// whose MODULE line names the requested debug id.
type DirSource struct {
	Path string
}

// Cacheable is false: the files are already local.
func (d DirSource) Cacheable() bool { return false }

// Open implements Source.
func (d DirSource) Open(_ context.Context, k Key) (io.ReadCloser, string, error) {
	st, err := os.Stat(d.Path)
	if err != nil {
		return nil, "", fmt.Errorf("symbols path %s: %w", d.Path, ErrNotFound)
	}
	if !st.IsDir() {
		f, err := os.Open(d.Path)
		if err != nil {
			return nil, "", ErrNotFound
		}
		id, _ := readModuleID(f)
		if id == "" || !strings.EqualFold(id, k.DebugID) {
			f.Close()
			return nil, "", ErrNotFound
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return nil, "", err
		}
		return f, "", nil
	}
	rel, ok := k.RelPath()
	if !ok {
		return nil, "", ErrNotFound
	}
	f, err := os.Open(filepath.Join(d.Path, filepath.FromSlash(rel)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", ErrNotFound
	}
	if err != nil {
		return nil, "", err
	}
	return f, "", nil
}

// readModuleID returns the debug id of a .sym file's MODULE line.
func readModuleID(r io.Reader) (string, error) {
	br := bufio.NewReaderSize(r, 4096)
	line, err := br.ReadSlice('\n')
	if err != nil && len(line) == 0 {
		return "", err
	}
	f := strings.Fields(string(line))
	if len(f) < 4 || f[0] != "MODULE" {
		return "", errors.New("no MODULE line")
	}
	return f[3], nil
}

// Fetcher reads objects from a bucket. An object store adapter satisfies it;
// Get must return an error wrapping ErrNotFound (or fs.ErrNotExist) for a
// missing key.
type Fetcher interface {
	Get(ctx context.Context, key string) (io.ReadCloser, error)
}

// BucketSource reads symbol files from an object store bucket in Breakpad
// layout (<debug_file>/<debug_id>/<name>.sym), under an optional prefix.
type BucketSource struct {
	Fetcher Fetcher
	Prefix  string
	// Name is reported as the scheme of symbol_url ("s3://bucket/").
	Name string
}

// Cacheable is true: bucket reads cost a network round trip.
func (b BucketSource) Cacheable() bool { return true }

// Open implements Source.
func (b BucketSource) Open(ctx context.Context, k Key) (io.ReadCloser, string, error) {
	rel, ok := k.RelPath()
	if !ok {
		return nil, "", ErrNotFound
	}
	key := strings.TrimSuffix(b.Prefix, "/")
	if key != "" {
		key += "/"
	}
	key += rel
	rc, err := b.Fetcher.Get(ctx, key)
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			return nil, "", ErrNotFound
		}
		return nil, "", err
	}
	u := ""
	if b.Name != "" {
		u = strings.TrimSuffix(b.Name, "/") + "/" + key
	}
	return rc, u, nil
}

// HTTPSource reads a symbol server in Breakpad layout; when the debug-id path
// is missing it tries the code-id path (Tecken answers it with a redirect).
type HTTPSource struct {
	BaseURL string
	Client  *http.Client
}

// Cacheable is true.
func (h HTTPSource) Cacheable() bool { return true }

// Open implements Source.
func (h HTTPSource) Open(ctx context.Context, k Key) (io.ReadCloser, string, error) {
	var paths []string
	if p, ok := k.RelPath(); ok {
		paths = append(paths, p)
	}
	if p, ok := k.CodeIDPath(); ok {
		paths = append(paths, p)
	}
	for _, p := range paths {
		rc, u, err := h.get(ctx, p)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		return rc, u, err
	}
	return nil, "", ErrNotFound
}

// FileURL is the URL of a module's symbol file on the server (the
// debug-id path, the one Open tries first); ok is false when the key
// cannot form a safe path. The webapp's symbol-server probe asks the same
// URL the processor fetches.
func (h HTTPSource) FileURL(k Key) (string, bool) {
	rel, ok := k.RelPath()
	if !ok {
		return "", false
	}
	return h.urlOf(rel), true
}

// urlOf joins the base URL and a Breakpad-layout path, escaping each
// element.
func (h HTTPSource) urlOf(rel string) string {
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.TrimSuffix(h.BaseURL, "/") + "/" + strings.Join(parts, "/")
}

func (h HTTPSource) get(ctx context.Context, rel string) (io.ReadCloser, string, error) {
	u := h.urlOf(rel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", err
	}
	c := h.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("symbols: GET %s: %w", u, err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return resp.Body, u, nil
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusForbidden:
		resp.Body.Close()
		return nil, "", ErrNotFound
	default:
		resp.Body.Close()
		return nil, "", fmt.Errorf("symbols: GET %s: %s", u, resp.Status)
	}
}
