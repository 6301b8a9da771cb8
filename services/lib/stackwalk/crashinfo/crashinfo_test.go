package crashinfo_test

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/minidump/synth"
	"github.com/crashstream/crashstream/services/lib/stackwalk/crashinfo"
)

const (
	codeBase  = 0x555555554000
	stackBase = 0x7fffffff0000
	linuxMaps = "555555554000-555555556000 r-xp 00000000 08:01 1 /usr/bin/app\n" +
		"7fffffff0000-7ffffffff000 rw-p 00000000 00:00 0 [stack]\n"
)

// crash builds a Linux amd64 dump whose crashing thread executes code at
// codeBase with the given registers, signal, si_code and fault address.
type crash struct {
	code    []byte
	regs    map[string]uint64
	signal  uint32
	siCode  uint32
	addr    uint64
	stack   []byte
	maps    string
	arch    minidump.Arch
	windows bool
}

func (c crash) dump(t testing.TB) *minidump.Dump {
	t.Helper()
	arch := c.arch
	if arch == "" {
		arch = minidump.ArchAMD64
	}
	os := synth.Linux
	if c.windows {
		os = synth.Windows
	}
	ctx := minidump.NewContext(arch)
	for _, r := range minidump.RegisterNames(arch) {
		ctx.Set(r, 0)
	}
	ctx.Set(ctx.IPName(), codeBase)
	ctx.Set(ctx.SPName(), stackBase+0x100)
	for r, v := range c.regs {
		ctx.Set(r, v)
	}
	b := synth.New(arch, os)
	stack := c.stack
	if stack == nil {
		stack = make([]byte, 0x200)
	}
	b.AddThread(synth.Thread{ID: 1, Stack: synth.Memory{Base: stackBase + 0x100, Data: stack}, Context: &ctx})
	if c.code != nil {
		b.AddMemory(synth.Memory{Base: codeBase, Data: c.code})
	}
	b.SetException(synth.Exception{ThreadID: 1, Code: c.signal, Flags: c.siCode, Address: c.addr, Context: &ctx})
	maps := c.maps
	if maps == "" {
		maps = linuxMaps
	}
	if !c.windows {
		b.AddStream(minidump.LinuxMapsStream, []byte(maps))
	}
	d, err := minidump.Parse(b.Bytes())
	require.NoError(t, err)
	return d
}

const (
	sigsegv    = 11
	segvMaperr = 1
	siKernel   = 0x80
)

func TestNullPointerWithOffset(t *testing.T) {
	// mov eax, dword [rax + 0x10] with rax = 0
	info := crashinfo.Analyze(crash{code: []byte{0x8b, 0x40, 0x10}, signal: sigsegv, siCode: segvMaperr, addr: 0x10}.dump(t))
	require.NotNil(t, info)
	assert.Equal(t, "mov eax, dword [rax + 0x10]", info.Instruction)
	require.Len(t, info.Accesses, 1)
	assert.Equal(t, crashinfo.Access{Address: 0x10, Size: 4, Type: crashinfo.Read, NullBase: true}, info.Accesses[0])
	assert.Equal(t, &crashinfo.Adjusted{Address: 0x10}, info.Adjusted)
	assert.Empty(t, info.BitFlips, "no bit flips for a null pointer with an offset")
	assert.Nil(t, info.IPUpdate)
	assert.Equal(t, []string{}, info.Inconsistencies)
}

func TestNonCanonicalAddress(t *testing.T) {
	// mov rax, qword [rbx]: Linux reports SIGSEGV / SI_KERNEL at 0.
	const bad = 0x00017fffffff0040 // bit 48 set: non-canonical
	info := crashinfo.Analyze(crash{code: []byte{0x48, 0x8b, 0x03}, regs: map[string]uint64{"rbx": bad},
		signal: sigsegv, siCode: siKernel, addr: 0}.dump(t))
	require.NotNil(t, info)
	assert.Equal(t, "mov rax, qword [rbx]", info.Instruction)
	assert.Equal(t, &crashinfo.Adjusted{NonCanonical: true, Address: bad}, info.Adjusted)
	// Flipping bit 48 back gives the stack address; found for the adjusted
	// address and again for rbx.
	require.Len(t, info.BitFlips, 2)
	for i, reg := range []string{"", "rbx"} {
		f := info.BitFlips[i]
		assert.Equal(t, uint64(0x00007fffffff0040), f.Address)
		assert.Equal(t, reg, f.Register)
		assert.True(t, f.WasNonCanonical)
		assert.Equal(t, uint32(1), f.NearbyRegisters, "rsp is within 4 KiB")
		// 1 - (1-0.25)(1-0.9)(1-0.5), in float32.
		assert.InDelta(t, 0.9625, f.Confidence, 1e-6)
	}
}

