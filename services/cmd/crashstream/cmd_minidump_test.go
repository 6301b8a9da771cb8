package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/minidump/synth"
)

func runMinidumpCmd(args ...string) (string, string, error) {
	return runCommand(minidumpCommand(), "", nil, args...)
}

func TestMinidumpCommand(t *testing.T) {
	ctx := minidump.NewContext(minidump.ArchAMD64)
	ctx.Set("rip", 0x401000)
	b := synth.New(minidump.ArchAMD64, synth.Linux)
	b.AddThread(synth.Thread{ID: 42, Context: &ctx})
	b.SetThreadName(42, "main")
	b.AddModule(synth.Module{Name: "/usr/bin/app", Base: 0x400000, Size: 0x2000, CodeView: synth.ELFBuildID([]byte{1, 2, 3, 4})})
	b.SetException(synth.Exception{ThreadID: 42, Code: 11, Flags: 1, Address: 0x45, Context: &ctx})
	path := filepath.Join(t.TempDir(), "x.dmp")
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o600))

	out, _, err := runMinidumpCmd(path)
	require.NoError(t, err)
	var r map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	ci := r["crash_info"].(map[string]any)
	assert.Equal(t, "SIGSEGV / SEGV_MAPERR", ci["type"])
	assert.Equal(t, "0x0000000000000045", ci["address"])
	assert.Equal(t, float64(0), ci["crashing_thread"])
	assert.Equal(t, "Linux", r["system_info"].(map[string]any)["os"])
	mod := r["modules"].([]any)[0].(map[string]any)
	assert.Equal(t, "app", mod["filename"])
	assert.Equal(t, "01020304", mod["code_id"])
	th := r["threads"].([]any)[0].(map[string]any)
	assert.Equal(t, "main", th["thread_name"])
	_, hasFrames := th["frames"]
	assert.False(t, hasFrames)

	out, _, err = runMinidumpCmd("--soft-errors", "--pretty", path)
	require.NoError(t, err)
	assert.Contains(t, out, "\n  \"reader_soft_errors\": []")
}

func TestMinidumpCommandErrors(t *testing.T) {
	_, stderr, err := runMinidumpCmd()
	assert.ErrorIs(t, err, errUsage)
	assert.Contains(t, stderr, "exactly one dump file")
	_, _, err = runMinidumpCmd("--help")
	assert.ErrorIs(t, err, flag.ErrHelp)
	_, _, err = runMinidumpCmd(filepath.Join(t.TempDir(), "missing.dmp"))
	assert.Error(t, err)
	notDump := filepath.Join(t.TempDir(), "x.txt")
	require.NoError(t, os.WriteFile(notDump, []byte("hello, this is not a minidump at all"), 0o600))
	_, _, err = runMinidumpCmd(notDump)
	assert.ErrorIs(t, err, minidump.ErrNotMinidump)
}
