package stackwalk

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/minidump"
)

// Ported from rust-minidump's minidump-unwind amd64_unittest.rs.

func TestAMD64Simple(t *testing.T) {
	f := newFixture(minidump.ArchAMD64)
	f.set(t, "rip", 0x00007400c0000200)
	f.set(t, "rbp", 0x8000000080000000)
	frames := f.walk(t, newSection(0x80000000))
	require.Len(t, frames, 1)
	assert.Equal(t, 0, frames[0].Module)
}

func TestAMD64CallerPushedRBP(t *testing.T) {
	f := newFixture(minidump.ArchAMD64)
	ret := uint64(0x00007500b0000110)
	var frame0BP, frame1SP, frame1BP label
	s := newSection(0x8000000080000000).zeros(16).
		d64(uint64(0x00007400b0000000)).d64(uint64(0x00007500b0000000)).
		d64(uint64(0x00007400c0001000)).d64(uint64(0x00007500b000aaaa)).
		mark(&frame0BP).d64(&frame1BP).d64(ret).
		mark(&frame1SP).zeros(32).mark(&frame1BP).d64(0)
	f.set(t, "rip", 0x00007400c0000200)
	f.set(t, "rbp", frame0BP.value(t))
	f.set(t, "rsp", s.base)
	frames := f.walkToCaller(t, s)
	assert.Equal(t, TrustContext, frames[0].Trust)
	f1 := frames[1]
	assert.Equal(t, TrustFramePointer, f1.Trust)
	assert.Equal(t, map[string]uint64{"rip": ret, "rsp": frame1SP.value(t), "rbp": frame1BP.value(t)}, regs(f1))
	assert.Equal(t, ret-1, f1.Instruction)
}

func TestAMD64ScanWithSymbols(t *testing.T) {
	f := newFixture(minidump.ArchAMD64)
	ret := uint64(0x00007500b0000110)
	var frame1SP, frame1BP label
	s := newSection(0x8000000080000000).zeros(16).
		d64(uint64(0x00007400b0000000)).d64(uint64(0x00007500b0000000)).
		d64(uint64(0x00007400c0001000)).d64(uint64(0x00007500b000aaaa)).
		d64(ret).mark(&frame1SP).zeros(32).mark(&frame1BP)
	f.set(t, "rip", 0x00007400c0000200)
	f.set(t, "rbp", frame1BP.value(t))
	f.set(t, "rsp", s.base)
	f.syms["module1"] = "FUNC 100 400 10 monotreme\n"
	f.syms["module2"] = "FUNC 100 400 10 marsupial\n"
	frames := f.walkToCaller(t, s)
	f1 := frames[1]
	assert.Equal(t, TrustScan, f1.Trust)
	assert.Equal(t, map[string]uint64{"rip": ret, "rsp": frame1SP.value(t), "rbp": frame1BP.value(t)}, regs(f1))
	assert.Equal(t, "marsupial", f1.Function)
	assert.Equal(t, "monotreme", frames[0].Function)
}

func TestAMD64ScanWithoutSymbols(t *testing.T) {
	// Without symbols any in-module pointer is a return address: the walk
	// takes the first one past the junk outside every module.
	f := newFixture(minidump.ArchAMD64)
	ret1, ret2 := uint64(0x00007500b0000100), uint64(0x00007500b0000900)
	var frame1SP, frame2SP, frame1BP label
	s := newSection(0x8000000080000000).zeros(16).
		d64(uint64(0x00007400b0000000)).d64(uint64(0x00007500d0000000)).
		d64(ret1).mark(&frame1SP).zeros(16).
		d64(uint64(0x00007400b0000000)).d64(uint64(0x00007500d0000000)).
		d64(ret2).mark(&frame2SP).zeros(32).mark(&frame1BP)
	f.set(t, "rip", 0x00007400c0000200)
	f.set(t, "rbp", frame1BP.value(t))
	f.set(t, "rsp", s.base)
	frames := f.walk(t, s)
	require.Len(t, frames, 3)
	assert.Equal(t, TrustScan, frames[1].Trust)
	assert.Equal(t, ret1, regs(frames[1])["rip"])
	assert.Equal(t, frame1SP.value(t), regs(frames[1])["rsp"])
	assert.Equal(t, frame1BP.value(t), regs(frames[1])["rbp"])
	assert.Equal(t, TrustScan, frames[2].Trust)
	assert.Equal(t, ret2, regs(frames[2])["rip"])
	assert.Equal(t, frame2SP.value(t), regs(frames[2])["rsp"])
}

// amd64CFISymbols is the CFI program of the rust-minidump cfi_at_* tests.
const amd64CFISymbols = "FUNC 4000 1000 10 enchiridion\n" +
	"STACK CFI INIT 4000 100 .cfa: $rsp 8 + .ra: .cfa 8 - ^\n" +
	"STACK CFI 4001 .cfa: $rsp 16 + $rbx: .cfa 16 - ^\n" +
	"STACK CFI 4002 $r12: $rbx\n" +
	"STACK CFI 4003 .cfa: $rsp 40 + $r13: .cfa 32 - ^\n" +
	"STACK CFI 4005 .ra: $r13\n" +
	"STACK CFI 4006 .cfa: $rbp 16 + $rbp: .cfa 24 - ^\n" +
	"FUNC 5000 1000 10 epictetus\n" +
	"STACK CFI INIT 5000 1000 .cfa: $rsp .ra 0\n"

