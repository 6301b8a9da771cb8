package objectstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const id = "de1bb258-cbbf-4589-a673-34f800160918"

func TestKeys(t *testing.T) {
	tests := []struct {
		name string
		fn   func() (string, error)
		want string
	}{
		{"raw crash", func() (string, error) { return RawCrashKey(id) }, "v1/raw_crash/20160918/" + id},
		{"dump names", func() (string, error) { return DumpNamesKey(id) }, "v1/dump_names/" + id},
		{"main dump", func() (string, error) { return DumpKey("upload_file_minidump", id) }, "v1/dump/" + id},
		{"main dump stored name", func() (string, error) { return DumpKey("dump", id) }, "v1/dump/" + id},
		{"other dump", func() (string, error) { return DumpKey("upload_file_minidump_browser", id) }, "v1/upload_file_minidump_browser/" + id},
		{"processed", func() (string, error) { return ProcessedCrashKey(id) }, "v1/processed_crash/" + id},
		{"telemetry", func() (string, error) { return TelemetryKey(id) }, "v1/crash_report/20160918/" + id},
		{"symbol pdb", func() (string, error) { return SymbolKey("xul.pdb", "44E4EC8C2F41492B9369D6B9A059577C2") }, "xul.pdb/44E4EC8C2F41492B9369D6B9A059577C2/xul.sym"},
		{"symbol elf", func() (string, error) { return SymbolKey("libxul.so", "0A1B") }, "libxul.so/0A1B/libxul.so.sym"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.fn()
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	assert.Equal(t, "v1/raw_crash/20260102/", RawCrashPrefix(time.Date(2026, 1, 2, 23, 0, 0, 0, time.UTC)))
	got, err := CrashIDFromKey("v1/raw_crash/20160918/" + id)
	require.NoError(t, err)
	assert.Equal(t, id, got)
}

func TestKeysRefuseBadInput(t *testing.T) {
	bad := []struct {
		name string
		fn   func() (string, error)
	}{
		{"traversal id", func() (string, error) { return RawCrashKey("../../etc/passwd") }},
		{"upper case id", func() (string, error) { return DumpNamesKey(strings.ToUpper(id)) }},
		{"bad date", func() (string, error) { return RawCrashKey("de1bb258-cbbf-4589-a673-34f800161399") }},
		{"dump name with slash", func() (string, error) { return DumpKey("a/b", id) }},
		{"reserved dump name", func() (string, error) { return DumpKey("raw_crash", id) }},
		{"long dump name", func() (string, error) { return DumpKey(strings.Repeat("a", 31), id) }},
		{"symbol traversal", func() (string, error) { return SymbolKey("..", "AB") }},
		{"symbol slash", func() (string, error) { return SymbolKey("a/b.pdb", "AB") }},
		{"symbol bad id", func() (string, error) { return SymbolKey("xul.pdb", "zz") }},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.fn()
			assert.Error(t, err)
		})
	}
}

func TestCheckCrashIDStrict(t *testing.T) {
	fake := id[:len(id)-7] + "3" + id[len(id)-6:]
	assert.NoError(t, CheckCrashID(fake, false))
	assert.Error(t, CheckCrashID(fake, true))
	assert.NoError(t, CheckCrashID(id, true))
}

func TestConfig(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var c Config
	c.RegisterFlags(fs)
	require.NoError(t, fs.Parse(nil))
	require.NoError(t, c.Validate())
	assert.Equal(t, "127.0.0.1:9000", c.Endpoint)
	assert.Equal(t, "crashstream-symbols", c.SymbolsBucket)

	tests := []struct {
		flag string
		mut  func(*Config)
	}{
		{"-s3.endpoint", func(c *Config) { c.Endpoint = "localhost" }},
		{"-s3.endpoint", func(c *Config) { c.Endpoint = "localhost:99999" }},
		{"-s3.access-key", func(c *Config) { c.AccessKey = "" }},
		{"-s3.secret-key", func(c *Config) { c.SecretKey = "" }},
		{"-s3.bucket", func(c *Config) { c.Bucket = "Bad_Bucket" }},
		{"-s3.symbols-bucket", func(c *Config) { c.SymbolsBucket = "x" }},
		{"-s3.telemetry-bucket", func(c *Config) { c.TelemetryBucket = "" }},
		{"-s3.request-attempts", func(c *Config) { c.RequestAttempts = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			bad := c
			tt.mut(&bad)
			assert.ErrorContains(t, bad.Validate(), tt.flag)
		})
	}
}

