package minidump

import (
	"errors"
	"fmt"
)

// Exception is MINIDUMP_EXCEPTION_STREAM. On Linux, Code is the signal
// number and Flags the si_code; on macOS, Code is the Mach exception type
// and Flags its code.
type Exception struct {
	ThreadID uint32
	Code     uint32
	Flags    uint32
	Record   uint64
	Address  uint64
	// Params is ExceptionInformation[:NumberParameters] (at most 15).
	Params []uint64
	// Context is the CPU state at the exception, nil if absent/unreadable.
	Context *Context
}

const maxExceptionParams = 15

func (d *Dump) readException(p []byte) error {
	c := d.cur(p)
	e := &Exception{ThreadID: c.u32()}
	c.skip(4)
	e.Code, e.Flags, e.Record, e.Address = c.u32(), c.u32(), c.u64(), c.u64()
	n := c.u32()
	c.skip(4)
	var info [maxExceptionParams]uint64
	for i := range info {
		info[i] = c.u64()
	}
	l := c.loc()
	if c.bad {
		return errors.New("truncated")
	}
	e.Params = info[:min(n, maxExceptionParams)]
	d.Exception = e
	ctx, err := d.context(l)
	if err != nil {
		return fmt.Errorf("context: %w", err)
	}
	e.Context = ctx
	return nil
}

// CrashReason is minidump-stackwalk's crash_info.type for the exception,
// "" without an Exception stream.
func (d *Dump) CrashReason() string {
	if d.Exception == nil {
		return ""
	}
	os, cpu := "", ""
	if d.SystemInfo != nil {
		os, cpu = d.SystemInfo.OS(), d.SystemInfo.CPUArch()
	}
	return CrashReason(os, cpu, d.Exception.Code, d.Exception.Flags, d.Exception.Params)
}

// CrashAddress is minidump-stackwalk's crash_info.address: for Windows
// access violations and in-page errors with two or more parameters, the
// faulting data address (Params[1]); otherwise the exception address,
// truncated to 32 bits on 32-bit CPUs.
func (d *Dump) CrashAddress() uint64 {
	e := d.Exception
	if e == nil {
		return 0
	}
	addr := e.Address
	if d.SystemInfo != nil && d.SystemInfo.OS() == "Windows NT" &&
		(e.Code == ExceptionAccessViolation || e.Code == ExceptionInPageError) && len(e.Params) >= 2 {
		addr = e.Params[1]
	}
	if d.SystemInfo != nil && d.SystemInfo.PointerSize() == 4 {
		addr &= 0xffffffff
	}
	return addr
}

// CrashingThread returns the id of the thread to report as crashing: the
// Exception's thread, else BreakpadInfo's requesting thread.
func (d *Dump) CrashingThread() (uint32, bool) {
	if d.Exception != nil {
		return d.Exception.ThreadID, true
	}
	if d.BreakpadInfo != nil && d.BreakpadInfo.RequestingThreadID != nil {
		return *d.BreakpadInfo.RequestingThreadID, true
	}
	return 0, false
}

// DumpThreadID is the thread that wrote the dump (its stack is the dump
// writer's own and minidump-stackwalk does not walk it).
func (d *Dump) DumpThreadID() (uint32, bool) {
	if d.BreakpadInfo != nil && d.BreakpadInfo.DumpThreadID != nil {
		return *d.BreakpadInfo.DumpThreadID, true
	}
	return 0, false
}
