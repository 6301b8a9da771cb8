package webapp

import (
	"strings"

	"github.com/crashstream/crashstream/schemas/redact"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/clickhouse/supersearch"
)

// RedactSearch redacts a Super Search result in place for a caller
// without view_pii, with the registry's one redaction (schemas/redact):
// hit columns, facet, aggregation and histogram terms and cardinalities of
// fields that are not public are dropped; public values are shown in their
// public form (java_stack_trace without exception messages). The API and
// every page that searches call it, so they show the same thing.
func RedactSearch(r *redact.Redactor, res *clickhouse.SearchResult) {
	if res == nil {
		return
	}
	for _, h := range res.Hits {
		for k, v := range h {
			out, ok := r.Field(searchName(k), v)
			if !ok {
				delete(h, k)
				continue
			}
			h[k] = out
		}
	}
	for name, bs := range res.Facets {
		if out, ok := terms(r, name, bs, false); ok {
			res.Facets[name] = out
		} else {
			delete(res.Facets, name)
		}
	}
	termsOf := func(name string, bs []clickhouse.Bucket) ([]clickhouse.Bucket, bool) {
		return terms(r, name, bs, false)
	}
	cardinalitiesOf := func(name string, bs []clickhouse.Bucket) ([]clickhouse.Bucket, bool) {
		return cardinalities(r, name, bs)
	}
	redactAggs(r, res.Aggs, termsOf)
	redactAggs(r, res.AggCardinality, cardinalitiesOf)
	redactHistograms(r, res.Histograms, func(split string, bs []clickhouse.Bucket) ([]clickhouse.Bucket, bool) {
		if split == "" {
			return bs, true
		}
		return terms(r, split, bs, true)
	})
	redactHistograms(r, res.HistogramCardinality, cardinalitiesOf)
	for name := range res.Cardinality {
		if _, ok := r.Field(searchName(name), nil); !ok {
			delete(res.Cardinality, name)
		}
	}
}

// redactAggs redacts aggregations keyed "<group field>....<target>": the
// target's values by leaf, each \x1f-separated group value by its field. A
// key with anything the caller may not see is dropped whole.
func redactAggs(r *redact.Redactor, m map[string][]clickhouse.Bucket, leaf func(string, []clickhouse.Bucket) ([]clickhouse.Bucket, bool)) {
	for key, bs := range m {
		parts := strings.Split(key, ".")
		out, ok := leaf(parts[len(parts)-1], bs)
		for i := 0; ok && i < len(out); i++ {
			groups := strings.Split(out[i].Group, "\x1f")
			for j := 0; ok && j < len(groups) && j < len(parts)-1; j++ {
				groups[j], ok = r.Term(searchName(parts[j]), groups[j])
			}
			out[i].Group = strings.Join(groups, "\x1f")
		}
		if ok {
			m[key] = out
		} else {
			delete(m, key)
		}
	}
}

// redactHistograms redacts histograms keyed "<field>[.<rest>]": each
// bucket's interval by field, its values by leaf(rest). A key with anything
// the caller may not see is dropped whole.
func redactHistograms(r *redact.Redactor, m map[string][]clickhouse.Bucket, leaf func(string, []clickhouse.Bucket) ([]clickhouse.Bucket, bool)) {
	for key, bs := range m {
		field, rest, _ := strings.Cut(key, ".")
		out, ok := leaf(rest, bs)
		for i := 0; ok && i < len(out); i++ {
			out[i].Group, ok = r.Term(searchName(field), out[i].Group)
		}
		if ok {
			m[key] = out
		} else {
			delete(m, key)
		}
	}
}

// terms sanitises the terms of field name's buckets, merging buckets that
// become equal (unless keepGroups: histogram buckets differ by group);
// ok is false when the field is not public.
func terms(r *redact.Redactor, name string, bs []clickhouse.Bucket, keepGroups bool) ([]clickhouse.Bucket, bool) {
	name = searchName(name)
	if _, ok := r.Field(name, nil); !ok {
		return nil, false
	}
	out := make([]clickhouse.Bucket, 0, len(bs))
	seen := map[[2]string]int{}
	for _, b := range bs {
		t, ok := r.Term(name, b.Term)
		if !ok {
			return nil, false
		}
		b.Term = t
		k := [2]string{b.Group, t}
		if i, dup := seen[k]; dup && !keepGroups {
			out[i].Count += b.Count
			continue
		}
		seen[k] = len(out)
		out = append(out, b)
	}
	return out, true
}

// cardinalities keeps distinct counts of field name's values only when the
// field is public (a count of distinct protected values is about them).
func cardinalities(r *redact.Redactor, name string, bs []clickhouse.Bucket) ([]clickhouse.Bucket, bool) {
	if _, ok := r.Field(searchName(name), nil); !ok {
		return nil, false
	}
	return append([]clickhouse.Bucket(nil), bs...), true
}

// searchName maps Super Search's aliases (date, Socorro's names such as
// platform and build_id) to the registry's field.
func searchName(name string) string { return supersearch.Canonical(name) }
