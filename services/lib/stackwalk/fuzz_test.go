package stackwalk

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/minidump/synth"
	"github.com/crashstream/crashstream/services/lib/symbols"
)

// fuzzSymbols gives every module the same small symbol file with CFI, STACK
// WIN and inlines, so that fuzzed dumps exercise every unwinder.
func fuzzSymbols(t testing.TB) anySymbols {
	const text = "MODULE Linux x86_64 AB0 m\nFILE 0 a.c\nINLINE_ORIGIN 0 inl\n" +
		"FUNC 0 8000 4 f\nINLINE 0 3 0 0 10 100\n0 8000 1 0\nPUBLIC 9000 0 p\n" +
		"STACK CFI INIT 0 4000 .cfa: $rsp 8 + .ra: .cfa -8 + ^ $rbp: .cfa -16 + ^\n" +
		"STACK CFI 10 .cfa: $esp 8 + .ra: .cfa -4 + ^\n" +
		"STACK CFI INIT 4000 4000 .cfa: sp 16 + .ra: .cfa -8 + ^ x29: .cfa -16 + ^\n" +
		"STACK WIN 4 0 2000 0 0 4 8 4 0 1 $T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + =\n" +
		"STACK WIN 0 2000 2000 0 0 4 8 4 0 0 1\n"
	sf, err := symbols.Parse(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return anySymbols{sf}
}

// anySymbols serves one file for every module.
type anySymbols struct{ sf *symbols.SymbolFile }

func (a anySymbols) Load(context.Context, symbols.Key) symbols.Result {
	return symbols.Result{File: a.sf}
}

// FuzzWalk walks arbitrary dumps: the walker must neither panic nor loop,
// whatever registers and stack memory claim.
func FuzzWalk(f *testing.F) {
	for _, arch := range []minidump.Arch{minidump.ArchAMD64, minidump.ArchX86, minidump.ArchARM64} {
		b := synth.New(arch, synth.Linux)
		b.AddModule(synth.Module{Name: "m", Base: 0x10000, Size: 0x10000, CodeView: synth.ELFBuildID([]byte("0123456789abcdef"))})
		ctx := minidump.NewContext(arch)
		for _, r := range minidump.RegisterNames(arch) {
			ctx.Set(r, 0x10010)
		}
		ctx.Set(ctx.SPName(), 0x8000)
		stack := make([]byte, 256)
		for i := range stack {
			stack[i] = byte(i * 7)
		}
		stack[8], stack[9], stack[10] = 0x20, 0x00, 0x01
		b.AddThread(synth.Thread{ID: 1, Stack: synth.Memory{Base: 0x8000, Data: stack}, Context: &ctx})
		b.SetException(synth.Exception{ThreadID: 1, Code: 11, Context: &ctx})
		f.Add(b.Bytes())
	}
	if dumps, _ := filepath.Glob(filepath.Join("..", "..", "..", "..", "shared", "testdata", "breakpad", "*.dmp")); len(dumps) > 0 {
		for _, p := range dumps {
			if st, err := os.Stat(p); err == nil && st.Size() < 64<<10 {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(b)
				}
			}
		}
	}
	syms := fuzzSymbols(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := minidump.Parse(data)
		if err != nil {
			return
		}
		res, err := Walk(context.Background(), d, syms, Options{MaxFrames: 10000})
		if err != nil {
			return
		}
		// Whatever the dump holds, the document is valid JSON in valid
		// UTF-8 (the soft errors stream, names and instruction text are
		// all from the dump).
		var buf bytes.Buffer
		if err := res.WriteJSON(&buf, false); err != nil {
			t.Fatal(err)
		}
		if !utf8.Valid(buf.Bytes()) || !json.Valid(buf.Bytes()) {
			t.Fatalf("invalid output: %q", buf.Bytes())
		}
	})
}
