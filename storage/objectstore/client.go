package objectstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// ErrNotFound is returned (wrapped) when an object or bucket does not exist,
// so callers can tell "missing" from "store unavailable" with errors.Is.
var ErrNotFound = errors.New("objectstore: not found")

// ErrTooLarge is returned by GetBytes when the object exceeds the caller's cap.
var ErrTooLarge = errors.New("objectstore: object larger than the cap")

// Client is a connection to the object store. It is safe for concurrent use;
// one per process is enough.
type Client struct {
	mc *minio.Client
	tr *http.Transport
}

// New builds a client from a validated Config. It does not contact the
// store: use Bucket.CheckWritable or Bucket.Check for that.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// A transport of our own, not http.DefaultTransport: enough idle
	// connections per host for a collector's concurrent PUTs, and bounded
	// dial and header waits so an unreachable store fails fast.
	tr := &http.Transport{
		Proxy:                 nil,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
	mc, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:     cfg.Secure,
		Region:     cfg.Region,
		Transport:  tr,
		MaxRetries: cfg.RequestAttempts,
		// With trailing headers the client sends a CRC32C of the body
		// after it, which lets Put skip the SHA-256 of the payload (below)
		// and keep an integrity check: one hash pass fewer per byte stored.
		TrailingHeaders: true,
	})
	if err != nil {
		return nil, fmt.Errorf("objectstore: %w", err)
	}
	return &Client{mc: mc, tr: tr}, nil
}

// Close releases idle connections.
func (c *Client) Close() {
	c.tr.CloseIdleConnections()
}

// Bucket returns a handle on one bucket; it is cheap and does no I/O.
func (c *Client) Bucket(name string) *Bucket { return &Bucket{mc: c.mc, name: name} }

// Bucket is one bucket of the store. Every method honours ctx; callers bound
// each call with a deadline.
type Bucket struct {
	mc   *minio.Client
	name string
}

// Name is the bucket name.
func (b *Bucket) Name() string { return b.name }

// Ensure creates the bucket if it does not exist yet. Concurrent creation
// by another process is not an error.
func (b *Bucket) Ensure(ctx context.Context) error {
	ok, err := b.mc.BucketExists(ctx, b.name)
	if err != nil {
		return fmt.Errorf("objectstore: bucket %s: %w", b.name, err)
	}
	if ok {
		return nil
	}
	if err := b.mc.MakeBucket(ctx, b.name, minio.MakeBucketOptions{}); err != nil {
		code := minio.ToErrorResponse(err).Code
		if code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists" {
			return nil
		}
		return fmt.Errorf("objectstore: create bucket %s: %w", b.name, err)
	}
	return nil
}

// Remove deletes the bucket, which must be empty (tests and tooling use
// it to clean up after themselves).
func (b *Bucket) Remove(ctx context.Context) error {
	if err := b.mc.RemoveBucket(ctx, b.name); err != nil {
		return b.wrap("remove bucket", "", err)
	}
	return nil
}

// RemoveWithContents deletes the bucket and every object in it in one
// request (MinIO's force delete; other S3 servers refuse it). Benchmarks
// use it: a bucket left behind keeps MinIO's scanner busy, 10-16 % of a
// core with the 500 buckets earlier runs had left on the test stack.
func (b *Bucket) RemoveWithContents(ctx context.Context) error {
	if err := b.mc.RemoveBucketWithOptions(ctx, b.name, minio.RemoveBucketOptions{ForceDelete: true}); err != nil {
		return b.wrap("remove bucket with contents", "", err)
	}
	return nil
}

// Check reports whether the bucket is reachable and exists; it is the
// dependency check for /__heartbeat__.
func (b *Bucket) Check(ctx context.Context) error {
	ok, err := b.mc.BucketExists(ctx, b.name)
	if err != nil {
		return fmt.Errorf("objectstore: bucket %s: %w", b.name, err)
	}
	if !ok {
		return fmt.Errorf("objectstore: bucket %s: %w", b.name, ErrNotFound)
	}
	return nil
}

