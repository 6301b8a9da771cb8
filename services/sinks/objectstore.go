package sinks

import (
	"context"
	"errors"
	"flag"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/streams"
)

// ObjectStoreConfig configures sink-objectstore.
type ObjectStoreConfig struct {
	Group string
}

// RegisterFlags adds the sink-objectstore.* flags.
func (c *ObjectStoreConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Group, "sink-objectstore.group", "sink-objectstore", "consumer group of the object store sink")
}

// Validate checks the settings.
func (c ObjectStoreConfig) Validate() error {
	if c.Group == "" {
		return errors.New("-sink-objectstore.group: must not be empty")
	}
	return nil
}

// Putter writes objects; *objectstore.Bucket implements it.
type Putter interface {
	PutBytes(ctx context.Context, key string, data []byte, contentType string) error
}

// ObjectStoreDeps are the sink's collaborators.
type ObjectStoreDeps struct {
	Bucket   Putter
	Decoder  Decoder
	Registry prometheus.Registerer
}

// ObjectStore is sink-objectstore: a streams.Handler writing
// v1/processed_crash/<id>. The latest processing overwrites the object.
type ObjectStore struct {
	cfg     ObjectStoreConfig
	deps    ObjectStoreDeps
	metrics *sinkMetrics
}

// NewObjectStore builds the sink.
func NewObjectStore(cfg ObjectStoreConfig, deps ObjectStoreDeps) (*ObjectStore, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Bucket == nil || deps.Decoder == nil {
		return nil, errors.New("sink-objectstore: bucket and decoder are required")
	}
	m, err := newSinkMetrics(deps.Registry, "objectstore")
	if err != nil {
		return nil, err
	}
	return &ObjectStore{cfg: cfg, deps: deps, metrics: m}, nil
}

// Handle writes one processed crash as JSON.
func (s *ObjectStore) Handle(ctx context.Context, m *streams.Message) error {
	pc, err := decode(ctx, s.deps.Decoder, m)
	if err != nil {
		if streams.IsPermanent(err) {
			s.metrics.rejected.Inc()
		}
		return err
	}
	key, err := objectstore.ProcessedCrashKey(pc.CrashID)
	if err != nil {
		s.metrics.rejected.Inc()
		return streams.Permanent(err)
	}
	body, err := pc.MarshalJSON()
	if err != nil {
		s.metrics.rejected.Inc()
		return streams.Permanent(err)
	}
	done := s.metrics.timer()
	err = s.deps.Bucket.PutBytes(ctx, key, body, "application/json")
	done(1, err)
	return err
}

// Stage declares what the sink consumes: crash.processed.v1 (of topics)
// in its group.
func (s *ObjectStore) Stage(topics streams.Topics) streams.Stage {
	return streams.Stage{Name: "sink-objectstore", Group: s.cfg.Group, Topics: []string{topics.Processed}, Handler: s}
}
