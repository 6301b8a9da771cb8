package webapp

import (
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/schemas/redact"
	"github.com/crashstream/crashstream/storage/clickhouse"
)

// TestRedactSearchGroups: an aggregation or histogram whose group or value
// field is protected is dropped whole, for terms and cardinalities alike;
// the public ones stay as they were.
func TestRedactSearchGroups(t *testing.T) {
	b := func(group, term string) []clickhouse.Bucket {
		return []clickhouse.Bucket{{Group: group, Term: term, Count: 1}}
	}
	res := &clickhouse.SearchResult{
		Aggs: map[string][]clickhouse.Bucket{
			"signature.product": b("s", "Firefox"), "url.product": b("https://secret", "Firefox"),
			"signature.url": b("s", "https://secret"), "signature.url.platform": b("s\x1fhttps://secret", "Linux"),
		},
		AggCardinality: map[string][]clickhouse.Bucket{
			"signature.build_id": b("s", ""), "url.build_id": b("https://secret", ""), "signature.url": b("s", ""),
		},
		Histograms: map[string][]clickhouse.Bucket{
			"date": b("2024-01-01", ""), "date.product": b("2024-01-01", "Firefox"), "url": b("https://secret", ""),
			"date.url": b("2024-01-01", "https://secret"),
		},
		HistogramCardinality: map[string][]clickhouse.Bucket{
			"date.build_id": b("2024-01-01", ""), "url.build_id": b("https://secret", ""), "date.url": b("2024-01-01", ""),
		},
	}
	RedactSearch(redact.New(fields.New()), res)
	keys := func(m map[string][]clickhouse.Bucket) []string { return slices.Sorted(maps.Keys(m)) }
	assert.Equal(t, []string{"signature.product"}, keys(res.Aggs))
	assert.Equal(t, b("s", "Firefox"), res.Aggs["signature.product"])
	assert.Equal(t, []string{"signature.build_id"}, keys(res.AggCardinality))
	assert.Equal(t, []string{"date", "date.product"}, keys(res.Histograms))
	assert.Equal(t, []string{"date.build_id"}, keys(res.HistogramCardinality))
}
