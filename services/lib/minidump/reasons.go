package minidump

import (
	"fmt"
	"sort"
)

// Windows exception codes with special crash-address rules.
const (
	ExceptionAccessViolation = 0xc0000005
	ExceptionInPageError     = 0xc0000006
	statusStackBufferOverrun = 0xc0000409
)

// CrashReason names an exception the way minidump-stackwalk does: the
// exception code by OS (system_info.os name) and CPU (cpu_arch name),
// refined by its flags (si_code on Linux, the Mach code on macOS) or
// parameters (access type on Windows).
func CrashReason(os, cpu string, code, flags uint32, params []uint64) string {
	switch os {
	case "Windows NT":
		return windowsReason(code, params)
	case "Linux", "Android":
		if s, ok := linuxReason(code, flags); ok {
			return s
		}
	case "Mac OS X", "iOS":
		if s, ok := macReason(cpu, code, flags, params); ok {
			return s
		}
	}
	return fmt.Sprintf("unknown 0x%08x / 0x%08x", code, flags)
}

func param(params []uint64, i int) uint64 {
	if i < len(params) {
		return params[i]
	}
	return 0
}

func ntStatusName(v uint64) string {
	if s, ok := tNtStatusWindows.get(int64(v)); ok {
		return s
	}
	return fmt.Sprintf("0x%08x", v)
}

// WindowsErrorName names a Windows error code the way minidump-stackwalk
// names a last_error_value: a WinError, else an NTSTATUS, else a
// facility-qualified WinError, else "unknown 0x...".
func WindowsErrorName(code uint32) string {
	if s, ok := tWinErrorWindows.get(int64(code)); ok {
		return s
	}
	if s, ok := tNtStatusWindows.get(int64(code)); ok {
		return s
	}
	if code&0xf0000000 != 0 {
		if fac, ok := tWinErrorFacilityWindows.get(int64(code&0x0fff0000) >> 16); ok {
			if e, ok := tWinErrorWindows.get(int64(code & 0xffff)); ok {
				return fac + " / " + e
			}
		}
	}
	return fmt.Sprintf("unknown 0x%08x", code)
}

func windowsReason(code uint32, params []uint64) string {
	switch code {
	case ExceptionAccessViolation:
		if len(params) >= 1 {
			if t, ok := tExceptionCodeWindowsAccessType.get(int64(params[0])); ok && params[0] <= 8 {
				return "EXCEPTION_ACCESS_VIOLATION_" + t
			}
		}
	case ExceptionInPageError:
		if len(params) >= 3 {
			if t, ok := tExceptionCodeWindowsInPageErrorType.get(int64(params[0])); ok && params[0] <= 8 {
				return "EXCEPTION_IN_PAGE_ERROR_" + t + " / " + ntStatusName(params[2]&0xffffffff)
			}
		}
	case statusStackBufferOverrun:
		if len(params) >= 1 {
			ff := params[0] & 0xffffffff
			name, ok := tFastFailCode.get(int64(ff))
			if !ok {
				name = fmt.Sprintf("0x%08x", ff)
			}
			return "EXCEPTION_STACK_BUFFER_OVERRUN / " + name
		}
	}
	if s, ok := tExceptionCodeWindows.get(int64(code)); ok {
		switch s {
		case "OUT_OF_MEMORY":
			return "Out of Memory"
		case "UNHANDLED_CPP_EXCEPTION":
			return "Unhandled C++ Exception"
		case "SIMULATED":
			return "Simulated Exception"
		}
		return s
	}
	return WindowsErrorName(code)
}

func linuxReason(code, flags uint32) (string, bool) {
	sig, ok := tExceptionCodeLinux.get(int64(code))
	if !ok {
		return "", false
	}
	var kinds nameTable
	switch sig {
	case "SIGILL":
		kinds = tExceptionCodeLinuxSigillKind
	case "SIGTRAP":
		kinds = tExceptionCodeLinuxSigtrapKind
	case "SIGFPE":
		kinds = tExceptionCodeLinuxSigfpeKind
	case "SIGSEGV":
		kinds = tExceptionCodeLinuxSigsegvKind
	case "SIGBUS":
		kinds = tExceptionCodeLinuxSigbusKind
	case "SIGSYS":
		kinds = tExceptionCodeLinuxSigsysKind
	}
	if k, ok := kinds.get(int64(flags)); ok {
		return sig + " / " + k, true
	}
	// Fall back to the generic si_code (the value is an i32).
	if si, ok := tExceptionCodeLinuxSicode.get(int64(int32(flags))); ok {
		if si == "SI_USER" {
			return sig, true
		}
		return sig + " / " + si, true
	}
	return fmt.Sprintf("%s / 0x%08x", sig, flags), true
}

