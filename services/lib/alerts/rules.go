package alerts

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Kind is what a rule watches.
type Kind string

// The rule kinds.
const (
	// NewInTop fires for a signature in the top Top of the current window
	// that was not in the top Top of the previous one.
	NewInTop Kind = "new_in_top"
	// SignatureSpike fires for a signature whose current count is at
	// least Factor times its previous count and at least Min.
	SignatureSpike Kind = "signature_spike"
	// VolumeSpike fires when the product's (or version's) crash count is
	// at least Factor times the previous window's and at least Min.
	VolumeSpike Kind = "volume_spike"
)

// Formats of a webhook's body.
const (
	FormatJSON  = "json"
	FormatSlack = "slack"
)

// Webhook is where firings are posted. The URL is a secret (a Slack
// incoming webhook's URL is its credential): it is never shown.
type Webhook struct {
	Name   string `yaml:"name" json:"name"`
	URL    string `yaml:"url" json:"-"`
	Format string `yaml:"format" json:"format"`
}

// Rule is one alert rule. A rule compares two adjacent windows of length
// Window ending at the evaluation time; after a firing the same subject
// (the rule and, for signature rules, the signature) stays quiet for
// Cooldown.
type Rule struct {
	Name    string   `yaml:"name" json:"name"`
	Kind    Kind     `yaml:"kind" json:"kind"`
	Product string   `yaml:"product" json:"product"`
	Version string   `yaml:"version" json:"version,omitempty"`
	Window  Duration `yaml:"window" json:"window"`
	// Top is new_in_top's N.
	Top int `yaml:"top" json:"top,omitempty"`
	// Factor and Min are the spike kinds' thresholds: current >= Factor ×
	// previous and current >= Min. new_in_top takes Min too (a signature
	// needs that many crashes to count as entering the top).
	Factor   float64  `yaml:"factor" json:"factor,omitempty"`
	Min      int64    `yaml:"min" json:"min,omitempty"`
	Cooldown Duration `yaml:"cooldown" json:"cooldown"`
	// Webhooks names the webhooks to post to; empty means all.
	Webhooks []string `yaml:"webhooks" json:"webhooks,omitempty"`
}

// Rules is the rules file.
type Rules struct {
	Webhooks []Webhook `yaml:"webhooks" json:"webhooks"`
	Rules    []Rule    `yaml:"rules" json:"rules"`
}

// Duration is a time.Duration written as Go writes it ("90m", "1h").
type Duration time.Duration

// UnmarshalYAML reads "1h30m"; a bare number is refused (seconds or
// nanoseconds would be a guess).
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return fmt.Errorf("line %d: want a duration such as 30m or 6h, got %q", n.Line, n.Value)
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: want a duration such as 30m or 6h, got %q", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as "1h0m0s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' {
		return fmt.Errorf("duration: want a string, got %s", b)
	}
	v, err := time.ParseDuration(string(b[1 : len(b)-1]))
	*d = Duration(v)
	return err
}

// String is the duration for people: "28d", "1h", "1h30m", "45m".
func (d Duration) String() string {
	v := time.Duration(d)
	if v > 0 && v%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(v/(24*time.Hour)), 10) + "d"
	}
	s := v.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// D is the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Bounds of a rules file.
