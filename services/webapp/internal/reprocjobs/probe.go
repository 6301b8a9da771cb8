package reprocjobs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/crashstream/crashstream/schemas/protocol"
	"github.com/crashstream/crashstream/services/lib/symbols"
)

// ProbeConfig tunes the symbol-server probe: symbols that appear on an HTTP
// symbol server reach no API and no bucket, so nothing else would start
// their job.
type ProbeConfig struct {
	// URLs are the symbol servers (Breakpad layout), in the processor's
	// order (-symbols.url). None: no probe.
	URLs []string
	// Every is the time between rounds (0: no probe).
	Every time.Duration
	// Modules is how many modules one round asks ClickHouse for (those of
	// Config.Window with the most crashes that missed them).
	Modules int
	// MaxProbes bounds the requests of one round, all servers together
	// (a HEAD and its ranged-GET fallback count once); the modules left
	// over wait for the next round.
	MaxProbes int
	// Recheck is how long a server that lacked a module is not asked for
	// it again; Found how long a module a server had is not asked of any
	// server (its job exists; a symbol file of a debug id rarely
	// changes, and when it does the next question after Found sees it).
	Recheck, Found time.Duration
	// Timeout bounds one request.
	Timeout time.Duration
	// MaxFailures is how many failed requests in a row (server error,
	// timeout, refused connection) make a round skip the server for its
	// remaining modules, so that a server that is down costs a round a
	// few timeouts, not MaxProbes of them.
	MaxFailures int
}

// Enabled reports whether the probe runs.
func (c ProbeConfig) Enabled() bool { return c.Every > 0 && len(c.URLs) > 0 }

// Probe outcomes: the values of the probe metric's outcome label and the
// keys of ProbeRound.Outcomes.
const (
	ProbeNewJob      = "new-job"      // the server has the file; a job started
	ProbeKnown       = "known"        // the server has the file; its job existed
	ProbeMissing     = "missing"      // 404, 403 or 410
	ProbeServerError = "server-error" // any other status
	ProbeTimeout     = "timeout"
	ProbeUnreachable = "unreachable" // no connection, DNS, TLS
)

// SourceSymbolServer is the Source of a job the probe started.
const SourceSymbolServer = "symbol-server"

// ProbeRound is what one round did.
type ProbeRound struct {
	// Modules is how many modules ClickHouse gave; Probes how many
	// requests were made; Outcomes counts them by outcome.
	Modules, Probes int
	Outcomes        map[string]int
	// Deferred counts the (module, server) questions left for a later
	// round by MaxProbes; Skipped those not asked because their server
	// failed MaxFailures times in a row this round.
	Deferred, Skipped int
	// FirstError is the first failure's description ("" without one).
	FirstError string
}

func (r ProbeRound) failures() int {
	return r.Outcomes[ProbeServerError] + r.Outcomes[ProbeTimeout] + r.Outcomes[ProbeUnreachable]
}

// Prober asks the symbol servers, every ProbeConfig.Every, whether they
// now have the symbols of the modules that crashes missed, and starts a
// reprocess job (Manager.Create, source "symbol-server") for each file a
// server answers 200 for. The job's symbols key is the file's URL without
// credentials or query, its tag the server's ETag (else Last-Modified and
// length): the same file seen again starts no new job, a changed one does.
// Every webapp replica probes; job identity keeps them from starting a job
// twice. Only Run's goroutine uses a Prober.
type Prober struct {
	cfg     ProbeConfig
	jobs    *Manager
	servers []symbols.HTTPSource
	client  *http.Client
	count   func(outcome string)
	log     zerolog.Logger
	// missing is when a (server, module) a server lacked may be asked
	// again; found when a module a server had may be. Both are pruned
	// every round, so they hold at most the requests of Recheck or Found
	// (MaxProbes per round).
	missing map[probeKey]time.Time
	found   map[string]time.Time
}

type probeKey struct {
	server int
	module string
}

// NewProber returns the probe of the manager's jobs; count (nil: none)
// is called once per request with its outcome, for the metrics.
func NewProber(cfg ProbeConfig, jobs *Manager, client *http.Client, count func(outcome string)) *Prober {
	if client == nil {
		client = http.DefaultClient
	}
	if count == nil {
		count = func(string) {}
	}
	p := &Prober{cfg: cfg, jobs: jobs, client: client, count: count, log: jobs.log,
		missing: map[probeKey]time.Time{}, found: map[string]time.Time{}}
	for _, u := range cfg.URLs {
		p.servers = append(p.servers, symbols.HTTPSource{BaseURL: u, Client: client})
	}
	return p
}

