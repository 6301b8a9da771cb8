package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/minidump/synth"
	"github.com/crashstream/crashstream/services/lib/stackwalk/cli"
)

func runTools(name string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(name, args, cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }})
	return code, out.String(), errb.String()
}

func fixture(t *testing.T, withThreads bool) string {
	t.Helper()
	ctx := minidump.NewContext(minidump.ArchAMD64)
	ctx.Set("rip", 0x401000)
	ctx.Set("rsp", 0x7000)
	b := synth.New(minidump.ArchAMD64, synth.Linux)
	if withThreads {
		b.AddThread(synth.Thread{ID: 1, Stack: synth.Memory{Base: 0x7000, Data: make([]byte, 32)}, Context: &ctx})
	}
	b.SetException(synth.Exception{ThreadID: 1, Code: 11, Context: &ctx})
	p := filepath.Join(t.TempDir(), "x.dmp")
	require.NoError(t, os.WriteFile(p, b.Bytes(), 0o600))
	return p
}

func TestRun(t *testing.T) {
	dump := fixture(t, true)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"crashstream-tools", []string{"stackwalk", "--pretty", dump}},
		{"minidump-stackwalk", []string{"--json", dump}},
		{"crashstream-tools", []string{"minidump", dump}},
	} {
		code, out, stderr := runTools(tc.name, tc.args...)
		require.Equal(t, 0, code, stderr)
		var doc map[string]any
		require.NoError(t, json.Unmarshal([]byte(out), &doc))
		assert.Equal(t, "SIGSEGV", doc["crash_info"].(map[string]any)["type"], tc.args)
	}
	code, out, _ := runTools("crashstream-tools", "stackwalk", fixture(t, false))
	assert.Equal(t, 1, code, "no thread list: exit 1, as minidump-stackwalk")
	assert.Empty(t, out)
	code, _, _ = runTools("crashstream-tools")
	assert.Equal(t, 2, code)
	code, _, stderr := runTools("crashstream-tools", "collector")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "unknown command")
}

// TestLinksNoService keeps this binary small: none of the services'
// clients may be linked into it.
func TestLinksNoService(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	require.NoError(t, err)
	banned := []string{"github.com/twmb/franz-go", "github.com/minio/", "github.com/ClickHouse/", "github.com/gin-gonic/",
		"github.com/prometheus/", "go.opentelemetry.io/", "github.com/crashstream/crashstream/storage",
		"github.com/crashstream/crashstream/streams", "github.com/crashstream/crashstream/schemas"}
	deps := strings.Fields(string(out))
	require.NotEmpty(t, deps)
	for _, dep := range deps {
		assert.NotEqual(t, "github.com/crashstream/crashstream/services/runtime", dep, "links the services' runtime")
		for _, b := range banned {
			assert.False(t, strings.HasPrefix(dep, b), "links %s", dep)
		}
	}
}
