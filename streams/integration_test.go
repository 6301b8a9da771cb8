package streams

// Tests against the real Kafka of `make up` (127.0.0.1:9092). They skip
// unless CRASHSTREAM_STACK=1, and each uses its own topic prefix and group.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
)

const stackWait = 3 * time.Minute

func realKafka(t *testing.T, partitions int) Config {
	t.Helper()
	if os.Getenv("CRASHSTREAM_STACK") != "1" {
		t.Skip("needs the real stack: run `make up` and set CRASHSTREAM_STACK=1")
	}
	cfg := DefaultConfig()
	if b := os.Getenv("CRASHSTREAM_KAFKA_BROKERS"); b != "" {
		cfg.Brokers = strings.Split(b, ",")
	}
	cfg.TopicPrefix = fmt.Sprintf("it%d.", time.Now().UnixNano())
	cfg.Partitions = partitions
	cfg.Retry.Initial = 10 * time.Millisecond
	cfg.Retry.Max = 100 * time.Millisecond
	require.NoError(t, EnsureTopics(context.Background(), cfg, cfg.Topics().All()...))
	return cfg
}

func realOpts() Options {
	return Options{Logger: zerolog.Nop()}.WithKgoOptions(kgo.FetchMaxWait(200 * time.Millisecond))
}

// seenSet is a concurrency-safe multiset of handled values.
type seenSet struct {
	mu     sync.Mutex
	counts map[string]int
	parts  map[int32]bool
	dups   int
}

func newSeenSet() *seenSet { return &seenSet{counts: map[string]int{}, parts: map[int32]bool{}} }

func (s *seenSet) add(v string, p int32) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counts[v] > 0 {
		s.dups++
	}
	s.counts[v]++
	s.parts[p] = true
	return len(s.counts)
}

func (s *seenSet) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.counts)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(stackWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHelperConsumeAndDie is not a test: the at-least-once test runs the
// test binary again with CRASHSTREAM_HELPER set, and this consumer kills
// itself with SIGKILL in the middle of a batch, after handling KILL_AFTER
// records, without any chance to commit what it did since the last commit.
func TestHelperConsumeAndDie(t *testing.T) {
	if os.Getenv("CRASHSTREAM_HELPER") != "consume-and-die" {
		t.Skip("helper process only")
	}
	cfg := DefaultConfig()
	cfg.Brokers = strings.Split(os.Getenv("HELPER_BROKERS"), ",")
	cfg.TopicPrefix = os.Getenv("HELPER_PREFIX")
	killAfter, _ := strconv.Atoi(os.Getenv("HELPER_KILL_AFTER"))
	out, err := os.OpenFile(os.Getenv("HELPER_OUT"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	require.NoError(t, err)
	var n atomic.Int64
	h := HandlerFunc(func(_ context.Context, m *Message) error {
		time.Sleep(time.Millisecond) // a slow handler, so commits happen between records
		if _, err := fmt.Fprintf(out, "%s\n", m.Value); err != nil {
			return err
		}
		if n.Add(1) == int64(killAfter) {
			_ = out.Sync()
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // never returns: the record is handled, not committed
		}
		return nil
	})
	// A short session lets the group notice the death quickly; frequent
	// commits make the kill land between commits, not before the first.
	o := realOpts().WithKgoOptions(kgo.SessionTimeout(6*time.Second), kgo.AutoCommitInterval(100*time.Millisecond))
	c, err := NewConsumer(cfg, ConsumerOptions{Options: o, Group: os.Getenv("HELPER_GROUP"),
		Topics: []string{cfg.Topics().Received}}, h)
	require.NoError(t, err)
	_ = c.Run(context.Background())
}

func produceReal(t *testing.T, cfg Config, topic string, from, to int) {
	t.Helper()
	p, err := NewProducer(cfg, realOpts())
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Close(context.Background())) }()
	var failed atomic.Int64
	for i := from; i < to; i++ {
		p.SendAsync(context.Background(), topic, []byte("k"+strconv.Itoa(i)), []byte(strconv.Itoa(i)), func(err error) {
			if err != nil {
				failed.Add(1)
			}
		})
	}
	require.NoError(t, p.Flush(context.Background()))
	require.Zero(t, failed.Load())
}

func TestKafkaAtLeastOnceAfterKill(t *testing.T) {
	cfg := realKafka(t, 3)
	topic, group := cfg.Topics().Received, cfg.TopicPrefix+"kill"
	const n, killAfter = 3000, 1100
	produceReal(t, cfg, topic, 0, n)

	outFile := t.TempDir() + "/handled"
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperConsumeAndDie$", "-test.v")
	cmd.Env = append(os.Environ(), "CRASHSTREAM_HELPER=consume-and-die",
		"HELPER_BROKERS="+strings.Join(cfg.Brokers, ","), "HELPER_PREFIX="+cfg.TopicPrefix,
		"HELPER_GROUP="+group, "HELPER_OUT="+outFile, "HELPER_KILL_AFTER="+strconv.Itoa(killAfter))
	err := cmd.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "the helper must die, not exit")
	status, ok := exit.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	require.True(t, status.Signaled(), "helper ended by a signal")
	assert.Equal(t, syscall.SIGKILL, status.Signal())

	seen := newSeenSet()
	f, err := os.Open(outFile)
	require.NoError(t, err)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		seen.add(sc.Text(), -1)
	}
	require.NoError(t, f.Close())
	// Other partitions' workers may have handled a few more before the kill.
	require.GreaterOrEqual(t, seen.size(), killAfter)
	require.Less(t, seen.size(), n, "the helper died before the end")

	// The restarted member gets everything not committed, including the
	// record the helper was killed on.
	second := newSeenSet()
	c, err := NewConsumer(cfg, ConsumerOptions{Options: realOpts(), Group: group, Topics: []string{topic}},
		HandlerFunc(func(_ context.Context, m *Message) error {
			second.add(string(m.Value), m.Partition)
			seen.add(string(m.Value), m.Partition)
			return nil
		}))
	require.NoError(t, err)
	stop := runConsumer(t, c)
	waitUntil(t, "every record handled", func() bool { return seen.size() == n })
	stop()
	for i := range n {
		require.Positive(t, seen.counts[strconv.Itoa(i)], "record %d lost", i)
	}
	t.Logf("killed member handled at least %d; restarted member handled %d; %d redelivered (duplicates)",
		killAfter, len(second.counts), seen.dups)
}

