package main

import (
	"context"
	"fmt"

	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/services/runtime"
	"github.com/crashstream/crashstream/services/sinks"
	"github.com/crashstream/crashstream/storage/clickhouse"
)

// sinkClickHouseService writes processed crashes to ClickHouse; the shared
// connection migrates the schema at start-up.
type sinkClickHouseService struct{ cfg sinks.ClickHouseConfig }

func (s *sinkClickHouseService) about() about {
	return about{name: "sink-clickhouse", adminAddr: "127.0.0.1:9102", cfg: &s.cfg,
		summary: "write processed crashes to ClickHouse (Kafka consumer)"}
}

func (s *sinkClickHouseService) build(ctx context.Context, sh *shared) (runtime.Service, error) {
	conn, err := sh.clickhouse(ctx)
	if err != nil {
		return nil, err
	}
	table, err := clickhouse.NewTable(fields.New())
	if err != nil {
		return nil, err
	}
	writer, err := clickhouse.NewWriter(conn, sh.ch.Database, table, s.cfg.Writer)
	if err != nil {
		return nil, err
	}
	serde, err := sh.events(ctx)
	if err != nil {
		return nil, err
	}
	sink, err := sinks.NewClickHouse(s.cfg, sinks.ClickHouseDeps{
		Writer: writer, Table: table, Decoder: serde,
		Registry: sh.process.Registry,
	})
	if err != nil {
		return nil, err
	}
	return sh.consumers("sink-clickhouse", sink.Stage(sh.kafka.Topics()))
}

// sinkObjectStoreService writes processed crashes to the object store.
type sinkObjectStoreService struct{ cfg sinks.ObjectStoreConfig }

func (s *sinkObjectStoreService) about() about {
	return about{name: "sink-objectstore", adminAddr: "127.0.0.1:9103", cfg: &s.cfg,
		summary: "write processed crashes to the object store (Kafka consumer)"}
}

func (s *sinkObjectStoreService) build(ctx context.Context, sh *shared) (runtime.Service, error) {
	store, err := sh.objectStore()
	if err != nil {
		return nil, err
	}
	serde, err := sh.events(ctx)
	if err != nil {
		return nil, err
	}
	sink, err := sinks.NewObjectStore(s.cfg, sinks.ObjectStoreDeps{
		Bucket: store.Bucket(sh.s3.Bucket), Decoder: serde,
		Registry: sh.process.Registry,
	})
	if err != nil {
		return nil, err
	}
	return sh.consumers("sink-objectstore", sink.Stage(sh.kafka.Topics()))
}

// sinkTelemetryService exports the public telemetry subset.
type sinkTelemetryService struct{ cfg sinks.TelemetryConfig }

func (s *sinkTelemetryService) about() about {
	return about{name: "sink-telemetry", adminAddr: "127.0.0.1:9104", cfg: &s.cfg,
		summary: "export public fields of processed crashes to the telemetry topic (Kafka consumer)"}
}

func (s *sinkTelemetryService) build(ctx context.Context, sh *shared) (runtime.Service, error) {
	producer, err := sh.kafkaProducer()
	if err != nil {
		return nil, err
	}
	serde, err := sh.events(ctx)
	if err != nil {
		return nil, err
	}
	deps := sinks.TelemetryDeps{
		Publisher: producer, Encoder: serde, Decoder: serde,
		Topic: sh.kafka.Topics().Telemetry, Fields: fields.New(),
		Registry: sh.process.Registry,
	}
	if s.cfg.WriteBucket {
		store, err := sh.objectStore()
		if err != nil {
			return nil, err
		}
		b := store.Bucket(sh.s3.TelemetryBucket)
		if err := b.Ensure(ctx); err != nil {
			return nil, fmt.Errorf("telemetry bucket: %w", err)
		}
		deps.Bucket = b
	}
	sink, err := sinks.NewTelemetry(s.cfg, deps)
	if err != nil {
		return nil, err
	}
	return sh.consumers("sink-telemetry", sink.Stage(sh.kafka.Topics()))
}
