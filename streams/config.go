package streams

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/crashstream/crashstream/streams/backoff"
)

// Config is the Kafka configuration every crashstream service shares.
type Config struct {
	// Brokers are the seed brokers, host:port.
	Brokers []string
	// TopicPrefix is prepended to every topic name (isolates deployments
	// or tests sharing a cluster).
	TopicPrefix string
	// ClientID names this process to the brokers.
	ClientID string

	// CreateTopics makes services create their topics at start-up.
	CreateTopics bool
	// Partitions of created topics.
	Partitions int
	// ReplicationFactor of created topics.
	ReplicationFactor int
	// Retention of created topics.
	Retention time.Duration
	// MaxMessageBytes is the largest record value accepted (topic
	// max.message.bytes and producer batch size): processed crashes carry
	// the whole stackwalk output, so the broker's 1 MB default is too small.
	MaxMessageBytes int
	// Compression of produced batches: none, gzip, snappy, lz4 or zstd.
	Compression string

	// Linger is how long the producer waits to fill a batch.
	Linger time.Duration

	// Concurrency is how many partitions a consumer handles at once.
	Concurrency int
	// MaxPollRecords bounds the records fetched per poll.
	MaxPollRecords int
	// FetchMinBytes and FetchMaxWait let the broker hold a consumer's
	// fetch until that many bytes are there or the wait is over: at a
	// low rate a fetch per record costs the broker and the consumer a
	// request each, where one fetch could carry several.
	FetchMinBytes int
	FetchMaxWait  time.Duration
	// Retry paces the retries of transient failures (kafka.retry.backoff
	// doubling up to kafka.retry.max-backoff, jitter in the upper half) and
	// of dead-letter produces; its MaxAttempts (kafka.retry.max-attempts)
	// dead-letters a record after that many failed attempts, 0 retrying
	// until success or shutdown.
	Retry backoff.Policy
	// DrainTimeout bounds how long shutdown waits for handler calls in
	// flight before cancelling their context.
	DrainTimeout time.Duration

	// Security is TLS and SASL to the brokers.
	Security Security
}

// brokerList adapts Config.Brokers to flag.Value (comma-separated).
type brokerList struct{ v *[]string }

func (b brokerList) String() string {
	if b.v == nil {
		return ""
	}
	return strings.Join(*b.v, ",")
}

func (b brokerList) Set(s string) error {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	*b.v = out
	return nil
}

// RegisterFlags registers the kafka.* flags with their defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	c.Brokers = []string{"127.0.0.1:9092"}
	fs.Var(brokerList{&c.Brokers}, "kafka.brokers", "Kafka seed brokers, comma-separated host:port")
	fs.StringVar(&c.TopicPrefix, "kafka.topic-prefix", "", "prefix of every topic name")
	fs.StringVar(&c.ClientID, "kafka.client-id", "crashstream", "client id sent to the brokers")
	fs.BoolVar(&c.CreateTopics, "kafka.create-topics", true, "create missing topics at start-up")
	fs.IntVar(&c.Partitions, "kafka.partitions", 3, "partitions of created topics")
	fs.IntVar(&c.ReplicationFactor, "kafka.replication-factor", 1, "replication factor of created topics")
	fs.DurationVar(&c.Retention, "kafka.retention", 7*24*time.Hour, "retention of created topics")
	fs.IntVar(&c.MaxMessageBytes, "kafka.max-message-bytes", 16<<20, "largest record accepted (topic max.message.bytes, producer batch size)")
	fs.StringVar(&c.Compression, "kafka.compression", "lz4", "batch compression: none, gzip, snappy, lz4, zstd")
	fs.DurationVar(&c.Linger, "kafka.producer.linger", 5*time.Millisecond, "how long the producer waits to fill a batch")
	fs.IntVar(&c.Concurrency, "kafka.consumer.concurrency", 4, "partitions a consumer handles at once")
	fs.IntVar(&c.MaxPollRecords, "kafka.consumer.max-poll-records", 500, "records fetched per poll")
	// 64 KiB or 100 ms: at 40 reports/s the consumers took about an
	// eighth less CPU than with a fetch per record, and Kafka less too
	// (BENCHMARKS.md, "consumers fetch in batches"), for at most 100 ms
	// more per hop.
	fs.IntVar(&c.FetchMinBytes, "kafka.consumer.fetch-min-bytes", 64<<10, "bytes a fetch waits for (up to kafka.consumer.fetch-max-wait); 1 = answer as soon as a record is there")
	fs.DurationVar(&c.FetchMaxWait, "kafka.consumer.fetch-max-wait", 100*time.Millisecond, "longest a fetch waits for kafka.consumer.fetch-min-bytes")
	c.Retry = backoff.Policy{Multiplier: 2, Jitter: 0.5}
	fs.DurationVar(&c.Retry.Initial, "kafka.retry.backoff", 200*time.Millisecond, "first wait before retrying a transient failure")
	fs.DurationVar(&c.Retry.Max, "kafka.retry.max-backoff", 30*time.Second, "longest wait between retries")
	fs.IntVar(&c.Retry.MaxAttempts, "kafka.retry.max-attempts", 0, "dead-letter a record after this many failed attempts; 0 = retry until success")
	fs.DurationVar(&c.DrainTimeout, "kafka.consumer.drain-timeout", 30*time.Second, "how long shutdown waits for handlers in flight")
	c.Security.RegisterFlags(fs)
}

