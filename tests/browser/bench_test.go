package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/storage/objectstore"
)

// bulkLoad inserts n crashes spread evenly over the 28 days before end with
// one INSERT ... SELECT FROM numbers(n) (the materialized views fill the
// aggregates as for sink inserts). Signatures are skewed like real crash
// data: sig_0 is the most frequent of about 3000. A fifth of the crashes
// are Fenix, a tenth Thunderbird, the rest Firefox.
func (s *stack) bulkLoad(tb testing.TB, n int, end time.Time) {
	tb.Helper()
	q := `INSERT INTO ` + s.DB + `.crashes (crash_id, uuid, date_processed, submitted_timestamp, product, version, release_channel, build,
	process_type, report_type, os_name, os_version, os_pretty_version, cpu_arch, cpu_info, cpu_count, reason, address, crashing_thread,
	signature, proto_signature, uptime, install_time, startup_crash, is_garbage_collecting, url, user_comments, row_version)
SELECT id, id, ts + 60, ts, product, version, 'release', toInt64(20261101000000 + (number % 30) * 1000000),
	arrayElement(['parent', 'content', 'gpu'], number % 3 + 1), 'crash',
	os, '10.0', concat(os, ' 10'), 'amd64', 'GenuineIntel family 6', toInt64(8), 'EXCEPTION_ACCESS_VIOLATION_READ', '0x0', toInt64(0),
	sig, concat(sig, ' | main'), toInt64(number % 600), toInt64(1700000000 + number % 50000), toUInt8(number % 7 = 0), toUInt8(number % 11 = 0),
	concat('https://` + secretHost + `/', toString(number)), 'private', toUInt64(number + 1)
FROM (
	SELECT number,
		toDateTime(?) - toUInt32(intDiv(number * 2419200, ?)) - 1 AS ts,
		lower(hex(MD5(toString(number)))) AS h,
		concat(substring(h, 1, 8), '-', substring(h, 9, 4), '-4', substring(h, 14, 3), '-8', substring(h, 18, 3), '-',
			substring(h, 21, 5), '0', substring(toString(toYYYYMMDD(ts)), 3, 6)) AS id,
		multiIf(number % 10 < 7, 'Firefox', number % 10 < 9, 'Fenix', 'Thunderbird') AS product,
		concat(toString(128 + number % 4), '.0') AS version,
		arrayElement(['Windows NT', 'Mac OS X', 'Linux', 'Android'], number % 4 + 1) AS os,
		concat('sig_', toString(toUInt32(pow((intHash32(number) % 10000) / 10000.0, 4) * 3000))) AS sig
	FROM numbers(?)
)`
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	require.NoError(tb, s.Conn.Exec(ctx, q, end.UTC().Format("2006-01-02 15:04:05"), n, n))
}

// reportIDs stores processed crashes for count Firefox crashes of the last
// week, for the report index, and returns their ids.
func (s *stack) reportIDs(tb testing.TB, count int, end time.Time) []string {
	tb.Helper()
	ctx := context.Background()
	rows, err := s.Conn.Query(ctx, "SELECT crash_id, signature, submitted_timestamp FROM "+s.DB+".crashes WHERE product = 'Firefox' "+
		"AND submitted_timestamp >= toDateTime(?) ORDER BY crash_id LIMIT ?", end.Add(-7*24*time.Hour).UTC().Format("2006-01-02 15:04:05"), count)
	require.NoError(tb, err)
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id, sig string
		var at time.Time
		require.NoError(tb, rows.Scan(&id, &sig, &at))
		c := crash(id, "Firefox", "128.0", sig, "Windows NT", at.UTC(), len(ids))
		b, err := json.Marshal(c)
		require.NoError(tb, err)
		key, err := objectstore.ProcessedCrashKey(id)
		require.NoError(tb, err)
		require.NoError(tb, s.Bucket.PutBytes(ctx, key, b, "application/json"))
		ids = append(ids, id)
	}
	require.NoError(tb, rows.Err())
	require.Len(tb, ids, count)
	return ids
}

