package alerts

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExampleRules(t *testing.T) {
	rs, err := Load("testdata/rules.yaml")
	require.NoError(t, err)
	require.Len(t, rs.Rules, 3)
	assert.Equal(t, Rule{Name: "firefox-new-top10", Kind: NewInTop, Product: "Firefox", Version: "130.0", Window: Duration(time.Hour),
		Top: 10, Min: 5, Cooldown: Duration(24 * time.Hour), Webhooks: []string{"releng-slack"}}, rs.Rules[0])
	assert.Equal(t, []Webhook{rs.Webhooks[0]}, rs.hooksOf(rs.Rules[0]))
	assert.Len(t, rs.hooksOf(rs.Rules[1]), 2, "no list: every webhook")
	assert.Equal(t, 10.0, rs.Rules[1].Factor)
}

// TestRuleErrors: each mistake gets an error naming the rule and the key.
func TestRuleErrors(t *testing.T) {
	const hook = "webhooks:\n  - {name: h, url: 'http://127.0.0.1:1/x'}\n"
	for _, tc := range []struct{ name, doc, want string }{
		{"unknown kind", "rules:\n  - {name: a, kind: crash_storm, product: P, window: 1h, cooldown: 1h}", `rules[0] "a": kind: unknown "crash_storm"`},
		{"no kind", "rules:\n  - {name: a, product: P, window: 1h, cooldown: 1h, top: 3}", `kind: required`},
		{"missing top", "rules:\n  - {name: a, kind: new_in_top, product: P, window: 1h, cooldown: 1h}", `top: new_in_top needs top`},
		{"missing factor", "rules:\n  - {name: a, kind: signature_spike, product: P, window: 1h, cooldown: 1h, min: 5}", `factor: signature_spike needs a factor`},
		{"missing min", "rules:\n  - {name: a, kind: volume_spike, product: P, window: 1h, cooldown: 1h, factor: 2}", `min: volume_spike needs a minimum`},
		{"missing window", "rules:\n  - {name: a, kind: new_in_top, product: P, top: 3, cooldown: 1h}", `window: required`},
		{"bare number window", "rules:\n  - {name: a, kind: new_in_top, product: P, top: 3, window: 3600, cooldown: 1h}", `want a duration such as 30m or 6h, got "3600"`},
		{"bad window", "rules:\n  - {name: a, kind: new_in_top, product: P, top: 3, window: 1 hour, cooldown: 1h}", `got "1 hour"`},
		{"short window", "rules:\n  - {name: a, kind: new_in_top, product: P, top: 3, window: 1m, cooldown: 1h}", `window: want 5m0s to 672h0m0s, got 1m0s`},
		{"seconds window", "rules:\n  - {name: a, kind: new_in_top, product: P, top: 3, window: 10m30s, cooldown: 1h}", `window: want whole minutes`},
		{"partial days", "rules:\n  - {name: a, kind: new_in_top, product: P, top: 3, window: 36h, cooldown: 1h}", `must be whole days`},
		{"no cooldown", "rules:\n  - {name: a, kind: new_in_top, product: P, top: 3, window: 1h}", `cooldown: required`},
		{"no product", "rules:\n  - {name: a, kind: new_in_top, top: 3, window: 1h, cooldown: 1h}", `product: required`},
		{"misspelt key", "rules:\n  - {name: a, kind: new_in_top, product: P, top: 3, window: 1h, cooldwon: 1h}", `field cooldwon not found`},
		{"duplicate name", hook + "rules:\n  - {name: a, kind: new_in_top, product: P, top: 3, window: 1h, cooldown: 1h}\n  - {name: a, kind: new_in_top, product: P, top: 3, window: 1h, cooldown: 1h}", `rules[1] "a": name: used twice`},
		{"unknown webhook", hook + "rules:\n  - {name: a, kind: new_in_top, product: P, top: 3, window: 1h, cooldown: 1h, webhooks: [nope]}", `no webhook named "nope"`},
		{"bad url", "webhooks:\n  - {name: h, url: 'ftp://x/y'}", `webhooks[0] "h": url: want an http(s) URL`},
		{"bad format", "webhooks:\n  - {name: h, url: 'https://x/y', format: teams}", `format: want json or slack`},
		{"not yaml", "rules: [", `did not find expected`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, err := Parse([]byte("rules:\n  - {name: a, kind: nope, window: 1s}"))
	require.Error(t, err)
	for _, want := range []string{"kind: unknown", "product: required", "window: want", "cooldown: required"} {
		assert.Contains(t, err.Error(), want, "every problem is listed")
	}
	_, err = Load("testdata/absent.yaml")
	assert.ErrorContains(t, err, "alert rules")
}

func TestWindows(t *testing.T) {
	at := time.Date(2026, 12, 5, 8, 35, 0, 0, time.UTC)
	p := Rule{Product: "P", Window: Duration(time.Hour)}.Windows(at)
	assert.Equal(t, []time.Time{at.Add(-2 * time.Hour), at.Add(-time.Hour), at}, []time.Time{p.Start, p.Mid, p.End})
	d := Rule{Product: "P", Window: Duration(48 * time.Hour)}.Windows(at)
	day := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, []time.Time{day.AddDate(0, 0, -4), day.AddDate(0, 0, -2), day}, []time.Time{d.Start, d.Mid, d.End}, "whole days: today so far is in the current window")
}

func TestDurationString(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Hour: "1h", 90 * time.Minute: "1h30m", 45 * time.Minute: "45m",
		24 * time.Hour: "1d", 28 * 24 * time.Hour: "28d", 36 * time.Hour: "36h"} {
		assert.Equal(t, want, Duration(d).String())
	}
	b, err := Duration(time.Hour).MarshalJSON()
	require.NoError(t, err)
	assert.Equal(t, `"1h0m0s"`, string(b), "the API keeps Go's form, which ParseDuration reads")
}
