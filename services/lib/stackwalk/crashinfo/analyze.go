// Package crashinfo derives the crash_info fields that come from the
// faulting instruction and the process's memory map, as minidump-stackwalk
// 0.27 computes them: the instruction text, the memory it accesses, where
// it moves the instruction pointer, the real address behind a disguised
// null pointer or a non-canonical amd64 address, and addresses one flipped
// bit away from the crash address that would have been valid.
//
// The instruction is decoded with golang.org/x/arch's x86asm and printed
// in the syntax of minidump-stackwalk's decoder (see formatX86). Like
// minidump-stackwalk, only amd64 instructions are analysed: for x86, arm
// and arm64 dumps instruction, memory_accesses and
// instruction_pointer_update stay null, and bit flips are looked for only
// on 64-bit CPUs other than arm64 (minidump-stackwalk skips arm64 because,
// without its disassembly, near-null register+offset crashes give false
// positives).
//
// Everything read here comes from the dump: instruction bytes, registers
// and memory regions are bounded by the dump's own size, the decoder reads
// at most 15 bytes, and no path panics on hostile values (FuzzAnalyze).
package crashinfo

import (
	"sort"

	"golang.org/x/arch/x86/x86asm"

	"github.com/crashstream/crashstream/services/lib/minidump"
)

// AccessType is the direction of a memory access. minidump-stackwalk
// derives it only for the instructions most often seen in crashes; for the
// others it is Underivable and JSON omits it.
type AccessType uint8

// Access types.
const (
	Underivable AccessType = iota
	Read
	Write
	ReadWrite
)

// String is the JSON spelling ("read", "write", "readwrite").
func (t AccessType) String() string {
	switch t {
	case Read:
		return "read"
	case Write:
		return "write"
	case ReadWrite:
		return "readwrite"
	}
	return ""
}

// Access is one memory access of the faulting instruction.
type Access struct {
	Address uint64
	// Size in bytes, 0 when the decoder does not know it.
	Size int
	Type AccessType
	// NullBase: the address register held 0, so the access is a null
	// pointer plus an offset.
	NullBase  bool
	GuardPage bool
}

// IPUpdate is where the faulting instruction moves the instruction pointer.
type IPUpdate struct {
	Address   uint64
	GuardPage bool
}

// Adjusted is crash_info.adjusted_address.
type Adjusted struct {
	// NonCanonical: Address is the non-canonical address the instruction
	// used (the OS reports 0 or all ones); otherwise Address is the offset
	// from a null pointer.
	NonCanonical bool
	Address      uint64
}

// BitFlip is a valid address one bit away from the crash address (or from
// a register the instruction used).
type BitFlip struct {
	Address uint64
	// Register names the register that held the flipped value ("" for the
	// crash address itself).
	Register        string
	WasNonCanonical bool
	IsNull          bool
	WasLow          bool
	NearbyRegisters uint32
	PoisonRegisters bool
	Confidence      float32
}

// Info is the analysis of a dump's exception.
type Info struct {
	// Instruction is the faulting instruction's text ("" when it could
	// not be read or decoded).
	Instruction string
	// Accesses is nil when the accesses could not be determined (no
	// instruction, or a register it uses is not in the context), empty
	// when the instruction accesses no memory.
	Accesses []Access
	// IPUpdate is nil when the instruction does not move the instruction
	// pointer or where it goes is unknown.
	IPUpdate *IPUpdate
	Adjusted *Adjusted
	BitFlips []BitFlip
	// Inconsistencies lists contradictions between the crash reason and
	// the instruction (minidump-stackwalk's crash_inconsistencies).
	Inconsistencies []string
}

// Analyze analyses the exception of d. It returns nil when the dump has no
// exception stream.
func Analyze(d *minidump.Dump) *Info {
	if d.Exception == nil {
		return nil
	}
	info := &Info{Inconsistencies: []string{}}
	ctx := d.Exception.Context
	address := d.CrashAddress()
	reason := d.CrashReason()
	arch := ""
	if d.SystemInfo != nil {
		arch = d.SystemInfo.CPUArch()
	}
	var regs []string
	var props instProps
	ipKnown := false
	if ctx != nil && arch == "amd64" {
		if text, ok := endbrAt(d, ctx.IP()); ok {
			info.Instruction, info.Accesses, ipKnown = text, []Access{}, true
			props = instProps{decoded: true}
		} else if in, ok := decodeAt(d, ctx.IP()); ok {
			info.Instruction = formatX86(&in)
			props = properties(&in)
			info.Accesses = accesses(&in, ctx)
			info.IPUpdate, ipKnown = ipUpdate(d, &in, ctx)
			regs = addressRegisters(&in)
			info.Adjusted = adjust(d, info, reason, address)
		}
	}
	maps := memoryMap(d)
	if len(info.Accesses) > 0 && len(maps.regions) > 0 {
		for i := range info.Accesses {
			info.Accesses[i].GuardPage = maps.guardPage(info.Accesses[i].Address)
		}
	}
	info.BitFlips = bitFlips(d, info, ctx, regs, maps, reason, address)
	info.Inconsistencies = inconsistencies(d, info, props, ipKnown, ctx, maps, reason, address)
	return info
}

