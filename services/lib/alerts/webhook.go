package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/crashstream/crashstream/streams/backoff"
)

// NotifierConfig tunes deliveries.
type NotifierConfig struct {
	// Timeout bounds one POST (connect to last byte of the answer).
	Timeout time.Duration
	// Retry is the wait between attempts and their bound (MaxAttempts or
	// MaxElapsed should be set: a webhook that never answers must not
	// hold a cron run for ever).
	Retry backoff.Policy
	// Parallel bounds the deliveries in flight.
	Parallel int
	// PublicURL is the webapp's base URL (https://crash-stats.example.com):
	// messages link to the signature report under it. Empty: no links.
	PublicURL string
}

// DefaultNotifierConfig is what the flags default to.
func DefaultNotifierConfig() NotifierConfig {
	return NotifierConfig{Timeout: 10 * time.Second, Parallel: 8,
		Retry: backoff.Policy{Initial: time.Second, Max: 30 * time.Second, Jitter: 0.5, MaxAttempts: 5}}
}

// Validate checks the settings; errors name the fields.
func (c NotifierConfig) Validate() error {
	var errs []error
	if c.Timeout <= 0 {
		errs = append(errs, errors.New("timeout: must be positive"))
	}
	if c.Parallel < 1 {
		errs = append(errs, errors.New("parallel: must be at least 1"))
	}
	if err := c.Retry.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Retry.MaxAttempts == 0 && c.Retry.MaxElapsed == 0 {
		errs = append(errs, errors.New("attempts: a bound is required"))
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, errors.New("public-url: want an http(s) URL"))
		}
	}
	return errors.Join(errs...)
}

// leaseTTL is how long an evaluator holds a firing's deliveries: twice the
// longest a delivery can take (every attempt timing out after the longest
// wait), and at least 10 minutes, so that a live holder is never taken
// over.
func (n *Notifier) leaseTTL() time.Duration {
	attempts := max(n.cfg.Retry.MaxAttempts, 1)
	worst := time.Duration(attempts) * (n.cfg.Timeout + n.cfg.Retry.Max)
	if n.cfg.Retry.MaxElapsed > 0 {
		worst = min(worst, n.cfg.Retry.MaxElapsed+n.cfg.Timeout)
	}
	return max(2*worst, 10*time.Minute)
}

// Notifier posts firings to webhooks.
type Notifier struct {
	cfg  NotifierConfig
	http *http.Client
}

// NewNotifier checks cfg and returns a notifier.
func NewNotifier(cfg NotifierConfig) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Notifier{cfg: cfg, http: &http.Client{Timeout: cfg.Timeout}}, nil
}

// errPermanent marks an answer a retry cannot change (a 4xx other than
// 408 and 429: the URL or the body is wrong): the delivery is rejected.
var errPermanent = errors.New("permanent")

// DeliverAll makes every outstanding delivery of the firings (the
// Deliveries the evaluator listed), at most cfg.Parallel at once, each
// retried on its own, and fills in each one's outcome; Attempts adds up
// over the runs that tried it.
func (n *Notifier) DeliverAll(ctx context.Context, rs *Rules, fs []*Firing) {
	hooks := map[string]Webhook{}
	for _, h := range rs.Webhooks {
		hooks[h.Name] = h
	}
	sem := make(chan struct{}, n.cfg.Parallel)
	var wg sync.WaitGroup
	for _, f := range fs {
		for i := range f.Deliveries {
			d := &f.Deliveries[i]
			if !d.outstanding() {
				continue
			}
			h, ok := hooks[d.Webhook]
			if !ok {
				d.Status, d.Error = StatusRejected, "no such webhook (the rules file no longer names it)"
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				n.deliver(ctx, h, *f, d)
			}()
		}
	}
	wg.Wait()
}

