package api

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

const testAppKey = "test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym"

type zipEntry struct {
	name string
	data []byte
	// declared, when set, replaces the uncompressed size in the central
	// directory (a bomb that understates itself).
	declared uint32
}

func makeZip(t *testing.T, entries ...zipEntry) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range entries {
		fw, err := w.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Deflate})
		require.NoError(t, err)
		_, err = fw.Write(e.data)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	b := buf.Bytes()
	for _, e := range entries {
		if e.declared == 0 {
			continue
		}
		i := bytes.LastIndex(b, []byte{'P', 'K', 1, 2})
		require.True(t, i >= 0)
		d := e.declared
		b[i+24], b[i+25], b[i+26], b[i+27] = byte(d), byte(d>>8), byte(d>>16), byte(d>>24)
	}
	return b
}

func (e *env) symbolKeys() []string {
	var out []string
	for o, err := range e.Symbols.List(context.Background(), "") {
		require.NoError(e.t, err)
		out = append(out, o.Key)
	}
	return out
}

// TestBadUploadsStoreNothing: wrong MODULE lines, zip-slip paths, oversize
// files and zip bombs (one that declares its size, one that lies about it)
// are refused with a clear message, and the symbols bucket stays empty;
// callers without upload_symbols are refused before anything is read.
func TestBadUploadsStoreNothing(t *testing.T) {
	e := newEnv(t)
	base := e.webapp("CRASHSTREAM_WEBAPP_SYMBOLS_MAX_FILE_BYTES=1048576", "CRASHSTREAM_WEBAPP_SYMBOLS_MAX_TOTAL_BYTES=2097152",
		"CRASHSTREAM_WEBAPP_SYMBOLS_MAX_UPLOAD_BYTES=4194304")
	sym, err := os.ReadFile(filepath.Join(sharedTestdata(t), "breakpad", "symbols", filepath.FromSlash(testAppKey)))
	require.NoError(t, err)
	uploader := e.token("uploader", time.Hour, auth.UploadSymbols)
	other := e.token("other", time.Hour, auth.ViewPII, auth.ReprocessCrashes)
	bomb := bytes.Repeat([]byte{0}, 16<<20) // 16 MiB of zeros: ~16 KiB deflated, 16x the file cap
	withModule := func(data []byte) []byte { return append(append([]byte{}, sym...), data...) }
	tests := []struct {
		name  string
		token string
		body  []byte
		code  int
		msg   string
	}{
		{"no permission", other, makeZip(t, zipEntry{name: testAppKey, data: sym}), 403, "upload_symbols"},
		{"anonymous", "", makeZip(t, zipEntry{name: testAppKey, data: sym}), 403, "CSRF"},
		{"wrong MODULE", uploader, makeZip(t, zipEntry{name: "other.pdb/5A9832E5287241C1838ED98914E9B7FF1/other.sym", data: sym}), 400, "MODULE line says test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym"},
		{"wrong debug id", uploader, makeZip(t, zipEntry{name: "test_app.pdb/000000000000000000000000000000000/test_app.sym", data: sym}), 400, "MODULE line says"},
		{"not a sym", uploader, makeZip(t, zipEntry{name: testAppKey, data: []byte("PE\x00\x00 not a symbol file")}), 400, "first line is not"},
		{"zip slip", uploader, makeZip(t, zipEntry{name: testAppKey, data: sym}, zipEntry{name: "../../" + testAppKey, data: sym}), 400, "escapes the archive"},
		{"absolute path", uploader, makeZip(t, zipEntry{name: "/etc/" + testAppKey, data: sym}), 400, "absolute path"},
		{"oversize file", uploader, makeZip(t, zipEntry{name: testAppKey, data: withModule(bytes.Repeat([]byte("FUNC 1 1 0 f\n"), 100000))}), 413, "per file"},
		{"zip bomb", uploader, makeZip(t, zipEntry{name: testAppKey, data: withModule(bomb)}), 413, "uncompressed"},
		{"lying zip bomb", uploader, makeZip(t, zipEntry{name: testAppKey, data: withModule(bomb), declared: 4096}), 400, "larger than its header says"},
		{"request too large", uploader, bytes.Repeat([]byte("x"), 5<<20), 413, "upload larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, "POST", base+"/api/upload-symbols", tt.token, bytes.NewReader(tt.body), "Content-Type", "application/zip")
			assert.Equal(t, tt.code, r.code, string(r.body))
			assert.Contains(t, string(r.body), tt.msg)
			if tt.code >= 400 && tt.code != 403 {
				assert.Contains(t, string(r.body), "nothing was stored")
			}
			assert.Empty(t, e.symbolKeys(), "nothing stored")
		})
	}
	// a multipart single .sym whose file name disagrees with MODULE
	r := call(t, "POST", base+"/api/upload-symbols", uploader, strings.NewReader(multipartBody("other.sym", sym)), "Content-Type", "multipart/form-data; boundary=XyZ")
	assert.Equal(t, 400, r.code, string(r.body))
	assert.Empty(t, e.symbolKeys())
	// and a good upload is stored
	r = call(t, "POST", base+"/api/upload-symbols", uploader, bytes.NewReader(makeZip(t, zipEntry{name: testAppKey, data: sym})))
	require.Equal(t, 201, r.code, string(r.body))
	assert.Equal(t, []string{testAppKey}, e.symbolKeys())
}

