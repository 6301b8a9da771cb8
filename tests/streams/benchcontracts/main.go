// Command benchcontracts measures what the event contracts cost on the
// wire path: encode+produce and consume+decode of processed crashes through
// schemas (registry.Serde) and streams, beside raw franz-go produce and
// consume of the very same bytes, in the same run, against the real Kafka.
// It prints a Markdown table; throughput ratios are contracts/raw.
//
//	go run ./streams/benchcontracts -n 150 -repeat 3   (from tests/)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/registry"
	"github.com/crashstream/crashstream/schemas/schematest"
	"github.com/crashstream/crashstream/streams"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchcontracts:", err)
		os.Exit(1)
	}
}

type result struct {
	seconds []float64
}

func (r *result) median() float64 {
	s := slices.Clone(r.seconds)
	slices.Sort(s)
	return s[len(s)/2]
}

func run(args []string, stdout io.Writer) error {
	var (
		cfg    streams.Config
		n      int
		repeat int
		shape  = schematest.Typical()
	)
	fs := flag.NewFlagSet("benchcontracts", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	fs.IntVar(&n, "n", 150, "records per pass")
	fs.IntVar(&repeat, "repeat", 3, "passes per path (the median is reported)")
	fs.IntVar(&shape.Threads, "threads", shape.Threads, "threads in each synthetic json_dump")
	fs.IntVar(&shape.Modules, "modules", shape.Modules, "modules per crash")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	ctx := context.Background()
	serde, err := registry.NewStaticSerde()
	if err != nil {
		return err
	}
	crashes := make([]*schemas.ProcessedCrash, n)
	framed := make([][]byte, n)
	var totalBytes int
	for i := range crashes {
		crashes[i] = schematest.ProcessedCrash(i, shape)
		if framed[i], err = serde.Marshal(crashes[i]); err != nil {
			return err
		}
		totalBytes += len(framed[i])
	}
	log := zerolog.New(os.Stderr).Level(zerolog.WarnLevel)
	opts := streams.Options{Logger: log}

	var prodC, prodR, consC, consR result
	for rep := range repeat {
		prefix := fmt.Sprintf("bench%d.%d.", time.Now().UnixNano(), rep)
		c := cfg
		c.TopicPrefix = prefix
		contractsTopic, rawTopic := c.Topics().Processed, prefix+"raw.processed"
		if err := streams.EnsureTopics(ctx, c, contractsTopic, rawTopic, c.Topics().DLQ); err != nil {
			return err
		}
		if err := warmUp(ctx, c, contractsTopic, rawTopic); err != nil {
			return err
		}
		// Raw first on even passes, contracts first on odd ones.
		steps := []func() error{
			func() error {
				s, err := produceContracts(ctx, c, opts, serde, crashes, contractsTopic)
				prodC.add(s)
				return err
			},
			func() error { s, err := produceRaw(ctx, c, framed, rawTopic); prodR.add(s); return err },
		}
		if rep%2 == 0 {
			steps[0], steps[1] = steps[1], steps[0]
		}
		for _, s := range steps {
			if err := s(); err != nil {
				return err
			}
		}
		steps = []func() error{
			func() error {
				s, err := consumeContracts(ctx, c, opts, serde, n, contractsTopic)
				consC.add(s)
				return err
			},
			func() error { s, err := consumeRaw(ctx, c, n, rawTopic); consR.add(s); return err },
		}
		if rep%2 == 0 {
			steps[0], steps[1] = steps[1], steps[0]
		}
		for _, s := range steps {
			if err := s(); err != nil {
				return err
			}
		}
	}

	mb := float64(totalBytes) / 1e6
	row := func(name string, r *result) string {
		s := r.median()
		return fmt.Sprintf("| %s | %.0f | %.1f |", name, float64(n)/s, mb/s)
	}
	fmt.Fprintf(stdout, "ProcessedCrash records: %d per pass, %.0f KB each (framed Avro), shape %+v; compression %s; median of %d passes; GOMAXPROCS %d\n\n",
		n, float64(totalBytes)/float64(n)/1e3, shape, cfg.Compression, repeat, runtime.GOMAXPROCS(0))
	fmt.Fprintln(stdout, "| path | records/s | MB/s |")
	fmt.Fprintln(stdout, "|---|---:|---:|")
	fmt.Fprintln(stdout, row("encode (Serde.Marshal) + produce (streams.Producer, acks=all, idempotent)", &prodC))
	fmt.Fprintln(stdout, row("raw franz-go produce of the same bytes (acks=all, idempotent)", &prodR))
	fmt.Fprintln(stdout, row("consume (streams.Consumer, group, commit after handler) + decode (Serde.Unmarshal)", &consC))
	fmt.Fprintln(stdout, row("raw franz-go group consume of the same bytes", &consR))
	fmt.Fprintf(stdout, "\nRatios (contracts / raw throughput): produce %.2f, consume %.2f\n",
		prodR.median()/prodC.median(), consR.median()/consC.median())
	return nil
}

func (r *result) add(s float64) { r.seconds = append(r.seconds, s) }

// warmUp writes one small record to each new topic so that neither timed
// path pays for the first metadata lookup and leader discovery; consumers
// skip records without a key.
func warmUp(ctx context.Context, cfg streams.Config, topics ...string) error {
	cl, err := kgo.NewClient(rawClientOpts(cfg)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	for _, t := range topics {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: t, Value: []byte("warm-up")}).FirstErr(); err != nil {
			return fmt.Errorf("warm up %s: %w", t, err)
		}
	}
	return nil
}

