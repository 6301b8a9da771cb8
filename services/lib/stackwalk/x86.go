package stackwalk

import (
	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/symbols"
)

// x86SavedRegs are the callee-saved registers forwarded to callers.
var x86SavedRegs = []string{"ebp", "ebx", "edi", "esi"}

func (w *walker) callerX86(callee, grand *Frame, st stack) (Frame, bool) {
	cc := &callee.Context
	// An unknown stack pointer compares as 0, as in minidump-stackwalk.
	calleeSP, _ := cc.Get("esp")
	f, ip, sp, ok := w.x86CFI(callee, grand, st)
	if !ok {
		f, ok = w.x86FramePointer(cc, st)
		ip, sp = f.Context.IP(), f.Context.SP()
	}
	if !ok {
		f, ok = w.x86Scan(callee, st)
		ip, sp = f.Context.IP(), f.Context.SP()
	}
	if !ok {
		return Frame{}, false
	}
	return finishCaller(f, ip, sp, calleeSP, 1)
}

// x86CFI unwinds with STACK WIN (FrameData, else FPO), falling back to
// STACK CFI. Like minidump-stackwalk, the result is not validated. ip and
// sp are the caller's raw values: a STACK WIN program that does not assign
// $eip leaves the callee's value in place.
func (w *walker) x86CFI(callee, grand *Frame, st stack) (Frame, uint64, uint64, bool) {
	cc := &callee.Context
	esp, ok := cc.Get("esp")
	if !ok {
		return Frame{}, 0, 0, false
	}
	mi := w.moduleAt(callee.Instruction)
	if mi < 0 {
		return Frame{}, 0, 0, false
	}
	sf := w.symbolsFor(mi)
	if sf == nil {
		return Frame{}, 0, 0, false
	}
	rel := callee.Instruction - w.d.Modules[mi].Base
	if win, ok := sf.FindWin(rel); ok {
		ebp, ok := cc.Get("ebp")
		if ok {
			eip, _ := cc.Get("eip")
			in := symbols.WinInput{ESP: uint32(esp), EBP: uint32(ebp), EIP: uint32(eip), HasGrandCallee: grand != nil}
			if grand != nil && grand.HasParamSize {
				in.GrandCalleeParamSize = grand.ParamSize
			}
			if ebx, ok := cc.Get("ebx"); ok {
				in.EBX, in.HasEBX = uint32(ebx), true
			}
			if r, err := symbols.EvalWin(win, in, cfiMachine{ctx: cc, st: st}); err == nil {
				c := forwarded(cc, x86SavedRegs)
				ip, sp := eip, esp
				set := func(bit symbols.WinRegs, name string, v uint32) {
					if r.Set&bit != 0 {
						c.Set(name, uint64(v))
					}
				}
				set(symbols.WinEIP, "eip", r.EIP)
				set(symbols.WinESP, "esp", r.ESP)
				set(symbols.WinEBP, "ebp", r.EBP)
				set(symbols.WinEBX, "ebx", r.EBX)
				set(symbols.WinESI, "esi", r.ESI)
				set(symbols.WinEDI, "edi", r.EDI)
				if r.Set&symbols.WinEIP != 0 {
					ip = uint64(r.EIP)
				}
				if r.Set&symbols.WinESP != 0 {
					sp = uint64(r.ESP)
				}
				return Frame{Trust: TrustCFI, Context: c}, ip, sp, true
			}
		}
	}
	c, ok := w.applyCFI(sf, rel, callee, st, x86SavedRegs, false)
	if !ok {
		return Frame{}, 0, 0, false
	}
	return Frame{Trust: TrustCFI, Context: c}, c.IP(), c.SP(), true
}

func (w *walker) x86FramePointer(cc *minidump.Context, st stack) (Frame, bool) {
	bp, ok := cc.Get("ebp")
	if !ok || bp >= 0xffffffff-8 {
		return Frame{}, false
	}
	ip, ok := st.word(bp + 4)
	if !ok {
		return Frame{}, false
	}
	cbp, ok := st.word(bp)
	if !ok {
		return Frame{}, false
	}
	// Unlike amd64, no further validation: Breakpad does none on x86 and
	// stricter checks make scanning invent frames.
	c := minidump.NewContext(minidump.ArchX86)
	c.Set("eip", ip)
	c.Set("esp", bp+8)
	c.Set("ebp", cbp)
	return Frame{Trust: TrustFramePointer, Context: c}, true
}

func (w *walker) x86Scan(callee *Frame, st stack) (Frame, bool) {
	cc := &callee.Context
	sp, ok := cc.Get("esp")
	if !ok {
		return Frame{}, false
	}
	lastBP, hasBP := cc.Get("ebp")
	n := uint64(40)
	if callee.Trust == TrustContext || callee.Trust == TrustCFI {
		n = 160
	}
	for i := uint64(0); i < n; i++ {
		addrIP := sp + i*4
		if addrIP > 0xffffffff {
			return Frame{}, false
		}
		ip, ok := st.word(addrIP)
		if !ok {
			return Frame{}, false
		}
		if ip == 0 || !w.instructionSeemsValid(ip) {
			continue
		}
		csp := addrIP + 4
		if csp > 0xffffffff {
			return Frame{}, false
		}
		c := minidump.NewContext(minidump.ArchX86)
		c.Set("eip", ip)
		c.Set("esp", csp)
		if i > 0 {
			addrBP := addrIP - 4
			bp, ok := st.word(addrBP)
			if !ok {
				return Frame{}, false
			}
			if bp > addrIP && bp-addrBP <= maxFrameGap {
				if _, ok := st.word(bp); ok {
					c.Set("ebp", bp)
				}
			} else if hasBP && lastBP >= csp {
				if _, ok := st.word(lastBP); ok {
					c.Set("ebp", lastBP)
				}
			}
		}
		return Frame{Trust: TrustScan, Context: c}, true
	}
	return Frame{}, false
}