// Run probes every ProbeConfig.Every until ctx ends, the first round at
// once. A failed round is logged (once, with its counts) and the next one
// runs as usual.
func (p *Prober) Run(ctx context.Context) error {
	t := time.NewTicker(p.cfg.Every)
	defer t.Stop()
	for {
		r, err := p.ProbeOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			p.log.Warn().Err(err).Msg("symbol-server probe (ClickHouse or the job store)")
		case r.failures() > 0:
			p.log.Warn().Int("modules", r.Modules).Int("probes", r.Probes).Interface("outcomes", r.Outcomes).
				Int("skipped", r.Skipped).Str("first_error", r.FirstError).Msg("symbol-server probe: symbol servers failed")
		case r.Outcomes[ProbeNewJob] > 0:
			p.log.Info().Int("jobs", r.Outcomes[ProbeNewJob]).Msg("symbol-server probe: symbol files found on symbol servers")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// ProbeOnce runs one round: the modules of the window with the most
// crashes that missed them, each asked of the servers in order until one
// has it, at most MaxProbes requests. Server failures are counted in the
// round, not returned: only ClickHouse's or the job store's are.
func (p *Prober) ProbeOnce(ctx context.Context) (ProbeRound, error) {
	r := ProbeRound{Outcomes: map[string]int{}}
	now := p.jobs.now()
	p.prune(now)
	mods, err := p.jobs.finder.ModulesMissingSymbols(ctx, now.Add(-p.jobs.cfg.Window), p.cfg.Modules)
	if err != nil {
		return r, err
	}
	r.Modules = len(mods)
	failed := make([]int, len(p.servers)) // failures in a row, per server
	for _, mod := range mods {
		if ctx.Err() != nil {
			return r, nil
		}
		if p.found[mod.Module].After(now) {
			continue
		}
		key, ok := moduleKey(mod.Module)
		if !ok {
			continue
		}
		for i, srv := range p.servers {
			pk := probeKey{i, mod.Module}
			if p.missing[pk].After(now) {
				continue
			}
			if failed[i] >= p.cfg.MaxFailures {
				r.Skipped++
				continue
			}
			if r.Probes >= p.cfg.MaxProbes {
				r.Deferred++
				continue
			}
			u, ok := srv.FileURL(key)
			if !ok {
				break
			}
			r.Probes++
			tag, outcome, perr := p.probe(ctx, u)
			if ctx.Err() != nil {
				return r, nil
			}
			if outcome == ProbeNewJob {
				_, isNew, err := p.jobs.Create(ctx, mod.Module, redactURL(u), tag, SourceSymbolServer)
				if err != nil {
					return r, fmt.Errorf("starting the job of %s: %w", redactURL(u), err)
				}
				if !isNew {
					outcome = ProbeKnown
				}
			}
			r.Outcomes[outcome]++
			p.count(outcome)
			switch outcome {
			case ProbeNewJob, ProbeKnown:
				failed[i] = 0
				p.found[mod.Module] = now.Add(p.cfg.Found)
			case ProbeMissing:
				failed[i] = 0
				p.missing[pk] = now.Add(p.cfg.Recheck)
				continue
			default:
				failed[i]++
				if r.FirstError == "" {
					r.FirstError = perr.Error()
				}
				continue
			}
			break // found: the later servers need not be asked
		}
	}
	return r, nil
}

// prune forgets the waits that have passed.
func (p *Prober) prune(now time.Time) {
	for k, t := range p.missing {
		if !t.After(now) {
			delete(p.missing, k)
		}
	}
	for k, t := range p.found {
		if !t.After(now) {
			delete(p.found, k)
		}
	}
}

// probe asks a server for one file: HEAD, or a one-byte ranged GET when
// the server refuses HEAD (405, 501). The outcome is ProbeNewJob when it
// has the file (the caller decides whether the job is new), with its tag.
func (p *Prober) probe(ctx context.Context, u string) (tag, outcome string, err error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	resp, err := p.do(ctx, http.MethodHead, u)
	if err == nil && (resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusNotImplemented) {
		resp, err = p.do(ctx, http.MethodGet, u)
	}
	if err != nil {
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			return "", ProbeTimeout, fmt.Errorf("%s: timed out after %s", redactURL(u), p.cfg.Timeout)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text names the URL, credentials and all
		}
		return "", ProbeUnreachable, fmt.Errorf("%s: %v", redactURL(u), err)
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusPartialContent:
		return fileTag(resp), ProbeNewJob, nil
	case http.StatusNotFound, http.StatusForbidden, http.StatusGone:
		return "", ProbeMissing, nil
	default:
		return "", ProbeServerError, fmt.Errorf("%s %s: %s", resp.Request.Method, redactURL(u), resp.Status)
	}
}

// do makes one request and closes the body unread: a GET asks for one
// byte, and a server that ignores the range costs a dropped connection,
// not a download.
func (p *Prober) do(ctx context.Context, method, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	if method == http.MethodGet {
		req.Header.Set("Range", "bytes=0-0")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return resp, nil
}

// fileTag identifies the content of the file a response describes: its
// ETag, else its Last-Modified and length ("" when it has neither: the
// file then starts one job, and a change to it no other).
func fileTag(resp *http.Response) string {
	if e := resp.Header.Get("ETag"); e != "" {
		return e
	}
	lm := resp.Header.Get("Last-Modified")
	if lm == "" {
		return ""
	}
	size := resp.Header.Get("Content-Length")
	if cr := resp.Header.Get("Content-Range"); resp.StatusCode == http.StatusPartialContent && cr != "" {
		size = cr[strings.LastIndexByte(cr, '/')+1:] // bytes 0-0/<total>
	}
	if _, err := strconv.ParseInt(size, 10, 64); err != nil {
		return lm
	}
	return lm + "; " + size + " bytes"
}

// redactURL drops a URL's user info, query and fragment: the job record
// and the logs show where the file is, never a server's credentials.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	return u.String()
}

// moduleKey turns a protocol.ModuleKey into a symbols.Key.
func moduleKey(module string) (symbols.Key, bool) {
	file, id, ok := protocol.SplitModuleKey(module)
	return symbols.Key{DebugFile: file, DebugID: id}, ok
}
