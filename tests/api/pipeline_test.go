package api

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/auth"
	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

// waitFor polls until ok returns true or the bound passes; it reports
// whether ok held (a bounded wait for asynchronous processing, not a
// timing assertion).
func waitFor(bound time.Duration, ok func() bool) bool {
	deadline := time.Now().Add(bound)
	for time.Now().Before(deadline) {
		if ok() {
			return true
		}
		time.Sleep(500 * time.Millisecond)
	}
	return ok()
}

type processed struct {
	Signature       string   `json:"signature"`
	DateProcessed   string   `json:"date_processed"`
	ModulesInStack  []string `json:"modules_in_stack"`
	ReprocessReason string   `json:"reprocess_reason"`
	ProcessorNotes  string   `json:"processor_notes"`
}

// uploadAnswer is the symbol upload's answer.
type uploadAnswer struct {
	Stored []struct{ Key string }
	Jobs   []struct {
		ID, Module string
		New        bool
	} `json:"reprocess_jobs"`
}

// reprocessJob is a ReprocessJobs record's figures.
type reprocessJob struct {
	ID, Module, State, Source string
	Found, Sent, Done         int
	Truncated                 bool
	Created                   time.Time
	AllSent                   time.Time `json:"all_sent"`
}

func reprocessJobOf(t *testing.T, base, token, id string) reprocessJob {
	r := call(t, "GET", base+"/api/ReprocessJobs/?id="+id, token, nil)
	require.Equal(t, 200, r.code, string(r.body))
	var j reprocessJob
	r.json(t, &j)
	return j
}

// topCrashers is TestApp's top crashers of the last 7 days: signature ->
// count.
func topCrashers(t *testing.T, base, token string) map[string]int64 {
	r := call(t, "GET", base+"/api/TopCrashers/?product=TestApp&days=7", token, nil)
	require.Equal(t, 200, r.code, string(r.body))
	var res struct {
		Crashes []struct {
			Signature string
			Count     int64
		}
	}
	r.json(t, &res)
	out := map[string]int64{}
	for _, c := range res.Crashes {
		out[c.Signature] = c.Count
	}
	return out
}

func processedCrash(t *testing.T, base, token, id string) (processed, bool) {
	r := call(t, "GET", base+"/api/ProcessedCrash/?crash_id="+id, token, nil)
	if r.code != 200 {
		return processed{}, false
	}
	var p processed
	r.json(t, &p)
	return p, true
}

// pipeline starts the collector, the processor, both sinks and the webapp
// (webappEnv added to its environment); it returns the collector's and the
// webapp's base URLs.
func (e *env) pipeline(webappEnv ...string) (collector, base string) {
	return e.pipelineEnv(nil, webappEnv...)
}

// pipelineEnv is pipeline with processorEnv added to the processor's
// environment.
func (e *env) pipelineEnv(processorEnv []string, webappEnv ...string) (collector, base string) {
	addr := freePort(e.t)
	e.start([]string{"collector"}, "CRASHSTREAM_COLLECTOR_ADDR="+addr)
	e.start([]string{"processor"}, processorEnv...)
	e.start([]string{"sink-clickhouse"})
	e.start([]string{"sink-objectstore"})
	return "http://" + addr, e.webapp(webappEnv...)
}

// waitProcessed waits (bounded) for the crash's processed crash.
func waitProcessed(t *testing.T, base, token, id string) processed {
	var p processed
	require.True(t, waitFor(120*time.Second, func() bool {
		var ok bool
		p, ok = processedCrash(t, base, token, id)
		return ok
	}), "crash %s not processed", id)
	return p
}

// testAppSignature is the signature of minidump2.dmp, a crash in test_app,
// once test_app's symbols (testAppKey) are found.
const testAppSignature = "(anonymous namespace)::CrashFunction"

// submitTestAppCrash submits minidump2.dmp (from the shared test data td)
// as TestApp 1.0 and waits until it is processed and ClickHouse has it; it
// returns the crash id and that first processing. The reprocessing tests
// start from it: test_app's symbols are not in the stack yet.
func submitTestAppCrash(t *testing.T, td, collector, base, reader string) (string, processed) {
	t.Helper()
	dump, err := os.ReadFile(filepath.Join(td, "breakpad", "minidump2.dmp"))
	require.NoError(t, err)
	id := stacktest.Submit(t, collector, map[string]string{"ProductName": "TestApp", "Version": "1.0"}, dump)
	first := waitProcessed(t, base, reader, id)
	require.True(t, waitFor(120*time.Second, func() bool { return searchSignature(t, base, reader, id) == first.Signature }),
		"crash %s not in ClickHouse", id)
	return id, first
}

