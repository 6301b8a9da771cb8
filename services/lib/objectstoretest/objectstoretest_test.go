package objectstoretest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/storage/objectstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestConditionalWrites: the fake answers the conditional writes as the
// bucket does, and a write of the same bytes still changes the ETag.
func TestConditionalWrites(t *testing.T) {
	ctx := context.Background()
	b := NewBucket()
	_, _, err := b.GetWithETag(ctx, "k", 1)
	require.ErrorIs(t, err, objectstore.ErrNotFound)
	require.ErrorIs(t, b.PutIfMatch(ctx, "k", []byte("x"), ""), objectstore.ErrPrecondition, "no object to match")

	require.NoError(t, b.PutIfAbsent(ctx, "k", []byte("v1")))
	require.ErrorIs(t, b.PutIfAbsent(ctx, "k", []byte("v2")), objectstore.ErrPrecondition)
	data, etag1, err := b.GetWithETag(ctx, "k", 1)
	require.NoError(t, err)
	assert.Equal(t, "v1", string(data))

	require.NoError(t, b.PutIfMatch(ctx, "k", []byte("v1"), etag1))
	_, etag2, err := b.GetWithETag(ctx, "k", 1)
	require.NoError(t, err)
	assert.NotEqual(t, etag1, etag2, "same bytes, new write, new ETag")
	require.ErrorIs(t, b.PutIfMatch(ctx, "k", []byte("v3"), etag1), objectstore.ErrPrecondition, "stale ETag")

	require.NoError(t, b.PutBytes(ctx, "k", []byte("v4"), "text/plain"))
	data, _, err = b.GetWithETag(ctx, "k", 1)
	require.NoError(t, err)
	assert.Equal(t, "v4", string(data))
	data[0] = 'X'
	data, _, _ = b.GetWithETag(ctx, "k", 1)
	assert.Equal(t, "v4", string(data), "callers get a copy")

	require.NoError(t, b.Delete(ctx, "k"))
	require.NoError(t, b.Delete(ctx, "k"), "deleting a missing key is not an error")
	_, _, err = b.GetWithETag(ctx, "k", 1)
	require.ErrorIs(t, err, objectstore.ErrNotFound)
}

// TestList: the objects under a prefix in key order, with the ETag a read
// returns.
func TestList(t *testing.T) {
	ctx := context.Background()
	b := NewBucket()
	for _, k := range []string{"a/2", "b/1", "a/1"} {
		require.NoError(t, b.PutBytes(ctx, k, []byte(k+"!"), ""))
	}
	var keys []string
	for info, err := range b.List(ctx, "a/") {
		require.NoError(t, err)
		keys = append(keys, info.Key)
		_, etag, err := b.GetWithETag(ctx, info.Key, 1)
		require.NoError(t, err)
		assert.Equal(t, etag, info.ETag)
		assert.EqualValues(t, 4, info.Size)
		assert.False(t, info.LastModified.IsZero())
	}
	assert.Equal(t, []string{"a/1", "a/2"}, keys)
	for range b.List(ctx, "") {
		break // stopping early is allowed
	}
}
