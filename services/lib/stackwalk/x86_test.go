package stackwalk

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/minidump"
)

// Ported from rust-minidump's minidump-unwind x86_unittest.rs.

func TestX86Traditional(t *testing.T) {
	f := newFixture(minidump.ArchX86)
	var frame0BP, frame1BP label
	s := newSection(0x80000000).mark(&frame0BP).d32(&frame1BP).d32(0x40008679).
		zeros(8).mark(&frame1BP).d32(0).d32(0)
	f.set(t, "eip", 0x4000c7a5)
	f.set(t, "esp", s.base)
	f.set(t, "ebp", frame0BP.value(t))
	frames := f.walkToCaller(t, s)
	assert.Equal(t, uint64(0x4000c7a5), frames[0].Instruction)
	assert.Equal(t, TrustFramePointer, frames[1].Trust)
	assert.Equal(t, uint64(0x40008678), frames[1].Instruction)
	assert.Equal(t, map[string]uint64{"eip": 0x40008679, "esp": frame0BP.value(t) + 8, "ebp": frame1BP.value(t)}, regs(frames[1]))
}

func TestX86TraditionalScan(t *testing.T) {
	f := newFixture(minidump.ArchX86)
	var frame1SP, frame1BP label
	s := newSection(0x80000000).d32(0xf065dc76).d32(0x46ee2167).d32(0xbab023ec).
		d32(&frame1BP).d32(0x4000129d).mark(&frame1SP).mark(&frame1BP).d32(0).d32(0)
	f.set(t, "eip", 0x4000f49d)
	f.set(t, "esp", s.base)
	f.set(t, "ebp", 0xd43eed6e) // bogus: forces a scan
	frames := f.walkToCaller(t, s)
	assert.Equal(t, TrustScan, frames[1].Trust)
	assert.Equal(t, uint64(0x4000129c), frames[1].Instruction)
	assert.Equal(t, map[string]uint64{"eip": 0x4000129d, "esp": frame1SP.value(t), "ebp": frame1BP.value(t)}, regs(frames[1]))
}

const x86CFISymbols = "FUNC 4000 1000 10 enchiridion\n" +
	"STACK CFI INIT 4000 100 .cfa: $esp 4 + .ra: .cfa 4 - ^\n" +
	"STACK CFI 4001 .cfa: $esp 8 + $ebx: .cfa 8 - ^\n" +
	"STACK CFI 4002 $esi: $ebx\n" +
	"STACK CFI 4003 .cfa: $esp 20 + $edi: .cfa 16 - ^\n" +
	"STACK CFI 4005 .ra: $edi\n" +
	"STACK CFI 4006 .cfa: $ebp 8 + $ebp: .cfa 12 - ^\n" +
	"FUNC 5000 1000 10 epictetus\n" +
	"STACK CFI INIT 5000 1000 .cfa: $esp .ra 0\n"

func TestX86CFI(t *testing.T) {
	want := map[string]uint64{"eip": 0x40005510, "ebp": 0xc0d4aab9, "ebx": 0x60f20ce6, "esi": 0x53d1379d, "edi": 0xafbae234}
	tests := []struct {
		name  string
		words []uint32
		bpAt  int // index of the word the frame pointer points at, -1 for none
		regs  map[string]uint64
	}{
		{"4000", []uint32{0x40005510}, -1, map[string]uint64{"eip": 0x40004000}},
		{"4001", []uint32{0x60f20ce6, 0x40005510}, -1, map[string]uint64{"eip": 0x40004001, "ebx": 0x91aa9a8b}},
		{"4002", []uint32{0x60f20ce6, 0x40005510}, -1, map[string]uint64{"eip": 0x40004002, "ebx": 0x53d1379d, "esi": 0xa5c790ed}},
		{"4003", []uint32{0x56ec3db7, 0xafbae234, 0x53d67131, 0x60f20ce6, 0x40005510}, -1,
			map[string]uint64{"eip": 0x40004003, "ebx": 0x53d1379d, "esi": 0xa97f229d, "edi": 0xb05cc997}},
		{"4004", []uint32{0x56ec3db7, 0xafbae234, 0x53d67131, 0x60f20ce6, 0x40005510}, -1,
			map[string]uint64{"eip": 0x40004004, "ebx": 0x53d1379d, "esi": 0xa97f229d, "edi": 0xb05cc997}},
		{"4005", []uint32{0xe29782c2, 0xafbae234, 0x5ba29ce9, 0x60f20ce6, 0x8036cc02}, -1,
			map[string]uint64{"eip": 0x40004005, "ebx": 0x53d1379d, "esi": 0x0fb7dc4e, "edi": 0x40005510}},
		{"4006", []uint32{0xdcdd25cd, 0xafbae234, 0xc0d4aab9, 0x60f20ce6, 0x8036cc02}, 3,
			map[string]uint64{"eip": 0x40004006, "ebx": 0x53d1379d, "esi": 0x743833c9, "edi": 0x40005510}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(minidump.ArchX86)
			f.syms["module1"] = x86CFISymbols
			f.setRegs(t, map[string]uint64{"esp": 0x80000000, "ebp": 0xc0d4aab9, "ebx": 0x60f20ce6, "esi": 0x53d1379d, "edi": 0xafbae234})
			f.setRegs(t, tc.regs)
			s := newSection(0x80000000)
			var bp, frame1SP label
			for i, w := range tc.words {
				if i == tc.bpAt {
					s.mark(&bp)
				}
				s.d32(uint64(w))
			}
			s.mark(&frame1SP).zeros(1000)
			if bp.set {
				f.set(t, "ebp", bp.value(t))
			}
			frames := f.walkToCaller(t, s)
			assert.Equal(t, TrustCFI, frames[1].Trust)
			assert.Equal(t, callerRegs(want, "esp", frame1SP.value(t)), regs(frames[1]))
		})
	}
}

