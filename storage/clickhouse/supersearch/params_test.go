package supersearch

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func reg() Fields { return FromRegistry(fields.New()) }

func TestFromRegistry(t *testing.T) {
	f := reg()
	require.Equal(t, Field{Name: "signature", Column: "signature", Type: String}, f["signature"])
	assert.Equal(t, Number, f["uptime"].Type)
	assert.Equal(t, Bool, f["startup_crash"].Type)
	assert.Equal(t, List, f["addons"].Type)
	assert.Equal(t, Date, f["submitted_timestamp"].Type)
	assert.True(t, f["user_comments"].Protected)
	_, ok := f["json_dump"]
	assert.False(t, ok, "non-searchable fields are absent")
}

func TestParseDefaults(t *testing.T) {
	q, err := Parse(url.Values{}, reg(), false, now)
	require.NoError(t, err)
	assert.Equal(t, DefaultResults, q.Number)
	assert.Equal(t, 0, q.Offset)
	assert.Equal(t, DefaultFacetSize, q.FacetsSize)
	assert.Equal(t, 7*24*time.Hour, q.To.Sub(q.From))
	require.Len(t, q.Facets, 1)
	assert.Equal(t, "signature", q.Facets[0].Name)
	names := []string{}
	for _, c := range q.Columns {
		names = append(names, c.Name)
	}
	assert.Equal(t, []string{"uuid", "date", "signature", "product", "version"}, names, "Socorro's default columns")
	assert.Equal(t, DateField, q.Columns[1].Key())
	require.Len(t, q.Sort, 1)
	assert.True(t, q.Sort[0].Desc)
	assert.Equal(t, "date", q.Sort[0].Field.Name)
}

