package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/minidump/synth"
)

func writeDump(t testing.TB, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.dmp")
	require.NoError(t, os.WriteFile(p, b, 0o600))
	return p
}

// TestStackwalkUnusableDump: like minidump-stackwalk, a dump without a
// thread list or without system info is an error (exit 1, no document).
func TestStackwalkUnusableDump(t *testing.T) {
	ctx := minidump.NewContext(minidump.ArchAMD64)
	noThreads := synth.New(minidump.ArchAMD64, synth.Linux)
	noThreads.SetException(synth.Exception{ThreadID: 1, Code: 11, Context: &ctx})
	noSys := synth.New(minidump.ArchAMD64, synth.Linux).SetSystemInfo(nil)
	noSys.AddThread(synth.Thread{ID: 1, Context: &ctx})
	for _, tc := range []struct {
		name, want string
		dump       []byte
	}{
		{"no thread list", "MissingThreadList", noThreads.Bytes()},
		{"no system info", "MissingSystemInfo", noSys.Bytes()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeDump(t, tc.dump)
			out, stderr, err := runStackwalkCmd(path)
			require.Error(t, err)
			assert.Empty(t, out)
			assert.Contains(t, stderr, tc.want)
			env, o, _ := testEnv("")
			code := run([]string{"stackwalk", path}, env)
			assert.Equal(t, 1, code)
			assert.Empty(t, o.String())
		})
	}
}

// appDump is an amd64 Linux dump with one thread, its instruction pointer
// in the module named name at 0x400000, which the output tests vary; ctx
// is the thread's context.
func appDump(name string) (*synth.Builder, *minidump.Context) {
	ctx := minidump.NewContext(minidump.ArchAMD64)
	ctx.Set("rip", 0x401000)
	ctx.Set("rsp", 0x7000)
	b := synth.New(minidump.ArchAMD64, synth.Linux)
	b.AddModule(synth.Module{Name: name, Base: 0x400000, Size: 0x2000, CodeView: synth.ELFBuildID([]byte("0123456789abcdef"))})
	b.AddThread(synth.Thread{ID: 1, Stack: synth.Memory{Base: 0x7000, Data: make([]byte, 32)}, Context: &ctx})
	return b, &ctx
}

// TestStackwalkSmallFields: the fields minidump-stackwalk writes without a
// symbol source, modules or exception stream.
func TestStackwalkSmallFields(t *testing.T) {
	b, _ := appDump("/usr/bin/app")
	b.AddStream(minidump.MozSoftErrorsStream, []byte("[\"\xff\"]"))
	out, _, err := runStackwalkCmd(writeDump(t, b.Bytes()))
	require.NoError(t, err)
	require.True(t, utf8.ValidString(out))
	var r map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	ci := r["crash_info"].(map[string]any)
	assert.Nil(t, ci["crash_inconsistencies"], "null without an exception stream")
	assert.Contains(t, ci, "crash_inconsistencies")
	assert.Nil(t, r["soft_errors"], "invalid UTF-8 soft errors are dropped")
	mod := r["modules"].([]any)[0].(map[string]any)
	assert.Equal(t, false, mod["missing_symbols"], "no symbol source: not missing")
	assert.Equal(t, false, mod["loaded_symbols"])
	assert.Equal(t, float64(0), r["main_module"])

	// With a symbol directory that lacks the file, the module is missing.
	out, _, err = runStackwalkCmd(writeDump(t, b.Bytes()), t.TempDir())
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	assert.Equal(t, true, r["modules"].([]any)[0].(map[string]any)["missing_symbols"])
}

// outputSeeds are dumps whose strings and streams carry invalid UTF-8.
func outputSeeds() [][]byte {
	b, ctx := appDump("/usr/bin/\xffapp")
	b.SetThreadName(1, "t\xc3")
	b.SetException(synth.Exception{ThreadID: 1, Code: 11, Context: ctx})
	b.AddStream(minidump.MozSoftErrorsStream, []byte("{\"a\":\"\xc3\x28\"}"))
	b.AddStream(minidump.LinuxLSBReleaseStream, []byte("DISTRIB_ID=\xff\n"))
	x86 := synth.New(minidump.ArchX86, synth.Windows)
	s := &synth.SystemInfo{PlatformID: synth.Windows, ProcessorArchitecture: minidump.ProcessorX86}
	copy(s.CPU[:], "\xff\xfe\x00Intel")
	x86.SetSystemInfo(s)
	x86c := minidump.NewContext(minidump.ArchX86)
	x86.AddThread(synth.Thread{ID: 2, Context: &x86c})
	return [][]byte{b.Bytes(), x86.Bytes()}
}

// checkOutput is the property both tool commands keep on any input: either
// an error with nothing on stdout, or one valid JSON document in valid UTF-8.
func checkOutput(t *testing.T, cmd string, out string, err error) {
	t.Helper()
	if err != nil {
		if out != "" {
			t.Fatalf("%s: error %v but stdout has %d bytes", cmd, err, len(out))
		}
		return
	}
	if !utf8.ValidString(out) {
		t.Fatalf("%s: output is not valid UTF-8", cmd)
	}
	if !json.Valid([]byte(out)) {
		t.Fatalf("%s: output is not valid JSON", cmd)
	}
}

func TestToolOutputIsValidOnSeeds(t *testing.T) {
	for i, seed := range outputSeeds() {
		path := writeDump(t, seed)
		out, _, err := runStackwalkCmd(path)
		require.NoError(t, err, "seed %d", i)
		checkOutput(t, "stackwalk", out, err)
		out, _, err = runMinidumpCmd("--soft-errors", path)
		require.NoError(t, err, "seed %d", i)
		checkOutput(t, "minidump", out, err)
	}
}

// FuzzToolOutput: `crashstream stackwalk` and `crashstream minidump` print
// valid JSON in valid UTF-8 (or nothing, with an error) for any input.
func FuzzToolOutput(f *testing.F) {
	for _, s := range outputSeeds() {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "f.dmp")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		out, _, err := runStackwalkCmd(path)
		checkOutput(t, "stackwalk", out, err)
		out, _, err = runStackwalkCmd("--pretty", path)
		checkOutput(t, "stackwalk --pretty", out, err)
		out, _, err = runMinidumpCmd("--soft-errors", path)
		checkOutput(t, "minidump", out, err)
	})
}
