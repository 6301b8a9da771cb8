package collector

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/crashstream/crashstream/schemas"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

type discardStore struct{}

func (discardStore) Put(ctx context.Context, key string, r io.Reader, size int64, ct string) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
func (discardStore) Delete(context.Context, string) error { return nil }

type discardPublisher struct{}

func (discardPublisher) Publish(context.Context, schemas.CrashReceived) error { return nil }

// BenchmarkSubmit measures the collector's own cost per report (parse,
// spool, hash, raw crash, store calls) with a store that only reads the
// bytes: what the collector adds on top of the object store and Kafka.
func BenchmarkSubmit(b *testing.B) {
	for _, tc := range []struct {
		name string
		size int
		gz   bool
	}{{"400KB", 400_000, false}, {"400KB-gzip", 400_000, true}, {"1.5MB", 1_500_000, false}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.SpoolDir = b.TempDir()
			c, err := New(cfg, discardStore{}, discardPublisher{}, prometheus.NewRegistry(), zerolog.Nop())
			if err != nil {
				b.Fatal(err)
			}
			dumpBytes := bytes.Repeat([]byte("minidump bytes, somewhat compressible "), tc.size/38+1)[:tc.size]
			body, ct := form(annotation("ProductName", "Firefox"), annotation("Version", "147.0"), dump("upload_file_minidump", dumpBytes))
			h := http.Header{"Content-Type": {ct}}
			if tc.gz {
				body = gz(body)
				h.Set("Content-Encoding", "gzip")
			}
			b.SetBytes(int64(tc.size))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/submit", bytes.NewReader(body))
				req.Header = h.Clone()
				rec := httptest.NewRecorder()
				c.Handler().ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
