package clickhouse

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/crashstream/crashstream/streams/backoff"
)

// WriterConfig bounds the writer's retries: the flags' view of a
// backoff.Policy (see Policy).
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
		return fmt.Errorf("insert attempts: want 1..100, got %d", c.MaxAttempts)
	}
	if c.Backoff <= 0 || c.MaxBackoff < c.Backoff {
		return fmt.Errorf("insert backoff: want 0 < backoff <= max-backoff, got %s and %s", c.Backoff, c.MaxBackoff)
	}
	return nil
}

// Policy is the writer's retry policy: MaxAttempts attempts, waits from
// Backoff doubling up to MaxBackoff, no jitter (one writer per sink).
func (c WriterConfig) Policy() backoff.Policy {
	return backoff.Policy{Initial: c.Backoff, Max: c.MaxBackoff, MaxAttempts: c.MaxAttempts}
}

// Writer inserts batches of crashes. It is safe for concurrent use.
type Writer struct {
	conn    driver.Conn
	db      string
	table   *Table
	columns string
	retry   backoff.Policy
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
	return &Writer{conn: conn, db: database, table: table, columns: cols, retry: cfg.Policy()}, nil
}

// ErrInvalidCrash marks a crash that can never be inserted (the sink sends
// its record to the dead-letter topic instead of retrying).
var ErrInvalidCrash = errors.New("invalid crash row")

// Write stores rows and returns nil only once ClickHouse acknowledged them:
// then, and only then, may the caller commit the batch's offsets.
//
// It keeps the crashes table and the top-crashers sums exact under
// at-least-once delivery. Only the newest processing of a crash id in the
// batch is kept; rows whose crash is already stored with the same or a newer
// version are skipped (a batch replayed after a crash, or an old processing
// arriving late), so the materialized view does not count them again; and
// when a row replaces an older processing, a -1 correction for the old
// row's key goes into top_crashers_daily after the insert. Before a retry
// the lookup runs again, so an insert that succeeded but whose
// acknowledgement was lost is not counted twice either.
//
// The two inserts are not one transaction: a report read between them
// still counts the replaced processing's signature once, until the
// correction lands a moment later (Write returns after both).
//
// What is not covered: a process killed between the crashes insert and its
// corrections (the old signature keeps one count), and two sink instances
// writing the same crash at once during a rebalance. RebuildDay repairs both.
func (w *Writer) Write(ctx context.Context, rows []Row) error {
	rows = newestPerCrash(rows)
	if len(rows) == 0 {
		return nil
	}
	for i := range rows {
		if len(rows[i].Values) != len(w.table.columns) {
			return fmt.Errorf("%w: crash %s has %d values for %d columns", ErrInvalidCrash, rows[i].CrashID, len(rows[i].Values), len(w.table.columns))
		}
	}
	// The attempts share their progress: an insert that succeeded is not
	// repeated when only its corrections failed.
	inserted := false
	var pending *corrections // owed once the insert is done
	err := w.retry.Retry(ctx, func(int) error {
		if !inserted {
			replaced, err := w.writeOnce(ctx, rows)
			if err != nil {
				return err
			}
			inserted = true
			if len(replaced) > 0 {
				pending = &corrections{keys: replaced}
			}
		}
		if pending != nil {
			if err := w.correct(ctx, pending); err != nil {
				return err
			}
			pending = nil
		}
		return nil
	}, nil, nil)
	if err == nil {
		return nil
	}
	return fmt.Errorf("insert %d crashes: %w", len(rows), err)
}

// stored is what the crashes table already holds for one crash id.
type stored struct {
	version uint64
	key     aggKey
}

