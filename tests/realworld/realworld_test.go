// Package realworld_test pushes the real-world data set (tests/internal/
// realworld) through the real pipeline — collector, processor, ClickHouse
// and object-store sinks, webapp, all as the crashstream binary — and asks
// every page and API call a user makes about every product, signature and
// crash of it. Each must answer 200 or a deliberate 4xx; a 5xx fails the
// test with the request id and the body.
package realworld_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/services/cron"
	"github.com/crashstream/crashstream/services/webapp/auth"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/streams"
	"github.com/crashstream/crashstream/tests/internal/realworld"
	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, stacktest.LeakOptions()...) }

type answer struct {
	code int
	body string
	id   string
}

func get(t *testing.T, u, token string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Auth-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	require.NoError(t, err)
	return answer{code: resp.StatusCode, body: string(b), id: resp.Header.Get("X-Request-Id")}
}

// TestRealWorldAnswers is the "200 on every product and signature".
func TestRealWorldAnswers(t *testing.T) {
	stacktest.RequireStack(t)
	ctx := context.Background()
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	id := "rw" + hex.EncodeToString(b)
	db := "cs_" + id

	var s3 objectstore.Config
	fs := flag.NewFlagSet("s3", flag.ContinueOnError)
	s3.RegisterFlags(fs)
	if v := os.Getenv("CRASHSTREAM_S3_ENDPOINT"); v != "" { // as the subprocesses read it
		s3.Endpoint = v
	}
	s3.Bucket, s3.SymbolsBucket, s3.TelemetryBucket = id, id+"-symbols", id+"-telemetry"
	store, err := objectstore.New(s3)
	require.NoError(t, err)
	t.Cleanup(store.Close)
	bucket := store.Bucket(id)
	require.NoError(t, bucket.Ensure(ctx))
	require.NoError(t, store.Bucket(id+"-symbols").Ensure(ctx))
	kcfg := streams.DefaultConfig()
	kcfg.TopicPrefix = id + "."
	require.NoError(t, streams.EnsureTopics(ctx, kcfg, kcfg.Topics().All()...))
	chCfg := clickhouse.Config{Addr: "127.0.0.1:19000", Database: db, Username: "default", DialTimeout: 5 * time.Second, QueryTimeout: time.Minute, MaxOpenConns: 2}
	conn, err := clickhouse.Open(ctx, chCfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db); _ = conn.Close() })
	_, err = clickhouse.Migrate(ctx, conn, db)
	require.NoError(t, err)

	env := append(os.Environ(), "CRASHSTREAM_KAFKA_TOPIC_PREFIX="+id+".", "CRASHSTREAM_S3_BUCKET="+id,
		"CRASHSTREAM_S3_SYMBOLS_BUCKET="+id+"-symbols", "CRASHSTREAM_S3_TELEMETRY_BUCKET="+id+"-telemetry",
		"CRASHSTREAM_CLICKHOUSE_DATABASE="+db, "CRASHSTREAM_LOG_FORMAT=json", "CRASHSTREAM_LOG_LEVEL=warn")
	collector := stacktest.FreePort(t)
	stacktest.Start(t, append(env, "CRASHSTREAM_COLLECTOR_ADDR="+collector), "collector")
	stacktest.Start(t, env, "processor")
	stacktest.Start(t, env, "sink-clickhouse")
	stacktest.Start(t, env, "sink-objectstore")
	web := stacktest.FreePort(t)
	webapp := stacktest.Start(t, append(env, "CRASHSTREAM_WEBAPP_ADDR="+web, "CRASHSTREAM_WEBAPP_SECRET_KEY=0123456789abcdef0123456789abcdef",
		// the API calls below are one client's; the limits have their own tests
		"CRASHSTREAM_WEBAPP_RATELIMIT_SEARCH_ANONYMOUS=100000", "CRASHSTREAM_WEBAPP_RATELIMIT_SEARCH_TOKEN=100000",
		"CRASHSTREAM_WEBAPP_RATELIMIT_API_TOKEN=100000"), "webapp")
	base := "http://" + web

	set, err := realworld.New(time.Now(), stacktest.SharedTestdata(t))
	require.NoError(t, err)
	ids := map[string]string{} // crash id -> what it exercises
	for _, sub := range set.Submissions {
		cid, err := realworld.Submit(ctx, http.DefaultClient, "http://"+collector, sub)
		require.NoError(t, err)
		ids[cid] = sub.Name
	}
	table, err := clickhouse.NewTable(fields.New())
	require.NoError(t, err)
	w, err := clickhouse.NewWriter(conn, db, table, clickhouse.WriterConfig{MaxAttempts: 1, Backoff: time.Millisecond, MaxBackoff: time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, set.Store(ctx, w, table, bucket))
	for _, c := range set.Stored {
		ids[c.CrashID] = "stored " + c.Signature
	}

	// wait (bounded) until the sink wrote every submission the processor
	// could process; the Broken product's reports may never arrive
	want := len(set.Submissions) + len(set.Stored)
	var got uint64
	deadline := time.Now().Add(4 * time.Minute)
	for time.Now().Before(deadline) {
		require.NoError(t, conn.QueryRow(ctx, "SELECT toUInt64(uniqExact(crash_id)) FROM "+db+".crashes").Scan(&got))
		if int(got) >= want {
			break
		}
		time.Sleep(time.Second)
	}
	t.Logf("%d of %d crashes in ClickHouse", got, want)
	require.GreaterOrEqual(t, int(got), want-2, "every report except possibly the two unprocessable ones reaches ClickHouse")
	require.NoError(t, cron.Versions(bucket, cron.ClickHouseVersions{Conn: conn, Database: db}).Run(ctx, time.Now().UTC()))

	tokens := auth.NewStore(auth.BucketBlobs(bucket))
	key, _, err := tokens.Create(ctx, "realworld", []string{auth.ViewPII}, time.Hour)
	require.NoError(t, err)

	// products and signatures as the store has them, over retention
	var products, signatures []string
	rows, err := conn.Query(ctx, "SELECT DISTINCT toString(product), signature FROM "+db+".crashes")
	require.NoError(t, err)
	seenP, seenS := map[string]bool{}, map[string]bool{}
	for rows.Next() {
		var p, s string
		require.NoError(t, rows.Scan(&p, &s))
		if !seenP[p] {
			seenP[p] = true
			products = append(products, p)
		}
		if !seenS[s] {
			seenS[s] = true
			signatures = append(signatures, s)
		}
	}
	rows.Close()
	require.NoError(t, rows.Err())
	sort.Strings(products)
	sort.Strings(signatures)
	t.Logf("products %q; %d signatures", products, len(signatures))
	for _, p := range set.Products() {
		if p != realworld.Broken {
			assert.Contains(t, products, p)
		}
	}
	for _, s := range []string{realworld.LongSignature, realworld.NonASCIISignature, realworld.PreviousOnlySignature, realworld.RetentionSignature} {
		assert.Contains(t, signatures, s)
	}

	check := func(u, token string, okStatus ...int) {
		t.Helper()
		a := get(t, base+u, token)
		short := u
		if len(short) > 160 {
			short = short[:160] + "..."
		}
		if a.code >= 500 {
			t.Errorf("GET %s (token %v): %d, request id %s: %.400s", short, token != "", a.code, a.id, a.body)
			return
		}
		allowed := append([]int{http.StatusOK}, okStatus...)
		if !slices.Contains(allowed, a.code) {
			t.Errorf("GET %s (token %v): %d, want one of %v; request id %s: %.300s", short, token != "", a.code, allowed, a.id, a.body)
		}
	}
	q := url.QueryEscape
	for _, tok := range []string{"", key} {
		check("/", tok)
		check("/topcrashers/", tok) // first run: the busiest product, not a bare 400
		check("/search/", tok)
		check("/missingsymbols/", tok)
		for _, p := range append(products, realworld.Broken, "NoSuchProduct") {
			for _, days := range []string{"1", "7", "28"} {
				check("/topcrashers/?product="+q(p)+"&days="+days, tok)
				check("/topcrashers/?product="+q(p)+"&days="+days+"&_range_type=build", tok)
			}
			check("/home/product/"+url.PathEscape(p), tok)
			check("/search/?product="+q(p)+"&_facets=signature&_facets=install_time", tok)
			check("/api/TopCrashers/?product="+q(p), tok)
			check("/api/TopCrashers/?product="+q(p)+"&installs=1&days=28", tok)
			check("/api/SuperSearch/?product="+q(p)+"&_cardinality.install_time=&_cardinality.startup_time=&_facets=version&_histogram.date=signature", tok)
		}
		for _, s := range signatures {
			check("/signature/?signature="+q(s), tok)
			check("/signature/?signature="+q(s)+"&date=>="+time.Now().UTC().AddDate(0, 0, -180).Format("2006-01-02"), tok)
			check("/search/?signature="+q("="+s), tok)
			check("/api/SuperSearch/?signature="+q("="+s)+"&_cardinality.install_time=&_facets=uptime", tok)
			check("/api/SignatureFirstDate/?signatures="+q(s), tok)
		}
		for cid := range ids {
			check("/report/index/"+cid, tok, http.StatusNotFound)
			check("/api/ProcessedCrash/?crash_id="+cid, tok, http.StatusNotFound)
		}
	}
	if t.Failed() {
		t.Logf("webapp log:\n%s", webapp.Stderr)
	}
}
