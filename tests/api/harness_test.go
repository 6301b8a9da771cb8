// Package api tests the Crash Stats API against the real local stack, with
// crashstream's binary as subprocesses: the access-control matrix of
// protected fields, reprocessing, symbol upload (late symbols fix stacks;
// bad uploads store nothing) and rate limits.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/services/lib/repotest"
	"github.com/crashstream/crashstream/streams"
	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, stacktest.LeakOptions()...) }

func sharedTestdata(t *testing.T) string { return repotest.SharedTestdata(t) }
func freePort(t *testing.T) string       { return stacktest.FreePort(t) }

func unique(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// env is one isolated install (its own topics, buckets and database) and
// the token store in its bucket.
type env struct {
	*stacktest.Install
	t      *testing.T
	topics streams.Topics
	tokens *auth.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	in := stacktest.NewInstall(t, "api")
	return &env{Install: in, t: t, topics: in.Kafka.Topics(), tokens: auth.NewStore(auth.BucketBlobs(in.Crashes))}
}

// token creates a token and returns its raw key.
func (e *env) token(name string, ttl time.Duration, perms ...string) string {
	key, _, err := e.tokens.Create(context.Background(), name, perms, ttl)
	require.NoError(e.t, err)
	return key
}

// start runs `crashstream <args>` against the env and waits until healthy.
func (e *env) start(args []string, extra ...string) *stacktest.Proc {
	return stacktest.Start(e.t, e.Environ(extra...), args...)
}

// webapp starts the webapp and returns its base URL.
func (e *env) webapp(extra ...string) string {
	addr := freePort(e.t)
	e.start([]string{"webapp"}, append(extra, "CRASHSTREAM_WEBAPP_ADDR="+addr,
		"CRASHSTREAM_WEBAPP_SECRET_KEY=0123456789abcdef0123456789abcdef")...)
	return "http://" + addr
}

// response is an HTTP answer, read whole.
type response struct {
	code   int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), string(r.body))
}

// call makes one request with an optional Auth-Token.
func call(t *testing.T, method, url, token string, body io.Reader, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Auth-Token", token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{code: resp.StatusCode, header: resp.Header, body: b}
}

// reprocessRequests reads crash.reprocess.v1 until n requests arrived or
// timeout, from the start of the topic.
func (e *env) reprocessRequests(n int, timeout time.Duration) []schemas.ProcessRequest {
	var got []schemas.ProcessRequest
	stacktest.Consume(e.t, e.Kafka, unique(e.ID+".check"), e.topics.Reprocess, timeout, func(m *streams.Message) bool {
		var r schemas.ProcessRequest
		if e.Serde.Unmarshal(context.Background(), m.Value, &r) != nil {
			return false // not a request: only requests count
		}
		got = append(got, r)
		return len(got) >= n
	})
	return got
}
