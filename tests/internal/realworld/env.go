package realworld

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/cron"
	"github.com/crashstream/crashstream/services/lib/alerts"
	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/services/lib/repotest"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

// Env is one isolated crashstream on the real stack (its own topics,
// buckets and ClickHouse database) running the whole pipeline as
// subprocesses of the crashstream binary — collector, processor, both
// sinks and the webapp — loaded with the data set.
type Env struct {
	// Base is the webapp's URL (http://127.0.0.1:port).
	Base string
	// Set is the data set it holds; CrashIDs maps every crash id of it to
	// what the crash exercises.
	Set      *Set
	CrashIDs map[string]string
	// Products and Signatures are what ClickHouse holds, sorted.
	Products, Signatures []string
	DB                   string
	Conn                 driver.Conn
	Bucket               *objectstore.Bucket
	Tokens               *auth.Store
	// Webapp is the webapp process (its log is Webapp.Stderr).
	Webapp *stacktest.Proc
}

// Load starts the pipeline, submits the set's reports to the collector,
// stores the back-dated crashes, waits (at most 4 minutes) until every crash
// is in ClickHouse, and runs the versions cron job. webappEnv adds
// environment variables to the webapp (rate limits, say). It skips without
// the stack (CRASHSTREAM_STACK=1). CRASHSTREAM_S3_ENDPOINT, when set,
// points every part at another object store.
func Load(t *testing.T, webappEnv ...string) *Env {
	t.Helper()
	ctx := context.Background()
	in := stacktest.NewInstall(t, "rw")
	e := &Env{DB: in.Database, CrashIDs: map[string]string{}, Bucket: in.Crashes, Conn: in.Conn(t)}
	e.Tokens = auth.NewStore(auth.BucketBlobs(e.Bucket))
	_, err := clickhouse.Migrate(ctx, e.Conn, e.DB)
	require.NoError(t, err)

	env := in.Environ()
	collector := stacktest.FreePort(t)
	stacktest.Start(t, append(env, "CRASHSTREAM_COLLECTOR_ADDR="+collector), "collector")
	stacktest.Start(t, env, "processor")
	stacktest.Start(t, env, "sink-clickhouse")
	stacktest.Start(t, env, "sink-objectstore")
	web := stacktest.FreePort(t)
	e.Webapp = stacktest.Start(t, append(append(env, "CRASHSTREAM_WEBAPP_ADDR="+web,
		"CRASHSTREAM_WEBAPP_SECRET_KEY=0123456789abcdef0123456789abcdef"), webappEnv...), "webapp")
	e.Base = "http://" + web

	e.Set, err = New(time.Now(), repotest.SharedTestdata(t))
	require.NoError(t, err)
	for _, sub := range e.Set.Submissions {
		cid, err := Submit(ctx, http.DefaultClient, "http://"+collector, sub)
		require.NoError(t, err)
		e.CrashIDs[cid] = sub.Name
	}
	table, w := in.Writer(t, nil)
	require.NoError(t, e.Set.Store(ctx, w, table, e.Bucket))
	for _, c := range e.Set.Stored {
		e.CrashIDs[c.CrashID] = "stored " + c.Signature
	}

	// the processor and the sink are asynchronous: a bounded wait
	want := len(e.CrashIDs)
	var got uint64
	deadline := time.Now().Add(4 * time.Minute)
	for time.Now().Before(deadline) {
		require.NoError(t, e.Conn.QueryRow(ctx, "SELECT toUInt64(uniqExact(crash_id)) FROM "+e.DB+".crashes").Scan(&got))
		if int(got) >= want {
			break
		}
		time.Sleep(time.Second)
	}
	require.Equal(t, want, int(got), "every crash of the data set reaches ClickHouse, the unprocessable ones included")
	require.NoError(t, cron.Versions(e.Bucket, cron.ClickHouseVersions{Conn: e.Conn, Database: e.DB}).Run(ctx, time.Now().UTC()))
	// the alerts job's rules over the data set (no webhooks): the Alerts
	// page and API then list firings, with the data set's signatures
	rules, err := alerts.Parse([]byte("rules:\n" +
		"  - {name: realworld-new, kind: new_in_top, product: " + strconv.Quote(Firefox) + ", window: 672h, top: 10, cooldown: 24h}\n" +
		"  - {name: realworld-volume, kind: volume_spike, product: " + strconv.Quote(Firefox) + ", window: 672h, factor: 1, min: 1, cooldown: 24h}\n"))
	require.NoError(t, err)
	reader, err := clickhouse.NewReader(e.Conn, e.DB, clickhouse.DedupArgMax)
	require.NoError(t, err)
	notifier, err := alerts.NewNotifier(alerts.DefaultNotifierConfig())
	require.NoError(t, err)
	sum, err := alerts.NewEvaluator(rules, reader, e.Bucket, notifier).Evaluate(ctx, time.Now().UTC())
	require.NoError(t, err)
	require.NotZero(t, sum.Fired, "the data set's signatures are new in the top 10")

	rows, err := e.Conn.Query(ctx, "SELECT DISTINCT toString(product), signature FROM "+e.DB+".crashes")
	require.NoError(t, err)
	seenP, seenS := map[string]bool{}, map[string]bool{}
	for rows.Next() {
		var p, s string
		require.NoError(t, rows.Scan(&p, &s))
		if !seenP[p] {
			seenP[p] = true
			e.Products = append(e.Products, p)
		}
		if !seenS[s] {
			seenS[s] = true
			e.Signatures = append(e.Signatures, s)
		}
	}
	rows.Close()
	require.NoError(t, rows.Err())
	sort.Strings(e.Products)
	sort.Strings(e.Signatures)
	return e
}

// Token creates an API token with perms and returns its key.
func (e *Env) Token(t *testing.T, name string, perms ...string) string {
	t.Helper()
	key, _, err := e.Tokens.Create(context.Background(), name, perms, time.Hour)
	require.NoError(t, err)
	return key
}
