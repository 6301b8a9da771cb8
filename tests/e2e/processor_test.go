package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/streams"
	"github.com/crashstream/crashstream/tests/internal/stacktest"
	"github.com/crashstream/crashstream/tests/stackwalkcompat"
)

// golden is the part of minidump-stackwalk's output the test compares.
type golden struct {
	CrashingThread struct {
		Frames []stackwalkcompat.Frame `json:"frames"`
	} `json:"crashing_thread"`
	Modules []struct {
		Filename  string `json:"filename"`
		DebugID   string `json:"debug_id"`
		DebugFile string `json:"debug_file"`
		BaseAddr  string `json:"base_addr"`
	} `json:"modules"`
}

func loadGolden(t *testing.T) golden {
	b, err := os.ReadFile(filepath.Join(sharedTestdata(t), "rust-minidump", "minidump2.stackwalk.json.snap"))
	require.NoError(t, err)
	lines := strings.SplitN(string(b), "\n", 5) // a 4-line snapshot header
	var g golden
	require.NoError(t, json.Unmarshal([]byte(lines[4]), &g))
	return g
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// TestMinidump2EndToEnd: minidump2.dmp submitted through the collector,
// its symbols in the symbols bucket, comes out of the processor with the
// golden stack, signature and modules, and with its protected fields marked.
func TestMinidump2EndToEnd(t *testing.T) {
	e := newEnv(t)
	// The golden output was made with test_app's symbols only (kernel32's
	// frame is unsymbolized there), so upload just those.
	url, dump := e.withCollector([]string{"test_app.pdb"})
	e.start([]string{"processor"})

	id := stacktest.Submit(t, url, map[string]string{
		"ProductName": "TestApp", "Version": "1.0", "URL": "https://secret.example/path", "Comments": "it crashed",
	}, dump)

	got := e.processed(map[string]bool{id: true}, 90*time.Second)
	pc := got[id]
	require.NotNil(t, pc, "no processed crash for %s", id)
	g := loadGolden(t)

	require.Len(t, pc.CrashingThreadFrames, len(g.CrashingThread.Frames))
	for i, want := range g.CrashingThread.Frames {
		f := pc.CrashingThreadFrames[i]
		assert.Equal(t, str(want.Module), f.Module, "frame %d module", i)
		assert.Equal(t, str(want.ModuleOffset), f.ModuleOffset, "frame %d module_offset", i)
		assert.Equal(t, want.Offset, f.Offset, "frame %d offset", i)
		assert.Equal(t, str(want.Function), f.Function, "frame %d function", i)
		assert.Equal(t, str(want.FunctionOffset), f.FunctionOffset, "frame %d function_offset", i)
		assert.Equal(t, str(want.File), f.File, "frame %d file", i)
		if assert.Equal(t, want.Line == nil, f.Line == nil, "frame %d line", i) && want.Line != nil {
			assert.Equal(t, int64(*want.Line), *f.Line, "frame %d line", i)
		}
		assert.Equal(t, want.Trust, f.Trust, "frame %d trust", i)
		assert.Equal(t, want.MissingSymbols, f.MissingSymbols, "frame %d missing_symbols", i)
	}
	require.Len(t, pc.Modules, len(g.Modules))
	for i, want := range g.Modules {
		assert.Equal(t, want.Filename, pc.Modules[i].Filename)
		assert.Equal(t, want.DebugID, pc.Modules[i].DebugID)
		assert.Equal(t, want.BaseAddr, pc.Modules[i].BaseAddr)
	}
	assert.Equal(t, "(anonymous namespace)::CrashFunction", pc.Signature)
	assert.Equal(t, "EXCEPTION_ACCESS_VIOLATION_WRITE", pc.Reason)
	assert.True(t, *pc.Success)
	assert.Contains(t, pc.Modules[0].SymbolURL, "s3://", "symbols came from the symbols bucket")

	// Protected fields travel in the event (sinks and the API redact them)
	// and the field registry marks them protected.
	reg := fields.New()
	for name, value := range map[string]string{"url": pc.URL, "user_comments": pc.UserComments} {
		f, ok := reg.Lookup(name)
		require.True(t, ok, name)
		assert.False(t, f.IsPublic(), "%s must be protected", name)
		assert.NotEmpty(t, value, name)
	}
	sig, _ := reg.Lookup("signature")
	assert.True(t, sig.IsPublic())
}

// TestBadDumpsAndMissingRawCrash: corrupt, truncated and empty dumps give
// processed crashes with notes; a crash whose raw crash is missing goes to
// the dead-letter topic; and the crash after them still processes.
func TestBadDumpsAndMissingRawCrash(t *testing.T) {
	e := newEnv(t)
	url, good := e.withCollector(nil)
	e.start([]string{"processor"})
	corrupt := append([]byte(nil), good...)
	for i := 100; i < len(corrupt); i += 13 {
		corrupt[i] ^= 0x5a
	}
	ann := map[string]string{"ProductName": "TestApp", "Version": "1.0"}
	ids := map[string]string{
		"corrupt":   stacktest.Submit(t, url, ann, corrupt),
		"truncated": stacktest.Submit(t, url, ann, good[:500]),
		"empty":     stacktest.Submit(t, url, ann, []byte{}),
	}

	// A crash.received record for a crash that was never stored.
	missing := "0badc0de-0000-4000-8000-000000" + time.Now().UTC().Format("060102")
	v, err := e.serde.Marshal(&schemas.CrashReceived{CrashID: missing, SubmittedTimestamp: time.Now().UTC()})
	require.NoError(t, err)
	p, err := streams.NewProducer(streams.DefaultConfig(), streams.Options{})
	require.NoError(t, err)
	require.NoError(t, p.Send(context.Background(), e.topics.Received, []byte(missing), v))
	require.NoError(t, p.Close(context.Background()))

	ids["after"] = stacktest.Submit(t, url, ann, good)
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	got := e.processed(want, 90*time.Second)
	for kind, id := range ids {
		require.NotNil(t, got[id], "%s crash %s was not processed", kind, id)
		assert.Equal(t, "TestApp", got[id].Product, kind)
	}
	assert.Equal(t, "EmptyMinidump", got[ids["empty"]].MDSWStatusString)
	assert.Contains(t, got[ids["empty"]].ProcessorNotes, "empty")
	for _, kind := range []string{"corrupt", "truncated"} {
		pc := got[ids[kind]]
		assert.NotEmpty(t, pc.Signature, kind)
		assert.NotEmpty(t, pc.ProcessorNotes+pc.MDSWStatusString, kind)
	}
	assert.Equal(t, "(anonymous namespace)::CrashFunction", got[ids["after"]].Signature)
	assert.Nil(t, got[missing], "a crash without a raw crash is not emitted")

	dlq := e.deadLetters(1, 60*time.Second)
	require.NotEmpty(t, dlq)
	assert.Equal(t, missing, string(dlq[0].Key))
	errHeader, _ := dlq[0].Header(streams.HeaderDLQError)
	topicHeader, _ := dlq[0].Header(streams.HeaderDLQTopic)
	assert.Equal(t, e.topics.Received, string(topicHeader))
	assert.Contains(t, string(errHeader), "raw crash not found")
}

// deadLetters reads n records of the env's dead-letter topic.
func (e *env) deadLetters(n int, timeout time.Duration) []*streams.Message {
	var out []*streams.Message
	stacktest.Consume(e.t, streams.DefaultConfig(), e.prefix+"dlq-checker", e.topics.DLQ, timeout, func(m *streams.Message) bool {
		out = append(out, m)
		return len(out) >= n
	})
	return out
}

// TestKillOneOfTwoProcessors: with two processors in one group, kill -9 one
// mid-stream; every submitted crash is still processed at least once.
func TestKillOneOfTwoProcessors(t *testing.T) {
	e := newEnv(t)
	url, dump := e.withCollector(nil, "CRASHSTREAM_KAFKA_PARTITIONS=4")
	p1 := e.start([]string{"processor"})
	e.start([]string{"processor"})

	const n = 300
	want := map[string]bool{}
	for i := 0; i < n; i++ {
		id := stacktest.Submit(t, url, map[string]string{"ProductName": "TestApp", "Version": fmt.Sprint(i)},
			dump)
		want[id] = true
		if i == n/3 {
			p1.Kill()
		}
	}
	got := e.processed(want, 3*time.Minute)
	missing := 0
	for id := range want {
		if got[id] == nil {
			missing++
		}
	}
	assert.Zero(t, missing, "crashes never processed after kill -9 of one processor")
}

// TestPriorityJumpsTheBacklog: with 1,000 crashes waiting, a priority
// request for the newest one is served before the backlog drains.
func TestPriorityJumpsTheBacklog(t *testing.T) {
	e := newEnv(t)
	url, dump := e.withCollector(nil)
	const backlog = 1000
	var last string
	for i := 0; i < backlog; i++ {
		last = stacktest.Submit(t, url, map[string]string{"ProductName": "TestApp", "Version": "1.0"},
			dump)
	}
	req, err := e.serde.Marshal(&schemas.ProcessRequest{CrashID: last, Reason: "report viewed", RequestedAt: time.Now().UTC()})
	require.NoError(t, err)
	p, err := streams.NewProducer(streams.DefaultConfig(), streams.Options{})
	require.NoError(t, err)
	require.NoError(t, p.Send(context.Background(), e.topics.Priority, []byte(last), req))
	require.NoError(t, p.Close(context.Background()))

	start := time.Now()
	e.start([]string{"processor"}, "CRASHSTREAM_KAFKA_CONSUMER_CONCURRENCY=2")
	// Count how many processed events arrive before the prioritized one.
	before, seen := 0, false
	stacktest.Consume(t, streams.DefaultConfig(), e.prefix+"prio-checker", e.topics.Processed, 2*time.Minute, func(m *streams.Message) bool {
		if seen {
			return true
		}
		if string(m.Key) != last {
			before++
			return false
		}
		seen = true
		t.Logf("priority crash processed %.1fs after the processor started, after %d of %d backlog crashes", time.Since(start).Seconds(), before, backlog)
		return true
	})
	require.True(t, seen, "the prioritized crash was never processed")
	assert.Less(t, before, backlog/2, "the priority request must be served well before the backlog drains")
}
