// Command e2ebench holds the measurements of tests/bench/run.sh that need
// more than the crashstream binary:
//
//	e2ebench lag    -collector URL -db DB [-rate 2] [-count 40]   ack -> row queryable through the query library
//	e2ebench minio  [-count 150] [-concurrency 16]                 PUT rate of crashgen's size mix (the storage ceiling)
//	e2ebench kafka  [-duration 10s] [-size 1500]                   produce rate of franz-go (the log ceiling)
//	e2ebench buckets NAME...                                       create buckets (the pipeline's own)
//
// Each prints one summary line that run.sh copies into BENCHMARKS.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/crashstream/crashstream/services/crashgen"
	"github.com/crashstream/crashstream/storage/clickhouse"
	"github.com/crashstream/crashstream/storage/objectstore"
	"github.com/crashstream/crashstream/streams"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: e2ebench lag|minio|kafka|minioprofile [flags] | buckets|rmbuckets NAME...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "lag":
		err = lag(os.Args[2:])
	case "minio":
		err = minioPut(os.Args[2:])
	case "kafka":
		err = kafkaProduce(os.Args[2:])
	case "minioprofile":
		err = minioProfile(os.Args[2:])
	case "buckets":
		err = buckets(os.Args[2:])
	case "rmbuckets":
		err = removeBuckets(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2ebench:", err)
		os.Exit(1)
	}
}

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(int(q*float64(len(s))), len(s)-1)]
}

func s3Config() objectstore.Config {
	return objectstore.Config{Endpoint: "127.0.0.1:9000", AccessKey: "crashstream", SecretKey: "crashstream-secret",
		Region: "us-east-1", RequestAttempts: 3, Bucket: "crashstream", SymbolsBucket: "crashstream-symbols", TelemetryBucket: "crashstream-telemetry"}
}