func produceContracts(ctx context.Context, cfg streams.Config, o streams.Options, serde *registry.Serde,
	crashes []*schemas.ProcessedCrash, topic string) (float64, error) {
	p, err := streams.NewProducer(cfg, o)
	if err != nil {
		return 0, err
	}
	defer func() { _ = p.Close(ctx) }()
	if err := p.Ping(ctx); err != nil {
		return 0, err
	}
	var failed atomic.Int64
	start := time.Now()
	for _, pc := range crashes {
		v, err := serde.Marshal(pc)
		if err != nil {
			return 0, err
		}
		p.SendAsync(ctx, topic, []byte(pc.CrashID), v, func(err error) {
			if err != nil {
				failed.Add(1)
			}
		})
	}
	if err := p.Flush(ctx); err != nil {
		return 0, err
	}
	if failed.Load() > 0 {
		return 0, fmt.Errorf("%d produce failures", failed.Load())
	}
	return time.Since(start).Seconds(), nil
}

// rawClientOpts mirrors what streams configures, so the comparison is of
// the code paths, not of the settings.
func rawClientOpts(cfg streams.Config) []kgo.Opt {
	return []kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.Lz4Compression()),
		kgo.ProducerBatchMaxBytes(int32(cfg.MaxMessageBytes)),
		kgo.ProducerLinger(cfg.Linger),
		kgo.FetchMaxPartitionBytes(int32(cfg.MaxMessageBytes)),
		kgo.FetchMaxBytes(int32(4 * cfg.MaxMessageBytes)),
	}
}

func produceRaw(ctx context.Context, cfg streams.Config, framed [][]byte, topic string) (float64, error) {
	if cfg.Compression != "lz4" {
		return 0, errors.New("the raw path mirrors lz4 only")
	}
	cl, err := kgo.NewClient(rawClientOpts(cfg)...)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		return 0, err
	}
	var failed atomic.Int64
	start := time.Now()
	for i, v := range framed {
		cl.Produce(ctx, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprint(i)), Value: v}, func(_ *kgo.Record, err error) {
			if err != nil {
				failed.Add(1)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return 0, err
	}
	if failed.Load() > 0 {
		return 0, fmt.Errorf("%d produce failures", failed.Load())
	}
	return time.Since(start).Seconds(), nil
}

// onAssigned reports the first time partitions are assigned: both consume
// paths are timed from there to their last record, which leaves the group
// join (and the broker's initial rebalance delay) out of the comparison.
func onAssigned(at chan<- time.Time) func(context.Context, *kgo.Client, map[string][]int32) {
	return func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
		if len(m) > 0 {
			select {
			case at <- time.Now():
			default:
			}
		}
	}
}

// consumeContracts times from partition assignment to the last record
// decoded by the handler.
func consumeContracts(ctx context.Context, cfg streams.Config, o streams.Options, serde *registry.Serde, n int, topic string) (float64, error) {
	var count atomic.Int64
	done := make(chan time.Time, 1)
	assigned := make(chan time.Time, 1)
	cfg.MaxPollRecords = 100
	o = o.WithKgoOptions(kgo.OnPartitionsAssigned(onAssigned(assigned)))
	c, err := streams.NewConsumer(cfg, streams.ConsumerOptions{Options: o, Group: topic + ".g", Topics: []string{topic}},
		streams.HandlerFunc(func(ctx context.Context, m *streams.Message) error {
			if len(m.Key) == 0 {
				return nil // the warm-up record
			}
			var pc schemas.ProcessedCrash
			if err := serde.Unmarshal(ctx, m.Value, &pc); err != nil {
				return streams.Permanent(err)
			}
			if count.Add(1) == int64(n) {
				done <- time.Now()
			}
			return nil
		}))
	if err != nil {
		return 0, err
	}
	rctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- c.Run(rctx) }()
	start := <-assigned
	end := <-done
	cancel()
	if err := <-errc; err != nil {
		return 0, err
	}
	return end.Sub(start).Seconds(), nil
}

func consumeRaw(ctx context.Context, cfg streams.Config, n int, topic string) (float64, error) {
	assigned := make(chan time.Time, 1)
	cl, err := kgo.NewClient(append(rawClientOpts(cfg), kgo.ConsumerGroup(topic+".raw"), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.OnPartitionsAssigned(onAssigned(assigned)))...)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	got := 0
	for got < n {
		fs := cl.PollRecords(ctx, 100)
		if err := fs.Err0(); err != nil {
			return 0, err
		}
		fs.EachRecord(func(r *kgo.Record) {
			if len(r.Key) > 0 {
				got++
			}
		})
	}
	end := time.Now()
	return end.Sub(<-assigned).Seconds(), nil
}
