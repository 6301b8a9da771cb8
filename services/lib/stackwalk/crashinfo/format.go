package crashinfo

import (
	"strconv"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// formatX86 prints a decoded instruction in the Intel syntax of
// minidump-stackwalk's disassembler (yaxpeax-x86), which Socorro users read
// in crash_info.instruction: lowercase mnemonics, a size label before every
// memory operand ("dword [rax]"), hex numbers with a sign ("[rbp - 0x8]",
// "-0x1") and branch targets relative to the instruction ("$+0x10").
func formatX86(in *x86asm.Inst) string {
	var b strings.Builder
	for _, p := range in.Prefix {
		if p == 0 {
			break
		}
		if p&(x86asm.PrefixIgnored|x86asm.PrefixInvalid) != 0 {
			continue
		}
		switch p &^ x86asm.PrefixImplicit {
		case x86asm.PrefixLOCK:
			b.WriteString("lock ")
		case x86asm.PrefixREP:
			if stringOp(in.Op) {
				b.WriteString("rep ")
			}
		case x86asm.PrefixREPN:
			if stringOp(in.Op) {
				b.WriteString("repnz ")
			}
		}
	}
	b.WriteString(mnemonic(in.Op))
	args := operands(in)
	for i, a := range args {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteString(", ")
		}
		switch a := a.(type) {
		case x86asm.Reg:
			b.WriteString(regName(a))
		case x86asm.Mem:
			b.WriteString(memSizeLabel(memBytes(in)))
			if seg := segmentOverride(in, a); seg != "" {
				b.WriteString(" " + seg + ":")
			} else {
				b.WriteByte(' ')
			}
			writeMem(&b, a)
		case x86asm.Rel:
			// yaxpeax shows the encoded displacement, not the target.
			writeSigned(&b, "$", int64(a))
		case x86asm.Imm:
			writeImm(&b, in, i, int64(a))
		}
	}
	return b.String()
}

// operands lists the instruction's arguments in the order yaxpeax prints
// them: the memory operand of scas first, the accumulator of the short
// xchg first.
func operands(in *x86asm.Inst) []x86asm.Arg {
	var out []x86asm.Arg
	for _, a := range in.Args {
		if a == nil {
			break
		}
		out = append(out, a)
	}
	swap := false
	switch in.Op {
	case x86asm.SCASB, x86asm.SCASW, x86asm.SCASD, x86asm.SCASQ:
		swap = true
	case x86asm.XCHG:
		op := in.Opcode >> 24
		swap = op >= 0x91 && op <= 0x97 || op == 0x90 && in.Len > 1
	}
	if swap && len(out) == 2 {
		out[0], out[1] = out[1], out[0]
	}
	return x87Operands(in, out)
}

// x87Operands adds the implicit st(0) that yaxpeax prints: before the
// operand of loads, memory arithmetic and compares ("fld st(0), mword
// [rsp]", "fmul st(0), dword [rax]", "fucom st(0), st(3)"), after the
// operand of stores ("fstp st(1), st(0)", "fst qword [rax], st(0)").
func x87Operands(in *x86asm.Inst, args []x86asm.Arg) []x86asm.Arg {
	if len(args) != 1 {
		return args
	}
	_, isMem := args[0].(x86asm.Mem)
	switch in.Op {
	case x86asm.FLD, x86asm.FILD, x86asm.FBLD, x86asm.FCOM, x86asm.FCOMP, x86asm.FUCOM, x86asm.FUCOMP, x86asm.FXCH:
		return []x86asm.Arg{x86asm.F0, args[0]}
	case x86asm.FADD, x86asm.FMUL, x86asm.FSUB, x86asm.FSUBR, x86asm.FDIV, x86asm.FDIVR,
		x86asm.FIADD, x86asm.FIMUL, x86asm.FISUB, x86asm.FISUBR, x86asm.FIDIV, x86asm.FIDIVR, x86asm.FICOM, x86asm.FICOMP:
		if isMem {
			return []x86asm.Arg{x86asm.F0, args[0]}
		}
	case x86asm.FST, x86asm.FSTP, x86asm.FIST, x86asm.FISTP, x86asm.FISTTP, x86asm.FBSTP:
		return []x86asm.Arg{args[0], x86asm.F0}
	}
	return args
}

func writeMem(b *strings.Builder, m x86asm.Mem) {
	b.WriteByte('[')
	switch {
	case m.Base == 0 && m.Index == 0:
		// An absolute address: a sign-extended disp32 prints as 32 bits,
		// a moffs64 as 64.
		if m.Disp >= -1<<31 && m.Disp < 1<<31 {
			b.WriteString("0x" + strconv.FormatUint(uint64(uint32(m.Disp)), 16))
		} else {
			b.WriteString("0x" + strconv.FormatUint(uint64(m.Disp), 16))
		}
	default:
		if m.Base != 0 {
			b.WriteString(regName(m.Base))
		}
		if m.Index != 0 {
			if m.Base != 0 {
				b.WriteString(" + ")
			}
			b.WriteString(regName(m.Index))
			b.WriteString(" * ")
			scale := m.Scale
			if scale == 0 {
				scale = 1
			}
			b.WriteString(strconv.Itoa(int(scale)))
		}
		if m.Disp != 0 {
			if m.Disp < 0 {
				b.WriteString(" - 0x" + strconv.FormatUint(uint64(-m.Disp), 16))
			} else {
				b.WriteString(" + 0x" + strconv.FormatUint(uint64(m.Disp), 16))
			}
		}
	}
	b.WriteByte(']')
}

