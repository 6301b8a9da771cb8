package processor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/schemas/protocol"
	"github.com/crashstream/crashstream/schemas/registry"
	"github.com/crashstream/crashstream/services/lib/signature"
	"github.com/crashstream/crashstream/services/lib/stackwalk"
	"github.com/crashstream/crashstream/services/lib/symbols"
	"github.com/crashstream/crashstream/services/processor/internal/rules"
	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/streams"
)

// Store is what the processor reads from the object store's crash bucket;
// *objectstore.Bucket implements it.
type Store interface {
	GetBytes(ctx context.Context, key string, maxSize int64) ([]byte, error)
}

// Deps are the processor's clients, built and closed by main.
type Deps struct {
	Store     Store
	Symbols   *objectstore.Bucket // nil: no symbols bucket
	Publisher streams.Sender
	Serde     *registry.Serde
	Topics    streams.Topics
	Registry  prometheus.Registerer
}

// Processor turns crash ids into processed crashes.
type Processor struct {
	cfg      Config
	deps     Deps
	rulesets map[string]rules.Ruleset
	metrics  *metrics
	symbols  *symbols.Supplier

	mu sync.Mutex
	// forgotAt is when remembered symbol misses were last dropped for a
	// symbol upload (see Handle).
	forgotAt time.Time
}

// New builds the processor: the symbol supplier, the stackwalker, the
// signature generator and the rulesets.
func New(cfg Config, deps Deps) (*Processor, error) {
	var extra []symbols.Source
	if deps.Symbols != nil {
		extra = append(extra, symbols.BucketSource{Fetcher: bucketFetcher{deps.Symbols}, Prefix: cfg.SymbolsBucketPrefix,
			Name: "s3://" + deps.Symbols.Name()})
	}
	sup, err := symbols.NewSupplier(cfg.Symbols, &http.Client{Timeout: cfg.Symbols.FetchTimeout}, extra...)
	if err != nil {
		return nil, fmt.Errorf("symbols: %w", err)
	}
	lists, err := cfg.Signature.Load()
	if err != nil {
		return nil, fmt.Errorf("signature lists: %w", err)
	}
	gen := signature.New(lists, signature.RulesetSocorro)
	walker := rules.HangGuard(stackwalk.New(cfg.Stackwalk, sup), cfg.Stackwalk.Timeout+cfg.HangGrace)
	p := &Processor{cfg: cfg, deps: deps, metrics: newMetrics(deps.Registry), symbols: sup}
	p.rulesets = map[string]rules.Ruleset{
		protocol.RulesetDefault:             rules.Default(fields.New(), walker, gen),
		protocol.RulesetRegenerateSignature: rules.RegenerateSignature(gen),
	}
	return p, nil
}

// bucketFetcher adapts an object store bucket to the symbol supplier.
type bucketFetcher struct{ b *objectstore.Bucket }

func (f bucketFetcher) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, _, err := f.b.Get(ctx, key)
	if errors.Is(err, objectstore.ErrNotFound) {
		return nil, fs.ErrNotExist
	}
	return rc, err
}

// errMissingRawCrash marks a crash whose raw crash is not in the store.
var errMissingRawCrash = errors.New("raw crash not found in the object store")

// Process runs ruleset over one crash and returns the processed crash. A
// missing raw crash or an invalid id is permanent (streams.Permanent); a
// store failure is transient.
//
// dumps, when not empty, names the crash's stored dumps as its
// crash.received event lists them, which spares one object store read per
// crash (a seventh of its requests); empty reads the crash's dump_names
// object, as a reprocessing must.
func (p *Processor) Process(ctx context.Context, crashID, ruleset string, dumps []string) (*schemas.ProcessedCrash, error) {
	if ruleset == "" {
		ruleset = protocol.RulesetDefault
	}
	rs, ok := p.rulesets[ruleset]
	if !ok {
		return nil, streams.Permanent(fmt.Errorf("unknown ruleset %q", ruleset))
	}
	if err := objectstore.CheckCrashID(crashID, false); err != nil {
		return nil, streams.Permanent(err)
	}
	c := &rules.Crash{ID: crashID, Now: time.Now().UTC(), Processed: &schemas.ProcessedCrash{}}
	if ruleset == protocol.RulesetRegenerateSignature {
		ok, err := p.loadProcessed(ctx, c)
		if err != nil {
			return nil, err
		}
		if !ok {
			// Nothing to regenerate from: process it whole instead.
			rs = p.rulesets[protocol.RulesetDefault]
			c.Note("regenerate_signature: no processed crash stored; ran the default ruleset")
		}
	}
	if rs.Name == protocol.RulesetDefault {
		if err := p.loadRaw(ctx, c, dumps); err != nil {
			return nil, err
		}
	}
	c.Processed.DateProcessed = c.Now
	start := time.Now()
	rs.Run(ctx, c, p.metrics.observeRule)
	p.metrics.crashes.WithLabelValues(rs.Name).Inc()
	p.metrics.duration.Observe(time.Since(start).Seconds())
	return c.Processed, nil
}

