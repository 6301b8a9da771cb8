package symbols

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestLineStoreAcrossChunks(t *testing.T) {
	var s lineStore
	n := uint32(3<<lineChunkBits + 5)
	for i := uint32(0); i < n; i++ {
		s.append(lineRec{off: i, size: 1, line: i})
	}
	assert.Equal(t, n, s.len())
	r := lineRange{s: &s, lo: 1<<lineChunkBits - 3, hi: 1<<lineChunkBits + 3}
	l, ok := r.find(1 << lineChunkBits)
	assert.True(t, ok)
	assert.Equal(t, uint32(1<<lineChunkBits), l.line)
	_, ok = r.find(2 << lineChunkBits)
	assert.False(t, ok, "outside the range's last record")
	for _, keep := range []uint32{2<<lineChunkBits + 1, 2 << lineChunkBits, 7, 0} {
		s.truncate(keep)
		assert.Equal(t, keep, s.len())
		if keep > 0 {
			assert.Equal(t, keep-1, s.at(keep-1).line)
		}
		s.append(lineRec{line: 99})
		assert.Equal(t, uint32(99), s.at(keep).line)
		s.truncate(keep)
	}
}
