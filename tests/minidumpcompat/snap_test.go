package minidumpcompat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStoredSnapshot compares against rust-minidump's own stored output for
// minidump2.dmp (../shared/testdata/rust-minidump), which needs no tool.
func TestStoredSnapshot(t *testing.T) {
	root := filepath.Join(repoRoot(t), "..", "shared", "testdata")
	raw, err := os.ReadFile(filepath.Join(root, "rust-minidump", "minidump2.stackwalk.json.snap"))
	if err != nil {
		t.Skipf("snapshot not available: %v", err)
	}
	// The snapshot starts with a 4-line YAML header.
	body := strings.SplitN(string(raw), "\n", 5)[4]
	var theirs View
	require.NoError(t, json.Unmarshal([]byte(body), &theirs))
	require.Len(t, theirs.Modules, 13)
	require.Len(t, theirs.Threads, 2)
	ours, err := Ours(filepath.Join(root, "breakpad", "minidump2.dmp"))
	require.NoError(t, err)
	assert.Empty(t, Diff(ours, theirs))
}

func TestDiffReportsEachField(t *testing.T) {
	var a, b View
	a.SystemInfo.OS = "Linux"
	b.SystemInfo.OS = "Windows NT"
	x := "0x1"
	a.CrashInfo.Address = &x
	a.Threads = append(a.Threads, struct {
		ThreadID   uint32  `json:"thread_id"`
		ThreadName *string `json:"thread_name"`
	}{ThreadID: 1})
	assert.Equal(t, []string{
		`system_info.os: "Linux" != "Windows NT"`,
		`crash_info.address: "0x1" != null`,
		`threads: 1 entries != 0`,
	}, Diff(a, b))
	assert.Empty(t, Diff(b, b))
}
