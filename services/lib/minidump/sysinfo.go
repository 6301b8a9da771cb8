package minidump

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Processor architectures of MINIDUMP_SYSTEM_INFO.
const (
	ProcessorX86         = 0
	ProcessorMIPS        = 1
	ProcessorPPC         = 3
	ProcessorARM         = 5
	ProcessorAMD64       = 9
	ProcessorIA32OnWin64 = 10
	ProcessorARM64       = 12
	ProcessorSPARC       = 0x8001
	ProcessorPPC64       = 0x8002
	ProcessorARM64Old    = 0x8003
	ProcessorMIPS64      = 0x8004
)

// Platform ids of MINIDUMP_SYSTEM_INFO.
const (
	// PlatformWin32NT is what Windows writers put in platform_id
	// (MD_OS_WIN32_NT); rust-minidump's table is off by one and also
	// reads 3 as Windows NT, so both are accepted.
	PlatformWin32NT    = 2
	PlatformWin32NTAlt = 3
	PlatformMacOS      = 0x8101
	PlatformIOS        = 0x8102
	PlatformLinux      = 0x8201
	PlatformSolaris    = 0x8202
	PlatformAndroid    = 0x8203
	PlatformPS3        = 0x8204
	PlatformNaCl       = 0x8205
)

// SystemInfo is MINIDUMP_SYSTEM_INFO with its CSD version string.
type SystemInfo struct {
	ProcessorArchitecture uint16
	ProcessorLevel        uint16
	ProcessorRevision     uint16
	NumberOfProcessors    uint8
	ProductType           uint8
	MajorVersion          uint32
	MinorVersion          uint32
	BuildNumber           uint32
	PlatformID            uint32
	// CSDVersion is the service pack (Windows), the build (macOS) or
	// `uname -srvmo` (Linux). Nil when absent.
	CSDVersion *string
	SuiteMask  uint16
	// CPU is the raw 24-byte CPU_INFORMATION union.
	CPU [24]byte
}

func (d *Dump) readSystemInfo(p []byte) error {
	c := d.cur(p)
	s := &SystemInfo{
		ProcessorArchitecture: c.u16(), ProcessorLevel: c.u16(), ProcessorRevision: c.u16(),
		NumberOfProcessors: c.u8(), ProductType: c.u8(),
		MajorVersion: c.u32(), MinorVersion: c.u32(), BuildNumber: c.u32(), PlatformID: c.u32(),
	}
	csd := c.u32()
	s.SuiteMask = c.u16()
	c.skip(2)
	copy(s.CPU[:], c.take(24))
	if c.bad {
		return errors.New("truncated")
	}
	if csd != 0 {
		if v, err := d.stringAt(csd); err == nil {
			s.CSDVersion = &v
		}
	}
	d.SystemInfo = s
	return nil
}

// OS is minidump-stackwalk's system_info.os name.
func (s *SystemInfo) OS() string {
	switch s.PlatformID {
	case PlatformWin32NT, PlatformWin32NTAlt:
		return "Windows NT"
	case PlatformMacOS:
		return "Mac OS X"
	case PlatformIOS:
		return "iOS"
	case PlatformLinux:
		return "Linux"
	case PlatformSolaris:
		return "Solaris"
	case PlatformAndroid:
		return "Android"
	case PlatformPS3:
		return "PS3"
	case PlatformNaCl:
		return "NaCl"
	}
	// rust-minidump prints "0x" then Rust's {:#08x}, doubling the prefix.
	return fmt.Sprintf("0x0x%06x", s.PlatformID)
}

// OSShort is the lowercase OS name used in Breakpad symbol files
// ("windows", "mac", "linux", ...).
func (s *SystemInfo) OSShort() string {
	switch s.OS() {
	case "Windows NT":
		return "windows"
	case "Mac OS X":
		return "mac"
	case "iOS":
		return "ios"
	case "Linux":
		return "linux"
	case "Solaris":
		return "solaris"
	case "Android":
		return "android"
	case "PS3":
		return "ps3"
	case "NaCl":
		return "nacl"
	}
	return "unknown"
}

// CPUArch is minidump-stackwalk's system_info.cpu_arch name.
func (s *SystemInfo) CPUArch() string {
	switch s.ProcessorArchitecture {
	case ProcessorX86, ProcessorIA32OnWin64:
		return "x86"
	case ProcessorAMD64:
		return "amd64"
	case ProcessorPPC:
		return "ppc"
	case ProcessorPPC64:
		return "ppc64"
	case ProcessorSPARC:
		return "sparc"
	case ProcessorARM:
		return "arm"
	case ProcessorARM64, ProcessorARM64Old:
		return "arm64"
	case ProcessorMIPS:
		return "mips"
	case ProcessorMIPS64:
		return "mips64"
	}
	return "unknown"
}

// contextArch is the Context architecture for this CPU ("" if none).
func (s *SystemInfo) contextArch() Arch {
	switch s.CPUArch() {
	case "x86":
		return ArchX86
	case "amd64":
		return ArchAMD64
	case "arm":
		return ArchARM
	case "arm64":
		return ArchARM64
	}
	return ""
}

