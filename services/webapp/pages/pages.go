// Package pages is the Crash Stats user interface: the server-rendered HTML
// pages release managers and developers read (home, top crashers, signature
// report, report index, Super Search, missing symbols). It owns no
// authentication, sessions or rate limits: the webapp core gives each
// request's Caller and CSRF token through Core, and the pages decide from
// the caller's permissions what to render. Protected fields are never
// rendered, offered in a form or accepted in a query for a caller without
// view_pii: every query goes through supersearch.Parse with the caller's
// permission, and report annotations come from the field registry's
// Visible list.
//
// Pages are html/template (contextual escaping), with the templates, CSS
// and hand-written SVG charts embedded in the binary: no script, no CDN.
//
// Routes (the URL holds every query, so a page can be shared):
//
//	/                          products, versions, crashes per day by product
//	/home/product/<product>    one product: crashes per day by version
//	/topcrashers/?product=&version=&days=&process_type=&platform=&_range_type=report|build&_facets_size=
//	/signature/?signature=<sig>[&tab=reports|graph|bugzilla][&<Super Search params>]   summary, aggregations, graph, reports, bugs
//	/report/index/<crash id>   one crash; pending page (and a priority request) or 404
//	POST /report/reprocess/<crash id>   reprocess button (reprocess_crashes, CSRF)
//	/search/?<Super Search params>      the search form, facets and results
//	/missingsymbols/           the cron job's missing-symbols report
//	/reprocessjobs/            the symbol arrivals' reprocess jobs (upload_symbols)
//	/alerts/                   the alert rules (read-only) and recent firings
package pages

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/schemas/redact"
	"github.com/crashstream/crashstream/services/lib/alerts"
	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/services/lib/bugzilla"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/clickhouse/supersearch"
	"github.com/crashstream/crashstream/storage/objectstore"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Crashes is the query library the pages read (clickhouse.Reader).
type Crashes interface {
	TopCrashers(ctx context.Context, p clickhouse.TopCrashersParams) (*clickhouse.TopCrashersResult, error)
	SuperSearch(ctx context.Context, q *supersearch.Query) (*clickhouse.SearchResult, error)
	SignatureFirstDate(ctx context.Context, signatures []string) ([]clickhouse.SignatureFirst, error)
	DailyVolume(ctx context.Context, split, product string, from, to time.Time) ([]clickhouse.Bucket, error)
}

// Objects is the crash bucket (*objectstore.Bucket): processed crashes, the
// raw-crash marker of a pending crash, and the cron reports. A missing key
// gives an error wrapping objectstore.ErrNotFound.
type Objects interface {
	GetBytes(ctx context.Context, key string, maxSize int64) ([]byte, error)
	Exists(ctx context.Context, key string) (bool, error)
}

// Core is what the pages need from the webapp core (services/webapp): who
// the caller is, the CSRF protection of forms, and the two actions the
// report page triggers. Keeping it an interface lets the pages be tested
// without the core and keeps the core free of HTML.
type Core interface {
	// Caller is the request's caller (anonymous without a token or session).
	Caller(c *gin.Context) auth.Caller
	// CSRFToken is the token a form of this request must post back.
	CSRFToken(c *gin.Context) string
	// CheckCSRF reports whether a posted form carries a valid CSRF token.
	CheckCSRF(c *gin.Context) bool
	// PriorityRequest asks the processor to process crashID ahead of the
	// queue (crash.priority.v1), at most once a minute per crash.
	PriorityRequest(ctx context.Context, crashID string) error
	// Reprocess asks for crashIDs to be processed again (crash.reprocess.v1).
	Reprocess(ctx context.Context, crashIDs []string) error
	// SignInPath is the core's sign-in page (GET) and form target (POST);
	// SignOutPath is where the sign-out form posts.
	SignInPath() string
	SignOutPath() string
}

