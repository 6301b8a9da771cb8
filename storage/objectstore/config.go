package objectstore

import (
	"flag"
	"fmt"
	"net"
	"strconv"

	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// Config says where the object store is and which buckets hold what. Every
// service that touches the store registers the same s3.* flags, so one set
// of CRASHSTREAM_S3_* variables configures the whole deployment.
type Config struct {
	// Endpoint is the S3 API host:port (MinIO locally).
	Endpoint string
	// AccessKey and SecretKey are the S3 credentials.
	AccessKey string
	SecretKey string
	// Secure selects HTTPS.
	Secure bool
	// Region is sent with requests; setting it avoids a bucket-location
	// round trip before the first request to each bucket.
	Region string
	// Bucket holds raw crashes, dumps and processed crashes.
	Bucket string
	// SymbolsBucket holds Breakpad symbol files.
	SymbolsBucket string
	// TelemetryBucket holds the public telemetry export.
	TelemetryBucket string
	// RequestAttempts bounds the client's own attempts at one request
	// (1 = no retry). Callers that must answer within a bound (the
	// collector) keep it low and retry with their own backoff.
	RequestAttempts int
}

// RegisterFlags adds the s3.* flags with the local-stack defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Endpoint, "s3.endpoint", "127.0.0.1:9000", "object store S3 API host:port")
	fs.StringVar(&c.AccessKey, "s3.access-key", "crashstream", "object store access key")
	fs.StringVar(&c.SecretKey, "s3.secret-key", "crashstream-secret", "object store secret key")
	fs.BoolVar(&c.Secure, "s3.secure", false, "use HTTPS for the object store")
	fs.StringVar(&c.Region, "s3.region", "us-east-1", "object store region")
	fs.StringVar(&c.Bucket, "s3.bucket", "crashstream", "bucket for raw crashes, dumps and processed crashes")
	fs.StringVar(&c.SymbolsBucket, "s3.symbols-bucket", "crashstream-symbols", "bucket for symbol files")
	fs.StringVar(&c.TelemetryBucket, "s3.telemetry-bucket", "crashstream-telemetry", "bucket for the telemetry export")
	fs.IntVar(&c.RequestAttempts, "s3.request-attempts", 2, "attempts at one object store request inside the client (1 = no retry)")
}

// Validate checks every field and names the flag at fault.
func (c Config) Validate() error {
	host, port, err := net.SplitHostPort(c.Endpoint)
	if err != nil || host == "" {
		return fmt.Errorf("-s3.endpoint: %q is not host:port", c.Endpoint)
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return fmt.Errorf("-s3.endpoint: %q has an invalid port", c.Endpoint)
	}
	if c.AccessKey == "" {
		return fmt.Errorf("-s3.access-key: must not be empty")
	}
	if c.SecretKey == "" {
		return fmt.Errorf("-s3.secret-key: must not be empty")
	}
	for _, b := range []struct{ flag, name string }{
		{"-s3.bucket", c.Bucket}, {"-s3.symbols-bucket", c.SymbolsBucket}, {"-s3.telemetry-bucket", c.TelemetryBucket},
	} {
		if err := s3utils.CheckValidBucketNameStrict(b.name); err != nil {
			return fmt.Errorf("%s: %q: %v", b.flag, b.name, err)
		}
	}
	if c.RequestAttempts < 1 {
		return fmt.Errorf("-s3.request-attempts: must be at least 1, got %d", c.RequestAttempts)
	}
	return nil
}
