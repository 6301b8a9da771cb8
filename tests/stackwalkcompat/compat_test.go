package stackwalkcompat

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/services/lib/repotest"
	"github.com/crashstream/crashstream/tests/internal/oracle"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func repoRoot(t testing.TB) string { return repotest.Root(t) }

// allCases are the shared and corpus dumps plus, when EXTRA_DUMPS and
// EXTRA_SYMBOLS name directories, the dumps there (a corpus generated
// elsewhere; compared with the live tool only).
func allCases(t testing.TB) []Case {
	root := repoRoot(t)
	cases := Cases(filepath.Join(root, "..", "shared", "testdata"), filepath.Join(root, "tests", "corpus"))
	if dir, syms := os.Getenv("EXTRA_DUMPS"), os.Getenv("EXTRA_SYMBOLS"); dir != "" && syms != "" {
		extra, _ := filepath.Glob(filepath.Join(dir, "*.dmp"))
		for _, d := range extra {
			cases = append(cases, Case{Name: "extra/" + filepath.Base(d), Dump: d, Symbols: []string{syms}})
		}
	}
	return cases
}

// TestCrashingThreadFramesAgree walks every dump with symbols with both
// walkers and requires ≥99% of crashing-thread frames to agree on module,
// offsets, function, file, line, trust, missing_symbols and inlines.
func TestCrashingThreadFramesAgree(t *testing.T) {
	cases := allCases(t)
	tool, toolErr := oracle.Find()
	if toolErr != nil {
		tool = ""
	}
	var frames, same, all, allSame, compared, info, infoSame, mods, modsSame int
	for _, c := range cases {
		theirs, err := TheirJSON(context.Background(), tool, c)
		if err != nil {
			t.Logf("%s: skipped: %v", c.Name, err)
			continue
		}
		ours, err := Ours(context.Background(), c)
		require.NoError(t, err, c.Name)
		r, err := Compare(c.Name, ours, theirs)
		require.NoError(t, err, c.Name)
		compared++
		frames += r.CrashFrames
		same += r.CrashSame
		all += r.AllFrames
		allSame += r.AllSame
		info += r.InfoFields
		infoSame += r.InfoSame
		mods += r.ModuleFields
		modsSame += r.ModuleSame
		t.Logf("%-32s crashing thread %3d/%3d frames agree, all threads %4d/%4d", c.Name, r.CrashSame, r.CrashFrames, r.AllSame, r.AllFrames)
		for _, d := range r.Diffs {
			t.Logf("    %s", d)
		}
	}
	if compared == 0 {
		t.Skipf("nothing to compare: %v and no golden outputs", toolErr)
	}
	t.Logf("TOTAL %d dumps: crashing-thread frames %d/%d agree (%.2f%%), all threads %d/%d (%.2f%%)",
		compared, same, frames, 100*float64(same)/float64(max(frames, 1)), allSame, all, 100*float64(allSame)/float64(max(all, 1)))
	t.Logf("TOTAL crash_info fields %d/%d agree, module fields %d/%d", infoSame, info, modsSame, mods)
	assert.GreaterOrEqual(t, float64(same), 0.99*float64(frames), "crashing-thread frame agreement below 99%")
	// crash_info (the disassembly-derived fields included) and the module
	// list must agree completely.
	assert.Equal(t, info, infoSame, "crash_info fields differ")
	assert.Equal(t, mods, modsSame, "module fields differ")
}

func TestCompareCountsDifferences(t *testing.T) {
	theirs := []byte(`{"crash_info":{"crashing_thread":0},"threads":[{"frames":[
		{"module":"a","offset":"0x1","trust":"context","missing_symbols":true},
		{"module":"a","offset":"0x2","trust":"cfi","missing_symbols":true}]}]}`)
	ours := []byte(`{"crash_info":{"crashing_thread":0},"threads":[{"frames":[
		{"module":"a","offset":"0x1","trust":"context","missing_symbols":true},
		{"module":"a","offset":"0x2","trust":"scan","missing_symbols":true},
		{"module":"a","offset":"0x3","trust":"scan","missing_symbols":true}]}]}`)
	r, err := Compare("x", ours, theirs)
	require.NoError(t, err)
	assert.Equal(t, 3, r.CrashFrames)
	assert.Equal(t, 1, r.CrashSame)
	assert.Len(t, r.Diffs, 2)
}

func TestCompareCountsCrashInfoAndModuleDifferences(t *testing.T) {
	theirs := []byte(`{"crash_info":{"crashing_thread":0,"instruction":"mov eax, dword [rax]","memory_accesses":[{"address":"0x0","size":4}]},
		"modules":[{"filename":"a","missing_symbols":false}],"threads":[]}`)
	ours := []byte(`{"crash_info":{"crashing_thread":0,"instruction":null,"memory_accesses":[{"size":4,"address":"0x0"}]},
		"modules":[{"filename":"a","missing_symbols":true}],"threads":[]}`)
	r, err := Compare("x", ours, theirs)
	require.NoError(t, err)
	assert.Equal(t, 3, r.InfoFields)
	assert.Equal(t, 2, r.InfoSame, "key order inside values does not matter")
	assert.Equal(t, 2, r.ModuleFields)
	assert.Equal(t, 1, r.ModuleSame)
	assert.Len(t, r.Diffs, 2)
}
