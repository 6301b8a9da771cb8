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

const maxMacCrashRecords = 20

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
		rc.skip(4) // stream_type
		r := MacCrashInfoRecord{Version: rc.u64(), Thread: rc.u64(), DialogMode: rc.u64()}
		if r.Version >= 5 {
			r.AbortCause = rc.u64()
		}
		if rc.bad || uint64(start) > uint64(len(rp)) {
			errs = append(errs, fmt.Errorf("record %d truncated", i))
			continue
		}
		// The strings follow the fixed part as consecutive NUL-terminated
		// UTF-8.
		rest := rp[start:]
		strs := []*string{&r.ModulePath, &r.Message, &r.SignatureString, &r.Backtrace, &r.Message2}
		for _, s := range strs {
			*s = cString(rest)
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
	c.skip(4) // stream_type
	rva := c.u32()
	if c.bad {
		return errors.New("truncated")
	}
	if rva == 0 {
		return nil
	}
	s, err := d.stringAt(rva)
	if err != nil {
		return err
	}
	d.MacBootargs = &s
	return nil
}
