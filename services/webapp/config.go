package webapp

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/crashstream/crashstream/services/runtime"
	"github.com/crashstream/crashstream/services/webapp/internal/symupload"
)

// Config is the webapp's user-facing configuration (webapp.* flags).
type Config struct {
	// Addr is where Crash Stats and its API listen.
	Addr string
	// SecretKey signs session cookies and CSRF tokens. Every replica behind
	// one load balancer needs the same key; empty means a random key per
	// process (sessions do not survive a restart), fine for local runs.
	SecretKey string
	// PublicURL is the externally visible base URL (links in the OpenAPI
	// document; an https URL makes cookies Secure behind a TLS proxy).
	PublicURL string
	// SourceURLTemplate turns a frame's file and line into a source link
	// for the report page; {file} and {line} are replaced.
	SourceURLTemplate string
	// TrustedProxies are the proxy addresses (CIDRs) whose X-Forwarded-For
	// is believed for the client address (rate limits); none by default.
	TrustedProxies runtime.StringList
	// Rate limits, requests per minute: Super Search and the other API
	// calls, for anonymous clients (per address) and tokens (per token).
	SearchPerMinAnon, SearchPerMinAuth int
	APIPerMinAnon, APIPerMinAuth       int
	// PagesPerMinAnon and PagesPerMinAuth bound the HTML pages: a class of
	// their own, generous enough that a person clicking through pages never
	// meets it (a page view is one request; browsing is a few a minute,
	// bursts of tens), and low enough that scraping the HTML is no way
	// around the API's limits.
	PagesPerMinAnon, PagesPerMinAuth int
	// FeaturedProducts, when set, are the products the home page lists
	// (any other product name a collector accepted is only named below the
	// list); HiddenProducts are never listed. Junk ProductNames sent to the
	// collector then do not become product rows.
	FeaturedProducts, HiddenProducts runtime.StringList
	// SessionTTL bounds a UI session (also bounded by the token's expiry).
	SessionTTL time.Duration
	// Upload bounds symbol uploads; UploadDir spools them (empty: the
	// system temp dir). MaxUploadBytes caps the request body.
	Upload         symupload.Limits
	MaxUploadBytes int64
	UploadDir      string
	// RequeueDays is how far back (by submission) a reprocess job looks
	// for the crashes that missed a module's symbols; RequeueMax caps the
	// crashes of one job (newest first).
	RequeueDays int
	RequeueMax  int
	// ReprocessRate is the crash ids per second one webapp replica sends
	// to crash.reprocess.v1 for its jobs, all together; ReprocessScan is
	// how often the symbols bucket is listed for files stored without the
	// API (0: never); ReprocessDoneWait how long a job keeps counting its
	// reprocessed crashes after the last send.
	ReprocessRate     float64
	ReprocessScan     time.Duration
	ReprocessDoneWait time.Duration
	// SymbolURLs are the HTTP symbol servers the processor reads
	// (its -symbols.url); every ProbePeriod (0: never) the webapp asks
	// them whether they now have the symbols crashes missed, and starts
	// a reprocess job for each file one has (reprocjobs.Prober). A
	// server lacking a module is asked again after ProbeRecheck; a round
	// makes at most ProbeMax requests.
	SymbolURLs   runtime.StringList
	ProbePeriod  time.Duration
	ProbeRecheck time.Duration
	ProbeMax     int
	// RequestTimeout bounds each API request's backend work.
	RequestTimeout time.Duration
	// AuthFailuresPerMin is how many failed sign-ins and invalid Auth-Token
	// headers one client address may make per minute; past it the address
	// gets 429 before any token is looked at (no brute force, no load on
	// the token store).
	AuthFailuresPerMin int
	// BodyReadTimeout bounds reading one request body (forms, API POSTs);
	// UploadReadTimeout the symbol uploads'. IdleTimeout closes keep-alive
	// connections left idle; the header must arrive within
	// HeaderReadTimeout.
	BodyReadTimeout, UploadReadTimeout time.Duration
	IdleTimeout, HeaderReadTimeout     time.Duration
	// BugzillaURL is the Bugzilla the bug numbers link to and
	// BugzillaBugInfo asks (empty: bug numbers are plain text and
	// BugzillaBugInfo answers 503).
	BugzillaURL string
	// FileBugURLTemplate is the "file a bug" link of the signature and
	// report pages, with {product}, {signature} and {crash_url} replaced
	// (query-escaped); empty: no link.
	FileBugURLTemplate string
	// BugsRefresh is how often the association set the cron job writes is
	// read again; BugInfoTTL how long BugzillaBugInfo keeps a bug.
	BugsRefresh, BugInfoTTL time.Duration
	// MaxFormBytes caps a url-encoded form body (sign-in, reprocess, token
	// forms); past it the form reads as empty.
	MaxFormBytes int64
}