func (p *Processor) loadRaw(ctx context.Context, c *rules.Crash, names []string) error {
	key, err := objectstore.RawCrashKey(c.ID)
	if err != nil {
		return streams.Permanent(err)
	}
	b, err := p.deps.Store.GetBytes(ctx, key, p.cfg.MaxRawCrashBytes)
	switch {
	case errors.Is(err, objectstore.ErrNotFound):
		return streams.Permanent(fmt.Errorf("%s: %w", key, errMissingRawCrash))
	case errors.Is(err, objectstore.ErrTooLarge):
		return streams.Permanent(err)
	case err != nil:
		return err
	}
	if err := json.Unmarshal(b, &c.Raw); err != nil {
		return streams.Permanent(fmt.Errorf("raw crash %s is not a JSON object: %w", key, err))
	}
	if len(names) == 0 {
		if names, err = p.dumpNames(ctx, c); err != nil {
			return err
		}
	}
	c.Dumps = make(map[string][]byte, len(names))
	for _, name := range names {
		dk, err := objectstore.DumpKey(name, c.ID)
		if err != nil {
			c.Note(fmt.Sprintf("dump %q: %v", name, err))
			continue
		}
		d, err := p.deps.Store.GetBytes(ctx, dk, p.cfg.Stackwalk.MaxDumpBytes)
		switch {
		case errors.Is(err, objectstore.ErrNotFound):
			c.Note(fmt.Sprintf("dump %s listed but not stored", name))
			continue
		case errors.Is(err, objectstore.ErrTooLarge):
			c.Note(fmt.Sprintf("dump %s larger than stackwalk.max-dump-bytes; not read", name))
			continue
		case err != nil:
			return err
		}
		if name == objectstore.MainDumpName {
			name = objectstore.MainDumpField
		}
		c.Dumps[name] = d
	}
	return nil
}

// dumpNames reads the names of a crash's dumps from its dump_names object;
// a missing or malformed one is a note and no dumps.
func (p *Processor) dumpNames(ctx context.Context, c *rules.Crash) ([]string, error) {
	namesKey, _ := objectstore.DumpNamesKey(c.ID)
	var names []string
	nb, err := p.deps.Store.GetBytes(ctx, namesKey, 1<<20)
	switch {
	case errors.Is(err, objectstore.ErrNotFound):
		c.Note("dump_names missing: no dumps read")
	case err != nil:
		return nil, err
	default:
		if err := json.Unmarshal(nb, &names); err != nil {
			c.Note("dump_names is not a JSON list: no dumps read")
			names = nil
		}
	}
	return names, nil
}

// loadProcessed reads the stored processed crash for a signature-only
// reprocessing.
func (p *Processor) loadProcessed(ctx context.Context, c *rules.Crash) (bool, error) {
	key, err := objectstore.ProcessedCrashKey(c.ID)
	if err != nil {
		return false, streams.Permanent(err)
	}
	b, err := p.deps.Store.GetBytes(ctx, key, 256<<20)
	if errors.Is(err, objectstore.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, c.Processed); err != nil {
		return false, streams.Permanent(fmt.Errorf("stored processed crash %s: %w", key, err))
	}
	if c.Processed.JSONDump != "" {
		dec := json.NewDecoder(strings.NewReader(c.Processed.JSONDump))
		dec.UseNumber()
		if err := dec.Decode(&c.JSONDump); err != nil {
			return false, streams.Permanent(fmt.Errorf("stored json_dump of %s: %w", key, err))
		}
	}
	return true, nil
}

