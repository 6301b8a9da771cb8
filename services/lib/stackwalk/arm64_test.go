package stackwalk

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/minidump"
)

// Ported from rust-minidump's minidump-unwind arm64_unittest.rs.

func TestARM64FramePointer(t *testing.T) {
	for _, evil := range []bool{false, true} {
		name := "chain"
		if evil {
			name = "infinite equality"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(minidump.ArchARM64)
			ret1, ret2 := uint64(0x50000100), uint64(0x50000900)
			var frame0FP, frame1FP, frame2FP, frame1SP, frame2SP label
			s := newSection(0x80000000).zeros(64).d64(0xd).d64(0xf0000000).mark(&frame0FP)
			if evil {
				s.d64(&frame0FP) // a frame pointer pointing at itself
			} else {
				s.d64(&frame1FP)
			}
			s.d64(ret1).mark(&frame1SP).
				zeros(64).d64(0xd).d64(0xf0000000).mark(&frame1FP).d64(&frame2FP).d64(ret2).mark(&frame2SP).
				zeros(64).d64(0xd).d64(0xf0000000).mark(&frame2FP).d64(0).d64(0)
			f.set(t, "pc", 0x40005510)
			f.set(t, "lr", 0x1fe0fe10)
			f.set(t, "fp", frame0FP.value(t))
			f.set(t, "sp", s.base)
			frames := f.walk(t, s)
			if evil {
				require.Len(t, frames, 2, "a non-leaf frame may not keep sp")
				assert.Equal(t, map[string]uint64{"pc": ret1, "sp": frame1SP.value(t), "fp": frame0FP.value(t), "lr": ret1}, regs(frames[1]))
				return
			}
			require.Len(t, frames, 3)
			assert.Equal(t, TrustFramePointer, frames[1].Trust)
			assert.Equal(t, map[string]uint64{"pc": ret1, "sp": frame1SP.value(t), "fp": frame1FP.value(t), "lr": ret2}, regs(frames[1]))
			assert.Equal(t, ret1-4, frames[1].Instruction)
			assert.Equal(t, map[string]uint64{"pc": ret2, "sp": frame2SP.value(t), "fp": frame2FP.value(t), "lr": 0}, regs(frames[2]))
		})
	}
}

const arm64CFISymbols = "FUNC 4000 1000 10 enchiridion\n" +
	"STACK CFI INIT 4000 100 .cfa: sp 0 + .ra: x30\n" +
	"STACK CFI 4001 .cfa: sp 32 + .ra: .cfa -8 + ^ x19: .cfa -32 + ^ x20: .cfa -24 + ^  x29: .cfa -16 + ^\n" +
	"STACK CFI 4002 x19: x0 x20: x1 x21: x2 x22: x3\n" +
	"FUNC 5000 1000 10 epictetus\n" +
	"STACK CFI INIT 5000 1000 .cfa: 0 .ra: 0\n" +
	"FUNC 6000 1000 20 palinal\n" +
	"STACK CFI INIT 6000 1000 .cfa: sp 8 - .ra: x30\n" +
	"FUNC 7000 1000 20 rhetorical\n" +
	"STACK CFI INIT 7000 1000 .cfa: moot .ra: ambiguous\n"

func arm64CFIFixture(t *testing.T) *fixture {
	return cfiFixture(t, minidump.ArchARM64, arm64CFISymbols, map[string]uint64{
		"pc": 0x40005510, "sp": 0x80000000, "fp": 0x000000a28112e110,
		"x19": 0x5e68b5d5b5d55e68, "x20": 0x34f3ebd1ebd134f3, "x21": 0x74bca31ea31e74bc, "x22": 0x16b32dcb2dcb16b3,
		"x23": 0x21372ada2ada2137, "x24": 0x557dbbbbbbbb557d, "x25": 0x8ca748bf48bf8ca7, "x26": 0x21f0ab46ab4621f0,
		"x27": 0x146732b732b71467, "x28": 0xa673645fa673645f,
	})
}

func TestARM64CFI(t *testing.T) {
	want := map[string]uint64{
		"pc": 0x40005510, "fp": 0x000000a28112e110,
		"x19": 0x5e68b5d5b5d55e68, "x20": 0x34f3ebd1ebd134f3, "x21": 0x74bca31ea31e74bc, "x22": 0x16b32dcb2dcb16b3,
		"x23": 0x21372ada2ada2137, "x24": 0x557dbbbbbbbb557d, "x25": 0x8ca748bf48bf8ca7, "x26": 0x21f0ab46ab4621f0,
		"x27": 0x146732b732b71467, "x28": 0xa673645fa673645f,
	}
	t.Run("4000 leaf keeps sp", func(t *testing.T) {
		assert.Equal(t, callerRegs(want, "sp", 0x80000000), regs(cfiLeaf(t, arm64CFIFixture)))
	})
	t.Run("4001 pushed", func(t *testing.T) {
		f := arm64CFIFixture(t)
		var frame1SP label
		s := newSection(0x80000000).d64(uint64(0x5e68b5d5b5d55e68)).d64(uint64(0x34f3ebd1ebd134f3)).
			d64(uint64(0x000000a28112e110)).d64(uint64(0x40005510)).mark(&frame1SP).zeros(120)
		f.set(t, "pc", 0x40004001)
		f.set(t, "x19", 0xadc9f635a635adc9)
		f.set(t, "x20", 0x623135ac35ac6231)
		f.set(t, "fp", 0x5fc4be14be145fc4)
		frames := f.walkToCaller(t, s)
		assert.Equal(t, callerRegs(want, "sp", frame1SP.value(t)), regs(frames[1]))
	})
	t.Run("4002 saved in x0..x3", func(t *testing.T) {
		f := arm64CFIFixture(t)
		var frame1SP label
		s := newSection(0x80000000).d64(uint64(0xff3dfb81fb81ff3d)).d64(uint64(0x34f3ebd1ebd134f3)).
			d64(uint64(0x000000a28112e110)).d64(uint64(0x40005510)).mark(&frame1SP).zeros(120)
		f.set(t, "pc", 0x40004002)
		f.setRegs(t, map[string]uint64{"x0": 0x5e68b5d5b5d55e68, "x1": 0x34f3ebd1ebd134f3, "x2": 0x74bca31ea31e74bc,
			"x3": 0x16b32dcb2dcb16b3, "x19": 0xadc9f635a635adc9, "x20": 0x623135ac35ac6231, "x21": 0xac4543564356ac45,
			"x22": 0x2561562f562f2561, "fp": 0x5fc4be14be145fc4})
		frames := f.walkToCaller(t, s)
		assert.Equal(t, callerRegs(want, "sp", frame1SP.value(t)), regs(frames[1]))
	})
	cfiRejects(t, arm64CFIFixture)
}

func TestARM64PointerAuthStrip(t *testing.T) {
	f := newFixture(minidump.ArchARM64)
	ret := uint64(0x50000100)
	var frame0FP, frame1SP label
	s := newSection(0x80000000).zeros(16).mark(&frame0FP).d64(0).d64(ret | 0xff0f000000000000).mark(&frame1SP).zeros(16)
	f.set(t, "pc", 0x40005510)
	f.set(t, "fp", frame0FP.value(t))
	f.set(t, "sp", s.base)
	frames := f.walkToCaller(t, s)
	assert.Equal(t, ret, regs(frames[1])["pc"])
	assert.Equal(t, 1, frames[1].Module)
}
