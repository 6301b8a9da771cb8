package collector

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeRules(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

// TestMozillaRules runs the shipped example file against the cases of
// Antenna's throttler tests (facts: reference/socorro.md §2.3).
func TestMozillaRules(t *testing.T) {
	specs, err := LoadRules("rules/mozilla.yaml")
	require.NoError(t, err)
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	winOld := `{"system":{"os":{"name":"Windows_NT","windowsBuildNumber":9600}}}`
	winNew := `{"system":{"os":{"name":"Windows_NT","windowsBuildNumber":19045}}}`
	tests := []struct {
		name   string
		ann    map[string]string
		random float64 // random()*100 is compared to the percentage
		want   Decision
	}{
		{"old build id", map[string]string{"ProductName": "Firefox", "BuildID": "20201101000000"}, 0, Decision{Reject, "has_old_buildid", 100}},
		{"recent build id", map[string]string{"ProductName": "Firefox", "BuildID": "20261101000000", "ReleaseChannel": "beta"}, 0, Decision{Accept, "is_alpha_beta_esr", 100}},
		{"hang, browser by default", map[string]string{"ProductName": "Firefox", "HangID": "x"}, 0, Decision{Reject, "has_hangid_and_browser", 100}},
		{"hang, browser", map[string]string{"ProductName": "Firefox", "HangID": "x", "ProcessType": "browser"}, 0, Decision{Reject, "has_hangid_and_browser", 100}},
		{"hang, content", map[string]string{"ProductName": "Firefox", "HangID": "x", "ProcessType": "content", "ReleaseChannel": "nightly"}, 0, Decision{Accept, "is_nightly", 100}},
		{"infobar", map[string]string{"ProductName": "Firefox", "SubmittedFromInfobar": "true", "Version": "52.0.1", "BuildID": "20171001000000"}, 0, Decision{Reject, "has_old_buildid", 100}},
		{"b2g", map[string]string{"ProductName": "b2g"}, 0, Decision{FakeAccept, "b2g", 100}},
		{"unsupported product", map[string]string{"ProductName": "Seamonkey"}, 0, Decision{Reject, "unsupported_product", 100}},
		{"no product", map[string]string{"Version": "1"}, 0, Decision{Reject, "unsupported_product", 100}},
		{"fenix bad package", map[string]string{"ProductName": "Fenix", "Android_PackageName": "org.example"}, 0, Decision{Reject, "unsupported_packagename", 100}},
		{"fenix no package", map[string]string{"ProductName": "Fenix"}, 0, Decision{Reject, "unsupported_packagename", 100}},
		{"fenix good package", map[string]string{"ProductName": "Fenix", "Android_PackageName": "org.mozilla.firefox", "ReleaseChannel": "release"}, 0, Decision{Accept, "accept_everything", 100}},
		{"throttleable 0", map[string]string{"ProductName": "Firefox", "Throttleable": "0", "ReleaseChannel": "release"}, 0.99, Decision{Accept, "throttleable_0", 100}},
		{"comments", map[string]string{"ProductName": "Firefox", "Comments": "it broke", "ReleaseChannel": "release"}, 0.99, Decision{Accept, "has_comments", 100}},
		{"phc", map[string]string{"ProductName": "Firefox", "PHCKind": "FreedPage"}, 0.99, Decision{Accept, "has_phc", 100}},
		{"gpu", map[string]string{"ProductName": "Firefox", "ProcessType": "gpu", "ReleaseChannel": "release"}, 0.99, Decision{Accept, "is_background", 100}},
		{"shutdownkill rejected 90%", map[string]string{"ProductName": "Firefox", "ipc_channel_error": "ShutDownKill"}, 0.9, Decision{Reject, "is_shutdownkill", 10}},
		{"shutdownkill continues 10%", map[string]string{"ProductName": "Firefox", "ipc_channel_error": "ShutDownKill"}, 0.09, Decision{Accept, "accept_everything", 100}},
		{"esr old windows rejected", map[string]string{"ProductName": "Firefox", "ReleaseChannel": "esr", "TelemetryEnvironment": winOld}, 0.30, Decision{Reject, "is_firefox_esr_unsupported_windows", 25}},
		{"esr old windows continues", map[string]string{"ProductName": "Firefox", "ReleaseChannel": "esr", "TelemetryEnvironment": winOld}, 0.20, Decision{Accept, "is_alpha_beta_esr", 100}},
		{"esr new windows", map[string]string{"ProductName": "Firefox", "ReleaseChannel": "esr", "TelemetryEnvironment": winNew}, 0.99, Decision{Accept, "is_alpha_beta_esr", 100}},
		{"esr broken telemetry", map[string]string{"ProductName": "Firefox", "ReleaseChannel": "esr", "TelemetryEnvironment": "{"}, 0.99, Decision{Accept, "is_alpha_beta_esr", 100}},
		{"nightly", map[string]string{"ProductName": "Firefox", "ReleaseChannel": "nightly-try"}, 0.99, Decision{Accept, "is_nightly", 100}},
		{"release sampled in (<=)", map[string]string{"ProductName": "Firefox", "ReleaseChannel": "release"}, 0.10, Decision{Accept, "is_firefox_desktop", 10}},
		{"release sampled out", map[string]string{"ProductName": "Firefox", "ReleaseChannel": "release"}, 0.11, Decision{Reject, "is_firefox_desktop", 10}},
		{"thunderbird release", map[string]string{"ProductName": "Thunderbird", "ReleaseChannel": "release"}, 0.99, Decision{Accept, "accept_everything", 100}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			th, err := NewThrottler(specs, func() float64 { return tt.random }, func() time.Time { return now })
			require.NoError(t, err)
			assert.Equal(t, tt.want, th.Throttle(tt.ann))
		})
	}
}

