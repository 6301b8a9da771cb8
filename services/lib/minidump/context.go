package minidump

import (
	"encoding/binary"
	"fmt"
)

// Arch is a CPU architecture, named as minidump-stackwalk names it in
// system_info.cpu_arch.
type Arch string

// The architectures a Context can hold. Other SystemInfo architectures
// (ppc, sparc, mips) are named by SystemInfo.CPUArch but have no Context.
const (
	ArchX86   Arch = "x86"
	ArchAMD64 Arch = "amd64"
	ArchARM   Arch = "arm"
	ArchARM64 Arch = "arm64"
)

// Context flag CPU bits (the high bits of context_flags) identifying the
// layout a context record uses.
const (
	ContextX86      uint32 = 0x00010000
	ContextAMD64    uint32 = 0x00100000
	ContextARM      uint32 = 0x40000000
	ContextARM64    uint32 = 0x00400000
	ContextARM64Old uint32 = 0x80000000
)

// Sizes of the context records this package decodes and the synth package
// writes.
const (
	ContextX86Size      = 716
	ContextAMD64Size    = 1232
	ContextARMSize      = 368
	ContextARM64Size    = 912
	ContextARM64OldSize = 796
)

// maxRegs bounds the register file of every supported architecture
// (arm64: x0..x28, fp, lr, sp, pc = 33).
const maxRegs = 33

// Register names per architecture in minidump-stackwalk's order. These
// tables are read-only.
var (
	regsX86   = []string{"eip", "esp", "ebp", "ebx", "esi", "edi", "eax", "ecx", "edx", "eflags"}
	regsAMD64 = []string{"rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip"}
	regsARM   = []string{"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r12", "fp", "sp", "lr", "pc"}
	regsARM64 = []string{
		"x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
		"x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28",
		"fp", "lr", "sp", "pc",
	}
)

func archRegs(a Arch) []string {
	switch a {
	case ArchX86:
		return regsX86
	case ArchAMD64:
		return regsAMD64
	case ArchARM:
		return regsARM
	case ArchARM64:
		return regsARM64
	}
	return nil
}

// canonicalReg maps register aliases (arm r11/r13/r14/r15, arm64 x29/x30)
// to the name minidump-stackwalk prints.
func canonicalReg(a Arch, name string) string {
	switch a {
	case ArchARM:
		switch name {
		case "r11":
			return "fp"
		case "r13":
			return "sp"
		case "r14":
			return "lr"
		case "r15":
			return "pc"
		}
	case ArchARM64:
		switch name {
		case "x29":
			return "fp"
		case "x30":
			return "lr"
		}
	}
	return name
}

// Context is the general-purpose register state of one frame. It is a
// plain value: assigning it copies it, which is how a stack walker derives
// a caller's context from its callee's.
//
// A register is "valid" when its value is known. Contexts read from a dump
// have every register valid; a walker invalidates and re-sets registers
// for caller frames, and only valid registers are listed by Registers.
type Context struct {
	// Arch selects the register set.
	Arch Arch
	// Flags is the raw context_flags of the record (0 for built contexts).
	Flags uint32
	regs  [maxRegs]uint64
	valid uint64
}

// NewContext returns an empty context for arch with no valid register.
func NewContext(arch Arch) Context { return Context{Arch: arch} }

func (c *Context) index(name string) int {
	name = canonicalReg(c.Arch, name)
	for i, n := range archRegs(c.Arch) {
		if n == name {
			return i
		}
	}
	return -1
}

// Get returns a register's value and whether it is valid. Unknown names
// are never valid.
func (c *Context) Get(name string) (uint64, bool) {
	i := c.index(name)
	if i < 0 || c.valid&(1<<i) == 0 {
		return 0, false
	}
	return c.regs[i], true
}

// Set stores a register's value (truncated to the pointer width) and marks
// it valid. It reports false for a name the architecture lacks.
func (c *Context) Set(name string, v uint64) bool {
	i := c.index(name)
	if i < 0 {
		return false
	}
	if c.PointerSize() == 4 {
		v &= 0xffffffff
	}
	c.regs[i] = v
	c.valid |= 1 << i
	return true
}

// Unset marks one register unknown.
func (c *Context) Unset(name string) {
	if i := c.index(name); i >= 0 {
		c.valid &^= 1 << i
	}
}

// Invalidate marks every register unknown, keeping Arch.
func (c *Context) Invalidate() { c.valid = 0 }

// Valid reports whether a register is known.
func (c *Context) Valid(name string) bool {
	_, ok := c.Get(name)
	return ok
}

// Register is one named register value.
type Register struct {
	Name  string
	Value uint64
}

// Registers lists the valid registers in minidump-stackwalk's order.
func (c *Context) Registers() []Register {
	names := archRegs(c.Arch)
	out := make([]Register, 0, len(names))
	for i, n := range names {
		if c.valid&(1<<i) != 0 {
			out = append(out, Register{Name: n, Value: c.regs[i]})
		}
	}
	return out
}

// RegisterNames lists every register name of an architecture in
// minidump-stackwalk's order, valid or not.
func RegisterNames(a Arch) []string { return append([]string(nil), archRegs(a)...) }

// PointerSize is 4 on 32-bit architectures and 8 otherwise.
func (c *Context) PointerSize() int {
	if c.Arch == ArchX86 || c.Arch == ArchARM {
		return 4
	}
	return 8
}

// IPName is the instruction pointer's register name.
func (c *Context) IPName() string {
	switch c.Arch {
	case ArchX86:
		return "eip"
	case ArchAMD64:
		return "rip"
	}
	return "pc"
}

