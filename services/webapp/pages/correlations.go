package pages

import (
	"context"
	"strings"

	"github.com/crashstream/crashstream/storage/clickhouse"
)

// Correlator answers the Correlations tab (webapp.Correlator, from the
// core's Deps; nil when not configured).
type Correlator interface {
	Correlations(ctx context.Context, p clickhouse.CorrelationParams) (*clickhouse.CorrelationsResult, error)
}

// tabCorrelations is the signature report's Correlations tab.
const tabCorrelations = "correlations"

// correlationsSection is the tab's content.
type correlationsSection struct {
	Configured bool
	Result     *clickhouse.CorrelationsResult
}

// paramValue is a Super Search filter's value without an exact-match
// prefix ("=Firefox" → "Firefox"); "" when absent or with another operator.
func paramValue(v string) string {
	v = strings.TrimPrefix(v, "=")
	if v == "" || strings.ContainsAny(v[:1], "~^$@<>!") {
		return ""
	}
	return v
}
