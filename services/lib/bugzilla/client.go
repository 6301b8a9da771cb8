package bugzilla

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Bug is a bug as the REST API's /rest/bug answers it, with the fields
// crashstream asks for.
type Bug struct {
	ID             int64  `json:"id"`
	CrashSignature string `json:"cf_crash_signature,omitempty"`
	Status         string `json:"status"`
	Resolution     string `json:"resolution"`
	Summary        string `json:"summary"`
}

// Open reports whether the bug is unresolved (Bugzilla leaves an open
// bug's resolution empty).
func (b Bug) Open() bool { return b.Resolution == "" }

// Config is how to reach a Bugzilla.
type Config struct {
	// URL is the Bugzilla's base URL (the REST API is under URL/rest/).
	URL string
	// APIKey, when set, is sent as X-BUGZILLA-API-KEY (private bugs, and
	// higher rate limits on public instances).
	APIKey string
	// Products limits the bugs read to these products (all when empty).
	Products []string
	// PageSize is the limit of one search request.
	PageSize int
	// Timeout bounds one request; Attempts is how many times a request is
	// tried (network errors, timeouts, 429 and 5xx are retried), Backoff
	// the first wait between tries (doubled each time).
	Timeout  time.Duration
	Attempts int
	Backoff  time.Duration
}

// DefaultConfig has the limits used when a field is zero.
func DefaultConfig() Config {
	return Config{PageSize: 500, Timeout: 30 * time.Second, Attempts: 4, Backoff: time.Second}
}

// Client reads bugs from a Bugzilla 5 REST API.
type Client struct {
	cfg  Config
	base *url.URL
	http *http.Client
}

// maxPage bounds one response body; maxPages one search.
const (
	maxPage  = 64 << 20
	maxPages = 10000
)

// NewClient checks cfg and returns a client.
func NewClient(cfg Config) (*Client, error) {
	d := DefaultConfig()
	if cfg.PageSize <= 0 {
		cfg.PageSize = d.PageSize
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = d.Timeout
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = d.Attempts
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = d.Backoff
	}
	u, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("bugzilla: want an http(s) base URL, got %q", cfg.URL)
	}
	return &Client{cfg: cfg, base: u, http: &http.Client{Timeout: cfg.Timeout}}, nil
}

// URL is the Bugzilla's base URL.
func (c *Client) URL() string { return c.base.String() }

// searchFields are the include_fields of the association search.
const searchFields = "id,cf_crash_signature,status,resolution,summary"

// ChangedSince returns every bug (of the configured products) changed at
// or after since; with a zero since, every bug whose cf_crash_signature is
// not empty (the first import). It reads page by page (limit/offset, ordered by id so a bug
// changing during the read keeps its place). It returns all the bugs or
// an error: a page that fails after its retries fails the whole read.
func (c *Client) ChangedSince(ctx context.Context, since time.Time) ([]Bug, error) {
	byID := map[int64]int{}
	var out []Bug
	for page := 0; page < maxPages; page++ {
		q := url.Values{
			"include_fields": {searchFields},
			"order":          {"bug_id"},
			"limit":          {strconv.Itoa(c.cfg.PageSize)},
			"offset":         {strconv.Itoa(page * c.cfg.PageSize)},
		}
		if since.IsZero() {
			q["f1"], q["o1"] = []string{"cf_crash_signature"}, []string{"isnotempty"}
		} else {
			q.Set("last_change_time", since.UTC().Format(time.RFC3339))
		}
		if len(c.cfg.Products) > 0 {
			q["product"] = c.cfg.Products
		}
		res, err := c.get(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("bugzilla: search page %d: %w", page, err)
		}
		for _, b := range res.Bugs {
			if i, ok := byID[b.ID]; ok {
				out[i] = b
				continue
			}
			byID[b.ID] = len(out)
			out = append(out, b)
		}
		read := page*c.cfg.PageSize + len(res.Bugs)
		if len(res.Bugs) == 0 || (res.TotalMatches != nil && read >= *res.TotalMatches) {
			return out, nil
		}
	}
	return nil, fmt.Errorf("bugzilla: search: more than %d pages", maxPages)
}

// MaxInfoBugs bounds one Bugs call.
const MaxInfoBugs = 500

// Bugs returns the status, resolution and summary of the given bugs (the
// ones Bugzilla knows and shows the caller).
func (c *Client) Bugs(ctx context.Context, ids []int64) ([]Bug, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if len(ids) > MaxInfoBugs {
		return nil, fmt.Errorf("bugzilla: at most %d bugs per call", MaxInfoBugs)
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	res, err := c.get(ctx, url.Values{"id": {strings.Join(s, ",")}, "include_fields": {"id,status,resolution,summary"}})
	if err != nil {
		return nil, fmt.Errorf("bugzilla: bug info: %w", err)
	}
	return res.Bugs, nil
}

// searchResult is /rest/bug's answer. Bugzilla 5.0 answers only bugs;
// later versions add total_matches when a limit is given.
type searchResult struct {
	Bugs         []Bug `json:"bugs"`
	TotalMatches *int  `json:"total_matches"`
	// Error, Message and Code are Bugzilla's error answer.
	Error   bool   `json:"error"`
	Message string `json:"message"`
	Code    int    `json:"code"`
}

// errPermanent marks an answer retrying cannot change.
var errPermanent = errors.New("permanent")

// get calls /rest/bug with q, retrying transient failures.
func (c *Client) get(ctx context.Context, q url.Values) (*searchResult, error) {
	wait := c.cfg.Backoff
	var err error
	for attempt := 1; ; attempt++ {
		var res *searchResult
		res, err = c.getOnce(ctx, q)
		if err == nil {
			return res, nil
		}
		if errors.Is(err, errPermanent) || ctx.Err() != nil || attempt >= c.cfg.Attempts {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait *= 2
	}
	return nil, err
}

func (c *Client) getOnce(ctx context.Context, q url.Values) (*searchResult, error) {
	u := *c.base
	u.Path += "/rest/bug"
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errPermanent, err)
	}
	req.Header.Set("Accept", "application/json")
	if c.cfg.APIKey != "" {
		req.Header.Set("X-BUGZILLA-API-KEY", c.cfg.APIKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err // network error or timeout: retried
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPage+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxPage {
		return nil, fmt.Errorf("%w: answer larger than %d bytes", errPermanent, maxPage)
	}
	var res searchResult
	jsonErr := json.Unmarshal(body, &res)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return nil, fmt.Errorf("HTTP %d%s", resp.StatusCode, message(res))
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: HTTP %d%s", errPermanent, resp.StatusCode, message(res))
	case jsonErr != nil:
		return nil, fmt.Errorf("answer is not Bugzilla's JSON: %v", jsonErr) // a proxy's page: retried
	case res.Error:
		return nil, fmt.Errorf("%w: error %d: %s", errPermanent, res.Code, res.Message)
	}
	return &res, nil
}

func message(r searchResult) string {
	if r.Message == "" {
		return ""
	}
	return ": " + r.Message
}
