package alerts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/crashstream/crashstream/storage/clickhouse"
)

// Source reads the crash counts of two adjacent windows;
// *clickhouse.Reader implements it.
type Source interface {
	WindowTotals(ctx context.Context, p clickhouse.WindowParams) (clickhouse.WindowCount, error)
	WindowSignatures(ctx context.Context, p clickhouse.WindowParams, by clickhouse.WindowSide, min int64, limit int) ([]clickhouse.WindowCount, error)
}

// maxSpikeCandidates bounds the signatures a signature_spike rule reads
// (those with at least Min crashes in the current window, most first).
const maxSpikeCandidates = 1000

// Windows are the rule's two windows for an evaluation at at. A window
// shorter than a day ends at at; a window of whole days ends with at's UTC
// day (today so far included), so the daily aggregates answer it.
func (r Rule) Windows(at time.Time) clickhouse.WindowParams {
	w := r.Window.D()
	end := at.UTC()
	if w%(24*time.Hour) == 0 {
		end = end.Truncate(24 * time.Hour).Add(24 * time.Hour)
	}
	return clickhouse.WindowParams{Product: r.Product, Version: r.Version, Start: end.Add(-2 * w), Mid: end.Add(-w), End: end}
}

// candidates evaluates one rule at at: the firings its condition gives,
// before cooldowns and claims.
func candidates(ctx context.Context, src Source, r Rule, at time.Time) ([]Firing, error) {
	p := r.Windows(at)
	base := Firing{Rule: r.Name, Kind: r.Kind, Product: r.Product, Version: r.Version, Window: r.Window,
		Start: p.Start, Mid: p.Mid, End: p.End, Factor: r.Factor, Min: r.Min, Top: r.Top, At: at.UTC()}
	var out []Firing
	switch r.Kind {
	case VolumeSpike:
		tot, err := src.WindowTotals(ctx, p)
		if err != nil {
			return nil, err
		}
		if spiked(tot, r) {
			f := base
			f.Current, f.Previous = tot.Current, tot.Previous
			out = append(out, f)
		}
	case SignatureSpike:
		sigs, err := src.WindowSignatures(ctx, p, clickhouse.Current, r.Min, maxSpikeCandidates)
		if err != nil {
			return nil, err
		}
		for _, s := range sigs {
			if spiked(s, r) {
				f := base
				f.Signature, f.Current, f.Previous = s.Signature, s.Current, s.Previous
				out = append(out, f)
			}
		}
	case NewInTop:
		cur, err := src.WindowSignatures(ctx, p, clickhouse.Current, max(r.Min, 1), r.Top)
		if err != nil {
			return nil, err
		}
		prev, err := src.WindowSignatures(ctx, p, clickhouse.Previous, 1, r.Top)
		if err != nil {
			return nil, err
		}
		before := make(map[string]bool, len(prev))
		for _, s := range prev {
			before[s.Signature] = true
		}
		for i, s := range cur {
			if !before[s.Signature] {
				f := base
				f.Signature, f.Current, f.Previous, f.Rank = s.Signature, s.Current, s.Previous, i+1
				out = append(out, f)
			}
		}
	default:
		return nil, fmt.Errorf("unknown kind %q", r.Kind)
	}
	return out, nil
}

// spiked is the spike kinds' condition: current >= factor × previous and
// current >= min.
func spiked(c clickhouse.WindowCount, r Rule) bool {
	return c.Current >= r.Min && float64(c.Current) >= r.Factor*float64(c.Previous)
}

// Summary counts what one evaluation did.
type Summary struct {
	// Candidates met their rule's condition; Fired of them were claimed
	// by this evaluation and delivered; Quiet were within their cooldown;
	// Taken were claimed by another evaluator first.
	Candidates, Fired, Quiet, Taken int
	// Resumed counts earlier firings whose outstanding deliveries this
	// evaluation took over.
	Resumed int
	// Delivered, Failed and Rejected count this evaluation's deliveries
	// (a firing × a webhook) by outcome.
	Delivered, Failed, Rejected int
}

// RedeliverFor is how long a firing's failed deliveries are tried again
// (once per evaluation): a webhook down for longer misses the alert.
const RedeliverFor = 24 * time.Hour

// Evaluator evaluates the rules, records each firing once and delivers it.
type Evaluator struct {
	rules    *Rules
	src      Source
	store    Store
	notifier *Notifier
	// holder names this evaluator in delivery leases.
	holder string
	now    func() time.Time
}

