package clickhouse

import (
	"context"
	"fmt"
	"time"
)

// MissingSymbolsCrash is a crash whose latest processing lacked symbols for
// a module.
type MissingSymbolsCrash struct {
	CrashID   string
	Submitted time.Time
}

// checkChunk bounds the ids of one verification query (an IN list bound
// client-side).
const checkChunk = 2000

// CrashesMissingSymbols lists the crashes submitted since since whose latest
// processing lacked symbols for module (protocol.ModuleKey), newest
// submission first, at most limit; more reports whether further crashes
// matched. It finds the candidates in missing_symbols_crashes (sorted by
// module: a few granules) and keeps those whose latest crashes row still
// lists the module (a reprocessing that found the symbols wrote no row for
// it), reading crashes only for the candidates' ids and days.
func (r *Reader) CrashesMissingSymbols(ctx context.Context, module string, since time.Time, limit int) (out []MissingSymbolsCrash, more bool, err error) {
	if limit <= 0 {
		return nil, false, nil
	}
	rows, err := r.conn.Query(ctx, fmt.Sprintf("SELECT crash_id, max(submitted_timestamp) AS ts FROM %s.missing_symbols_crashes "+
		"WHERE module = ? AND submitted_timestamp >= ? GROUP BY crash_id ORDER BY ts DESC, crash_id", r.db), module, since.UTC())
	if err != nil {
		return nil, false, fmt.Errorf("crashes missing symbols: %w", err)
	}
	var cands []MissingSymbolsCrash
	for rows.Next() {
		var c MissingSymbolsCrash
		if err := rows.Scan(&c.CrashID, &c.Submitted); err != nil {
			rows.Close()
			return nil, false, err
		}
		cands = append(cands, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	for start := 0; start < len(cands); start += checkChunk {
		chunk := cands[start:min(start+checkChunk, len(cands))]
		ids := make([]string, len(chunk))
		oldest := chunk[0].Submitted
		for i, c := range chunk {
			ids[i] = c.CrashID
			if c.Submitted.Before(oldest) {
				oldest = c.Submitted
			}
		}
		still, err := r.stillMissing(ctx, module, ids, oldest)
		if err != nil {
			return nil, false, err
		}
		for _, c := range chunk {
			if !still[c.CrashID] {
				continue
			}
			if len(out) == limit {
				return out, true, nil
			}
			out = append(out, c)
		}
	}
	return out, false, nil
}

// MissingModule is a module that crashes of a window missed symbols for,
// with how many such crashes there were.
type MissingModule struct {
	Module  string // protocol.ModuleKey: debug_file/DEBUG_ID
	Crashes uint64
}

// ModulesMissingSymbols lists the modules that crashes submitted since
// since missed symbols for, most affected crashes first (ties by name), at
// most limit: what the webapp's symbol-server probe asks about, the
// modules whose symbols would fix the most crashes first. The counts are
// uniq's (exact up to 65536, then estimated in bounded memory: the query
// runs every probe period over the whole window, and the order only has
// to be about right). A crash reprocessed since with the symbols still
// counts (its old row stays), which only costs the probe a question whose
// answer makes no new job.
func (r *Reader) ModulesMissingSymbols(ctx context.Context, since time.Time, limit int) ([]MissingModule, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := r.conn.Query(ctx, fmt.Sprintf("SELECT module, uniq(crash_id) AS n FROM %s.missing_symbols_crashes "+
		"WHERE submitted_timestamp >= ? GROUP BY module ORDER BY n DESC, module LIMIT %d", r.db, limit), since.UTC())
	if err != nil {
		return nil, fmt.Errorf("modules missing symbols: %w", err)
	}
	defer rows.Close()
	var out []MissingModule
	for rows.Next() {
		var m MissingModule
		if err := rows.Scan(&m.Module, &m.Crashes); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// stillMissing reports which of ids have module in the
// missing_symbols_modules of their latest crashes row.
func (r *Reader) stillMissing(ctx context.Context, module string, ids []string, since time.Time) (map[string]bool, error) {
	rows, err := r.conn.Query(ctx, fmt.Sprintf("SELECT crash_id FROM %s.crashes PREWHERE crash_id IN ? WHERE submitted_timestamp >= ? "+
		"GROUP BY crash_id HAVING argMax(has(missing_symbols_modules, ?), row_version) = 1", r.db), set(ids), since.UTC(), module)
	if err != nil {
		return nil, fmt.Errorf("crashes missing symbols, latest rows: %w", err)
	}
	defer rows.Close()
	out := make(map[string]bool, len(ids))
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// CountReprocessed counts the crashes of ids (submitted since since) whose
// latest processing is at or after after: a reprocess job's "done".
func (r *Reader) CountReprocessed(ctx context.Context, ids []string, since, after time.Time) (int, error) {
	total := 0
	for start := 0; start < len(ids); start += checkChunk {
		chunk := ids[start:min(start+checkChunk, len(ids))]
		var n uint64
		err := r.conn.QueryRow(ctx, fmt.Sprintf("SELECT count() FROM (SELECT crash_id FROM %s.crashes PREWHERE crash_id IN ? "+
			"WHERE submitted_timestamp >= ? GROUP BY crash_id HAVING max(date_processed) >= ?)", r.db),
			set(chunk), since.UTC(), after.UTC()).Scan(&n)
		if err != nil {
			return 0, fmt.Errorf("counting reprocessed crashes: %w", err)
		}
		total += int(n)
	}
	return total, nil
}
