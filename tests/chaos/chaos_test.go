// Package chaos is crashstream's fault-injection suite: the whole pipeline
// as separate processes against the real stack, crashgen at a fixed rate,
// and faults injected one at a time (SIGKILL and restart, SIGSTOP for a
// while then SIGCONT) on the stack's servers and on each service. It then
// checks that every crash the collector acknowledged (the client got a
// CrashID) was processed, is in ClickHouse and in the object store, once.
//
// The short version (1,000 crashes, two service faults) runs in `make test`;
// tests/chaos/run.sh runs the full matrix (10,000 crashes, every fault):
//
//	CRASHSTREAM_STACK=1 CRASHSTREAM_CHAOS_COUNT=10000 CRASHSTREAM_CHAOS_FAULTS=all go test -run TestChaos -v -timeout 90m ./chaos/
package chaos

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/services/crashgen"
	"github.com/crashstream/crashstream/services/lib/repotest"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/streams"
	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// fault is one injected failure: what it hits and how.
type fault struct {
	target string // kafka, minio, clickhouse (stack) or a service name
	kind   string // "kill" (SIGKILL then restart) or "stop" (SIGSTOP, pause, SIGCONT)
}

func (f fault) String() string { return f.kind + " " + f.target }

var stackParts = map[string]bool{"kafka": true, "minio": true, "clickhouse": true}

// parseFaults reads "kill:processor-a,stop:sink-clickhouse" or "all".
func parseFaults(t *testing.T, spec string) []fault {
	if spec == "all" {
		var fs []fault
		for _, kind := range []string{"kill", "stop"} {
			for _, target := range []string{"kafka", "minio", "clickhouse", "processor-a", "sink-clickhouse", "sink-objectstore", "sink-telemetry"} {
				fs = append(fs, fault{target, kind})
			}
		}
		return fs
	}
	var fs []fault
	for _, s := range strings.Split(spec, ",") {
		kind, target, ok := strings.Cut(strings.TrimSpace(s), ":")
		require.True(t, ok && (kind == "kill" || kind == "stop"), "CRASHSTREAM_CHAOS_FAULTS: want kind:target, got %q", s)
		fs = append(fs, fault{target, kind})
	}
	return fs
}

// tally is what a window of the run acknowledged and what arrived of it.
type tally struct {
	name                                               string
	acked, processed, inCH, rawObj, processedObj, tele int
	missing, dupRows, redelivered                      int
	missingIDs                                         []string
}

func requireStack(t *testing.T) {
	if os.Getenv("CRASHSTREAM_STACK") != "1" {
		t.Skip("needs the real stack: run `make up` and set CRASHSTREAM_STACK=1 (make test does both)")
	}
}

// TestChaos: faults one at a time during a fixed-rate run; every
// acknowledged crash arrives everywhere exactly once.
func TestChaos(t *testing.T) {
	requireStack(t)
	spec := os.Getenv("CRASHSTREAM_CHAOS_FAULTS")
	if spec == "" {
		spec = "kill:processor-a,stop:sink-clickhouse"
	}
	run(t, scenario{
		count:       envInt("CRASHSTREAM_CHAOS_COUNT", 1000),
		rate:        float64(envInt("CRASHSTREAM_CHAOS_RATE", 20)),
		concurrency: 32,
		sizeScale:   0.1, // the point is loss, not bandwidth: ~40 KB median dumps
		faults:      parseFaults(t, spec),
		pause:       envDuration("CRASHSTREAM_CHAOS_PAUSE", 30*time.Second),
		down:        envDuration("CRASHSTREAM_CHAOS_DOWN", 3*time.Second),
		gap:         envDuration("CRASHSTREAM_CHAOS_GAP", 5*time.Second),
		settle:      envDuration("CRASHSTREAM_CHAOS_SETTLE", 4*time.Minute),
		report:      os.Getenv("CRASHSTREAM_CHAOS_REPORT"),
	})
}

