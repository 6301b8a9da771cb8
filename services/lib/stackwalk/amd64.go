package stackwalk

import "github.com/crashstream/crashstream/services/lib/minidump"

// amd64SavedRegs are the callee-saved registers forwarded to callers.
var amd64SavedRegs = []string{"rbx", "rbp", "r12", "r13", "r14", "r15"}

// maxFrameGap bounds the distance between a scanned return address and
// the frame pointer recovered with it (128 KiB covers 99.5% of frames).
const maxFrameGap = 128 * 1024

func nonCanonical64(p uint64) bool {
	return p > 0x7FFFFFFFFFFF && p < 0xFFFF800000000000
}

func (w *walker) callerAMD64(callee, grand *Frame, st stack) (Frame, bool) {
	cc := &callee.Context
	// An unknown stack pointer compares as 0, as in minidump-stackwalk.
	calleeSP, _ := cc.Get("rsp")
	f, ok := w.amd64CFI(callee, st)
	if !ok {
		f, ok = w.amd64FramePointer(cc, st)
	}
	if !ok {
		f, ok = w.amd64Scan(callee, st)
	}
	if !ok {
		return Frame{}, false
	}
	return finishCaller(f, f.Context.IP(), f.Context.SP(), calleeSP, 1)
}

func (w *walker) amd64CFI(callee *Frame, st stack) (Frame, bool) {
	if _, ok := callee.Context.Get("rsp"); !ok {
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
	c, ok := w.applyCFI(sf, callee.Instruction-w.d.Modules[mi].Base, callee, st, amd64SavedRegs, false)
	if !ok {
		return Frame{}, false
	}
	return Frame{Trust: TrustCFI, Context: c}, true
}

func (w *walker) amd64FramePointer(cc *minidump.Context, st stack) (Frame, bool) {
	bp, ok1 := cc.Get("rbp")
	sp, ok2 := cc.Get("rsp")
	if !ok1 || !ok2 || bp >= ^uint64(0)-16 {
		return Frame{}, false
	}
	// Windows x64 frame pointers may point up to 240 bytes into the frame,
	// in 16-byte steps: try each.
	steps := uint64(0)
	if w.os == "Windows NT" {
		steps = 15
	}
	for k := uint64(0); k <= steps; k++ {
		off := k * 16
		ip, ok := st.word(bp + off + 8)
		if !ok {
			return Frame{}, false
		}
		cbp, ok := st.word(bp + off)
		if !ok {
			return Frame{}, false
		}
		csp := bp + off + 16
		if csp <= bp || cbp < csp {
			continue
		}
		if _, ok := st.word(cbp); !ok {
			return Frame{}, false
		}
		if nonCanonical64(ip) {
			continue
		}
		if csp <= sp {
			continue
		}
		if _, ok := st.word(csp); !ok {
			continue
		}
		c := minidump.NewContext(minidump.ArchAMD64)
		c.Set("rip", ip)
		c.Set("rsp", csp)
		c.Set("rbp", cbp)
		return Frame{Trust: TrustFramePointer, Context: c}, true
	}
	return Frame{}, false
}

func (w *walker) amd64Scan(callee *Frame, st stack) (Frame, bool) {
	cc := &callee.Context
	sp, ok := cc.Get("rsp")
	if !ok {
		return Frame{}, false
	}
	lastBP, hasBP := cc.Get("rbp")
	n := uint64(40)
	if callee.Trust == TrustContext || callee.Trust == TrustCFI {
		n = 160
	}
	for i := uint64(0); i < n; i++ {
		addrIP := sp + i*8
		if addrIP < sp {
			return Frame{}, false
		}
		ip, ok := st.word(addrIP)
		if !ok {
			return Frame{}, false
		}
		if ip == 0 || nonCanonical64(ip) || !w.instructionSeemsValid(ip) {
			continue
		}
		csp := addrIP + 8
		if csp < addrIP {
			return Frame{}, false
		}
		c := minidump.NewContext(minidump.ArchAMD64)
		c.Set("rip", ip)
		c.Set("rsp", csp)
		if hasBP && i > 0 {
			addrBP := addrIP - 8
			bp, ok := st.word(addrBP)
			if !ok {
				return Frame{}, false
			}
			if lastBP == addrBP && bp > addrIP && bp-addrBP <= maxFrameGap {
				if _, ok := st.word(bp); ok {
					c.Set("rbp", bp)
				}
			} else if lastBP >= csp {
				c.Set("rbp", lastBP)
			}
		}
		return Frame{Trust: TrustScan, Context: c}, true
	}
	return Frame{}, false
}
