package symbols

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/services/lib/repotest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func parseFile(t *testing.T, path string) *SymbolFile {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sf, err := Parse(f)
	require.NoError(t, err)
	return sf
}

func TestLookupInlinesAndPublics(t *testing.T) {
	sf := parseFile(t, "testdata/inline.sym")
	assert.Equal(t, Module{OS: "Linux", Arch: "x86_64", DebugID: "BBA6FA10B8AAB33D00000000000000000", Name: "linux_inline"}, sf.Module)
	assert.Equal(t, "10FAA6BBAAB83DB3", sf.CodeID)
	assert.Equal(t, "linux_inline", sf.CodeFile)

	tests := []struct {
		name string
		addr uint64
		ok   bool
		want Location
	}{
		{"plain line", 0x1005, true, Location{Function: "main", FunctionBase: 0x1000, File: "/src/main.cpp", Line: 10, HasLine: true}},
		{"two inline levels", 0x1025, true, Location{Function: "main", FunctionBase: 0x1000, File: "/src/main.cpp", Line: 42, HasLine: true,
			Inlines: []InlineFrame{{"inner_inline()", "/src/inlined.h", 5}, {"outer_inline()", "/src/inlined.h", 17}}}},
		{"one inline level", 0x1035, true, Location{Function: "main", FunctionBase: 0x1000, File: "/src/main.cpp", Line: 42, HasLine: true,
			Inlines: []InlineFrame{{"outer_inline()", "/src/inlined.h", 31}}}},
		{"public after func", 0x1900, true, Location{Function: "public_between", FunctionBase: 0x1800}},
		{"func with params", 0x2010, true, Location{Function: "helper(int)", FunctionBase: 0x2000, ParamSize: 8, File: "/src/main.cpp", Line: 3, HasLine: true}},
		{"public truncated by func", 0x2050, false, Location{}},
		{"public after last func", 0x2200, true, Location{Function: "public_after", FunctionBase: 0x2100}},
		{"far public", 0x3500, true, Location{Function: "far_public", FunctionBase: 0x3000, ParamSize: 4}},
		{"before everything", 0x500, false, Location{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := sf.Lookup(tc.addr)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.ok, sf.HasFunction(tc.addr))
		})
	}
}

func TestFindCFI(t *testing.T) {
	sf := parseFile(t, "testdata/inline.sym")
	tests := []struct {
		addr uint64
		ok   bool
		n    int
	}{{0x1000, true, 1}, {0x1002, true, 2}, {0x1050, true, 3}, {0x10ff, true, 3}, {0x1100, false, 0}, {0xfff, false, 0}}
	for _, tc := range tests {
		rules, ok := sf.FindCFI(tc.addr, nil)
		assert.Equal(t, tc.ok, ok, "%#x", tc.addr)
		assert.Len(t, rules, tc.n, "%#x", tc.addr)
	}
}

// TestBreakpadTestApp checks the record counts rust-minidump's own tests
// assert for the same file (overlapping STACK WIN records repaired).
func TestBreakpadTestApp(t *testing.T) {
	td := repotest.SharedTestdata(t)
	sf := parseFile(t, filepath.Join(td, "breakpad/symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym"))
	st := sf.Stats()
	assert.Equal(t, 6661, st.Files)
	assert.Equal(t, 5, st.Publics)
	assert.Equal(t, 1065, st.Funcs)
	assert.Equal(t, 1556, st.WinFrameData)
	assert.Equal(t, 259, st.WinFPO)
	w, ok := sf.FindWin(0x41b0)
	require.True(t, ok)
	assert.Equal(t, uint64(0x41b0), w.Addr)
	assert.Equal(t, uint8(4), w.Type)

	loc, ok := sf.Lookup(0x429e)
	require.True(t, ok)
	assert.Equal(t, "`anonymous namespace'::CrashFunction", loc.Function)
	assert.Equal(t, `c:\test_app.cc`, loc.File)
	assert.Equal(t, uint32(58), loc.Line)
	for _, tc := range []struct {
		addr uint64
		name string
	}{{0x9b07, "_NLG_Return"}, {0x142e7, "_NLG_Return"}, {0x23b06, "__from_strstr_to_strchr"}} {
		p, ok := sf.findPublicNearest(tc.addr)
		require.True(t, ok)
		assert.Equal(t, tc.name, sf.str(p.name))
	}
	loc, ok = sf.Lookup(0x1012)
	require.True(t, ok)
	assert.Equal(t, "vswprintf", loc.Function)
	_, ok = sf.findFunc(0x1013)
	assert.False(t, ok)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in string
		wantErr  bool
	}{
		{"empty", "", true},
		{"module not first", "FILE 0 a\nMODULE Linux x86 AB a\n", true},
		{"unknown record", "MODULE Linux x86 AB a\nBOGUS 1 2\n", true},
		{"cfi without init", "MODULE Linux x86 AB a\nSTACK CFI 10 .cfa: $esp 4 +\n", true},
		{"bad func", "MODULE Linux x86 AB a\nFUNC zz 10 0 f\n", true},
		{"hex too long", "MODULE Linux x86 AB a\nPUBLIC 11112222333344445 0 f\n", true},
		{"crlf and blank lines", "MODULE Linux x86 AB a\r\n\r\nFUNC 10 10 0 f\r\n10 10 1 0\r\n", false},
		{"no trailing newline", "MODULE Linux x86 AB a\nPUBLIC 10 0 f", false},
		{"stack win type mismatch dropped", "MODULE windows x86 AB a\nSTACK WIN 4 10 10 0 0 0 0 0 0 0 1\n", false},
		{"info ignored", "MODULE Linux x86 AB a\nINFO GENERATOR foo\n", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.in))
			if tc.wantErr {
				assert.Error(t, err)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func TestParseSkipsHugeLine(t *testing.T) {
	in := "MODULE Linux x86 AB a\nFUNC 10 10 0 " + strings.Repeat("x", MaxLineBytes+10) + "\nPUBLIC 30 0 after\n"
	sf, err := Parse(strings.NewReader(in))
	require.NoError(t, err)
	loc, ok := sf.Lookup(0x30)
	require.True(t, ok)
	assert.Equal(t, "after", loc.Function)
}

func TestOverlappingFuncsKeepFirst(t *testing.T) {
	in := "MODULE Linux x86 AB a\nFUNC 10 20 0 first\nFUNC 18 4 0 inner\nFUNC 30 10 0 next\n"
	sf, err := Parse(strings.NewReader(in))
	require.NoError(t, err)
	loc, _ := sf.Lookup(0x19)
	assert.Equal(t, "first", loc.Function)
	loc, _ = sf.Lookup(0x30)
	assert.Equal(t, "next", loc.Function)
}