func TestAMD64CFI(t *testing.T) {
	const (
		rsp = uint64(0x8000000080000000)
		ret = uint64(0x00007400c0005510)
	)
	// The caller's registers every case must recover.
	want := map[string]uint64{
		"rip": ret, "rbp": 0x68995b1de4700266, "rbx": 0x5a5beeb38de23be8,
		"r12": 0xed1b02e8cc0fc79c, "r13": 0x1d20ad8acacbe930, "r14": 0xe94cffc2f7adaa28, "r15": 0xb638d17d8da413b5,
	}
	tests := []struct {
		name  string
		rip   uint64
		stack func(s *section, frame0BP *label) *section
		regs  map[string]uint64 // callee registers beyond the common ones
	}{
		{"4000", 0x00007400c0004000, func(s *section, _ *label) *section { return s.d64(ret) }, nil},
		{"4001", 0x00007400c0004001, func(s *section, _ *label) *section {
			return s.d64(uint64(0x5a5beeb38de23be8)).d64(ret)
		}, map[string]uint64{"rbx": 0xbe0487d2f9eafe29}},
		{"4002", 0x00007400c0004002, func(s *section, _ *label) *section {
			return s.d64(uint64(0x5a5beeb38de23be8)).d64(ret)
		}, map[string]uint64{"rbx": 0xed1b02e8cc0fc79c, "r12": 0xb0118de918a4bcea}},
		{"4003", 0x00007400c0004003, func(s *section, _ *label) *section {
			return s.d64(uint64(0x0e023828dffd4d81)).d64(uint64(0x1d20ad8acacbe930)).d64(uint64(0x319e68b49e3ace0f)).
				d64(uint64(0x5a5beeb38de23be8)).d64(ret)
		}, map[string]uint64{"rbx": 0xed1b02e8cc0fc79c, "r12": 0x89d04fa804c87a43, "r13": 0x5118e02cbdb24b03}},
		{"4004", 0x00007400c0004004, func(s *section, _ *label) *section {
			return s.d64(uint64(0x0e023828dffd4d81)).d64(uint64(0x1d20ad8acacbe930)).d64(uint64(0x319e68b49e3ace0f)).
				d64(uint64(0x5a5beeb38de23be8)).d64(ret)
		}, map[string]uint64{"rbx": 0xed1b02e8cc0fc79c, "r12": 0x46b1b8868891b34a, "r13": 0x5118e02cbdb24b03}},
		{"4005", 0x00007400c0004005, func(s *section, _ *label) *section {
			return s.d64(uint64(0x4b516dd035745953)).d64(uint64(0x1d20ad8acacbe930)).d64(uint64(0xa6d445e16ae3d872)).
				d64(uint64(0x5a5beeb38de23be8)).d64(uint64(0xaa95fa054aedfbae))
		}, map[string]uint64{"rbx": 0xed1b02e8cc0fc79c, "r12": 0x46b1b8868891b34a, "r13": ret}},
		{"4006", 0x00007400c0004006, func(s *section, bp *label) *section {
			return s.d64(uint64(0x043c6dfceb91aa34)).d64(uint64(0x1d20ad8acacbe930)).d64(uint64(0x68995b1de4700266)).
				mark(bp).d64(uint64(0x5a5beeb38de23be8)).d64(uint64(0xf015ee516ad89eab))
		}, map[string]uint64{"rbx": 0xed1b02e8cc0fc79c, "r12": 0x26e007b341acfebd, "r13": ret}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(minidump.ArchAMD64)
			f.syms["module1"] = amd64CFISymbols
			f.setRegs(t, map[string]uint64{"rsp": rsp, "rip": tc.rip, "rbp": 0x68995b1de4700266, "rbx": 0x5a5beeb38de23be8,
				"r12": 0xed1b02e8cc0fc79c, "r13": 0x1d20ad8acacbe930, "r14": 0xe94cffc2f7adaa28, "r15": 0xb638d17d8da413b5})
			f.setRegs(t, tc.regs)
			var frame0BP, frame1SP label
			s := tc.stack(newSection(rsp), &frame0BP).mark(&frame1SP).zeros(1000)
			if frame0BP.set {
				f.set(t, "rbp", frame0BP.value(t))
			}
			frames := f.walkToCaller(t, s)
			assert.Equal(t, TrustCFI, frames[1].Trust)
			assert.Equal(t, callerRegs(want, "rsp", frame1SP.value(t)), regs(frames[1]))
			assert.Equal(t, "epictetus", frames[1].Function)
		})
	}
}

func TestAMD64FramePointerOverflow(t *testing.T) {
	f := newFixture(minidump.ArchAMD64)
	s := newSection(0x8000000080000000).zeros(64)
	f.set(t, "rip", 0x00007400c0000200)
	f.set(t, "rbp", ^uint64(0)-4)
	f.set(t, "rsp", s.base)
	frames := f.walk(t, s)
	assert.Len(t, frames, 1)
}

func TestAMD64WindowsRBPScan(t *testing.T) {
	// A Windows frame pointer may point into the middle of the frame; the
	// walker tries 16-byte steps up to 240 bytes above it.
	f := newFixture(minidump.ArchAMD64)
	f.os = 2 // Windows NT
	ret := uint64(0x00007500b0000110)
	var frame0BP, frame1SP, frame1BP label
	s := newSection(0x8000000080000000).zeros(16).mark(&frame0BP).zeros(32).
		d64(&frame1BP).d64(ret).mark(&frame1SP).zeros(32).mark(&frame1BP).d64(0).d64(0)
	f.set(t, "rip", 0x00007400c0000200)
	f.set(t, "rbp", frame0BP.value(t))
	f.set(t, "rsp", s.base)
	frames := f.walk(t, s)
	require.GreaterOrEqual(t, len(frames), 2)
	assert.Equal(t, TrustFramePointer, frames[1].Trust)
	assert.Equal(t, map[string]uint64{"rip": ret, "rsp": frame1SP.value(t), "rbp": frame1BP.value(t)}, regs(frames[1]))
}
