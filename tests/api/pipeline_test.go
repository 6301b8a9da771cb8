package api

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
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
	Signature      string   `json:"signature"`
	DateProcessed  string   `json:"date_processed"`
	ModulesInStack []string `json:"modules_in_stack"`
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
// then uploaded through the API, which re-queues the crash; the processor
// walks it again and the signature is now symbolicated, in the object store
// and in ClickHouse. Then the Reprocessing API with regenerate_signature
// gives a newer processing of the crash.
func TestLateSymbolsEndToEnd(t *testing.T) {
	e := newEnv(t)
	td := sharedTestdata(t)
	collector := freePort(t)
	e.start([]string{"collector"}, "CRASHSTREAM_COLLECTOR_ADDR="+collector)
	// The default negative cache (10 minutes) is on: the upload's
	// reprocessing requests make the processor forget its misses.
	e.start([]string{"processor"})
	e.start([]string{"sink-clickhouse"})
	e.start([]string{"sink-objectstore"})
	base := e.webapp()
	reader := e.token("reader", time.Hour, auth.ViewPII)
	uploader := e.token("uploader", time.Hour, auth.UploadSymbols)
	reproc := e.token("reprocessor", time.Hour, auth.ReprocessCrashes)

	dump, err := os.ReadFile(filepath.Join(td, "breakpad", "minidump2.dmp"))
	require.NoError(t, err)
	id := stacktest.Submit(t, "http://"+collector, map[string]string{"ProductName": "TestApp", "Version": "1.0"}, dump)
	// a crash without test_app in its stack must not be re-queued
	otherDump, err := os.ReadFile(filepath.Join(td, "breakpad", "linux_null_read_av.dmp"))
	require.NoError(t, err)
	other := stacktest.Submit(t, "http://"+collector, map[string]string{"ProductName": "TestApp", "Version": "1.0"}, otherDump)

	var first processed
	require.True(t, waitFor(120*time.Second, func() bool {
		var ok bool
		first, ok = processedCrash(t, base, reader, id)
		return ok
	}), "crash %s not processed", id)
	const symbolicated = "(anonymous namespace)::CrashFunction"
	require.NotEqual(t, symbolicated, first.Signature, "processed without symbols")
	assert.Contains(t, strings.Join(first.ModulesInStack, " "), "/5A9832E5287241C1838ED98914E9B7FF1")
	require.True(t, waitFor(120*time.Second, func() bool { return searchSignature(t, base, reader, id) == first.Signature }),
		"crash %s not in ClickHouse", id)
	require.True(t, waitFor(120*time.Second, func() bool { return searchSignature(t, base, reader, other) != "" }),
		"crash %s not in ClickHouse", other)
	t.Logf("without symbols: %q", first.Signature)

	sym, err := os.ReadFile(filepath.Join(td, "breakpad", "symbols", filepath.FromSlash(testAppKey)))
	require.NoError(t, err)
	r := call(t, "POST", base+"/api/upload-symbols", uploader, bytes.NewReader(makeZip(t, zipEntry{name: testAppKey, data: sym})))
	require.Equal(t, 201, r.code, string(r.body))
	var up struct {
		Stored   []struct{ Key string }
		Requeued struct {
			CrashIDs []string `json:"crash_ids"`
		}
	}
	r.json(t, &up)
	require.Len(t, up.Stored, 1)
	assert.Equal(t, testAppKey, up.Stored[0].Key)
	assert.Equal(t, []string{id}, up.Requeued.CrashIDs, "only the crash with test_app in its stack was re-queued")

	var second processed
	require.True(t, waitFor(120*time.Second, func() bool {
		second, _ = processedCrash(t, base, reader, id)
		return second.Signature == symbolicated
	}), "signature still %q after the symbol upload", second.Signature)
	require.True(t, waitFor(120*time.Second, func() bool { return searchSignature(t, base, reader, id) == symbolicated }),
		"ClickHouse still has the old signature")

	// Reprocessing API: a new processing with the regenerate_signature ruleset
	r = call(t, "POST", base+"/api/Reprocessing/", reproc, strings.NewReader(url.Values{"crash_ids": {id}, "ruleset": {"regenerate_signature"}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded")
	require.Equal(t, 200, r.code, string(r.body))
	var third processed
	require.True(t, waitFor(120*time.Second, func() bool {
		third, _ = processedCrash(t, base, reader, id)
		return third.DateProcessed != second.DateProcessed
	}), "no new processing after the Reprocessing call")
	assert.Equal(t, symbolicated, third.Signature, "regenerate_signature keeps the symbolicated stack")
	var pc map[string]json.RawMessage
	call(t, "GET", base+"/api/ProcessedCrash/?crash_id="+id, reader, nil).json(t, &pc)
	t.Logf("processings: %s, %s, %s; history %s", first.DateProcessed, second.DateProcessed, third.DateProcessed, pc["processor_history"])
}