func TestAcceptAllDefault(t *testing.T) {
	th, err := NewThrottler(AcceptAll(), nil, nil)
	require.NoError(t, err)
	assert.Equal(t, Decision{Accept, "accept_everything", 100}, th.Throttle(map[string]string{}))
}

func TestRulesFileFormats(t *testing.T) {
	yamlPath := writeRules(t, "r.yaml", "rules:\n  - name: keep\n    key: ProductName\n    when: {in: [A, B]}\n    result: accept\n")
	jsonPath := writeRules(t, "r.json", `{"rules":[{"name":"keep","key":"ProductName","when":{"in":["A","B"]},"result":"accept"}]}`)
	for _, p := range []string{yamlPath, jsonPath} {
		specs, err := LoadRules(p)
		require.NoError(t, err, p)
		th, err := NewThrottler(specs, nil, nil)
		require.NoError(t, err)
		assert.Equal(t, Accept, th.Throttle(map[string]string{"ProductName": "B"}).Result)
		assert.Equal(t, Decision{Reject, "NO_MATCH", 0}, th.Throttle(map[string]string{"ProductName": "C"}))
		assert.Equal(t, Decision{Reject, "NO_MATCH", 0}, th.Throttle(map[string]string{}), "a keyed rule needs its key")
	}
}

func TestRulesFileErrors(t *testing.T) {
	tests := []struct {
		name, file, text, want string
	}{
		{"unknown field", "r.yaml", "rules:\n  - {name: a, key: '*', result: accept, percent: 5}\n", "percent"},
		{"unknown field json", "r.json", `{"rules":[{"name":"a","key":"*","result":"accept","wehn":{}}]}`, "wehn"},
		{"bad result", "r.yaml", "rules:\n  - {name: a, key: '*', result: maybe}\n", "maybe"},
		{"bad name", "r.yaml", "rules:\n  - {name: 'a b', key: '*', result: accept}\n", "name"},
		{"duplicate", "r.yaml", "rules:\n  - {name: a, key: '*', result: accept}\n  - {name: a, key: '*', result: accept}\n", "duplicate"},
		{"no key", "r.yaml", "rules:\n  - {name: a, result: accept}\n", "key"},
		{"star needs keyed conditions", "r.yaml", "rules:\n  - {name: a, key: '*', when: {equals: x}, result: accept}\n", "must name its key"},
		{"bad regex", "r.yaml", "rules:\n  - {name: a, key: X, when: {regex: '('}, result: accept}\n", "regex"},
		{"percentage range", "r.yaml", "rules:\n  - {name: a, key: X, percentage: 101, result: accept, otherwise: reject}\n", "percentage"},
		{"otherwise alone", "r.yaml", "rules:\n  - {name: a, key: X, result: accept, otherwise: reject}\n", "otherwise"},
		{"bare continue", "r.yaml", "rules:\n  - {name: a, key: X, result: continue}\n", "continue"},
		{"empty", "r.yaml", "rules: []\n", "no rules"},
		{"not yaml", "r.yaml", "rules: [\n", "yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadRules(writeRules(t, tt.file, tt.text))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestNewCrashID(t *testing.T) {
	day := time.Date(2016, 9, 18, 23, 0, 0, 0, time.FixedZone("x", -3600*5)) // 2016-09-19 UTC
	id, err := NewCrashID(bytes.NewReader(bytes.Repeat([]byte{0xde}, 16)), day, Defer)
	require.NoError(t, err)
	assert.Equal(t, "dededede-dede-4ede-9ede-deded1160919", id)
	assert.True(t, strings.HasSuffix(id, "1160919"), "throttle digit then UTC yymmdd")

	a, err := newCrashID(day, Accept)
	require.NoError(t, err)
	b, err := newCrashID(day, Accept)
	require.NoError(t, err)
	assert.NotEqual(t, a, b)
	assert.Regexp(t, `^[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[89ab][a-f0-9]{3}-[a-f0-9]{5}0160919$`, a)

	_, err = NewCrashID(bytes.NewReader(nil), day, Accept)
	assert.Error(t, err)
	_, err = NewCrashID(bytes.NewReader(make([]byte, 16)), day, Continue)
	assert.Error(t, err)
}