func macReason(cpu string, code, flags uint32, params []uint64) (string, bool) {
	exc, ok := tExceptionCodeMac.get(int64(code))
	if !ok {
		return "", false
	}
	f := int64(flags)
	pick := func(arm, ppc, x86 nameTable) (string, bool) {
		var t nameTable
		switch cpu {
		case "arm64":
			t = arm
		case "ppc":
			t = ppc
		case "x86", "amd64":
			t = x86
		}
		s, ok := t.get(f)
		return s, ok
	}
	var sub string
	found := false
	switch exc {
	case "SIMULATED":
		return "Simulated Exception", true
	case "EXC_BAD_ACCESS":
		if sub, found = tExceptionCodeMacBadAccessKernType.get(f); !found {
			sub, found = pick(tExceptionCodeMacBadAccessArmType, tExceptionCodeMacBadAccessPpcType, tExceptionCodeMacBadAccessX86Type)
		}
	case "EXC_BAD_INSTRUCTION":
		sub, found = pick(tExceptionCodeMacBadInstructionArmType, tExceptionCodeMacBadInstructionPpcType, tExceptionCodeMacBadInstructionX86Type)
	case "EXC_ARITHMETIC":
		sub, found = pick(tExceptionCodeMacArithmeticArmType, tExceptionCodeMacArithmeticPpcType, tExceptionCodeMacArithmeticX86Type)
	case "EXC_SOFTWARE":
		sub, found = tExceptionCodeMacSoftwareType.get(f)
	case "EXC_BREAKPOINT":
		sub, found = pick(tExceptionCodeMacBreakpointArmType, tExceptionCodeMacBreakpointPpcType, tExceptionCodeMacBreakpointX86Type)
	case "EXC_RESOURCE":
		if t, ok := tExceptionCodeMacResourceType.get(int64(flags>>29) & 7); ok {
			return macResource(t, param(params, 1), param(params, 2)), true
		}
	case "EXC_GUARD":
		if t, ok := tExceptionCodeMacGuardType.get(int64(flags>>29) & 7); ok {
			return macGuard(t, param(params, 1), param(params, 2)), true
		}
	}
	if found {
		return exc + " / " + sub, true
	}
	return fmt.Sprintf("%s / 0x%08x", exc, flags), true
}

func macResource(t string, code, subcode uint64) string {
	flavor := int64(code>>58) & 7
	s := "EXC_RESOURCE / " + t + " / "
	raw := fmt.Sprintf("0x%016x / 0x%016x", code, subcode)
	switch t {
	case "RESOURCE_TYPE_CPU":
		if fl, ok := tExceptionCodeMacResourceCpuFlavor.get(flavor); ok {
			return s + fmt.Sprintf("%s interval: %ds CPU limit: %d%% CPU consumed: %d%%",
				fl, (code>>7)&0x1ffffff, code&7, subcode&7)
		}
	case "RESOURCE_TYPE_WAKEUPS":
		if fl, ok := tExceptionCodeMacResourceWakeupsFlavor.get(flavor); ok {
			return s + fmt.Sprintf("%s interval: %ds wakeups permitted: %d wakeups observed: %d",
				fl, (code>>20)&0xfffff, code&0xfff, subcode&0xfff)
		}
	case "RESOURCE_TYPE_MEMORY":
		if fl, ok := tExceptionCodeMacResourceMemoryFlavor.get(flavor); ok {
			return s + fmt.Sprintf("%s high watermark limit: %dMiB", fl, code&0x1fff)
		}
	case "RESOURCE_TYPE_IO":
		if fl, ok := tExceptionCodeMacResourceIOFlavor.get(flavor); ok {
			return s + fmt.Sprintf("%s interval: %ds I/O limit: %d%% I/O observed: %d%%",
				fl, (code>>15)&0x1ffff, code&0x7fff, subcode&0x7fff)
		}
	case "RESOURCE_TYPE_THREADS":
		if fl, ok := tExceptionCodeMacResourceThreadsFlavor.get(flavor); ok {
			return s + fmt.Sprintf("%s high watermark limit: %d", fl, code&0x7fff)
		}
	}
	return s + raw
}

func macGuard(t string, code, subcode uint64) string {
	flavor := int64(code>>32) & 0x1fffffff
	s := "EXC_GUARD / " + t
	raw := fmt.Sprintf(" / 0x%016x / 0x%016x", code, subcode)
	switch t {
	case "GUARD_TYPE_NONE":
		return s
	case "GUARD_TYPE_MACH_PORT":
		if fl, ok := tExceptionCodeMacGuardMachPortFlavor.get(flavor); ok {
			if subcode != 0 {
				return s + fmt.Sprintf(" / %s port name: %d subcode: %d", fl, code&0xfffffff, subcode)
			}
			return s + fmt.Sprintf(" / %s port name: %d", fl, code&0xfffffff)
		}
	case "GUARD_TYPE_FD":
		if fl, ok := tExceptionCodeMacGuardFDFlavor.get(flavor); ok {
			return s + fmt.Sprintf(" / %s file descriptor: %d guard identifier: %d", fl, code&0xfffffff, subcode)
		}
	case "GUARD_TYPE_USER":
		// minidump-stackwalk prints no space before this slash.
		return s + fmt.Sprintf("/ namespace: %d guard identifier: %d", code&0xffffffff, subcode)
	case "GUARD_TYPE_VN":
		if fl, ok := tExceptionCodeMacGuardVNFlavor.get(flavor); ok {
			return s + fmt.Sprintf(" / %s pid: %d guard identifier: %d", fl, code&0xfffffff, subcode)
		}
	case "GUARD_TYPE_VIRT_MEMORY":
		if fl, ok := tExceptionCodeMacGuardVirtMemoryFlavor.get(flavor); ok {
			return s + fmt.Sprintf(" / %s offset: %d", fl, subcode)
		}
	case "GUARD_TYPE_REJECTED_SC":
		if fl, ok := tExceptionCodeMacGuardRejecteSysCallFlavor.get(flavor); ok {
			return s + fmt.Sprintf(" / %s syscall: %d", fl, subcode)
		}
	}
	return s + raw
}

// nameTable maps raw values to names; entries are sorted by value (see
// gen/genreasons.py), so a lookup is a binary search.
type nameTable []struct {
	v    int64
	name string
}

func (t nameTable) get(v int64) (string, bool) {
	i := sort.Search(len(t), func(i int) bool { return t[i].v >= v })
	if i < len(t) && t[i].v == v {
		return t[i].name, true
	}
	return "", false
}
