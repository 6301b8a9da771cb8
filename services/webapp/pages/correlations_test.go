package pages

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/storage/clickhouse"
)

type fakeCorrelator struct {
	got []clickhouse.CorrelationParams
}

func (f *fakeCorrelator) Correlations(_ context.Context, p clickhouse.CorrelationParams) (*clickhouse.CorrelationsResult, error) {
	f.got = append(f.got, p)
	return &clickhouse.CorrelationsResult{Signature: p.Signature, Product: p.Product, Channel: p.Channel, SigTotal: 100, AllTotal: 2000,
		Start: time.Date(2026, 11, 13, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC),
		Items: []clickhouse.Correlation{{Kind: "module", Value: "evil.dll/1.0", SigCount: 90, AllCount: 100, SigShare: 0.9, AllShare: 0.05, Score: 0.894737}}}, nil
}

func TestCorrelationsTab(t *testing.T) {
	fc := &fakeCorrelator{}
	e := newEnvWith(t, Config{}, func(p *Pages) { p.correlations = fc })
	w := e.do(http.MethodGet, "/signature/?signature=OOM+%7C+small&tab=correlations&release_channel=%3Dbeta", "-", nil)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	body := w.Body.String()
	assert.Contains(t, body, `id="tab-correlations"`)
	assert.Contains(t, body, `<tr data-attribute="module"><td>module</td><td class="mono">evil.dll/1.0</td><td class="n">90.00% (90)</td><td class="n">5.00% (100)</td><td class="n score">0.895</td></tr>`)
	assert.Contains(t, body, "Computed now.")
	require.Len(t, fc.got, 1)
	assert.Equal(t, clickhouse.CorrelationParams{Signature: "OOM | small", Product: "Firefox", Channel: "beta"}, fc.got[0],
		"the signature's busiest product and the page's channel filter")

	body = newEnv(t, Config{}).do(http.MethodGet, "/signature/?signature=OOM+%7C+small&tab=correlations", "-", nil).Body.String()
	assert.Contains(t, body, "Correlations are not configured")
}