// RegisterFlags adds the webapp.* flags.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "webapp.addr", "127.0.0.1:8080", "Crash Stats listen address")
	fs.StringVar(&c.SecretKey, "webapp.secret-key", "", "key signing session cookies and CSRF tokens (>= 32 chars; required and identical on every replica; empty: random per process)")
	fs.StringVar(&c.PublicURL, "webapp.public-url", "", "externally visible base URL, e.g. https://crash-stats.example.com")
	fs.StringVar(&c.SourceURLTemplate, "webapp.source-url-template", "", "source link for a frame, with {file} and {line}, e.g. https://hg.example/file/{file}#l{line}")
	fs.Var(&c.TrustedProxies, "webapp.trusted-proxies", "comma-separated proxy CIDRs whose X-Forwarded-For gives the client address")
	fs.IntVar(&c.SearchPerMinAnon, "webapp.ratelimit.search-anonymous", 10, "Super Search requests per minute per anonymous client address")
	fs.IntVar(&c.SearchPerMinAuth, "webapp.ratelimit.search-token", 100, "Super Search requests per minute per token")
	fs.IntVar(&c.APIPerMinAnon, "webapp.ratelimit.api-anonymous", 100, "other API requests per minute per anonymous client address")
	fs.IntVar(&c.APIPerMinAuth, "webapp.ratelimit.api-token", 1000, "other API requests per minute per token")
	fs.IntVar(&c.PagesPerMinAnon, "webapp.ratelimit.pages-anonymous", 300, "HTML page views per minute per anonymous client address")
	fs.IntVar(&c.PagesPerMinAuth, "webapp.ratelimit.pages-token", 1200, "HTML page views per minute per signed-in user")
	fs.Var(&c.FeaturedProducts, "webapp.products.featured", "comma-separated products the home page lists (empty: every product with crashes)")
	fs.Var(&c.HiddenProducts, "webapp.products.hidden", "comma-separated products the home page never lists")
	fs.DurationVar(&c.SessionTTL, "webapp.session-ttl", 14*24*time.Hour, "lifetime of a signed-in UI session")
	d := symupload.DefaultLimits()
	fs.Int64Var(&c.Upload.MaxFileBytes, "webapp.symbols.max-file-bytes", d.MaxFileBytes, "largest uncompressed .sym file accepted")
	fs.Int64Var(&c.Upload.MaxTotalBytes, "webapp.symbols.max-total-bytes", d.MaxTotalBytes, "largest uncompressed total of one symbol upload")
	fs.IntVar(&c.Upload.MaxFiles, "webapp.symbols.max-files", d.MaxFiles, "most entries in one symbol archive")
	fs.Int64Var(&c.MaxUploadBytes, "webapp.symbols.max-upload-bytes", 512<<20, "largest symbol upload request body")
	fs.StringVar(&c.UploadDir, "webapp.symbols.spool-dir", "", "directory spooling symbol uploads (empty: system temp dir)")
	fs.IntVar(&c.RequeueDays, "webapp.symbols.requeue-days", 7, "a symbol file's reprocess job takes the crashes of the last N days that missed its module (0: no jobs)")
	fs.IntVar(&c.RequeueMax, "webapp.symbols.requeue-max", 10000, "most crashes of one reprocess job (newest first)")
	fs.Float64Var(&c.ReprocessRate, "webapp.symbols.reprocess-rate", 50, "crash ids per second one webapp replica sends to crash.reprocess.v1 for its reprocess jobs (a driver behind its pace catches up at most 5 s worth at once)")
	fs.DurationVar(&c.ReprocessScan, "webapp.symbols.scan-period", time.Minute, "how often the symbols bucket is listed for files stored without the API, each starting a reprocess job (0: never)")
	fs.Var(&c.SymbolURLs, "webapp.symbols.url", "HTTP symbol servers (Breakpad layout) the probe asks for the symbols crashes missed: the processor's -symbols.url list, comma-separated (crashstream all: -symbols.url when empty; none: no probe)")
	fs.DurationVar(&c.ProbePeriod, "webapp.symbols.probe-period", 5*time.Minute, "how often the symbol servers of -webapp.symbols.url are asked whether they now have the symbols of the modules crashes missed (the 200 most affected of the requeue window), each file found starting a reprocess job (0: never)")
	fs.DurationVar(&c.ProbeRecheck, "webapp.symbols.probe-recheck", 30*time.Minute, "how long a symbol server that lacked a module is not asked for it again")
	fs.IntVar(&c.ProbeMax, "webapp.symbols.probe-max", 100, "most symbol-server requests of one probe round (the modules left over wait for the next)")
	fs.DurationVar(&c.ReprocessDoneWait, "webapp.symbols.done-wait", time.Hour, "how long a reprocess job keeps counting its reprocessed crashes after its last send")
	fs.DurationVar(&c.RequestTimeout, "webapp.request-timeout", 60*time.Second, "bound on one request's backend work")
	fs.IntVar(&c.AuthFailuresPerMin, "webapp.ratelimit.auth-failures", 10, "failed sign-ins and invalid Auth-Tokens per minute per client address (429 after)")
	fs.DurationVar(&c.BodyReadTimeout, "webapp.body-read-timeout", 30*time.Second, "max time to read one request body (forms, API POSTs)")
	fs.DurationVar(&c.UploadReadTimeout, "webapp.upload-read-timeout", 15*time.Minute, "max time to read one symbol upload body")
	fs.DurationVar(&c.HeaderReadTimeout, "webapp.header-read-timeout", 10*time.Second, "max time to read a request's header")
	fs.DurationVar(&c.IdleTimeout, "webapp.idle-timeout", 2*time.Minute, "close keep-alive connections idle this long")
	fs.Int64Var(&c.MaxFormBytes, "webapp.max-form-bytes", 64<<10, "max bytes of a url-encoded form body")
	fs.StringVar(&c.BugzillaURL, "webapp.bugzilla.url", "", "Bugzilla base URL bug numbers link to and BugzillaBugInfo reads (empty: none)")
	fs.StringVar(&c.FileBugURLTemplate, "webapp.bugzilla.file-bug-url-template", "",
		"\"file a bug\" link with {product}, {signature} and {crash_url}, e.g. https://bugzilla.example/enter_bug.cgi?product={product}&short_desc=Crash+in+[@+{signature}]&cf_crash_signature=[@+{signature}]&comment={crash_url} (empty: no link)")
	fs.DurationVar(&c.BugsRefresh, "webapp.bugzilla.refresh", time.Minute, "how often the bug association set is read again")
	fs.DurationVar(&c.BugInfoTTL, "webapp.bugzilla.info-ttl", time.Hour, "how long BugzillaBugInfo keeps a bug's status and summary")
}

