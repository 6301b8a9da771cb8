package auth

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTokenLifecycle(t *testing.T) {
	ctx := context.Background()
	blobs := &MemBlobs{}
	s := NewStore(blobs)
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }

	key, tok, err := s.Create(ctx, "ci", []string{ViewPII, ReprocessCrashes, ViewPII}, 90*24*time.Hour)
	require.NoError(t, err)
	assert.Len(t, key, 32)
	assert.Equal(t, []string{ReprocessCrashes, ViewPII}, tok.Permissions)
	stored, _ := blobs.List(ctx, "tokens/")
	require.Len(t, stored, 1)
	raw, _ := blobs.Get(ctx, stored[0])
	assert.NotContains(t, string(raw), key, "the raw key is never stored")

	c, err := s.Authenticate(ctx, key)
	require.NoError(t, err)
	assert.True(t, c.Has(ViewPII))
	assert.False(t, c.Has(UploadSymbols))

	_, err = s.Authenticate(ctx, "0123456789abcdef0123456789abcdef")
	assert.ErrorIs(t, err, ErrInvalidToken)
	_, err = s.Authenticate(ctx, "")
	assert.ErrorIs(t, err, ErrInvalidToken)

	now = now.Add(91 * 24 * time.Hour)
	_, err = s.Authenticate(ctx, key)
	assert.ErrorIs(t, err, ErrInvalidToken, "expired")
	now = now.Add(-91 * 24 * time.Hour)

	require.NoError(t, s.Revoke(ctx, tok.Hash))
	_, err = s.Authenticate(ctx, key)
	assert.ErrorIs(t, err, ErrInvalidToken, "revoked")

	n, err := s.DeleteExpired(ctx, now)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	all, err := s.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, all)
}

func TestCreateValidates(t *testing.T) {
	s := NewStore(&MemBlobs{})
	_, _, err := s.Create(context.Background(), "x", []string{"root"}, time.Hour)
	assert.ErrorContains(t, err, "unknown permission")
	_, _, err = s.Create(context.Background(), " ", nil, time.Hour)
	assert.Error(t, err)
	_, _, err = s.Create(context.Background(), "x", nil, 0)
	assert.Error(t, err)
	assert.True(t, Anonymous().Anonymous)
	assert.False(t, Anonymous().Has(ViewPII))
}