// TestOverload offers CRASHSTREAM_OVERLOAD_RATE reports/s (set it to twice
// the capacity tests/bench/run.sh measured) of the realistic size mix with
// many connections: the collector must shed the excess with 503 and
// Retry-After, keep its memory bounded, and everything it acknowledged must
// arrive. Opt-in (it saturates the machine): tests/chaos/run.sh overload.
func TestOverload(t *testing.T) {
	requireStack(t)
	rate := envInt("CRASHSTREAM_OVERLOAD_RATE", 0)
	if rate == 0 {
		t.Skip("set CRASHSTREAM_OVERLOAD_RATE (2x the measured capacity) to run the overload test")
	}
	seconds := envInt("CRASHSTREAM_OVERLOAD_SECONDS", 60)
	var collectorEnv []string // the collector's defaults (max-in-flight 128) unless told
	if n := envInt("CRASHSTREAM_OVERLOAD_IN_FLIGHT", 0); n > 0 {
		collectorEnv = append(collectorEnv, "CRASHSTREAM_COLLECTOR_MAX_IN_FLIGHT="+strconv.Itoa(n))
	}
	res := run(t, scenario{
		count:        rate * seconds,
		rate:         float64(rate),
		concurrency:  512,
		sizeScale:    1,
		settle:       envDuration("CRASHSTREAM_CHAOS_SETTLE", 15*time.Minute),
		report:       os.Getenv("CRASHSTREAM_CHAOS_REPORT"),
		collectorEnv: collectorEnv,
	})
	for part := range stackParts { // no server of the stack died (an OOM kill would show here)
		b, err := os.ReadFile(filepath.Join(repotest.Root(t), ".stack", "run", part+".pid"))
		require.NoError(t, err)
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		require.NoError(t, err)
		require.NoError(t, syscall.Kill(pid, 0), "%s is still running", part)
	}
	t.Logf("collector peak RSS %d MiB; %d answers 503, %d with Retry-After", res.collectorPeakKiB/1024, res.status503, res.retryAfter)
	require.Positive(t, res.status503, "the excess got 503")
	require.Equal(t, res.status503, res.retryAfter, "every 503 carried Retry-After")
}

// scenario is one run of the pipeline under crashgen.
type scenario struct {
	count                    int
	rate                     float64
	concurrency              int
	sizeScale                float64
	faults                   []fault
	pause, down, gap, settle time.Duration
	report                   string
	collectorEnv             []string
}

// outcome is what a scenario observed beside the per-window table.
type outcome struct {
	status503, retryAfter int
	collectorPeakKiB      int64
}

