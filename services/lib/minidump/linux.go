package minidump

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// LinuxStreams holds Breakpad's Linux streams as raw text (sub-slices of
// the input; nil when absent).
type LinuxStreams struct {
	CPUInfo    []byte // /proc/cpuinfo
	ProcStatus []byte // /proc/<pid>/status
	LSBRelease []byte // /etc/lsb-release (or os-release)
	CmdLine    []byte // /proc/<pid>/cmdline, NUL separated
	Environ    []byte // /proc/<pid>/environ, NUL separated
	Auxv       []byte // /proc/<pid>/auxv, binary
	Maps       []byte // /proc/<pid>/maps
	// DSODebug is the dynamic linker's r_debug/link_map, nil when absent.
	DSODebug *DSODebug
}

// ProcStatusField returns a "Key:\tvalue" line's trimmed value.
func (l *LinuxStreams) ProcStatusField(key string) (string, bool) {
	return listField(l.ProcStatus, ':', key)
}

// LSBField returns a KEY=value line's value (quotes stripped).
func (l *LinuxStreams) LSBField(key string) (string, bool) {
	return listField(l.LSBRelease, '=', key)
}

// CPUInfoField returns the first "key : value" of /proc/cpuinfo.
func (l *LinuxStreams) CPUInfoField(key string) (string, bool) {
	return listField(l.CPUInfo, ':', key)
}

// listField scans "label<sep>value" lines, trimming whitespace and
// surrounding quotes, as rust-minidump's linux_list_iter does.
func listField(b []byte, sep byte, key string) (string, bool) {
	for line := range bytes.Lines(b) {
		i := bytes.IndexByte(line, sep)
		if i < 0 {
			continue
		}
		if unquote(string(line[:i])) == key {
			return unquote(string(line[i+1:])), true
		}
	}
	return "", false
}

func unquote(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// DSODebug is MDRawDebug with its link map.
type DSODebug struct {
	Version uint32
	Brk     uint64
	LDBase  uint64
	Dynamic uint64
	Maps    []LinkMap
}

// LinkMap is one loaded object of the dynamic linker's list.
type LinkMap struct {
	Addr uint64
	Name string
	LD   uint64
}

// dsoLayout is one of the two MDRawDebug/MDRawLinkMap layouts in the wild:
// Breakpad's C++ writer aligns the u64 fields (40 and 24 bytes), the Rust
// minidump-writer packs them (36 and 20 bytes).
type dsoLayout struct {
	brk     int // offset of brk in MDRawDebug
	linkMap int // size of MDRawLinkMap
	ld      int // offset of ld in MDRawLinkMap
}

var (
	dsoAligned = dsoLayout{brk: 16, linkMap: 24, ld: 16}
	dsoPacked  = dsoLayout{brk: 12, linkMap: 20, ld: 12}
)

// readDSODebug reads the stream with the layout under which the link-map
// names resolve: the aligned one first when its padding word is zero.
func (d *Dump) readDSODebug(p []byte) error {
	if len(p) < 12+24 {
		return errors.New("truncated")
	}
	first, second := dsoPacked, dsoAligned
	if d.ByteOrder.Uint32(p[12:]) == 0 {
		first, second = dsoAligned, dsoPacked
	}
	dd, err := d.parseDSODebug(p, first)
	if err != nil {
		if dd2, err2 := d.parseDSODebug(p, second); err2 == nil {
			dd, err = dd2, nil
		}
	}
	d.Linux.DSODebug = dd
	return err
}

func (d *Dump) parseDSODebug(p []byte, l dsoLayout) (*DSODebug, error) {
	c := d.cur(p)
	dd := &DSODebug{Version: c.u32()}
	mapRVA, count := c.u32(), c.u32()
	c.off = l.brk
	dd.Brk, dd.LDBase, dd.Dynamic = c.u64(), c.u64(), c.u64()
	if c.bad {
		return dd, errors.New("truncated")
	}
	maps, ok := d.slice(mapRVA, uint64(count)*uint64(l.linkMap))
	if !ok {
		return dd, fmt.Errorf("%d link maps at %#x out of bounds", count, mapRVA)
	}
	var errs []error
	for i := range int(count) {
		mc := d.cur(maps[i*l.linkMap : (i+1)*l.linkMap])
		lm := LinkMap{Addr: mc.u64()}
		nameRVA := mc.u32()
		mc.off = l.ld
		lm.LD = mc.u64()
		if nameRVA != 0 {
			name, err := d.stringAt(nameRVA)
			if err != nil {
				errs = append(errs, err)
			}
			lm.Name = name
		}
		dd.Maps = append(dd.Maps, lm)
	}
	return dd, errors.Join(errs...)
}

// LinuxMap is one /proc/<pid>/maps line.
type LinuxMap struct {
	Start, End uint64
	Perms      string // e.g. "r-xp"
	Offset     uint64
	Dev        string // "major:minor"
	Inode      uint64
	Path       string // may be empty, "[stack]", "/lib/x.so (deleted)", ...
}

// maxMaps caps the parsed maps lines (real processes have < 100 000).
const maxMaps = 1 << 20

// ParseMaps parses the LinuxMaps stream. Like minidump-stackwalk (which
// uses procfs's strict parser), any malformed line fails the whole stream.
func (l *LinuxStreams) ParseMaps() ([]LinuxMap, error) {
	if l.Maps == nil {
		return nil, nil
	}
	var out []LinuxMap
	n := 0
	for line := range bytes.Lines(l.Maps) {
		s := strings.TrimRight(string(line), "\n")
		if s == "" {
			continue
		}
		if n++; n > maxMaps {
			return nil, fmt.Errorf("more than %d maps lines", maxMaps)
		}
		m, err := parseMapsLine(s)
		if err != nil {
			return nil, fmt.Errorf("maps line %d: %w", n, err)
		}
		out = append(out, m)
	}
	return out, nil
}

func parseMapsLine(s string) (LinuxMap, error) {
	var m LinuxMap
	fields := strings.Fields(s)
	if len(fields) < 5 {
		return m, fmt.Errorf("%q has %d fields", s, len(fields))
	}
	lo, hi, ok := strings.Cut(fields[0], "-")
	if !ok {
		return m, fmt.Errorf("bad range %q", fields[0])
	}
	var err error
	if m.Start, err = strconv.ParseUint(lo, 16, 64); err != nil {
		return m, err
	}
	if m.End, err = strconv.ParseUint(hi, 16, 64); err != nil {
		return m, err
	}
	if len(fields[1]) != 4 {
		return m, fmt.Errorf("bad permissions %q", fields[1])
	}
	m.Perms = fields[1]
	if m.Offset, err = strconv.ParseUint(fields[2], 16, 64); err != nil {
		return m, err
	}
	if _, _, ok := strings.Cut(fields[3], ":"); !ok {
		return m, fmt.Errorf("bad device %q", fields[3])
	}
	m.Dev = fields[3]
	if m.Inode, err = strconv.ParseUint(fields[4], 10, 64); err != nil {
		return m, err
	}
	// The path is the rest of the line after the inode, spaces included.
	m.Path = strings.TrimSpace(skipFields(s, 5))
	return m, nil
}

// skipFields returns s after its first n space-separated fields.
func skipFields(s string, n int) string {
	for range n {
		s = strings.TrimLeft(s, " \t")
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return ""
		}
		s = s[i:]
	}
	return s
}
