package collector

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sizedBody returns a form whose encoded length is exactly size bytes.
func sizedBody(t *testing.T, size int) ([]byte, string) {
	t.Helper()
	empty, _ := form(annotation("ProductName", "Firefox"), dump("upload_file_minidump", nil))
	pad := size - len(empty)
	require.GreaterOrEqual(t, pad, 0)
	body, ct := form(annotation("ProductName", "Firefox"), dump("upload_file_minidump", bytes.Repeat([]byte{0x5a}, pad)))
	require.Len(t, body, size)
	return body, ct
}

// TestBodySizeBoundary: the default 25 MiB limit is on bytes as sent;
// limit-1 and limit are stored, limit+1 is 413 — whether the size is
// announced by Content-Length or only counted while reading.
func TestBodySizeBoundary(t *testing.T) {
	limit := 25 << 20
	if raceEnabled {
		limit = 1 << 20
	}
	for _, tt := range []struct {
		size   int
		status int
	}{{limit - 1, 200}, {limit, 200}, {limit + 1, 413}} {
		body, ct := sizedBody(t, tt.size)
		for _, announced := range []bool{true, false} {
			t.Run(fmt.Sprintf("%d announced=%v", tt.size-limit, announced), func(t *testing.T) {
				f := newFixture(t, func(c *Config) { c.MaxBodySize = int64(limit) })
				cl := int64(len(body))
				if !announced {
					cl = -1 // chunked: only counting can catch it
				}
				code, text, _ := f.post(t, bytes.NewReader(body), cl, map[string]string{"Content-Type": ct})
				assert.Equal(t, tt.status, code, text)
				if tt.status == 413 {
					assert.Equal(t, "Discarded=too_large", text)
					f.requireNothingWritten(t)
				} else {
					assert.Regexp(t, crashIDAnswer, text)
					assert.Len(t, f.store.keys(), 3)
				}
			})
		}
	}
}

// TestPayloadSizeBoundary: the decompressed cap, at limit and limit+1.
func TestPayloadSizeBoundary(t *testing.T) {
	const limit = 1 << 20
	for _, tt := range []struct {
		size   int
		status int
	}{{limit - 1, 200}, {limit, 200}, {limit + 1, 413}} {
		t.Run(strconv.Itoa(tt.size-limit), func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.MaxPayloadSize = limit; c.MaxAnnotationsSize = 1024 })
			body, ct := sizedBody(t, tt.size)
			z := gz(body)
			code, text, _ := f.post(t, bytes.NewReader(z), int64(len(z)), map[string]string{"Content-Type": ct, "Content-Encoding": "gzip"})
			assert.Equal(t, tt.status, code, text)
			if tt.status == 413 {
				f.requireNothingWritten(t)
			}
		})
	}
}

func TestAnnotationsCap(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxAnnotationsSize = 100 })
	code, text := f.submit(t, annotation("ProductName", "Firefox"), annotation("Big", strings.Repeat("x", 100)))
	assert.Equal(t, 413, code, text)
	f.requireNothingWritten(t)
	code, text = f.submit(t, part{name: "extra", contentType: "application/json", data: []byte(`{"A":"` + strings.Repeat("x", 100) + `"}`)})
	assert.Equal(t, 413, code, text)
}

func TestPartAndDumpCounts(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxParts = 3; c.MaxDumps = 1 })
	code, _ := f.submit(t, annotation("A", "1"), annotation("B", "2"), annotation("C", "3"), annotation("D", "4"))
	assert.Equal(t, 413, code)
	code, _ = f.submit(t, annotation("A", "1"), dump("one", minidump), dump("two", minidump))
	assert.Equal(t, 413, code)
	f.requireNothingWritten(t)
}

func TestSpoolSpillsToDisk(t *testing.T) {
	// 3 dumps with a 128 KiB in-memory budget: the first fills two chunks
	// and spills, the others go to disk whole; every byte comes back.
	f := newFixture(t, func(c *Config) { c.SpoolMemory = 2 * chunkSize })
	a := bytes.Repeat([]byte("a"), 200_000)
	b := bytes.Repeat([]byte("b"), 100_000)
	c := bytes.Repeat([]byte("c"), 100_000)
	code, text := f.submit(t, annotation("ProductName", "Firefox"), dump("upload_file_minidump", a), dump("b", b), dump("c", c))
	require.Equal(t, 200, code, text)
	id := crashIDAnswer.FindStringSubmatch(text)[1]
	assert.Equal(t, a, f.store.get("v1/dump/"+id))
	assert.Equal(t, b, f.store.get("v1/b/"+id))
	assert.Equal(t, c, f.store.get("v1/c/"+id))
	left, err := os.ReadDir(f.c.cfg.SpoolDir)
	require.NoError(t, err)
	assert.Empty(t, left, "spill files removed")
}

// bombReader streams a gzip body of several members: the multipart head,
// then members of 16 MiB of zeros each (about 16 KB compressed), then the
// tail. Deflate tops out near 1032:1, so 10 GiB takes 640 members, about
// 10 MB on the wire: under the 25 MiB body limit.
func bombReader(t testing.TB, inflated int64) (io.Reader, string, int) {
	body, ct := form(annotation("ProductName", "Firefox"), dump("upload_file_minidump", []byte("@@DUMP@@")))
	head, tail, _ := bytes.Cut(body, []byte("@@DUMP@@"))
	member := func(b []byte) []byte {
		var buf bytes.Buffer
		w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = w.Write(b)
		_ = w.Close()
		return buf.Bytes()
	}
	zeros := member(make([]byte, 16<<20))
	n := int(inflated / (16 << 20))
	readers := []io.Reader{bytes.NewReader(member(head))}
	for range n {
		readers = append(readers, bytes.NewReader(zeros))
	}
	readers = append(readers, bytes.NewReader(member(tail)))
	return io.MultiReader(readers...), ct, len(zeros)*n + 200
}

