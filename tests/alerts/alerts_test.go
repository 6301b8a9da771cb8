// Package alerts_test runs the alerts cron job on the real stack: crashes
// written to ClickHouse as the sink writes them, the job's state in MinIO,
// and webhooks as local HTTP servers.
package alerts_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/services/cron"
	"github.com/crashstream/crashstream/services/lib/alerts"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/streams/backoff"
	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, stacktest.LeakOptions()...) }

// receiver is a webhook endpoint; with failFirst its first answer is a
// 500; while down it answers 503.
type receiver struct {
	*httptest.Server
	mu        sync.Mutex
	accepted  []map[string]any
	calls     atomic.Int32
	failFirst bool
	down      atomic.Bool
}

func newReceiver(t *testing.T, failFirst bool) *receiver {
	rc := &receiver{failFirst: failFirst}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := rc.calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		if (rc.failFirst && n == 1) || rc.down.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var m map[string]any
		if json.Unmarshal(b, &m) != nil || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		rc.accepted = append(rc.accepted, m)
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() []map[string]any {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]map[string]any(nil), rc.accepted...)
}

// lockstep is the object store of one of two replicas in step: a read of
// a subject's state or of a firing returns only once the other replica has
// read it too, so both see the same object and both try to claim it: the
// conditional write must let exactly one through.
type lockstep struct {
	alerts.Store
	mu      *sync.Mutex
	waiting map[string]chan struct{}
}

func (l lockstep) GetWithETag(ctx context.Context, key string, maxSize int64) ([]byte, string, error) {
	b, etag, err := l.Store.GetWithETag(ctx, key, maxSize)
	if strings.HasPrefix(key, "alerts/state/") || strings.HasPrefix(key, "alerts/firings/") {
		l.mu.Lock()
		ch, ok := l.waiting[key]
		if ok {
			close(ch) // the second reader releases the first
			delete(l.waiting, key)
			l.mu.Unlock()
		} else {
			ch = make(chan struct{})
			l.waiting[key] = ch
			l.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
			case <-time.After(time.Minute): // a bound on a broken test, not a timing assertion
			}
		}
	}
	return b, etag, err
}

// pair is two alerts cron replicas over one install: its ClickHouse
// crashes, its bucket (in step, see lockstep) and its webhooks.
type pair struct {
	t          *testing.T
	in         *stacktest.Install
	period, at time.Time // the first period run and its evaluation time
	table      *clickhouse.Table
	writer     *clickhouse.Writer
	rows       []clickhouse.Row
	regs       []*prometheus.Registry
	replicas   []cron.Job
}

const every = 5 * time.Minute

func newPair(t *testing.T, prefix string) *pair {
	in := stacktest.NewInstall(t, prefix)
	_, err := clickhouse.Migrate(context.Background(), in.Conn(t), in.Database)
	require.NoError(t, err)
	table, w := in.Writer(t, nil)
	period := time.Now().UTC().Truncate(every).Add(-every)
	return &pair{t: t, in: in, period: period, at: period.Add(every), table: table, writer: w}
}

// add makes n crashes of sig spread over [from, to).
func (p *pair) add(sig string, n int, from, to time.Time) {
	for i := range n {
		ts := from.Add(time.Duration(i) * to.Sub(from) / time.Duration(n))
		id := stacktest.CrashID(ts)
		row, err := p.table.Row(&schemas.ProcessedCrash{CrashID: id, UUID: id, Product: "AlertApp", Version: "130.0",
			ReleaseChannel: "release", Signature: sig, SubmittedTimestamp: ts, DateProcessed: ts.Add(time.Minute)})
		require.NoError(p.t, err)
		p.rows = append(p.rows, row)
	}
}

// start writes the crashes and builds the two replicas with the rules.
func (p *pair) start(rulesYAML string) {
	t := p.t
	require.NoError(t, p.writer.Write(context.Background(), p.rows))
	rules, err := alerts.Parse([]byte(rulesYAML))
	require.NoError(t, err)
	reader, err := clickhouse.NewReader(p.in.Conn(t), p.in.Database, clickhouse.DedupArgMax)
	require.NoError(t, err)
	var stepMu sync.Mutex
	inStep := map[string]chan struct{}{}
	for range 2 {
		reg := prometheus.NewRegistry()
		n, err := alerts.NewNotifier(alerts.NotifierConfig{Timeout: 30 * time.Second, Parallel: 4, PublicURL: "https://crash-stats.example",
			Retry: backoff.Policy{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond, MaxAttempts: 4}})
		require.NoError(t, err)
		p.regs = append(p.regs, reg)
		p.replicas = append(p.replicas, cron.Alerts(alerts.NewEvaluator(rules, reader, lockstep{p.in.Crashes, &stepMu, inStep}, n), every, zerolog.Nop(), reg))
	}
}

