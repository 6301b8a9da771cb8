package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/schemas/registry"
	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/services/runtime"
	"github.com/crashstream/crashstream/services/webapp"
	"github.com/crashstream/crashstream/services/webapp/pages"
	"github.com/crashstream/crashstream/storage/clickhouse"
)

// webappService serves Crash Stats: the HTML pages, the API and the
// read-only schema registry.
type webappService struct {
	cfg webapp.Config
	// processorSymbolURLs is the processor's -symbols.url when both run in
	// one process (crashstream all): the symbol servers the webapp probes
	// when -webapp.symbols.url is empty, so one setting does for both.
	processorSymbolURLs *[]string
}

func (s *webappService) about() about {
	return about{name: "webapp", adminAddr: "127.0.0.1:9105", cfg: &s.cfg,
		summary: "serve Crash Stats: top crashers, reports, search, API"}
}

// config is the webapp's configuration, with the processor's symbol
// servers when -webapp.symbols.url is empty in crashstream all.
func (s *webappService) config() webapp.Config {
	cfg := s.cfg
	if len(cfg.SymbolURLs) == 0 && s.processorSymbolURLs != nil {
		cfg.SymbolURLs = *s.processorSymbolURLs
	}
	return cfg
}

func (s *webappService) build(ctx context.Context, sh *shared) (runtime.Service, error) {
	gin.SetMode(gin.ReleaseMode)
	log := sh.logger("webapp")
	conn, err := sh.clickhouse(ctx)
	if err != nil {
		return nil, err
	}
	// Clean partitions (compacted by cron's compact job) are read without
	// per-query deduplication; the others with argMax. Exact either way.
	reader, err := clickhouse.NewClusterReader(conn, sh.ch.Database, sh.ch.Cluster, clickhouse.DedupClean)
	if err != nil {
		return nil, err
	}
	corr, err := clickhouse.NewCorrelator(conn, sh.ch.Database, fields.New(), clickhouse.DefaultCorrelationAnnotations)
	if err != nil {
		return nil, err
	}
	store, producer, serde, err := sh.storeAndEvents(ctx)
	if err != nil {
		return nil, err
	}
	crashes := store.Bucket(sh.s3.Bucket)
	symbols := store.Bucket(sh.s3.SymbolsBucket)
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, b := range []interface{ Ensure(context.Context) error }{crashes, symbols} {
		if err := b.Ensure(cctx); err != nil {
			return nil, err
		}
	}
	static, err := registry.NewStatic()
	if err != nil {
		return nil, err
	}
	srv, err := webapp.New(s.config(), webapp.Deps{
		Reader: reader, Crashes: crashes, Symbols: symbols,
		Tokens:    auth.NewStore(auth.BucketBlobs(crashes)),
		Publisher: producer, Serde: serde, Topics: sh.kafka.Topics(),
		Fields: fields.New(), Schemas: static, Registry: sh.process.Registry, Logger: log, Correlations: corr,
		JobStore: crashes, JobFinder: reader,
	}, pages.FromServer)
	if err != nil {
		return nil, err
	}
	// The webapp port also answers liveness and the version, like the
	// collector's; /__heartbeat__ details and /metrics stay on the admin port.
	mux := http.NewServeMux()
	health := runtime.PublicHealth()
	for _, p := range []string{"/__lbheartbeat__", "/__version__"} {
		mux.Handle(p, health)
	}
	mux.Handle("/", srv.Handler())
	serve, addr, err := runtime.ServeHTTP(s.cfg.Addr, mux, sh.admin.ShutdownTimeout, log,
		runtime.WithTimeouts(s.cfg.HeaderReadTimeout, s.cfg.IdleTimeout))
	if err != nil {
		return nil, fmt.Errorf("-webapp.addr: %w", err)
	}
	log.Info().Str("addr", addr.String()).Msg("Crash Stats ready")
	return runtime.Serving(serve, srv), nil
}
