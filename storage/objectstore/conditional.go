package objectstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"
)

// ErrPrecondition is returned (wrapped) when a conditional write lost: the
// object already existed (PutIfAbsent) or changed since it was read
// (PutIfMatch). S3 and MinIO evaluate the condition atomically, which makes
// these two calls enough to build leases (the cron runner's job locks).
var ErrPrecondition = errors.New("objectstore: precondition failed")

// GetWithETag reads a small object and its ETag, for a later PutIfMatch.
// minio-go reads an object pinned to the ETag it first saw, so an object
// replaced mid-read fails with a precondition error; GetWithETag then reads
// the new version, a few times at most.
func (b *Bucket) GetWithETag(ctx context.Context, key string, maxSize int64) ([]byte, string, error) {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var data []byte
		var etag string
		data, etag, err = b.getWithETag(ctx, key, maxSize)
		if !errors.Is(err, ErrPrecondition) {
			return data, etag, err
		}
	}
	return nil, "", err
}

func (b *Bucket) getWithETag(ctx context.Context, key string, maxSize int64) ([]byte, string, error) {
	// one GET: the body and the ETag come from the same response
	obj, st, err := b.getOnce(ctx, key)
	if err != nil {
		return nil, "", b.wrapRead(key, err)
	}
	defer obj.Close()
	if st.Size > maxSize {
		return nil, "", fmt.Errorf("objectstore: get %s/%s: %w", b.name, key, ErrTooLarge)
	}
	data, err := io.ReadAll(io.LimitReader(obj, maxSize+1))
	if err != nil {
		return nil, "", b.wrapRead(key, err)
	}
	return data, st.ETag, nil
}

// wrapRead is wrap for reads, telling a version change apart.
func (b *Bucket) wrapRead(key string, err error) error {
	if resp := minio.ToErrorResponse(err); resp.Code == "PreconditionFailed" || resp.StatusCode == 412 {
		return fmt.Errorf("objectstore: get %s/%s changed while reading: %w", b.name, key, ErrPrecondition)
	}
	return b.wrap("get", key, err)
}

// PutIfAbsent writes key only if it does not exist yet.
func (b *Bucket) PutIfAbsent(ctx context.Context, key string, data []byte) error {
	opts := minio.PutObjectOptions{ContentType: "application/json"}
	opts.SetMatchETagExcept("*")
	return b.conditionalPut(ctx, key, data, opts)
}

// PutIfMatch overwrites key only if its ETag is still etag.
func (b *Bucket) PutIfMatch(ctx context.Context, key string, data []byte, etag string) error {
	opts := minio.PutObjectOptions{ContentType: "application/json"}
	opts.SetMatchETag(etag)
	return b.conditionalPut(ctx, key, data, opts)
}

func (b *Bucket) conditionalPut(ctx context.Context, key string, data []byte, opts minio.PutObjectOptions) error {
	_, err := b.mc.PutObject(ctx, b.name, key, bytes.NewReader(data), int64(len(data)), opts)
	if err == nil {
		return nil
	}
	if resp := minio.ToErrorResponse(err); resp.Code == "PreconditionFailed" || resp.StatusCode == 412 {
		return fmt.Errorf("objectstore: put %s/%s: %w", b.name, key, ErrPrecondition)
	}
	return b.wrap("put", key, err)
}
