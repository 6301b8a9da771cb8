package auth

import (
	"context"
	"errors"

	"github.com/crashstream/crashstream/storage/objectstore"
)

// BucketBlobs adapts an object store bucket to Blobs, so that the webapp,
// the token CLI and the cron job share one token store.
func BucketBlobs(b *objectstore.Bucket) Blobs { return bucketBlobs{b} }

type bucketBlobs struct{ b *objectstore.Bucket }

func (x bucketBlobs) Get(ctx context.Context, key string) ([]byte, error) {
	return x.b.GetBytes(ctx, key, 1<<16)
}

func (x bucketBlobs) Put(ctx context.Context, key string, data []byte) error {
	return x.b.PutBytes(ctx, key, data, "application/json")
}

func (x bucketBlobs) List(ctx context.Context, prefix string) ([]string, error) {
	var out []string
	for info, err := range x.b.List(ctx, prefix) {
		if err != nil {
			return nil, err
		}
		out = append(out, info.Key)
	}
	return out, nil
}

func (x bucketBlobs) Delete(ctx context.Context, key string) error { return x.b.Delete(ctx, key) }

func (x bucketBlobs) IsNotFound(err error) bool { return errors.Is(err, objectstore.ErrNotFound) }
