package alerts_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

// TestAlertsThroughTheBinaries: `crashstream cron run alerts` with a rules
// file (-cron.alerts.rules) refuses a bad file with the rule named, and
// with a good one, run by two processes at once, delivers the spike once;
// the webapp's Alerts page and /api/Alerts/ then list the rule and the
// firing, linking the signature report, without the webhook's URL.
func TestAlertsThroughTheBinaries(t *testing.T) {
	in := stacktest.NewInstall(t, "alertsbin")
	ctx := context.Background()
	_, err := clickhouse.Migrate(ctx, in.Conn(t), in.Database)
	require.NoError(t, err)
	table, w := in.Writer(t, nil)
	at := time.Now().UTC().Truncate(5 * time.Minute)
	var rows []clickhouse.Row
	add := func(n int, from, to time.Time) {
		for i := range n {
			ts := from.Add(time.Duration(i) * to.Sub(from) / time.Duration(n))
			id := stacktest.CrashID(ts)
			row, err := table.Row(&schemas.ProcessedCrash{CrashID: id, UUID: id, Product: "AlertApp", Version: "130.0",
				Signature: "OOM | large", SubmittedTimestamp: ts, DateProcessed: ts})
			require.NoError(t, err)
			rows = append(rows, row)
		}
	}
	// Inside the windows whichever 5-minute period the processes see.
	add(2, at.Add(-100*time.Minute), at.Add(-65*time.Minute))
	add(200, at.Add(-40*time.Minute), at.Add(-time.Minute))
	require.NoError(t, w.Write(ctx, rows))

	hook := newReceiver(t, false)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("rules:\n  - {name: storm, kind: crash_storm, product: AlertApp, window: 1h, cooldown: 1h}\n"), 0o600))
	good := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(good, []byte(`webhooks:
  - {name: ops, url: "`+hook.URL+`/hook/secret-token", format: slack}
rules:
  - {name: oom-spike, kind: signature_spike, product: AlertApp, window: 1h, factor: 10, min: 50, cooldown: 6h}
`), 0o600))

	cron := func(rules string) (string, error) {
		cmd := exec.Command(stacktest.Binary(t), "cron", "run", "alerts")
		cmd.Env = in.Environ("CRASHSTREAM_CRON_ALERTS_RULES="+rules, "CRASHSTREAM_ADMIN_ADDR=",
			"CRASHSTREAM_CRON_ALERTS_PUBLIC_URL=https://crash-stats.example")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := cron(bad)
	require.Error(t, err)
	assert.Contains(t, out, `rules[0] "storm": kind: unknown "crash_storm"`)

	var wg sync.WaitGroup
	outs := make([]string, 2)
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := cron(good)
			// the loser of the runners' lease says so; either way it sends nothing
			if err != nil && !strings.Contains(o, "another runner is running this job") {
				outs[i] = o
			}
		}()
	}
	wg.Wait()
	assert.Empty(t, outs[0]+outs[1])
	require.Len(t, hook.got(), 1, "two processes, one delivery")
	assert.Contains(t, hook.got()[0]["text"], "Signature spike in AlertApp: OOM | large (200 crashes")

	addr := stacktest.FreePort(t)
	stacktest.Start(t, in.Environ("CRASHSTREAM_WEBAPP_ADDR="+addr, "CRASHSTREAM_WEBAPP_SECRET_KEY=0123456789abcdef0123456789abcdef"), "webapp")
	get := func(path string) string {
		resp, err := http.Get("http://" + addr + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", path, b)
		return string(b)
	}
	page := get("/alerts/")
	assert.Contains(t, page, "oom-spike")
	assert.Contains(t, page, "at least 10× the previous window and at least 50 crashes")
	assert.Contains(t, page, `href="/signature/?product=AlertApp&amp;signature=OOM&#43;%7C&#43;large"`)
	assert.Contains(t, page, "ops: delivered")
	assert.NotContains(t, page, "secret-token")
	var model struct {
		Rules struct {
			Rules []struct{ Name string }
		}
		Firings []struct {
			Rule, Signature string
			Current         int64
		}
	}
	body := get("/api/Alerts/")
	assert.NotContains(t, body, "secret-token")
	require.NoError(t, json.Unmarshal([]byte(body), &model))
	require.Len(t, model.Firings, 1)
	assert.Equal(t, "oom-spike", model.Firings[0].Rule)
	assert.Equal(t, int64(200), model.Firings[0].Current)
	require.Len(t, model.Rules.Rules, 1)
}
