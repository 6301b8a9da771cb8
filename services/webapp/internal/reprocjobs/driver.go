package reprocjobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crashstream/crashstream/schemas/protocol"
	"github.com/crashstream/crashstream/storage/objectstore"
)

// Run drives the unfinished jobs and scans the symbols bucket until ctx
// ends. Errors are logged and retried on the next tick.
func (m *Manager) Run(ctx context.Context) error {
	t := time.NewTicker(m.cfg.Tick)
	defer t.Stop()
	var lastScan time.Time
	for {
		if m.cfg.ScanEvery > 0 && m.symbols != nil && m.now().Sub(lastScan) >= m.cfg.ScanEvery {
			lastScan = m.now()
			if n, err := m.Scan(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn().Err(err).Msg("reprocess jobs: scanning the symbols bucket")
			} else if n > 0 {
				m.log.Info().Int("jobs", n).Msg("reprocess jobs: symbol files found in the bucket")
			}
		}
		if err := m.DriveOnce(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn().Err(err).Msg("reprocess jobs")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// DriveOnce gives every unfinished job one step: a lookup, one tick's
// worth of sends (Rate x Tick ids), or a count of the done ones.
func (m *Manager) DriveOnce(ctx context.Context) error {
	var ids []string
	for o, err := range m.store.List(ctx, objectstore.ReprocessJobsActivePrefix) {
		if err != nil {
			return err
		}
		ids = append(ids, strings.TrimPrefix(o.Key, objectstore.ReprocessJobsActivePrefix))
	}
	var errs []error
	for _, id := range ids {
		if ctx.Err() != nil {
			return nil
		}
		if err := m.step(ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("job %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// errLost means another driver holds or changed the job.
var errLost = errors.New("lease lost")

// save writes j if nobody changed it since etag, renewing the lease; it
// returns the new ETag.
func (m *Manager) save(ctx context.Context, j *Job, etag string) (string, error) {
	j.Updated = m.now().UTC()
	j.Holder, j.LeaseUntil = m.holder, j.Updated.Add(m.cfg.Lease)
	key, _ := objectstore.ReprocessJobKey(j.ID)
	b, err := json.Marshal(j)
	if err != nil {
		return "", err
	}
	if err := m.store.PutIfMatch(ctx, key, b, etag); err != nil {
		if errors.Is(err, objectstore.ErrPrecondition) {
			return "", errLost
		}
		return "", err
	}
	_, etag, err = m.store.GetWithETag(ctx, key, maxRecordBytes)
	return etag, err
}

// step advances one job, holding its lease.
func (m *Manager) step(ctx context.Context, id string) error {
	j, etag, err := m.load(ctx, id)
	if errors.Is(err, objectstore.ErrNotFound) {
		return m.deactivate(ctx, id)
	}
	if err != nil {
		return err
	}
	now := m.now().UTC()
	if j.Holder != "" && j.Holder != m.holder && j.LeaseUntil.After(now) {
		return nil // another driver has it
	}
	if etag, err = m.save(ctx, &j, etag); err != nil {
		if errors.Is(err, errLost) {
			return nil
		}
		return err
	}
	switch j.State {
	case StatePending:
		err = m.find(ctx, &j)
	case StateSending:
		err = m.sendSome(ctx, &j, etag)
		if errors.Is(err, errLost) {
			return nil
		}
		if err == nil {
			// sendSome saved; reload for the done count
			if j, etag, err = m.load(ctx, id); err != nil {
				return err
			}
			err = m.countDone(ctx, &j, false)
		}
	case StateWaiting:
		err = m.countDone(ctx, &j, true)
	default:
		return m.deactivate(ctx, id)
	}
	if err != nil && ctx.Err() == nil {
		j.Attempts++
		j.Error = err.Error()
		if j.State == StatePending && j.Attempts >= m.cfg.MaxAttempts {
			j.State, j.Finished = StateFailed, m.now().UTC()
		}
	}
	if _, serr := m.save(ctx, &j, etag); serr != nil {
		if errors.Is(serr, errLost) {
			return nil
		}
		return serr
	}
	if j.State == StateFinished || j.State == StateFailed {
		return m.deactivate(ctx, id)
	}
	return err
}

// find looks up the crashes that missed the module, newest first.
func (m *Manager) find(ctx context.Context, j *Job) error {
	found, more, err := m.finder.CrashesMissingSymbols(ctx, j.Module, j.Created.Add(-m.cfg.Window), m.cfg.Max)
	if err != nil {
		return err
	}
	j.CrashIDs = make([]string, len(found))
	for i, c := range found {
		j.CrashIDs[i] = c.CrashID
		if i == 0 || c.Submitted.Before(j.Oldest) {
			j.Oldest = c.Submitted
		}
	}
	j.Found, j.Truncated, j.Error, j.Attempts = len(found), more, "", 0
	j.State = StateSending
	if len(found) == 0 {
		j.State, j.Finished = StateFinished, m.now().UTC()
	}
	return nil
}

// catchUpTicks bounds how far behind its pace a driver may fall and still
// catch up: at most this many ticks' worth of ids go out at once.
const catchUpTicks = 5

// sendSome sends one tick's worth of ids at Rate, saving the progress at
// least every second so a restart repeats little. The pace is the
// manager's, kept across steps and jobs: the time a step spends on
// lookups, counts and saves is caught up in the next (at most
// catchUpTicks' worth, sent at once), so the rate over a job is Rate, not
// Rate minus the overhead, and never more.
func (m *Manager) sendSome(ctx context.Context, j *Job, etag string) error {
	gap := time.Duration(float64(time.Second) / m.cfg.Rate)
	now := time.Now()
	if m.pace.IsZero() {
		m.pace = now // a new driver starts at its pace, without a burst
	}
	if floor := now.Add(-catchUpTicks * m.cfg.Tick); m.pace.Before(floor) {
		m.pace = floor
	}
	until := now.Add(m.cfg.Tick)
	lastSave := now
	var err error
	for j.Sent < len(j.CrashIDs) && m.pace.Before(until) {
		if d := time.Until(m.pace); d > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		m.pace = m.pace.Add(gap)
		if err := m.send(ctx, j.CrashIDs[j.Sent], j.Detail(), j.Source, j.Created); err != nil {
			return fmt.Errorf("sending: %w", err)
		}
		j.Sent++
		if time.Since(lastSave) >= time.Second {
			if etag, err = m.save(ctx, j, etag); err != nil {
				return err
			}
			lastSave = time.Now()
		}
	}
	if j.Sent >= len(j.CrashIDs) {
		j.State, j.AllSent = StateWaiting, m.now().UTC()
	}
	_, err = m.save(ctx, j, etag)
	return err
}

// countDone recounts the crashes processed again since the job began, at
// most every DoneEvery (always when final), and finishes the job when all
// are done or DoneWait has passed since the last send.
func (m *Manager) countDone(ctx context.Context, j *Job, waiting bool) error {
	now := m.now().UTC()
	if j.Sent > 0 && now.Sub(j.DoneChecked) >= m.cfg.DoneEvery {
		n, err := m.finder.CountReprocessed(ctx, j.CrashIDs[:j.Sent], j.Oldest, j.Created)
		if err != nil {
			return err
		}
		j.Done, j.DoneChecked = n, now
	}
	if waiting && (j.Done >= j.Sent || now.Sub(j.AllSent) >= m.cfg.DoneWait) {
		j.State, j.Finished = StateFinished, now
	}
	return nil
}

func (m *Manager) deactivate(ctx context.Context, id string) error {
	key, err := objectstore.ReprocessJobActiveKey(id)
	if err != nil {
		return err
	}
	if err := m.store.Delete(ctx, key); err != nil && !errors.Is(err, objectstore.ErrNotFound) {
		return err
	}
	return nil
}

// scanState is the symbols bucket scan's watermark.
type scanState struct {
	Since time.Time `json:"since"`
}

// Scan lists the symbols bucket and starts a job for every symbol file
// stored since the last scan (the API's uploads among them: their jobs
// exist, so nothing is repeated). The first scan only sets the watermark:
// the files already there are not news. It returns the jobs created.
func (m *Manager) Scan(ctx context.Context) (int, error) {
	b, etag, err := m.store.GetWithETag(ctx, objectstore.ReprocessScanKey, 1<<10)
	var st scanState
	switch {
	case errors.Is(err, objectstore.ErrNotFound):
		b, _ := json.Marshal(scanState{Since: m.now().UTC()})
		if err := m.store.PutIfAbsent(ctx, objectstore.ReprocessScanKey, b); err != nil && !errors.Is(err, objectstore.ErrPrecondition) {
			return 0, err
		}
		return 0, nil
	case err != nil:
		return 0, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return 0, fmt.Errorf("scan state: %w", err)
	}
	// A file written while the previous scan listed may carry a time just
	// before its watermark: look a little further back (Create repeats
	// nothing).
	since := st.Since.Add(-time.Minute)
	started := m.now().UTC()
	created := 0
	for o, err := range m.symbols.List(ctx, "") {
		if err != nil {
			return created, err
		}
		if !o.LastModified.After(since) {
			continue
		}
		module, ok := moduleOfKey(o.Key)
		if !ok {
			continue
		}
		if _, isNew, err := m.Create(ctx, module, o.Key, o.ETag, "symbols-bucket"); err != nil {
			return created, err
		} else if isNew {
			created++
		}
	}
	nb, _ := json.Marshal(scanState{Since: started})
	if err := m.store.PutIfMatch(ctx, objectstore.ReprocessScanKey, nb, etag); err != nil && !errors.Is(err, objectstore.ErrPrecondition) {
		return created, err
	}
	return created, nil
}

// moduleOfKey reads a Breakpad-layout key (debug_file/debug_id/name.sym).
func moduleOfKey(key string) (string, bool) {
	parts := strings.Split(key, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || !strings.HasSuffix(parts[2], ".sym") {
		return "", false
	}
	return protocol.ModuleKey(parts[0], parts[1]), true
}
