package crashinfo

import "github.com/crashstream/crashstream/services/lib/minidump"

// Crash inconsistencies, as minidump-stackwalk names them in JSON.
const (
	IntDivByZeroNotPossible                    = "int_div_by_zero_not_possible"
	PrivInstructionCrashWithoutPrivInstruction = "priv_instruction_crash_without_priv_instruction"
	NonCanonicalAddressFalselyReported         = "non_canonical_address_falsely_reported"
	AccessViolationWhenAccessAllowed           = "access_violation_when_access_allowed"
	CrashingAccessNotFoundInMemoryAccesses     = "crashing_access_not_found_in_memory_accesses"
)

// inconsistencies lists where the crash reason contradicts the faulting
// instruction or the memory map: a division fault on an instruction that
// does not divide, a privileged-instruction fault on an ordinary one, a
// general protection fault whose instruction touches no non-canonical
// address, an access violation whose address is not among the
// instruction's accesses or lies in memory that allows the access. Each
// check answers only when it has the facts; unknown is not inconsistent.
func inconsistencies(d *minidump.Dump, info *Info, p instProps, ipKnown bool, ctx *minidump.Context, m memMap,
	reason string, address uint64) []string {
	out := []string{}
	switch reason {
	case "SIGFPE / FPE_INTDIV", "EXC_ARITHMETIC / EXC_I386_DIV", "EXC_ARITHMETIC / EXC_PPC_ZERO_DIVIDE",
		"EXCEPTION_INT_DIVIDE_BY_ZERO":
		if p.decoded && !p.division {
			out = append(out, IntDivByZeroNotPossible)
		}
	case "EXCEPTION_PRIV_INSTRUCTION":
		if p.decoded && !p.privileged {
			out = append(out, PrivInstructionCrashWithoutPrivInstruction)
		}
	case "EXCEPTION_ACCESS_VIOLATION_READ":
		missing := crashingAccessMissing(info, p, ctx, reason, address)
		if generalProtectionFault(d, reason, address) && missing {
			if p.onlyGPFWhenNonCanonical && nonCanonicalMissing(info, p, ipKnown) {
				out = append(out, NonCanonicalAddressFalselyReported)
			}
			break
		}
		if missing {
			out = append(out, CrashingAccessNotFoundInMemoryAccesses)
		}
		if accessAllowed(m, reason, address) {
			out = append(out, AccessViolationWhenAccessAllowed)
		}
	case "EXCEPTION_STACK_OVERFLOW", "EXCEPTION_ACCESS_VIOLATION_WRITE", "EXCEPTION_ACCESS_VIOLATION_EXEC":
		if crashingAccessMissing(info, p, ctx, reason, address) {
			out = append(out, CrashingAccessNotFoundInMemoryAccesses)
		}
		if accessAllowed(m, reason, address) {
			out = append(out, AccessViolationWhenAccessAllowed)
		}
	}
	return out
}

// generalProtectionFault is nonCanonicalFault: how each OS reports one.
func generalProtectionFault(d *minidump.Dump, reason string, address uint64) bool {
	return nonCanonicalFault(d, reason, address)
}

// crashingAccessMissing reports that the crash address is not among the
// instruction's accesses of the reported kind (false when unknown).
func crashingAccessMissing(info *Info, p instProps, ctx *minidump.Context, reason string, address uint64) bool {
	if info.Accesses == nil {
		return false
	}
	switch reason {
	case "EXCEPTION_ACCESS_VIOLATION_READ":
		return p.derivable && !hasAccess(info.Accesses, address, Read) && !hasAccess(info.Accesses, address, ReadWrite)
	case "EXCEPTION_ACCESS_VIOLATION_WRITE":
		return p.derivable && !hasAccess(info.Accesses, address, Write) && !hasAccess(info.Accesses, address, ReadWrite)
	case "EXCEPTION_ACCESS_VIOLATION_EXEC":
		return ctx != nil && ctx.IP() != address
	case "EXCEPTION_STACK_OVERFLOW":
		return p.derivable && len(info.Accesses) == 0
	}
	return false
}

// hasAccess reports an access of type t covering addr.
func hasAccess(accesses []Access, addr uint64, t AccessType) bool {
	for _, a := range accesses {
		if a.Size == 0 || a.Type != t {
			continue
		}
		end := a.Address + uint64(a.Size)
		if end < a.Address { // wraps
			if a.Address <= addr || addr < end {
				return true
			}
			continue
		}
		if a.Address <= addr && addr < end {
			return true
		}
	}
	return false
}

// nonCanonicalMissing reports that neither an access nor the jump target
// is non-canonical (false when unknown).
func nonCanonicalMissing(info *Info, p instProps, ipKnown bool) bool {
	if !p.derivable || info.Accesses == nil || !ipKnown {
		return false
	}
	for _, a := range info.Accesses {
		if isNonCanonical(a.Address) {
			return false
		}
	}
	return info.IPUpdate == nil || !isNonCanonical(info.IPUpdate.Address)
}

// accessAllowed reports an access violation at an address whose mapping
// allows that very access.
func accessAllowed(m memMap, reason string, address uint64) bool {
	op := memoryOp(reason)
	if op == "" {
		return false
	}
	r, ok := m.at(address)
	return ok && r.allows(op)
}