func TestParseOperators(t *testing.T) {
	tests := []struct {
		field, value string
		want         Term
	}{
		{"signature", "foo", Term{Op: OpMatch, Value: "foo"}},
		{"signature", "~foo", Term{Op: OpContains, Value: "foo"}},
		{"signature", "=foo", Term{Op: OpExact, Value: "foo"}},
		{"signature", "^foo", Term{Op: OpStartsWith, Value: "foo"}},
		{"signature", "$foo", Term{Op: OpEndsWith, Value: "foo"}},
		{"signature", "@fo+", Term{Op: OpRegex, Value: "fo+"}},
		{"signature", "!~foo", Term{Op: OpContains, Not: true, Value: "foo"}},
		{"signature", "__null__", Term{Op: OpNull}},
		{"signature", "!__null__", Term{Op: OpNull, Not: true}},
		{"uptime", ">=60", Term{Op: OpGTE, Num: 60}},
		{"uptime", "<5", Term{Op: OpLT, Num: 5}},
		{"uptime", "42", Term{Op: OpMatch, Num: 42}},
		{"startup_crash", "__true__", Term{Op: OpTrue, Num: 1}},
		{"startup_crash", "false", Term{Op: OpMatch, Num: 0}},
		{"addons", "~ublock", Term{Op: OpContains, Value: "ublock"}},
		{"date_processed", ">2026-11-01", Term{Op: OpGT, Time: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tc := range tests {
		t.Run(tc.field+"="+tc.value, func(t *testing.T) {
			q, err := Parse(url.Values{tc.field: {tc.value}}, reg(), false, now)
			require.NoError(t, err)
			require.Len(t, q.Filters, 1)
			require.Len(t, q.Filters[0].Terms, 1)
			assert.Equal(t, tc.want, q.Filters[0].Terms[0])
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		params url.Values
	}{
		{"unknown field", url.Values{"nope": {"x"}}},
		{"unknown column", url.Values{"_columns": {"nope"}}},
		{"unknown agg target", url.Values{"_aggs.product": {"nope"}}},
		{"unknown cardinality facet", url.Values{"_facets": {"_cardinality.nope"}}},
		{"agg too deep", url.Values{"_aggs.product.version.platform.build_id": {"signature"}}},
		{"histogram in aggs on a string", url.Values{"_aggs.product": {"_histogram.signature"}}},
		{"bad interval of a histogram in aggs", url.Values{"_aggs.product": {"_histogram.date"}, "_histogram_interval.date": {"3d"}}},
		{"return query", url.Values{"_return_query": {"1"}}},
		{"too many results", url.Values{"_results_number": {"1001"}}},
		{"window too deep", url.Values{"_results_number": {"1000"}, "_results_offset": {"9001"}}},
		{"negative offset", url.Values{"_results_offset": {"-1"}}},
		{"facet size", url.Values{"_facets_size": {"10001"}}},
		{"negative facet size", url.Values{"_facets_size": {"-1"}}},
		{"range on string", url.Values{"signature": {">a"}}},
		{"contains on number", url.Values{"uptime": {"~1"}}},
		{"not a number", url.Values{"uptime": {"abc"}}},
		{"true on string", url.Values{"signature": {"__true__"}}},
		{"bad regex", url.Values{"signature": {"@(("}}},
		{"range too long", url.Values{"date": {">=2025-01-01", "<2026-11-01"}}},
		{"empty range", url.Values{"date": {">=2026-11-10", "<2026-11-01"}}},
		{"bad date", url.Values{"date": {">=yesterday"}}},
		{"bad date time", url.Values{"date": {">=2026-11-27 25:00:00"}}},
		{"date with junk", url.Values{"date": {">=2026-11-27x00:00:00"}}},
		{"unknown meta", url.Values{"_bogus": {"1"}}},
		{"histogram on string", url.Values{"_histogram.signature": {"product"}}},
		{"bad interval", url.Values{"_histogram.date": {"product"}, "_histogram_interval.date": {"3d"}}},
		{"sort on list", url.Values{"_sort": {"addons"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.params, reg(), false, now)
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrBadRequest), err.Error())
		})
	}
}

// A protected field named without view_pii is left out of the search and
// reported, wherever it appears, as Socorro's SuperSearch does.
func TestParseDropsProtected(t *testing.T) {
	q, err := Parse(url.Values{
		"user_comments":              {"~x"},
		"product":                    {"Firefox"},
		"_columns":                   {"uuid", "url"},
		"_facets":                    {"url", "product", "_cardinality.url"},
		"_sort":                      {"-user_comments"},
		"_cardinality.url":           {""},
		"_aggs.signature":            {"url", "product"},
		"_aggs.url.product":          {"signature"},
		"_histogram.date":            {"url", "product", "_cardinality.url"},
		"_histogram.phc_usable_size": {"product"},
	}, reg(), false, now)
	require.NoError(t, err)
	require.Len(t, q.Filters, 1)
	assert.Equal(t, "product", q.Filters[0].Field.Name)
	require.Len(t, q.Columns, 1)
	assert.Equal(t, "uuid", q.Columns[0].Name)
	require.Len(t, q.Facets, 1)
	assert.Equal(t, "product", q.Facets[0].Name)
	assert.Empty(t, q.Cardinality)
	require.Len(t, q.Aggs, 1, "the url target and the url-keyed aggregation are left out")
	assert.Equal(t, "product", q.Aggs[0].Target.Name)
	require.Len(t, q.Histograms, 1)
	assert.Len(t, q.Histograms[0].Terms, 1)
	assert.Empty(t, q.Histograms[0].Cardinality)
	assert.Equal(t, "date", q.Sort[0].Field.Name, "the dropped sort falls back to the default")
	assert.Contains(t, q.Dropped, Dropped{Param: "user_comments", Field: "user_comments"})
	assert.Contains(t, q.Dropped, Dropped{Param: "_columns", Field: "url"})
	assert.Contains(t, q.Dropped, Dropped{Param: "_sort", Field: "user_comments"})
	assert.Contains(t, q.Dropped, Dropped{Param: "_histogram.phc_usable_size", Field: "phc_usable_size"})
}

func TestParseAliases(t *testing.T) {
	q, err := Parse(url.Values{
		"platform":            {"Linux"},
		"build_id":            {">=20261101000000"},
		"_columns":            {"uuid", "build_id", "platform", "date"},
		"_facets":             {"platform_version", "_cardinality.build_id"},
		"_sort":               {"build_id"},
		"_histogram.build_id": {"platform"},
	}, reg(), false, now)
	require.NoError(t, err)
	require.Len(t, q.Filters, 2)
	byName := map[string]Field{}
	for _, f := range q.Filters {
		byName[f.Field.Name] = f.Field
	}
	assert.Equal(t, "build", byName["build_id"].Column)
	assert.Equal(t, "build", byName["build_id"].Key())
	assert.Equal(t, "os_name", byName["platform"].Column)
	assert.Equal(t, "date", q.Columns[3].Name)
	assert.Equal(t, "submitted_timestamp", q.Columns[3].Column)
	assert.Equal(t, "platform_version", q.Facets[0].Name)
	assert.Equal(t, "build_id", q.Cardinality[0].Name)
	assert.Equal(t, "build_id", q.Histograms[0].Field.Name)
	assert.Equal(t, "platform", q.Histograms[0].Terms[0].Name)
}

func TestParseDateForms(t *testing.T) {
	want := time.Date(2026, 11, 20, 10, 11, 12, 0, time.UTC)
	for _, v := range []string{
		"2026-11-20T10:11:12", "2026-11-20 10:11:12", "2026-11-20T10:11:12Z", "2026-11-20 10:11:12Z",
		"2026-11-20T10:11:12+00:00", "2026-11-20T12:11:12+02:00", "2026-11-20T10:11:12.000000",
		"2026-11-20 10:11:12.000+00:00", "2026-11-20T11:11:12+0100", "2026-11-20T09:11:12-01",
	} {
		q, err := Parse(url.Values{"date": {">=" + v}}, reg(), false, now)
		require.NoError(t, err, v)
		assert.Equal(t, want, q.From, v)
	}
	q, err := Parse(url.Values{"date": {">=2026-11-20 10:11", "<2026-11-21"}}, reg(), false, now)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 11, 20, 10, 11, 0, 0, time.UTC), q.From)
	assert.Equal(t, time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), q.To)
}

