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
