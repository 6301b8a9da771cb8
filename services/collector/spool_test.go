package collector

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpoolReadBack(t *testing.T) {
	pool := newChunkPool(1 << 30)
	rng := rand.New(rand.NewPCG(1, 1))
	tests := []struct {
		name         string
		size, budget int
		spills       bool
	}{
		{"empty", 0, chunkSize, false},
		{"one partial chunk", 1000, chunkSize, false},
		{"exactly one chunk", chunkSize, chunkSize, false},
		{"three chunks", 3*chunkSize - 7, 3 * chunkSize, false},
		{"chunks then file", 5*chunkSize + 3, 2 * chunkSize, true},
		{"no budget", 1000, 0, true},
	}
	for _, tt := range tests {
		for _, via := range []string{"Write", "ReadFrom"} {
			t.Run(tt.name+"/"+via, func(t *testing.T) {
				data := make([]byte, tt.size)
				for i := range data {
					data[i] = byte(rng.IntN(256))
				}
				budget := int64(tt.budget)
				s := newSpool("d", t.TempDir(), &budget, pool)
				if via == "Write" {
					// Odd write sizes cross chunk boundaries at every offset.
					for rest := data; len(rest) > 0; {
						k := min(len(rest), 1+rng.IntN(20000))
						n, err := s.Write(rest[:k])
						require.NoError(t, err)
						require.Equal(t, k, n)
						rest = rest[k:]
					}
				} else {
					// io.Copy takes ReadFrom; odd reads, some empty.
					n, err := io.Copy(s, &oddReader{r: bytes.NewReader(data), rng: rng})
					require.NoError(t, err)
					require.Equal(t, int64(len(data)), n)
				}
				sum := sha256.Sum256(data)
				assert.Equal(t, hex.EncodeToString(sum[:]), s.checksum())
				checkSpool(t, s, data, tt.spills, tt.size)
				assert.Equal(t, int64(tt.budget), budget, "budget returned")
			})
		}
	}
}

// oddReader reads at most a random few KiB at a time, and sometimes
// nothing.
type oddReader struct {
	r   io.Reader
	rng *rand.Rand
}

func (o *oddReader) Read(p []byte) (int, error) {
	k := o.rng.IntN(20000)
	if k == 0 {
		return 0, nil
	}
	return o.r.Read(p[:min(len(p), k)])
}

// checkSpool reads s back whole and from its middle, then closes it.
func checkSpool(t *testing.T, s *spool, data []byte, spills bool, size int) {
	t.Helper()
	assert.Equal(t, spills, s.file != nil)
	got, err := io.ReadAll(s.reader())
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, got))
	r := s.reader()
	if size > 10 {
		_, err = r.Seek(int64(size/2), io.SeekStart)
		require.NoError(t, err)
		tail, err := io.ReadAll(r)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(data[size/2:], tail), "a rewound reader reads from its offset")
	}
	require.NoError(t, s.close())
}

// TestSpoolProcessLimit: when the process-wide pool is exhausted, another
// request spills to disk at once, and returned chunks become available.
func TestSpoolProcessLimit(t *testing.T) {
	pool := newChunkPool(2 * chunkSize)
	dir := t.TempDir()
	budgetA, budgetB := int64(8*chunkSize), int64(8*chunkSize)
	a := newSpool("a", dir, &budgetA, pool)
	_, err := a.Write(make([]byte, 3*chunkSize))
	require.NoError(t, err)
	assert.Len(t, a.chunks, 2, "takes what the pool allows")
	assert.NotNil(t, a.file)
	b := newSpool("b", dir, &budgetB, pool)
	_, err = b.Write(make([]byte, 10))
	require.NoError(t, err)
	assert.Empty(t, b.chunks, "nothing left in the pool")
	assert.NotNil(t, b.file)
	require.NoError(t, a.close())
	require.NoError(t, b.close())
	assert.Zero(t, pool.used.Load())
	c := newSpool("c", dir, &budgetA, pool)
	_, err = c.Write(make([]byte, 10))
	require.NoError(t, err)
	assert.Len(t, c.chunks, 1)
	assert.Nil(t, c.file)
	require.NoError(t, c.close())
}