func TestParseFacetsSizeZero(t *testing.T) {
	q, err := Parse(url.Values{"_facets_size": {"0"}, "_facets": {"product"}, "_aggs.product": {"version"},
		"_histogram.date": {"product"}, "_cardinality.signature": {""}}, reg(), false, now)
	require.NoError(t, err)
	assert.Equal(t, 0, q.FacetsSize)
	assert.Empty(t, q.Facets)
	assert.Empty(t, q.Aggs)
	assert.Empty(t, q.Histograms)
	assert.Empty(t, q.Cardinality)
}

func TestParseCardinalityAndNesting(t *testing.T) {
	q, err := Parse(url.Values{
		"_facets":                  {"_cardinality.version", "_histogram.date"},
		"_aggs.product.version":    {"_cardinality.install_time", "signature"},
		"_histogram.date":          {"product", "_cardinality.signature"},
		"_histogram_interval.date": {"day"},
	}, reg(), false, now)
	require.NoError(t, err)
	require.Len(t, q.Cardinality, 1)
	assert.Equal(t, "version", q.Cardinality[0].Name)
	require.Len(t, q.Aggs, 2)
	assert.True(t, q.Aggs[0].Cardinality)
	assert.Equal(t, "install_time", q.Aggs[0].Target.Name)
	assert.Len(t, q.Aggs[0].By, 2)
	assert.False(t, q.Aggs[1].Cardinality)
	require.Len(t, q.Histograms, 2)
	for _, h := range q.Histograms {
		assert.Equal(t, "1d", h.Interval)
	}
}

func TestParseHistogramInAggs(t *testing.T) {
	q, err := Parse(url.Values{"_aggs.product.version": {"_histogram.date", "signature"}, "_histogram_interval.date": {"hour"}}, reg(), false, now)
	require.NoError(t, err)
	require.Len(t, q.Aggs, 2)
	require.NotNil(t, q.Aggs[0].Histogram)
	assert.Equal(t, "date", q.Aggs[0].Target.Name)
	assert.Equal(t, "1h", q.Aggs[0].Histogram.Interval)
	assert.Nil(t, q.Aggs[1].Histogram)
}

func TestParseProtectedWithPII(t *testing.T) {
	q, err := Parse(url.Values{"user_comments": {"~x"}, "_facets": {"url"}, "_columns": {"url"}}, reg(), true, now)
	require.NoError(t, err)
	assert.Equal(t, "user_comments", q.Filters[0].Field.Name)
	assert.Equal(t, "url", q.Facets[0].Name)
}