// countingTransport counts 503 answers and those with Retry-After.
type countingTransport struct {
	http.RoundTripper
	mu                    sync.Mutex
	status503, retryAfter int
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// wrapped transport.
func (c *countingTransport) CloseIdleConnections() {
	if ci, ok := c.RoundTripper.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.RoundTripper.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusServiceUnavailable {
		c.mu.Lock()
		c.status503++
		if resp.Header.Get("Retry-After") != "" {
			c.retryAfter++
		}
		c.mu.Unlock()
	}
	return resp, err
}

func run(t *testing.T, sc scenario) outcome {
	count, rate, faults := sc.count, sc.rate, sc.faults
	pause, down, gap, settle := sc.pause, sc.down, sc.gap, sc.settle
	root := repotest.Root(t)
	bin := stacktest.Binary(t)
	ctx := context.Background()

	// One isolated pipeline: topic prefix, buckets, database, groups.
	id := fmt.Sprintf("chaos%d", time.Now().UnixNano()%1e10)
	bucket, symbols, tele, db := id, id+"-symbols", id+"-telemetry", "cs_"+id
	s3cfg := objectstore.Config{Endpoint: "127.0.0.1:9000", AccessKey: "crashstream", SecretKey: "crashstream-secret",
		Bucket: bucket, SymbolsBucket: symbols, TelemetryBucket: tele, Region: "us-east-1", RequestAttempts: 3}
	store, err := objectstore.New(s3cfg)
	require.NoError(t, err)
	defer store.Close()
	stacktest.TempBuckets(t, store.Bucket(bucket), store.Bucket(symbols), store.Bucket(tele))
	chcfg := clickhouse.Config{Addr: "127.0.0.1:19000", Database: db, Username: "default", DialTimeout: 5 * time.Second,
		QueryTimeout: time.Minute, MaxOpenConns: 2}
	conn, err := clickhouse.Open(ctx, chcfg)
	require.NoError(t, err)
	defer func() {
		if !t.Failed() {
			_ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
		}
		_ = conn.Close()
	}()
	kcfg := streams.DefaultConfig()
	kcfg.TopicPrefix = id + "."
	require.NoError(t, streams.EnsureTopics(ctx, kcfg, kcfg.Topics().All()...))

	// Symbols for the generated modules, so stacks walk as in production.
	cat := crashgen.NewCatalog(7, 300, 1.1)
	for i := range cat.Modules {
		m := &cat.Modules[i]
		require.NoError(t, store.Bucket(symbols).PutBytes(ctx, m.SymKey(), []byte(m.SymFile("windows")), "text/plain"))
	}

	base := append(os.Environ(),
		"CRASHSTREAM_KAFKA_TOPIC_PREFIX="+kcfg.TopicPrefix,
		"CRASHSTREAM_S3_BUCKET="+bucket, "CRASHSTREAM_S3_SYMBOLS_BUCKET="+symbols, "CRASHSTREAM_S3_TELEMETRY_BUCKET="+tele,
		"CRASHSTREAM_CLICKHOUSE_DATABASE="+db,
		"CRASHSTREAM_PROCESSOR_GROUP="+id+"-processor", "CRASHSTREAM_PROCESSOR_PRIORITY_GROUP="+id+"-processor-priority",
		"CRASHSTREAM_SINK_CLICKHOUSE_GROUP="+id+"-sink-clickhouse", "CRASHSTREAM_SINK_OBJECTSTORE_GROUP="+id+"-sink-objectstore",
		"CRASHSTREAM_SINK_TELEMETRY_GROUP="+id+"-sink-telemetry",
		"CRASHSTREAM_LOG_FORMAT=json", "CRASHSTREAM_LOG_LEVEL=warn", "CRASHSTREAM_SHUTDOWN_TIMEOUT=30s")
	collectorAddr := stacktest.FreePort(t)
	services := map[string]*service{}
	order := []string{"sink-clickhouse", "sink-objectstore", "sink-telemetry", "processor-a", "processor-b", "collector"}
	for _, name := range order {
		args := []string{strings.TrimSuffix(strings.TrimSuffix(name, "-a"), "-b")}
		env := base
		if name == "collector" {
			env = append(append(append([]string(nil), base...), "CRASHSTREAM_COLLECTOR_ADDR="+collectorAddr), sc.collectorEnv...)
		}
		s := &service{name: name, args: args, env: env, admin: stacktest.FreePort(t), log: &stacktest.SyncBuffer{Keep: 1 << 20}}
		require.NoError(t, s.start(ctx, bin), name)
		services[name] = s
	}
	defer func() { // drain every service at once
		var wg sync.WaitGroup
		for _, s := range services {
			wg.Add(1)
			go func() { defer wg.Done(); s.stop() }()
		}
		wg.Wait()
	}()

	// The checker reads crash.processed.v1 from the start, for the whole run.
	// The checkers read crash.processed.v1 and crash.telemetry.v1 from the
	// start, for the whole run.
	processed, telemetry := newEventCounter(), newEventCounter()
	consumeCtx, stopConsume := context.WithCancel(ctx)
	consumeDone := make(chan error, 2)
	go func() { consumeDone <- processed.run(consumeCtx, kcfg, id+"-checker", kcfg.Topics().Processed) }()
	go func() {
		consumeDone <- telemetry.run(consumeCtx, kcfg, id+"-checker-telemetry", kcfg.Topics().Telemetry)
	}()
	defer func() {
		stopConsume()
		require.NoError(t, <-consumeDone)
		require.NoError(t, <-consumeDone)
	}()

	// phase is the index of the window the run is in: 0 before the first
	// fault, i while fault i is injected or recovering.
	var mu sync.Mutex
	phase := 0
	ackedIn := map[string]int{}
	gen := crashgen.NewGenerator(cat, 11)
	gen.SizeScale = sc.sizeScale
	transport := &countingTransport{RoundTripper: &http.Transport{MaxIdleConnsPerHost: sc.concurrency}}
	var out outcome
	var peakMu sync.Mutex
	collectorPID := services["collector"].pid()
	sampleDone := make(chan struct{})
	sampleStop := make(chan struct{})
	go func() { // the collector's peak RSS while sending (VmHWM survives restarts only per process)
		defer close(sampleDone)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-sampleStop:
				return
			case <-tick.C:
				if kb := rssKiB(collectorPID); kb > 0 {
					peakMu.Lock()
					out.collectorPeakKiB = max(out.collectorPeakKiB, kb)
					peakMu.Unlock()
				}
			}
		}
	}()
	sendCtx, stopSend := context.WithCancel(ctx)
	defer stopSend()
	type sendResult struct {
		res *crashgen.Result
		err error
	}
	sent := make(chan sendResult, 1)
	go func() {
		client := &http.Client{Timeout: 2 * time.Minute, Transport: transport}
		defer client.CloseIdleConnections()
		res, err := crashgen.Run(sendCtx, crashgen.RunConfig{
			URL: "http://" + collectorAddr, Rate: rate, Count: count, Concurrency: sc.concurrency,
			Progress: os.Stderr, ProgressEvery: 15 * time.Second,
			OnAccepted: func(id string) {
				mu.Lock()
				ackedIn[id] = phase
				mu.Unlock()
			},
		}, gen.Next, client)
		sent <- sendResult{res, err}
	}()

	names := []string{"before the faults"}
	for i, f := range faults {
		time.Sleep(gap)
		mu.Lock()
		phase = i + 1
		mu.Unlock()
		names = append(names, f.String())
		t.Logf("%s fault %d/%d: %s", time.Now().UTC().Format("15:04:05"), i+1, len(faults), f)
		inject(t, root, bin, f, services, pause, down)
	}
	r := <-sent
	close(sampleStop)
	<-sampleDone
	require.NoError(t, r.err)
	out.status503, out.retryAfter = transport.status503, transport.retryAfter
	t.Logf("crashgen: %s", r.res.Summary())
	mu.Lock()
	phase = len(faults) + 1
	mu.Unlock()

	// Wait until everything acknowledged has arrived everywhere, or the
	// settle bound passes (then the report names what is missing).
	acked := len(ackedIn)
	deadline := time.Now().Add(settle)
	var counts arrival
	for {
		counts = arrived(ctx, conn, db, store, s3cfg)
		t.Logf("settling: acknowledged %d, processed %d, ClickHouse %d, raw objects %d, processed objects %d, telemetry %d",
			acked, processed.distinct(), len(counts.ch), len(counts.raw), len(counts.proc), telemetry.distinct())
		if processed.distinct() >= acked && len(counts.ch) >= acked && len(counts.proc) >= acked && telemetry.distinct() >= acked {
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Second)
	}

	tallies := make([]*tally, len(names))
	for i := range tallies {
		tallies[i] = &tally{name: names[i]}
	}
	total := &tally{name: "total"}
	ids := make([]string, 0, len(ackedIn))
	for id := range ackedIn {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		for _, ty := range []*tally{tallies[min(ackedIn[id], len(tallies)-1)], total} {
			ty.acked++
			n := processed.count(id)
			if n > 0 {
				ty.processed++
			}
			if n > 1 {
				ty.redelivered++
			}
			rows := counts.ch[id]
			if rows > 0 {
				ty.inCH++
			}
			// A crash processed twice (its received event delivered
			// again after a processor was killed) may have a row per
			// processing until a merge; more rows than processings is
			// a sink storing one processing twice.
			if rows > max(n, 1) {
				ty.dupRows++
			}
			if counts.raw[id] {
				ty.rawObj++
			}
			if counts.proc[id] {
				ty.processedObj++
			}
			tele := telemetry.count(id) > 0
			if tele {
				ty.tele++
			}
			if n == 0 || rows == 0 || !counts.raw[id] || !counts.proc[id] || !tele {
				ty.missing++
				if len(ty.missingIDs) < 5 {
					ty.missingIDs = append(ty.missingIDs, fmt.Sprintf("%s(proc=%d ch=%d raw=%t pobj=%t tele=%t)", id, n, rows, counts.raw[id], counts.proc[id], tele))
				}
			}
		}
	}
	// Crash ids in ClickHouse that nobody acknowledged would be phantoms.
	phantoms := 0
	for id := range counts.ch {
		if _, ok := ackedIn[id]; !ok {
			phantoms++
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\n| fault | acknowledged | processed | in ClickHouse | raw in object store | processed in object store | telemetry (topic) | missing | duplicate rows | redelivered events |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, ty := range append(tallies, total) {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %d | %d | %d |\n", ty.name, ty.acked, ty.processed, ty.inCH, ty.rawObj, ty.processedObj, ty.tele, ty.missing, ty.dupRows, ty.redelivered)
	}
	fmt.Fprintf(&b, "\ncrashgen: sent %d, acknowledged %d, rejected %d (statuses %v), failed %d; 503 with Retry-After %d of %d; offered %.0f/s, acked %.1f/s, ack p50 %s p99 %s; collector peak RSS %d MiB; top_crashers_daily sum %d for %d crashes in ClickHouse; unacknowledged crash ids in ClickHouse: %d\n",
		r.res.Sent, r.res.Accepted, r.res.Rejected, r.res.Statuses, r.res.Failed, out.retryAfter, out.status503, rate,
		float64(r.res.Accepted)/r.res.Elapsed.Seconds(), quantile(r.res.Latencies, 0.5), quantile(r.res.Latencies, 0.99),
		out.collectorPeakKiB/1024, counts.aggSum, len(counts.ch), phantoms)
	for _, ty := range tallies {
		if len(ty.missingIDs) > 0 {
			fmt.Fprintf(&b, "missing in %q, e.g. %s\n", ty.name, strings.Join(ty.missingIDs, " "))
		}
	}
	t.Log(b.String())
	if sc.report != "" {
		require.NoError(t, os.WriteFile(sc.report, []byte(b.String()), 0o644))
	}
	require.Equal(t, acked, r.res.Accepted, "OnAccepted saw every acknowledged crash")
	require.Zero(t, total.missing, "acknowledged crashes missing")
	require.Zero(t, total.dupRows, "crash ids with more rows in ClickHouse than processings")
	require.Equal(t, int64(len(counts.ch)), counts.aggSum, "top_crashers_daily counts each crash once")
	for _, name := range order {
		s := services[name]
		select {
		case <-s.done:
			t.Errorf("%s exited on its own:\n%s", name, s.log.Tail(4000))
		default:
		}
	}
	return out
}

// quantile is the nearest-rank q-quantile, rounded for the report.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(int(q*float64(len(s))), len(s)-1)].Round(time.Millisecond)
}

