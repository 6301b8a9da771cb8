// Package webapp is Crash Stats: the HTTP service behind the HTML pages and
// the JSON API under /api/. It owns the request pipeline every page and API
// call goes through — recovery, metrics, who the caller is (an Auth-Token
// header or a signed session cookie), CSRF checks on forms, rate limits —
// and the API itself. The HTML pages live in webapp/pages and are mounted
// through PageSet, so this package does not depend on them.
//
// Access model: a caller is anonymous, or holds a token with permissions
// (auth package). Protected fields of the field registry never reach a
// caller without view_pii: they are removed from every response, and a
// SuperSearch request that names one as a filter, facet, sort, aggregation,
// histogram, cardinality or column is answered without it, the answer's
// errors saying so (Socorro's SuperSearch leaves them out too);
// SuperSearchUnredacted (view_pii) accepts them. The API documentation page
// (/api/) renders the OpenAPI document and Socorro's Super Search contract.
package webapp

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"iter"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/schemas/protocol"
	"github.com/crashstream/crashstream/schemas/redact"
	"github.com/crashstream/crashstream/schemas/registry"
	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/services/lib/bugzilla"
	"github.com/crashstream/crashstream/services/lib/signature"
	"github.com/crashstream/crashstream/services/webapp/internal/reprocjobs"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/clickhouse/supersearch"
	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/streams"
)

// CrashReader is the ClickHouse query library the webapp reads
// (*clickhouse.Reader).
type CrashReader interface {
	SuperSearch(ctx context.Context, q *supersearch.Query) (*clickhouse.SearchResult, error)
	TopCrashers(ctx context.Context, p clickhouse.TopCrashersParams) (*clickhouse.TopCrashersResult, error)
	SignatureFirstDate(ctx context.Context, signatures []string) ([]clickhouse.SignatureFirst, error)
	// DailyVolume is crashes per day by product or version (the pages'
	// dashboards).
	DailyVolume(ctx context.Context, split, product string, from, to time.Time) ([]clickhouse.Bucket, error)
	VersionStrings(ctx context.Context, product, channel string, build int64) ([]string, error)
	CrashByID(ctx context.Context, id string) (map[string]any, error)
}

// Bucket is the object storage the webapp reads crashes from and writes
// symbols to (*objectstore.Bucket). Missing keys wrap objectstore.ErrNotFound.
// Symbol files are its only writes, always with their hash (storeSymbol).
type Bucket interface {
	GetBytes(ctx context.Context, key string, maxSize int64) ([]byte, error)
	Get(ctx context.Context, key string) (io.ReadCloser, objectstore.ObjectInfo, error)
	PutWithSHA256(ctx context.Context, key string, r io.Reader, size int64, contentType, sum string) error
	Exists(ctx context.Context, key string) (bool, error)
	Stat(ctx context.Context, key string) (objectstore.ObjectInfo, error)
	List(ctx context.Context, prefix string) iter.Seq2[objectstore.ObjectInfo, error]
}

// Marshaler frames an event as Confluent-framed Avro (*registry.Serde).
type Marshaler interface {
	Marshal(r schemas.Record) ([]byte, error)
}

// PageSet is the HTML user interface, mounted at the root of the router
// after the API routes and behind the same middleware (caller, CSRF check
// on every POST, recovery, metrics). Pages get what they need from the
// Server they are built with (see New): Caller, CSRFToken, CheckCSRF,
// PriorityRequest, Reprocess, Deps, SignInPath and SignOutPath.
type PageSet interface {
	Register(r gin.IRouter)
}

// NewPages builds the page set with the server as its core; New calls it
// once, before serving.
type NewPages func(core *Server) (PageSet, error)