// writeImm prints an immediate as yaxpeax does: immediates are signed
// ("cmp byte [rax], -0x6", "shl al, -0x6"), except those of int, in/out,
// enter, ret, moves of an 8-bit register (B0+r) and vector imm8s.
func writeImm(b *strings.Builder, in *x86asm.Inst, idx int, v int64) {
	if unsignedImm(in, idx) {
		bits := 8
		switch in.Op {
		case x86asm.RET, x86asm.LRET, x86asm.ENTER:
			bits = 16
			if in.Op == x86asm.ENTER && idx == 1 {
				bits = 8
			}
		}
		u := uint64(v) & (1<<bits - 1)
		b.WriteString("0x" + strconv.FormatUint(u, 16))
		return
	}
	if byteImmediate(in) && v >= 0x80 && v <= 0xff {
		v -= 0x100 // x86asm leaves some imm8 unextended; yaxpeax prints them signed
	}
	writeSigned(b, "", v)
}

// byteImmediate reports an instruction whose immediate is one byte: byte
// operations and the shift, rotate and bit-test counts.
func byteImmediate(in *x86asm.Inst) bool {
	switch in.Op {
	case x86asm.ROL, x86asm.ROR, x86asm.RCL, x86asm.RCR, x86asm.SHL, x86asm.SHR, x86asm.SAR,
		x86asm.BT, x86asm.BTS, x86asm.BTR, x86asm.BTC, x86asm.SHLD, x86asm.SHRD:
		return true
	}
	switch a := in.Args[0].(type) {
	case x86asm.Reg:
		return a >= x86asm.AL && a <= x86asm.R15B
	case x86asm.Mem:
		return in.MemBytes == 1
	}
	return false
}

func writeSigned(b *strings.Builder, prefix string, v int64) {
	b.WriteString(prefix)
	if v < 0 {
		b.WriteString("-0x" + strconv.FormatUint(uint64(-v), 16))
		return
	}
	if prefix != "" {
		b.WriteByte('+')
	}
	b.WriteString("0x" + strconv.FormatUint(uint64(v), 16))
}

func unsignedImm(in *x86asm.Inst, idx int) bool {
	switch in.Op {
	case x86asm.INT, x86asm.IN, x86asm.OUT, x86asm.ENTER, x86asm.RET, x86asm.LRET:
		return true
	case x86asm.MOV:
		// mov r8, imm8 (B0+r) is unsigned; mov r/m8, imm8 (C6) is signed.
		if r, ok := in.Args[0].(x86asm.Reg); ok && r >= x86asm.AL && r <= x86asm.R15B && in.Opcode>>24 != 0xc6 {
			return true
		}
	}
	// Vector instructions' imm8 (shuffles, compares, rounding) are unsigned.
	if idx >= 2 {
		if r, ok := in.Args[0].(x86asm.Reg); ok && (r >= x86asm.X0 && r <= x86asm.X15 || r >= x86asm.M0 && r <= x86asm.M7) {
			return true
		}
		if _, ok := in.Args[0].(x86asm.Mem); ok {
			if r, ok := in.Args[1].(x86asm.Reg); ok && r >= x86asm.X0 && r <= x86asm.X15 {
				return true
			}
		}
	}
	return false
}

// memBytes is the size of the instruction's memory operand (0 if none).
func memBytes(in *x86asm.Inst) int {
	if in.MemBytes != 0 {
		return in.MemBytes
	}
	switch in.Op {
	case x86asm.LEA:
		return in.DataSize / 8
	case x86asm.FLD, x86asm.FSTP, x86asm.FBLD, x86asm.FBSTP:
		// The 80-bit forms (m32fp and m64fp come with their size).
		return 10
	case x86asm.MOVSB, x86asm.STOSB, x86asm.LODSB, x86asm.SCASB, x86asm.CMPSB, x86asm.INSB, x86asm.OUTSB:
		return 1
	case x86asm.MOVSW, x86asm.STOSW, x86asm.LODSW, x86asm.SCASW, x86asm.CMPSW, x86asm.INSW, x86asm.OUTSW:
		return 2
	case x86asm.MOVSD, x86asm.STOSD, x86asm.LODSD, x86asm.SCASD, x86asm.CMPSD, x86asm.INSD, x86asm.OUTSD:
		return 4
	case x86asm.MOVSQ, x86asm.STOSQ, x86asm.LODSQ, x86asm.SCASQ, x86asm.CMPSQ:
		return 8
	}
	return 0
}

func memSizeLabel(n int) string {
	switch n {
	case 1:
		return "byte"
	case 2:
		return "word"
	case 4:
		return "dword"
	case 6:
		return "far"
	case 8:
		return "qword"
	case 10:
		return "mword"
	case 16:
		return "xmmword"
	case 32:
		return "ymmword"
	case 64:
		return "zmmword"
	}
	return "ptr"
}