func multipartBody(name string, data []byte) string {
	return "--XyZ\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"" + name + "\"\r\nContent-Type: text/plain\r\n\r\n" +
		string(data) + "\r\n--XyZ--\r\n"
}

// TestRateLimits: with Socorro's defaults, the 11th anonymous search in a
// minute gets 429 with Retry-After; a token has its own, larger allowance;
// the other API calls are limited separately.
func TestRateLimits(t *testing.T) {
	e := newEnv(t)
	base := e.webapp()
	for i := 1; i <= 10; i++ {
		r := call(t, "GET", base+"/api/SuperSearch/?product=X", "", nil)
		require.Equal(t, 200, r.code, "search %d: %s", i, r.body)
	}
	r := call(t, "GET", base+"/api/SuperSearch/?product=X", "", nil)
	require.Equal(t, 429, r.code)
	assert.NotEmpty(t, r.header.Get("Retry-After"))
	assert.Contains(t, string(r.body), "rate limit")
	tok := e.token("searcher", time.Hour)
	for i := 1; i <= 11; i++ {
		require.Equal(t, 200, call(t, "GET", base+"/api/SuperSearch/?product=X", tok, nil).code, "token search %d", i)
	}
	assert.Equal(t, 200, call(t, "GET", base+"/api/SuperSearchFields/", "", nil).code)
}

// TestReprocessingPublishes: POST Reprocessing with crash ids (one with a
// :ruleset suffix) puts ProcessRequests on crash.reprocess.v1; unknown
// crashes, bad rulesets and callers without reprocess_crashes publish
// nothing.
func TestReprocessingPublishes(t *testing.T) {
	e := newEnv(t)
	base := e.webapp()
	ids, _ := e.seedCrashes(2)
	ct := []string{"Content-Type", "application/x-www-form-urlencoded"}
	reproc := e.token("reprocessor", time.Hour, auth.ReprocessCrashes)
	pii := e.token("pii", time.Hour, auth.ViewPII)
	form := func(v url.Values) io.Reader { return strings.NewReader(v.Encode()) }
	assert.Equal(t, 403, call(t, "POST", base+"/api/Reprocessing/", pii, form(url.Values{"crash_ids": {ids[0]}}), ct...).code)
	assert.Equal(t, 403, call(t, "POST", base+"/api/Reprocessing/", "", form(url.Values{"crash_ids": {ids[0]}}), ct...).code)
	unknown := stacktest.CrashID(time.Now())
	r := call(t, "POST", base+"/api/Reprocessing/", reproc, form(url.Values{"crash_ids": {ids[0], unknown}}), ct...)
	assert.Equal(t, 400, r.code)
	assert.Contains(t, string(r.body), unknown)
	assert.Equal(t, 400, call(t, "POST", base+"/api/Reprocessing/", reproc, form(url.Values{"crash_ids": {ids[0]}, "ruleset": {"bogus"}}), ct...).code)
	r = call(t, "POST", base+"/api/Reprocessing/", reproc, form(url.Values{"crash_ids": {ids[0], ids[1] + ":regenerate_signature"}}), ct...)
	require.Equal(t, 200, r.code, string(r.body))
	got := e.reprocessRequests(2, 30*time.Second)
	require.Len(t, got, 2, "exactly the accepted request's crashes were published")
	byID := map[string]string{}
	for _, g := range got {
		byID[g.CrashID] = g.Ruleset
		assert.Equal(t, "reprocess", g.Reason)
		assert.Equal(t, "api:reprocessor", g.RequestedBy)
	}
	assert.Equal(t, map[string]string{ids[0]: "default", ids[1]: "regenerate_signature"}, byID)
}