// CheckWritable writes, reads back and deletes a small object under
// v1/_writecheck/. Services that must never accept data they cannot store
// (the collector) run it at start-up and refuse to start when it fails.
func (b *Bucket) CheckWritable(ctx context.Context) error {
	key := fmt.Sprintf("v1/_writecheck/%d", time.Now().UnixNano())
	payload := []byte("crashstream write check\n")
	if err := b.PutBytes(ctx, key, payload, "text/plain"); err != nil {
		return fmt.Errorf("objectstore: bucket %s is not writable: %w", b.name, err)
	}
	got, err := b.GetBytes(ctx, key, int64(len(payload)))
	if err != nil {
		return fmt.Errorf("objectstore: bucket %s: read back: %w", b.name, err)
	}
	if !bytes.Equal(got, payload) {
		return fmt.Errorf("objectstore: bucket %s: read back different bytes", b.name)
	}
	return b.Delete(ctx, key)
}

// Put streams size bytes from r to key. The size must be exact: the body is
// sent in one request with a streaming signature, so nothing is buffered
// here. Pass an io.ReadSeeker (bytes.Reader, io.SectionReader) to let the
// client retry a failed request from the start.
func (b *Bucket) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	return b.put(ctx, key, r, size, contentType, nil)
}

// PutWithSHA256 is Put that also records sum, the hex SHA-256 of the
// bytes, in the object's metadata (ObjectInfo.SHA256). Writers that must
// tell "the same content again" from a change use it: an ETag is not a
// content hash on every store (MinIO without compat mode, S3 with SSE-KMS,
// multipart uploads), so the same bytes stored twice may get two tags.
func (b *Bucket) PutWithSHA256(ctx context.Context, key string, r io.Reader, size int64, contentType, sum string) error {
	return b.put(ctx, key, r, size, contentType, map[string]string{sha256MetaKey: sum})
}

// sha256MetaKey is the user-metadata name of PutWithSHA256's hash (sent as
// X-Amz-Meta-Content-Sha256).
const sha256MetaKey = "Content-Sha256"

func (b *Bucket) put(ctx context.Context, key string, r io.Reader, size int64, contentType string, meta map[string]string) error {
	if size < 0 {
		return fmt.Errorf("objectstore: put %s: size must be known", key)
	}
	_, err := b.mc.PutObject(ctx, b.name, key, r, size, minio.PutObjectOptions{
		ContentType:  contentType,
		UserMetadata: meta,
		// Small objects in one request; large ones in 16 MiB parts, which
		// bounds the client's buffer for a non-seekable reader.
		PartSize: 16 << 20,
		// Integrity comes from the CRC32C trailer (TrailingHeaders) and
		// TLS when Secure; the SHA-256 payload signature would cost a
		// second hash pass over every dump for no extra protection.
		DisableContentSha256: true,
	})
	if err != nil {
		return fmt.Errorf("objectstore: put %s/%s: %w", b.name, key, err)
	}
	return nil
}

// PutBytes writes data to key.
func (b *Bucket) PutBytes(ctx context.Context, key string, data []byte, contentType string) error {
	return b.Put(ctx, key, bytes.NewReader(data), int64(len(data)), contentType)
}

// Get opens key for reading; the caller closes the reader. A missing key
// gives an error wrapping ErrNotFound.
func (b *Bucket) Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	rc, st, err := b.getOnce(ctx, key)
	if err != nil {
		return nil, ObjectInfo{}, b.wrap("get", key, err)
	}
	return rc, toInfo(st), nil
}