// lag submits at a low fixed rate and polls ClickHouse through the query
// library (Reader.CrashByID) for every acknowledged crash until its row is
// there: the time a user waits between the client's ack and the report
// being visible in Crash Stats.
func lag(args []string) error {
	fs := flag.NewFlagSet("lag", flag.ContinueOnError)
	url := fs.String("collector", "http://127.0.0.1:8000", "collector URL")
	db := fs.String("db", "crashstream", "ClickHouse database")
	rate := fs.Float64("rate", 2, "reports per second")
	count := fs.Int("count", 40, "reports")
	seed := fs.Uint64("seed", 1, "crashgen seed (the symbols of this seed must be uploaded)")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up on rows not visible after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	conn, err := clickhouse.Open(ctx, clickhouse.Config{Addr: "127.0.0.1:19000", Database: *db, Username: "default",
		DialTimeout: 5 * time.Second, QueryTimeout: 30 * time.Second, MaxOpenConns: 2})
	if err != nil {
		return err
	}
	defer conn.Close()
	rd, err := clickhouse.NewReader(conn, *db, clickhouse.DedupArgMax)
	if err != nil {
		return err
	}
	var mu sync.Mutex
	pending := map[string]time.Time{}
	var lags []time.Duration
	sendDone := make(chan error, 1)
	go func() {
		cat := crashgen.NewCatalog(*seed, 300, 1.1)
		gen := crashgen.NewGenerator(cat, *seed+1000)
		client := &http.Client{Timeout: time.Minute}
		_, err := crashgen.Run(ctx, crashgen.RunConfig{URL: *url, Rate: *rate, Count: *count, Concurrency: 8,
			OnAccepted: func(id string) {
				mu.Lock()
				pending[id] = time.Now()
				mu.Unlock()
			}}, gen.Next, client)
		sendDone <- err
	}()
	sending := true
	deadline := time.Time{}
	for {
		if sending {
			select {
			case err := <-sendDone:
				if err != nil {
					return err
				}
				sending = false
				deadline = time.Now().Add(*timeout)
			default:
			}
		}
		mu.Lock()
		ids := make([]string, 0, len(pending))
		for id := range pending {
			ids = append(ids, id)
		}
		mu.Unlock()
		if !sending && len(ids) == 0 {
			break
		}
		if !sending && time.Now().After(deadline) {
			return fmt.Errorf("%d rows not visible after %s", len(ids), *timeout)
		}
		for _, id := range ids {
			_, err := rd.CrashByID(ctx, id)
			if errors.Is(err, clickhouse.ErrNotFound) {
				continue
			}
			if err != nil {
				continue // the table may not exist yet
			}
			now := time.Now()
			mu.Lock()
			lags = append(lags, now.Sub(pending[id]))
			delete(pending, id)
			mu.Unlock()
		}
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Printf("visibility lag (ack -> row via CrashByID, polled every 50 ms): n=%d p50 %s p95 %s max %s\n", len(lags),
		quantile(lags, 0.5).Round(10*time.Millisecond), quantile(lags, 0.95).Round(10*time.Millisecond), quantile(lags, 1).Round(10*time.Millisecond))
	return nil
}

// minioPut PUTs count dumps of crashgen's size mix to a fresh bucket with
// concurrency writers, as fast as they go, then removes the bucket.
func minioPut(args []string) error {
	fs := flag.NewFlagSet("minio", flag.ContinueOnError)
	count := fs.Int("count", 150, "objects")
	conc := fs.Int("concurrency", 16, "writers")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	gen := crashgen.NewGenerator(crashgen.NewCatalog(3, 300, 1.1), 3)
	dumps := make([][]byte, *count)
	var total int64
	for i := range dumps {
		dumps[i] = gen.Next().Dump
		total += int64(len(dumps[i]))
	}
	c, err := objectstore.New(s3Config())
	if err != nil {
		return err
	}
	defer c.Close()
	b := c.Bucket(fmt.Sprintf("bench-put-%d", time.Now().UnixNano()%1e9))
	if err := b.Ensure(ctx); err != nil {
		return err
	}
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(dumps) {
					return
				}
				if err := b.PutBytes(ctx, fmt.Sprintf("v1/dump/%06d", i), dumps[i], "application/octet-stream"); err != nil {
					once.Do(func() { firstErr = err })
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	for i := range dumps {
		_ = b.Delete(ctx, fmt.Sprintf("v1/dump/%06d", i))
	}
	if firstErr != nil {
		return firstErr
	}
	fmt.Printf("MinIO PUT ceiling: %d objects (crashgen size mix, mean %.0f KB) with %d writers in %s: %.1f PUT/s, %.1f MB/s\n",
		*count, float64(total)/float64(*count)/1e3, *conc, el.Round(time.Millisecond), float64(*count)/el.Seconds(), float64(total)/1e6/el.Seconds())
	return nil
}

// kafkaProduce produces size-byte records to a fresh topic for duration
// through franz-go (the streams producer: idempotent, acks=all), as fast as
// the client's buffer allows.
func kafkaProduce(args []string) error {
	fs := flag.NewFlagSet("kafka", flag.ContinueOnError)
	duration := fs.Duration("duration", 10*time.Second, "how long to produce")
	size := fs.Int("size", 1500, "record value bytes (a crash.received event is ~1-2 KB)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	cfg := streams.DefaultConfig()
	cfg.TopicPrefix = fmt.Sprintf("benchproduce%d.", time.Now().UnixNano()%1e9)
	topic := cfg.Topics().Received
	if err := streams.EnsureTopics(ctx, cfg, topic); err != nil {
		return err
	}
	p, err := streams.NewProducer(cfg, streams.Options{Logger: zerolog.Nop()})
	if err != nil {
		return err
	}
	value := make([]byte, *size)
	var acked, failed atomic.Int64
	inflight := make(chan struct{}, 10000)
	start := time.Now()
	i := 0
	for time.Since(start) < *duration {
		inflight <- struct{}{}
		p.SendAsync(ctx, topic, fmt.Appendf(nil, "k%d", i), value, func(err error) {
			if err != nil {
				failed.Add(1)
			} else {
				acked.Add(1)
			}
			<-inflight
		})
		i++
	}
	if err := p.Flush(ctx); err != nil {
		return err
	}
	el := time.Since(start)
	_ = p.Close(ctx)
	fmt.Printf("franz-go produce ceiling: %d records of %d B acked (acks=all, idempotent) in %s: %.0f records/s, %.1f MB/s (failed %d)\n",
		acked.Load(), *size, el.Round(time.Millisecond), float64(acked.Load())/el.Seconds(), float64(acked.Load())*float64(*size)/1e6/el.Seconds(), failed.Load())
	return nil
}

// buckets creates the named buckets (existing ones are fine).
func buckets(names []string) error {
	c, err := objectstore.New(s3Config())
	if err != nil {
		return err
	}
	defer c.Close()
	for _, n := range names {
		if err := c.Bucket(n).Ensure(context.Background()); err != nil {
			return err
		}
	}
	return nil
}

// removeBuckets deletes the named buckets with everything in them (a
// missing one is fine).
func removeBuckets(names []string) error {
	c, err := objectstore.New(s3Config())
	if err != nil {
		return err
	}
	defer c.Close()
	for _, n := range names {
		if err := c.Bucket(n).RemoveWithContents(context.Background()); err != nil && !errors.Is(err, objectstore.ErrNotFound) {
			return err
		}
	}
	return nil
}
