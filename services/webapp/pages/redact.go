package pages

import (
	"context"

	"github.com/crashstream/crashstream/schemas/redact"
	"github.com/crashstream/crashstream/services/webapp"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/clickhouse/supersearch"
)

// piiKey marks a request context whose caller holds view_pii.
type piiKey struct{}

// withViewPII records in ctx that the caller may see protected data.
func withViewPII(ctx context.Context, ok bool) context.Context {
	if !ok {
		return ctx
	}
	return context.WithValue(ctx, piiKey{}, true)
}

// redactedCrashes redacts every Super Search result with the registry's
// one redaction unless the request context says the caller holds view_pii:
// a page that forgets to say so shows less, never more.
type redactedCrashes struct {
	Crashes
	r *redact.Redactor
}

func (c redactedCrashes) SuperSearch(ctx context.Context, q *supersearch.Query) (*clickhouse.SearchResult, error) {
	res, err := c.Crashes.SuperSearch(ctx, q)
	if err != nil {
		return nil, err
	}
	if ok, _ := ctx.Value(piiKey{}).(bool); !ok {
		webapp.RedactSearch(c.r, res)
	}
	return res, nil
}
