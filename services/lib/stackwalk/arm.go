package stackwalk

import "github.com/crashstream/crashstream/services/lib/minidump"

// armSavedRegs are the 32-bit ARM callee-saved registers forwarded to callers.
var armSavedRegs = []string{"r4", "r5", "r6", "r7", "r8", "r9", "r10", "fp"}

func (w *walker) callerARM(callee, grand *Frame, st stack) (Frame, bool) {
	cc := &callee.Context
	f, ok := w.armCFI(callee, st)
	if !ok {
		f, ok = w.armFramePointer(cc, st)
	}
	if !ok {
		f, ok = w.armScan(callee, st)
	}
	if !ok {
		return Frame{}, false
	}
	pc, sp := f.Context.IP(), f.Context.SP()
	if pc < 4096 {
		return Frame{}, false
	}
	lastSP, _ := cc.Get("sp")
	// Only a leaf (the context frame) may keep sp.
	if sp < lastSP || (sp == lastSP && callee.Trust != TrustContext) {
		return Frame{}, false
	}
	// The lookup address is inside the call: Thumb instructions are two
	// bytes, so step back two.
	f.Instruction = pc - 2
	f.Module = -1
	return f, true
}

func (w *walker) armCFI(callee *Frame, st stack) (Frame, bool) {
	if _, ok := callee.Context.Get("sp"); !ok {
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
	c, ok := w.applyCFI(sf, callee.Instruction-w.d.Modules[mi].Base, callee, st, armSavedRegs, false)
	if !ok {
		return Frame{}, false
	}
	return Frame{Trust: TrustCFI, Context: c}, true
}

// armFramePointer follows the frame-pointer chain, which only iOS keeps
// reliably on 32-bit ARM.
func (w *walker) armFramePointer(cc *minidump.Context, st stack) (Frame, bool) {
	if w.os != "iOS" {
		return Frame{}, false
	}
	fp, ok1 := cc.Get("fp")
	sp, ok2 := cc.Get("sp")
	if !ok1 || !ok2 || fp >= 0xffffffff-8 {
		return Frame{}, false
	}
	var cfp, cpc, csp uint64
	if fp == 0 {
		csp = sp
	} else {
		var ok bool
		if cfp, ok = st.word(fp); !ok {
			return Frame{}, false
		}
		if cpc, ok = st.word(fp + 4); !ok {
			return Frame{}, false
		}
		csp = fp + 8
	}
	c := minidump.NewContext(minidump.ArchARM)
	c.Set("pc", cpc)
	c.Set("fp", cfp)
	c.Set("sp", csp)
	return Frame{Trust: TrustFramePointer, Context: c}, true
}

func (w *walker) armScan(callee *Frame, st stack) (Frame, bool) {
	sp, ok := callee.Context.Get("sp")
	if !ok {
		return Frame{}, false
	}
	n := uint64(40)
	if callee.Trust == TrustContext || callee.Trust == TrustCFI {
		n = 160
	}
	for i := uint64(0); i < n; i++ {
		addr := sp + i*4
		if addr > 0xffffffff {
			return Frame{}, false
		}
		pc, ok := st.word(addr)
		if !ok {
			return Frame{}, false
		}
		if !w.instructionSeemsValid(pc) {
			continue
		}
		c := minidump.NewContext(minidump.ArchARM)
		c.Set("pc", pc)
		c.Set("sp", addr+4)
		return Frame{Trust: TrustScan, Context: c}, true
	}
	return Frame{}, false
}
