package streams

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Stage is what a consuming service exposes: a handler and what it
// consumes. The service declares it; a Runner builds the transport (one
// consumer group member per stage, with the delivery contract's decorators
// around the handler), so no service constructs a Kafka client itself.
type Stage struct {
	// Name labels the stage in logs and errors, e.g. "processor-priority".
	Name string
	// Group is the consumer group.
	Group string
	// Topics are the (prefixed) topics consumed.
	Topics []string
	// Concurrency, when positive, overrides kafka.consumer.concurrency.
	Concurrency int
	// MaxPollRecords, when positive, overrides
	// kafka.consumer.max-poll-records (and so bounds a batch).
	MaxPollRecords int
	// Handler handles one record at a time; set it or BatchHandler.
	Handler Handler
	// BatchHandler handles a partition's batch per poll.
	BatchHandler BatchHandler
}

// Runner runs the consumers of one or more stages.
type Runner struct {
	stages    []Stage
	consumers []*Consumer
}

// NewRunner builds a consumer for each stage (nothing is fetched until
// Run). A stage must set exactly one of Handler and BatchHandler.
func NewRunner(cfg Config, o Options, stages ...Stage) (*Runner, error) {
	r := &Runner{stages: stages}
	for _, s := range stages {
		co := ConsumerOptions{Options: o, Group: s.Group, Topics: s.Topics, Concurrency: s.Concurrency, MaxPollRecords: s.MaxPollRecords}
		co.Logger = o.Logger.With().Str("stage", s.Name).Logger()
		var c *Consumer
		var err error
		switch {
		case (s.Handler == nil) == (s.BatchHandler == nil):
			err = errors.New("set exactly one of Handler and BatchHandler")
		case s.Handler != nil:
			c, err = NewConsumer(cfg, co, s.Handler)
		default:
			c, err = NewBatchConsumer(cfg, co, s.BatchHandler)
		}
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("stage %s: %w", s.Name, err)
		}
		r.consumers = append(r.consumers, c)
	}
	return r, nil
}

// Run runs every stage's consumer until ctx ends; each drains and commits
// before Run returns (see Consumer.Run).
func (r *Runner) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(r.consumers))
	for i, c := range r.consumers {
		wg.Go(func() {
			if err := c.Run(ctx); err != nil {
				errs[i] = fmt.Errorf("stage %s: %w", r.stages[i].Name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close releases the consumers of a Runner that will not Run; it is safe
// after Run too.
func (r *Runner) Close() {
	for _, c := range r.consumers {
		c.Close()
	}
}