// runBoth runs the job's period q on both replicas at once.
func (p *pair) runBoth(q time.Time) {
	p.t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, len(p.replicas))
	for i, j := range p.replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = j.Run(context.Background(), q)
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		require.NoError(p.t, err)
	}
}

// total sums a counter over both replicas.
func (p *pair) total(name, label, value string) float64 {
	p.t.Helper()
	sum := 0.0
	for _, reg := range p.regs {
		mfs, err := reg.Gather()
		require.NoError(p.t, err)
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == label && l.GetValue() == value {
						sum += m.GetCounter().GetValue()
					}
				}
			}
		}
	}
	return sum
}

// TestAlertsOnConstructedData: a signature jumping from 2 to 200 crashes
// between two hour windows and a signature entering the top 10 each fire
// once: two cron replicas running the alerts job for the same period at
// the same moment, in step (both read a subject's state before either
// claims it), deliver each firing exactly once to each webhook (the
// generic one answering 500 first, so retried); the next period, inside
// the cooldown, delivers nothing; the period after the cooldown fires
// again. The firings are listed with their deliveries and the published
// rules carry no webhook URL.
func TestAlertsOnConstructedData(t *testing.T) {
	p := newPair(t, "alerts")
	ctx := context.Background()
	at := p.at
	// The previous hour's crashes fall in [at-100m, at-65m), the current
	// hour's in [at-40m, at-1m): inside both windows of the evaluations at
	// at, at+5m and at+15m.
	prevFrom, prevTo, curFrom, curTo := at.Add(-100*time.Minute), at.Add(-65*time.Minute), at.Add(-40*time.Minute), at.Add(-time.Minute)
	p.add("Spike", 2, prevFrom, prevTo)
	p.add("Spike", 200, curFrom, curTo)
	p.add("Newcomer", 30, curFrom, curTo) // 0 before: enters the top 10, too few (< 50) to spike
	for _, s := range []string{"Steady A", "Steady B", "Steady C"} {
		p.add(s, 10, prevFrom, prevTo)
		p.add(s, 10, curFrom, curTo)
	}
	p.add("Spike", 500, at.Add(time.Minute), at.Add(2*time.Minute)) // after the first evaluation's windows

	generic, slack := newReceiver(t, true), newReceiver(t, false)
	p.start(`
webhooks:
  - {name: generic, url: "` + generic.URL + `/hook/secret-token", format: json}
  - {name: slack, url: "` + slack.URL + `/services/T0/B0/secret-token", format: slack}
rules:
  - {name: new-top10, kind: new_in_top, product: AlertApp, window: 1h, top: 10, cooldown: 10m}
  - {name: spike, kind: signature_spike, product: AlertApp, version: "130.0", window: 1h, factor: 10, min: 50, cooldown: 10m}
  - {name: volume, kind: volume_spike, product: AlertApp, window: 1h, factor: 100, min: 10, cooldown: 10m}
`)
	period, runBoth, total, in := p.period, p.runBoth, p.total, p.in
	firings := func(hook *receiver) []string {
		var out []string
		for _, m := range hook.got() {
			if hook == slack {
				out = append(out, m["text"].(string))
				continue
			}
			out = append(out, m["rule"].(string)+" "+m["signature"].(string))
		}
		sort.Strings(out)
		return out
	}

	runBoth(period)
	assert.Equal(t, []string{"new-top10 Newcomer", "spike Spike"}, firings(generic), "one delivery per firing, from one replica")
	assert.EqualValues(t, 3, generic.calls.Load(), "the 500 was retried once")
	assert.Equal(t, 2.0, total("crashstream_alerts_total", "outcome", "fired"))
	assert.Equal(t, 2.0, total("crashstream_alerts_total", "outcome", "taken"), "in step, each replica tried to claim both")
	assert.Equal(t, 4.0, total("crashstream_alerts_deliveries_total", "status", "delivered"))
	require.Len(t, slack.got(), 2)
	for _, m := range slack.got() {
		blocks := m["blocks"].([]any)
		require.Len(t, blocks, 1)
		text := blocks[0].(map[string]any)["text"].(map[string]any)
		assert.Equal(t, "mrkdwn", text["type"])
		assert.Contains(t, text["text"], "<https://crash-stats.example/signature/?product=AlertApp")
	}
	assert.Contains(t, firings(slack), "Signature spike in AlertApp 130.0: Spike (200 crashes in the last 1h, 100.0× the 2 of the 1h before)")
	assert.Contains(t, firings(slack), "New in the top 10 of AlertApp: Newcomer (rank 2, 30 crashes in the last 1h; 0 in the 1h before)")

	listed, err := alerts.Recent(ctx, in.Crashes, at, 2, 100)
	require.NoError(t, err)
	require.Len(t, listed, 2)
	for _, f := range listed {
		require.Len(t, f.Deliveries, 2)
		for _, d := range f.Deliveries {
			assert.Equal(t, alerts.StatusDelivered, d.Status, "%s to %s", f.Rule, d.Webhook)
		}
	}

	runBoth(period.Add(every)) // inside the cooldown: the conditions still hold, nothing is sent
	assert.Len(t, generic.got(), 2)
	assert.Len(t, slack.got(), 2)
	assert.Equal(t, 4.0, total("crashstream_alerts_total", "outcome", "quiet"))

	runBoth(period.Add(3 * every)) // 15 minutes on: past the 10-minute cooldown, each fires once more
	assert.Equal(t, []string{"new-top10 Newcomer", "new-top10 Newcomer", "spike Spike", "spike Spike"}, firings(generic))
	assert.Len(t, slack.got(), 4)

	pub, err := alerts.LoadPublished(ctx, in.Crashes)
	require.NoError(t, err)
	require.NotNil(t, pub)
	assert.Len(t, pub.Rules, 3)
	b, _ := json.Marshal(pub)
	assert.NotContains(t, string(b), "secret-token", "webhook URLs are credentials")
	assert.NotContains(t, string(b), "127.0.0.1")
}

