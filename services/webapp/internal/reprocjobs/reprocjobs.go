// Package reprocjobs reprocesses the crashes that missed symbols once the
// symbols arrive. A job is created per module and symbol file (Create: the
// API upload, or Scan: a file found in the symbols bucket); its identity is
// a hash of the module, the file's key and the object's ETag, so a file
// seen by both paths starts one job, and a changed file (a new ETag) a new
// one. The ETag changes on every write on some stores, so the upload does
// not rewrite a file whose bytes the bucket already holds (it compares
// SHA-256s): the same file uploaded again finds its old job.
//
// A job's record is an object in the crash bucket (objectstore.ReprocessJobKey)
// and survives restarts: the module, the crashes found (newest submission
// first, at most Config.Max, from ClickHouse's missing_symbols_crashes), how
// many were sent to crash.reprocess.v1 and how many are done (processed
// again since the job began). Drivers (Run, in every webapp replica) take a
// job with a lease written by a conditional PUT on the record itself, send
// its crash ids at Config.Rate per second per driver, and save the progress
// with the same conditional PUT, so two replicas never drive one job: a
// driver that loses the record stops. A crash may be sent twice when a
// driver dies between sending and saving; reprocessing is idempotent.
package reprocjobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/objectstore"
)

// Store is the crash bucket (*objectstore.Bucket): conditional writes make
// the records and their leases safe across replicas.
type Store interface {
	GetWithETag(ctx context.Context, key string, maxSize int64) ([]byte, string, error)
	PutIfAbsent(ctx context.Context, key string, data []byte) error
	PutIfMatch(ctx context.Context, key string, data []byte, etag string) error
	Delete(ctx context.Context, key string) error
	List(ctx context.Context, prefix string) iter.Seq2[objectstore.ObjectInfo, error]
}

// Lister lists the symbols bucket (*objectstore.Bucket), for Scan.
type Lister interface {
	List(ctx context.Context, prefix string) iter.Seq2[objectstore.ObjectInfo, error]
}

// Finder is ClickHouse (*clickhouse.Reader): the crashes a job reprocesses
// and counts, and the modules the Prober asks the symbol servers about.
type Finder interface {
	CrashesMissingSymbols(ctx context.Context, module string, since time.Time, limit int) ([]clickhouse.MissingSymbolsCrash, bool, error)
	CountReprocessed(ctx context.Context, ids []string, since, after time.Time) (int, error)
	ModulesMissingSymbols(ctx context.Context, since time.Time, limit int) ([]clickhouse.MissingModule, error)
}

// Sender publishes one reprocess request (reason protocol.ReasonSymbols).
// requestedAt is the job's creation, the same for all its requests: the
// processor forgets its remembered symbol misses for the first request of
// a job only, not for every request.
type Sender func(ctx context.Context, crashID, detail, requestedBy string, requestedAt time.Time) error

// Job states.
const (
	StatePending  = "pending"  // created; crashes not looked up yet
	StateSending  = "sending"  // crash ids being sent
	StateWaiting  = "waiting"  // all sent; counting the reprocessed ones
	StateFinished = "finished" // every sent crash reprocessed, or DoneWait passed
	StateFailed   = "failed"   // the lookup kept failing (Error says why)
)

// Job is a reprocess job's record.
type Job struct {
	ID     string `json:"id"`
	Module string `json:"module"` // debug_file/DEBUG_ID (protocol.ModuleKey)
	// SymbolsKey and ETag are the symbol file that started the job: its
	// key in the symbols bucket, or its URL on a symbol server (without
	// credentials or query); its ETag (a server without one: its
	// Last-Modified and length).
	SymbolsKey string `json:"symbols_key"`
	ETag       string `json:"etag"`
	// Source is who or what started it: "upload-symbols:<token name>",
	// "symbols-bucket" or "symbol-server".
	Source  string    `json:"source"`
	State   string    `json:"state"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Finished is when the job ended (zero until then).
	Finished time.Time `json:"finished,omitzero"`
	// Found is how many crashes of the window missed the module (at most
	// the cap); Truncated says more did.
	Found     int  `json:"found"`
	Truncated bool `json:"truncated"`
	// Sent is how many of CrashIDs were sent (CrashIDs[:Sent]); Done how
	// many of them were processed again since Created.
	Sent  int    `json:"sent"`
	Done  int    `json:"done"`
	Error string `json:"error,omitempty"`
	// CrashIDs are the crashes to reprocess, newest submission first;
	// Oldest is the oldest one's submission time (bounds the done query).
	CrashIDs []string  `json:"crash_ids,omitempty"`
	Oldest   time.Time `json:"oldest_submitted,omitzero"`
	// AllSent is when the last id was sent; DoneChecked when Done was
	// last counted.
	AllSent     time.Time `json:"all_sent,omitzero"`
	DoneChecked time.Time `json:"done_checked,omitzero"`
	// Holder and LeaseUntil are the driving replica's lease.
	Holder     string    `json:"holder,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
	Attempts   int       `json:"attempts,omitempty"`
}

// Detail is what the reprocess requests of the job say, copied by the
// processor into reprocess_reason and the processor notes.
func (j *Job) Detail() string {
	return "symbols for " + j.Module + " arrived (reprocess job " + j.ID + ")"
}

