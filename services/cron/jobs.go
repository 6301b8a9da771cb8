package cron

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/protocol"
	"github.com/crashstream/crashstream/storage/objectstore"
)

// Bucket is the part of the object store the jobs use;
// *objectstore.Bucket implements it.
type Bucket interface {
	List(ctx context.Context, prefix string) iter.Seq2[objectstore.ObjectInfo, error]
	Exists(ctx context.Context, key string) (bool, error)
	GetBytes(ctx context.Context, key string, maxSize int64) ([]byte, error)
	PutBytes(ctx context.Context, key string, data []byte, contentType string) error
	Delete(ctx context.Context, key string) error
}

// Requeuer asks for crashes to be processed again (crash.reprocess.v1).
type Requeuer interface {
	Requeue(ctx context.Context, crashID, reason string) error
}

// job adapts a function to Job.
type job struct {
	name     string
	period   time.Duration
	backfill bool
	run      func(ctx context.Context, period time.Time) error
}

func (j job) Name() string                                    { return j.name }
func (j job) Period() time.Duration                           { return j.period }
func (j job) Backfill() bool                                  { return j.backfill }
func (j job) Run(ctx context.Context, period time.Time) error { return j.run(ctx, period) }

// NewJob makes a Job from a function.
func NewJob(name string, period time.Duration, backfill bool, run func(ctx context.Context, period time.Time) error) Job {
	return job{name, period, backfill, run}
}