// DefaultConfig returns the flag defaults, for tests and tools.
func DefaultConfig() Config {
	var c Config
	c.RegisterFlags(flag.NewFlagSet("defaults", flag.ContinueOnError))
	return c
}

// Validate checks the configuration; each error names its flag.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("kafka.brokers: at least one broker is required"))
	}
	for _, b := range c.Brokers {
		host, port, err := net.SplitHostPort(b)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n <= 0 || n > 65535 {
			errs = append(errs, fmt.Errorf("kafka.brokers: %q is not host:port", b))
		}
	}
	if strings.ContainsAny(c.TopicPrefix, " /\\") || len(c.TopicPrefix) > 100 {
		errs = append(errs, fmt.Errorf("kafka.topic-prefix: %q is not a valid topic name prefix", c.TopicPrefix))
	}
	if c.Partitions < 1 {
		errs = append(errs, errors.New("kafka.partitions: must be at least 1"))
	}
	if c.ReplicationFactor < 1 {
		errs = append(errs, errors.New("kafka.replication-factor: must be at least 1"))
	}
	if c.Retention < time.Minute {
		errs = append(errs, errors.New("kafka.retention: must be at least 1m"))
	}
	if c.MaxMessageBytes < 1<<20 || c.MaxMessageBytes > 1<<30 {
		errs = append(errs, errors.New("kafka.max-message-bytes: must be between 1 MiB and 1 GiB"))
	}
	if _, err := compression(c.Compression); err != nil {
		errs = append(errs, err)
	}
	if c.Linger < 0 {
		errs = append(errs, errors.New("kafka.producer.linger: must not be negative"))
	}
	if c.Concurrency < 1 {
		errs = append(errs, errors.New("kafka.consumer.concurrency: must be at least 1"))
	}
	if c.MaxPollRecords < 1 {
		errs = append(errs, errors.New("kafka.consumer.max-poll-records: must be at least 1"))
	}
	if c.FetchMinBytes < 1 || c.FetchMinBytes > c.MaxMessageBytes {
		errs = append(errs, errors.New("kafka.consumer.fetch-min-bytes: must be between 1 and kafka.max-message-bytes"))
	}
	if c.FetchMaxWait < time.Millisecond || c.FetchMaxWait > time.Minute {
		errs = append(errs, errors.New("kafka.consumer.fetch-max-wait: must be between 1ms and 1m"))
	}
	if c.Retry.Initial <= 0 || c.Retry.Max < c.Retry.Initial {
		errs = append(errs, errors.New("kafka.retry.backoff: must be positive and at most kafka.retry.max-backoff"))
	}
	if c.Retry.MaxAttempts < 0 {
		errs = append(errs, errors.New("kafka.retry.max-attempts: must not be negative"))
	}
	if c.DrainTimeout <= 0 {
		errs = append(errs, errors.New("kafka.consumer.drain-timeout: must be positive"))
	}
	if err := c.Security.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func compression(name string) (kgo.CompressionCodec, error) {
	switch name {
	case "none":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("kafka.compression: unknown codec %q", name)
}
