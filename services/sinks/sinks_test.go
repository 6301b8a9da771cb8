package sinks

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/schemas/registry"
	chstore "github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/streams"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func serde(t *testing.T) *registry.Serde {
	t.Helper()
	s, err := registry.NewStaticSerde()
	require.NoError(t, err)
	return s
}

func ptr[T any](v T) *T { return &v }

const testID = "de1bb258-cbbf-4589-a673-34f800261118"

func crash() *schemas.ProcessedCrash {
	sub := time.Date(2026, 11, 18, 9, 0, 0, 0, time.UTC)
	return &schemas.ProcessedCrash{
		CrashID: testID, UUID: testID, SubmittedTimestamp: sub, DateProcessed: sub.Add(time.Minute),
		Product: "Firefox", Version: "130.0", Build: ptr(int64(20261101000000)), OSName: "Windows NT",
		OSVersion: "10.0.19045", OSPrettyVersion: "Windows 10", Signature: "OOM | small", Uptime: ptr(int64(12)),
		UserComments: "my email is x@y", URL: "https://private.example/", StartupCrash: ptr(true),
	}
}

func message(t *testing.T, s *registry.Serde, pc *schemas.ProcessedCrash) *streams.Message {
	t.Helper()
	v, err := s.Marshal(pc)
	require.NoError(t, err)
	return &streams.Message{Topic: streams.TopicProcessed, Key: []byte(pc.CrashID), Value: v}
}

func TestGroupCommitMergesConcurrentCallers(t *testing.T) {
	var mu sync.Mutex
	var flushes [][]int
	gc := newGroupCommit(100, time.Hour, 0, func(_ context.Context, rows []int) error {
		mu.Lock()
		flushes = append(flushes, append([]int(nil), rows...))
		mu.Unlock()
		return nil
	})
	// three callers enter before any writes: the group flushes once all
	// three joined, without waiting for the (hour-long) linger.
	gc.enter()
	gc.enter()
	gc.enter()
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() { assert.NoError(t, gc.write(context.Background(), []int{i})) })
	}
	wg.Wait()
	total := 0
	for _, f := range flushes {
		total += len(f)
	}
	assert.Equal(t, 3, total)
	assert.LessOrEqual(t, len(flushes), 3)
}

func TestGroupCommitFlushesAtMaxRowsAndPropagatesErrors(t *testing.T) {
	boom := errors.New("insert failed")
	var sizes []int
	gc := newGroupCommit(2, time.Hour, 0, func(_ context.Context, rows []int) error {
		sizes = append(sizes, len(rows))
		return boom
	})
	gc.enter()
	gc.enter() // a second caller that never writes: only maxRows can flush
	err := gc.write(context.Background(), []int{1, 2, 3})
	require.ErrorIs(t, err, boom)
	assert.Equal(t, []int{3}, sizes)
	gc.skip()
}

func TestGroupCommitSpacesFlushes(t *testing.T) {
	var mu sync.Mutex
	var flushes [][]int
	gc := newGroupCommit(3, time.Hour, time.Hour, func(_ context.Context, rows []int) error {
		mu.Lock()
		flushes = append(flushes, append([]int(nil), rows...))
		mu.Unlock()
		return nil
	})
	// idle since forever: a lone row is written at once
	gc.enter()
	require.NoError(t, gc.write(context.Background(), []int{1}))
	// within the interval a lone row waits, even with nobody else entered,
	// until rows arriving later fill the group
	gc.enter()
	done := make(chan error, 1)
	go func() { done <- gc.write(context.Background(), []int{2}) }()
	gc.enter()
	require.NoError(t, gc.write(context.Background(), []int{3, 4}))
	require.NoError(t, <-done)
	require.Len(t, flushes, 2)
	assert.Equal(t, []int{1}, flushes[0])
	assert.ElementsMatch(t, []int{2, 3, 4}, flushes[1])
}

func TestGroupCommitLeaderStopsOnContext(t *testing.T) {
	gc := newGroupCommit(10, time.Hour, 0, func(ctx context.Context, rows []int) error { return ctx.Err() })
	gc.enter()
	gc.enter() // never joins
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, gc.write(ctx, []int{1}), context.Canceled)
	gc.skip()
}

type fakeWriter struct {
	mu   sync.Mutex
	rows []chstore.Row
	err  error
}

func (w *fakeWriter) Write(_ context.Context, rows []chstore.Row) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.rows = append(w.rows, rows...)
	return nil
}

