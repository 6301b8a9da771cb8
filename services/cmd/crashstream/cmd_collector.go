package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/crashstream/crashstream/services/collector"
	"github.com/crashstream/crashstream/services/runtime"
	"github.com/gin-gonic/gin"
)

// collectorService runs POST /submit and the crash.received republisher.
type collectorService struct{ cfg collector.Config }

func (s *collectorService) about() about {
	return about{name: "collector", adminAddr: "127.0.0.1:9100", cfg: &s.cfg,
		summary: "accept crash reports over HTTP (POST /submit)"}
}

func (s *collectorService) build(ctx context.Context, sh *shared) (runtime.Service, error) {
	gin.SetMode(gin.ReleaseMode)
	log := sh.logger("collector")
	store, producer, serde, err := sh.storeAndEvents(ctx)
	if err != nil {
		return nil, err
	}
	bucket := store.Bucket(sh.s3.Bucket)
	// Antenna's rule: never accept a crash we could not store. A bucket
	// that is missing is created; one we cannot write stops start-up.
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := bucket.Ensure(cctx); err != nil {
		return nil, err
	}
	if err := bucket.CheckWritable(cctx); err != nil {
		return nil, err
	}
	c, err := collector.New(s.cfg, bucket, collector.NewKafkaPublisher(producer, serde, sh.kafka.Topics().Received), sh.process.Registry, log)
	if err != nil {
		return nil, err
	}
	// The submit port also answers liveness and the version, as Antenna's
	// does; /__heartbeat__ details and /metrics stay on the admin port.
	mux := http.NewServeMux()
	mux.Handle("/submit", c.Handler())
	health := runtime.PublicHealth()
	mux.Handle("/__lbheartbeat__", health)
	mux.Handle("/__version__", health)
	serve, addr, err := runtime.ServeHTTP(s.cfg.Addr, mux, sh.admin.ShutdownTimeout, log)
	if err != nil {
		return nil, fmt.Errorf("-collector.addr: %w", err)
	}
	log.Info().Str("addr", addr.String()).Msg("collector ready for POST /submit")
	// The republisher outlives the HTTP drain, so crashes accepted by
	// in-flight requests still get their retries.
	return runtime.Serving(serve, c), nil
}