// getOnce sends one GET and takes the object's metadata from its response.
// (minio-go's Client.GetObject followed by Stat sends a HEAD first, then the
// GET: two round trips per object, a tenth of the processor's CPU.)
func (b *Bucket) getOnce(ctx context.Context, key string) (io.ReadCloser, minio.ObjectInfo, error) {
	rc, st, _, err := minio.Core{Client: b.mc}.GetObject(ctx, b.name, key, minio.GetObjectOptions{})
	return rc, st, err
}

// GetBytes reads the whole object, refusing (ErrTooLarge) anything larger
// than maxSize so a hostile or corrupt object cannot exhaust memory.
func (b *Bucket) GetBytes(ctx context.Context, key string, maxSize int64) ([]byte, error) {
	rc, info, err := b.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if info.Size > maxSize {
		return nil, fmt.Errorf("objectstore: get %s/%s: %d bytes: %w", b.name, key, info.Size, ErrTooLarge)
	}
	// Size the buffer from the object's length: growing it by doubling
	// copied and zeroed megabyte dumps several times over.
	buf := bytes.NewBuffer(make([]byte, 0, info.Size+bytes.MinRead))
	if _, err := buf.ReadFrom(io.LimitReader(rc, maxSize+1)); err != nil {
		return nil, b.wrap("get", key, err)
	}
	data := buf.Bytes()
	if int64(len(data)) > maxSize {
		return nil, fmt.Errorf("objectstore: get %s/%s: %w", b.name, key, ErrTooLarge)
	}
	return data, nil
}

// Stat returns an object's metadata; a missing key wraps ErrNotFound.
func (b *Bucket) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	st, err := b.mc.StatObject(ctx, b.name, key, minio.StatObjectOptions{})
	if err != nil {
		return ObjectInfo{}, b.wrap("stat", key, err)
	}
	return toInfo(st), nil
}

// Exists reports whether key exists.
func (b *Bucket) Exists(ctx context.Context, key string) (bool, error) {
	_, err := b.Stat(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// List yields every object whose key starts with prefix, in key order,
// recursively. Stop early by breaking out of the loop; a listing error is
// yielded once and ends the sequence.
func (b *Bucket) List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error] {
	return func(yield func(ObjectInfo, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel() // stops minio-go's listing goroutine on early exit
		for o := range b.mc.ListObjects(ctx, b.name, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if o.Err != nil {
				yield(ObjectInfo{}, b.wrap("list", prefix, o.Err))
				return
			}
			if !yield(toInfo(o), nil) {
				return
			}
		}
	}
}

// Delete removes key. Deleting a missing key is not an error (S3 semantics).
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := b.mc.RemoveObject(ctx, b.name, key, minio.RemoveObjectOptions{}); err != nil {
		return b.wrap("delete", key, err)
	}
	return nil
}

func (b *Bucket) wrap(op, key string, err error) error {
	switch minio.ToErrorResponse(err).Code {
	case minio.NoSuchKey, minio.NoSuchBucket:
		return fmt.Errorf("objectstore: %s %s/%s: %w (%v)", op, b.name, key, ErrNotFound, err)
	}
	return fmt.Errorf("objectstore: %s %s/%s: %w", op, b.name, key, err)
}

// ObjectInfo is what callers need of an object's metadata.
type ObjectInfo struct {
	Key          string
	Size         int64
	LastModified time.Time
	ContentType  string
	// ETag is the store's tag of this version of the object: it changes
	// whenever the object is written. It is not always a hash of the
	// content (MinIO without compat mode and S3 with SSE-KMS give other
	// tags), so the same bytes written again may get a new one.
	ETag string
	// SHA256 is the hex SHA-256 of the content when it was written with
	// PutWithSHA256 ("" otherwise, and in listings).
	SHA256 string
}

func toInfo(o minio.ObjectInfo) ObjectInfo {
	return ObjectInfo{Key: o.Key, Size: o.Size, LastModified: o.LastModified, ContentType: o.ContentType, ETag: o.ETag,
		SHA256: o.UserMetadata[sha256MetaKey]}
}
