package main

import (
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/minidump/synth"
)

func runStackwalkCmd(args ...string) (string, string, error) {
	return runCommand(stackwalkCommand(), "", nil, args...)
}

// stackwalkFixture writes a one-thread Linux dump crashing in app at
// 0x401010 and its app.sym, returning the dump and symbols paths.
func stackwalkFixture(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	ctx := minidump.NewContext(minidump.ArchAMD64)
	for _, r := range minidump.RegisterNames(minidump.ArchAMD64) {
		ctx.Set(r, 0)
	}
	ctx.Set("rip", 0x401010)
	ctx.Set("rsp", 0x7000)
	b := synth.New(minidump.ArchAMD64, synth.Linux)
	b.AddModule(synth.Module{Name: "/usr/bin/app", Base: 0x400000, Size: 0x2000, CodeView: synth.ELFBuildID([]byte("0123456789abcdef"))})
	b.AddThread(synth.Thread{ID: 7, Stack: synth.Memory{Base: 0x7000, Data: make([]byte, 64)}, Context: &ctx})
	b.SetException(synth.Exception{ThreadID: 7, Code: 11, Flags: 1, Context: &ctx})
	dump := filepath.Join(dir, "x.dmp")
	require.NoError(t, os.WriteFile(dump, b.Bytes(), 0o600))
	d, err := minidump.Parse(b.Bytes())
	require.NoError(t, err)
	id := d.Modules[0].DebugID
	syms := filepath.Join(dir, "syms")
	p := filepath.Join(syms, "app", id)
	require.NoError(t, os.MkdirAll(p, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(p, "app.sym"),
		[]byte("MODULE Linux x86_64 "+id+" app\nFILE 0 app.c\nFUNC 1000 20 0 crash_here\n1000 20 12 0\n"), 0o644))
	return dump, syms
}

func frame0(t *testing.T, out string) map[string]any {
	t.Helper()
	var r map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	return r["crashing_thread"].(map[string]any)["frames"].([]any)[0].(map[string]any)
}

func TestStackwalkCommand(t *testing.T) {
	dump, syms := stackwalkFixture(t)
	tests := []struct {
		name string
		args []string
	}{
		{"operand symbols path", []string{"--json", dump, syms}},
		{"flag after operand", []string{dump, "--symbols-path", syms, "--pretty"}},
		{"socorro style flags", []string{"--evil-json=/dev/null", "--verbose=error", "--json", "--symbols-path", syms, dump}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runStackwalkCmd(tc.args...)
			require.NoError(t, err)
			f := frame0(t, out)
			assert.Equal(t, "crash_here", f["function"])
			assert.Equal(t, "0x0000000000000010", f["function_offset"])
			assert.Equal(t, float64(12), f["line"])
			assert.False(t, strings.HasSuffix(out, "\n"), "no trailing newline, like minidump-stackwalk")
		})
	}
}

func TestStackwalkCommandSymbolServerAndOutputFile(t *testing.T) {
	dump, syms := stackwalkFixture(t)
	srv := httptest.NewServer(http.FileServer(http.Dir(syms)))
	defer srv.Close()
	cache := t.TempDir()
	outFile := filepath.Join(t.TempDir(), "out.json")
	_, _, err := runStackwalkCmd("--symbols-url", srv.URL, "--symbols-cache", cache, "--output-file", outFile, dump)
	require.NoError(t, err)
	b, err := os.ReadFile(outFile)
	require.NoError(t, err)
	f := frame0(t, string(b))
	assert.Equal(t, "crash_here", f["function"])
	var r map[string]any
	require.NoError(t, json.Unmarshal(b, &r))
	mod := r["modules"].([]any)[0].(map[string]any)
	assert.Contains(t, mod["symbol_url"], srv.URL+"/app/")
	matches, _ := filepath.Glob(filepath.Join(cache, "app", "*", "app.sym"))
	assert.Len(t, matches, 1, "downloaded file cached in Breakpad layout")
}

func TestStackwalkCommandErrors(t *testing.T) {
	_, _, err := runStackwalkCmd()
	assert.ErrorIs(t, err, errUsage)
	_, _, err = runStackwalkCmd("--help")
	assert.ErrorIs(t, err, flag.ErrHelp)
	_, _, err = runStackwalkCmd("--symbols-url", "ftp://x", "a.dmp")
	assert.ErrorIs(t, err, errUsage)
	_, stderr, err := runStackwalkCmd(filepath.Join(t.TempDir(), "missing.dmp"))
	assert.Error(t, err)
	assert.Contains(t, stderr, "ERROR")
	notDump := filepath.Join(t.TempDir(), "x.dmp")
	require.NoError(t, os.WriteFile(notDump, []byte("not a minidump at all, but long enough"), 0o600))
	_, _, err = runStackwalkCmd(notDump)
	assert.ErrorIs(t, err, minidump.ErrNotMinidump)
}