// Deps are the clients the webapp uses; every field is required except Now
// and Correlations.
type Deps struct {
	Reader    CrashReader
	Crashes   Bucket // the crash bucket: raw and processed crashes, dumps
	Symbols   Bucket // the symbols bucket
	Tokens    *auth.Store
	Publisher streams.Sender
	Serde     Marshaler
	Topics    streams.Topics
	Fields    *fields.Registry
	Schemas   *registry.Static
	Registry  prometheus.Registerer
	Logger    zerolog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Correlations answers the Correlations model and tab (nil: they
	// answer 503 and say correlations are not configured).
	Correlations Correlator
	// JobStore keeps the symbol arrivals' reprocess jobs (the crash
	// bucket, *objectstore.Bucket) and JobFinder finds their crashes
	// (*clickhouse.Reader); without both, stored symbols start no job.
	JobStore  reprocjobs.Store
	JobFinder reprocjobs.Finder
}

// Server is the webapp: Handler serves HTTP, Run does the background work.
type Server struct {
	cfg    Config
	deps   Deps
	engine *gin.Engine
	key    []byte
	secure bool
	m      *metrics
	search *limiter
	api    *limiter
	// authFailures counts failed sign-ins and invalid tokens per address.
	authFailures *limiter
	pages        *limiter
	priority     *dedup
	fields       supersearch.Fields
	// siggen is the processor's signature generator, for CrashSignature.
	siggen   *signature.Generator
	redactor *redact.Redactor
	now      func() time.Time
	// bugs is the bug association set; bugInfo asks Bugzilla (nil
	// without -webapp.bugzilla.url).
	bugs    *bugzilla.Cache
	bugInfo *bugzilla.InfoCache
	// signinPage renders signinHTML.
	signinPage *template.Template
	// jobs runs the reprocess jobs (nil: off, see Deps.JobStore); probe
	// starts jobs for the files symbol servers start to answer for (nil:
	// off, see Config.SymbolURLs).
	jobs     *reprocjobs.Manager
	probe    *reprocjobs.Prober
	probeOff string // why probe is nil
}

// New builds the webapp from a validated Config. pages builds the HTML
// user interface (nil: a minimal index page linking to the API). It does
// no I/O.
func New(cfg Config, deps Deps, pages NewPages) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Reader == nil || deps.Crashes == nil || deps.Symbols == nil || deps.Tokens == nil ||
		deps.Publisher == nil || deps.Serde == nil || deps.Fields == nil || deps.Schemas == nil || deps.Registry == nil {
		return nil, errors.New("webapp: every dependency is required")
	}
	s := &Server{cfg: cfg, deps: deps, now: deps.Now, fields: supersearch.FromRegistry(deps.Fields),
		redactor: redact.New(deps.Fields)}
	lists, err := signature.DefaultLists()
	if err != nil {
		return nil, fmt.Errorf("webapp: signature lists: %w", err)
	}
	s.siggen = signature.New(lists, signature.RulesetSocorro)
	if s.now == nil {
		s.now = time.Now
	}
	if s.signinPage, err = template.New("signin").Parse(signinHTML); err != nil {
		return nil, err
	}
	if s.key, err = secretKey(cfg.SecretKey); err != nil {
		return nil, err
	}
	if cfg.SecretKey == "" {
		deps.Logger.Warn().Msg("-webapp.secret-key is not set: using a random key; sessions end at restart and differ between replicas")
	}
	s.secure = len(cfg.PublicURL) > 8 && cfg.PublicURL[:8] == "https://"
	if s.m, err = newMetrics(deps.Registry); err != nil {
		return nil, err
	}
	s.search = newLimiter(cfg.SearchPerMinAnon, cfg.SearchPerMinAuth, s.now)
	s.api = newLimiter(cfg.APIPerMinAnon, cfg.APIPerMinAuth, s.now)
	s.pages = newLimiter(cfg.PagesPerMinAnon, cfg.PagesPerMinAuth, s.now)
	s.authFailures = newLimiter(cfg.AuthFailuresPerMin, cfg.AuthFailuresPerMin, s.now)
	s.priority = newDedup(time.Minute, s.now)
	s.jobs = s.newJobs()
	s.probe, s.probeOff = s.newProber()
	s.bugs = bugzilla.NewCache(deps.Crashes, cfg.BugsRefresh)
	if cfg.BugzillaURL != "" {
		bz, err := bugzilla.NewClient(bugzilla.Config{URL: cfg.BugzillaURL, Timeout: 5 * time.Second, Attempts: 2})
		if err != nil {
			return nil, err
		}
		s.bugInfo = bugzilla.NewInfoCache(bz, cfg.BugInfoTTL)
	}

	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	if err := e.SetTrustedProxies(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("-webapp.trusted-proxies: %w", err)
	}
	e.Use(s.requestLog, s.recovery, s.instrument, s.bodyGuard, s.authenticate, s.csrf)
	s.routes(e)
	s.engine = e
	if pages == nil {
		e.GET("/", s.index)
		return s, nil
	}
	ps, err := pages(s)
	if err != nil {
		return nil, fmt.Errorf("webapp pages: %w", err)
	}
	ps.Register(e)
	return s, nil
}

