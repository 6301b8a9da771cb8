package auth

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
)

// MemBlobs is an in-memory Blobs for tests and single-process tools.
type MemBlobs struct {
	mu sync.Mutex
	m  map[string][]byte
}

var errMemNotFound = errors.New("not found")

// Get implements Blobs.
func (b *MemBlobs) Get(_ context.Context, key string) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[key]
	if !ok {
		return nil, errMemNotFound
	}
	return append([]byte(nil), v...), nil
}

// Put implements Blobs.
func (b *MemBlobs) Put(_ context.Context, key string, data []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string][]byte{}
	}
	b.m[key] = append([]byte(nil), data...)
	return nil
}

// List implements Blobs.
func (b *MemBlobs) List(_ context.Context, prefix string) ([]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for k := range b.m {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Delete implements Blobs.
func (b *MemBlobs) Delete(_ context.Context, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, key)
	return nil
}

// IsNotFound implements Blobs.
func (b *MemBlobs) IsNotFound(err error) bool { return errors.Is(err, errMemNotFound) }
