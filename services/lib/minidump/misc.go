package minidump

import (
	"errors"
	"fmt"
	"strconv"
)

// MiscInfo flags1 bits.
const (
	MiscProcessID      = 0x1
	MiscProcessTimes   = 0x2
	MiscProcessorPower = 0x4
)

// MiscInfo is MINIDUMP_MISC_INFO (any version; later fields are zero for
// earlier versions). Pointer fields are nil when flags1 says invalid.
type MiscInfo struct {
	SizeOfInfo uint32
	Flags1     uint32
	// ProcessID is valid with MiscProcessID.
	ProcessID *uint32
	// ProcessCreateTime (Unix seconds) and the user/kernel times (seconds)
	// are valid with MiscProcessTimes.
	ProcessCreateTime *uint32
	ProcessUserTime   *uint32
	ProcessKernelTime *uint32
	// Processor power info (MISC_INFO_2 and later, MiscProcessorPower).
	ProcessorMaxMhz, ProcessorCurrentMhz, ProcessorMhzLimit      uint32
	ProcessorMaxIdleState, ProcessorCurrentIdleState             uint32
	ProcessIntegrityLevel, ProcessExecuteFlags, ProtectedProcess uint32
	TimeZoneID                                                   uint32
	BuildString, DbgBldStr                                       string
}

// Sizes of the MINIDUMP_MISC_INFO versions.
const (
	miscInfo1Size = 24
	miscInfo2Size = 44
	miscInfo3Size = 232
	miscInfo4Size = 832
	miscInfo5Size = 1364
)

func (d *Dump) readMiscInfo(p []byte) error {
	if len(p) < miscInfo1Size {
		return fmt.Errorf("%d bytes, want at least %d", len(p), miscInfo1Size)
	}
	c := d.cur(p)
	m := &MiscInfo{SizeOfInfo: c.u32(), Flags1: c.u32()}
	pid, create, user, kernel := c.u32(), c.u32(), c.u32(), c.u32()
	if m.Flags1&MiscProcessID != 0 {
		m.ProcessID = &pid
	}
	if m.Flags1&MiscProcessTimes != 0 {
		m.ProcessCreateTime, m.ProcessUserTime, m.ProcessKernelTime = &create, &user, &kernel
	}
	if len(p) >= miscInfo2Size {
		m.ProcessorMaxMhz, m.ProcessorCurrentMhz, m.ProcessorMhzLimit = c.u32(), c.u32(), c.u32()
		m.ProcessorMaxIdleState, m.ProcessorCurrentIdleState = c.u32(), c.u32()
	}
	if len(p) >= miscInfo3Size {
		m.ProcessIntegrityLevel, m.ProcessExecuteFlags, m.ProtectedProcess = c.u32(), c.u32(), c.u32()
		m.TimeZoneID = c.u32()
		c.skip(172) // TIME_ZONE_INFORMATION
	}
	if len(p) >= miscInfo4Size {
		m.BuildString = decodeUTF16NUL(c.take(520), d)
		m.DbgBldStr = decodeUTF16NUL(c.take(80), d)
	}
	if c.bad {
		return errors.New("truncated")
	}
	d.MiscInfo = m
	return nil
}

func decodeUTF16NUL(p []byte, d *Dump) string {
	for i := 0; i+1 < len(p); i += 2 {
		if p[i] == 0 && p[i+1] == 0 {
			p = p[:i]
			break
		}
	}
	return decodeUTF16(p, d.ByteOrder)
}

// PID is the crashed process id: MiscInfo's, else the Pid line of
// LinuxProcStatus (as minidump-stackwalk reports it).
func (d *Dump) PID() (uint32, bool) {
	if d.MiscInfo != nil && d.MiscInfo.ProcessID != nil {
		return *d.MiscInfo.ProcessID, true
	}
	if d.Linux.ProcStatus == nil {
		return 0, false
	}
	// minidump-stackwalk reports 0 for a missing or malformed Pid line.
	v, _ := d.Linux.ProcStatusField("Pid")
	pid, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		return 0, true
	}
	return uint32(pid), true
}

// ProcessUptime is the dump time minus the process creation time, in
// seconds, when the dump records process times (0 if the clock went
// backwards, as minidump-stackwalk saturates).
func (d *Dump) ProcessUptime() (uint64, bool) {
	if d.MiscInfo == nil || d.MiscInfo.ProcessCreateTime == nil {
		return 0, false
	}
	now, created := d.Header.TimeDateStamp, *d.MiscInfo.ProcessCreateTime
	if now < created {
		return 0, true
	}
	return uint64(now - created), true
}

// BreakpadInfo is Breakpad's MDRawBreakpadInfo.
type BreakpadInfo struct {
	Validity uint32
	// DumpThreadID is the thread that wrote the dump (nil if invalid).
	DumpThreadID *uint32
	// RequestingThreadID is the thread that crashed or asked for the
	// dump (nil if invalid).
	RequestingThreadID *uint32
}

func (d *Dump) readBreakpadInfo(p []byte) error {
	c := d.cur(p)
	b := &BreakpadInfo{Validity: c.u32()}
	dump, req := c.u32(), c.u32()
	if c.bad {
		return errors.New("truncated")
	}
	if b.Validity&1 != 0 {
		b.DumpThreadID = &dump
	}
	if b.Validity&2 != 0 {
		b.RequestingThreadID = &req
	}
	d.BreakpadInfo = b
	return nil
}

// Assertion is Breakpad's MDRawAssertionInfo (an invalid-parameter or pure
// virtual call report on Windows).
type Assertion struct {
	Expression string
	Function   string
	File       string
	Line       uint32
	Type       uint32
}

// Assertion types.
const (
	AssertionUnknown          = 0
	AssertionInvalidParameter = 1
	AssertionPureVirtualCall  = 2
)

func (d *Dump) readAssertion(p []byte) error {
	c := d.cur(p)
	a := &Assertion{
		Expression: decodeUTF16NUL(c.take(256), d),
		Function:   decodeUTF16NUL(c.take(256), d),
		File:       decodeUTF16NUL(c.take(256), d),
		Line:       c.u32(),
		Type:       c.u32(),
	}
	if c.bad {
		return errors.New("truncated")
	}
	d.Assertion = a
	return nil
}

// String is minidump-stackwalk's crash_info.assertion text.
func (a *Assertion) String() string {
	s := ""
	switch a.Type {
	case AssertionInvalidParameter:
		s = "Invalid parameter passed to library function"
	case AssertionPureVirtualCall:
		s = "Pure virtual function called"
	default:
		s = fmt.Sprintf("Unknown assertion type 0x%08x", a.Type)
	}
	if a.Expression != "" || a.Function != "" || a.File != "" {
		s += fmt.Sprintf(" %s in %s, %s:%d", a.Expression, a.Function, a.File, a.Line)
	}
	return s
}
