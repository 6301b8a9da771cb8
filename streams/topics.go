package streams

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Base topic names (without prefix). The v1 suffix is the contract
// version: an incompatible change gets a new topic, not a new schema.
const (
	TopicReceived  = "crash.received.v1"
	TopicPriority  = "crash.priority.v1"
	TopicReprocess = "crash.reprocess.v1"
	TopicProcessed = "crash.processed.v1"
	TopicTelemetry = "crash.telemetry.v1"
	TopicDLQ       = "crash.dlq.v1"
)

// Topics are the prefixed topic names of one deployment.
type Topics struct {
	Received, Priority, Reprocess, Processed, Telemetry, DLQ string
}

// NewTopics returns the topic names with prefix prepended.
func NewTopics(prefix string) Topics {
	return Topics{
		Received:  prefix + TopicReceived,
		Priority:  prefix + TopicPriority,
		Reprocess: prefix + TopicReprocess,
		Processed: prefix + TopicProcessed,
		Telemetry: prefix + TopicTelemetry,
		DLQ:       prefix + TopicDLQ,
	}
}

// Topics returns this configuration's topic names.
func (c *Config) Topics() Topics { return NewTopics(c.TopicPrefix) }

// All lists every topic.
func (t Topics) All() []string {
	return []string{t.Received, t.Priority, t.Reprocess, t.Processed, t.Telemetry, t.DLQ}
}

// EnsureTopics creates the named topics with the configured partitions,
// replication factor, retention and maximum message size. Topics that
// already exist are left as they are, so every service can call it at
// start-up. It is a no-op when kafka.create-topics is false.
func EnsureTopics(ctx context.Context, cfg Config, names ...string) error {
	if !cfg.CreateTopics || len(names) == 0 {
		return nil
	}
	sec, err := cfg.Security.opts()
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cfg.Brokers...), kgo.ClientID(cfg.ClientID)}, sec...)...)
	if err != nil {
		return fmt.Errorf("streams: client: %w", err)
	}
	defer cl.Close()
	return ensureTopics(ctx, kadm.NewClient(cl), cfg, names...)
}

func ensureTopics(ctx context.Context, adm *kadm.Client, cfg Config, names ...string) error {
	retention := strconv.FormatInt(cfg.Retention.Milliseconds(), 10)
	maxBytes := strconv.Itoa(cfg.MaxMessageBytes)
	resp, err := adm.CreateTopics(ctx, int32(cfg.Partitions), int16(cfg.ReplicationFactor),
		map[string]*string{"retention.ms": &retention, "max.message.bytes": &maxBytes}, names...)
	if err != nil {
		return fmt.Errorf("streams: create topics: %w", err)
	}
	var errs []error
	for _, r := range resp.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			errs = append(errs, fmt.Errorf("streams: create topic %s: %w", r.Topic, r.Err))
		}
	}
	return errors.Join(errs...)
}