func TestSingleBitFlippedPointer(t *testing.T) {
	// mov qword [rdi], rax with rdi one bit (40) away from the stack.
	const flipped = 0x7fffffff0080 ^ 1<<40
	info := crashinfo.Analyze(crash{code: []byte{0x48, 0x89, 0x07}, regs: map[string]uint64{"rdi": flipped},
		signal: sigsegv, siCode: segvMaperr, addr: flipped}.dump(t))
	require.NotNil(t, info)
	assert.Equal(t, "mov qword [rdi], rax", info.Instruction)
	assert.Equal(t, []crashinfo.Access{{Address: flipped, Size: 8, Type: crashinfo.Write}}, info.Accesses)
	assert.Nil(t, info.Adjusted)
	require.Len(t, info.BitFlips, 2)
	assert.Equal(t, uint64(0x7fffffff0080), info.BitFlips[0].Address)
	assert.Equal(t, "", info.BitFlips[0].Register)
	assert.Equal(t, "rdi", info.BitFlips[1].Register)
	assert.False(t, info.BitFlips[0].IsNull)
}

func TestWildPointerNoFlip(t *testing.T) {
	// A wild pointer far from every mapping, no single flip makes it valid.
	const wild = 0x0000123456789abc
	info := crashinfo.Analyze(crash{code: []byte{0x8b, 0x07}, regs: map[string]uint64{"rdi": wild},
		signal: sigsegv, siCode: segvMaperr, addr: wild}.dump(t))
	assert.Equal(t, "mov eax, dword [rdi]", info.Instruction)
	assert.Empty(t, info.BitFlips)
}

func TestBadJumps(t *testing.T) {
	t.Run("call through a register", func(t *testing.T) {
		info := crashinfo.Analyze(crash{code: []byte{0xff, 0xd0}, regs: map[string]uint64{"rax": 0x4141414141},
			signal: sigsegv, siCode: segvMaperr, addr: 0x4141414141}.dump(t))
		assert.Equal(t, "call rax", info.Instruction)
		assert.Equal(t, &crashinfo.IPUpdate{Address: 0x4141414141}, info.IPUpdate)
		// The return address slot below rsp is written.
		assert.Equal(t, []crashinfo.Access{{Address: stackBase + 0x100 - 8, Size: 8, Type: crashinfo.Write}}, info.Accesses)
	})
	t.Run("call to null", func(t *testing.T) {
		info := crashinfo.Analyze(crash{code: []byte{0xff, 0xd0}, signal: sigsegv, siCode: segvMaperr}.dump(t))
		assert.Equal(t, &crashinfo.IPUpdate{Address: 0}, info.IPUpdate)
		assert.Equal(t, &crashinfo.Adjusted{Address: 0}, info.Adjusted)
	})
	t.Run("ret to a smashed return address", func(t *testing.T) {
		stack := make([]byte, 0x200)
		copy(stack, []byte{0xef, 0xbe, 0xad, 0xde, 0, 0, 0, 0})
		info := crashinfo.Analyze(crash{code: []byte{0xc3}, stack: stack, signal: sigsegv, siCode: segvMaperr}.dump(t))
		assert.Equal(t, "ret", info.Instruction)
		assert.Equal(t, &crashinfo.IPUpdate{Address: 0xdeadbeef}, info.IPUpdate)
		assert.Equal(t, []crashinfo.Access{{Address: stackBase + 0x100, Size: 8, Type: crashinfo.Read}}, info.Accesses)
	})
	t.Run("jmp through memory", func(t *testing.T) {
		// jmp qword [rsp]: the target is read from the stack memory.
		stack := make([]byte, 0x200)
		copy(stack, []byte{0x78, 0x56, 0x34, 0x12})
		info := crashinfo.Analyze(crash{code: []byte{0xff, 0x24, 0x24}, stack: stack, signal: sigsegv, siCode: segvMaperr, addr: 0x12345678}.dump(t))
		assert.Equal(t, "jmp qword [rsp]", info.Instruction)
		assert.Equal(t, &crashinfo.IPUpdate{Address: 0x12345678}, info.IPUpdate)
	})
}

