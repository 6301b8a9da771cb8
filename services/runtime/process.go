package runtime

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"
)

// Process is the run group of one crashstream process: the loops it runs,
// the closers it calls at shutdown, and its admin server. One Process can
// carry several services (crashstream all).
type Process struct {
	// Logger is the process logger; services derive their own with
	// Logger.With().Str("service", ...).
	Logger zerolog.Logger
	// Registry collects every metric of the process; pass it to services
	// instead of using Prometheus's global registry.
	Registry *prometheus.Registry

	cfg     AdminConfig
	admin   *admin
	mu      sync.Mutex
	loops   []loop
	closers []loop
}

type loop struct {
	name string
	fn   func(ctx context.Context) error
}

// NewProcess creates a Process with a fresh metrics registry holding the Go
// runtime and process collectors.
func NewProcess(cfg AdminConfig, logger zerolog.Logger) *Process {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Process{Logger: logger, Registry: reg, cfg: cfg, admin: newAdmin(cfg, reg)}
}

// Go registers a long-running loop. fn must return when ctx is cancelled,
// after draining its in-flight work; a non-nil error from fn (other than
// context.Canceled) shuts the whole process down and becomes Run's result.
func (p *Process) Go(name string, fn func(ctx context.Context) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.loops = append(p.loops, loop{name, fn})
}

// OnClose registers a closer, run after every loop has returned, in reverse
// order of registration: register a client before the stages that use it.
func (p *Process) OnClose(name string, fn func(ctx context.Context) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closers = append(p.closers, loop{name, fn})
}

// Check registers a dependency check for /__heartbeat__.
func (p *Process) Check(name string, fn CheckFunc) { p.admin.addCheck(name, fn) }

// AdminHandler is the admin routes' handler, for tests and for embedding.
func (p *Process) AdminHandler() http.Handler { return p.admin.handler() }

// Ready reports whether the process is ready (started, not shutting down).
func (p *Process) Ready() bool { return p.admin.ready.Load() }

// Run starts the admin server and every loop, then blocks until ctx is
// cancelled or a loop fails, and shuts down as described in the package doc.
// It returns the first loop error, or an error if shutdown overran its bound.
func (p *Process) Run(ctx context.Context) error {
	var adminSrv *http.Server
	if p.cfg.Addr != "" {
		ln, err := net.Listen("tcp", p.cfg.Addr)
		if err != nil {
			return fmt.Errorf("admin server: %w", err)
		}
		adminSrv = &http.Server{Handler: p.admin.handler(), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = adminSrv.Serve(ln) }()
		p.Logger.Info().Str("addr", ln.Addr().String()).Msg("admin server listening")
	}

	p.mu.Lock()
	loops := append([]loop(nil), p.loops...)
	closers := append([]loop(nil), p.closers...)
	p.mu.Unlock()

	runCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, len(loops))
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := l.fn(runCtx)
			if err != nil && !errors.Is(err, context.Canceled) {
				err = fmt.Errorf("%s: %w", l.name, err)
			} else {
				err = nil
			}
			errc <- err
		}()
	}
	p.admin.ready.Store(true)
	p.Logger.Info().Int("loops", len(loops)).Msg("started")

	var firstErr error
	select {
	case <-ctx.Done():
		p.Logger.Info().Msg("shutdown requested")
	case firstErr = <-errc:
		if firstErr != nil {
			p.Logger.Error().Err(firstErr).Msg("a loop failed; shutting down")
		} else {
			p.Logger.Info().Msg("a loop ended; shutting down")
		}
	}

	// 1. Readiness off, so no new work is routed here.
	p.admin.ready.Store(false)
	deadline := time.Now().Add(p.cfg.ShutdownTimeout)
	// 2. Stop intake and drain: loops see their context cancelled.
	cancel()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Until(deadline)):
		firstErr = errors.Join(firstErr, fmt.Errorf("shutdown: loops did not drain within %s", p.cfg.ShutdownTimeout))
	}
	for i := 0; i < len(loops); i++ {
		select {
		case err := <-errc:
			if err != nil && firstErr == nil {
				firstErr = err
			}
		default:
		}
	}
	// 3. Close in reverse order of registration.
	closeCtx, closeCancel := context.WithDeadline(context.Background(), deadline)
	defer closeCancel()
	for i := len(closers) - 1; i >= 0; i-- {
		if err := closers[i].fn(closeCtx); err != nil {
			p.Logger.Error().Err(err).Str("closer", closers[i].name).Msg("close failed")
			firstErr = errors.Join(firstErr, fmt.Errorf("close %s: %w", closers[i].name, err))
		}
	}
	// 4. The admin server goes last, so metrics stay scrapeable while draining.
	if adminSrv != nil {
		sctx, scancel := context.WithTimeout(context.Background(), time.Second)
		defer scancel()
		_ = adminSrv.Shutdown(sctx)
	}
	p.Logger.Info().Msg("stopped")
	return firstErr
}

// Close runs the closers in reverse order without running any loop: for
// command-line tools that borrow a service's wiring for one action.
func (p *Process) Close(ctx context.Context) error {
	p.mu.Lock()
	closers := append([]loop(nil), p.closers...)
	p.closers = nil
	p.mu.Unlock()
	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		if err := closers[i].fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", closers[i].name, err))
		}
	}
	return errors.Join(errs...)
}

// ServerOption adjusts the http.Server of ServeHTTP.
type ServerOption func(*http.Server)

// WithTimeouts sets the header-read and keep-alive idle timeouts (zero
// keeps the default: 10 s for the header, 2 min idle).
func WithTimeouts(header, idle time.Duration) ServerOption {
	return func(s *http.Server) {
		if header > 0 {
			s.ReadHeaderTimeout = header
		}
		if idle > 0 {
			s.IdleTimeout = idle
		}
	}
}

// ServeHTTP returns a loop serving handler on addr until ctx is cancelled,
// then stops accepting and finishes in-flight requests (bounded by drain).
// The listener is opened immediately so that a port clash fails start-up.
// A request header must arrive within 10 s and an idle keep-alive
// connection is closed after 2 min (WithTimeouts changes both); bodies are
// bounded by each service (the collector's per-read deadline and minimum
// rate, the webapp's body deadline), since only they know what is slow.
func ServeHTTP(addr string, handler http.Handler, drain time.Duration, logger zerolog.Logger, opts ...ServerOption) (func(ctx context.Context) error, net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	for _, o := range opts {
		o(srv)
	}
	run := func(ctx context.Context) error {
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(ln) }()
		logger.Info().Str("addr", ln.Addr().String()).Msg("http server listening")
		select {
		case err := <-errc:
			return err
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.Background(), drain)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			return fmt.Errorf("http drain: %w", err)
		}
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
	return run, ln.Addr(), nil
}
