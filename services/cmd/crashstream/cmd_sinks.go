package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/services/sinks"
	"github.com/crashstream/crashstream/storage/clickhouse"
)

// sinkClickHouseService writes processed crashes to ClickHouse; the shared
// connection migrates the schema at start-up.
type sinkClickHouseService struct {
	cfg sinks.ClickHouseConfig
}

func sinkClickHouseCommand() command {
	return serviceCommand(&sinkClickHouseService{}, "write processed crashes to ClickHouse (Kafka consumer)")
}

func (s *sinkClickHouseService) name() string                   { return "sink-clickhouse" }
func (s *sinkClickHouseService) defaultAdminAddr() string       { return "127.0.0.1:9102" }
func (s *sinkClickHouseService) registerFlags(fs *flag.FlagSet) { s.cfg.RegisterFlags(fs) }
func (s *sinkClickHouseService) validate() error                { return s.cfg.Validate() }

func (s *sinkClickHouseService) start(ctx context.Context, sh *shared) error {
	conn, err := sh.clickhouse(ctx)
	if err != nil {
		return err
	}
	table, err := clickhouse.NewTable(fields.New())
	if err != nil {
		return err
	}
	writer, err := clickhouse.NewWriter(conn, sh.ch.Database, table, s.cfg.Writer)
	if err != nil {
		return err
	}
	serde, err := sh.events(ctx)
	if err != nil {
		return err
	}
	sink, err := sinks.NewClickHouse(s.cfg, sinks.ClickHouseDeps{
		Writer: writer, Table: table, Decoder: serde,
		Logger:   sh.logger(s.name()),
		Registry: sh.process.Registry,
	})
	if err != nil {
		return err
	}
	return sh.consume(s.name(), sink.Stage(sh.kafka.Topics()))
}

// sinkObjectStoreService writes processed crashes to the object store.
type sinkObjectStoreService struct{ cfg sinks.ObjectStoreConfig }

func sinkObjectStoreCommand() command {
	return serviceCommand(&sinkObjectStoreService{}, "write processed crashes to the object store (Kafka consumer)")
}

func (s *sinkObjectStoreService) name() string                   { return "sink-objectstore" }
func (s *sinkObjectStoreService) defaultAdminAddr() string       { return "127.0.0.1:9103" }
func (s *sinkObjectStoreService) registerFlags(fs *flag.FlagSet) { s.cfg.RegisterFlags(fs) }
func (s *sinkObjectStoreService) validate() error                { return s.cfg.Validate() }

func (s *sinkObjectStoreService) start(ctx context.Context, sh *shared) error {
	store, err := sh.objectStore()
	if err != nil {
		return err
	}
	serde, err := sh.events(ctx)
	if err != nil {
		return err
	}
	sink, err := sinks.NewObjectStore(s.cfg, sinks.ObjectStoreDeps{
		Bucket: store.Bucket(sh.s3.Bucket), Decoder: serde,
		Logger:   sh.logger(s.name()),
		Registry: sh.process.Registry,
	})
	if err != nil {
		return err
	}
	return sh.consume(s.name(), sink.Stage(sh.kafka.Topics()))
}

// sinkTelemetryService exports the public telemetry subset.
type sinkTelemetryService struct{ cfg sinks.TelemetryConfig }

func sinkTelemetryCommand() command {
	return serviceCommand(&sinkTelemetryService{}, "export public fields of processed crashes to the telemetry topic (Kafka consumer)")
}

func (s *sinkTelemetryService) name() string                   { return "sink-telemetry" }
func (s *sinkTelemetryService) defaultAdminAddr() string       { return "127.0.0.1:9104" }
func (s *sinkTelemetryService) registerFlags(fs *flag.FlagSet) { s.cfg.RegisterFlags(fs) }
func (s *sinkTelemetryService) validate() error                { return s.cfg.Validate() }

func (s *sinkTelemetryService) start(ctx context.Context, sh *shared) error {
	producer, err := sh.kafkaProducer()
	if err != nil {
		return err
	}
	serde, err := sh.events(ctx)
	if err != nil {
		return err
	}
	deps := sinks.TelemetryDeps{
		Publisher: producer, Encoder: serde, Decoder: serde,
		Topic: sh.kafka.Topics().Telemetry, Fields: fields.New(),
		Logger:   sh.logger(s.name()),
		Registry: sh.process.Registry,
	}
	if s.cfg.WriteBucket {
		store, err := sh.objectStore()
		if err != nil {
			return err
		}
		b := store.Bucket(sh.s3.TelemetryBucket)
		if err := b.Ensure(ctx); err != nil {
			return fmt.Errorf("telemetry bucket: %w", err)
		}
		deps.Bucket = b
	}
	sink, err := sinks.NewTelemetry(s.cfg, deps)
	if err != nil {
		return err
	}
	return sh.consume(s.name(), sink.Stage(sh.kafka.Topics()))
}
