package stacktest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, LeakOptions()...) }

func TestSyncBuffer(t *testing.T) {
	var b SyncBuffer
	_, _ = b.Write([]byte("a"))
	_, _ = b.Write([]byte("b"))
	assert.Equal(t, "ab", b.String())
	assert.True(t, strings.HasPrefix(FreePort(t), "127.0.0.1:"))
}

// TestSyncBufferKeepsTheTail: past Keep bytes only the last quarter stays.
func TestSyncBufferKeepsTheTail(t *testing.T) {
	b := SyncBuffer{Keep: 8}
	_, _ = b.Write([]byte("0123456789"))
	_, _ = b.Write([]byte("ab"))
	assert.Equal(t, "89ab", b.String())
	assert.Equal(t, "9ab", b.Tail(3))
	assert.Equal(t, "89ab", b.Tail(100))
}
