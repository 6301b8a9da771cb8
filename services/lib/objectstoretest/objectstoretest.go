// Package objectstoretest is an in-memory stand-in for an
// objectstore.Bucket, for the unit tests of code that keeps records, claims
// and leases in the object store (cron's job state, the webapp's reprocess
// jobs): it has the bucket's conditional writes and answers with the same
// errors, so that logic is tested without MinIO. It imports the standard
// library and the objectstore package only.
package objectstoretest

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"iter"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/crashstream/crashstream/storage/objectstore"
)

// Bucket is an in-memory bucket, safe for concurrent use; the zero value is
// not ready, use NewBucket.
//
// Every write gives the object a new ETag, even a write of the same bytes.
// That is stricter than S3, whose ETag is the content's MD5: a test then
// sees every update it would lose by writing over a version it did not read.
type Bucket struct {
	mu      sync.Mutex
	objects map[string]object
	writes  int // numbers the ETags
}

type object struct {
	data     []byte
	etag     string
	modified time.Time
}

// NewBucket returns an empty bucket.
func NewBucket() *Bucket { return &Bucket{objects: map[string]object{}} }

// put stores a copy of data under key with a new ETag; b.mu is held.
func (b *Bucket) put(key string, data []byte) {
	b.writes++
	sum := md5.Sum(data)
	b.objects[key] = object{
		data:     append([]byte(nil), data...),
		etag:     fmt.Sprintf("%s-%d", hex.EncodeToString(sum[:]), b.writes),
		modified: time.Now(),
	}
}

// GetWithETag returns a copy of the object and its ETag; a missing key
// wraps objectstore.ErrNotFound. maxSize is not enforced.
func (b *Bucket) GetWithETag(_ context.Context, key string, _ int64) ([]byte, string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objects[key]
	if !ok {
		return nil, "", fmt.Errorf("objectstoretest: get %s: %w", key, objectstore.ErrNotFound)
	}
	return append([]byte(nil), o.data...), o.etag, nil
}

// PutBytes writes key unconditionally.
func (b *Bucket) PutBytes(_ context.Context, key string, data []byte, _ string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.put(key, data)
	return nil
}

// PutIfAbsent writes key only if it does not exist yet, else
// objectstore.ErrPrecondition.
func (b *Bucket) PutIfAbsent(_ context.Context, key string, data []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.objects[key]; ok {
		return objectstore.ErrPrecondition
	}
	b.put(key, data)
	return nil
}

// PutIfMatch overwrites key only if it exists with ETag etag, else
// objectstore.ErrPrecondition.
func (b *Bucket) PutIfMatch(_ context.Context, key string, data []byte, etag string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if o, ok := b.objects[key]; !ok || o.etag != etag {
		return objectstore.ErrPrecondition
	}
	b.put(key, data)
	return nil
}

// Delete removes key; a missing key is not an error (S3 semantics).
func (b *Bucket) Delete(_ context.Context, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.objects, key)
	return nil
}

// List yields the objects under prefix in key order, as S3 lists them, as
// they were when the listing began.
func (b *Bucket) List(_ context.Context, prefix string) iter.Seq2[objectstore.ObjectInfo, error] {
	b.mu.Lock()
	var infos []objectstore.ObjectInfo
	for k, o := range b.objects {
		if strings.HasPrefix(k, prefix) {
			infos = append(infos, objectstore.ObjectInfo{Key: k, Size: int64(len(o.data)), LastModified: o.modified, ETag: o.etag})
		}
	}
	b.mu.Unlock()
	sort.Slice(infos, func(i, j int) bool { return infos[i].Key < infos[j].Key })
	return func(yield func(objectstore.ObjectInfo, error) bool) {
		for _, info := range infos {
			if !yield(info, nil) {
				return
			}
		}
	}
}
