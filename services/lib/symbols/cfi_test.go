package symbols

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testMachine is a register file plus a little-endian stack at base.
type testMachine struct {
	regs  map[string]uint64
	base  uint64
	stack []byte
	word  int
}

func (m *testMachine) Register(name string) (uint64, bool) {
	v, ok := m.regs[name]
	return v, ok
}

func (m *testMachine) ReadWord(addr uint64) (uint64, bool) {
	if addr < m.base || addr-m.base+uint64(m.word) > uint64(len(m.stack)) {
		return 0, false
	}
	off := addr - m.base
	if m.word == 4 {
		return uint64(binary.LittleEndian.Uint32(m.stack[off:])), true
	}
	return binary.LittleEndian.Uint64(m.stack[off:]), true
}

func words64(vals ...uint64) []byte {
	b := make([]byte, 8*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	return b
}

func words32(vals ...uint32) []byte {
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], v)
	}
	return b
}

func TestEvalCFI(t *testing.T) {
	m := &testMachine{regs: map[string]uint64{"rsp": 0x1000, "rbp": 0x1010, "x29": 0x1008}, base: 0x1000,
		stack: words64(0xaaaa, 0xbbbb, 0xcccc, 0xdddd), word: 8}
	tests := []struct {
		name    string
		rules   []string
		wantErr bool
		cfa, ra uint64
		regs    []RegValue
	}{
		{"init only", []string{".cfa: $rsp 8 + .ra: .cfa -8 + ^"}, false, 0x1008, 0xaaaa, nil},
		{"delta overrides cfa", []string{".cfa: $rsp 8 + .ra: .cfa -8 + ^", ".cfa: $rsp 24 + $rbp: .cfa -24 + ^"}, false, 0x1018, 0xcccc,
			[]RegValue{{"rbp", 0xaaaa, true}}},
		{"arm style names", []string{".cfa: x29 16 + .ra: .cfa -8 + ^ x29: .cfa -16 + ^"}, false, 0x1018, 0xcccc,
			[]RegValue{{"x29", 0xbbbb, true}}},
		{"undef register", []string{".cfa: $rsp 8 + .ra: .cfa -8 + ^ $rbx: .undef"}, false, 0x1008, 0xaaaa,
			[]RegValue{{"rbx", 0, false}}},
		{"align", []string{".cfa: $rsp 15 + 8 @ .ra: .cfa -8 + ^"}, false, 0x1008, 0xaaaa, nil},
		{"all operators", []string{".cfa: $rsp 2 * 2 / 7 % 4096 + .ra: 3 4 - 5 +"}, false, 0x1000*2/2%7 + 4096, 4, nil},
		{"missing ra", []string{".cfa: $rsp 8 +"}, true, 0, 0, nil},
		{"cfa uses cfa", []string{".cfa: .cfa 8 + .ra: 1"}, true, 0, 0, nil},
		{"unknown register", []string{".cfa: $r99 8 + .ra: 1"}, true, 0, 0, nil},
		{"memory out of range", []string{".cfa: $rsp 8 + .ra: .cfa 800 + ^"}, true, 0, 0, nil},
		{"stack underflow", []string{".cfa: + .ra: 1"}, true, 0, 0, nil},
		{"leftover values", []string{".cfa: 1 2 .ra: 1"}, true, 0, 0, nil},
		{"divide by zero", []string{".cfa: 1 0 / .ra: 1"}, true, 0, 0, nil},
		{"align not power of two", []string{".cfa: 1 3 @ .ra: 1"}, true, 0, 0, nil},
		{"expression before register", []string{"$rsp .cfa: 1 .ra: 1"}, true, 0, 0, nil},
		{"empty expression", []string{".cfa: .ra: 1"}, true, 0, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := EvalCFI(tc.rules, m)
			if tc.wantErr {
				assert.ErrorIs(t, err, ErrCFI)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.cfa, res.CFA)
			assert.Equal(t, tc.ra, res.RA)
			assert.Equal(t, tc.regs, res.Regs)
		})
	}
}

