package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/streams"
	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

// envInt reads a positive integer setting of the load test.
func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	require.NoError(t, err, name)
	require.Positive(t, n, name)
	return n
}

// TestReprocessJobLoad: a symbol upload's reprocess job over many affected
// crashes runs at its configured rate while new crashes keep arriving, and
// every new crash is still processed; the new crashes' latency (submission
// to crash.processed.v1) before and during the job is logged, for
// BENCHMARKS.md. make test runs a small job (200 crashes at 50/s); the
// recorded run sets CRASHSTREAM_REPROCESS_LOAD=10000 (and optionally
// CRASHSTREAM_REPROCESS_RATE, CRASHSTREAM_REPROCESS_NEW).
//
// The affected crashes are seeded as a processing without symbols leaves
// them: one crash is submitted and processed without test_app's symbols,
// then its raw crash, dump and ClickHouse row are copied under N new crash
// ids. The job then reprocesses every copy through the real processor.
func TestReprocessJobLoad(t *testing.T) {
	n := envInt(t, "CRASHSTREAM_REPROCESS_LOAD", 200)
	rate := envInt(t, "CRASHSTREAM_REPROCESS_RATE", 50)
	fresh := envInt(t, "CRASHSTREAM_REPROCESS_NEW", 20)
	e := newEnv(t)
	td := sharedTestdata(t)
	collector, base := e.pipeline("CRASHSTREAM_WEBAPP_SYMBOLS_REPROCESS_RATE=" + strconv.Itoa(rate))
	reader := e.token("reader", time.Hour, auth.ViewPII)
	uploader := e.token("uploader", time.Hour, auth.UploadSymbols)

	otherDump, err := os.ReadFile(filepath.Join(td, "breakpad", "linux_null_read_av.dmp"))
	require.NoError(t, err)
	seed, _ := submitTestAppCrash(t, td, collector, base, reader)

	// N copies of the seed: raw crash, dump names, dump, ClickHouse row
	start := time.Now()
	ids := seedCopies(t, e, seed, n)
	t.Logf("seeded %d affected crashes in %s", n, time.Since(start).Round(time.Millisecond))

	// new crashes' latency, read on crash.processed.v1 (seen: the first
	// processed record of every crash id)
	var mu sync.Mutex
	submitted, seen := map[string]time.Time{}, map[string]time.Time{}
	cctx, stopConsumer := context.WithCancel(context.Background())
	consumer, err := streams.NewConsumer(e.Kafka, streams.ConsumerOptions{
		Options: streams.Options{Logger: zerolog.Nop()}, Group: unique(e.ID + ".latency"), Topics: []string{e.topics.Processed},
	}, streams.HandlerFunc(func(_ context.Context, m *streams.Message) error {
		mu.Lock()
		defer mu.Unlock()
		if _, dup := seen[string(m.Key)]; !dup {
			seen[string(m.Key)] = time.Now()
		}
		return nil
	}))
	require.NoError(t, err)
	consumed := make(chan error, 1)
	go func() { consumed <- consumer.Run(cctx) }()
	defer func() { stopConsumer(); <-consumed }()
	submitNew := func(count int, every time.Duration) []string {
		var out []string
		for range count {
			at := time.Now()
			id := stacktest.Submit(t, collector, map[string]string{"ProductName": "TestApp", "Version": "2.0"}, otherDump)
			mu.Lock()
			submitted[id] = at
			mu.Unlock()
			out = append(out, id)
			time.Sleep(every)
		}
		return out
	}
	latencies := func(ids []string) []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		var out []time.Duration
		for _, id := range ids {
			if s, ok := seen[id]; ok {
				out = append(out, s.Sub(submitted[id]))
			}
		}
		slices.Sort(out)
		return out
	}
	before := submitNew(fresh, 250*time.Millisecond)
	t.Logf("%d new crashes submitted before the job", fresh)

	sym, err := os.ReadFile(filepath.Join(td, "breakpad", "symbols", filepath.FromSlash(testAppKey)))
	require.NoError(t, err)
	r := call(t, "POST", base+"/api/upload-symbols", uploader, bytes.NewReader(makeZip(t, zipEntry{name: testAppKey, data: sym})))
	require.Equal(t, 201, r.code, string(r.body))
	var up uploadAnswer
	r.json(t, &up)
	require.Len(t, up.Jobs, 1)
	jobStart := time.Now()
	// new crashes while the job sends, spread over its expected duration
	expected := time.Duration(float64(n)/float64(rate)*float64(time.Second)) + 10*time.Second
	during := submitNew(fresh, max(250*time.Millisecond, expected/time.Duration(2*fresh)))
	t.Logf("%d new crashes submitted during the job", fresh)

	var j reprocessJob
	require.True(t, waitFor(time.Duration(float64(n)/float64(rate)*3*float64(time.Second))+5*time.Minute, func() bool {
		j = reprocessJobOf(t, base, uploader, up.Jobs[0].ID)
		return j.State == "finished"
	}), "job %+v not finished", j)
	allSeen := func() bool {
		mu.Lock()
		defer mu.Unlock()
		for id := range submitted {
			if _, ok := seen[id]; !ok {
				return false
			}
		}
		return true
	}
	require.True(t, waitFor(5*time.Minute, allSeen), "new crashes not all processed")
	want := min(n+1, 10000) // the seed and its copies, at most -webapp.symbols.requeue-max
	assert.Equal(t, want, j.Found)
	assert.Equal(t, n+1 > want, j.Truncated)
	assert.Equal(t, want, j.Sent)
	assert.Equal(t, want, j.Done, "every crash of the job processed again")
	sendTime := j.AllSent.Sub(j.Created)
	lb, ld := latencies(before), latencies(during)
	require.Len(t, lb, fresh, "every new crash before the job processed")
	require.Len(t, ld, fresh, "every new crash during the job processed")
	t.Logf("job: %d crashes, rate setting %d/s: all sent %s after the job began (%.1f/s), done %d, finished %s after the upload",
		want, rate, sendTime.Round(time.Second), float64(want)/sendTime.Seconds(), j.Done, time.Since(jobStart).Round(time.Second))
	t.Logf("new crashes before the job: p50 %s p95 %s max %s", pct(lb, 50), pct(lb, 95), lb[len(lb)-1])
	t.Logf("new crashes during the job: p50 %s p95 %s max %s", pct(ld, 50), pct(ld, 95), ld[len(ld)-1])
	// a copy sent (the cap leaves out the largest ids of equal submission time): its row is symbolicated
	assert.Equal(t, testAppSignature, searchSignature(t, base, reader, slices.Min(ids)))
}

