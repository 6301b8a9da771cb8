package clickhouse

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"testing"
	"time"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/storage/clickhouse/supersearch"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bareCrash is a crash as the world sends it at its barest: the required
// fields and nothing else, so every Nullable column is NULL.
func bareCrash(n int, sub time.Time, product, sig string) *schemas.ProcessedCrash {
	id := crashID(n, sub)
	return &schemas.ProcessedCrash{CrashID: id, UUID: id, SubmittedTimestamp: sub, DateProcessed: sub.Add(time.Minute),
		Product: product, Signature: sig}
}

// TestNullSafeAggregates is the regression test of the InstallTime 500: on
// 18.16, uniq() over a group whose values are all NULL is NULL, which the
// installs column and Super Search's cardinality scanned into a uint64. It
// loads a product whose crashes carry no optional field and asks for every
// aggregate the query library offers over every searchable field.
func TestNullSafeAggregates(t *testing.T) {
	conn, db := stackDB(t)
	ctx := context.Background()
	tab, w := testWriter(t, conn, db, 1)
	day := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	var rows []Row
	for i := range 4 {
		r, err := tab.Row(bareCrash(i, day.Add(time.Duration(i)*time.Minute), "Bare", fmt.Sprintf("bare_sig_%d", i%2)))
		require.NoError(t, err)
		rows = append(rows, r)
	}
	// a second product mixes bare crashes with full ones: a group of one
	// signature is all NULL, another is not
	for i := 4; i < 8; i++ {
		at := day.Add(time.Duration(i) * time.Minute)
		c := testCrash(i, at, at.Add(time.Minute), "Mixed", "full_sig")
		if i%2 == 0 {
			c = bareCrash(i, day.Add(time.Duration(i)*time.Minute), "Mixed", "bare_sig")
		}
		r, err := tab.Row(c)
		require.NoError(t, err)
		rows = append(rows, r)
	}
	require.NoError(t, w.Write(ctx, rows))
	end := day.Truncate(24*time.Hour).AddDate(0, 0, 1)

	for _, mode := range []Dedup{DedupArgMax, DedupFinal, DedupClean} {
		rd, err := NewReader(conn, db, mode)
		require.NoError(t, err)
		t.Run(mode.String(), func(t *testing.T) {
			for _, product := range []string{"Bare", "Mixed"} {
				for _, rt := range []string{"report", "build"} {
					tc, err := rd.TopCrashers(ctx, TopCrashersParams{Product: product, Days: 7, End: end, Installs: true, RangeType: rt})
					require.NoError(t, err, "%s %s", product, rt)
					if rt == "build" {
						continue // bare crashes have no build date: not in a build window
					}
					require.NotEmpty(t, tc.Crashers, product)
					for _, c := range tc.Crashers {
						if c.Signature == "full_sig" {
							assert.Equal(t, uint64(2), c.Installs, "crashes 5 and 7: install times n%%7 = 5 and 0")
							assert.Equal(t, int64(20260101000002), c.LatestBuild, "builds 20260101000000 + n%%3 for n = 5, 7")
						} else {
							assert.Zero(t, c.Installs, "%s %s: no install time is zero installs", product, c.Signature)
							assert.Zero(t, c.LatestBuild, "%s %s: no build id", product, c.Signature)
						}
					}
				}
			}
			// an empty window and an unknown product are empty reports
			tc, err := rd.TopCrashers(ctx, TopCrashersParams{Product: "Nobody", Days: 1, End: end, Installs: true})
			require.NoError(t, err)
			assert.Empty(t, tc.Crashers)
			assert.Zero(t, tc.Total)

			// every searchable field at once: cardinality, facet, aggregation
			// by signature, column and (numbers and dates) histogram; sorted
			// by every non-list field
			fs := supersearch.FromRegistry(fields.New())
			names := make([]string, 0, len(fs))
			for n := range fs {
				names = append(names, n)
			}
			sort.Strings(names)
			for len(names) > 0 {
				chunk := names[:min(20, len(names))] // Parse takes at most 64 parameters
				names = names[len(chunk):]
				for _, product := range []string{"Bare", "Nobody"} {
					params := url.Values{"product": {product}, "date": {">=2026-11-19", "<2026-11-21"}}
					for _, n := range chunk {
						f := fs[n]
						params.Set("_cardinality."+f.Name, "")
						params.Add("_facets", f.Name)
						params.Add("_aggs.signature", f.Name)
						params.Add("_aggs.signature", "_cardinality."+f.Name)
						params.Add("_histogram.date", "_cardinality."+f.Name)
						params.Add("_columns", f.Name)
						if f.Type != supersearch.List {
							params.Add("_sort", f.Name)
						}
						if f.Type == supersearch.Number || f.Type == supersearch.Date {
							params.Set("_histogram."+f.Name, "signature")
						}
					}
					q, err := supersearch.Parse(params, fs, true, end)
					require.NoError(t, err, chunk)
					res, err := rd.SuperSearch(ctx, q)
					require.NoError(t, err, "%s %v", product, chunk)
					for _, n := range chunk {
						f := fs[n]
						if product == "Nobody" || f.Type == supersearch.Number || f.Type == supersearch.Bool {
							assert.Zero(t, res.Cardinality[f.Name], "%s over %s: NULL is no distinct value", f.Name, product)
						}
					}
				}
			}
		})
	}
}

// TestDailyVolume: the dashboards' per-day counts from the aggregates equal
// Super Search's deduplicated histogram, reprocessed crash included, and an
// empty window is empty.
func TestDailyVolume(t *testing.T) {
	conn, db := stackDB(t)
	loadSearch(t, conn, db)
	rd, err := NewReader(conn, db, DedupArgMax)
	require.NoError(t, err)
	ctx := context.Background()
	from, to := time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	fs := supersearch.FromRegistry(fields.New())
	for _, tc := range []struct{ split, product, filter string }{{"product", "", ""}, {"version", "Firefox", "&product=Firefox"}, {"product", "Fenix", "&product=Fenix"}} {
		got, err := rd.DailyVolume(ctx, tc.split, tc.product, from, to)
		require.NoError(t, err)
		params, err := url.ParseQuery("date=>=2026-11-15&date=<2026-11-22&_results_number=0&_histogram.date=" + tc.split + tc.filter)
		require.NoError(t, err)
		q, err := supersearch.Parse(params, fs, false, to)
		require.NoError(t, err)
		res, err := rd.SuperSearch(ctx, q)
		require.NoError(t, err)
		assert.Equal(t, res.Histograms["date."+tc.split], got, "%+v", tc)
		assert.NotEmpty(t, got)
	}
	got, err := rd.DailyVolume(ctx, "product", "", from.AddDate(-1, 0, 0), from.AddDate(-1, 0, 7))
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = rd.DailyVolume(ctx, "version", "", from, to)
	assert.Error(t, err)
	_, err = rd.DailyVolume(ctx, "signature", "", from, to)
	assert.Error(t, err)
}