// BenchmarkPages measures the server time of the Crash Stats pages at a
// million crashes (PAGES_BENCH_CRASHES overrides the count): each
// iteration is one request served by the in-process webapp (core
// middleware and pages, real ClickHouse and MinIO), timed around
// ServeHTTP. It reports p50 and p95 in milliseconds.
func BenchmarkPages(b *testing.B) {
	requireStack(b)
	n := 1_000_000
	if v := os.Getenv("PAGES_BENCH_CRASHES"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(b, err)
	}
	s := newStack(b)
	end := time.Now().UTC().Truncate(time.Hour)
	start := time.Now()
	s.bulkLoad(b, n, end)
	ids := s.reportIDs(b, 200, end)
	b.Logf("loaded %d crashes in %s", n, time.Since(start).Round(time.Second))

	// the JSON API answers the same queries: the page / API ratio is what
	// the HTML costs over the data (the API's search is rate limited per
	// token, 100 a minute: one token per sub-benchmark)
	apiToken := func() string {
		key, _, err := s.Tokens.Create(context.Background(), "bench", nil, time.Hour)
		require.NoError(b, err)
		return key
	}
	pages := []struct {
		name  string
		path  func(i int) string
		token bool
	}{
		{"home", func(int) string { return "/" }, false},
		{"topcrashers", func(int) string { return "/topcrashers/?product=Firefox&days=7" }, false},
		{"signature", func(int) string { return "/signature/?signature=sig_0&product=Firefox" }, false},
		{"signature-reports", func(int) string { return "/signature/?signature=sig_0&product=Firefox&tab=reports" }, false},
		{"signature-graph", func(int) string { return "/signature/?signature=sig_0&product=Firefox&tab=graph" }, false},
		{"report", func(i int) string { return "/report/index/" + ids[i%len(ids)] }, false},
		{"search", func(int) string { return "/search/?product=Firefox&_facets=signature&_facets=version" }, false},
		{"api-topcrashers", func(int) string { return "/api/TopCrashers/?product=Firefox&days=7" }, true},
		{"api-signature", func(int) string {
			return "/api/SuperSearch/?signature=%3Dsig_0&product=Firefox&_results_number=0&_cardinality.install_time=1&_facets=" + sigFacetsParam
		}, true},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			times := make([]time.Duration, 0, b.N)
			token := ""
			if p.token {
				token = apiToken()
			}
			for i := 0; i < b.N; i++ {
				req := httptest.NewRequest(http.MethodGet, p.path(i), nil)
				if token != "" {
					req.Header.Set("Auth-Token", token)
				}
				w := httptest.NewRecorder()
				t0 := time.Now()
				s.Handler.ServeHTTP(w, req)
				times = append(times, time.Since(t0))
				require.Equal(b, http.StatusOK, w.Code, w.Body.String())
			}
			sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
			b.ReportMetric(ms(pct(times, 0.50)), "p50-ms")
			b.ReportMetric(ms(pct(times, 0.95)), "p95-ms")
		})
	}
}

// sigFacetsParam is the signature summary's facet list (pages.sigFacets).
const sigFacetsParam = "product,version,os_name,os_pretty_version,process_type,cpu_arch,release_channel,reason,startup_crash"

// pct is the q-quantile of sorted durations (nearest rank).
func pct(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func TestPercentile(t *testing.T) {
	d := make([]time.Duration, 100)
	for i := range d {
		d[i] = time.Duration(i+1) * time.Millisecond
	}
	for q, want := range map[float64]time.Duration{0.5: 50 * time.Millisecond, 0.95: 95 * time.Millisecond, 1: 100 * time.Millisecond} {
		require.Equal(t, want, pct(d, q), fmt.Sprint(q))
	}
	require.Zero(t, pct(nil, 0.95))
}