// inject applies one fault and returns once the target is back.
func inject(t *testing.T, root, bin string, f fault, services map[string]*service, pause, down time.Duration) {
	t.Helper()
	if stackParts[f.target] {
		pidFile := filepath.Join(root, ".stack", "run", f.target+".pid")
		if d := os.Getenv("CRASHSTREAM_STACK_DIR"); d != "" {
			pidFile = filepath.Join(d, "run", f.target+".pid")
		}
		b, err := os.ReadFile(pidFile)
		require.NoError(t, err, "the stack's pid file (the stack must be started by tests/stack/stack.sh)")
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		require.NoError(t, err)
		if f.kind == "stop" {
			require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
			time.Sleep(pause)
			require.NoError(t, syscall.Kill(pid, syscall.SIGCONT))
			return
		}
		require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
		for syscall.Kill(pid, 0) == nil {
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(down)
		cmd := exec.Command(filepath.Join(root, "tests", "stack", "stack.sh"), "up")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "restarting the stack: %s", out)
		return
	}
	s, ok := services[f.target]
	require.True(t, ok, "unknown fault target %q", f.target)
	if f.kind == "stop" {
		pid := s.pid()
		require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
		time.Sleep(pause)
		require.NoError(t, syscall.Kill(pid, syscall.SIGCONT))
		return
	}
	s.kill()
	time.Sleep(down)
	require.NoError(t, s.start(context.Background(), bin))
}