func TestDivisionInconsistency(t *testing.T) {
	// SIGFPE / FPE_INTDIV on an instruction that cannot divide.
	info := crashinfo.Analyze(crash{code: []byte{0x89, 0xc5}, signal: 8, siCode: 1}.dump(t))
	assert.Equal(t, "mov ebp, eax", info.Instruction)
	assert.Equal(t, []string{crashinfo.IntDivByZeroNotPossible}, info.Inconsistencies)
	info = crashinfo.Analyze(crash{code: []byte{0xf7, 0xf9}, signal: 8, siCode: 1}.dump(t))
	assert.Equal(t, "idiv ecx", info.Instruction)
	assert.Equal(t, []string{}, info.Inconsistencies)
}

func TestUnanalysable(t *testing.T) {
	t.Run("no code memory", func(t *testing.T) {
		info := crashinfo.Analyze(crash{signal: sigsegv, siCode: segvMaperr, addr: 0x10}.dump(t))
		assert.Empty(t, info.Instruction)
		assert.Nil(t, info.Accesses, "unknown, not empty")
		// Bit flips need no instruction: 0x10 is one flip from null.
		require.Len(t, info.BitFlips, 1)
		assert.True(t, info.BitFlips[0].IsNull)
		assert.True(t, info.BitFlips[0].WasLow)
	})
	t.Run("arm64 is not disassembled", func(t *testing.T) {
		info := crashinfo.Analyze(crash{arch: minidump.ArchARM64, code: []byte{0x00, 0x00, 0x40, 0xb9},
			signal: sigsegv, siCode: segvMaperr, addr: 0x10}.dump(t))
		assert.Empty(t, info.Instruction)
		assert.Nil(t, info.Accesses)
		assert.Empty(t, info.BitFlips, "minidump-stackwalk looks for no bit flips on arm64")
	})
	t.Run("no exception", func(t *testing.T) {
		b := synth.New(minidump.ArchAMD64, synth.Linux)
		ctx := minidump.NewContext(minidump.ArchAMD64)
		b.AddThread(synth.Thread{ID: 1, Context: &ctx})
		d, err := minidump.Parse(b.Bytes())
		require.NoError(t, err)
		assert.Nil(t, crashinfo.Analyze(d))
	})
}

func TestGuardPage(t *testing.T) {
	maps := linuxMaps + "7ffffffff000-800000000000 ---p 00000000 00:00 0\n"
	info := crashinfo.Analyze(crash{code: []byte{0x8b, 0x07}, regs: map[string]uint64{"rdi": 0x7ffffffff010},
		maps: maps, signal: sigsegv, siCode: segvMaperr, addr: 0x7ffffffff010}.dump(t))
	require.Len(t, info.Accesses, 1)
	assert.True(t, info.Accesses[0].GuardPage)
}

// FuzzAnalyze: any instruction bytes and registers analyse without panic.
func FuzzAnalyze(f *testing.F) {
	f.Add([]byte{0x8b, 0x40, 0x10}, uint64(0), uint64(0x10), uint32(1))
	f.Add([]byte{0xff, 0x24, 0x24}, uint64(0x7fffffff0100), uint64(0), uint32(0x80))
	f.Add([]byte{0xf3, 0x48, 0xab}, uint64(1<<47), uint64(1<<47), uint32(1))
	f.Fuzz(func(t *testing.T, code []byte, reg, addr uint64, siCode uint32) {
		if len(code) > 32 {
			code = code[:32]
		}
		regs := map[string]uint64{"rax": reg, "rbx": ^reg, "rdi": reg << 1, "rsp": reg}
		info := crashinfo.Analyze(crash{code: code, regs: regs, signal: sigsegv, siCode: siCode, addr: addr}.dump(t))
		if info == nil {
			t.Fatal("nil info with an exception stream")
		}
	})
}

