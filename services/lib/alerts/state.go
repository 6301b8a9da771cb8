package alerts

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/crashstream/crashstream/storage/objectstore"
)

// Store is the object storage alerts keep their state in;
// *objectstore.Bucket implements it. Claims use its conditional writes
// (create if absent, replace if unchanged), which S3 and MinIO evaluate
// atomically.
type Store interface {
	GetWithETag(ctx context.Context, key string, maxSize int64) ([]byte, string, error)
	GetBytes(ctx context.Context, key string, maxSize int64) ([]byte, error)
	PutIfAbsent(ctx context.Context, key string, data []byte) error
	PutIfMatch(ctx context.Context, key string, data []byte, etag string) error
	PutBytes(ctx context.Context, key string, data []byte, contentType string) error
	List(ctx context.Context, prefix string) iter.Seq2[objectstore.ObjectInfo, error]
}

// Object keys. A subject's state (its last firing) is
// alerts/state/<rule>/<hash of product, version, signature>.json; a firing
// is alerts/firings/<day>/<time>-<id>.json, so a day's firings list in
// time order; the rules the evaluator runs are published at RulesKey.
const (
	prefix       = "alerts/"
	RulesKey     = prefix + "rules.json"
	firingPrefix = prefix + "firings/"
)

// Delivery states. Pending and failed deliveries are outstanding: a later
// evaluation sends them again (see redeliver); delivered and rejected ones
// are final.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
	// StatusRejected is a 4xx answer other than 408 and 429: the URL or
	// the body is wrong, and sending it again cannot help.
	StatusRejected = "rejected"
)

// outstanding reports whether a delivery is still to be made.
func (d Delivery) outstanding() bool { return d.Status == StatusPending || d.Status == StatusFailed }

// Delivery is a firing's delivery to one webhook.
type Delivery struct {
	Webhook  string    `json:"webhook"`
	Format   string    `json:"format"`
	Status   string    `json:"status"`
	Attempts int       `json:"attempts"`
	Error    string    `json:"error,omitempty"`
	At       time.Time `json:"at,omitzero"`
}