// PageLimiter is an optional capability of Core: when the core has it,
// every page goes through its per-minute page-view limit. It is the pages'
// own class, not the Super Search API's (10 a minute for an anonymous
// caller would stop a person browsing signature reports); the core sets it
// so that a person never meets it and a scraper does.
type PageLimiter interface {
	PageLimit() gin.HandlerFunc
}

// Config holds the page settings. They come from the core's flags
// (webapp.source-url-template, webapp.request-timeout); see FromServer.
type Config struct {
	// SourceURL turns a frame's file and line into a link: {file} and
	// {line} are replaced (URL-escaped). Empty disables source links.
	SourceURL string
	// Timeout bounds the queries of one page.
	Timeout time.Duration
	// Featured, when set, are the products listed (home, first-run top
	// crashers); Hidden are never listed. See webapp.Config.
	Featured, Hidden []string
	// BugzillaURL is where bug numbers link ("" plain numbers);
	// FileBugURL the "file a bug" template ({product}, {signature},
	// {crash_url}); PublicURL the base of the crash link it carries.
	BugzillaURL, FileBugURL, PublicURL string
}

// Validate checks the settings.
func (c Config) Validate() error {
	if c.SourceURL != "" && !strings.HasPrefix(c.SourceURL, "https://") && !strings.HasPrefix(c.SourceURL, "http://") {
		return fmt.Errorf("webapp.source-url-template: want an http(s) URL template, got %q", c.SourceURL)
	}
	if c.SourceURL != "" && !strings.Contains(c.SourceURL, "{file}") {
		return fmt.Errorf("webapp.source-url-template: the template needs {file}")
	}
	if c.Timeout <= 0 || c.Timeout > 5*time.Minute {
		return fmt.Errorf("webapp.request-timeout: want 0 < timeout <= 5m, got %s", c.Timeout)
	}
	return nil
}

// Pages serves the HTML user interface. It implements the core's PageSet.
type Pages struct {
	cfg      Config
	crashes  Crashes
	objects  Objects
	core     Core
	registry *fields.Registry
	redactor *redact.Redactor
	search   supersearch.Fields
	tmpl     map[string]*template.Template
	bugs     *bugzilla.Cache
	// correlations answers the Correlations tab (nil: not configured).
	correlations Correlator
	// alerts is where the alerts cron job publishes its rules and records
	// its firings (the crash bucket; nil: the Alerts page lists none).
	alerts alerts.Reader
	now    func() time.Time
}

// New returns the pages. registry is the field registry (the source of
// what is public).
func New(cfg Config, crashes Crashes, objects Objects, core Core, registry *fields.Registry) (*Pages, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if crashes == nil || objects == nil || core == nil || registry == nil {
		return nil, errors.New("pages: crashes, objects, core and registry are required")
	}
	red := redact.New(registry)
	p := &Pages{cfg: cfg, crashes: redactedCrashes{Crashes: crashes, r: red}, objects: objects, core: core, registry: registry,
		redactor: red, search: supersearch.FromRegistry(registry), bugs: bugCache(core, objects), now: time.Now}
	var err error
	if p.tmpl, err = parseTemplates(); err != nil {
		return nil, err
	}
	return p, nil
}

// Register mounts every page on r.
func (p *Pages) Register(r gin.IRouter) {
	sub, _ := fs.Sub(staticFS, "static")
	r.StaticFS("/static/pages", http.FS(sub))
	var limit []gin.HandlerFunc
	if pl, ok := p.core.(PageLimiter); ok {
		limit = append(limit, pl.PageLimit())
	}
	page := func(h gin.HandlerFunc) []gin.HandlerFunc { return append(append([]gin.HandlerFunc{}, limit...), h) }
	r.GET("/", page(p.home)...)
	r.GET("/home/product/:product", page(p.product)...)
	r.GET("/topcrashers/", page(p.topCrashers)...)
	r.GET("/signature/", page(p.signature)...)
	r.GET("/report/index/:id", page(p.report)...)
	r.POST("/report/reprocess/:id", page(p.reprocess)...)
	r.GET("/search/", page(p.superSearch)...)
	r.GET("/missingsymbols/", page(p.missingSymbols)...)
	r.GET("/reprocessjobs/", page(p.reprocessJobs)...)
	r.GET("/alerts/", page(p.alertsList)...)
}

