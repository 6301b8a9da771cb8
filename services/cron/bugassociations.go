package cron

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/crashstream/crashstream/services/lib/bugzilla"
)

// BugSource reads the bugs changed since a time; *bugzilla.Client
// implements it (a zero time: every bug with a crash signature).
type BugSource interface {
	ChangedSince(ctx context.Context, since time.Time) ([]bugzilla.Bug, error)
}

// bugOverlap is read again before each period: a bug changed just before
// the period started, but stamped by a Bugzilla clock behind ours, is not
// lost.
const bugOverlap = 10 * time.Minute

// BugAssociations is Socorro's bugassociations: hourly, backfilled, it
// reads the bugs changed since its period began (all bugs with a
// signature, the first time), parses their cf_crash_signature and replaces
// the association set with the result, adding and removing the
// signatures each bug's field gained or lost. The set is written once,
// after every page was read: a failed read (after the client's retries)
// fails the run and leaves the previous set in place; the runner retries.
func BugAssociations(st bugzilla.Store, src BugSource, log zerolog.Logger) Job {
	return NewJob("bugassociations", time.Hour, true, func(ctx context.Context, p time.Time) error {
		set, err := bugzilla.LoadSet(ctx, st)
		if err != nil {
			return err
		}
		var since time.Time
		if !set.Through.IsZero() {
			since = p.Add(-bugOverlap)
		}
		bugs, err := src.ChangedSince(ctx, since)
		if err != nil {
			return err
		}
		ch := set.Apply(bugs)
		set.Updated = time.Now().UTC()
		if p.After(set.Through) {
			set.Through = p
		}
		if err := bugzilla.SaveSet(ctx, st, set); err != nil {
			return err
		}
		ev := log.Info()
		if ch.Malformed > 0 {
			ev = log.Warn()
		}
		ev.Time("period", p).Bool("first_import", since.IsZero()).Int("bugs_read", ch.Read).Int("added", ch.Added).
			Int("removed", ch.Removed).Int("malformed", ch.Malformed).Int("bugs_with_signatures", len(set.Bugs)).Msg("bugassociations")
		return nil
	})
}