// writeOnce inserts the rows not stored yet and returns the keys of the
// processings they replace.
func (w *Writer) writeOnce(ctx context.Context, rows []Row) ([]aggKey, error) {
	have, err := w.lookup(ctx, rows)
	if err != nil {
		return nil, err
	}
	fresh := rows[:0:0]
	var replaced []aggKey
	for _, r := range rows {
		old, ok := have[r.CrashID]
		switch {
		case !ok:
			fresh = append(fresh, r)
		case old.version < r.Version:
			fresh = append(fresh, r)
			replaced = append(replaced, old.key)
		}
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	if err := w.insert(ctx, fresh); err != nil {
		return nil, err
	}
	return replaced, nil
}

// lookup reads the newest stored version (and aggregate key) of the batch's
// crash ids. The product and day restrict it to the key ranges the rows
// live in, so it reads a few granules, not the table.
func (w *Writer) lookup(ctx context.Context, rows []Row) (map[string]stored, error) {
	ids := make([]string, 0, len(rows))
	products, days := map[string]bool{}, map[uint32]bool{}
	for _, r := range rows {
		ids = append(ids, r.CrashID)
		k := w.table.aggKey(r)
		products[k.product] = true
		days[uint32(k.day.Year()*10000+int(k.day.Month())*100+k.day.Day())] = true
	}
	prodList := make([]string, 0, len(products))
	for p := range products {
		prodList = append(prodList, p)
	}
	dayList := make([]uint32, 0, len(days))
	for d := range days {
		dayList = append(dayList, d)
	}
	q := "SELECT crash_id, row_version, toString(product), toDate(submitted_timestamp), toString(process_type), toString(version), " +
		"toString(os_name), signature, toInt64(ifNull(startup_crash, 0)), toInt64(ifNull(uptime < 60, 0)), toInt64(ifNull(is_garbage_collecting, 0)) " +
		"FROM " + w.db + ".crashes WHERE product IN ? AND toYYYYMMDD(submitted_timestamp) IN ? AND crash_id IN ?"
	res, err := w.conn.Query(ctx, q, set(prodList), set(dayList), set(ids))
	if err != nil {
		return nil, fmt.Errorf("look up stored crashes: %w", err)
	}
	defer res.Close()
	have := make(map[string]stored, len(rows))
	for res.Next() {
		var id string
		var s stored
		k := &s.key
		if err := res.Scan(&id, &s.version, &k.product, &k.day, &k.processType, &k.version, &k.osName, &k.signature, &k.startup, &k.shortUptime, &k.gc); err != nil {
			return nil, err
		}
		if cur, ok := have[id]; !ok || s.version > cur.version {
			have[id] = s
		}
	}
	return have, res.Err()
}

// corrections are the -1 rows owed to the two top-crashers tables; each
// table's INSERT is retried on its own so that neither is applied twice.
type corrections struct {
	keys                 []aggKey
	fineDone, coarseDone bool
}

// correct subtracts replaced processings from both top-crashers tables.
func (w *Writer) correct(ctx context.Context, c *corrections) error {
	if !c.fineDone {
		if err := w.correctFine(ctx, c.keys); err != nil {
			return err
		}
		c.fineDone = true
	}
	if !c.coarseDone {
		if err := w.correctCoarse(ctx, c.keys); err != nil {
			return err
		}
		c.coarseDone = true
	}
	return nil
}

func (w *Writer) correctFine(ctx context.Context, keys []aggKey) error {
	fine, err := w.conn.PrepareBatch(ctx, "INSERT INTO "+w.db+".top_crashers_daily (product, day, process_type, version, os_name, signature, crashes, startup_crashes, short_uptime, gc_crashes)")
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := fine.Append(k.product, k.day, k.processType, k.version, k.osName, k.signature, int64(-1), -k.startup, -k.shortUptime, -k.gc); err != nil {
			_ = fine.Abort()
			return err
		}
	}
	return fine.Send()
}

func (w *Writer) correctCoarse(ctx context.Context, keys []aggKey) error {
	coarse, err := w.conn.PrepareBatch(ctx, "INSERT INTO "+w.db+".signature_daily (product, day, signature, crashes, startup_crashes, short_uptime, gc_crashes)")
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := coarse.Append(k.product, k.day, k.signature, int64(-1), -k.startup, -k.shortUptime, -k.gc); err != nil {
			_ = coarse.Abort()
			return err
		}
	}
	return coarse.Send()
}

func (w *Writer) insert(ctx context.Context, rows []Row) error {
	batch, err := w.conn.PrepareBatch(ctx, "INSERT INTO "+w.db+".crashes ("+w.columns+")")
	if err != nil {
		return err
	}
	for i := range rows {
		if err := batch.Append(append(rows[i].Values[:len(rows[i].Values):len(rows[i].Values)], rows[i].Version)...); err != nil {
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