// parseTemplates parses each page template with layout.html.
func parseTemplates() (map[string]*template.Template, error) {
	pageNames := []string{"home", "product", "topcrashers", "signature", "report", "pending", "search", "missingsymbols", "reprocessjobs", "alerts", "error"}
	base, err := template.New("layout.html").Funcs(templateFuncs()).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/bugs.html", "templates/correlations.html")
	if err != nil {
		return nil, err
	}
	out := make(map[string]*template.Template, len(pageNames))
	for _, n := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, "templates/"+n+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", n, err)
		}
		out[n] = t
	}
	return out, nil
}

// view is what every page's template gets: the layout's needs and the
// page's own data.
type view struct {
	Title   string
	Caller  auth.Caller
	CSRF    string
	SignIn  string
	SignOut string
	Nav     string
	// Path is the request's path and query, for sign-in's return.
	Path string
	Data any
}

// render writes a page; a template failure becomes a plain 500.
func (p *Pages) render(c *gin.Context, status int, name, title string, data any) {
	v := view{Title: title, Caller: p.core.Caller(c), SignIn: p.core.SignInPath(),
		SignOut: p.core.SignOutPath(), Nav: name, Path: c.Request.URL.RequestURI(), Data: data}
	if !v.Caller.Anonymous {
		// only signed-in pages have forms (sign out, reprocess); anonymous
		// pages set no session cookie
		v.CSRF = p.core.CSRFToken(c)
	}
	var b strings.Builder
	if err := p.tmpl[name].ExecuteTemplate(&b, "layout.html", v); err != nil {
		c.String(http.StatusInternalServerError, "template error")
		_ = c.Error(err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Content-Security-Policy", "default-src 'self'; style-src 'self'; img-src 'self' data:; script-src 'none'; form-action 'self'; frame-ancestors 'none'")
	c.Data(status, "text/html; charset=utf-8", []byte(b.String()))
}

// errorPage is the error page: Message is shown to the user, and RequestID
// (the core's X-Request-Id answer header, also in the log line of a failed
// request) lets a user's report of a failure be found in the log.
type errorPage struct {
	Status    int
	Message   string
	RequestID string
}

// requestIDHeader is the core's request id header (webapp.RequestIDHeader;
// read from the answer so the pages need no more of the core).
const requestIDHeader = "X-Request-Id"

func (p *Pages) fail(c *gin.Context, status int, msg string) {
	p.render(c, status, "error", http.StatusText(status), errorPage{Status: status, Message: msg, RequestID: c.Writer.Header().Get(requestIDHeader)})
}

// queryFailed turns a query error into a page: bad requests are the user's
// (400 with the reason), anything else is ours (500, recorded with c.Error
// for the core's one log line per failed request).
func (p *Pages) queryFailed(c *gin.Context, err error) {
	if errors.Is(err, supersearch.ErrBadRequest) {
		p.fail(c, http.StatusBadRequest, err.Error())
		return
	}
	_ = c.Error(err)
	if errors.Is(err, context.DeadlineExceeded) {
		p.fail(c, http.StatusGatewayTimeout, "The query took too long. Narrow the date range or the filters.")
		return
	}
	p.fail(c, http.StatusInternalServerError, "The crash store could not answer. Try again later.")
}

func (p *Pages) ctx(c *gin.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(withViewPII(c.Request.Context(), p.viewPII(c)), p.cfg.Timeout)
}

// viewPII reports whether the request's caller may see protected data.
func (p *Pages) viewPII(c *gin.Context) bool { return p.core.Caller(c).Has(auth.ViewPII) }

// isNotFound reports whether an object-store error means "absent".
func isNotFound(err error) bool { return errors.Is(err, objectstore.ErrNotFound) }