func TestX86StackWinParameterSize(t *testing.T) {
	f := newFixture(minidump.ArchX86)
	f.syms["module1"] = "FUNC 1000 100 c module1::wheedle\n"
	// The FUNC's parameter size is bogus: the walker must take STACK WIN's.
	f.syms["module2"] = "FUNC aa85 176 beef module2::whine\n" +
		"STACK WIN 4 aa85 176 0 0 4 10 4 0 1 $T2 $esp .cbLocals + .cbSavedRegs + = $T0 .raSearchStart = " +
		"$eip $T0 ^ = $esp $T0 4 + = $ebp $T0 20 - ^ = $ebx $T0 8 - ^ =\n"
	var frame0BP, frame1SP, frame2SP, frame2BP label
	s := newSection(0x80000000).zeros(16).mark(&frame0BP).d32(0x6fa902e0).d32(0x5000aa95).
		mark(&frame1SP).d32(0xbaa0cb7a).d32(0xbdc92f9f).d32(0x0b1d8442).d32(&frame2BP).
		d32(0xb1b90a15).d32(0xf18e072d).d32(0x2558c7f3).d32(0x0365e25e).d32(0x2a179e38).
		mark(&frame2SP).zeros(12).mark(&frame2BP).d32(0).d32(0)
	f.set(t, "eip", 0x40001004)
	f.set(t, "esp", s.base)
	f.set(t, "ebp", frame0BP.value(t))
	frames := f.walk(t, s)
	require.Len(t, frames, 3)
	assert.Equal(t, TrustFramePointer, frames[1].Trust)
	assert.Equal(t, map[string]uint64{"eip": 0x5000aa95, "esp": frame1SP.value(t), "ebp": 0x6fa902e0}, regs(frames[1]))
	assert.Equal(t, uint32(4), frames[1].ParamSize)
	f2 := frames[2]
	assert.Equal(t, TrustCFI, f2.Trust)
	assert.Equal(t, uint64(0x2a179e37), f2.Instruction)
	r := regs(f2)
	assert.Equal(t, uint64(0x2a179e38), r["eip"])
	assert.Equal(t, frame2SP.value(t), r["esp"])
	assert.Equal(t, frame2BP.value(t), r["ebp"])
	assert.Equal(t, uint64(0x2558c7f3), r["ebx"])
	assert.Equal(t, -1, f2.Module)
}

func TestX86FramePointerOverflow(t *testing.T) {
	f := newFixture(minidump.ArchX86)
	s := newSection(0x80000000).zeros(64)
	f.set(t, "eip", 0x40000200)
	f.set(t, "ebp", 0xfffffff8)
	f.set(t, "esp", s.base)
	assert.Len(t, f.walk(t, s), 1)
}

// TestX86StackWinFrameData: a STACK WIN frame-data program restores the
// caller's registers; overlapping records are repaired so that the record
// starting at the address applies.
func TestX86StackWinFrameData(t *testing.T) {
	const program = "STACK WIN 4 aa85 176 0 0 4 10 4 0 1 $T2 $esp .cbSavedRegs + = $T0 .raSearchStart = " +
		"$eip $T0 ^ = $esp $T0 4 + = $ebx $T2 4  - ^ = $edi $T2 8  - ^ = $esi $T2 12 - ^ = $ebp $T2 16 - ^ =\n"
	for name, syms := range map[string]string{
		"basic": program,
		"overlapping": "STACK WIN 4 aa80 181 0 0 4 10 4 0 1 $eip .raSearchStart =\n" +
			"STACK WIN 4 aa84 177 0 0 4 10 4 0 1 $eip .raSearchStart =\n" + program +
			"STACK WIN 4 aa86 175 0 0 4 10 4 0 1 $eip .raSearchStart =\n",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(minidump.ArchX86)
			f.syms["module1"] = syms
			var frame1SP, frame1BP label
			s := newSection(0x80000000).d32(&frame1BP).d32(0xa7120d1a).d32(0x630891be).d32(0x9068a878).
				d32(0xa08ea45f).d32(0x40001350).mark(&frame1SP).zeros(12).mark(&frame1BP).d32(0).d32(0)
			f.set(t, "eip", 0x4000aa85)
			f.set(t, "esp", s.base)
			f.set(t, "ebp", 0xf052c1de)
			frames := f.walkToCaller(t, s)
			assert.Equal(t, TrustCFI, frames[1].Trust)
			assert.Equal(t, uint64(0x40001350-1), frames[1].Instruction)
			assert.Equal(t, map[string]uint64{"eip": 0x40001350, "esp": frame1SP.value(t), "ebp": frame1BP.value(t),
				"ebx": 0x9068a878, "esi": 0xa7120d1a, "edi": 0x630891be}, regs(frames[1]))
		})
	}
}
