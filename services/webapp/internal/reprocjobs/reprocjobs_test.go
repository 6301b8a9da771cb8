package reprocjobs

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/objectstoretest"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/objectstore"
)

// finder knows which crashes miss which module; every sent crash counts
// as reprocessed.
type finder struct {
	mu      sync.Mutex
	crashes map[string][]clickhouse.MissingSymbolsCrash
	sent    map[string]bool
	lookups int
	// modules are the modules missing symbols, most affected first.
	modules    []string
	modulesErr error
}

func (f *finder) CrashesMissingSymbols(_ context.Context, module string, _ time.Time, limit int) ([]clickhouse.MissingSymbolsCrash, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	cs := f.crashes[module]
	if len(cs) > limit {
		return cs[:limit], true, nil
	}
	return cs, false, nil
}

func (f *finder) ModulesMissingSymbols(_ context.Context, _ time.Time, limit int) ([]clickhouse.MissingModule, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []clickhouse.MissingModule
	for _, m := range f.modules {
		if len(out) == limit {
			break
		}
		out = append(out, clickhouse.MissingModule{Module: m, Crashes: 1})
	}
	return out, f.modulesErr
}

func (f *finder) CountReprocessed(_ context.Context, ids []string, _, _ time.Time) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, id := range ids {
		if f.sent[id] {
			n++
		}
	}
	return n, nil
}

func testConfig() Config {
	return Config{Window: 7 * 24 * time.Hour, Max: 3, Rate: 1000, Tick: 10 * time.Millisecond, Lease: time.Minute,
		DoneEvery: 0, DoneWait: time.Hour, ScanEvery: time.Hour, MaxAttempts: 3}
}

// TestJobLifecycle: a job finds the crashes (capped, newest first as the
// finder gives them), sends each once with the job's detail, counts them
// done and finishes; the same file starts no second job; a second driver
// does not drive a job another holds.
func TestJobLifecycle(t *testing.T) {
	ctx := context.Background()
	store := objectstoretest.NewBucket()
	now := time.Now()
	f := &finder{sent: map[string]bool{}, crashes: map[string][]clickhouse.MissingSymbolsCrash{
		"xul.pdb/AB": {{CrashID: "c4", Submitted: now}, {CrashID: "c3", Submitted: now.Add(-time.Hour)},
			{CrashID: "c2", Submitted: now.Add(-2 * time.Hour)}, {CrashID: "c1", Submitted: now.Add(-3 * time.Hour)}},
	}}
	var mu sync.Mutex
	var sent []string
	send := func(_ context.Context, id, detail, by string, at time.Time) error {
		mu.Lock()
		defer mu.Unlock()
		sent = append(sent, id)
		f.mu.Lock()
		f.sent[id] = true
		f.mu.Unlock()
		assert.Contains(t, detail, "symbols for xul.pdb/AB arrived (reprocess job ")
		assert.Equal(t, "upload-symbols:alice", by)
		assert.False(t, at.IsZero())
		return nil
	}
	m := New(testConfig(), store, store, f, send, "a", zerolog.Nop(), nil)
	other := New(testConfig(), store, store, f, send, "b", zerolog.Nop(), nil)

	j, isNew, err := m.Create(ctx, "xul.pdb/AB", "xul.pdb/AB/xul.sym", `"etag1"`, "upload-symbols:alice")
	require.NoError(t, err)
	assert.True(t, isNew)
	again, isNew, err := m.Create(ctx, "xul.pdb/AB", "xul.pdb/AB/xul.sym", "etag1", "upload-symbols:bob")
	require.NoError(t, err)
	assert.False(t, isNew, "same module, key and content: same job")
	assert.Equal(t, j.ID, again.ID)
	changed, isNew, err := m.Create(ctx, "xul.pdb/AB", "xul.pdb/AB/xul.sym", "etag2", "upload-symbols:alice")
	require.NoError(t, err)
	assert.True(t, isNew, "new content: a new job")
	assert.NotEqual(t, j.ID, changed.ID)
	require.NoError(t, store.Delete(ctx, objectstore.ReprocessJobsActivePrefix+changed.ID))

	require.NoError(t, m.DriveOnce(ctx)) // lookup
	require.NoError(t, other.DriveOnce(ctx))
	got, err := m.Get(ctx, j.ID)
	require.NoError(t, err)
	assert.Equal(t, StateSending, got.State)
	assert.Equal(t, []string{"c4", "c3", "c2"}, got.CrashIDs, "newest first, capped at Max")
	assert.True(t, got.Truncated)
	assert.Equal(t, 1, f.lookups, "the other driver did not take the held job")
	for range 10 {
		require.NoError(t, m.DriveOnce(ctx))
	}
	got, err = m.Get(ctx, j.ID)
	require.NoError(t, err)
	assert.Equal(t, StateFinished, got.State)
	assert.Equal(t, 3, got.Found)
	assert.Equal(t, 3, got.Sent)
	assert.Equal(t, 3, got.Done)
	assert.Equal(t, []string{"c4", "c3", "c2"}, sent, "each sent once, newest first")
	_, _, err = store.GetWithETag(ctx, objectstore.ReprocessJobsActivePrefix+j.ID, 10)
	assert.ErrorIs(t, err, objectstore.ErrNotFound, "a finished job is no longer active")

	list, err := m.List(ctx, 10)
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Nil(t, list[0].CrashIDs)
}

// TestScan: the first scan only sets the watermark; a symbol file stored
// later starts one job, and scanning again starts none.
func TestScan(t *testing.T) {
	ctx := context.Background()
	store, symbols := objectstoretest.NewBucket(), objectstoretest.NewBucket()
	f := &finder{sent: map[string]bool{}}
	m := New(testConfig(), store, symbols, f, func(context.Context, string, string, string, time.Time) error { return nil }, "a", zerolog.Nop(), nil)
	require.NoError(t, symbols.PutIfAbsent(ctx, "old.pdb/01/old.sym", []byte("MODULE")))
	n, err := m.Scan(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, symbols.PutIfAbsent(ctx, "new.pdb/0a/new.sym", []byte("MODULE new")))
	require.NoError(t, symbols.PutIfAbsent(ctx, "not/a-sym", []byte("x")))
	n, err = m.Scan(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "the old file is within the minute of overlap the scan allows; the new one too")
	n, err = m.Scan(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing repeated")
	list, err := m.List(ctx, 10)
	require.NoError(t, err)
	var mods []string
	for _, j := range list {
		mods = append(mods, j.Module)
		assert.Equal(t, "symbols-bucket", j.Source)
	}
	sort.Strings(mods)
	assert.Equal(t, []string{"new.pdb/0A", "old.pdb/01"}, mods)
}