// memoryInfoList encodes a MINIDUMP_MEMORY_INFO_LIST of (base, size,
// protection) regions.
func memoryInfoList(regions ...[3]uint64) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 16)
	b = binary.LittleEndian.AppendUint32(b, 48)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(regions)))
	for _, r := range regions {
		b = binary.LittleEndian.AppendUint64(b, r[0])         // BaseAddress
		b = binary.LittleEndian.AppendUint64(b, r[0])         // AllocationBase
		b = binary.LittleEndian.AppendUint32(b, uint32(r[2])) // AllocationProtect
		b = binary.LittleEndian.AppendUint32(b, 0)            // alignment
		b = binary.LittleEndian.AppendUint64(b, r[1])         // RegionSize
		b = binary.LittleEndian.AppendUint32(b, 0x1000)       // State: MEM_COMMIT
		b = binary.LittleEndian.AppendUint32(b, uint32(r[2])) // Protect
		b = binary.LittleEndian.AppendUint32(b, 0x20000)      // Type: MEM_PRIVATE
		b = binary.LittleEndian.AppendUint32(b, 0)            // alignment
	}
	return b
}

// windowsAV builds a Windows amd64 access violation (info[0] = access
// kind, info[1] = address) on `mov eax, dword [rdi]`.
func windowsAV(t *testing.T, kind, addr, rdi uint64, regions ...[3]uint64) *minidump.Dump {
	t.Helper()
	ctx := minidump.NewContext(minidump.ArchAMD64)
	for _, r := range minidump.RegisterNames(minidump.ArchAMD64) {
		ctx.Set(r, 0)
	}
	ctx.Set("rip", codeBase)
	ctx.Set("rsp", stackBase+0x100)
	ctx.Set("rdi", rdi)
	b := synth.New(minidump.ArchAMD64, synth.Windows)
	b.AddThread(synth.Thread{ID: 1, Stack: synth.Memory{Base: stackBase + 0x100, Data: make([]byte, 64)}, Context: &ctx})
	b.AddMemory(synth.Memory{Base: codeBase, Data: []byte{0x8b, 0x07}})
	b.SetException(synth.Exception{ThreadID: 1, Code: 0xc0000005, Params: []uint64{kind, addr}, Context: &ctx})
	b.AddStream(minidump.MemoryInfoListStream, memoryInfoList(regions...))
	d, err := minidump.Parse(b.Bytes())
	require.NoError(t, err)
	return d
}

func TestWindowsAccessViolationInconsistencies(t *testing.T) {
	const pageReadWrite, pageNoAccess = 0x04, 0x01
	heap := [3]uint64{0x10000000, 0x10000, pageReadWrite}
	guard := [3]uint64{0x20000000, 0x1000, pageNoAccess}

	// The fault is where the instruction reads, in inaccessible memory:
	// consistent.
	info := crashinfo.Analyze(windowsAV(t, 0, 0x20000010, 0x20000010, heap, guard))
	assert.Equal(t, []string{}, info.Inconsistencies)

	// The reported address is readable and not the one the instruction reads.
	info = crashinfo.Analyze(windowsAV(t, 0, 0x10000010, 0x20000010, heap, guard))
	assert.Equal(t, []string{crashinfo.CrashingAccessNotFoundInMemoryAccesses, crashinfo.AccessViolationWhenAccessAllowed},
		info.Inconsistencies)

	// A general protection fault (read at all ones) on a mov whose address
	// is canonical: the non-canonical report is false.
	info = crashinfo.Analyze(windowsAV(t, 0, ^uint64(0), 0x20000010, heap, guard))
	assert.Equal(t, []string{crashinfo.NonCanonicalAddressFalselyReported}, info.Inconsistencies)
	assert.Nil(t, info.Adjusted)

	// The same fault with a non-canonical address in rdi is consistent and
	// adjusted.
	info = crashinfo.Analyze(windowsAV(t, 0, ^uint64(0), 0x8000000020000010, heap, guard))
	assert.Equal(t, []string{}, info.Inconsistencies)
	assert.Equal(t, &crashinfo.Adjusted{NonCanonical: true, Address: 0x8000000020000010}, info.Adjusted)
}
