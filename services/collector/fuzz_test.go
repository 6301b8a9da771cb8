package collector

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/crashstream/crashstream/storage/objectstore"
)

// FuzzParseBody feeds arbitrary bodies to the multipart/annotation parser,
// plain and as gzip. It must never panic, never exceed its caps, and
// either refuse with one of the known refusals or return a report that
// satisfies the invariants the rest of the collector relies on.
func FuzzParseBody(f *testing.F) {
	good, _ := form(annotation("ProductName", "Firefox"), annotation("Version", "1"), dump("upload_file_minidump", minidump[:64]))
	js, _ := form(part{name: "extra", contentType: "application/json", data: []byte(`{"ProductName":"Fenix","N":1}`)}, dump("x-y", []byte("z")))
	f.Add(good, false)
	f.Add(gz(good), true)
	f.Add(js, false)
	f.Add([]byte("--crashstream-test-boundary--\r\n"), false)
	f.Add([]byte("junk"), true)
	f.Add(good[:len(good)/2], false)
	dir, pool := f.TempDir(), newChunkPool(1<<30)
	f.Fuzz(func(t *testing.T, body []byte, gzipped bool) {
		lim := limits{maxPayload: 1 << 16, maxAnnotations: 1 << 12, maxParts: 16, maxDumps: 4, spoolMemory: 2 * chunkSize, spoolDir: dir, pool: pool}
		rep, err := parseBody(bytes.NewReader(body), "crashstream-test-boundary", gzipped, lim)
		if err != nil {
			var m *malformedError
			var tl *tooLargeError
			if !errors.As(err, &m) && !errors.As(err, &tl) {
				t.Fatalf("unexpected refusal %T: %v", err, err)
			}
			return
		}
		defer rep.close()
		if len(rep.ann) == 0 {
			t.Fatal("accepted a report without annotations")
		}
		if rep.size > lim.maxPayload {
			t.Fatalf("payload %d over the cap", rep.size)
		}
		annBytes := 0
		for k, v := range rep.ann {
			annBytes += len(k) + len(v)
		}
		if annBytes > 2*int(lim.maxAnnotations) { // JSON text of non-strings may re-encode a little larger
			t.Fatalf("annotations %d bytes over the cap", annBytes)
		}
		if len(rep.dumps) > lim.maxDumps {
			t.Fatalf("%d dumps", len(rep.dumps))
		}
		for _, d := range rep.dumps {
			if _, err := objectstore.DumpKey(d.name, "de1bb258-cbbf-4589-a673-34f800160918"); err != nil {
				t.Fatalf("dump name %q has no key: %v", d.name, err)
			}
			got, err := io.ReadAll(d.reader())
			if err != nil || int64(len(got)) != d.size {
				t.Fatalf("dump %s: read %d of %d: %v", d.name, len(got), d.size, err)
			}
		}
	})
}

// FuzzGzipLimit checks the decompression limiter: whatever the input, no
// more than max bytes come out, and failures are bad_gzip or too-large.
func FuzzGzipLimit(f *testing.F) {
	f.Add(gz(bytes.Repeat([]byte{0}, 5000)), uint16(1000))
	f.Add(gz([]byte("hello")), uint16(5))
	f.Add(append(gz([]byte("a")), gz([]byte("b"))...), uint16(1))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, uint16(10))
	f.Fuzz(func(t *testing.T, data []byte, max uint16) {
		src := &source{r: bytes.NewReader(data)}
		gzr, err := newGzipReader(src)
		if err != nil {
			var m *malformedError
			if !errors.As(err, &m) || m.reason != reasonBadGzip {
				t.Fatalf("header error %v", err)
			}
			return
		}
		c := &cappedReader{r: gzr, max: int64(max), what: "payload"}
		n, err := io.Copy(io.Discard, c)
		if n > int64(max)+1 {
			t.Fatalf("%d bytes out with a cap of %d", n, max)
		}
		if err != nil {
			var m *malformedError
			var tl *tooLargeError
			if !errors.As(err, &tl) && !(errors.As(err, &m) && m.reason == reasonBadGzip) {
				t.Fatalf("unexpected error %T %v", err, err)
			}
			if tl != nil && n <= int64(max) {
				t.Fatalf("too large after only %d of %d bytes", n, max)
			}
		}
	})
}