func TestEvalWin(t *testing.T) {
	// Stack at 0x2000: [0]=saved ebp 0x2100, [4]=return address 0x401234.
	m := &testMachine{base: 0x2000, stack: words32(0x2100, 0x401234, 7, 8, 9, 10), word: 4}
	prog := "$T0 $ebp = $eip $T0 4 + ^ = $ebp $T0 ^ = $esp $T0 8 + ="
	tests := []struct {
		name    string
		w       WinInfo
		in      WinInput
		want    WinResult
		wantErr bool
	}{
		{"framedata standard prologue", WinInfo{Type: 4, Program: prog}, WinInput{ESP: 0x1ff0, EBP: 0x2000},
			WinResult{EIP: 0x401234, ESP: 0x2008, EBP: 0x2100, Set: WinEIP | WinESP | WinEBP}, false},
		{"framedata forwards ebx", WinInfo{Type: 4, Program: prog}, WinInput{ESP: 0x1ff0, EBP: 0x2000, EBX: 5, HasEBX: true},
			WinResult{EIP: 0x401234, ESP: 0x2008, EBP: 0x2100, EBX: 5, Set: WinEIP | WinESP | WinEBP | WinEBX}, false},
		{"framedata raSearchStart", WinInfo{Type: 4, LocalsSize: 4, SavedRegsSize: 0,
			Program: "$T0 .raSearchStart = $eip $T0 ^ = $esp $T0 4 + ="}, WinInput{ESP: 0x2000},
			WinResult{EIP: 0x401234, ESP: 0x2008, EBP: 0, Set: WinEIP | WinESP | WinEBP}, false},
		{"framedata undef deletes", WinInfo{Type: 4, Program: "$ebp .undef = $eip 4096 ="}, WinInput{ESP: 0x2000, EBP: 1},
			WinResult{EIP: 4096, ESP: 0x2000, Set: WinEIP | WinESP}, false},
		{"framedata unknown variable", WinInfo{Type: 4, Program: "$eip $T9 ="}, WinInput{}, WinResult{}, true},
		{"framedata bad memory", WinInfo{Type: 4, Program: "$eip 16 ^ ="}, WinInput{}, WinResult{}, true},
		{"framedata bad token", WinInfo{Type: 4, Program: "$eip 4 # ="}, WinInput{}, WinResult{}, true},
		{"fpo no base pointer", WinInfo{Type: 0, LocalsSize: 4}, WinInput{ESP: 0x2000, EBP: 0x55, EBX: 3, HasEBX: true},
			WinResult{EIP: 0x401234, ESP: 0x2008, EBP: 0x55, EBX: 3, Set: WinEIP | WinESP | WinEBP | WinEBX}, false},
		{"fpo allocates base pointer", WinInfo{Type: 0, SavedRegsSize: 8, AllocatesBasePtr: true}, WinInput{ESP: 0x2000, GrandCalleeParamSize: 4},
			WinResult{EIP: 8, ESP: 0x2010, EBP: 0x401234, Set: WinEIP | WinESP | WinEBP}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EvalWin(tc.w, tc.in, m)
			if tc.wantErr {
				assert.ErrorIs(t, err, ErrWin)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestArithBothWidths: the one operator table serves STACK CFI (64-bit)
// and STACK WIN (32-bit) rules, each wrapping at its own width.
func TestArithBothWidths(t *testing.T) {
	for _, c := range []struct {
		op       byte
		lhs, rhs uint64
		want     uint64
		ok       bool
	}{
		{'+', 1, 2, 3, true}, {'-', 1, 2, 1<<64 - 1, true}, {'*', 3, 4, 12, true},
		{'/', 9, 2, 4, true}, {'/', 9, 0, 0, false}, {'%', 9, 4, 1, true}, {'%', 9, 0, 0, false},
		{'@', 0x1017, 16, 0x1010, true}, {'@', 0x1017, 12, 0, false}, {'@', 1, 0, 0, false}, {'^', 1, 1, 0, false},
	} {
		got, ok := arith(c.op, c.lhs, c.rhs)
		assert.Equal(t, c.ok, ok, "%d %c %d", c.lhs, c.op, c.rhs)
		assert.Equal(t, c.want, got, "%d %c %d", c.lhs, c.op, c.rhs)
		got32, ok32 := arith(c.op, uint32(c.lhs), uint32(c.rhs))
		assert.Equal(t, c.ok, ok32, "32-bit %d %c %d", c.lhs, c.op, c.rhs)
		assert.Equal(t, uint32(c.want), got32, "32-bit %d %c %d", c.lhs, c.op, c.rhs)
	}
}