// arrival is what the stores hold, per crash id.
type arrival struct {
	ch        map[string]int // rows per crash id (before merges)
	raw, proc map[string]bool
	aggSum    int64
}

// arrived reads ClickHouse and lists the buckets; errors (a store being
// restarted) leave the affected part empty, and the caller polls again.
func arrived(ctx context.Context, conn clickhouseConn, db string, store *objectstore.Client, cfg objectstore.Config) arrival {
	a := arrival{ch: map[string]int{}, raw: map[string]bool{}, proc: map[string]bool{}}
	if rows, err := conn.Query(ctx, "SELECT crash_id, count() FROM "+db+".crashes GROUP BY crash_id"); err == nil {
		for rows.Next() {
			var id string
			var n uint64
			if rows.Scan(&id, &n) == nil {
				a.ch[id] = int(n)
			}
		}
		rows.Close()
	}
	_ = conn.QueryRow(ctx, "SELECT toInt64(sum(crashes)) FROM "+db+".top_crashers_daily").Scan(&a.aggSum)
	list := func(bucket, prefix string, into map[string]bool) {
		for o, err := range store.Bucket(bucket).List(ctx, prefix) {
			if err != nil {
				return
			}
			into[o.Key[strings.LastIndexByte(o.Key, '/')+1:]] = true
		}
	}
	list(cfg.Bucket, "v1/raw_crash/", a.raw)
	list(cfg.Bucket, "v1/processed_crash/", a.proc)
	return a
}
