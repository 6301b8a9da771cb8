package cron

import (
	"context"
	"fmt"
	"sync"

	"github.com/crashstream/crashstream/storage/objectstore"
)

// memStore is an in-memory Store with the object store's conditional-write
// semantics (ETags change on every write).
type memStore struct {
	mu   sync.Mutex
	objs map[string][]byte
	tags map[string]string
	n    int
}

func newMemStore() *memStore { return &memStore{objs: map[string][]byte{}, tags: map[string]string{}} }

func (m *memStore) GetWithETag(_ context.Context, key string, _ int64) ([]byte, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[key]
	if !ok {
		return nil, "", objectstore.ErrNotFound
	}
	return append([]byte(nil), b...), m.tags[key], nil
}

func (m *memStore) put(key string, data []byte) {
	m.n++
	m.objs[key] = append([]byte(nil), data...)
	m.tags[key] = fmt.Sprint(m.n)
}

func (m *memStore) PutBytes(_ context.Context, key string, data []byte, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.put(key, data)
	return nil
}

func (m *memStore) PutIfAbsent(_ context.Context, key string, data []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objs[key]; ok {
		return objectstore.ErrPrecondition
	}
	m.put(key, data)
	return nil
}

func (m *memStore) PutIfMatch(_ context.Context, key string, data []byte, etag string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tags[key] != etag {
		return objectstore.ErrPrecondition
	}
	m.put(key, data)
	return nil
}

func (m *memStore) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objs, key)
	delete(m.tags, key)
	return nil
}
