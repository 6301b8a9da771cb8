package processor

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/protocol"
	"github.com/crashstream/crashstream/schemas/registry"
	"github.com/crashstream/crashstream/services/lib/repotest"
	"github.com/crashstream/crashstream/services/lib/stackwalk"
	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/streams"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type memStore struct{ objs map[string][]byte }

func (s memStore) GetBytes(_ context.Context, key string, max int64) ([]byte, error) {
	b, ok := s.objs[key]
	if !ok {
		return nil, objectstore.ErrNotFound
	}
	if int64(len(b)) > max {
		return nil, objectstore.ErrTooLarge
	}
	return b, nil
}

type sent struct {
	topic      string
	key, value []byte
}

type memPublisher struct {
	mu   sync.Mutex
	sent []sent
}

func (p *memPublisher) Send(_ context.Context, topic string, key, value []byte, _ ...streams.Header) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = append(p.sent, sent{topic, key, value})
	return nil
}

const crashID = "de1bb258-cbbf-4589-a673-34f800160918"

func setup(t *testing.T, objs map[string][]byte) (*Processor, *memPublisher, *registry.Serde) {
	t.Helper()
	td := repotest.SharedTestdata(t)
	serde, err := registry.NewStaticSerde()
	require.NoError(t, err)
	pub := &memPublisher{}
	cfg := Config{Group: "processor", PriorityGroup: "processor-priority", MaxRawCrashBytes: 1 << 20, HangGrace: time.Second,
		Stackwalk: stackwalk.Config{Timeout: time.Minute, MaxDumpBytes: 64 << 20, MaxFrames: 100000}}
	cfg.Symbols.Paths = []string{filepath.Join(td, "breakpad", "symbols")}
	cfg.Symbols.FetchTimeout = time.Minute
	require.NoError(t, cfg.Validate())
	p, err := New(cfg, Deps{Store: memStore{objs}, Publisher: pub, Serde: serde, Topics: streams.NewTopics(""),
		Registry: prometheus.NewRegistry()})
	require.NoError(t, err)
	return p, pub, serde
}

func storedCrash(t *testing.T) map[string][]byte {
	dump, err := os.ReadFile(filepath.Join(repotest.SharedTestdata(t), "breakpad", "minidump2.dmp"))
	require.NoError(t, err)
	raw, _ := json.Marshal(map[string]any{"ProductName": "TestApp", "Version": "1.0", "URL": "https://private.example",
		"submitted_timestamp": "2016-09-18T10:00:00Z", "uuid": crashID})
	return map[string][]byte{
		"v1/raw_crash/20160918/" + crashID: raw,
		"v1/dump_names/" + crashID:         []byte(`["upload_file_minidump"]`),
		"v1/dump/" + crashID:               dump,
	}
}

func received(t *testing.T, serde *registry.Serde, id string) *streams.Message {
	v, err := serde.Marshal(&schemas.CrashReceived{CrashID: id, SubmittedTimestamp: time.Now().UTC()})
	require.NoError(t, err)
	return &streams.Message{Topic: "crash.received.v1", Key: []byte(id), Value: v}
}

func TestHandleReceivedPublishesProcessedCrash(t *testing.T) {
	p, pub, serde := setup(t, storedCrash(t))
	require.NoError(t, p.Handle(context.Background(), received(t, serde, crashID)))
	require.Len(t, pub.sent, 1)
	assert.Equal(t, "crash.processed.v1", pub.sent[0].topic)
	assert.Equal(t, crashID, string(pub.sent[0].key))
	var pc schemas.ProcessedCrash
	require.NoError(t, serde.Unmarshal(context.Background(), pub.sent[0].value, &pc))
	assert.Equal(t, crashID, pc.CrashID)
	assert.Equal(t, "TestApp", pc.Product)
	assert.Equal(t, "(anonymous namespace)::CrashFunction", pc.Signature)
	assert.Equal(t, "https://private.example", pc.URL)
	assert.Equal(t, "test_app.exe", pc.CrashingThreadFrames[0].Module)
	assert.NotEmpty(t, pc.JSONDump)
}

// The crash.received event lists the stored dumps, so the processor does
// not read dump_names for a new crash: here there is none to read.
func TestHandleReceivedReadsTheEventsDumps(t *testing.T) {
	objs := storedCrash(t)
	delete(objs, "v1/dump_names/"+crashID)
	p, pub, serde := setup(t, objs)
	v, err := serde.Marshal(&schemas.CrashReceived{CrashID: crashID, SubmittedTimestamp: time.Now().UTC(),
		Dumps: []schemas.Dump{{Name: "dump", Size: int64(len(objs["v1/dump/"+crashID]))}}})
	require.NoError(t, err)
	require.NoError(t, p.Handle(context.Background(), &streams.Message{Topic: "crash.received.v1", Key: []byte(crashID), Value: v}))
	require.Len(t, pub.sent, 1)
	var pc schemas.ProcessedCrash
	require.NoError(t, serde.Unmarshal(context.Background(), pub.sent[0].value, &pc))
	assert.Equal(t, "(anonymous namespace)::CrashFunction", pc.Signature)
	assert.NotContains(t, pc.ProcessorNotes, "dump_names")

	// without the list (an event of a crash without dumps, or a
	// reprocessing) dump_names is what says there are none
	pub.sent = nil
	require.NoError(t, p.Handle(context.Background(), received(t, serde, crashID)))
	require.Len(t, pub.sent, 1)
	require.NoError(t, serde.Unmarshal(context.Background(), pub.sent[0].value, &pc))
	assert.Contains(t, pc.ProcessorNotes, "dump_names missing")
}

