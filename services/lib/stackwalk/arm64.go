package stackwalk

import "github.com/crashstream/crashstream/services/lib/minidump"

// arm64SavedRegs are the callee-saved registers forwarded to callers.
var arm64SavedRegs = []string{"x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "fp"}

// nonCanonicalARM64 rejects the first page and anything above 52 bits.
func nonCanonicalARM64(p uint64) bool {
	return p < 0x1000 || p > 0x000fffffffffffff
}

func (w *walker) callerARM64(callee, grand *Frame, st stack) (Frame, bool) {
	cc := &callee.Context
	f, ok := w.arm64CFI(callee, st)
	if !ok {
		f, ok = w.arm64FramePointer(cc, st)
	}
	if !ok {
		f, ok = w.arm64Scan(callee, st)
	}
	if !ok {
		return Frame{}, false
	}
	pc, sp := f.Context.IP(), f.Context.SP()
	if pc < 4096 {
		return Frame{}, false
	}
	lastSP, _ := cc.Get("sp")
	if sp < lastSP {
		return Frame{}, false
	}
	if sp == lastSP {
		// Only a leaf (context) frame or a CFI step may keep sp, and only
		// when it moves pc.
		calleePC, _ := cc.Get("pc")
		if pc == calleePC || !(callee.Trust == TrustContext || f.Trust == TrustCFI) {
			return Frame{}, false
		}
	}
	f.Instruction = pc - 4
	f.Module = -1
	return f, true
}

func (w *walker) arm64CFI(callee *Frame, st stack) (Frame, bool) {
	cc := &callee.Context
	if _, ok := cc.Get("sp"); !ok {
		return Frame{}, false
	}
	mi := w.moduleAt(callee.Instruction)
	if mi < 0 {
		return Frame{}, false
	}
	sf := w.symbolsFor(mi)
	if sf == nil {
		return Frame{}, false
	}
	rel := callee.Instruction - w.d.Modules[mi].Base
	// A frame found by frame pointer has an lr recovered by heuristics:
	// only trust it when the CFI rules start at this very instruction.
	hideLR := callee.Trust == TrustFramePointer && !sf.CFIStartsAt(rel)
	c, ok := w.applyCFI(sf, rel, callee, st, arm64SavedRegs, hideLR)
	if !ok {
		return Frame{}, false
	}
	// applyCFI set pc and sp; strip pointer authentication bits.
	c.Set("pc", c.IP()&w.ptrMask)
	for _, r := range []string{"lr", "fp"} {
		if v, ok := c.Get(r); ok {
			c.Set(r, v&w.ptrMask)
		}
	}
	return Frame{Trust: TrustCFI, Context: c}, true
}

func (w *walker) arm64FramePointer(cc *minidump.Context, st stack) (Frame, bool) {
	fp, ok1 := cc.Get("fp")
	sp, ok2 := cc.Get("sp")
	if !ok1 || !ok2 || fp >= ^uint64(0)-16 {
		return Frame{}, false
	}
	var cfp, cpc, csp uint64
	if fp == 0 {
		csp = sp // ends the walk: pc 0
	} else {
		var ok bool
		if cfp, ok = st.word(fp); !ok {
			return Frame{}, false
		}
		if cpc, ok = st.word(fp + 8); !ok {
			return Frame{}, false
		}
		csp = fp + 16
	}
	cfp &= w.ptrMask
	cpc &= w.ptrMask
	c := minidump.NewContext(minidump.ArchARM64)
	if cfp != 0 && cfp+8 > cfp {
		if lr, ok := st.word(cfp + 8); ok {
			c.Set("lr", lr&w.ptrMask)
		}
	}
	if nonCanonicalARM64(cpc) {
		return Frame{}, false
	}
	c.Set("pc", cpc)
	c.Set("fp", cfp)
	c.Set("sp", csp)
	return Frame{Trust: TrustFramePointer, Context: c}, true
}

func (w *walker) arm64Scan(callee *Frame, st stack) (Frame, bool) {
	sp, ok := callee.Context.Get("sp")
	if !ok {
		return Frame{}, false
	}
	n := uint64(40)
	if callee.Trust == TrustContext || callee.Trust == TrustCFI {
		n = 160
	}
	for i := uint64(0); i < n; i++ {
		addr := sp + i*8
		if addr < sp {
			return Frame{}, false
		}
		pc, ok := st.word(addr)
		if !ok {
			return Frame{}, false
		}
		if nonCanonicalARM64(pc) || !w.instructionSeemsValid(pc) {
			continue
		}
		if addr+8 < addr {
			return Frame{}, false
		}
		c := minidump.NewContext(minidump.ArchARM64)
		c.Set("pc", pc)
		c.Set("sp", addr+8)
		return Frame{Trust: TrustScan, Context: c}, true
	}
	return Frame{}, false
}