func TestKafkaRebalanceNoLoss(t *testing.T) {
	cfg := realKafka(t, 6)
	topic, group := cfg.Topics().Received, cfg.TopicPrefix+"rebalance"
	all := newSeenSet()
	mk := func(s *seenSet) *Consumer {
		c, err := NewConsumer(cfg, ConsumerOptions{Options: realOpts(), Group: group, Topics: []string{topic}},
			HandlerFunc(func(_ context.Context, m *Message) error {
				s.add(string(m.Value), m.Partition)
				all.add(string(m.Value), m.Partition)
				return nil
			}))
		require.NoError(t, err)
		return c
	}
	a, b := newSeenSet(), newSeenSet()
	stopA := runConsumer(t, mk(a))
	stopB := runConsumer(t, mk(b))

	// Keep producing until both members have handled records: they share
	// the partitions.
	next := 0
	waitUntil(t, "both members to get partitions", func() bool {
		produceReal(t, cfg, topic, next, next+100)
		next += 100
		return a.size() > 0 && b.size() > 0
	})
	a.mu.Lock()
	b.mu.Lock()
	t.Logf("while both ran: A handled partitions %v, B %v", keys(a.parts), keys(b.parts))
	a.mu.Unlock()
	b.mu.Unlock()

	stopB() // B leaves: its partitions move to A
	produceReal(t, cfg, topic, next, next+2000)
	next += 2000
	waitUntil(t, "every record handled", func() bool { return all.size() == next })
	stopA()
	for i := range next {
		require.Positive(t, all.counts[strconv.Itoa(i)], "record %d lost", i)
	}
	a.mu.Lock()
	assert.Len(t, a.parts, 6, "after B left, A consumed every partition")
	a.mu.Unlock()
	t.Logf("%d records, %d duplicates", next, all.dups)
}

func keys(m map[int32]bool) []int32 {
	var out []int32
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestKafkaDeadLetterMovesOn(t *testing.T) {
	cfg := realKafka(t, 1)
	topic, group := cfg.Topics().Received, cfg.TopicPrefix+"dlq"
	produceReal(t, cfg, topic, 0, 100)
	seen := newSeenSet()
	c, err := NewConsumer(cfg, ConsumerOptions{Options: realOpts(), Group: group, Topics: []string{topic}},
		HandlerFunc(func(_ context.Context, m *Message) error {
			if string(m.Value) == "42" {
				return Permanent(errors.New("cannot parse record 42"))
			}
			seen.add(string(m.Value), m.Partition)
			return nil
		}))
	require.NoError(t, err)
	stop := runConsumer(t, c)
	waitUntil(t, "all other records handled", func() bool { return seen.size() == 99 })
	stop()
	for i := 43; i < 100; i++ {
		require.Positive(t, seen.counts[strconv.Itoa(i)], "record %d after the poison one", i)
	}
	dl := dlqRecords(t, cfg, 1)
	require.Len(t, dl, 1)
	d := dl[0]
	assert.Equal(t, "k42", string(d.Key))
	assert.Equal(t, "42", string(d.Value))
	assert.Equal(t, topic, header(d, HeaderDLQTopic))
	assert.Equal(t, "0", header(d, HeaderDLQPartition))
	assert.Equal(t, "42", header(d, HeaderDLQOffset), "one partition, produced in order: offset = value")
	assert.Equal(t, group, header(d, HeaderDLQGroup))
	assert.Equal(t, "permanent: cannot parse record 42", header(d, HeaderDLQError))
	got, end := committed(t, cfg, group, topic)
	assert.Equal(t, end, got)
}