// crashIDsOfDay lists the crash ids whose raw crash was stored on day.
func crashIDsOfDay(ctx context.Context, b Bucket, day time.Time) ([]string, error) {
	var ids []string
	for info, err := range b.List(ctx, objectstore.RawCrashPrefix(day)) {
		if err != nil {
			return nil, err
		}
		id, err := objectstore.CrashIDFromKey(info.Key)
		if err != nil {
			continue
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// VerifyProcessed is Socorro's verifyprocessed: every raw crash of the day
// that has no processed crash is re-queued, and recorded under
// objectstore.MissingProcessedPrefix (Socorro's MissingProcessedCrash). It heals collector publish
// failures (the crash was stored but crash.received never sent) and any
// processing lost downstream. Daily, backfilled; the period is the day
// checked, so it runs once the day is over.
func VerifyProcessed(b Bucket, q Requeuer, log zerolog.Logger) Job {
	return NewJob("verify-processed", 24*time.Hour, true, func(ctx context.Context, day time.Time) error {
		ids, err := crashIDsOfDay(ctx, b, day)
		if err != nil {
			return err
		}
		missing := 0
		for _, id := range ids {
			key, _ := objectstore.ProcessedCrashKey(id)
			ok, err := b.Exists(ctx, key)
			if err != nil {
				return err
			}
			if ok {
				continue
			}
			if err := recordMissing(ctx, b, id); err != nil {
				return err
			}
			if err := q.Requeue(ctx, id, protocol.ReasonVerifyProcessed); err != nil {
				return err
			}
			missing++
		}
		log.Info().Time("day", day).Int("raw", len(ids)).Int("requeued", missing).Msg("verify-processed")
		return nil
	})
}

// recordMissing notes a crash found without a processed crash, once (the
// first finding's time is kept), for the MissingProcessedCrash API.
func recordMissing(ctx context.Context, b Bucket, id string) error {
	key, err := objectstore.MissingProcessedKey(id)
	if err != nil {
		return err
	}
	if ok, err := b.Exists(ctx, key); err != nil || ok {
		return err
	}
	return b.PutBytes(ctx, key, []byte(`{"crash_id":"`+id+`"}`), "application/json")
}

// PartitionDropper is ClickHouse retention; *clickhouse.Reader implements it.
type PartitionDropper interface {
	DropPartitionsBefore(ctx context.Context, cutoff time.Time) ([]string, error)
}

// Retention deletes crashes older than age: the ClickHouse partitions, and
// every object of the crash (raw crash, dump names, dumps, processed crash,
// telemetry export). Daily, backfilled. The period p sweeps the days from
// p-age back lookback days, so a first run, or a run after an outage longer
// than the backfill bound, still catches up; sweeping an emptied day again
// costs one listing.
func Retention(b, telemetry Bucket, ch PartitionDropper, age time.Duration, lookback int, log zerolog.Logger) Job {
	return NewJob("retention", 24*time.Hour, true, func(ctx context.Context, p time.Time) error {
		newest := p.Add(-age).Truncate(24 * time.Hour)
		if ch != nil {
			dropped, err := ch.DropPartitionsBefore(ctx, newest.Add(24*time.Hour))
			if err != nil {
				return err
			}
			log.Info().Strs("partitions", dropped).Msg("retention: dropped ClickHouse partitions")
		}
		total := 0
		for d := 0; d <= lookback; d++ {
			day := newest.Add(-time.Duration(d) * 24 * time.Hour)
			ids, err := crashIDsOfDay(ctx, b, day)
			if err != nil {
				return err
			}
			for _, id := range ids {
				if err := deleteCrash(ctx, b, telemetry, id); err != nil {
					return err
				}
			}
			total += len(ids)
		}
		log.Info().Time("through", newest).Int("crashes", total).Msg("retention: deleted crash objects")
		return nil
	})
}

// deleteCrash removes every object of one crash; the raw crash goes last,
// since it is what lists the crash for a retry.
func deleteCrash(ctx context.Context, b, telemetry Bucket, id string) error {
	if err := deleteDumps(ctx, b, id); err != nil {
		return err
	}
	names, _ := objectstore.DumpNamesKey(id)
	processed, _ := objectstore.ProcessedCrashKey(id)
	raw, _ := objectstore.RawCrashKey(id)
	for _, k := range []string{processed, names, raw} {
		if err := b.Delete(ctx, k); err != nil {
			return err
		}
	}
	if telemetry != nil {
		if k, err := objectstore.TelemetryKey(id); err == nil {
			// A deployment without the telemetry export has no such
			// bucket: nothing to delete.
			if err := telemetry.Delete(ctx, k); err != nil && !errors.Is(err, objectstore.ErrNotFound) {
				return err
			}
		}
	}
	return nil
}

// DumpRetention deletes the dumps (not the reports) of crashes older than
// age, on its own shorter schedule: dumps hold memory contents, the most
// sensitive and the largest part of a crash (Socorro's policy: dumps within
// 30 days). It sweeps lookback days like Retention.
func DumpRetention(b Bucket, age time.Duration, lookback int, log zerolog.Logger) Job {
	return NewJob("retention-dumps", 24*time.Hour, true, func(ctx context.Context, p time.Time) error {
		newest := p.Add(-age).Truncate(24 * time.Hour)
		total := 0
		for d := 0; d <= lookback; d++ {
			ids, err := crashIDsOfDay(ctx, b, newest.Add(-time.Duration(d)*24*time.Hour))
			if err != nil {
				return err
			}
			for _, id := range ids {
				if err := deleteDumps(ctx, b, id); err != nil {
					return err
				}
			}
			total += len(ids)
		}
		log.Info().Time("through", newest).Int("crashes", total).Msg("retention-dumps: deleted dumps")
		return nil
	})
}

func deleteDumps(ctx context.Context, b Bucket, id string) error {
	key, _ := objectstore.DumpNamesKey(id)
	data, err := b.GetBytes(ctx, key, 1<<20)
	if errors.Is(err, objectstore.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var names []string
	if err := json.Unmarshal(data, &names); err != nil {
		return nil // not ours to judge; the report's retention removes it
	}
	for _, n := range names {
		k, err := objectstore.DumpKey(n, id)
		if err != nil {
			continue
		}
		if err := b.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// Compactor merges a closed day of the crashes table and of the daily
// aggregates; *clickhouse.Reader implements it.
type Compactor interface {
	CompactDay(ctx context.Context, day time.Time) error
}

// Compact merges each closed day's ClickHouse partitions into one part each:
// in crashes that collapses reprocessing duplicates, so the webapp's
// clean-partition read path serves the day without per-query
// deduplication; in the aggregates it keeps a report's lookup of its
// signatures to few granules. Daily, backfilled.
func Compact(c Compactor) Job {
	return NewJob("compact", 24*time.Hour, true, func(ctx context.Context, day time.Time) error {
		return c.CompactDay(ctx, day)
	})
}

// Version is one entry of the product/version catalogue.
type Version struct {
	Product string    `json:"product"`
	Version string    `json:"version"`
	Channel string    `json:"release_channel"`
	Crashes uint64    `json:"crashes"`
	Last    time.Time `json:"last_crash"`
}

// VersionLister reads the catalogue from the crash store.
type VersionLister interface {
	Versions(ctx context.Context, since time.Time) ([]Version, error)
}

// Versions rebuilds the product/version catalogue (products and versions
// with crashes in the last 30 days, newest first). Hourly.
func Versions(b Bucket, l VersionLister) Job {
	return NewJob("versions", time.Hour, false, func(ctx context.Context, p time.Time) error {
		vs, err := l.Versions(ctx, p.Add(-30*24*time.Hour))
		if err != nil {
			return err
		}
		data, err := json.Marshal(map[string]any{"generated": time.Now().UTC(), "versions": vs})
		if err != nil {
			return err
		}
		return b.PutBytes(ctx, objectstore.VersionsKey, data, "application/json")
	})
}

// MissingSymbol is one module of the missing-symbols report.
type MissingSymbol struct {
	DebugFile string `json:"debug_file"`
	DebugID   string `json:"debug_id"`
	Filename  string `json:"filename"`
	CodeID    string `json:"code_id"`
	Crashes   int    `json:"crashes"`
}

// MissingSymbols reports the modules most often without symbols in the
// stacks of the day's crashes (a sample of at most sample crashes): what
// operators should upload symbols for. Daily.
func MissingSymbols(b Bucket, sample int) Job {
	return NewJob("missing-symbols", 24*time.Hour, false, func(ctx context.Context, day time.Time) error {
		ids, err := crashIDsOfDay(ctx, b, day)
		if err != nil {
			return err
		}
		if len(ids) > sample {
			ids = ids[:sample]
		}
		counts := map[string]*MissingSymbol{}
		read := 0
		for _, id := range ids {
			key, _ := objectstore.ProcessedCrashKey(id)
			data, err := b.GetBytes(ctx, key, 64<<20)
			if errors.Is(err, objectstore.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			var pc schemas.ProcessedCrash
			if err := json.Unmarshal(data, &pc); err != nil {
				continue
			}
			read++
			inStack := map[string]bool{}
			for _, f := range pc.CrashingThreadFrames {
				inStack[f.Module] = true
			}
			for _, m := range pc.Modules {
				if !m.MissingSymbols || !inStack[m.Filename] {
					continue
				}
				k := m.DebugFile + "/" + m.DebugID
				if counts[k] == nil {
					counts[k] = &MissingSymbol{DebugFile: m.DebugFile, DebugID: m.DebugID, Filename: m.Filename, CodeID: m.CodeID}
				}
				counts[k].Crashes++
			}
		}
		out := make([]MissingSymbol, 0, len(counts))
		for _, v := range counts {
			out = append(out, *v)
		}
		sort.Slice(out, func(i, j int) bool {
			if out[i].Crashes != out[j].Crashes {
				return out[i].Crashes > out[j].Crashes
			}
			return out[i].DebugFile < out[j].DebugFile
		})
		data, err := json.Marshal(map[string]any{"day": day.Format("2006-01-02"), "crashes_read": read, "modules": out})
		if err != nil {
			return err
		}
		if err := b.PutBytes(ctx, objectstore.MissingSymbolsDayKey(day), data, "application/json"); err != nil {
			return err
		}
		return b.PutBytes(ctx, objectstore.MissingSymbolsKey, data, "application/json")
	})
}

// TokenSweeper removes expired and revoked API tokens.
type TokenSweeper interface {
	DeleteExpired(ctx context.Context, cutoff time.Time) (int, error)
}

// Tokens deletes expired and revoked API tokens. Daily.
func Tokens(s TokenSweeper, log zerolog.Logger) Job {
	return NewJob("tokens", 24*time.Hour, false, func(ctx context.Context, _ time.Time) error {
		n, err := s.DeleteExpired(ctx, time.Now())
		if err == nil && n > 0 {
			log.Info().Int("deleted", n).Msg("tokens: removed expired or revoked tokens")
		}
		return err
	})
}

// describe formats a job list for `crashstream cron list`.
func describe(name string, j Job, s State) string {
	last := "never"
	if !s.LastSuccess.IsZero() {
		last = s.LastSuccess.Format(time.RFC3339)
	}
	errText := ""
	if s.LastError != "" {
		errText = fmt.Sprintf("  last error (%d in a row): %s", s.Failures, strings.SplitN(s.LastError, "\n", 2)[0])
	}
	return fmt.Sprintf("%-18s every %-8s backfill=%-5v last success %s%s", name, j.Period(), j.Backfill(), last, errText)
}

// Describe returns one line per job with its schedule and state.
func (r *Runner) Describe(ctx context.Context) ([]string, error) {
	var out []string
	for _, n := range r.Names() {
		s, err := r.State(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, describe(n, r.jobs[n], s))
	}
	return out, nil
}
