package symbols

import (
	"errors"
	"strconv"
	"strings"
)

// Machine is what the unwind-rule evaluators may read of the frame being
// unwound: the callee's registers and the thread's stack memory. Both
// answer ok=false for values the dump does not have.
type Machine interface {
	// Register returns a callee register by its .sym name without '$'
	// ("rsp", "eip", "x29").
	Register(name string) (uint64, bool)
	// ReadWord reads one pointer-sized little-endian word of stack memory.
	ReadWord(addr uint64) (uint64, bool)
}

// RegValue is one recovered caller register.
type RegValue struct {
	Name  string
	Value uint64
	// Valid is false when the rule for this register could not be evaluated:
	// the caller's value is unknown and must not be forwarded from the callee.
	Valid bool
}

// CFIResult is the caller's state recovered by STACK CFI rules.
type CFIResult struct {
	// CFA becomes the caller's stack pointer; RA its instruction pointer.
	CFA, RA uint64
	// Regs are the other registers the rules mention, in first-mention order.
	Regs []RegValue
}

// ErrCFI reports rules that cannot be evaluated (malformed, or needing a
// value the dump lacks). Unwinders treat it as "no CFI here".
var ErrCFI = errors.New("cfi: cannot evaluate rules")

// maxRuleTokens bounds the work one rule set may ask for.
const maxRuleTokens = 4096

// EvalCFI evaluates STACK CFI rule texts (the INIT row first, then the delta
// rows that apply; later rules for a register override earlier ones).
// .cfa is computed first, without itself; then .ra and every other register
// with .cfa available. Arithmetic wraps at 64 bits; a walker for a 32-bit
// CPU truncates the results.
func EvalCFI(rules []string, m Machine) (CFIResult, error) {
	type rule struct{ reg, expr string }
	var ordered []rule
	set := func(reg, expr string) {
		for i := range ordered {
			if ordered[i].reg == reg {
				ordered[i].expr = expr
				return
			}
		}
		ordered = append(ordered, rule{reg, expr})
	}
	ntok := 0
	for _, text := range rules {
		reg, haveReg := "", false
		start, end := -1, -1
		i := 0
		for i < len(text) {
			for i < len(text) && isASCIISpace(text[i]) {
				i++
			}
			if i >= len(text) {
				break
			}
			j := i
			for j < len(text) && !isASCIISpace(text[j]) {
				j++
			}
			tok := text[i:j]
			if ntok++; ntok > maxRuleTokens {
				return CFIResult{}, ErrCFI
			}
			if strings.HasSuffix(tok, ":") {
				if haveReg {
					if start < 0 {
						return CFIResult{}, ErrCFI
					}
					set(reg, text[start:end])
				}
				reg, haveReg = strings.TrimPrefix(tok[:len(tok)-1], "$"), true
				start, end = -1, -1
			} else {
				if !haveReg {
					return CFIResult{}, ErrCFI
				}
				if start < 0 {
					start = i
				}
				end = j
			}
			i = j
		}
		if !haveReg || start < 0 {
			return CFIResult{}, ErrCFI
		}
		set(reg, text[start:end])
	}
	var cfaExpr, raExpr string
	var haveCFA, haveRA bool
	for _, r := range ordered {
		switch r.reg {
		case ".cfa":
			cfaExpr, haveCFA = r.expr, true
		case ".ra":
			raExpr, haveRA = r.expr, true
		}
	}
	if !haveCFA || !haveRA {
		return CFIResult{}, ErrCFI
	}
	var res CFIResult
	var ok bool
	if res.CFA, ok = evalPostfix(cfaExpr, m, 0, false); !ok {
		return CFIResult{}, ErrCFI
	}
	if res.RA, ok = evalPostfix(raExpr, m, res.CFA, true); !ok {
		return CFIResult{}, ErrCFI
	}
	for _, r := range ordered {
		if r.reg == ".cfa" || r.reg == ".ra" {
			continue
		}
		v, ok := evalPostfix(r.expr, m, res.CFA, true)
		res.Regs = append(res.Regs, RegValue{Name: r.reg, Value: v, Valid: ok})
	}
	return res, nil
}

func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

