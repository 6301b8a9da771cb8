package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/crashstream/crashstream/schemas"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
)

// memStore is an in-memory Store. fail, when set, is asked before every
// Put and may refuse it.
type memStore struct {
	mu      sync.Mutex
	objects map[string][]byte
	puts    int
	fail    func(key string) error
}

func newMemStore() *memStore { return &memStore{objects: map[string][]byte{}} }

func (s *memStore) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	s.mu.Lock()
	fail := s.fail
	s.puts++
	s.mu.Unlock()
	if fail != nil {
		if err := fail(key); err != nil {
			return err
		}
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if int64(len(data)) != size {
		return fmt.Errorf("put %s: size %d but %d bytes", key, size, len(data))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[key] = data
	return nil
}

func (s *memStore) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objects, key)
	return nil
}

func (s *memStore) keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.objects))
}

func (s *memStore) get(key string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.objects[key]
}

func (s *memStore) setFail(f func(string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = f
}

// memPublisher records events; err, when set, fails every Publish.
type memPublisher struct {
	mu     sync.Mutex
	events []schemas.CrashReceived
	err    error
	calls  int
	notify chan struct{}
}

func newMemPublisher() *memPublisher { return &memPublisher{notify: make(chan struct{}, 100)} }

func (p *memPublisher) Publish(ctx context.Context, ev schemas.CrashReceived) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	if p.err != nil {
		return p.err
	}
	p.events = append(p.events, ev)
	select {
	case p.notify <- struct{}{}:
	default:
	}
	return nil
}

func (p *memPublisher) setErr(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.err = err
}

func (p *memPublisher) published() []schemas.CrashReceived {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]schemas.CrashReceived(nil), p.events...)
}

type fixture struct {
	c     *Collector
	store *memStore
	pub   *memPublisher
	reg   *prometheus.Registry
}

// newFixture builds a collector over in-memory fakes; mut adjusts the
// default config.
func newFixture(t *testing.T, mut func(*Config)) *fixture {
	t.Helper()
	cfg := DefaultConfig()
	cfg.SpoolDir = t.TempDir()
	cfg.StoreBackoff = time.Millisecond
	if mut != nil {
		mut(&cfg)
	}
	f := &fixture{store: newMemStore(), pub: newMemPublisher(), reg: prometheus.NewRegistry()}
	c, err := New(cfg, f.store, f.pub, f.reg, zerolog.Nop())
	require.NoError(t, err)
	f.c = c
	return f
}

// part is one multipart part of a test submission.
type part struct {
	name, filename, contentType string
	data                        []byte
	header                      textproto.MIMEHeader // overrides, if set
}

func annotation(name, value string) part { return part{name: name, data: []byte(value)} }

func dump(name string, data []byte) part {
	return part{name: name, filename: name + ".dmp", contentType: "application/octet-stream", data: data}
}

// form encodes parts as multipart/form-data with a fixed boundary.
func form(parts ...part) (body []byte, contentType string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.SetBoundary("crashstream-test-boundary")
	for _, p := range parts {
		h := p.header
		if h == nil {
			h = textproto.MIMEHeader{}
			cd := fmt.Sprintf(`form-data; name=%q`, p.name)
			if p.filename != "" {
				cd += fmt.Sprintf(`; filename=%q`, p.filename)
			}
			h.Set("Content-Disposition", cd)
			if p.contentType != "" {
				h.Set("Content-Type", p.contentType)
			}
		}
		pw, _ := w.CreatePart(h)
		_, _ = pw.Write(p.data)
	}
	_ = w.Close()
	return buf.Bytes(), w.FormDataContentType()
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

// post submits body to the collector's handler in-process.
func (f *fixture) post(t *testing.T, body io.Reader, contentLength int64, headers map[string]string) (int, string, http.Header) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/submit", body)
	req.ContentLength = contentLength
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	f.c.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.String(), rec.Header()
}

// submit posts a multipart body with its content type.
func (f *fixture) submit(t *testing.T, parts ...part) (int, string) {
	t.Helper()
	body, ct := form(parts...)
	code, text, _ := f.post(t, bytes.NewReader(body), int64(len(body)), map[string]string{"Content-Type": ct})
	return code, text
}

// requireNothingWritten asserts that a refused request left no trace.
func (f *fixture) requireNothingWritten(t *testing.T) {
	t.Helper()
	require.Empty(t, f.store.keys(), "objects written for a refused request")
	f.store.mu.Lock()
	puts := f.store.puts
	f.store.mu.Unlock()
	require.Zero(t, puts, "PUTs attempted for a refused request")
	require.Empty(t, f.pub.published(), "records published for a refused request")
	f.pub.mu.Lock()
	calls := f.pub.calls
	f.pub.mu.Unlock()
	require.Zero(t, calls, "publish attempted for a refused request")
}

var errDown = errors.New("connection refused")

var minidump = append([]byte("MDMP\x93\xa7\x00\x00"), bytes.Repeat([]byte{0xab}, 5000)...)
