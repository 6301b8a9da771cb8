package objectstore

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConditionalPuts: the lease primitives behave atomically on the real
// object store.
func TestConditionalPuts(t *testing.T) {
	_, b := stackBucket(t)
	ctx := context.Background()
	require.NoError(t, b.PutIfAbsent(ctx, "lease", []byte(`{"holder":"a"}`)))
	err := b.PutIfAbsent(ctx, "lease", []byte(`{"holder":"b"}`))
	assert.ErrorIs(t, err, ErrPrecondition, "a second creator loses")

	data, etag, err := b.GetWithETag(ctx, "lease", 1<<10)
	require.NoError(t, err)
	assert.JSONEq(t, `{"holder":"a"}`, string(data))
	require.NoError(t, b.PutIfMatch(ctx, "lease", []byte(`{"holder":"c"}`), etag))
	err = b.PutIfMatch(ctx, "lease", []byte(`{"holder":"d"}`), etag)
	assert.ErrorIs(t, err, ErrPrecondition, "a writer with a stale ETag loses")

	_, _, err = b.GetWithETag(ctx, "missing", 1<<10)
	assert.ErrorIs(t, err, ErrNotFound)
	require.NoError(t, b.Delete(ctx, "lease"))
}