// maxInstruction is the longest x86 instruction.
const maxInstruction = 15

// endbrAt reports an endbr instruction at ip.
func endbrAt(d *minidump.Dump, ip uint64) (string, bool) {
	r, ok := d.Memory.Region(ip)
	if !ok {
		return "", false
	}
	return endbr(r.Data[ip-r.Base:])
}

// decodeAt decodes the amd64 instruction at ip from the dump's memory.
func decodeAt(d *minidump.Dump, ip uint64) (x86asm.Inst, bool) {
	r, ok := d.Memory.Region(ip)
	if !ok {
		return x86asm.Inst{}, false
	}
	b := r.Data[ip-r.Base:]
	if len(b) > maxInstruction {
		b = b[:maxInstruction]
	}
	in, err := x86asm.Decode(b, 64)
	if err != nil || in.Op == 0 {
		return x86asm.Inst{}, false
	}
	fixVEXRipRelative(b, &in)
	return in, true
}

// fixVEXRipRelative restores the rip base of a VEX or EVEX encoded
// rip-relative memory operand, which x86asm decodes as an absolute
// displacement (legacy encodings it decodes correctly).
func fixVEXRipRelative(b []byte, in *x86asm.Inst) {
	i := 0
	for i < len(b) && i < maxInstruction {
		switch b[i] {
		case 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3:
			i++
			continue
		}
		break
	}
	modrm := -1
	if i < len(b) {
		switch b[i] {
		case 0xc5:
			modrm = i + 3
		case 0xc4:
			modrm = i + 4
		case 0x62:
			modrm = i + 5
		}
	}
	if modrm < 0 || modrm >= len(b) || b[modrm]>>6 != 0 || b[modrm]&7 != 5 {
		return
	}
	for j, a := range in.Args {
		if m, ok := a.(x86asm.Mem); ok && m.Base == 0 && m.Index == 0 {
			m.Base = x86asm.RIP
			in.Args[j] = m
		}
	}
}

// endbr is the CET branch target marker (endbr64 / endbr32), which starts
// most functions of current distributions and which x86asm does not
// decode; it accesses no memory and does not branch.
func endbr(b []byte) (string, bool) {
	if len(b) >= 4 && b[0] == 0xf3 && b[1] == 0x0f && b[2] == 0x1e {
		switch b[3] {
		case 0xfa:
			return "endbr64", true
		case 0xfb:
			return "endbr32", true
		}
	}
	return "", false
}

// derivable are the opcodes whose access directions minidump-stackwalk
// knows; others get Underivable accesses and no implicit stack access.
func derivable(op x86asm.Op) bool {
	switch op {
	case x86asm.ADD, x86asm.CALL, x86asm.CMP, x86asm.DEC, x86asm.INC, x86asm.JMP, x86asm.LJMP,
		x86asm.JO, x86asm.JNO, x86asm.JB, x86asm.JAE, x86asm.JE, x86asm.JNE, x86asm.JA, x86asm.JBE,
		x86asm.JS, x86asm.JNS, x86asm.JP, x86asm.JNP, x86asm.JL, x86asm.JGE, x86asm.JG, x86asm.JLE,
		x86asm.LEA, x86asm.MOV, x86asm.MOVAPS, x86asm.MOVUPS, x86asm.POP, x86asm.PUSH,
		x86asm.LRET, x86asm.RET, x86asm.SUB, x86asm.UCOMISS:
		return true
	}
	return false
}

// instProps are the instruction facts the consistency checks use.
type instProps struct {
	decoded    bool
	derivable  bool
	division   bool
	privileged bool
	// onlyGPFWhenNonCanonical: the instruction raises a general protection
	// fault only for a non-canonical address (any derivable opcode but
	// movaps, which also faults on a misaligned one).
	onlyGPFWhenNonCanonical bool
}

func properties(in *x86asm.Inst) instProps {
	der := derivable(in.Op)
	return instProps{decoded: true, derivable: der,
		division: in.Op == x86asm.DIV || in.Op == x86asm.IDIV, privileged: privileged(in.Op),
		onlyGPFWhenNonCanonical: der && in.Op != x86asm.MOVAPS}
}