// stackBucket connects to the real object store (make up) and returns a
// fresh bucket; it skips unless CRASHSTREAM_STACK=1.
func stackBucket(t *testing.T) (*Client, *Bucket) {
	t.Helper()
	if os.Getenv("CRASHSTREAM_STACK") != "1" {
		t.Skip("needs the real stack: run `make up` and set CRASHSTREAM_STACK=1")
	}
	cfg := Config{Endpoint: "127.0.0.1:9000", AccessKey: "crashstream", SecretKey: "crashstream-secret",
		Region: "us-east-1", Bucket: "crashstream", SymbolsBucket: "crashstream-symbols",
		TelemetryBucket: "crashstream-telemetry", RequestAttempts: 2}
	if e := os.Getenv("CRASHSTREAM_S3_ENDPOINT"); e != "" {
		cfg.Endpoint = e
	}
	c, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	b := c.Bucket("test-objectstore-" + hex.EncodeToString(rnd[:]))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, b.Ensure(ctx))
	require.NoError(t, b.Ensure(ctx), "Ensure is idempotent")
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for o, err := range b.List(ctx, "") {
			if err != nil {
				break
			}
			_ = b.Delete(ctx, o.Key)
		}
		assert.NoError(t, b.Remove(ctx))
	})
	return c, b
}

func TestBucketRoundTrip(t *testing.T) {
	_, b := stackBucket(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, b.CheckWritable(ctx))
	require.NoError(t, b.Check(ctx))

	big := bytes.Repeat([]byte("minidump"), 300_000) // 2.4 MB, streamed
	require.NoError(t, b.Put(ctx, "v1/dump/"+id, bytes.NewReader(big), int64(len(big)), "application/octet-stream"))
	require.NoError(t, b.PutBytes(ctx, "v1/dump_names/"+id, []byte(`["upload_file_minidump"]`), "application/json"))

	rc, info, err := b.Get(ctx, "v1/dump/"+id)
	require.NoError(t, err)
	got, err := io.ReadAll(rc)
	require.NoError(t, rc.Close())
	require.NoError(t, err)
	assert.Equal(t, big, got)
	assert.Equal(t, int64(len(big)), info.Size)

	_, err = b.GetBytes(ctx, "v1/dump/"+id, 1000)
	assert.ErrorIs(t, err, ErrTooLarge)
	_, err = b.GetBytes(ctx, "v1/nope/"+id, 1000)
	assert.ErrorIs(t, err, ErrNotFound)
	ok, err := b.Exists(ctx, "v1/nope/"+id)
	require.NoError(t, err)
	assert.False(t, ok)

	var keys []string
	for o, err := range b.List(ctx, "v1/") {
		require.NoError(t, err)
		keys = append(keys, o.Key)
	}
	assert.Equal(t, []string{"v1/dump/" + id, "v1/dump_names/" + id}, keys)

	require.NoError(t, b.Delete(ctx, "v1/dump/"+id))
	require.NoError(t, b.Delete(ctx, "v1/dump/"+id), "deleting a missing key is fine")
	_, err = b.Stat(ctx, "v1/dump/"+id)
	assert.True(t, errors.Is(err, ErrNotFound))
}

// TestPutWithSHA256: the hash comes back from Stat (and Get); a plain Put
// has none; writing the same bytes again gives a new ETag on a store
// without MD5 ETags (the stack's MinIO), which is why the hash exists.
func TestPutWithSHA256(t *testing.T) {
	_, b := stackBucket(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	data := []byte("MODULE Linux x86_64 0123 app\n")
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	key := "app/0123/app.sym"
	require.NoError(t, b.PutWithSHA256(ctx, key, bytes.NewReader(data), int64(len(data)), "text/plain", hexSum))
	first, err := b.Stat(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, hexSum, first.SHA256)
	rc, info, err := b.Get(ctx, key)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	assert.Equal(t, hexSum, info.SHA256)

	require.NoError(t, b.PutWithSHA256(ctx, key, bytes.NewReader(data), int64(len(data)), "text/plain", hexSum))
	again, err := b.Stat(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, hexSum, again.SHA256)
	if again.ETag != first.ETag {
		t.Logf("the same bytes written twice got two ETags (%s, %s): the store's ETags are not content hashes", first.ETag, again.ETag)
	}

	require.NoError(t, b.PutBytes(ctx, key, data, "text/plain"))
	plain, err := b.Stat(ctx, key)
	require.NoError(t, err)
	assert.Empty(t, plain.SHA256, "a plain Put records no hash")
}

func TestBucketMissing(t *testing.T) {
	c, _ := stackBucket(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b := c.Bucket("test-objectstore-does-not-exist")
	assert.ErrorIs(t, b.Check(ctx), ErrNotFound)
	assert.Error(t, b.CheckWritable(ctx))
}