// Arch is the Context architecture of the dump's CPU, "" when no Context
// decoder exists for it.
func (s *SystemInfo) Arch() Arch { return s.contextArch() }

// PointerSize is 4 on 32-bit CPUs and 8 otherwise.
func (s *SystemInfo) PointerSize() int {
	switch s.CPUArch() {
	case "x86", "ppc", "sparc", "arm", "mips":
		return 4
	}
	return 8
}

// CPUInfo is minidump-stackwalk's system_info.cpu_info ("" for null).
func (s *SystemInfo) CPUInfo() string {
	switch s.CPUArch() {
	case "x86", "amd64":
		var b strings.Builder
		if s.CPUArch() == "x86" {
			// The vendor id ("GenuineIntel") is bytes, not text: like
			// minidump-stackwalk, each byte is one Latin-1 character, so
			// any byte gives valid UTF-8.
			for _, c := range s.CPU[:12] {
				b.WriteRune(rune(c))
			}
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "family %d model %d stepping %d", s.ProcessorLevel,
			(s.ProcessorRevision>>8)&0xff, s.ProcessorRevision&0xff)
		return b.String()
	case "arm":
		return s.armCPUInfo()
	}
	return ""
}

func (s *SystemInfo) armCPUInfo() string {
	c := &cursor{b: s.CPU[:], o: binary.LittleEndian}
	cpuid, hwcaps := c.u32(), c.u32()
	var b strings.Builder
	fmt.Fprintf(&b, "ARMv%d", s.ProcessorLevel)
	if cpuid != 0 {
		vendor := (cpuid >> 24) & 0xff
		switch vendor {
		case 0x41:
			b.WriteString(" ARM")
		case 0x51:
			b.WriteString(" Qualcomm")
		case 0x56:
			b.WriteString(" Marvell")
		case 0x69:
			b.WriteString(" Intel/Marvell")
		default:
			fmt.Fprintf(&b, " vendor(0x%x)", vendor)
		}
		part := cpuid & 0xff00fff0
		if name, ok := armParts[part]; ok {
			b.WriteString(" " + name)
		} else {
			fmt.Fprintf(&b, " part(0x%x)", part)
		}
	}
	sep := " features: "
	for i, name := range armHWCaps {
		if hwcaps&(1<<i) != 0 {
			b.WriteString(sep + name)
			sep = ","
		}
	}
	return b.String()
}

// armParts and armHWCaps are read-only name tables for ARM cpu_info.
var (
	armParts = map[uint32]string{
		0x4100c050: "Cortex-A5", 0x4100c080: "Cortex-A8", 0x4100c090: "Cortex-A9",
		0x4100c0f0: "Cortex-A15", 0x4100c140: "Cortex-R4", 0x4100c150: "Cortex-R5",
		0x4100b360: "ARM1136", 0x4100b560: "ARM1156", 0x4100b760: "ARM1176",
		0x4100b020: "ARM11-MPCore", 0x41009260: "ARM926", 0x41009460: "ARM946",
		0x41009660: "ARM966", 0x510006f0: "Krait", 0x510000f0: "Scorpion",
	}
	armHWCaps = []string{"swp", "half", "thumb", "26bit", "fastmult", "fpa", "vfpv2", "edsp", "java",
		"iwmmxt", "crunch", "thumbee", "neon", "vfpv3", "vfpv3d16", "tls", "vfpv4", "idiva", "idivt"}
)

// OSVersion is minidump-stackwalk's system_info.os_ver: "major.minor.build"
// plus the CSD string; on Linux dumps with a 0.0.0 version the kernel
// version is taken from the `uname -srvmo` CSD string.
func (s *SystemInfo) OSVersion() string {
	ver, build, ok := s.OSParts()
	if !ok {
		return ver
	}
	return ver + " " + build
}

// OSParts splits the OS version into a version and an optional build (ok
// reports whether there is one) as rust-minidump's os_parts does. For Linux
// dumps without a version the kernel release is parsed out of the
// `uname -srvmo` string: "Linux <release> <build...> <arch> [Linux/GNU]".
func (s *SystemInfo) OSParts() (version, build string, ok bool) {
	ver := fmt.Sprintf("%d.%d.%d", s.MajorVersion, s.MinorVersion, s.BuildNumber)
	csd := ""
	if s.CSDVersion != nil {
		csd = *s.CSDVersion
	}
	trimmed := strings.TrimSpace(csd)
	if s.PlatformID != PlatformLinux || ver != "0.0.0" {
		return ver, trimmed, trimmed != ""
	}
	parts := strings.Split(csd, " ")
	kver := "0.0.0"
	if len(parts) > 1 {
		kver = parts[1]
	}
	var rest []string
	if len(parts) > 2 {
		rest = parts[2:]
		last := rest[len(rest)-1]
		rest = rest[:len(rest)-1]
		if last == "Linux/GNU" && len(rest) > 0 {
			rest = rest[:len(rest)-1]
		}
	}
	if kver == "0.0.0" {
		return ver, trimmed, trimmed != ""
	}
	return kver, strings.Join(rest, " "), true
}
