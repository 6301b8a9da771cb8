package stackwalk

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/minidump"
)

// Ported from rust-minidump's minidump-unwind arm_unittest.rs.

const armCFISymbols = "FUNC 4000 1000 10 enchiridion\n" +
	"STACK CFI INIT 4000 100 .cfa: sp .ra: lr\n" +
	"STACK CFI 4001 .cfa: sp 12 + r4: .cfa 12 - ^ r11: .cfa 8 - ^ .ra: .cfa 4 - ^\n" +
	"STACK CFI 4002 r4: r0 r5: r1 r6: r2 r7: r3\n" +
	"FUNC 5000 1000 10 epictetus\n" +
	"STACK CFI INIT 5000 1000 .cfa: 0 .ra: 0\n" +
	"FUNC 6000 1000 20 palinal\n" +
	"STACK CFI INIT 6000 1000 .cfa: sp 4 - .ra: lr\n" +
	"FUNC 7000 1000 20 rhetorical\n" +
	"STACK CFI INIT 7000 1000 .cfa: moot .ra: ambiguous\n"

func armCFIFixture(t *testing.T) *fixture {
	return cfiFixture(t, minidump.ArchARM, armCFISymbols, map[string]uint64{"pc": 0x40005510, "sp": 0x80000000, "fp": 0x8112e110,
		"r4": 0xb5d55e68, "r5": 0xebd134f3, "r6": 0xa31e74bc, "r7": 0x2dcb16b3, "r8": 0x2ada2137, "r9": 0xbbbb557d, "r10": 0x48bf8ca7})
}

func TestARMCFI(t *testing.T) {
	want := map[string]uint64{"pc": 0x40005510, "fp": 0x8112e110,
		"r4": 0xb5d55e68, "r5": 0xebd134f3, "r6": 0xa31e74bc, "r7": 0x2dcb16b3, "r8": 0x2ada2137, "r9": 0xbbbb557d, "r10": 0x48bf8ca7}
	with := func(sp uint64) map[string]uint64 { return callerRegs(want, "sp", sp) }
	t.Run("4000 leaf keeps sp", func(t *testing.T) {
		caller := cfiLeaf(t, armCFIFixture)
		assert.Equal(t, with(0x80000000), regs(caller))
		assert.Equal(t, uint64(0x40005510-2), caller.Instruction)
		assert.Equal(t, "epictetus", caller.Function)
	})
	t.Run("4001 pushed", func(t *testing.T) {
		f := armCFIFixture(t)
		var frame1SP label
		s := newSection(0x80000000).d32(0xb5d55e68).d32(0x8112e110).d32(0x40005510).mark(&frame1SP).zeros(120)
		f.set(t, "pc", 0x40004001)
		f.set(t, "r4", 0x635adc9f)
		f.set(t, "fp", 0xbe145fc4)
		frames := f.walkToCaller(t, s)
		assert.Equal(t, with(frame1SP.value(t)), regs(frames[1]))
	})
	t.Run("4002 saved in r0..r3", func(t *testing.T) {
		f := armCFIFixture(t)
		var frame1SP label
		s := newSection(0x80000000).d32(0xfb81ff3d).d32(0x8112e110).d32(0x40005510).mark(&frame1SP).zeros(120)
		f.set(t, "pc", 0x40004002)
		f.setRegs(t, map[string]uint64{"r0": 0xb5d55e68, "r1": 0xebd134f3, "r2": 0xa31e74bc, "r3": 0x2dcb16b3,
			"r4": 0xfdd35466, "r5": 0xf18c946c, "r6": 0xac2079e8, "r7": 0xa449829f, "fp": 0xbe145fc4})
		frames := f.walkToCaller(t, s)
		assert.Equal(t, with(frame1SP.value(t)), regs(frames[1]))
	})
	cfiRejects(t, armCFIFixture)
}

func TestARMScanWithoutSymbols(t *testing.T) {
	f := newFixture(minidump.ArchARM)
	ret1, ret2 := uint64(0x50000100), uint64(0x50000900)
	var frame1SP, frame2SP label
	s := newSection(0x80000000).zeros(16).d32(0x4000_0000 - 0x100).d32(0x60000000).d32(ret1).mark(&frame1SP).
		zeros(16).d32(0x60000000).d32(ret2).mark(&frame2SP).zeros(32)
	f.set(t, "pc", 0x40005510)
	f.set(t, "sp", s.base)
	frames := f.walk(t, s)
	require.Len(t, frames, 3)
	assert.Equal(t, map[string]uint64{"pc": ret1, "sp": frame1SP.value(t)}, regs(frames[1]))
	assert.Equal(t, TrustScan, frames[1].Trust)
	assert.Equal(t, map[string]uint64{"pc": ret2, "sp": frame2SP.value(t)}, regs(frames[2]))
}