func TestHandlePermanentFailures(t *testing.T) {
	p, pub, serde := setup(t, storedCrash(t))
	ctx := context.Background()
	err := p.Handle(ctx, &streams.Message{Topic: "crash.received.v1", Value: []byte("garbage")})
	assert.True(t, streams.IsPermanent(err), "undecodable event: %v", err)
	err = p.Handle(ctx, received(t, serde, "11111111-2222-3333-4444-555555160918"))
	assert.True(t, streams.IsPermanent(err), "missing raw crash: %v", err)
	assert.ErrorIs(t, err, errMissingRawCrash)
	err = p.Handle(ctx, received(t, serde, "not-a-crash-id"))
	assert.True(t, streams.IsPermanent(err), "invalid id: %v", err)
	req, _ := serde.Marshal(&schemas.ProcessRequest{CrashID: crashID, Ruleset: "nope"})
	err = p.Handle(ctx, &streams.Message{Topic: "crash.reprocess.v1", Value: req})
	assert.True(t, streams.IsPermanent(err), "unknown ruleset: %v", err)
	assert.Empty(t, pub.sent)
}

func TestRegenerateSignatureUsesStoredProcessedCrash(t *testing.T) {
	objs := storedCrash(t)
	p, pub, serde := setup(t, objs)
	ctx := context.Background()
	require.NoError(t, p.Handle(ctx, received(t, serde, crashID)))
	var first schemas.ProcessedCrash
	require.NoError(t, serde.Unmarshal(ctx, pub.sent[0].value, &first))
	first.Signature = "stale signature"
	stored, err := json.Marshal(first)
	require.NoError(t, err)
	objs["v1/processed_crash/"+crashID] = stored
	delete(objs, "v1/dump/"+crashID) // proves the dump is not re-read

	req, _ := serde.Marshal(&schemas.ProcessRequest{CrashID: crashID, Ruleset: "regenerate_signature"})
	require.NoError(t, p.Handle(ctx, &streams.Message{Topic: "crash.reprocess.v1", Value: req}))
	require.Len(t, pub.sent, 2)
	var again schemas.ProcessedCrash
	require.NoError(t, serde.Unmarshal(ctx, pub.sent[1].value, &again))
	assert.Equal(t, "(anonymous namespace)::CrashFunction", again.Signature)
	assert.Equal(t, "TestApp", again.Product)
	assert.True(t, again.DateProcessed.After(first.DateProcessed) || again.DateProcessed.Equal(first.DateProcessed))
}

// TestSymbolUploadForgetsMisses: a crash processed before its symbols were
// uploaded is symbolicated when the upload's reprocessing request arrives,
// even though the miss is still remembered.
func TestSymbolUploadForgetsMisses(t *testing.T) {
	objs := storedCrash(t)
	p, pub, serde := setup(t, objs)
	ctx := context.Background()
	// No local symbols, a long negative TTL, symbols "uploaded" later to a
	// directory the supplier reads.
	dir := t.TempDir()
	cfg := p.cfg
	cfg.Symbols.Paths = []string{dir}
	cfg.Symbols.NegativeTTL = time.Hour
	deps := p.deps
	deps.Registry = prometheus.NewRegistry()
	p2, err := New(cfg, deps)
	require.NoError(t, err)
	require.NoError(t, p2.Handle(ctx, received(t, serde, crashID)))
	var first schemas.ProcessedCrash
	require.NoError(t, serde.Unmarshal(ctx, pub.sent[0].value, &first))
	assert.Equal(t, "test_app.exe", first.Signature, "no symbols yet")
	assert.Equal(t, []string{"kernel32.pdb/BCE8785C57B44245A669896B6A19B9542", "test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1"},
		first.MissingSymbolsModules)
	assert.Empty(t, first.ReprocessReason, "a first processing")

	require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join(repotest.SharedTestdata(t), "breakpad", "symbols"))))
	req, _ := serde.Marshal(&schemas.ProcessRequest{CrashID: crashID, Reason: "report viewed", RequestedAt: time.Now().UTC()})
	require.NoError(t, p2.Handle(ctx, &streams.Message{Topic: "crash.reprocess.v1", Value: req}))
	var stale schemas.ProcessedCrash
	require.NoError(t, serde.Unmarshal(ctx, pub.sent[1].value, &stale))
	assert.Equal(t, "test_app.exe", stale.Signature, "the miss is remembered for other reprocessing")

	req, _ = serde.Marshal(&schemas.ProcessRequest{CrashID: crashID, Reason: protocol.ReasonSymbols, RequestedAt: time.Now().UTC(),
		Detail: "symbols for test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1 (reprocess job j1)", RequestedBy: "upload-symbols:alice"})
	require.NoError(t, p2.Handle(ctx, &streams.Message{Topic: "crash.reprocess.v1", Value: req}))
	var fixed schemas.ProcessedCrash
	require.NoError(t, serde.Unmarshal(ctx, pub.sent[2].value, &fixed))
	assert.Equal(t, "(anonymous namespace)::CrashFunction", fixed.Signature)
	assert.Empty(t, fixed.MissingSymbolsModules, "with test_app's symbols (CFI) the crashing stack no longer meets kernel32")
	const why = "symbols: symbols for test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1 (reprocess job j1) (requested by upload-symbols:alice)"
	assert.Equal(t, why, fixed.ReprocessReason)
	assert.True(t, strings.HasPrefix(fixed.ProcessorNotes, "reprocessed: "+why), fixed.ProcessorNotes)
}