// Handle is the consumer handler: decode, process, publish. It is
// idempotent: processing a crash twice publishes two equivalent events
// keyed by the same crash id.
func (p *Processor) Handle(ctx context.Context, m *streams.Message) error {
	crashID, ruleset, dumps, req, err := p.decode(ctx, m)
	if err != nil {
		p.metrics.failures.WithLabelValues("decode").Inc()
		return streams.Permanent(err)
	}
	reprocessing := req != nil && m.Topic == p.deps.Topics.Reprocess
	if reprocessing && req.Reason == protocol.ReasonSymbols {
		p.forgetMissingSince(req.RequestedAt)
	}
	pc, err := p.Process(ctx, crashID, ruleset, dumps)
	if err != nil {
		if streams.IsPermanent(err) {
			p.metrics.failures.WithLabelValues("permanent").Inc()
		}
		return err
	}
	if reprocessing {
		noteReprocessing(pc, req)
	}
	value, err := p.deps.Serde.Marshal(pc)
	if err != nil {
		return streams.Permanent(fmt.Errorf("encoding processed crash: %w", err))
	}
	if err := p.deps.Publisher.Send(ctx, p.deps.Topics.Processed, []byte(crashID), value); err != nil {
		p.metrics.failures.WithLabelValues("publish").Inc()
		return fmt.Errorf("publishing processed crash: %w", err)
	}
	return nil
}

// noteReprocessing says why a reprocessing happened, in reprocess_reason
// and as the first processor note: the request's reason, its detail (for
// a symbol upload, the module and the reprocess job) and who asked. When
// is date_processed.
func noteReprocessing(pc *schemas.ProcessedCrash, req *schemas.ProcessRequest) {
	why := req.Reason
	if why == "" {
		why = protocol.ReasonReprocess
	}
	if req.Detail != "" {
		why += ": " + req.Detail
	}
	if req.RequestedBy != "" {
		why += " (requested by " + req.RequestedBy + ")"
	}
	pc.ReprocessReason = why
	note := "reprocessed: " + why
	if pc.ProcessorNotes != "" {
		note += "; " + pc.ProcessorNotes
	}
	pc.ProcessorNotes = note
}

// forgetMissingSince drops remembered symbol misses once per upload: the
// first request of an upload clears them; the upload's other requests,
// asked for at the same time, find them cleared already.
func (p *Processor) forgetMissingSince(uploadedAt time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !uploadedAt.After(p.forgotAt) {
		return
	}
	p.forgotAt = time.Now()
	p.symbols.ForgetMissing()
}

// decode reads a record of any consumed topic; dumps are the stored dumps
// a crash.received event lists, req is the request for the priority and
// reprocess topics (nil for crash.received).
func (p *Processor) decode(ctx context.Context, m *streams.Message) (crashID, ruleset string, dumps []string, req *schemas.ProcessRequest, err error) {
	switch m.Topic {
	case p.deps.Topics.Received:
		var ev schemas.CrashReceived
		if err := p.deps.Serde.Unmarshal(ctx, m.Value, &ev); err != nil {
			return "", "", nil, nil, fmt.Errorf("decoding CrashReceived: %w", err)
		}
		for _, d := range ev.Dumps {
			dumps = append(dumps, d.Name)
		}
		return ev.CrashID, protocol.RulesetDefault, dumps, nil, nil
	case p.deps.Topics.Priority, p.deps.Topics.Reprocess:
		var r schemas.ProcessRequest
		if err := p.deps.Serde.Unmarshal(ctx, m.Value, &r); err != nil {
			return "", "", nil, nil, fmt.Errorf("decoding ProcessRequest: %w", err)
		}
		return r.CrashID, r.Ruleset, nil, &r, nil
	}
	return "", "", nil, nil, fmt.Errorf("unexpected topic %q", m.Topic)
}

// Stages declares what the processor consumes: the standard and
// reprocessing topics in one group, and the priority topic in its own, so
// that a backlog never delays a priority request. Both run Handle; the
// runner builds the consumers.
func (p *Processor) Stages() []streams.Stage {
	h := streams.HandlerFunc(p.Handle)
	return []streams.Stage{
		{Name: "processor", Group: p.cfg.Group, Topics: []string{p.deps.Topics.Received, p.deps.Topics.Reprocess}, Handler: h},
		{Name: "processor-priority", Group: p.cfg.PriorityGroup, Topics: []string{p.deps.Topics.Priority}, Handler: h},
	}
}
