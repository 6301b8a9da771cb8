package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEnvName(t *testing.T) {
	assert.Equal(t, "CRASHSTREAM_KAFKA_BROKERS", EnvName("kafka.brokers"))
	assert.Equal(t, "CRASHSTREAM_S3_ACCESS_KEY", EnvName("s3.access-key"))
}

func TestParseFlagsPrecedence(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"default", nil, nil, "def"},
		{"env", nil, map[string]string{"CRASHSTREAM_KAFKA_BROKERS": "env:1"}, "env:1"},
		{"flag wins over env", []string{"-kafka.brokers", "flag:1"}, map[string]string{"CRASHSTREAM_KAFKA_BROKERS": "env:1"}, "flag:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			v := fs.String("kafka.brokers", "def", "")
			require.NoError(t, ParseFlags(fs, tt.args, func(k string) string { return tt.env[k] }))
			assert.Equal(t, tt.want, *v)
		})
	}
}

func TestParseFlagsBadEnvNamesBoth(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.Duration("shutdown.timeout", time.Second, "")
	err := ParseFlags(fs, nil, func(k string) string {
		if k == "CRASHSTREAM_SHUTDOWN_TIMEOUT" {
			return "soon"
		}
		return ""
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "CRASHSTREAM_SHUTDOWN_TIMEOUT")
	assert.Contains(t, err.Error(), "-shutdown.timeout")
}

func TestStringList(t *testing.T) {
	var s StringList
	require.NoError(t, s.Set("a, b"))
	require.NoError(t, s.Set("c"))
	assert.Equal(t, StringList{"a", "b", "c"}, s)
}

func TestValidate(t *testing.T) {
	assert.NoError(t, LogConfig{Level: "info", Format: "auto"}.Validate())
	assert.ErrorContains(t, LogConfig{Level: "loud", Format: "auto"}.Validate(), "-log.level")
	assert.ErrorContains(t, LogConfig{Level: "info", Format: "xml"}.Validate(), "-log.format")
	good := AdminConfig{Addr: "127.0.0.1:9100", ShutdownTimeout: time.Second, CheckTimeout: time.Second}
	assert.NoError(t, good.Validate())
	bad := good
	bad.Addr = "127.0.0.1"
	assert.ErrorContains(t, bad.Validate(), "-admin.addr")
	bad = good
	bad.Addr = "127.0.0.1:http-ish"
	assert.ErrorContains(t, bad.Validate(), "-admin.addr")
}

func TestLoggerJSON(t *testing.T) {
	var buf bytes.Buffer
	l := NewLogger(LogConfig{Level: "warn", Format: "auto"}, &buf)
	l.Info().Msg("hidden")
	l.Warn().Msg("shown")
	assert.NotContains(t, buf.String(), "hidden")
	assert.Contains(t, buf.String(), `"message":"shown"`)
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(body)
}

func TestAdminRoutes(t *testing.T) {
	p := NewProcess(AdminConfig{ShutdownTimeout: time.Second, CheckTimeout: time.Second}, zerolog.Nop())
	h := p.AdminHandler()
	code, _ := get(t, h, "/__lbheartbeat__")
	assert.Equal(t, 200, code)
	code, body := get(t, h, "/__heartbeat__")
	assert.Equal(t, 503, code, "not ready before Run")
	assert.Contains(t, body, "not ready")
	code, body = get(t, h, "/__version__")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, `"commit"`)
	var v map[string]string
	require.NoError(t, json.Unmarshal([]byte(body), &v))
	for _, k := range []string{"source", "version", "commit", "build"} {
		assert.NotEmpty(t, v[k], "Dockerflow version.json key %s", k)
	}
	code, body = get(t, h, "/metrics")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, "go_goroutines")

	p.admin.ready.Store(true)
	p.Check("kafka", func(ctx context.Context) error { return nil })
	code, _ = get(t, h, "/__heartbeat__")
	assert.Equal(t, 200, code)
	p.Check("minio", func(ctx context.Context) error { return errors.New("connection refused") })
	code, body = get(t, h, "/__heartbeat__")
	assert.Equal(t, 500, code)
	assert.Contains(t, body, "connection refused")
}

