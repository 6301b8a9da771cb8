package synth

import (
	"encoding/binary"
	"strconv"

	"github.com/crashstream/crashstream/services/lib/minidump"
)

// Context flag bits written with every context: CONTROL|INTEGER (and
// SEGMENTS on x86) so readers treat the registers as present.
const (
	x86Flags      = minidump.ContextX86 | 0x7
	amd64Flags    = minidump.ContextAMD64 | 0x3
	armFlags      = minidump.ContextARM | 0x2
	arm64Flags    = minidump.ContextARM64 | 0x3
	arm64OldFlags = minidump.ContextARM64Old | 0x3
)

// EncodeContext serializes a context in the record layout of its
// architecture (Microsoft layout for arm64). Invalid registers are
// written as zero.
func EncodeContext(c *minidump.Context) []byte {
	le := binary.LittleEndian
	get := func(name string) uint64 { v, _ := c.Get(name); return v }
	switch c.Arch {
	case minidump.ArchX86:
		p := make([]byte, minidump.ContextX86Size)
		le.PutUint32(p[0:], x86Flags)
		for name, off := range map[string]int{"edi": 156, "esi": 160, "ebx": 164, "edx": 168, "ecx": 172,
			"eax": 176, "ebp": 180, "eip": 184, "eflags": 192, "esp": 196} {
			le.PutUint32(p[off:], uint32(get(name)))
		}
		return p
	case minidump.ArchAMD64:
		p := make([]byte, minidump.ContextAMD64Size)
		le.PutUint32(p[48:], amd64Flags)
		for i, name := range []string{"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
			"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip"} {
			le.PutUint64(p[120+8*i:], get(name))
		}
		return p
	case minidump.ArchARM:
		p := make([]byte, minidump.ContextARMSize)
		le.PutUint32(p[0:], armFlags)
		for i := range 16 {
			le.PutUint32(p[4+4*i:], uint32(get(armRegName(i))))
		}
		return p
	case minidump.ArchARM64:
		p := make([]byte, minidump.ContextARM64Size)
		le.PutUint32(p[0:], arm64Flags)
		writeARM64GPRs(p, get)
		return p
	}
	return nil
}

// EncodeContextARM64Old serializes an arm64 context in Breakpad's older
// layout (u64 flags, 796 bytes), read with SystemInfo arch 0x8003.
func EncodeContextARM64Old(c *minidump.Context) []byte {
	get := func(name string) uint64 { v, _ := c.Get(name); return v }
	p := make([]byte, minidump.ContextARM64OldSize)
	binary.LittleEndian.PutUint64(p[0:], uint64(arm64OldFlags))
	writeARM64GPRs(p, get)
	return p
}

func writeARM64GPRs(p []byte, get func(string) uint64) {
	for i, name := range minidump.RegisterNames(minidump.ArchARM64) {
		binary.LittleEndian.PutUint64(p[8+8*i:], get(name))
	}
}

func armRegName(i int) string {
	switch i {
	case 11:
		return "fp"
	case 13:
		return "sp"
	case 14:
		return "lr"
	case 15:
		return "pc"
	}
	return "r" + strconv.Itoa(i)
}
