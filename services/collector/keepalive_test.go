package collector

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowStore is a memStore whose writes take delay and honour ctx, as a
// real object store client does.
type slowStore struct {
	*memStore
	delay atomic.Int64
}

func (s *slowStore) Put(ctx context.Context, key string, r io.Reader, size int64, ct string) error {
	select {
	case <-time.After(time.Duration(s.delay.Load())):
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.memStore.Put(ctx, key, r, size, ct)
}

// TestSlowStoreKeepsKeepAliveConnectionUsable: a store write slower than
// the body read timeout must neither fail that request nor poison the
// keep-alive connection for the next one (regression: the read deadline
// left on the connection fired during the store and cancelled the
// connection's context, so every later request on it got 503).
func TestSlowStoreKeepsKeepAliveConnectionUsable(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SpoolDir = t.TempDir()
	cfg.ReadTimeout = 50 * time.Millisecond
	store := &slowStore{memStore: newMemStore()}
	c, err := New(cfg, store, newMemPublisher(), prometheus.NewRegistry(), zerolog.Nop())
	require.NoError(t, err)
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	tr := &http.Transport{MaxConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	body, ct := form(annotation("ProductName", "Firefox"), dump("upload_file_minidump", minidump))

	for i, delay := range []time.Duration{4 * cfg.ReadTimeout, 0, 0} {
		store.delay.Store(int64(delay))
		reused := false
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
		})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/submit", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", ct)
		resp, err := client.Do(req)
		require.NoError(t, err)
		text, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "request %d (store delay %s): %s", i, delay, text)
		if i > 0 {
			assert.True(t, reused, "request %d went over the same keep-alive connection", i)
		}
	}
}