func pct(d []time.Duration, p int) time.Duration {
	return d[min(len(d)-1, len(d)*p/100)].Round(time.Millisecond)
}

// seedCopies copies the seed crash's raw crash, dump names and dump under
// n new ids of the same day, and its processed crash's ClickHouse row.
func seedCopies(t *testing.T, e *env, seed string, n int) []string {
	ctx := context.Background()
	rawKey, _ := objectstore.RawCrashKey(seed)
	raw, err := e.Crashes.GetBytes(ctx, rawKey, 1<<20)
	require.NoError(t, err)
	namesKey, _ := objectstore.DumpNamesKey(seed)
	names, err := e.Crashes.GetBytes(ctx, namesKey, 1<<20)
	require.NoError(t, err)
	dumpKey, _ := objectstore.DumpKey(objectstore.MainDumpName, seed)
	dump, err := e.Crashes.GetBytes(ctx, dumpKey, 64<<20)
	require.NoError(t, err)
	pcKey, _ := objectstore.ProcessedCrashKey(seed)
	pcJSON, err := e.Crashes.GetBytes(ctx, pcKey, 64<<20)
	require.NoError(t, err)
	var pc schemas.ProcessedCrash
	require.NoError(t, json.Unmarshal(pcJSON, &pc))
	require.NotEmpty(t, pc.MissingSymbolsModules)
	day, err := objectstore.CrashDate(seed)
	require.NoError(t, err)

	ids := make([]string, n)
	for i := range ids {
		ids[i] = stacktest.CrashID(day)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			for _, o := range []struct {
				key func(string) (string, error)
				b   []byte
			}{
				{func(id string) (string, error) { return objectstore.DumpKey(objectstore.MainDumpName, id) }, dump},
				{objectstore.DumpNamesKey, names},
				{objectstore.RawCrashKey, bytes.ReplaceAll(raw, []byte(seed), []byte(id))},
			} {
				k, err := o.key(id)
				if err == nil {
					err = e.Crashes.PutBytes(ctx, k, o.b, "application/octet-stream")
				}
				if err != nil {
					errs <- fmt.Errorf("%s: %w", k, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	table, w := e.Writer(t, nil)
	for startAt := 0; startAt < n; startAt += 1000 {
		var rows []clickhouse.Row
		for _, id := range ids[startAt:min(startAt+1000, n)] {
			c := pc
			c.CrashID, c.UUID = id, id
			row, err := table.Row(&c)
			require.NoError(t, err)
			rows = append(rows, row)
		}
		require.NoError(t, w.Write(ctx, rows))
	}
	return ids
}