func TestClickHouseHandleBatch(t *testing.T) {
	s := serde(t)
	tab, err := chstore.NewTable(fields.New())
	require.NoError(t, err)
	w := &fakeWriter{}
	sink, err := NewClickHouse(ClickHouseConfig{Group: "g", BatchRows: 10, Linger: time.Minute,
		Writer: chstore.WriterConfig{MaxAttempts: 1, Backoff: time.Millisecond, MaxBackoff: time.Millisecond}},
		ClickHouseDeps{Writer: w, Table: tab, Decoder: s, Registry: prometheus.NewRegistry()})
	require.NoError(t, err)

	good := message(t, s, crash())
	garbage := &streams.Message{Key: []byte("x"), Value: []byte("not avro")}
	other := crash()
	other.CrashID, other.UUID = "00000000-cbbf-4589-a673-34f800261118", "00000000-cbbf-4589-a673-34f800261118"
	wrongKey := message(t, s, other)
	wrongKey.Key = []byte(testID)

	err = sink.HandleBatch(context.Background(), []*streams.Message{good, garbage, wrongKey})
	var rej *streams.RejectedError
	require.ErrorAs(t, err, &rej)
	assert.Len(t, rej.Records, 2)
	assert.Contains(t, rej.Records, 1)
	assert.Contains(t, rej.Records, 2)
	require.Len(t, w.rows, 1)
	assert.Equal(t, testID, w.rows[0].CrashID)

	w.err = errors.New("clickhouse down")
	err = sink.HandleBatch(context.Background(), []*streams.Message{good})
	require.Error(t, err)
	assert.False(t, streams.IsPermanent(err), "a failed insert is retried, not dead-lettered")
}

type fakeBucket struct {
	mu   sync.Mutex
	objs map[string][]byte
}

func (b *fakeBucket) PutBytes(_ context.Context, key string, data []byte, _ string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.objs == nil {
		b.objs = map[string][]byte{}
	}
	b.objs[key] = append([]byte(nil), data...)
	return nil
}

func TestObjectStoreHandle(t *testing.T) {
	s := serde(t)
	b := &fakeBucket{}
	sink, err := NewObjectStore(ObjectStoreConfig{Group: "g"}, ObjectStoreDeps{Bucket: b, Decoder: s, Registry: prometheus.NewRegistry()})
	require.NoError(t, err)
	m := message(t, s, crash())
	require.NoError(t, sink.Handle(context.Background(), m))
	require.NoError(t, sink.Handle(context.Background(), m), "overwrite is fine")
	body := b.objs["v1/processed_crash/"+testID]
	var got schemas.ProcessedCrash
	require.NoError(t, got.UnmarshalJSON(body))
	assert.Equal(t, "OOM | small", got.Signature)
	assert.Equal(t, "my email is x@y", got.UserComments, "the processed crash keeps protected fields; readers redact")
	err = sink.Handle(context.Background(), &streams.Message{Value: []byte{0, 0, 0, 0, 99, 1}})
	assert.True(t, streams.IsPermanent(err))
}

type fakePublisher struct {
	topic string
	key   []byte
	value []byte
}

func (p *fakePublisher) Send(_ context.Context, topic string, key, value []byte, _ ...streams.Header) error {
	p.topic, p.key, p.value = topic, key, value
	return nil
}

func TestTelemetryPublicSubsetAndRenames(t *testing.T) {
	s := serde(t)
	pub, b := &fakePublisher{}, &fakeBucket{}
	sink, err := NewTelemetry(TelemetryConfig{Group: "g", WriteBucket: true}, TelemetryDeps{
		Publisher: pub, Encoder: s, Decoder: s, Bucket: b, Topic: "crash.telemetry.v1", Fields: fields.New(), Registry: prometheus.NewRegistry()})
	require.NoError(t, err)
	require.NoError(t, sink.Handle(context.Background(), message(t, s, crash())))

	assert.Equal(t, "crash.telemetry.v1", pub.topic)
	assert.Equal(t, testID, string(pub.key))
	var tc schemas.TelemetryCrash
	require.NoError(t, s.Unmarshal(context.Background(), pub.value, &tc))
	assert.Equal(t, "Windows NT", tc.Platform, "os_name -> platform")
	assert.Equal(t, "10.0.19045", tc.PlatformVersion)
	assert.Equal(t, "Windows 10", tc.PlatformPrettyVersion)
	require.NotNil(t, tc.BuildID)
	assert.Equal(t, int64(20261101000000), *tc.BuildID, "build -> build_id")
	assert.Equal(t, time.Date(2026, 11, 18, 9, 1, 0, 0, time.UTC), tc.Date.UTC(), "date_processed -> date")

	body := b.objs["v1/crash_report/20261118/"+testID]
	require.NotEmpty(t, body)
	var obj map[string]any
	require.NoError(t, json.Unmarshal(body, &obj))
	assert.Equal(t, "Windows NT", obj["platform"])
	assert.Equal(t, "OOM | small", obj["signature"])
	for _, f := range fields.New().All() {
		if !f.IsPublic() {
			assert.NotContains(t, obj, f.Name, "protected field %s exported", f.Name)
		}
	}
	assert.NotContains(t, string(body), "x@y")
	assert.NotContains(t, string(body), "private.example")
}

func TestConfigsValidate(t *testing.T) {
	good := ClickHouseConfig{Group: "g", BatchRows: 1, Linger: time.Second, Writer: chstore.WriterConfig{MaxAttempts: 1, Backoff: time.Millisecond, MaxBackoff: time.Second}}
	require.NoError(t, good.Validate())
	bad := good
	bad.BatchRows = 0
	assert.ErrorContains(t, bad.Validate(), "-sink-clickhouse.batch-rows")
	bad = good
	bad.Linger = 0
	assert.ErrorContains(t, bad.Validate(), "-sink-clickhouse.linger")
	assert.ErrorContains(t, ObjectStoreConfig{}.Validate(), "-sink-objectstore.group")
	assert.ErrorContains(t, TelemetryConfig{}.Validate(), "-sink-telemetry.group")
}
