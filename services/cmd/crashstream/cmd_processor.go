package main

import (
	"context"

	"github.com/crashstream/crashstream/services/processor"
	"github.com/crashstream/crashstream/services/runtime"
)

// processorService runs the processor consumers.
type processorService struct{ cfg processor.Config }

func (s *processorService) about() about {
	return about{name: "processor", adminAddr: "127.0.0.1:9101", cfg: &s.cfg,
		summary: "turn received crashes into processed crashes (Kafka consumer)"}
}

func (s *processorService) build(ctx context.Context, sh *shared) (runtime.Service, error) {
	store, producer, serde, err := sh.storeAndEvents(ctx)
	if err != nil {
		return nil, err
	}
	p, err := processor.New(s.cfg, processor.Deps{
		Store:     store.Bucket(sh.s3.Bucket),
		Symbols:   store.Bucket(sh.s3.SymbolsBucket),
		Publisher: producer,
		Serde:     serde,
		Topics:    sh.kafka.Topics(),
		Registry:  sh.process.Registry,
	})
	if err != nil {
		return nil, err
	}
	return sh.consumers("processor", p.Stages()...)
}
