package clickhouse

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// WriterConfig bounds the writer's retries.
type WriterConfig struct {
	// MaxAttempts is how many times one batch is tried before Write gives up
	// and the caller leaves its offsets uncommitted.
	MaxAttempts int
	// Backoff is the first wait between attempts; it doubles up to MaxBackoff.
	Backoff    time.Duration
	MaxBackoff time.Duration
}

// RegisterFlagsWithPrefix adds the writer flags (prefix e.g. "clickhouse.insert-").
func (c *WriterConfig) RegisterFlagsWithPrefix(prefix string, fs *flag.FlagSet) {
	fs.IntVar(&c.MaxAttempts, prefix+"attempts", 5, "attempts per ClickHouse insert before giving up")
	fs.DurationVar(&c.Backoff, prefix+"backoff", 200*time.Millisecond, "first wait between ClickHouse insert attempts (doubles)")
	fs.DurationVar(&c.MaxBackoff, prefix+"max-backoff", 5*time.Second, "longest wait between ClickHouse insert attempts")
}

// Validate checks the bounds.
func (c WriterConfig) Validate() error {
	if c.MaxAttempts < 1 || c.MaxAttempts > 100 {
		return fmt.Errorf("-clickhouse.insert-attempts: want 1..100, got %d", c.MaxAttempts)
	}
	if c.Backoff <= 0 || c.MaxBackoff < c.Backoff {
		return fmt.Errorf("-clickhouse.insert-backoff: want 0 < backoff <= max-backoff, got %s and %s", c.Backoff, c.MaxBackoff)
	}
	return nil
}

// Writer inserts batches of crashes. It is safe for concurrent use.
type Writer struct {
	conn    driver.Conn
	db      string
	table   *Table
	columns string
	cfg     WriterConfig
	// sleep waits between attempts; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// NewWriter returns a writer into database's crashes table, filling the
// columns of table (and row_version).
func NewWriter(conn driver.Conn, database string, table *Table, cfg WriterConfig) (*Writer, error) {
	if !identRE.MatchString(database) {
		return nil, fmt.Errorf("database %q is not a plain identifier", database)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cols := strings.Join(append(table.ColumnNames(), "row_version"), ", ")
	return &Writer{conn: conn, db: database, table: table, columns: cols, cfg: cfg, sleep: sleepCtx}, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ErrInvalidCrash marks a crash that can never be inserted (the sink sends
// its record to the dead-letter topic instead of retrying).
var ErrInvalidCrash = errors.New("invalid crash row")

// Write inserts rows in one INSERT naming its columns, retrying transient
// failures with backoff. Only the newest processing of a crash id within the
// batch is sent. An insert retried after a lost acknowledgement may store a
// row twice; readers deduplicate and the aggregates count distinct ids, so
// that is harmless. Write returns nil only once ClickHouse acknowledged the
// insert: then, and only then, may the caller commit the batch's offsets.
func (w *Writer) Write(ctx context.Context, rows []Row) error {
	rows = newestPerCrash(rows)
	if len(rows) == 0 {
		return nil
	}
	backoff := w.cfg.Backoff
	var err error
	for attempt := 1; attempt <= w.cfg.MaxAttempts; attempt++ {
		if err = w.insert(ctx, rows); err == nil {
			return nil
		}
		if ctx.Err() != nil || attempt == w.cfg.MaxAttempts {
			break
		}
		if serr := w.sleep(ctx, backoff); serr != nil {
			break
		}
		backoff = min(2*backoff, w.cfg.MaxBackoff)
	}
	return fmt.Errorf("insert %d crashes: %w", len(rows), err)
}

func (w *Writer) insert(ctx context.Context, rows []Row) error {
	batch, err := w.conn.PrepareBatch(ctx, "INSERT INTO "+w.db+".crashes ("+w.columns+")")
	if err != nil {
		return err
	}
	for i := range rows {
		if len(rows[i].Values) != len(w.table.columns) {
			_ = batch.Abort()
			return fmt.Errorf("%w: row has %d values for %d columns", ErrInvalidCrash, len(rows[i].Values), len(w.table.columns))
		}
		if err := batch.Append(append(rows[i].Values, rows[i].Version)...); err != nil {
			_ = batch.Abort()
			return err
		}
	}
	return batch.Send()
}

// newestPerCrash keeps, for each crash id, the row with the highest
// RowVersion (the last one on ties), preserving first-seen order.
func newestPerCrash(rows []Row) []Row {
	idx := make(map[string]int, len(rows))
	out := make([]Row, 0, len(rows))
	for _, r := range rows {
		if i, ok := idx[r.CrashID]; ok {
			if r.Version >= out[i].Version {
				out[i] = r
			}
			continue
		}
		idx[r.CrashID] = len(out)
		out = append(out, r)
	}
	return out
}
