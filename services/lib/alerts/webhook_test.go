package alerts

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/streams/backoff"
)

// receiver is a local webhook endpoint recording the bodies it accepted;
// answer decides each request's status (nil: 200).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	calls  atomic.Int32
	answer func(call int32) int
}

func newReceiver(t *testing.T, answer func(call int32) int) *receiver {
	rc := &receiver{answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := rc.calls.Add(1)
		b, _ := io.ReadAll(r.Body)
		status := http.StatusOK
		if rc.answer != nil {
			status = rc.answer(n)
		}
		if status == http.StatusOK {
			rc.mu.Lock()
			rc.bodies = append(rc.bodies, b)
			rc.mu.Unlock()
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() [][]byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([][]byte(nil), rc.bodies...)
}

// hanging is a webhook that answers 200 only once release is closed (or
// when the client gives up).
func hanging(t *testing.T, release <-chan struct{}) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func testNotifier(t *testing.T) *Notifier {
	n, err := NewNotifier(NotifierConfig{Timeout: 2 * time.Second, Parallel: 4, PublicURL: "https://crash-stats.example/",
		Retry: backoff.Policy{Initial: time.Millisecond, Max: 5 * time.Millisecond, MaxAttempts: 3}})
	require.NoError(t, err)
	return n
}

var spike = Firing{ID: "abc", Holder: "h1", LeaseUntil: time.Date(2026, 12, 5, 8, 10, 0, 0, time.UTC), Rule: "spike", Kind: SignatureSpike, Product: "Firefox", Version: "130.0", Signature: "OOM | <script>&",
	Window: Duration(time.Hour), Current: 200, Previous: 2, Factor: 10, Min: 50, At: time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)}

// TestBodies: the generic body is the firing with a summary and the
// report link; the Slack body is text plus one mrkdwn section, with
// Slack's markup characters escaped.
func TestBodies(t *testing.T) {
	n := testNotifier(t)
	b, err := n.Body(FormatJSON, spike)
	require.NoError(t, err)
	var g map[string]any
	require.NoError(t, json.Unmarshal(b, &g))
	assert.Equal(t, "spike", g["rule"])
	assert.Equal(t, "signature_spike", g["kind"])
	assert.Equal(t, float64(200), g["current"])
	assert.Equal(t, "https://crash-stats.example/signature/?product=Firefox&signature=OOM+%7C+%3Cscript%3E%26&version=130.0", g["url"])
	assert.Equal(t, "Signature spike in Firefox 130.0: OOM | <script>& (200 crashes in the last 1h, 100.0× the 2 of the 1h before)", g["summary"])
	assert.NotContains(t, g, "deliveries")
	assert.NotContains(t, g, "holder")
	assert.NotContains(t, g, "lease_until")

	b, err = n.Body(FormatSlack, spike)
	require.NoError(t, err)
	var s struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text struct{ Type, Text string }
		} `json:"blocks"`
	}
	require.NoError(t, json.Unmarshal(b, &s))
	assert.Equal(t, g["summary"], s.Text)
	require.Len(t, s.Blocks, 1)
	assert.Equal(t, "section", s.Blocks[0].Type)
	assert.Equal(t, "mrkdwn", s.Blocks[0].Text.Type)
	assert.Contains(t, s.Blocks[0].Text.Text, "OOM | &lt;script&gt;&amp;")
	assert.Contains(t, s.Blocks[0].Text.Text, "<https://crash-stats.example/signature/?product=Firefox&amp;signature=")
	assert.NotContains(t, s.Blocks[0].Text.Text, "<script>")

	vol := Firing{Rule: "v", Kind: VolumeSpike, Product: "Firefox", Window: Duration(24 * time.Hour), Current: 3000, Previous: 0}
	assert.Equal(t, "Crash volume spike in Firefox: 3000 crashes in the last 1d, the 0 of the 1d before", vol.Summary())
	assert.Equal(t, "https://x/topcrashers/?product=Firefox", SignatureURL("https://x", vol))
}

// TestDeliveryRetries: a webhook answering 500 then 200 gets the firing
// once after a retry; one answering 404 is not retried; one that does not
// answer within the timeout does not hold up the others, and the errors
// never carry the webhook's URL (its credential).
func TestDeliveryRetries(t *testing.T) {
	flaky := newReceiver(t, func(n int32) int {
		if n == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	gone := newReceiver(t, func(int32) int { return http.StatusNotFound })
	fine := newReceiver(t, nil)
	// slow answers only when released (the first test) or never (the
	// second, where the client's timeout ends each attempt).
	release := make(chan struct{})
	slow := hanging(t, release)

	rs := &Rules{Webhooks: []Webhook{{Name: "flaky", URL: flaky.URL + "/secret-token", Format: FormatJSON},
		{Name: "gone", URL: gone.URL + "/secret-token", Format: FormatJSON}, {Name: "fine", URL: fine.URL, Format: FormatSlack},
		{Name: "slow", URL: slow.URL + "/secret-token", Format: FormatJSON}}}
	firing := func() *Firing {
		f := spike
		for _, h := range rs.Webhooks {
			f.Deliveries = append(f.Deliveries, Delivery{Webhook: h.Name, Format: h.Format, Status: StatusPending})
		}
		return &f
	}
	deliver := func(n *Notifier, f *Firing) <-chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			n.DeliverAll(context.Background(), rs, []*Firing{f})
		}()
		return done
	}

	// A webhook that has not answered holds up no other: the others are
	// delivered while DeliverAll still waits for it.
	n := testNotifier(t)
	n.http.Timeout = 10 * time.Minute
	f := firing()
	done := deliver(n, f)
	require.Eventually(t, func() bool { return len(fine.got()) == 1 && len(flaky.got()) == 1 }, time.Minute, 5*time.Millisecond)
	select {
	case <-done:
		t.Fatal("DeliverAll returned before the slow webhook answered")
	default:
	}
	close(release)
	<-done
	byName := map[string]Delivery{}
	for _, d := range f.Deliveries {
		byName[d.Webhook] = d
		assert.NotContains(t, d.Error, "secret-token")
	}
	assert.Equal(t, StatusDelivered, byName["flaky"].Status)
	assert.Equal(t, 2, byName["flaky"].Attempts)
	assert.EqualValues(t, 2, flaky.calls.Load())
	assert.Len(t, flaky.got(), 1, "delivered once")
	assert.Equal(t, StatusRejected, byName["gone"].Status)
	assert.Equal(t, 1, byName["gone"].Attempts, "a 404 is not retried")
	assert.Equal(t, StatusDelivered, byName["fine"].Status)
	assert.Equal(t, StatusDelivered, byName["slow"].Status)

	// A webhook that never answers times out on each attempt, up to the
	// bound, and fails without its URL in the error.
	blocked := make(chan struct{})
	stuck := hanging(t, blocked)
	t.Cleanup(func() { close(blocked) })
	slowOnly := &Rules{Webhooks: []Webhook{{Name: "stuck", URL: stuck.URL + "/secret-token"}}}
	n = testNotifier(t)
	n.http.Timeout = 50 * time.Millisecond
	g := spike
	g.Deliveries = []Delivery{{Webhook: "stuck", Status: StatusPending}}
	n.DeliverAll(context.Background(), slowOnly, []*Firing{&g})
	assert.Equal(t, StatusFailed, g.Deliveries[0].Status)
	assert.Equal(t, 3, g.Deliveries[0].Attempts, "timeouts are retried up to the bound")
	assert.Contains(t, g.Deliveries[0].Error, "Timeout")
	assert.NotContains(t, g.Deliveries[0].Error, "secret-token")
}
