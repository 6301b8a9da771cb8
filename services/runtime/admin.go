package runtime

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// AdminConfig is the admin server's listen address and the shutdown bound.
type AdminConfig struct {
	// Addr is where /__heartbeat__, /__lbheartbeat__, /__version__ and
	// /metrics are served. Empty disables the admin server (tests).
	Addr string
	// ShutdownTimeout bounds the whole graceful shutdown.
	ShutdownTimeout time.Duration
	// CheckTimeout bounds each dependency check of /__heartbeat__.
	CheckTimeout time.Duration
	// Pprof serves net/http/pprof under /debug/pprof/ on the admin port
	// (never on a public one): CPU and allocation profiles under load, as
	// the benchmark takes them. Off by default, since a profile costs the
	// process CPU while it runs.
	Pprof bool
}

// RegisterFlags adds -admin.addr with the service's default port and
// -shutdown.timeout.
func (c *AdminConfig) RegisterFlags(fs *flag.FlagSet, defaultAddr string) {
	fs.StringVar(&c.Addr, "admin.addr", defaultAddr, "admin server address (health, version, metrics); empty disables it")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown.timeout", 30*time.Second, "bound on graceful shutdown (drain, flush, close)")
	fs.DurationVar(&c.CheckTimeout, "admin.check-timeout", 3*time.Second, "bound on each dependency check of /__heartbeat__")
	fs.BoolVar(&c.Pprof, "admin.pprof", false, "serve net/http/pprof under /debug/pprof/ on the admin port")
}

// Validate checks the address and timeouts.
func (c AdminConfig) Validate() error {
	if c.Addr != "" {
		if err := ValidateHostPort(c.Addr); err != nil {
			return fmt.Errorf("-admin.addr: %w", err)
		}
	}
	if c.ShutdownTimeout <= 0 {
		return fmt.Errorf("-shutdown.timeout: must be positive, got %s", c.ShutdownTimeout)
	}
	if c.CheckTimeout <= 0 {
		return fmt.Errorf("-admin.check-timeout: must be positive, got %s", c.CheckTimeout)
	}
	return nil
}

// ValidateHostPort checks a host:port listen or dial address, so that a
// typo fails at start-up rather than on first use.
func ValidateHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port: %v", addr, err)
	}
	if _, err := net.LookupPort("tcp", port); err != nil || port == "" {
		return fmt.Errorf("%q has an invalid port %q", addr, port)
	}
	_ = host // empty host means all interfaces, which is valid
	return nil
}

// CheckFunc reports whether a dependency is usable; it must honour ctx.
type CheckFunc func(ctx context.Context) error

// admin is the per-process admin HTTP server. Readiness is an atomic flag:
// /__heartbeat__ answers 503 until the process is ready and again from the
// moment shutdown begins, so orchestrators stop routing before we drain.
type admin struct {
	cfg      AdminConfig
	registry *prometheus.Registry
	ready    atomic.Bool

	mu     sync.Mutex
	checks map[string]CheckFunc
}

func newAdmin(cfg AdminConfig, reg *prometheus.Registry) *admin {
	return &admin{cfg: cfg, registry: reg, checks: map[string]CheckFunc{}}
}

func (a *admin) addCheck(name string, fn CheckFunc) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.checks[name] = fn
}

// handler serves the admin routes: the public ones plus /__heartbeat__
// (dependency details) and /metrics (every service of the process).
func (a *admin) handler() http.Handler {
	mux := http.NewServeMux()
	publicRoutes(mux)
	mux.HandleFunc("/__heartbeat__", a.heartbeat)
	mux.Handle("/metrics", promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{Registry: a.registry}))
	if a.cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// publicRoutes are the health routes a public port may serve: liveness and
// the version, which say nothing about dependencies or load.
func publicRoutes(mux *http.ServeMux) {
	mux.HandleFunc("/__lbheartbeat__", func(w http.ResponseWriter, r *http.Request) {
		// Liveness: the process is up and serving. Dependencies are not
		// checked here, so a broker outage does not get every pod killed.
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.HandleFunc("/__version__", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, BuildInfo())
	})
}

// PublicHealth serves /__lbheartbeat__ and /__version__ only: what a
// public port (the collector's submit port, the webapp's) adds to its own
// routes. /__heartbeat__ (which names dependencies and their errors) and
// /metrics stay on the admin port.
func PublicHealth() http.Handler {
	mux := http.NewServeMux()
	publicRoutes(mux)
	return mux
}

// heartbeat runs every dependency check concurrently, each bounded by
// CheckTimeout, and answers 200 only when the process is ready and all pass.
func (a *admin) heartbeat(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	checks := make(map[string]CheckFunc, len(a.checks))
	for k, v := range a.checks {
		checks[k] = v
	}
	a.mu.Unlock()

	type result struct{ name, err string }
	results := make(chan result, len(checks))
	for name, fn := range checks {
		go func() {
			ctx, cancel := context.WithTimeout(r.Context(), a.cfg.CheckTimeout)
			defer cancel()
			msg := "ok"
			if err := fn(ctx); err != nil {
				msg = err.Error()
			}
			results <- result{name, msg}
		}()
	}
	body := struct {
		Status string            `json:"status"`
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}{Status: "ok", Ready: a.ready.Load(), Checks: map[string]string{}}
	for range checks {
		res := <-results
		body.Checks[res.name] = res.err
		if res.err != "ok" {
			body.Status = "error"
		}
	}
	code := http.StatusOK
	if !body.Ready {
		body.Status = "not ready"
		code = http.StatusServiceUnavailable
	} else if body.Status != "ok" {
		code = http.StatusInternalServerError
	}
	writeJSON(w, code, body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
