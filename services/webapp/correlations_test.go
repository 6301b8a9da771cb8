package webapp

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/storage/clickhouse"
)

type fakeCorrelator struct{ got clickhouse.CorrelationParams }

func (f *fakeCorrelator) Correlations(_ context.Context, p clickhouse.CorrelationParams) (*clickhouse.CorrelationsResult, error) {
	f.got = p
	return &clickhouse.CorrelationsResult{Signature: p.Signature, Product: p.Product, SigTotal: 100, AllTotal: 2000,
		Items: []clickhouse.Correlation{{Kind: "module", Value: "evil.dll/1.0", SigCount: 90, AllCount: 100, SigShare: 0.9, AllShare: 0.05, Score: 0.894737}}}, nil
}

func TestCorrelationsAPI(t *testing.T) {
	f := newFixture(t, nil)
	rec := f.do(http.MethodGet, "/api/Correlations/?signature=X&product=P", "", nil)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Contains(t, rec.Body.String(), "not configured")

	fc := &fakeCorrelator{}
	f.srv.deps.Correlations = fc
	rec = f.do(http.MethodGet, "/api/Correlations/?signature=X&product=P&channel=beta&days=14", "", nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), `"correlations":[{"attribute":"module","value":"evil.dll/1.0","signature_count":90,"overall_count":100,"signature_share":0.9,"overall_share":0.05,"score":0.894737}]`)
	assert.Equal(t, "beta", fc.got.Channel)
	assert.Equal(t, 14, fc.got.Days)
	f.badRequests(t, map[string]string{
		"/api/Correlations/?product=P":                     "signature: required",
		"/api/Correlations/?signature=X":                   "product: required",
		"/api/Correlations/?signature=X&product=P&days=5":  "days: want one of",
		"/api/Correlations/?signature=X&product=P&limit=x": "limit: want a number",
	})
}