func TestProcessShutdownOrder(t *testing.T) {
	p := NewProcess(AdminConfig{ShutdownTimeout: 5 * time.Second, CheckTimeout: time.Second}, zerolog.Nop())
	var mu sync.Mutex
	var order []string
	note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	started := make(chan struct{})
	p.OnClose("client", func(context.Context) error { note("close client"); return nil })
	p.OnClose("producer", func(context.Context) error { note("flush producer"); return nil })
	p.Go("consumer", func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		assert.False(t, p.Ready(), "readiness goes off before loops are cancelled")
		note("drain consumer")
		return ctx.Err()
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	<-started
	cancel()
	require.NoError(t, <-done)
	assert.Equal(t, []string{"drain consumer", "flush producer", "close client"}, order)
}

func TestProcessLoopFailureStopsAll(t *testing.T) {
	p := NewProcess(AdminConfig{ShutdownTimeout: 5 * time.Second, CheckTimeout: time.Second}, zerolog.Nop())
	p.Go("bad", func(ctx context.Context) error { return errors.New("boom") })
	p.Go("good", func(ctx context.Context) error { <-ctx.Done(); return nil })
	err := p.Run(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bad: boom")
}

func TestProcessDrainTimeout(t *testing.T) {
	p := NewProcess(AdminConfig{ShutdownTimeout: 50 * time.Millisecond, CheckTimeout: time.Second}, zerolog.Nop())
	release := make(chan struct{})
	p.Go("stuck", func(ctx context.Context) error { <-release; return nil })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := p.Run(ctx)
	close(release)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "did not drain")
}

func TestServeHTTPDrainsInFlight(t *testing.T) {
	inHandler := make(chan struct{})
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(inHandler)
		<-release
		_, _ = w.Write([]byte("done"))
	})
	run, addr, err := ServeHTTP("127.0.0.1:0", h, 5*time.Second, zerolog.Nop())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error)
	go func() { stopped <- run(ctx) }()
	resp := make(chan string)
	go func() {
		r, err := http.Get("http://" + addr.String() + "/")
		if err != nil {
			resp <- err.Error()
			return
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		resp <- string(b)
	}()
	<-inHandler
	cancel()
	close(release)
	assert.Equal(t, "done", <-resp, "an in-flight request completes during drain")
	require.NoError(t, <-stopped)
	http.DefaultClient.CloseIdleConnections()
}

// TestPublicHealth: a public port gets liveness and the version only, never
// the dependency details of /__heartbeat__ or the process's /metrics.
func TestPublicHealth(t *testing.T) {
	h := PublicHealth()
	code, _ := get(t, h, "/__lbheartbeat__")
	assert.Equal(t, 200, code)
	code, body := get(t, h, "/__version__")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, `"build"`)
	for _, p := range []string{"/__heartbeat__", "/metrics", "/"} {
		code, body = get(t, h, p)
		assert.Equal(t, 404, code, p)
		assert.NotContains(t, body, "go_goroutines", p)
	}
}

// TestServingStopsBackgroundAfterDrain: the background loop outlives the
// HTTP drain, and both errors are reported.
func TestServingStopsBackgroundAfterDrain(t *testing.T) {
	var order []string
	var mu sync.Mutex
	note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	boom := errors.New("serve failed")
	svc := Serving(func(ctx context.Context) error {
		<-ctx.Done()
		note("http drained")
		return boom
	}, ServiceFunc(func(ctx context.Context) error {
		<-ctx.Done()
		note("background stopped")
		return nil
	}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, svc.Run(ctx), boom)
	assert.Equal(t, []string{"http drained", "background stopped"}, order)
}

func TestMetricsRegisterOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.CounterVec("t_total", "help", "l").WithLabelValues("a").Inc()
	m.GaugeVec("t_gauge", "help").WithLabelValues().Set(1)
	m.HistogramVec("t_seconds", "help", prometheus.DefBuckets).WithLabelValues().Observe(1)
	families, err := reg.Gather()
	require.NoError(t, err)
	assert.Len(t, families, 3)
	assert.Panics(t, func() { m.CounterVec("t_total", "help", "l") }, "a name registered twice is a bug")
	NewMetrics(nil).CounterVec("t_total", "help", "l").WithLabelValues("a").Inc() // unregistered: fine
}

// TestAdminPprof: the profiles are on the admin port only when asked for,
// and never on a public port.
func TestAdminPprof(t *testing.T) {
	off := NewProcess(AdminConfig{ShutdownTimeout: time.Second, CheckTimeout: time.Second}, zerolog.Nop())
	code, _ := get(t, off.AdminHandler(), "/debug/pprof/")
	assert.Equal(t, 404, code, "pprof is off by default")
	on := NewProcess(AdminConfig{ShutdownTimeout: time.Second, CheckTimeout: time.Second, Pprof: true}, zerolog.Nop())
	code, body := get(t, on.AdminHandler(), "/debug/pprof/")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, "allocs")
	code, _ = get(t, on.AdminHandler(), "/debug/pprof/heap?debug=1")
	assert.Equal(t, 200, code)
	code, _ = get(t, PublicHealth(), "/debug/pprof/")
	assert.Equal(t, 404, code, "never on a public port")
}