// TestGzipBomb sends 10 GiB of zeros as ~10 MB of gzip in a child process
// and checks the answer is 413 and the child's peak RSS stayed within a
// few MiB of its baseline. A child, because RSS is per process and this
// test binary's own peak would otherwise hide the measurement.
func TestGzipBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("spools 100 MiB to disk")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestGzipBombChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "CRASHSTREAM_BOMB_CHILD=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	m := regexp.MustCompile(`BOMB status=(\d+) body=(\S+) wire=(\d+) baseline_rss_kb=(\d+) peak_rss_kb=(\d+)`).FindStringSubmatch(string(out))
	require.NotNil(t, m, string(out))
	assert.Equal(t, "413", m[1])
	assert.Equal(t, "Discarded=too_large", m[2])
	base, _ := strconv.Atoi(m[4])
	peak, _ := strconv.Atoi(m[5])
	t.Logf("gzip bomb: %s bytes sent for 10 GiB inflated; RSS baseline %d KiB, peak %d KiB (+%d KiB)", m[3], base, peak, peak-base)
	assert.Less(t, peak-base, 16<<10, "peak RSS grew by %d KiB", peak-base)
}

func TestGzipBombChild(t *testing.T) {
	if os.Getenv("CRASHSTREAM_BOMB_CHILD") != "1" {
		t.Skip("run by TestGzipBomb")
	}
	// Defaults: 25 MiB body, 100 MiB payload, 2 MiB spool memory.
	f := newFixture(t, func(c *Config) {
		if raceEnabled {
			c.MaxPayloadSize = 16 << 20
		}
	})
	body, ct, wire := bombReader(t, 10<<30)
	runtime.GC()
	base := procStatusKB(t, "VmRSS")
	// Reset the peak-RSS watermark so VmHWM measures only the request.
	require.NoError(t, os.WriteFile("/proc/self/clear_refs", []byte("5"), 0))
	code, text, _ := f.post(t, body, -1, map[string]string{"Content-Type": ct, "Content-Encoding": "gzip"})
	peak := procStatusKB(t, "VmHWM")
	f.requireNothingWritten(t)
	fmt.Printf("BOMB status=%d body=%s wire=%d baseline_rss_kb=%d peak_rss_kb=%d\n", code, text, wire, base, peak)
}

func procStatusKB(t *testing.T, field string) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	m := regexp.MustCompile(field + `:\s+(\d+) kB`).FindSubmatch(data)
	require.NotNil(t, m)
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// rawPost writes a request by hand on a real connection, so headers can
// lie about the body, and returns the status line and body.
func rawPost(t *testing.T, addr string, header string, body []byte, keepOpen bool) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /submit HTTP/1.1\r\nHost: collector\r\n"+header+"\r\n")
	require.NoError(t, err)
	_, err = conn.Write(body)
	require.NoError(t, err)
	if !keepOpen {
		_ = conn.(*net.TCPConn).CloseWrite()
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestContentLengthRows covers the catalogue rows about Content-Length on a
// real connection: Antenna's systemtest test_content_length cases.
func TestContentLengthRows(t *testing.T) {
	body, ct := form(annotation("ProductName", "Firefox"), dump("upload_file_minidump", minidump))
	tests := []struct {
		name     string
		header   string
		body     []byte
		keepOpen bool
		status   int
		text     string
	}{
		{"no content length (chunked) is fine", "Content-Type: " + ct + "\r\nTransfer-Encoding: chunked\r\n", chunked(body), false, 200, ""},
		{"content length 0", "Content-Type: " + ct + "\r\nContent-Length: 0\r\n", nil, false, 400, "Discarded=malformed_no_content_length"},
		{"content length shorter than the body", "Content-Type: " + ct + "\r\nContent-Length: " + strconv.Itoa(len(body)-100) + "\r\n", body, false, 400, "Discarded=malformed_invalid_payload_structure"},
		{"content length longer than the body, client waits", "Content-Type: " + ct + "\r\nContent-Length: " + strconv.Itoa(len(body)+1000) + "\r\n", body, true, 408, "Discarded=timeout"},
		{"content length longer than the body, client closes", "Content-Type: " + ct + "\r\nContent-Length: " + strconv.Itoa(len(body)+1000) + "\r\n", body, false, 400, "Discarded=malformed_invalid_payload_structure"},
		{"content length not a number", "Content-Type: " + ct + "\r\nContent-Length: twenty\r\n", body, false, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.ReadTimeout = 300 * time.Millisecond })
			srv := httptest.NewServer(f.c.Handler())
			defer srv.Close()
			code, text := rawPost(t, srv.Listener.Addr().String(), tt.header, tt.body, tt.keepOpen)
			assert.Equal(t, tt.status, code, text)
			if tt.status == 200 {
				assert.Regexp(t, crashIDAnswer, text)
				return
			}
			if tt.text != "" {
				assert.Equal(t, tt.text, text)
			}
			f.requireNothingWritten(t)
		})
	}
}

func chunked(b []byte) []byte {
	var buf bytes.Buffer
	for len(b) > 0 {
		n := min(len(b), 1000)
		fmt.Fprintf(&buf, "%x\r\n%s\r\n", n, b[:n])
		b = b[n:]
	}
	buf.WriteString("0\r\n\r\n")
	return buf.Bytes()
}