// Config tunes the jobs.
type Config struct {
	// Window is how far back (by submission) crashes are looked for;
	// Max caps the crashes of one job. Window 0 or Max 0: no jobs.
	Window time.Duration
	Max    int
	// Rate is the crash ids sent per second by one driver, all its jobs
	// together.
	Rate float64
	// Tick is how often a driver looks for work; Lease how long a
	// driver's hold on a job lasts without being renewed.
	Tick, Lease time.Duration
	// DoneEvery is how often Done is recounted; DoneWait how long after
	// the last send a job keeps counting before it finishes anyway (a
	// crash whose reprocessing failed would otherwise keep it open).
	DoneEvery, DoneWait time.Duration
	// ScanEvery is how often the symbols bucket is listed for files that
	// arrived without the API (0: never).
	ScanEvery time.Duration
	// MaxAttempts bounds failed lookups before a job fails.
	MaxAttempts int
}

// Enabled reports whether symbol arrivals start jobs.
func (c Config) Enabled() bool { return c.Window > 0 && c.Max > 0 }

// maxRecordBytes bounds a record read (10,000 ids are about 400 kB).
const maxRecordBytes = 64 << 20

// Manager creates, lists and drives jobs.
type Manager struct {
	cfg     Config
	store   Store
	symbols Lister
	finder  Finder
	send    Sender
	holder  string
	log     zerolog.Logger
	now     func() time.Time
	// pace is when the next send is due (sendSome); only Run's goroutine
	// drives, so it needs no lock.
	pace time.Time
}

// New returns a manager; holder names this driver in leases (unique per
// process).
func New(cfg Config, store Store, symbols Lister, finder Finder, send Sender, holder string, log zerolog.Logger, now func() time.Time) *Manager {
	if now == nil {
		now = time.Now
	}
	return &Manager{cfg: cfg, store: store, symbols: symbols, finder: finder, send: send, holder: holder, log: log, now: now}
}

// JobID is the identity of a symbol file's job.
func JobID(module, symbolsKey, etag string) string {
	h := sha256.Sum256([]byte(module + "\n" + symbolsKey + "\n" + strings.Trim(etag, `"`)))
	return hex.EncodeToString(h[:12])
}

// Create records a job for a symbol file unless one exists for the same
// module, key and content; created is false when it did (the existing
// job is returned).
func (m *Manager) Create(ctx context.Context, module, symbolsKey, etag, source string) (Job, bool, error) {
	id := JobID(module, symbolsKey, etag)
	key, err := objectstore.ReprocessJobKey(id)
	if err != nil {
		return Job{}, false, err
	}
	now := m.now().UTC()
	j := Job{ID: id, Module: module, SymbolsKey: symbolsKey, ETag: strings.Trim(etag, `"`), Source: source,
		State: StatePending, Created: now, Updated: now}
	b, _ := json.Marshal(j)
	switch err := m.store.PutIfAbsent(ctx, key, b); {
	case errors.Is(err, objectstore.ErrPrecondition):
		old, _, err := m.load(ctx, id)
		return old, false, err
	case err != nil:
		return Job{}, false, err
	}
	active, _ := objectstore.ReprocessJobActiveKey(id)
	if err := m.store.PutIfAbsent(ctx, active, []byte(id)); err != nil && !errors.Is(err, objectstore.ErrPrecondition) {
		return j, true, err
	}
	return j, true, nil
}

// load reads a job's record with its ETag.
func (m *Manager) load(ctx context.Context, id string) (Job, string, error) {
	key, err := objectstore.ReprocessJobKey(id)
	if err != nil {
		return Job{}, "", err
	}
	b, etag, err := m.store.GetWithETag(ctx, key, maxRecordBytes)
	if err != nil {
		return Job{}, "", err
	}
	var j Job
	if err := json.Unmarshal(b, &j); err != nil {
		return Job{}, "", fmt.Errorf("reprocess job %s: %w", id, err)
	}
	return j, etag, nil
}

// Get returns one job (ErrNotFound wraps objectstore.ErrNotFound).
func (m *Manager) Get(ctx context.Context, id string) (Job, error) {
	j, _, err := m.load(ctx, id)
	return j, err
}

// List returns the newest jobs first (by last change), at most limit,
// without their crash ids.
func (m *Manager) List(ctx context.Context, limit int) ([]Job, error) {
	var infos []objectstore.ObjectInfo
	for o, err := range m.store.List(ctx, objectstore.ReprocessJobsPrefix) {
		if err != nil {
			return nil, err
		}
		infos = append(infos, o)
	}
	sort.Slice(infos, func(i, k int) bool { return infos[i].LastModified.After(infos[k].LastModified) })
	out := []Job{}
	for _, o := range infos {
		if len(out) == limit {
			break
		}
		id := strings.TrimSuffix(strings.TrimPrefix(o.Key, objectstore.ReprocessJobsPrefix), ".json")
		j, _, err := m.load(ctx, id)
		if errors.Is(err, objectstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		j.CrashIDs = nil
		out = append(out, j)
	}
	sort.SliceStable(out, func(i, k int) bool { return out[i].Created.After(out[k].Created) })
	return out, nil
}