// TestAlertsRedeliveredOnce: a webhook that is down through a whole run
// (every retry answered 503) gets the firing at the next run, once, though
// both replicas find it outstanding at the same moment; the webhook that
// took it the first time does not get it again, and the firing is not
// claimed again (the next run is inside the cooldown).
func TestAlertsRedeliveredOnce(t *testing.T) {
	p := newPair(t, "alertsre")
	at := p.at
	p.add("Spike", 2, at.Add(-100*time.Minute), at.Add(-65*time.Minute))
	p.add("Spike", 200, at.Add(-40*time.Minute), at.Add(-time.Minute))
	flaky, fine := newReceiver(t, false), newReceiver(t, false)
	p.start(`
webhooks:
  - {name: flaky, url: "` + flaky.URL + `/hook", format: json}
  - {name: fine, url: "` + fine.URL + `/hook", format: slack}
rules:
  - {name: spike, kind: signature_spike, product: AlertApp, window: 1h, factor: 10, min: 50, cooldown: 6h}
`)
	flaky.down.Store(true)
	p.runBoth(p.period)
	assert.Empty(t, flaky.got())
	assert.EqualValues(t, 4, flaky.calls.Load(), "tried up to the bound")
	assert.Len(t, fine.got(), 1)
	assert.Equal(t, 1.0, p.total("crashstream_alerts_deliveries_total", "status", "failed"))

	flaky.down.Store(false)
	p.runBoth(p.period.Add(every))
	require.Len(t, flaky.got(), 1, "resent once, by one replica")
	assert.Equal(t, "Spike", flaky.got()[0]["signature"])
	assert.Len(t, fine.got(), 1, "a delivered webhook is not sent the firing again")
	assert.Equal(t, 1.0, p.total("crashstream_alerts_total", "outcome", "fired"))

	p.runBoth(p.period.Add(2 * every))
	assert.Len(t, flaky.got(), 1)
	assert.Len(t, fine.got(), 1)
	listed, err := alerts.Recent(context.Background(), p.in.Crashes, at, 2, 100)
	require.NoError(t, err)
	require.Len(t, listed, 1)
	for _, d := range listed[0].Deliveries {
		assert.Equal(t, alerts.StatusDelivered, d.Status, d.Webhook)
		if d.Webhook == "flaky" {
			assert.Equal(t, 5, d.Attempts, "four in the first run, one in the second")
		}
	}
	assert.Empty(t, listed[0].Holder, "no lease left behind")
}