// Handler serves Crash Stats.
func (s *Server) Handler() http.Handler { return s.engine }

// Routes lists every route the handler serves (method and path pattern):
// the leak test (tests/leak) walks all of them, so a new route is probed
// the day it is added.
func (s *Server) Routes() gin.RoutesInfo { return s.engine.Routes() }

// Run sweeps the rate limiters and the priority dedup, drives the
// reprocess jobs and probes the symbol servers, until ctx is done.
func (s *Server) Run(ctx context.Context) error {
	// The probe has its own goroutine: a round waits on symbol servers,
	// which must not hold up the jobs' sends.
	var wg sync.WaitGroup
	defer wg.Wait()
	if s.jobs != nil {
		wg.Go(func() { _ = s.jobs.Run(ctx) })
	}
	if s.probe != nil {
		s.deps.Logger.Info().Int("servers", len(s.cfg.SymbolURLs)).Dur("period", s.cfg.ProbePeriod).Msg("symbol-server probe on")
		wg.Go(func() { _ = s.probe.Run(ctx) })
	} else {
		s.deps.Logger.Info().Msg("symbol-server probe off: " + s.probeOff)
	}
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			s.search.sweep()
			s.api.sweep()
			s.pages.sweep()
			s.authFailures.sweep()
			s.priority.sweep()
		}
	}
}

// Deps returns the webapp's clients, for pages.
func (s *Server) Deps() Deps { return s.deps }

// Config returns the configuration, for pages (source links, public URL).
func (s *Server) Config() Config { return s.cfg }

// SearchFields is the Super Search field set (protected fields included;
// supersearch.Parse drops them for callers without view_pii).
func (s *Server) SearchFields() supersearch.Fields { return s.fields }

const serverKey = "crashstream.server"

// FromContext returns the Server handling the request.
func FromContext(c *gin.Context) *Server {
	s, _ := c.Get(serverKey)
	srv, _ := s.(*Server)
	return srv
}

// recovery answers 500 for a panicking handler, and counts it; requestLog
// logs it.
func (s *Server) recovery(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			s.m.panics.Inc()
			_ = c.Error(fmt.Errorf("handler panicked: %v", r)) // logged by requestLog
			if !c.Writer.Written() {
				c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "internal error"})
			} else {
				c.Abort()
			}
		}
	}()
	c.Set(serverKey, s)
	c.Next()
}

// dedup remembers keys for a period: at most one action per key per period.
type dedup struct {
	mu     sync.Mutex
	period time.Duration
	last   map[string]time.Time
	now    func() time.Time
}

func newDedup(period time.Duration, now func() time.Time) *dedup {
	return &dedup{period: period, last: map[string]time.Time{}, now: now}
}

// first reports whether key was not seen within the period, and records it.
func (d *dedup) first(key string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	if t, ok := d.last[key]; ok && now.Sub(t) < d.period {
		return false
	}
	if len(d.last) >= maxTracked {
		d.sweepLocked(now)
	}
	d.last[key] = now
	return true
}