// evalPostfix evaluates one postfix expression of STACK CFI.
func evalPostfix(expr string, m Machine, cfa uint64, haveCFA bool) (uint64, bool) {
	var stackBuf [16]uint64
	stack := stackBuf[:0]
	pop2 := func() (uint64, uint64, bool) {
		if len(stack) < 2 {
			return 0, 0, false
		}
		a, b := stack[len(stack)-2], stack[len(stack)-1]
		stack = stack[:len(stack)-2]
		return a, b, true
	}
	for _, tok := range strings.Fields(expr) {
		switch tok {
		case "+", "-", "*", "/", "%", "@":
			lhs, rhs, ok := pop2()
			if !ok {
				return 0, false
			}
			v, ok := arith(tok[0], lhs, rhs)
			if !ok {
				return 0, false
			}
			stack = append(stack, v)
		case "^":
			if len(stack) < 1 {
				return 0, false
			}
			v, ok := m.ReadWord(stack[len(stack)-1])
			if !ok {
				return 0, false
			}
			stack[len(stack)-1] = v
		case ".cfa":
			if !haveCFA {
				return 0, false
			}
			stack = append(stack, cfa)
		case ".undef":
			return 0, false
		default:
			if i := strings.IndexByte(tok, '$'); i >= 0 {
				v, ok := m.Register(tok[i+1:])
				if !ok {
					return 0, false
				}
				stack = append(stack, v)
			} else if n, err := strconv.ParseInt(tok, 10, 64); err == nil {
				stack = append(stack, uint64(n))
			} else if v, ok := m.Register(tok); ok {
				// ARM rules name registers without '$'.
				stack = append(stack, v)
			} else {
				return 0, false
			}
		}
	}
	if len(stack) != 1 {
		return 0, false
	}
	return stack[0], true
}

// arith applies one postfix operator of a CFI rule (STACK CFI on 64-bit
// words, STACK WIN on 32-bit ones) with Breakpad's semantics: wrapping
// arithmetic, no division by zero, and '@' aligning lhs down to rhs, a
// power of two.
func arith[W uint32 | uint64](op byte, lhs, rhs W) (W, bool) {
	switch op {
	case '+':
		return lhs + rhs, true
	case '-':
		return lhs - rhs, true
	case '*':
		return lhs * rhs, true
	case '/':
		if rhs == 0 {
			return 0, false
		}
		return lhs / rhs, true
	case '%':
		if rhs == 0 {
			return 0, false
		}
		return lhs % rhs, true
	case '@':
		if rhs == 0 || rhs&(rhs-1) != 0 {
			return 0, false
		}
		return lhs &^ (rhs - 1), true
	}
	return 0, false
}

// WinInput is the state a STACK WIN rule starts from.
type WinInput struct {
	ESP, EBP uint32
	EBX      uint32
	HasEBX   bool
	// GrandCalleeParamSize is the parameter size of the frame below the
	// callee (0 for the innermost frames): it is part of the callee's frame.
	GrandCalleeParamSize uint32
	// HasGrandCallee is false when the callee is the context frame; EIP is
	// the callee's instruction pointer. FPO uses both to skip a leftover
	// return address of a frame-pointer-optimized system call.
	HasGrandCallee bool
	EIP            uint32
}

// WinResult is the caller's state recovered by a STACK WIN record: the
// registers named in Set were recovered.
type WinResult struct {
	EIP, ESP, EBP, EBX, ESI, EDI uint32
	Set                          WinRegs
}

// WinRegs is a set of the x86 registers STACK WIN can recover.
type WinRegs uint8

// The registers a STACK WIN rule may recover.
const (
	WinEIP WinRegs = 1 << iota
	WinESP
	WinEBP
	WinEBX
	WinESI
	WinEDI
)

// ErrWin reports a STACK WIN record that cannot be evaluated here.
var ErrWin = errors.New("stack win: cannot evaluate")

// EvalWin recovers the caller of an x86 frame from a STACK WIN record:
// type 4 runs its program string; type 0 (FPO) uses the fixed frame layout.
// Memory reads are 32-bit words.
func EvalWin(w WinInfo, in WinInput, m Machine) (WinResult, error) {
	frameSize := w.LocalsSize + w.SavedRegsSize + in.GrandCalleeParamSize
	if w.Type == 4 {
		return evalWinProgram(w, in, frameSize, m)
	}
	var out WinResult
	eipAddr := uint64(in.ESP) + uint64(frameSize)
	eip, ok := m.ReadWord(eipAddr)
	if !ok {
		return WinResult{}, ErrWin
	}
	if !in.HasGrandCallee && uint32(eip) == in.EIP {
		eipAddr += 4
		if eip, ok = m.ReadWord(eipAddr); !ok {
			return WinResult{}, ErrWin
		}
	}
	out.EIP = uint32(eip)
	out.ESP = uint32(eipAddr + 4)
	out.Set = WinEIP | WinESP | WinEBP
	if w.AllocatesBasePtr {
		bp, ok := m.ReadWord(uint64(in.ESP) + uint64(in.GrandCalleeParamSize) + uint64(w.SavedRegsSize) - 8)
		if !ok {
			return WinResult{}, ErrWin
		}
		out.EBP = uint32(bp)
	} else {
		// Breakpad forwards ebx through frames that do not touch ebp: simple
		// forwarding functions commonly leave it unmodified.
		out.EBP = in.EBP
		if in.HasEBX {
			out.EBX = in.EBX
			out.Set |= WinEBX
		}
	}
	return out, nil
}

