package sinks

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	chstore "github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/streams"
)

// ClickHouseConfig configures sink-clickhouse.
type ClickHouseConfig struct {
	// Group is the consumer group.
	Group string
	// BatchRows flushes an INSERT at this many rows; Linger flushes it
	// after this long even if smaller.
	BatchRows int
	Linger    time.Duration
	// MinInterval spaces INSERTs that are not full: rows arriving within
	// it wait for one write (see groupCommit).
	MinInterval time.Duration
	// Writer bounds insert retries.
	Writer chstore.WriterConfig
}

// RegisterFlags adds the sink-clickhouse.* flags.
func (c *ClickHouseConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Group, "sink-clickhouse.group", "sink-clickhouse", "consumer group of the ClickHouse sink")
	fs.IntVar(&c.BatchRows, "sink-clickhouse.batch-rows", 5000, "rows per ClickHouse INSERT at most")
	fs.DurationVar(&c.Linger, "sink-clickhouse.linger", time.Second, "longest wait for a ClickHouse INSERT to fill")
	fs.DurationVar(&c.MinInterval, "sink-clickhouse.min-interval", time.Second, "least time between two ClickHouse INSERTs that are not full (an idle sink inserts at once; 0: insert whenever the consumers are idle)")
	c.Writer.RegisterFlagsWithPrefix("sink-clickhouse.insert-", fs)
}

// Validate checks the settings.
func (c ClickHouseConfig) Validate() error {
	if c.Group == "" {
		return errors.New("-sink-clickhouse.group: must not be empty")
	}
	if c.BatchRows < 1 || c.BatchRows > 1_000_000 {
		return fmt.Errorf("-sink-clickhouse.batch-rows: want 1..1000000, got %d", c.BatchRows)
	}
	if c.Linger <= 0 || c.Linger > time.Minute {
		return fmt.Errorf("-sink-clickhouse.linger: want (0, 1m], got %s", c.Linger)
	}
	if c.MinInterval < 0 || c.MinInterval > time.Minute {
		return fmt.Errorf("-sink-clickhouse.min-interval: want [0, 1m], got %s", c.MinInterval)
	}
	if err := c.Writer.Validate(); err != nil {
		return fmt.Errorf("-sink-clickhouse.insert-*: %w", err)
	}
	return nil
}

// RowWriter stores rows durably; *clickhouse.Writer implements it.
type RowWriter interface {
	Write(ctx context.Context, rows []chstore.Row) error
}

// ClickHouseDeps are the sink's collaborators.
type ClickHouseDeps struct {
	Writer   RowWriter
	Table    *chstore.Table
	Decoder  Decoder
	Registry prometheus.Registerer
}

// ClickHouse is sink-clickhouse: a streams.BatchHandler.
type ClickHouse struct {
	cfg     ClickHouseConfig
	deps    ClickHouseDeps
	commit  *groupCommit[chstore.Row]
	metrics *sinkMetrics
}

// NewClickHouse builds the sink.
func NewClickHouse(cfg ClickHouseConfig, deps ClickHouseDeps) (*ClickHouse, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Writer == nil || deps.Table == nil || deps.Decoder == nil {
		return nil, errors.New("sink-clickhouse: writer, table and decoder are required")
	}
	m, err := newSinkMetrics(deps.Registry, "clickhouse")
	if err != nil {
		return nil, err
	}
	s := &ClickHouse{cfg: cfg, deps: deps, metrics: m}
	s.commit = newGroupCommit(cfg.BatchRows, cfg.Linger, cfg.MinInterval, func(ctx context.Context, rows []chstore.Row) error {
		start := time.Now()
		err := deps.Writer.Write(ctx, rows)
		s.metrics.flush(len(rows), time.Since(start), err)
		return err
	})
	return s, nil
}

// HandleBatch maps a partition's records to rows and returns once they are
// in ClickHouse. Records that cannot be decoded or mapped are rejected
// (dead-lettered); a failed insert fails the whole batch, to be retried.
func (s *ClickHouse) HandleBatch(ctx context.Context, batch []*streams.Message) error {
	s.commit.enter()
	rows := make([]chstore.Row, 0, len(batch))
	rejected := map[int]error{}
	for i, m := range batch {
		pc, err := decode(ctx, s.deps.Decoder, m)
		if err == nil {
			var row chstore.Row
			if row, err = s.deps.Table.Row(pc); err != nil {
				err = streams.Permanent(err)
			} else {
				rows = append(rows, row)
				continue
			}
		}
		if !streams.IsPermanent(err) {
			s.commit.skip()
			return err
		}
		rejected[i] = err
	}
	s.metrics.rejected.Add(float64(len(rejected)))
	if len(rows) == 0 {
		s.commit.skip()
	} else if err := s.commit.write(ctx, rows); err != nil {
		return err
	}
	return streams.Reject(rejected)
}

// Stage declares what the sink consumes: crash.processed.v1 (of topics)
// in its group.
func (s *ClickHouse) Stage(topics streams.Topics) streams.Stage {
	return streams.Stage{Name: "sink-clickhouse", Group: s.cfg.Group, Topics: []string{topics.Processed}, BatchHandler: s}
}

// ensure the interface is met
var _ streams.BatchHandler = (*ClickHouse)(nil)