func TestParseMeta(t *testing.T) {
	q, err := Parse(url.Values{
		"_columns":                 {"signature,uuid", "product"},
		"_sort":                    {"-uptime", "signature"},
		"_results_number":          {"1000"},
		"_results_offset":          {"9000"},
		"_facets":                  {"product", "os_name"},
		"_aggs.product.version":    {"signature"},
		"_histogram.date":          {"product"},
		"_histogram_interval.date": {"1h"},
		"_cardinality.signature":   {""},
		"date":                     {"2026-11-20"},
	}, reg(), false, now)
	require.NoError(t, err)
	assert.Len(t, q.Columns, 3)
	assert.Equal(t, "uuid", q.Columns[1].Name)
	assert.Equal(t, []SortKey{{Field: reg()["uptime"], Desc: true}, {Field: reg()["signature"]}}, q.Sort)
	require.Len(t, q.Aggs, 1)
	assert.Equal(t, "version", q.Aggs[0].By[1].Name)
	require.Len(t, q.Histograms, 1)
	assert.Equal(t, "1h", q.Histograms[0].Interval)
	assert.Equal(t, time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), q.From)
	assert.Equal(t, time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), q.To)
	require.Len(t, q.Cardinality, 1)
}

func TestDateRangeBounds(t *testing.T) {
	q, err := Parse(url.Values{"date": {">=2026-11-01", "<2026-11-05T06:00:00Z"}}, reg(), false, now)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), q.From)
	assert.Equal(t, time.Date(2026, 11, 5, 6, 0, 0, 0, time.UTC), q.To)
	q, err = Parse(url.Values{"date": {"<2026-11-05"}}, reg(), false, now)
	require.NoError(t, err)
	assert.Equal(t, 7*24*time.Hour, q.To.Sub(q.From), "missing lower bound: 7 days before the upper")
}

func TestParseBounds(t *testing.T) {
	many := url.Values{}
	for i := range MaxParams + 1 {
		many.Set("p"+string(rune('a'+i%26))+string(rune('a'+i/26)), "x")
	}
	_, err := Parse(many, reg(), false, now)
	require.ErrorIs(t, err, ErrBadRequest)
	long := make([]byte, MaxValueLen+1)
	_, err = Parse(url.Values{"signature": {string(long)}}, reg(), false, now)
	require.ErrorIs(t, err, ErrBadRequest)
}

// FuzzParse checks Parse never panics, and that whatever it accepts obeys
// the limits and never exposes a protected field without view_pii.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"signature=~foo&_facets=product&_results_number=10",
		"date=>=2026-11-01&date=<2026-11-08&uptime=<60&startup_crash=__true__",
		"_aggs.product.version=signature&_histogram.date=product&_histogram_interval.date=1w",
		"signature=!@^a.*b$&addons=__null__&_sort=-uptime&_results_offset=9900&_results_number=100",
		"user_comments=~x&_columns=url",
		"_cardinality.install_time=&_histogram.uptime=os_name&_histogram_interval.uptime=60",
	} {
		f.Add(s)
	}
	fs := reg()
	f.Fuzz(func(t *testing.T, raw string) {
		params, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := Parse(params, fs, false, now)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error not wrapping ErrBadRequest: %v", err)
			}
			return
		}
		if q.Number > MaxResults || q.Offset+q.Number > MaxWindow || q.FacetsSize > MaxFacetSize {
			t.Fatalf("limits exceeded: %+v", q)
		}
		if !q.From.Before(q.To) || q.To.Sub(q.From) > MaxRange {
			t.Fatalf("bad range %s..%s", q.From, q.To)
		}
		q.EachField(func(f Field) {
			if f.Protected {
				t.Fatalf("protected field %s accepted without view_pii", f.Name)
			}
		})
	})
}

// TestEachFieldVisitsEverySlot pins the one list of where a query names a
// field: a field in each slot, each visited once.
func TestEachFieldVisitsEverySlot(t *testing.T) {
	f := func(name string) Field { return Field{Name: name, Column: name} }
	hist := Histogram{Field: f("hist"), Terms: []Field{f("hist_term")}, Cardinality: []Field{f("hist_card")}}
	q := &Query{
		Filters:     []Filter{{Field: f("filter")}},
		Columns:     []Field{f("column")},
		Sort:        []SortKey{{Field: f("sort")}},
		Facets:      []Field{f("facet")},
		Aggs:        []Agg{{By: []Field{f("agg_by")}, Target: f("agg_target")}},
		Histograms:  []Histogram{hist},
		Cardinality: []Field{f("card")},
	}
	var got []string
	q.EachField(func(x Field) { got = append(got, x.Name) })
	assert.ElementsMatch(t, []string{"filter", "column", "sort", "facet", "agg_by", "agg_target",
		"hist", "hist_term", "hist_card", "card"}, got)
}