// winVar is a STACK WIN program variable.
type winVar struct {
	name string
	val  uint32
}

type winVal struct {
	name  string // variable reference when isVar
	val   uint32
	isVar bool
	undef bool
}

func evalWinProgram(w WinInfo, in WinInput, frameSize uint32, m Machine) (WinResult, error) {
	// An aligned frame ('@' in the program) cannot trust esp: the return
	// address sits right above the saved ebp instead.
	var search uint64
	if strings.IndexByte(w.Program, '@') >= 0 {
		search = uint64(in.EBP) + 4
	} else {
		search = uint64(in.ESP) + uint64(frameSize)
	}
	if search > 0xffffffff {
		return WinResult{}, ErrWin
	}
	vars := []winVar{
		{"$esp", in.ESP}, {"$ebp", in.EBP},
		{".cbParams", w.ParamSize}, {".cbCalleeParams", in.GrandCalleeParamSize},
		{".cbSavedRegs", w.SavedRegsSize}, {".cbLocals", w.LocalsSize},
		{".raSearch", uint32(search)}, {".raSearchStart", uint32(search)},
	}
	if in.HasEBX {
		vars = append(vars, winVar{"$ebx", in.EBX})
	}
	get := func(name string) (uint32, bool) {
		for _, v := range vars {
			if v.name == name {
				return v.val, true
			}
		}
		return 0, false
	}
	setVar := func(name string, val uint32, undef bool) {
		for i, v := range vars {
			if v.name == name {
				if undef {
					vars = append(vars[:i], vars[i+1:]...)
				} else {
					vars[i].val = val
				}
				return
			}
		}
		if !undef {
			vars = append(vars, winVar{name, val})
		}
	}
	toInt := func(v winVal) (uint32, bool) {
		if v.undef {
			return 0, false
		}
		if v.isVar {
			return get(v.name)
		}
		return v.val, true
	}
	var stackBuf [16]winVal
	stack := stackBuf[:0]
	ntok := 0
	step := func(tok string) error {
		switch tok {
		case "+", "-", "*", "/", "%", "@":
			if len(stack) < 2 {
				return ErrWin
			}
			rhs, ok1 := toInt(stack[len(stack)-1])
			lhs, ok2 := toInt(stack[len(stack)-2])
			stack = stack[:len(stack)-2]
			if !ok1 || !ok2 {
				return ErrWin
			}
			v, ok := arith(tok[0], lhs, rhs)
			if !ok {
				return ErrWin
			}
			stack = append(stack, winVal{val: v})
		case "=":
			if len(stack) < 2 {
				return ErrWin
			}
			rhs, lhs := stack[len(stack)-1], stack[len(stack)-2]
			stack = stack[:len(stack)-2]
			if !lhs.isVar {
				return ErrWin
			}
			if rhs.undef {
				setVar(lhs.name, 0, true)
				return nil
			}
			v, ok := toInt(rhs)
			if !ok {
				return ErrWin
			}
			setVar(lhs.name, v, false)
		case "^":
			if len(stack) < 1 {
				return ErrWin
			}
			p, ok := toInt(stack[len(stack)-1])
			if !ok {
				return ErrWin
			}
			v, ok := m.ReadWord(uint64(p))
			if !ok {
				return ErrWin
			}
			stack[len(stack)-1] = winVal{val: uint32(v)}
		case ".undef":
			stack = append(stack, winVal{undef: true})
		default:
			if tok[0] == '$' || tok[0] == '.' {
				stack = append(stack, winVal{name: tok, isVar: true})
			} else if n, err := strconv.ParseInt(tok, 10, 32); err == nil {
				stack = append(stack, winVal{val: uint32(int32(n))})
			} else {
				return ErrWin
			}
		}

		return nil
	}
	for _, field := range strings.Fields(w.Program) {
		// Some Windows toolchains glue "=" to the next token ("=$eip").
		toks := [2]string{field}
		if len(field) > 1 && field[0] == '=' {
			toks = [2]string{"=", field[1:]}
		}
		for _, tok := range toks {
			if tok == "" {
				continue
			}
			if ntok++; ntok > maxRuleTokens {
				return WinResult{}, ErrWin
			}
			if err := step(tok); err != nil {
				return WinResult{}, err
			}
		}
	}
	var out WinResult
	regs := []struct {
		name string
		dst  *uint32
		bit  WinRegs
	}{
		{"$eip", &out.EIP, WinEIP}, {"$esp", &out.ESP, WinESP}, {"$ebp", &out.EBP, WinEBP},
		{"$ebx", &out.EBX, WinEBX}, {"$esi", &out.ESI, WinESI}, {"$edi", &out.EDI, WinEDI},
	}
	for _, r := range regs {
		if v, ok := get(r.name); ok {
			*r.dst = v
			out.Set |= r.bit
		}
	}
	return out, nil
}