// forget drops key, so a failed action can be retried at once.
func (d *dedup) forget(key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.last, key)
}

func (d *dedup) sweep() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sweepLocked(d.now())
}

func (d *dedup) sweepLocked(now time.Time) {
	for k, t := range d.last {
		if now.Sub(t) >= d.period {
			delete(d.last, k)
		}
	}
}

// maxTracked bounds the per-key maps (rate limits, priority dedup): past
// it, expired entries are swept first.
const maxTracked = 100_000

// PriorityRequest asks the processor to process crashID ahead of the
// backlog (crash.priority.v1), for a report viewed before it was
// processed. It publishes at most once per minute per crash in this
// process, as Socorro does (a repeat within the minute is a no-op); a
// failed publish is forgotten, so the next view retries it.
func (s *Server) PriorityRequest(ctx context.Context, crashID string) error {
	if err := objectstore.CheckCrashID(crashID, false); err != nil {
		return err
	}
	if !s.priority.first(crashID) {
		s.m.priority.WithLabelValues("deduplicated").Inc()
		return nil
	}
	if err := s.publish(ctx, s.deps.Topics.Priority, crashID, protocol.ReasonPriority, protocol.RulesetDefault, "webapp"); err != nil {
		s.priority.forget(crashID)
		s.m.priority.WithLabelValues("error").Inc()
		return err
	}
	s.m.priority.WithLabelValues("published").Inc()
	return nil
}

// Reprocess asks for crashes to be processed again with the default
// ruleset (crash.reprocess.v1), for the report page's Reprocess button; the
// page checks the caller's reprocess_crashes permission.
func (s *Server) Reprocess(ctx context.Context, crashIDs []string) error {
	for _, id := range crashIDs {
		if err := objectstore.CheckCrashID(id, false); err != nil {
			return err
		}
	}
	for _, id := range crashIDs {
		if err := s.publish(ctx, s.deps.Topics.Reprocess, id, protocol.ReasonReprocess, protocol.RulesetDefault, "webapp"); err != nil {
			return err
		}
		s.m.reprocess.Inc()
	}
	return nil
}

// Caller is CallerOf, as a method for pages holding the server.
func (s *Server) Caller(c *gin.Context) auth.Caller { return CallerOf(c) }

// CSRFToken is the package's CSRFToken, as a method.
func (s *Server) CSRFToken(c *gin.Context) string { return CSRFToken(c) }

// CheckCSRF reports whether a posted form carries the session's CSRF token.
// The middleware already refused every POST without one; pages may check
// again where a handler is reachable by other methods.
func (s *Server) CheckCSRF(c *gin.Context) bool { return s.csrfValid(c) }

// SignInPath is where the sign-in form posts (field "token", and "next").
func (s *Server) SignInPath() string { return "/signin" }

// SignOutPath is where the sign-out form posts.
func (s *Server) SignOutPath() string { return "/signout" }

// publish sends one ProcessRequest keyed by the crash id.
func (s *Server) publish(ctx context.Context, topic, crashID, reason, ruleset, by string) error {
	v, err := s.deps.Serde.Marshal(&schemas.ProcessRequest{
		CrashID: crashID, Reason: reason, Ruleset: ruleset, RequestedAt: s.now().UTC(), RequestedBy: by,
	})
	if err != nil {
		return err
	}
	return s.deps.Publisher.Send(ctx, topic, []byte(crashID), v)
}

// index is the page served when no PageSet is mounted.
func (s *Server) index(c *gin.Context) {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.String(http.StatusOK, `<!doctype html><html><head><meta charset="utf-8"><title>Crash Stats</title></head><body>
<h1>Crash Stats</h1><p>The HTML pages are not mounted in this build. The API is:</p>
<ul><li><a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3)</li>
<li><a href="/api/SuperSearchFields/">/api/SuperSearchFields/</a></li>
<li><a href="/subjects">/subjects</a> (schema registry)</li>
<li><a href="/signin">sign in with an API token</a></li></ul></body></html>`)
}