// privileged lists the instructions minidump-stackwalk takes as possibly
// privileged (mov included, for moves to control registers).
func privileged(op x86asm.Op) bool {
	switch op {
	case x86asm.CLI, x86asm.CLTS, x86asm.HLT, x86asm.IN, x86asm.INSB, x86asm.INSW, x86asm.INSD, x86asm.INT, x86asm.INTO,
		x86asm.INVD, x86asm.INVLPG, x86asm.IRET, x86asm.IRETD, x86asm.IRETQ, x86asm.LGDT, x86asm.LIDT, x86asm.LLDT,
		x86asm.LMSW, x86asm.LTR, x86asm.MONITOR, x86asm.MOV, x86asm.MWAIT, x86asm.OUT, x86asm.OUTSB, x86asm.OUTSW,
		x86asm.OUTSD, x86asm.RDMSR, x86asm.RDPMC, x86asm.RDTSC, x86asm.RDTSCP, x86asm.LRET, x86asm.STI, x86asm.SWAPGS,
		x86asm.SYSEXIT, x86asm.SYSRET, x86asm.WBINVD, x86asm.WRMSR, x86asm.XSETBV:
		return true
	}
	return false
}

// accessSize is the size minidump-stackwalk's decoder gives the
// instruction's memory access: the operand's size, or 8 for the stack
// slot of push, pop, call and ret. ok is false when the instruction
// touches no memory.
func accessSize(in *x86asm.Inst) (size int, ok bool) {
	for _, a := range in.Args {
		if a == nil {
			break
		}
		if _, isMem := a.(x86asm.Mem); isMem {
			return memBytes(in), true
		}
	}
	switch in.Op {
	case x86asm.PUSH, x86asm.POP, x86asm.CALL, x86asm.RET, x86asm.LRET:
		return 8, true
	}
	return 0, false
}

// accesses lists the memory the instruction reads or writes, computed from
// the context's registers. It returns nil when a register the address
// needs is not valid in the context.
func accesses(in *x86asm.Inst, ctx *minidump.Context) []Access {
	out := []Access{}
	size, touches := accessSize(in)
	if !touches {
		return out
	}
	der := derivable(in.Op)
	for i, a := range in.Args {
		if a == nil {
			break
		}
		m, isMem := a.(x86asm.Mem)
		if !isMem {
			continue
		}
		if der && in.Op == x86asm.LEA {
			continue
		}
		addr, null, ok := effectiveAddress(m, ctx)
		if !ok {
			return nil
		}
		t := Underivable
		if der {
			t = directionOf(in, i)
		}
		out = append(out, Access{Address: addr, Size: size, Type: t, NullBase: null})
	}
	if der {
		rsp, ok := ctx.Get("rsp")
		switch in.Op {
		case x86asm.CALL, x86asm.PUSH:
			if ok {
				// The stack pointer is not yet lowered when call or push
				// faults; the slot written is 8 below it.
				out = append(out, Access{Address: rsp - 8, Size: size, Type: Write, NullBase: rsp-8 == 0})
			}
		case x86asm.POP, x86asm.LRET, x86asm.RET:
			if ok {
				out = append(out, Access{Address: rsp, Size: size, Type: Read, NullBase: rsp == 0})
			}
		}
	}
	return out
}

// directionOf is the access direction of operand i of a derivable opcode.
func directionOf(in *x86asm.Inst, i int) AccessType {
	switch in.Op {
	case x86asm.ADD, x86asm.SUB:
		if i == 0 {
			return ReadWrite
		}
		return Read
	case x86asm.DEC, x86asm.INC:
		return ReadWrite
	case x86asm.POP:
		return Write
	case x86asm.MOV, x86asm.MOVAPS, x86asm.MOVUPS:
		if i == 0 {
			return Write
		}
		return Read
	}
	return Read // call, jmp, push, cmp, ucomiss
}

// effectiveAddress computes base + index*scale + disp from the context.
// A rip-relative operand uses the faulting instruction's own address, as
// minidump-stackwalk does. null reports a base register holding 0.
func effectiveAddress(m x86asm.Mem, ctx *minidump.Context) (addr uint64, null, ok bool) {
	if m.Base != 0 {
		v, ok := regValue(ctx, m.Base)
		if !ok {
			return 0, false, false
		}
		addr = v
		null = v == 0
	}
	if m.Index != 0 {
		v, ok := regValue(ctx, m.Index)
		if !ok {
			return 0, false, false
		}
		scale := uint64(m.Scale)
		if scale == 0 {
			scale = 1
		}
		addr += v * scale
	}
	addr += uint64(m.Disp)
	return addr, null, true
}

// regValue reads a register by its yaxpeax name; like minidump-stackwalk,
// only full 64-bit registers (and rip) are in the context, so a 32-bit
// address register makes the address unknown.
func regValue(ctx *minidump.Context, r x86asm.Reg) (uint64, bool) {
	return ctx.Get(regName(r))
}