const (
	maxFile     = 1 << 20
	maxRules    = 500
	maxWebhooks = 50
	// MinWindow and MaxWindow bound a window: shorter windows would read
	// crashes still being processed as absent; two windows of MaxWindow
	// stay inside the aggregates' usual retention.
	MinWindow = 5 * time.Minute
	MaxWindow = 28 * 24 * time.Hour
	// MaxTop bounds new_in_top's N (top crashers shows at most 300).
	MaxTop = 300
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Load reads and validates a rules file.
func Load(path string) (*Rules, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("alert rules: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFile+1))
	if err != nil {
		return nil, fmt.Errorf("alert rules %s: %w", path, err)
	}
	rs, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("alert rules %s: %w", path, err)
	}
	return rs, nil
}

// Parse decodes and validates a rules document. Unknown keys are errors
// (a misspelt "cooldwon" must not silently mean no cooldown).
func Parse(b []byte) (*Rules, error) {
	if len(b) > maxFile {
		return nil, fmt.Errorf("larger than %d bytes", maxFile)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var rs Rules
	if err := dec.Decode(&rs); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if err := rs.Validate(); err != nil {
		return nil, err
	}
	return &rs, nil
}

// Validate checks every rule and webhook; the error lists every problem,
// each prefixed with the rule's or webhook's position and name.
func (rs *Rules) Validate() error {
	var errs []error
	if len(rs.Rules) > maxRules {
		errs = append(errs, fmt.Errorf("at most %d rules, got %d", maxRules, len(rs.Rules)))
	}
	if len(rs.Webhooks) > maxWebhooks {
		errs = append(errs, fmt.Errorf("at most %d webhooks, got %d", maxWebhooks, len(rs.Webhooks)))
	}
	hooks := map[string]bool{}
	for i := range rs.Webhooks {
		w := &rs.Webhooks[i]
		bad := func(format string, a ...any) {
			errs = append(errs, fmt.Errorf("webhooks[%d] %q: %s", i, w.Name, fmt.Sprintf(format, a...)))
		}
		if !nameRE.MatchString(w.Name) {
			bad("name: want 1-64 letters, digits, '_', '.' or '-'")
		} else if hooks[w.Name] {
			bad("name: used twice")
		}
		hooks[w.Name] = true
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("url: want an http(s) URL")
		}
		switch w.Format {
		case "":
			w.Format = FormatJSON
		case FormatJSON, FormatSlack:
		default:
			bad("format: want %s or %s, got %q", FormatJSON, FormatSlack, w.Format)
		}
	}
	names := map[string]bool{}
	for i := range rs.Rules {
		r := &rs.Rules[i]
		bad := func(format string, a ...any) {
			errs = append(errs, fmt.Errorf("rules[%d] %q: %s", i, r.Name, fmt.Sprintf(format, a...)))
		}
		if !nameRE.MatchString(r.Name) {
			bad("name: want 1-64 letters, digits, '_', '.' or '-'")
		} else if names[r.Name] {
			bad("name: used twice")
		}
		names[r.Name] = true
		if r.Product == "" || len(r.Product) > 256 {
			bad("product: required (at most 256 bytes)")
		}
		if len(r.Version) > 256 {
			bad("version: at most 256 bytes")
		}
		w := r.Window.D()
		switch {
		case w == 0:
			bad("window: required (a duration such as 1h)")
		case w < MinWindow || w > MaxWindow:
			bad("window: want %s to %s, got %s", MinWindow, MaxWindow, w)
		case w%time.Minute != 0:
			bad("window: want whole minutes, got %s", w)
		case w > 24*time.Hour && w%(24*time.Hour) != 0:
			bad("window: a window longer than a day must be whole days (the daily aggregates answer it), got %s", w)
		}
		if r.Cooldown <= 0 {
			bad("cooldown: required and positive (a duration such as 6h)")
		}
		switch r.Kind {
		case NewInTop:
			if r.Top < 1 || r.Top > MaxTop {
				bad("top: new_in_top needs top between 1 and %d, got %d", MaxTop, r.Top)
			}
			if r.Factor != 0 {
				bad("factor: new_in_top takes no factor")
			}
		case SignatureSpike, VolumeSpike:
			if r.Factor < 1 {
				bad("factor: %s needs a factor of at least 1, got %g", r.Kind, r.Factor)
			}
			if r.Min < 1 {
				bad("min: %s needs a minimum count of at least 1, got %d", r.Kind, r.Min)
			}
			if r.Top != 0 {
				bad("top: only new_in_top takes top")
			}
		case "":
			bad("kind: required (%s, %s or %s)", NewInTop, SignatureSpike, VolumeSpike)
		default:
			bad("kind: unknown %q (want %s, %s or %s)", r.Kind, NewInTop, SignatureSpike, VolumeSpike)
		}
		if r.Min < 0 {
			bad("min: must not be negative")
		}
		for _, h := range r.Webhooks {
			if !hooks[h] {
				bad("webhooks: no webhook named %q", h)
			}
		}
	}
	return errors.Join(errs...)
}

// hooksOf returns the webhooks a rule posts to.
func (rs *Rules) hooksOf(r Rule) []Webhook {
	if len(r.Webhooks) == 0 {
		return rs.Webhooks
	}
	var out []Webhook
	for _, w := range rs.Webhooks {
		for _, n := range r.Webhooks {
			if w.Name == n {
				out = append(out, w)
			}
		}
	}
	return out
}

// Threshold is the rule's threshold in words, for people.
func (r Rule) Threshold() string {
	switch r.Kind {
	case NewInTop:
		if r.Min > 1 {
			return fmt.Sprintf("enters the top %d (with at least %s)", r.Top, crashes(r.Min))
		}
		return fmt.Sprintf("enters the top %d", r.Top)
	default:
		return fmt.Sprintf("at least %g× the previous window and at least %s", r.Factor, crashes(r.Min))
	}
}

// crashes is "1 crash", "2 crashes".
func crashes(n int64) string {
	if n == 1 {
		return "1 crash"
	}
	return strconv.FormatInt(n, 10) + " crashes"
}