// deliver posts f to h with retries and records the outcome in d.
func (n *Notifier) deliver(ctx context.Context, h Webhook, f Firing, d *Delivery) {
	body, err := n.Body(h.Format, f)
	if err != nil {
		d.Status, d.Error = StatusFailed, err.Error()
		return
	}
	err = n.cfg.Retry.Retry(ctx, func(int) error {
		d.Attempts++
		return n.post(ctx, h.URL, body)
	}, func(err error) bool { return !errors.Is(err, errPermanent) }, nil)
	d.At = time.Now().UTC()
	switch {
	case errors.Is(err, errPermanent):
		d.Status, d.Error = StatusRejected, err.Error()
		return
	case err != nil:
		d.Status, d.Error = StatusFailed, err.Error()
		return
	}
	d.Status, d.Error = StatusDelivered, ""
}

func (n *Notifier) post(ctx context.Context, target string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", errPermanent, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "crashstream-alerts")
	resp, err := n.http.Do(req)
	if err != nil {
		// The URL is a credential: report the error without it.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	default:
		return fmt.Errorf("%w: HTTP %d", errPermanent, resp.StatusCode)
	}
}

// SignatureURL is the signature report of a firing's signature (the
// product's top crashers for a volume firing); "" without a public URL.
func SignatureURL(base string, f Firing) string {
	if base == "" {
		return ""
	}
	q := url.Values{"product": {f.Product}}
	if f.Version != "" {
		q.Set("version", f.Version)
	}
	if f.Signature == "" {
		return base + "/topcrashers/?" + q.Encode()
	}
	q.Set("signature", f.Signature)
	return base + "/signature/?" + q.Encode()
}

// Summary is a firing in one line of plain text.
func (f Firing) Summary() string {
	scope := f.Product
	if f.Version != "" {
		scope += " " + f.Version
	}
	w := f.Window.String()
	sig := truncate(f.Signature, 500)
	switch f.Kind {
	case NewInTop:
		return fmt.Sprintf("New in the top %d of %s: %s (rank %d, %s in the last %s; %d in the %s before)",
			f.Top, scope, sig, f.Rank, crashes(f.Current), w, f.Previous, w)
	case SignatureSpike:
		return fmt.Sprintf("Signature spike in %s: %s (%s in the last %s, %sthe %d of the %s before)",
			scope, sig, crashes(f.Current), w, times(f.Current, f.Previous), f.Previous, w)
	default:
		return fmt.Sprintf("Crash volume spike in %s: %s in the last %s, %sthe %d of the %s before",
			scope, crashes(f.Current), w, times(f.Current, f.Previous), f.Previous, w)
	}
}

// times is "12.5× " (current over previous), "" when previous is 0.
func times(cur, prev int64) string {
	r := ratio(cur, prev)
	if math.IsInf(r, 1) {
		return ""
	}
	return fmt.Sprintf("%.1f× ", r)
}

// Body is the request body for a webhook format: the firing as JSON
// (generic), or a Slack incoming-webhook message: "text" (the
// notification's fallback) and "blocks" with one mrkdwn section linking
// the signature report.
func (n *Notifier) Body(format string, f Firing) ([]byte, error) {
	link := SignatureURL(n.cfg.PublicURL, f)
	switch format {
	case FormatJSON, "":
		type generic struct {
			Firing
			Summary string `json:"summary"`
			URL     string `json:"url,omitempty"`
		}
		f.Deliveries, f.Holder, f.LeaseUntil = nil, "", time.Time{} // the record's bookkeeping, not the alert
		return json.Marshal(generic{Firing: f, Summary: f.Summary(), URL: link})
	case FormatSlack:
		text := f.Summary()
		md := "*" + slackEscape(f.Rule) + "*: " + slackEscape(text)
		if link != "" {
			label := f.Signature
			if label == "" {
				label = "top crashers"
			}
			md += "\n<" + slackEscape(link) + "|" + slackEscape(truncate(label, 150)) + ">"
		}
		msg := map[string]any{
			"text": truncate(text, 3000),
			"blocks": []any{map[string]any{
				"type": "section",
				"text": map[string]any{"type": "mrkdwn", "text": truncate(md, 3000)},
			}},
		}
		return json.Marshal(msg)
	default:
		return nil, fmt.Errorf("unknown webhook format %q", format)
	}
}

// slackEscape escapes what Slack's mrkdwn reads as markup (&, <, >), so a
// signature cannot mention @channel or forge a link.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// truncate cuts s to at most n bytes on a rune boundary, with an ellipsis.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