// searchSignature is the crash's signature as ClickHouse (Super Search)
// has it, "" until the sink wrote it.
func searchSignature(t *testing.T, base, token, id string) string {
	r := call(t, "GET", base+"/api/SuperSearch/?uuid="+id+"&_columns=signature&_facets=signature", token, nil)
	require.Equal(t, 200, r.code, string(r.body))
	var res struct {
		Hits []struct{ Signature string } `json:"hits"`
	}
	r.json(t, &res)
	if len(res.Hits) == 0 {
		return ""
	}
	return res.Hits[0].Signature
}

// TestLateSymbolsEndToEnd runs the pipeline as subprocesses (collector,
// processor, ClickHouse and object-store sinks, webapp): minidump2.dmp is
// processed without symbols (unsymbolicated signature); its symbols are
// then uploaded through the API, whose reprocess job re-queues the crash; the processor
// walks it again and the signature is now symbolicated, in the object store
// and in ClickHouse; top crashers moves the crash to the new signature,
// counted once; the upload's reprocess job shows its figures, and the same
// file uploaded again starts no new job. Then the Reprocessing API with
// regenerate_signature gives a newer processing of the crash.
func TestLateSymbolsEndToEnd(t *testing.T) {
	e := newEnv(t)
	td := sharedTestdata(t)
	// The default negative cache (10 minutes) is on: the upload's
	// reprocessing requests make the processor forget its misses.
	collector, base := e.pipeline()
	reader := e.token("reader", time.Hour, auth.ViewPII)
	uploader := e.token("uploader", time.Hour, auth.UploadSymbols)
	reproc := e.token("reprocessor", time.Hour, auth.ReprocessCrashes)

	// a crash without test_app in its stack must not be re-queued
	otherDump, err := os.ReadFile(filepath.Join(td, "breakpad", "linux_null_read_av.dmp"))
	require.NoError(t, err)
	other := stacktest.Submit(t, collector, map[string]string{"ProductName": "TestApp", "Version": "1.0"}, otherDump)

	id, first := submitTestAppCrash(t, td, collector, base, reader)
	require.NotEqual(t, testAppSignature, first.Signature, "processed without symbols")
	assert.Contains(t, strings.Join(first.ModulesInStack, " "), "/5A9832E5287241C1838ED98914E9B7FF1")
	require.True(t, waitFor(120*time.Second, func() bool { return searchSignature(t, base, reader, other) != "" }),
		"crash %s not in ClickHouse", other)
	t.Logf("without symbols: %q", first.Signature)

	otherSig := searchSignature(t, base, reader, other)
	assert.Equal(t, map[string]int64{first.Signature: 1, otherSig: 1}, topCrashers(t, base, reader))

	sym, err := os.ReadFile(filepath.Join(td, "breakpad", "symbols", filepath.FromSlash(testAppKey)))
	require.NoError(t, err)
	upload := func() uploadAnswer {
		r := call(t, "POST", base+"/api/upload-symbols", uploader, bytes.NewReader(makeZip(t, zipEntry{name: testAppKey, data: sym})))
		require.Equal(t, 201, r.code, string(r.body))
		var up uploadAnswer
		r.json(t, &up)
		return up
	}
	up := upload()
	require.Len(t, up.Stored, 1)
	assert.Equal(t, testAppKey, up.Stored[0].Key)
	require.Len(t, up.Jobs, 1, "one job per stored file")
	job := up.Jobs[0]
	assert.True(t, job.New)
	assert.Equal(t, "test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1", job.Module)

	var second processed
	require.True(t, waitFor(120*time.Second, func() bool {
		second, _ = processedCrash(t, base, reader, id)
		return second.Signature == testAppSignature
	}), "signature still %q after the symbol upload", second.Signature)
	assert.Contains(t, second.ReprocessReason, "symbols for test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1 arrived (reprocess job "+job.ID+")")
	assert.Contains(t, second.ReprocessReason, "upload-symbols:uploader")
	assert.True(t, strings.HasPrefix(second.ProcessorNotes, "reprocessed: symbols: "), second.ProcessorNotes)
	require.True(t, waitFor(120*time.Second, func() bool { return searchSignature(t, base, reader, id) == testAppSignature }),
		"ClickHouse still has the old signature")
	// the crashes row is written before the aggregates' -1 for the old
	// signature: wait (bounded) for both, then check nothing more comes
	moved := map[string]int64{testAppSignature: 1, otherSig: 1}
	assert.True(t, waitFor(60*time.Second, func() bool { return maps.Equal(moved, topCrashers(t, base, reader)) }),
		"the reprocessed crash moved to the new signature, counted once: %v", topCrashers(t, base, reader))

	// the job's figures: one crash found (the other never missed test_app), sent, done
	var jr reprocessJob
	require.True(t, waitFor(120*time.Second, func() bool {
		jr = reprocessJobOf(t, base, uploader, job.ID)
		return jr.State == "finished"
	}), "job %+v not finished", jr)
	assert.Equal(t, reprocessJob{ID: job.ID, Module: job.Module, State: "finished", Found: 1, Sent: 1, Done: 1, Source: "upload-symbols:uploader"},
		reprocessJob{ID: jr.ID, Module: jr.Module, State: jr.State, Found: jr.Found, Sent: jr.Sent, Done: jr.Done, Source: jr.Source})
	assert.Equal(t, 403, call(t, "GET", base+"/api/ReprocessJobs/", reader, nil).code, "the jobs need upload_symbols")
	var list struct{ Hits []reprocessJob }
	call(t, "GET", base+"/api/ReprocessJobs/", uploader, nil).json(t, &list)
	require.Len(t, list.Hits, 1)
	assert.Equal(t, job.ID, list.Hits[0].ID)

	// the same file again starts no new job, and sends nothing
	again := upload()
	require.Len(t, again.Jobs, 1)
	assert.Equal(t, job.ID, again.Jobs[0].ID)
	assert.False(t, again.Jobs[0].New)
	call(t, "GET", base+"/api/ReprocessJobs/", uploader, nil).json(t, &list)
	assert.Len(t, list.Hits, 1)
	assert.Equal(t, 1, reprocessJobOf(t, base, uploader, job.ID).Sent)
	assert.Equal(t, moved, topCrashers(t, base, reader), "still counted once")

	// Reprocessing API: a new processing with the regenerate_signature ruleset
	r := call(t, "POST", base+"/api/Reprocessing/", reproc, strings.NewReader(url.Values{"crash_ids": {id}, "ruleset": {"regenerate_signature"}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded")
	require.Equal(t, 200, r.code, string(r.body))
	var third processed
	require.True(t, waitFor(120*time.Second, func() bool {
		third, _ = processedCrash(t, base, reader, id)
		return third.DateProcessed != second.DateProcessed
	}), "no new processing after the Reprocessing call")
	assert.Equal(t, testAppSignature, third.Signature, "regenerate_signature keeps the symbolicated stack")
	var pc map[string]json.RawMessage
	call(t, "GET", base+"/api/ProcessedCrash/?crash_id="+id, reader, nil).json(t, &pc)
	t.Logf("processings: %s, %s, %s; history %s", first.DateProcessed, second.DateProcessed, third.DateProcessed, pc["processor_history"])
}

// TestSymbolsBucketStartsJob: a .sym file written straight into the
// symbols bucket (no API call) is found by the webapp's bucket listing,
// whose reprocess job fixes the crash that missed it.
func TestSymbolsBucketStartsJob(t *testing.T) {
	e := newEnv(t)
	td := sharedTestdata(t)
	collector, base := e.pipeline("CRASHSTREAM_WEBAPP_SYMBOLS_SCAN_PERIOD=2s")
	reader := e.token("reader", time.Hour, auth.ViewPII)
	uploader := e.token("uploader", time.Hour, auth.UploadSymbols)
	id, _ := submitTestAppCrash(t, td, collector, base, reader)

	sym, err := os.ReadFile(filepath.Join(td, "breakpad", "symbols", filepath.FromSlash(testAppKey)))
	require.NoError(t, err)
	require.NoError(t, e.Symbols.PutBytes(context.Background(), testAppKey, sym, "text/plain"))
	require.True(t, waitFor(120*time.Second, func() bool { return searchSignature(t, base, reader, id) == testAppSignature }),
		"the bucket's new file did not fix the crash")
	var list struct{ Hits []reprocessJob }
	call(t, "GET", base+"/api/ReprocessJobs/", uploader, nil).json(t, &list)
	require.Len(t, list.Hits, 1)
	assert.Equal(t, "symbols-bucket", list.Hits[0].Source)
	assert.Equal(t, "test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1", list.Hits[0].Module)
	p, _ := processedCrash(t, base, reader, id)
	assert.Contains(t, p.ReprocessReason, "(requested by symbols-bucket)")
}

// TestSymbolServerStartsJob: symbols that appear on an HTTP symbol server
// (one the processor reads, -symbols.url) fix the crashes that missed
// them by themselves: the webapp's probe asks the server (404 at first),
// and once the server has the file it starts a reprocess job (source
// symbol-server) that makes the processor fetch it; another webapp
// replica asking again starts no second job.
func TestSymbolServerStartsJob(t *testing.T) {
	e := newEnv(t)
	td := sharedTestdata(t)
	sym, err := os.ReadFile(filepath.Join(td, "breakpad", "symbols", filepath.FromSlash(testAppKey)))
	require.NoError(t, err)
	var serving atomic.Bool
	var heads, gets atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			heads.Add(1)
		} else {
			gets.Add(1)
		}
		if r.URL.Path != "/"+testAppKey || !serving.Load() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", `"test-app-v1"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(sym)))
		if r.Method != http.MethodHead {
			_, _ = w.Write(sym)
		}
	}))
	defer srv.Close()
	probe := []string{"CRASHSTREAM_WEBAPP_SYMBOLS_URL=" + srv.URL, "CRASHSTREAM_WEBAPP_SYMBOLS_PROBE_PERIOD=1s",
		"CRASHSTREAM_WEBAPP_SYMBOLS_PROBE_RECHECK=1s", "CRASHSTREAM_WEBAPP_SYMBOLS_SCAN_PERIOD=0"}
	collector, base := e.pipelineEnv([]string{"CRASHSTREAM_SYMBOLS_URL=" + srv.URL}, probe...)
	reader := e.token("reader", time.Hour, auth.ViewPII)
	uploader := e.token("uploader", time.Hour, auth.UploadSymbols)
	id, first := submitTestAppCrash(t, td, collector, base, reader)
	require.NotEqual(t, testAppSignature, first.Signature, "processed without symbols")
	assert.Positive(t, gets.Load(), "the processor asked the symbol server")

	// the probe asks about the module and is told 404: no job
	asked := heads.Load()
	require.True(t, waitFor(30*time.Second, func() bool { return heads.Load() > asked }), "the probe did not ask the server")
	type job struct {
		reprocessJob
		SymbolsKey string `json:"symbols_key"`
		ETag       string `json:"etag"`
	}
	jobs := func() []job {
		var list struct{ Hits []job }
		call(t, "GET", base+"/api/ReprocessJobs/", uploader, nil).json(t, &list)
		return list.Hits
	}
	assert.Empty(t, jobs(), "a 404 starts no job")

	serving.Store(true)
	require.True(t, waitFor(120*time.Second, func() bool { return searchSignature(t, base, reader, id) == testAppSignature }),
		"the symbol server's new file did not fix the crash")
	list := jobs()
	require.Len(t, list, 1)
	assert.Equal(t, "symbol-server", list[0].Source)
	assert.Equal(t, "test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1", list[0].Module)
	assert.Equal(t, srv.URL+"/"+testAppKey, list[0].SymbolsKey)
	assert.Equal(t, "test-app-v1", list[0].ETag)
	p, _ := processedCrash(t, base, reader, id)
	assert.Contains(t, p.ReprocessReason, "(requested by symbol-server)")

	// another replica (a fresh probe, nothing remembered) asks again and
	// finds the same file: no second job
	asked = heads.Load()
	e.webapp(probe...)
	require.True(t, waitFor(30*time.Second, func() bool { return heads.Load() > asked }), "the second replica did not probe")
	time.Sleep(2 * time.Second) // a further round of both replicas
	list = jobs()
	require.Len(t, list, 1, "the same file starts no second job")
	assert.Equal(t, "symbol-server", list[0].Source)
}
