package minidump

import (
	"errors"
	"fmt"
)

// MacCrashInfo is Mozilla's macOS crash info stream: the
// __crash_info sections of the loaded images.
type MacCrashInfo struct {
	Records []MacCrashInfoRecord
}

// MacCrashInfoRecord is one module's crash annotations.
type MacCrashInfoRecord struct {
	Version         uint64
	Thread          uint64
	DialogMode      uint64
	AbortCause      uint64 // version 5 and later
	ModulePath      string
	Message         string
	SignatureString string
	Backtrace       string
	Message2        string
}

const (
	maxMacCrashRecords = 20
	macCrashStringMax  = 8192
)

func (d *Dump) readMacCrashInfo(p []byte) error {
	c := d.cur(p)
	c.skip(4) // stream_type
	n, start := c.u32(), c.u32()
	var locs [maxMacCrashRecords]location
	for i := range locs {
		locs[i] = c.loc()
	}
	if c.bad {
		return errors.New("truncated")
	}
	if n > maxMacCrashRecords {
		return fmt.Errorf("%d records, at most %d", n, maxMacCrashRecords)
	}
	mi := &MacCrashInfo{}
	d.MacCrashInfo = mi
	var errs []error
	for i := range n {
		rp, ok := d.locData(locs[i])
		if !ok {
			errs = append(errs, fmt.Errorf("record %d out of bounds", i))
			continue
		}
		rc := d.cur(rp)
		rc.skip(8) // stream_type (u64 here)
		r := MacCrashInfoRecord{Version: rc.u64(), Thread: rc.u64(), DialogMode: rc.u64()}
		if r.Version >= 5 {
			r.AbortCause = rc.u64()
		}
		if rc.bad || uint64(start) > uint64(len(rp)) {
			errs = append(errs, fmt.Errorf("record %d truncated", i))
			continue
		}
		// The strings follow the fixed part (record_start_size bytes) as
		// consecutive NUL-terminated UTF-8, each at most 8 KiB.
		rest := rp[start:]
		if r.Version < 4 {
			rest = nil
		}
		strs := []*string{&r.ModulePath, &r.Message, &r.SignatureString, &r.Backtrace, &r.Message2}
		for _, s := range strs {
			*s = cString(rest)
			if len(*s) > macCrashStringMax {
				errs = append(errs, fmt.Errorf("record %d: string longer than %d bytes", i, macCrashStringMax))
				*s = ""
				rest = nil
				continue
			}
			if len(*s) >= len(rest) {
				rest = nil
			} else {
				rest = rest[len(*s)+1:]
			}
		}
		mi.Records = append(mi.Records, r)
	}
	return errors.Join(errs...)
}

func (d *Dump) readMacBootargs(p []byte) error {
	c := d.cur(p)
	c.skip(4)      // stream_type
	rva := c.u64() // RVA64, packed right after the u32
	if c.bad {
		return errors.New("truncated")
	}
	if rva == 0 {
		return nil
	}
	if rva > uint64(^uint32(0)) {
		return fmt.Errorf("boot args rva %#x out of bounds", rva)
	}
	s, err := d.stringAt(uint32(rva))
	if err != nil {
		return err
	}
	d.MacBootargs = &s
	return nil
}