// segmentOverride names a segment prefix applied to a memory operand. In
// 64-bit mode only fs and gs matter; string instructions name es/ds.
func segmentOverride(in *x86asm.Inst, m x86asm.Mem) string {
	if stringOp(in.Op) {
		if m.Segment != 0 && !isLods(in.Op) {
			return strings.ToLower(m.Segment.String())
		}
		return ""
	}
	switch m.Segment {
	case x86asm.FS:
		return "fs"
	case x86asm.GS:
		return "gs"
	}
	return ""
}

func isLods(op x86asm.Op) bool {
	return op == x86asm.LODSB || op == x86asm.LODSW || op == x86asm.LODSD || op == x86asm.LODSQ
}

func stringOp(op x86asm.Op) bool {
	switch op {
	case x86asm.MOVSB, x86asm.MOVSW, x86asm.MOVSD, x86asm.MOVSQ,
		x86asm.STOSB, x86asm.STOSW, x86asm.STOSD, x86asm.STOSQ,
		x86asm.LODSB, x86asm.LODSW, x86asm.LODSD, x86asm.LODSQ,
		x86asm.SCASB, x86asm.SCASW, x86asm.SCASD, x86asm.SCASQ,
		x86asm.CMPSB, x86asm.CMPSW, x86asm.CMPSD, x86asm.CMPSQ,
		x86asm.INSB, x86asm.INSW, x86asm.INSD, x86asm.OUTSB, x86asm.OUTSW, x86asm.OUTSD:
		return true
	}
	return false
}

// opNames holds the mnemonics yaxpeax spells differently from x86asm.
var opNames = map[x86asm.Op]string{
	x86asm.JAE: "jnb", x86asm.JBE: "jna", x86asm.JE: "jz", x86asm.JNE: "jnz",
	x86asm.CMOVAE: "cmovnb", x86asm.CMOVBE: "cmovna", x86asm.CMOVE: "cmovz", x86asm.CMOVNE: "cmovnz",
	x86asm.SETE: "setz", x86asm.SETNE: "setnz",
	x86asm.RET: "ret", x86asm.LRET: "retf", x86asm.LCALL: "callf", x86asm.LJMP: "jmpf",
	x86asm.MOVSD_XMM: "movsd", x86asm.CMPSD_XMM: "cmpsd",
	x86asm.MOVSB: "movs", x86asm.MOVSW: "movs", x86asm.MOVSD: "movs", x86asm.MOVSQ: "movs",
	x86asm.STOSB: "stos", x86asm.STOSW: "stos", x86asm.STOSD: "stos", x86asm.STOSQ: "stos",
	x86asm.LODSB: "lods", x86asm.LODSW: "lods", x86asm.LODSD: "lods", x86asm.LODSQ: "lods",
	x86asm.SCASB: "scas", x86asm.SCASW: "scas", x86asm.SCASD: "scas", x86asm.SCASQ: "scas",
	x86asm.CMPSB: "cmps", x86asm.CMPSW: "cmps", x86asm.CMPSD: "cmps", x86asm.CMPSQ: "cmps",
	x86asm.INSB: "ins", x86asm.INSW: "ins", x86asm.INSD: "ins",
	x86asm.OUTSB: "outs", x86asm.OUTSW: "outs", x86asm.OUTSD: "outs",
	x86asm.IRETD: "iretd", x86asm.IRETQ: "iretq",
	x86asm.XLATB: "xlat", x86asm.PUSHFQ: "pushf", x86asm.POPFQ: "popf",
	x86asm.FWAIT: "wait", x86asm.LOOPNE: "loopnz", x86asm.LOOPE: "loopz",
}

func mnemonic(op x86asm.Op) string {
	if s, ok := opNames[op]; ok {
		return s
	}
	return strings.ToLower(op.String())
}

// regName is yaxpeax's name of a register.
func regName(r x86asm.Reg) string {
	switch {
	case r >= x86asm.SPB && r <= x86asm.DIB:
		return [...]string{"spl", "bpl", "sil", "dil"}[r-x86asm.SPB]
	case r >= x86asm.R8L && r <= x86asm.R15L:
		return "r" + strconv.Itoa(int(r-x86asm.R8L)+8) + "d"
	case r >= x86asm.X0 && r <= x86asm.X31:
		return "xmm" + strconv.Itoa(int(r-x86asm.X0))
	case r >= x86asm.Y0 && r <= x86asm.Y31:
		return "ymm" + strconv.Itoa(int(r-x86asm.Y0))
	case r >= x86asm.Z0 && r <= x86asm.Z31:
		return "zmm" + strconv.Itoa(int(r-x86asm.Z0))
	case r >= x86asm.M0 && r <= x86asm.M7:
		return "mm" + strconv.Itoa(int(r-x86asm.M0))
	case r >= x86asm.F0 && r <= x86asm.F7:
		return "st(" + strconv.Itoa(int(r-x86asm.F0)) + ")"
	}
	return strings.ToLower(r.String())
}
