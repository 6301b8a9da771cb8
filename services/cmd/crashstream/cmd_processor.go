package main

import (
	"context"
	"flag"

	"github.com/crashstream/crashstream/services/processor"
)

// processorService runs the processor consumers.
type processorService struct{ cfg processor.Config }

func processorCommand() command {
	return serviceCommand(&processorService{}, "turn received crashes into processed crashes (Kafka consumer)")
}

func (s *processorService) name() string                   { return "processor" }
func (s *processorService) defaultAdminAddr() string       { return "127.0.0.1:9101" }
func (s *processorService) registerFlags(fs *flag.FlagSet) { s.cfg.RegisterFlags(fs) }
func (s *processorService) validate() error                { return s.cfg.Validate() }

func (s *processorService) start(ctx context.Context, sh *shared) error {
	store, err := sh.objectStore()
	if err != nil {
		return err
	}
	producer, err := sh.kafkaProducer()
	if err != nil {
		return err
	}
	serde, err := sh.events(ctx)
	if err != nil {
		return err
	}
	p, err := processor.New(s.cfg, processor.Deps{
		Store:     store.Bucket(sh.s3.Bucket),
		Symbols:   store.Bucket(sh.s3.SymbolsBucket),
		Publisher: producer,
		Serde:     serde,
		Topics:    sh.kafka.Topics(),
		Logger:    sh.logger("processor"),
		Registry:  sh.process.Registry,
	})
	if err != nil {
		return err
	}
	return sh.consume(s.name(), p.Stages()...)
}
