// Command stackcheck proves that the local stack really works, not just
// that its ports are open: it produces and consumes a record on Kafka, puts
// and gets an object on MinIO, and runs a SELECT on ClickHouse. `make up`
// runs it after starting the servers; it exits non-zero naming the part
// that failed.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	kafka := flag.String("kafka", "127.0.0.1:9092", "Kafka broker")
	s3 := flag.String("s3", "127.0.0.1:9000", "MinIO endpoint")
	s3user := flag.String("s3-user", "crashstream", "MinIO access key")
	s3pass := flag.String("s3-pass", "crashstream-secret", "MinIO secret key")
	ch := flag.String("clickhouse", "127.0.0.1:19000", "ClickHouse native address")
	only := flag.String("only", "kafka,minio,clickhouse", "comma-separated parts to check")
	timeout := flag.Duration("timeout", 30*time.Second, "bound on each check")
	flag.Parse()

	checks := map[string]func(context.Context) error{
		"kafka":      func(ctx context.Context) error { return checkKafka(ctx, *kafka) },
		"minio":      func(ctx context.Context) error { return checkMinIO(ctx, *s3, *s3user, *s3pass) },
		"clickhouse": func(ctx context.Context) error { return checkClickHouse(ctx, *ch) },
	}
	failed := false
	for _, name := range strings.Split(*only, ",") {
		fn, ok := checks[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "stackcheck: unknown part %q\n", name)
			os.Exit(2)
		}
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		err := fn(ctx)
		cancel()
		if err != nil {
			fmt.Fprintf(os.Stderr, "stackcheck: %s: %v\n", name, err)
			failed = true
			continue
		}
		fmt.Printf("stackcheck: %s ok\n", name)
	}
	if failed {
		os.Exit(1)
	}
}

// checkKafka produces one record to a check topic and consumes it back. It
// reads from the partition and offset the produce reported, so a slow broker
// (first start on a busy machine) can never make the consumer start past the
// record, as a "join at the end, then produce" check can.
func checkKafka(ctx context.Context, broker string) error {
	topic := "crashstream.stackcheck"
	want := fmt.Sprintf("ready-%d", time.Now().UnixNano())
	producer, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.AllowAutoTopicCreation())
	if err != nil {
		return err
	}
	defer producer.Close()
	var written *kgo.Record
	for written == nil {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("produce: %w", err)
		}
		r, err := producer.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(want)}).First()
		if err == nil {
			written = r
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	consumer, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		topic: {written.Partition: kgo.NewOffset().At(written.Offset)},
	}))
	if err != nil {
		return err
	}
	defer consumer.Close()
	for {
		fs := consumer.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("consume: did not read back the record: %w", err)
		}
		found := false
		fs.EachRecord(func(r *kgo.Record) { found = found || string(r.Value) == want })
		if found {
			return nil
		}
	}
}

// checkMinIO puts and gets an object in a check bucket.
func checkMinIO(ctx context.Context, endpoint, user, pass string) error {
	cl, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(user, pass, "")})
	if err != nil {
		return err
	}
	bucket := "crashstream-stackcheck"
	ok, err := cl.BucketExists(ctx, bucket)
	if err != nil {
		return fmt.Errorf("bucket exists: %w", err)
	}
	if !ok {
		if err := cl.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
			return fmt.Errorf("make bucket: %w", err)
		}
	}
	want := []byte(time.Now().String())
	if _, err := cl.PutObject(ctx, bucket, "ready", bytes.NewReader(want), int64(len(want)), minio.PutObjectOptions{}); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	obj, err := cl.GetObject(ctx, bucket, "ready", minio.GetObjectOptions{})
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	defer obj.Close()
	got, err := io.ReadAll(obj)
	if err != nil {
		return fmt.Errorf("get: %w", err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("get returned %q, want %q", got, want)
	}
	return nil
}

// checkClickHouse runs a SELECT over the native protocol.
func checkClickHouse(ctx context.Context, addr string) error {
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, DialTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer conn.Close()
	var v uint8
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&v); err != nil {
		return fmt.Errorf("select: %w", err)
	}
	if v != 1 {
		return fmt.Errorf("SELECT 1 returned %d", v)
	}
	return nil
}