// addressRegisters lists, sorted, the registers used to form memory
// addresses (bit flips are also looked for in them).
func addressRegisters(in *x86asm.Inst) []string {
	seen := map[string]bool{}
	for _, a := range in.Args {
		if a == nil {
			break
		}
		if m, ok := a.(x86asm.Mem); ok {
			if m.Base != 0 {
				seen[regName(m.Base)] = true
			}
			if m.Index != 0 {
				seen[regName(m.Index)] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for r := range seen {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// ipUpdate is where a call, jump or return sends the instruction pointer,
// when it can be read from registers and memory. known is false when that
// could not be determined (conditional jumps, unreadable targets); for any
// other instruction the answer is known: no update. Relative branches are
// not reported (their target is assumed valid).
func ipUpdate(d *minidump.Dump, in *x86asm.Inst, ctx *minidump.Context) (u *IPUpdate, known bool) {
	switch in.Op {
	case x86asm.CALL, x86asm.LCALL, x86asm.JMP, x86asm.LJMP:
		switch a := in.Args[0].(type) {
		case x86asm.Reg:
			if v, ok := regValue(ctx, a); ok {
				return &IPUpdate{Address: v}, true
			}
		case x86asm.Mem:
			addr, _, ok := effectiveAddress(a, ctx)
			if !ok {
				return nil, false
			}
			if v, ok := d.Memory.U64(addr); ok {
				return &IPUpdate{Address: v}, true
			}
		}
		return nil, false
	case x86asm.RET, x86asm.LRET, x86asm.IRET, x86asm.IRETD, x86asm.IRETQ:
		rsp, ok := ctx.Get("rsp")
		if !ok {
			return nil, false
		}
		if t := crashingThread(d); t != nil && t.Stack.Data != nil {
			if v, ok := t.Stack.U64(rsp); ok {
				return &IPUpdate{Address: v}, true
			}
		}
		return nil, false
	case x86asm.JO, x86asm.JNO, x86asm.JB, x86asm.JAE, x86asm.JE, x86asm.JNE, x86asm.JA, x86asm.JBE,
		x86asm.JS, x86asm.JNS, x86asm.JP, x86asm.JNP, x86asm.JL, x86asm.JGE, x86asm.JG, x86asm.JLE:
		return nil, false
	}
	return nil, true
}

func crashingThread(d *minidump.Dump) *minidump.Thread {
	for i := range d.Threads {
		if d.Threads[i].ID == d.Exception.ThreadID {
			return &d.Threads[i]
		}
	}
	return nil
}

// nonCanonical is the range of non-canonical amd64 addresses (48-bit).
const (
	nonCanonicalLo = 0x0000_8000_0000_0000
	nonCanonicalHi = 0xffff_7fff_ffff_ffff
)

func isNonCanonical(a uint64) bool { return a >= nonCanonicalLo && a <= nonCanonicalHi }

// adjust finds the address the OS could not report: a null base register
// plus an offset first, else the non-canonical address behind a general
// protection fault.
func adjust(d *minidump.Dump, info *Info, reason string, address uint64) *Adjusted {
	if info.Accesses == nil {
		return nil
	}
	for _, a := range info.Accesses {
		if a.NullBase {
			return &Adjusted{Address: a.Address}
		}
	}
	if info.IPUpdate != nil && info.IPUpdate.Address == 0 {
		return &Adjusted{Address: 0}
	}
	if !nonCanonicalFault(d, reason, address) {
		return nil
	}
	for _, a := range info.Accesses {
		if isNonCanonical(a.Address) {
			return &Adjusted{NonCanonical: true, Address: a.Address}
		}
	}
	if info.IPUpdate != nil && isNonCanonical(info.IPUpdate.Address) {
		return &Adjusted{NonCanonical: true, Address: info.IPUpdate.Address}
	}
	return nil
}

// nonCanonicalFault reports how each OS reports a general protection
// fault from a non-canonical address.
func nonCanonicalFault(d *minidump.Dump, reason string, address uint64) bool {
	switch d.SystemInfo.OS() {
	case "Windows NT":
		return reason == "EXCEPTION_ACCESS_VIOLATION_READ" && address == ^uint64(0)
	case "Mac OS X":
		return reason == "EXC_BAD_ACCESS / EXC_I386_GPFLT" && address == 0
	case "Linux":
		return (reason == "SIGSEGV / SI_KERNEL" || reason == "SIGBUS / SI_KERNEL") && address == 0
	}
	return false
}

// memoryOp is the access the crash reason names (Windows access
// violations), "" when unknown.
func memoryOp(reason string) string {
	switch reason {
	case "EXCEPTION_ACCESS_VIOLATION_READ":
		return "r"
	case "EXCEPTION_ACCESS_VIOLATION_WRITE":
		return "w"
	case "EXCEPTION_ACCESS_VIOLATION_EXEC":
		return "x"
	}
	return ""
}
