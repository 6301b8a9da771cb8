package schematest

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCrashIDShape(t *testing.T) {
	re := regexp.MustCompile(`^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{6}[0-9]{6}$`)
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	for _, i := range []int{0, 1, 2, 4095, 4096, 1 << 20} {
		id := CrashID(i, day)
		require.Regexp(t, re, id)
		assert.Equal(t, byte('0'), id[len(id)-7], "throttle digit")
		assert.Equal(t, "261120", id[len(id)-6:])
		assert.False(t, seen[id], "ids must be unique")
		seen[id] = true
	}
}

func TestProcessedCrashDeterministic(t *testing.T) {
	a, b := ProcessedCrash(7, Small()), ProcessedCrash(7, Small())
	assert.Equal(t, a, b)
	assert.NotEqual(t, a.CrashID, ProcessedCrash(8, Small()).CrashID)
	assert.Len(t, a.Modules, 3)
	assert.Len(t, a.CrashingThreadFrames, 4)
	assert.Greater(t, len(ProcessedCrash(1, Typical()).JSONDump), 100_000)
}
