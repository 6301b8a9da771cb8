package stackwalk

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/repotest"
	"github.com/crashstream/crashstream/services/lib/symbols"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func walkFile(t *testing.T, dump string, symPaths ...string) *Result {
	t.Helper()
	b, err := os.ReadFile(dump)
	require.NoError(t, err)
	d, err := minidump.Parse(b)
	require.NoError(t, err)
	sup, err := symbols.NewSupplier(symbols.Config{Paths: symPaths}, nil)
	require.NoError(t, err)
	res, err := Walk(context.Background(), d, sup, Options{})
	require.NoError(t, err)
	return res
}

// goldenJSON reads a snapshot file, skipping its 4-line header.
func goldenJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.SplitN(string(b), "\n", 5)
	require.Len(t, lines, 5)
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[4]), &v))
	return v
}

func outputJSON(t *testing.T, r *Result) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, r.WriteJSON(&buf, true))
	var v map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &v))
	return v
}

// TestMinidump2Golden walks Breakpad's minidump2.dmp with the symbols
// rust-minidump's snapshot was made with (test_app only: kernel32 has none
// there) and compares the whole document with minidump-stackwalk's output.
func TestMinidump2Golden(t *testing.T) {
	td := repotest.SharedTestdata(t)
	symDir := t.TempDir()
	require.NoError(t, os.Symlink(filepath.Join(td, "breakpad/symbols/test_app.pdb"), filepath.Join(symDir, "test_app.pdb")))
	res := walkFile(t, filepath.Join(td, "breakpad/minidump2.dmp"), symDir)
	got := outputJSON(t, res)
	want := goldenJSON(t, filepath.Join(td, "rust-minidump/minidump2.stackwalk.json.snap"))

	// Frame by frame first, for a readable failure.
	wantThreads := want["threads"].([]any)
	gotThreads := got["threads"].([]any)
	require.Len(t, gotThreads, len(wantThreads))
	for ti := range wantThreads {
		wf := wantThreads[ti].(map[string]any)["frames"].([]any)
		gf := gotThreads[ti].(map[string]any)["frames"].([]any)
		require.Len(t, gf, len(wf), "thread %d frames", ti)
		for fi := range wf {
			assert.Equal(t, wf[fi], gf[fi], "thread %d frame %d", ti, fi)
		}
	}
	assert.Equal(t, want, got)
}

// TestMinidump2WithKernel32 uses every Breakpad symbol file: frame 3 then
// resolves to kernel32's BaseProcessStart, as in Breakpad's own golden
// output (minidump2.stackwalk.out: "kernel32.dll!BaseProcessStart + 0x23",
// its eip 0x7c816fd7 being the return address).
func TestMinidump2WithKernel32(t *testing.T) {
	td := repotest.SharedTestdata(t)
	res := walkFile(t, filepath.Join(td, "breakpad/minidump2.dmp"), filepath.Join(td, "breakpad/symbols"))
	th := res.Threads[0]
	require.Len(t, th.Frames, 4)
	want := []struct {
		fn    string
		off   uint64
		trust Trust
	}{
		{"`anonymous namespace'::CrashFunction", 0xe, TrustContext},
		{"main", 0x4f, TrustCFI},
		{"__tmainCRTStartup", 0x15e, TrustCFI},
		{"BaseProcessStart", 0x22, TrustCFI},
	}
	for i, w := range want {
		f := th.Frames[i]
		assert.Equal(t, w.fn, f.Function, "frame %d", i)
		assert.Equal(t, w.off, f.Instruction-f.FunctionBase, "frame %d", i)
		assert.Equal(t, w.trust, f.Trust, "frame %d", i)
	}
	assert.Equal(t, uint64(0x7c816fd7), th.Frames[3].Context.IP())
	assert.Equal(t, SymbolsLoaded, res.Modules[2].Status, "kernel32")
}

// TestModuleSymbolStatus checks the module flags minidump-stackwalk prints
// for each symbol outcome (a corrupt file counts as loaded, not missing).
func TestModuleSymbolStatus(t *testing.T) {
	td := repotest.SharedTestdata(t)
	symDir := t.TempDir()
	bad := filepath.Join(symDir, "test_app.pdb", "5A9832E5287241C1838ED98914E9B7FF1")
	require.NoError(t, os.MkdirAll(bad, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(bad, "test_app.sym"), []byte("MODULE windows x86 5A9832E5287241C1838ED98914E9B7FF1 test_app.pdb\nNONSENSE\n"), 0o644))
	res := walkFile(t, filepath.Join(td, "breakpad/minidump2.dmp"), symDir)
	out := res.JSON()
	tests := []struct {
		module                  int
		loaded, missing, corrup bool
	}{
		{0, true, false, true},   // test_app: corrupt
		{1, false, false, false}, // ntdll: never needed
		{2, false, true, false},  // kernel32: looked up, not found
	}
	for _, tc := range tests {
		m := out.Modules[tc.module]
		assert.Equal(t, tc.loaded, m.LoadedSymbols, m.Filename)
		assert.Equal(t, tc.missing, m.MissingSymbols, m.Filename)
		assert.Equal(t, tc.corrup, m.CorruptSymbols, m.Filename)
	}
	// Without usable symbols frame 0 has no function.
	assert.True(t, out.Threads[0].Frames[0].MissingSymbols)
}

// TestCorpusCrashInfo compares every crash_info field of every corpus dump
// (tests/corpus) with minidump-stackwalk's golden output: the instruction
// text, memory accesses, adjusted address, bit flips and instruction
// pointer update must be equal, not just present.
func TestCorpusCrashInfo(t *testing.T) {
	corpus := filepath.Join(repotest.Root(t), "tests", "corpus")
	goldens, _ := filepath.Glob(filepath.Join(corpus, "golden", "*.json"))
	if len(goldens) == 0 {
		t.Skip("no corpus goldens")
	}
	for _, g := range goldens {
		name := strings.TrimSuffix(filepath.Base(g), ".json")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(g)
			require.NoError(t, err)
			var theirs struct {
				CrashInfo map[string]any `json:"crash_info"`
			}
			require.NoError(t, json.Unmarshal(b, &theirs))
			res := walkFile(t, filepath.Join(corpus, "dumps", name+".dmp"), filepath.Join(corpus, "symbols"))
			var buf bytes.Buffer
			require.NoError(t, res.WriteJSON(&buf, false))
			var ours struct {
				CrashInfo map[string]any `json:"crash_info"`
			}
			require.NoError(t, json.Unmarshal(buf.Bytes(), &ours))
			assert.Equal(t, theirs.CrashInfo, ours.CrashInfo)
		})
	}
}