// SPName is the stack pointer's register name.
func (c *Context) SPName() string {
	switch c.Arch {
	case ArchX86:
		return "esp"
	case ArchAMD64:
		return "rsp"
	}
	return "sp"
}

// FPName is the frame pointer's register name.
func (c *Context) FPName() string {
	switch c.Arch {
	case ArchX86:
		return "ebp"
	case ArchAMD64:
		return "rbp"
	}
	return "fp"
}

// IP returns the instruction pointer (0 when unknown).
func (c *Context) IP() uint64 { v, _ := c.Get(c.IPName()); return v }

// SP returns the stack pointer (0 when unknown).
func (c *Context) SP() uint64 { v, _ := c.Get(c.SPName()); return v }

// FP returns the frame pointer (0 when unknown).
func (c *Context) FP() uint64 { v, _ := c.Get(c.FPName()); return v }

// Format renders a register as minidump-stackwalk does: 0x-prefixed
// lowercase hex padded to the pointer width. Invalid registers format as
// the empty string.
func (c *Context) Format(name string) string {
	v, ok := c.Get(name)
	if !ok {
		return ""
	}
	return fmt.Sprintf("0x%0*x", 2*c.PointerSize(), v)
}

// setAll stores values in table order and marks them all valid.
func (c *Context) setAll(vals ...uint64) {
	for i, v := range vals {
		c.regs[i] = v
		c.valid |= 1 << i
	}
}

// parseContext decodes a context record. arch is the SystemInfo's Arch, or
// "" when there is no SystemInfo, in which case the record size decides (as
// rust-minidump does).
func parseContext(p []byte, o binary.ByteOrder, arch Arch) (*Context, error) {
	if arch == "" {
		switch len(p) {
		case ContextX86Size:
			arch = ArchX86
		case ContextAMD64Size:
			arch = ArchAMD64
		case ContextARMSize:
			arch = ArchARM
		case ContextARM64Size, ContextARM64OldSize:
			arch = ArchARM64
		default:
			return nil, fmt.Errorf("context of %d bytes matches no known CPU", len(p))
		}
	}
	c := &cursor{b: p, o: o}
	ctx := &Context{Arch: arch}
	switch arch {
	case ArchX86:
		if len(p) < ContextX86Size {
			return nil, fmt.Errorf("x86 context: %d bytes, want %d", len(p), ContextX86Size)
		}
		ctx.Flags = c.u32()
		if ctx.Flags&0xffffff00 != ContextX86 {
			return nil, fmt.Errorf("x86 context: flags %#x lack the x86 bit", ctx.Flags)
		}
		c.off = 156
		edi, esi, ebx, edx, ecx, eax, ebp, eip := c.u32(), c.u32(), c.u32(), c.u32(), c.u32(), c.u32(), c.u32(), c.u32()
		c.skip(4) // cs
		eflags, esp := c.u32(), c.u32()
		ctx.setAll(uint64(eip), uint64(esp), uint64(ebp), uint64(ebx), uint64(esi), uint64(edi),
			uint64(eax), uint64(ecx), uint64(edx), uint64(eflags))
	case ArchAMD64:
		if len(p) < ContextAMD64Size {
			return nil, fmt.Errorf("amd64 context: %d bytes, want %d", len(p), ContextAMD64Size)
		}
		c.off = 48
		ctx.Flags = c.u32()
		if ctx.Flags&0xffffff00 != ContextAMD64 {
			return nil, fmt.Errorf("amd64 context: flags %#x lack the amd64 bit", ctx.Flags)
		}
		c.off = 120
		var r [17]uint64 // rax rcx rdx rbx rsp rbp rsi rdi r8..r15 rip (record order)
		for i := range r {
			r[i] = c.u64()
		}
		ctx.setAll(r[0], r[2], r[1], r[3], r[6], r[7], r[5], r[4],
			r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15], r[16])
	case ArchARM:
		if len(p) < ContextARMSize {
			return nil, fmt.Errorf("arm context: %d bytes, want %d", len(p), ContextARMSize)
		}
		ctx.Flags = c.u32()
		if ctx.Flags&0xffffff00 != ContextARM {
			return nil, fmt.Errorf("arm context: flags %#x lack the arm bit", ctx.Flags)
		}
		var r [16]uint64
		for i := range r {
			r[i] = uint64(c.u32())
		}
		// Table order: r0..r10, r12, fp(r11), sp(r13), lr(r14), pc(r15).
		ctx.setAll(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[12], r[11], r[13], r[14], r[15])
	case ArchARM64:
		if len(p) < 8 {
			return nil, fmt.Errorf("arm64 context: %d bytes", len(p))
		}
		ctx.Flags = c.u32()
		switch {
		case ctx.Flags&0xffffff00 == ContextARM64 && len(p) >= ContextARM64Size:
		case c.o.Uint64(p)&0xffffffff00000000 == 0 && ctx.Flags&0xffffff00 == ContextARM64Old && len(p) >= ContextARM64OldSize:
			// The old Breakpad layout has a u64 flags word; the general
			// registers sit at the same offsets as in the Microsoft layout.
		default:
			return nil, fmt.Errorf("arm64 context: flags %#x with %d bytes match neither layout", ctx.Flags, len(p))
		}
		c.off = 8
		var r [33]uint64 // x0..x28, fp, lr, sp, pc
		for i := range r {
			r[i] = c.u64()
		}
		ctx.setAll(r[:]...)
	default:
		return nil, fmt.Errorf("no context decoder for cpu %q", arch)
	}
	if c.bad {
		return nil, fmt.Errorf("%s context truncated", arch)
	}
	return ctx, nil
}