// NewEvaluator returns an evaluator of rules.
func NewEvaluator(rules *Rules, src Source, store Store, n *Notifier) *Evaluator {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Evaluator{rules: rules, src: src, store: store, notifier: n, holder: hex.EncodeToString(b), now: time.Now}
}

// Evaluate runs every rule for the evaluation time at (the end of the
// cron job's period, so that evaluators of one period agree on it). A
// subject that meets its rule is claimed in the object store (a
// conditional write: of concurrent evaluators exactly one wins; after a
// claim the subject is quiet for the rule's cooldown), its firing is
// recorded (with this evaluator's lease on it), then delivered to the
// rule's webhooks, all deliveries at once so a slow webhook holds up no
// other. Before the rules, earlier firings with deliveries outstanding are
// taken over and those deliveries made again (see resume). A rule whose
// query fails does not stop the others; its error is returned with theirs.
func (e *Evaluator) Evaluate(ctx context.Context, at time.Time) (Summary, error) {
	var sum Summary
	var errs []error
	if err := publishRules(ctx, e.store, e.rules, at); err != nil {
		errs = append(errs, err)
	}
	now := e.now().UTC()
	lease := now.Add(e.notifier.leaseTTL())
	// Earlier firings with deliveries still to make (failed, or left
	// pending by an evaluator that died) first: take each over with a
	// conditional write of its record, so one evaluator resends it.
	resumed, err := e.resume(ctx, now, lease)
	if err != nil {
		errs = append(errs, err)
	}
	sum.Resumed = len(resumed)
	var fired []*Firing
	for _, r := range e.rules.Rules {
		cands, err := candidates(ctx, e.src, r, at)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %s: %w", r.Name, err))
			continue
		}
		sum.Candidates += len(cands)
		for i := range cands {
			f := &cands[i]
			f.ID = firingID(*f)
			switch err := claim(ctx, e.store, r, *f); {
			case errors.Is(err, errQuiet):
				sum.Quiet++
				continue
			case errors.Is(err, errTaken):
				sum.Taken++
				continue
			case err != nil:
				errs = append(errs, fmt.Errorf("rule %s: claim: %w", r.Name, err))
				continue
			}
			for _, h := range e.rules.hooksOf(r) {
				f.Deliveries = append(f.Deliveries, Delivery{Webhook: h.Name, Format: h.Format, Status: StatusPending})
			}
			f.Holder, f.LeaseUntil = e.holder, lease
			if err := saveFiring(ctx, e.store, *f); err != nil {
				errs = append(errs, fmt.Errorf("rule %s: record firing: %w", r.Name, err))
			}
			fired = append(fired, f)
		}
	}
	sum.Fired = len(fired)
	all := append(resumed, fired...)
	var attempted []*Delivery
	for _, f := range all {
		for i := range f.Deliveries {
			if f.Deliveries[i].outstanding() {
				attempted = append(attempted, &f.Deliveries[i])
			}
		}
	}
	e.notifier.DeliverAll(ctx, e.rules, all)
	for _, d := range attempted {
		switch d.Status {
		case StatusDelivered:
			sum.Delivered++
		case StatusRejected:
			sum.Rejected++
		default:
			sum.Failed++
		}
	}
	for _, f := range all {
		f.Holder, f.LeaseUntil = "", time.Time{} // what is still outstanding is anyone's at the next evaluation
		if err := saveFiring(context.WithoutCancel(ctx), e.store, *f); err != nil {
			errs = append(errs, fmt.Errorf("rule %s: record deliveries: %w", f.Rule, err))
		}
	}
	return sum, errors.Join(errs...)
}

// resume takes over the firings of the last RedeliverFor that have
// deliveries outstanding and no live lease.
func (e *Evaluator) resume(ctx context.Context, now, lease time.Time) ([]*Firing, error) {
	fs, keys, etags, err := outstandingFirings(ctx, e.store, now.Add(-RedeliverFor), now)
	if err != nil {
		return nil, fmt.Errorf("outstanding deliveries: %w", err)
	}
	var out []*Firing
	var errs []error
	for i, f := range fs {
		switch err := takeOver(ctx, e.store, keys[i], etags[i], f, e.holder, lease); {
		case err == nil:
			out = append(out, f)
		case !errors.Is(err, errTaken):
			errs = append(errs, fmt.Errorf("take over firing %s: %w", f.ID, err))
		}
	}
	return out, errors.Join(errs...)
}

// ratio is current/previous for messages (+Inf when previous is 0).
func ratio(cur, prev int64) float64 {
	if prev == 0 {
		return math.Inf(1)
	}
	return float64(cur) / float64(prev)
}