// Firing is one rule met by one subject at one evaluation.
type Firing struct {
	// ID is a hash of the rule, the subject and the evaluation time: the
	// same for every evaluator of that period, so receivers can
	// deduplicate on it too.
	ID        string   `json:"id"`
	Rule      string   `json:"rule"`
	Kind      Kind     `json:"kind"`
	Product   string   `json:"product"`
	Version   string   `json:"version,omitempty"`
	Signature string   `json:"signature,omitempty"`
	Window    Duration `json:"window"`
	// Start, Mid and End bound the previous [Start, Mid) and current
	// [Mid, End) windows.
	Start time.Time `json:"previous_start"`
	Mid   time.Time `json:"current_start"`
	End   time.Time `json:"current_end"`
	// Current and Previous are the counts in the two windows.
	Current  int64   `json:"current"`
	Previous int64   `json:"previous"`
	Factor   float64 `json:"factor,omitempty"`
	Min      int64   `json:"min,omitempty"`
	Top      int     `json:"top,omitempty"`
	// Rank is the signature's rank in the current window (new_in_top).
	Rank       int        `json:"rank,omitempty"`
	At         time.Time  `json:"fired_at"`
	Deliveries []Delivery `json:"deliveries,omitempty"`
	// Holder is the evaluator delivering the firing's outstanding
	// deliveries, until LeaseUntil; after that another may take over.
	Holder     string    `json:"holder,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
}

// outstanding reports whether any delivery is still to be made.
func (f Firing) outstanding() bool {
	for _, d := range f.Deliveries {
		if d.outstanding() {
			return true
		}
	}
	return false
}

// subject is what a cooldown applies to.
func (f Firing) subject() string {
	return f.Product + "\x00" + f.Version + "\x00" + f.Signature
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func firingID(f Firing) string {
	return hash(f.Rule + "\x00" + f.subject() + "\x00" + f.At.UTC().Format(time.RFC3339))[:20]
}

func stateKey(rule string, f Firing) string {
	return prefix + "state/" + rule + "/" + hash(f.subject())[:40] + ".json"
}

// FiringKey is where a firing is recorded.
func FiringKey(f Firing) string {
	t := f.At.UTC()
	return firingPrefix + t.Format("2006-01-02") + "/" + t.Format("20060102T150405Z") + "-" + f.ID + ".json"
}

// subjectState is a subject's last firing.
type subjectState struct {
	LastFired time.Time `json:"last_fired"`
	Firing    string    `json:"firing"`
}

var (
	errQuiet = errors.New("within the cooldown")
	errTaken = errors.New("claimed by another evaluator")
)

// claim makes this evaluator the one that sends f: it writes the
// subject's state conditionally (created if absent, replaced only if
// unchanged since read). errQuiet when the subject fired less than the
// cooldown before f (or at f's time already); errTaken when another
// evaluator's write came first.
func claim(ctx context.Context, st Store, r Rule, f Firing) error {
	key := stateKey(r.Name, f)
	doc, _ := json.Marshal(subjectState{LastFired: f.At, Firing: f.ID})
	b, etag, err := st.GetWithETag(ctx, key, 1<<16)
	if errors.Is(err, objectstore.ErrNotFound) {
		return taken(st.PutIfAbsent(ctx, key, doc))
	}
	if err != nil {
		return err
	}
	var s subjectState
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("state %s: %w", key, err)
	}
	if f.At.Before(s.LastFired.Add(r.Cooldown.D())) {
		return errQuiet
	}
	return taken(st.PutIfMatch(ctx, key, doc, etag))
}

func taken(err error) error {
	if errors.Is(err, objectstore.ErrPrecondition) {
		return errTaken
	}
	return err
}

func saveFiring(ctx context.Context, st Store, f Firing) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return st.PutBytes(ctx, FiringKey(f), b, "application/json")
}

// takeOver makes holder the deliverer of the firing at key, read with
// etag, until until: a conditional replace, so of two evaluators that read
// the same record one wins (errTaken for the other).
func takeOver(ctx context.Context, st Store, key, etag string, f *Firing, holder string, until time.Time) error {
	f.Holder, f.LeaseUntil = holder, until
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return taken(st.PutIfMatch(ctx, key, b, etag))
}

// outstandingFirings lists the firings since since (newest days first)
// with a delivery still to be made and no live lease at now, with their
// keys and ETags.
func outstandingFirings(ctx context.Context, st Store, since, now time.Time) ([]*Firing, []string, []string, error) {
	var fs []*Firing
	var keys, etags []string
	for day := now.UTC().Truncate(24 * time.Hour); !day.Before(since.UTC().Truncate(24 * time.Hour)); day = day.Add(-24 * time.Hour) {
		for info, err := range st.List(ctx, firingPrefix+day.Format("2006-01-02")+"/") {
			if err != nil {
				return nil, nil, nil, err
			}
			b, etag, err := st.GetWithETag(ctx, info.Key, 1<<20)
			if errors.Is(err, objectstore.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, nil, nil, err
			}
			var f Firing
			if err := json.Unmarshal(b, &f); err != nil {
				continue // not ours to judge; the page reports it
			}
			if f.At.Before(since) || !f.outstanding() || f.LeaseUntil.After(now) {
				continue
			}
			fs, keys, etags = append(fs, &f), append(keys, info.Key), append(etags, etag)
		}
	}
	return fs, keys, etags, nil
}

// Published is the rules as the evaluator last ran them, for the webapp:
// webhooks by name and format only (their URLs are credentials).
type Published struct {
	Updated  time.Time `json:"updated"`
	Webhooks []Webhook `json:"webhooks"`
	Rules    []Rule    `json:"rules"`
}

func publishRules(ctx context.Context, st Store, rs *Rules, at time.Time) error {
	b, err := json.Marshal(Published{Updated: at.UTC(), Webhooks: rs.Webhooks, Rules: rs.Rules})
	if err != nil {
		return err
	}
	if err := st.PutBytes(ctx, RulesKey, b, "application/json"); err != nil {
		return fmt.Errorf("publish rules: %w", err)
	}
	return nil
}

// Reader is what the webapp reads alerts with; *objectstore.Bucket
// implements it.
type Reader interface {
	GetBytes(ctx context.Context, key string, maxSize int64) ([]byte, error)
	List(ctx context.Context, prefix string) iter.Seq2[objectstore.ObjectInfo, error]
}

// LoadPublished reads the published rules; nil when the evaluator has
// never run.
func LoadPublished(ctx context.Context, r Reader) (*Published, error) {
	b, err := r.GetBytes(ctx, RulesKey, maxFile*2)
	if errors.Is(err, objectstore.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p Published
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("published alert rules: %w", err)
	}
	return &p, nil
}

// Recent returns the firings of the days back from now (newest first), at
// most limit of them.
func Recent(ctx context.Context, r Reader, now time.Time, days, limit int) ([]Firing, error) {
	var out []Firing
	for d := 0; d < days && len(out) < limit; d++ {
		day := now.UTC().AddDate(0, 0, -d).Format("2006-01-02")
		var keys []string
		for info, err := range r.List(ctx, firingPrefix+day+"/") {
			if err != nil {
				return nil, err
			}
			if strings.HasSuffix(info.Key, ".json") {
				keys = append(keys, info.Key)
			}
		}
		slices.Sort(keys)
		slices.Reverse(keys)
		for _, k := range keys {
			if len(out) >= limit {
				break
			}
			b, err := r.GetBytes(ctx, k, 1<<20)
			if errors.Is(err, objectstore.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			var f Firing
			if err := json.Unmarshal(b, &f); err != nil {
				return nil, fmt.Errorf("firing %s: %w", k, err)
			}
			out = append(out, f)
		}
	}
	// one evaluation's firings share a time: by rule, then rank or signature
	slices.SortStableFunc(out, func(a, b Firing) int {
		return cmp.Or(b.At.Compare(a.At), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Rank, b.Rank), cmp.Compare(a.Signature, b.Signature))
	})
	return out, nil
}