// Validate checks the configuration, naming the bad flag.
func (c Config) Validate() error {
	var errs []error
	if err := runtime.ValidateHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("-webapp.addr: %w", err))
	}
	if c.SecretKey != "" && len(c.SecretKey) < 32 {
		errs = append(errs, errors.New("-webapp.secret-key: must be at least 32 characters"))
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("-webapp.public-url: want an http(s) URL, got %q", c.PublicURL))
		}
	}
	if c.SourceURLTemplate != "" && !strings.Contains(c.SourceURLTemplate, "{file}") {
		errs = append(errs, errors.New("-webapp.source-url-template: must contain {file}"))
	}
	for name, v := range map[string]int{
		"-webapp.ratelimit.search-anonymous": c.SearchPerMinAnon, "-webapp.ratelimit.search-token": c.SearchPerMinAuth,
		"-webapp.ratelimit.api-anonymous": c.APIPerMinAnon, "-webapp.ratelimit.api-token": c.APIPerMinAuth,
		"-webapp.ratelimit.pages-anonymous": c.PagesPerMinAnon, "-webapp.ratelimit.pages-token": c.PagesPerMinAuth,
	} {
		if v < 1 || v > 1_000_000 {
			errs = append(errs, fmt.Errorf("%s: want 1..1000000 per minute, got %d", name, v))
		}
	}
	for _, p := range append(append([]string{}, c.FeaturedProducts...), c.HiddenProducts...) {
		if len(p) > 256 {
			errs = append(errs, errors.New("-webapp.products.featured / hidden: a product name is at most 256 bytes"))
			break
		}
	}
	if c.SessionTTL < time.Minute {
		errs = append(errs, errors.New("-webapp.session-ttl: must be at least 1m"))
	}
	if c.Upload.MaxFileBytes < 1 || c.Upload.MaxTotalBytes < c.Upload.MaxFileBytes {
		errs = append(errs, errors.New("-webapp.symbols.max-file-bytes / max-total-bytes: want 1 <= file <= total"))
	}
	if c.Upload.MaxFiles < 1 {
		errs = append(errs, errors.New("-webapp.symbols.max-files: must be positive"))
	}
	if c.MaxUploadBytes < 1 {
		errs = append(errs, errors.New("-webapp.symbols.max-upload-bytes: must be positive"))
	}
	if c.RequeueDays < 0 || c.RequeueDays > 365 {
		errs = append(errs, errors.New("-webapp.symbols.requeue-days: want 0..365"))
	}
	if c.RequeueMax < 0 || c.RequeueMax > 10000 {
		errs = append(errs, errors.New("-webapp.symbols.requeue-max: want 0..10000"))
	}
	if c.ReprocessRate <= 0 || c.ReprocessRate > 100000 {
		errs = append(errs, errors.New("-webapp.symbols.reprocess-rate: want more than 0, at most 100000"))
	}
	if c.ReprocessScan < 0 || c.ReprocessDoneWait < time.Second {
		errs = append(errs, errors.New("-webapp.symbols.scan-period / done-wait: want scan >= 0 and done-wait >= 1s"))
	}
	for _, u := range c.SymbolURLs {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			errs = append(errs, fmt.Errorf("-webapp.symbols.url: %q is not an http(s) URL", u))
		}
	}
	if c.ProbePeriod < 0 || c.ProbeRecheck < time.Second || c.ProbeMax < 1 || c.ProbeMax > 10000 {
		errs = append(errs, errors.New("-webapp.symbols.probe-period / probe-recheck / probe-max: want period >= 0, recheck >= 1s, max 1..10000"))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, errors.New("-webapp.request-timeout: must be positive"))
	}
	if c.AuthFailuresPerMin < 1 || c.AuthFailuresPerMin > 1_000_000 {
		errs = append(errs, fmt.Errorf("-webapp.ratelimit.auth-failures: want 1..1000000 per minute, got %d", c.AuthFailuresPerMin))
	}
	for name, d := range map[string]time.Duration{
		"-webapp.body-read-timeout": c.BodyReadTimeout, "-webapp.upload-read-timeout": c.UploadReadTimeout,
		"-webapp.header-read-timeout": c.HeaderReadTimeout, "-webapp.idle-timeout": c.IdleTimeout,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive", name))
		}
	}
	if c.BugzillaURL != "" {
		u, err := url.Parse(c.BugzillaURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("-webapp.bugzilla.url: want an http(s) URL, got %q", c.BugzillaURL))
		}
	}
	if c.FileBugURLTemplate != "" && !strings.Contains(c.FileBugURLTemplate, "{signature}") {
		errs = append(errs, errors.New("-webapp.bugzilla.file-bug-url-template: must contain {signature}"))
	}
	if c.BugsRefresh <= 0 || c.BugInfoTTL <= 0 {
		errs = append(errs, errors.New("-webapp.bugzilla.refresh / info-ttl: must be positive"))
	}
	if c.MaxFormBytes < 1<<10 || c.MaxFormBytes > 16<<20 {
		errs = append(errs, fmt.Errorf("-webapp.max-form-bytes: want 1 KiB..16 MiB, got %d", c.MaxFormBytes))
	}
	return errors.Join(errs...)
}

// DefaultConfig is the configuration with every flag at its default, for
// tests and embedding.
func DefaultConfig() Config {
	var c Config
	fs := flag.NewFlagSet("webapp", flag.ContinueOnError)
	c.RegisterFlags(fs)
	return c
}
