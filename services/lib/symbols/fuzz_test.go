package symbols

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the .sym parser, then exercises every
// lookup on what it accepted: nothing may panic or loop.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.sym")
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(tinySym))
	f.Add([]byte("MODULE windows x86 AB0 a.pdb\nSTACK WIN 4 10 20 1 0 4 0 8 0 1 $T0 $ebp = $eip $T0 4 + ^ =\nSTACK WIN 0 18 4 0 0 0 0 0 0 0 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sf, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf []string
		for _, addr := range []uint64{0, 1, 0x10, 0x12, 0x1000, 0x1025, 0x2010, 1 << 40, ^uint64(0)} {
			sf.Lookup(addr)
			sf.HasFunction(addr)
			sf.FindWin(addr)
			buf, _ = sf.FindCFI(addr, buf)
		}
		for i := range sf.funcs {
			sf.Lookup(sf.funcs[i].addr)
		}
		for i := range sf.cfi {
			rules, _ := sf.FindCFI(sf.cfi[i].addr, buf)
			_, _ = EvalCFI(rules, fuzzMachine{})
		}
	})
}

// fuzzMachine answers every register and memory read with a value derived
// from its input, so evaluation goes deep.
type fuzzMachine struct{}

func (fuzzMachine) Register(name string) (uint64, bool) {
	if name == "" || len(name) > 8 {
		return 0, false
	}
	return uint64(len(name)) * 0x1000, true
}

func (fuzzMachine) ReadWord(addr uint64) (uint64, bool) {
	if addr%3 == 0 {
		return 0, false
	}
	return addr*7 + 1, true
}

// FuzzEvalCFI evaluates arbitrary STACK CFI rule texts.
func FuzzEvalCFI(f *testing.F) {
	for _, s := range []string{
		".cfa: $rsp 8 + .ra: .cfa -8 + ^",
		".cfa: $rsp 16 + $rbp: .cfa -16 + ^",
		".cfa: x29 16 + .ra: .cfa -8 + ^ x29: .cfa -16 + ^",
		".cfa: $esp 4 + .ra: .cfa 4 - ^ $ebx: .undef",
		".cfa: $rsp 15 + 8 @ .ra: 1 2 * 3 / 4 % 5 -",
	} {
		f.Add(s, "")
		f.Add(s, ".cfa: $rsp 24 +")
	}
	f.Fuzz(func(t *testing.T, init, delta string) {
		rules := []string{init}
		if delta != "" {
			rules = append(rules, delta)
		}
		_, _ = EvalCFI(rules, fuzzMachine{})
	})
}

// FuzzEvalWin evaluates arbitrary STACK WIN programs and frame sizes.
func FuzzEvalWin(f *testing.F) {
	for _, s := range []string{
		"$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + = $L $T0 .cbSavedRegs - = $P $T0 8 + .cbParams + =",
		"$T2 $esp .cbLocals + .cbSavedRegs + = $T0 .raSearchStart = $eip $T0 ^ = $esp $T0 4 + =",
		"$T0 .raSearch = $eip $T0 ^ = $esp $T0 4 + = $ebx $T0 8 - ^ = $ebp .undef =",
		"$eip 3 0 / =",
	} {
		f.Add(s, uint8(4), uint32(0x1000), uint32(8), uint32(4), false)
	}
	f.Add("", uint8(0), uint32(0x1000), uint32(8), uint32(4), true)
	f.Fuzz(func(t *testing.T, prog string, ty uint8, esp, locals, saved uint32, allocBP bool) {
		w := WinInfo{Type: ty & 4, Program: prog, LocalsSize: locals, SavedRegsSize: saved, AllocatesBasePtr: allocBP}
		_, _ = EvalWin(w, WinInput{ESP: esp, EBP: esp + 16, EBX: 1, HasEBX: true, GrandCalleeParamSize: 4}, fuzzMachine{})
	})
}
