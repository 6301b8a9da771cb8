package minidump

import (
	"errors"
	"fmt"
)

// CrashpadInfo is Crashpad's MinidumpCrashpadInfo stream: report and
// client ids, process-wide annotations and per-module annotations.
type CrashpadInfo struct {
	Version           uint32
	ReportID          GUID
	ClientID          GUID
	SimpleAnnotations map[string]string
	Modules           []CrashpadModule
}

// CrashpadModule holds the annotations one module registered.
type CrashpadModule struct {
	// ModuleIndex indexes Dump.Modules' source list (the ModuleList order).
	ModuleIndex       uint32
	Version           uint32
	ListAnnotations   []string
	SimpleAnnotations map[string]string
	AnnotationObjects []Annotation
}

// Annotation is a typed Crashpad annotation; Type 1 is a string.
type Annotation struct {
	Name  string
	Type  uint16
	Value []byte
}

// AnnotationString is the Crashpad annotation type for UTF-8 strings.
const AnnotationString = 1

// maxAnnotations caps every Crashpad list (real clients stay far below).
const maxAnnotations = 1 << 16

func (d *Dump) readCrashpadInfo(p []byte) error {
	c := d.cur(p)
	ci := &CrashpadInfo{Version: c.u32()}
	ci.ReportID = c.guid()
	ci.ClientID = c.guid()
	simple, mods := c.loc(), c.loc()
	if c.bad {
		return errors.New("truncated")
	}
	d.Crashpad = ci
	var errs []error
	var err error
	if ci.SimpleAnnotations, err = d.crashpadDict(simple); err != nil {
		errs = append(errs, fmt.Errorf("simple annotations: %w", err))
	}
	if mods.size == 0 {
		return errors.Join(errs...)
	}
	lp, ok := d.locData(mods)
	if !ok || len(lp) < 4 {
		return errors.Join(append(errs, errors.New("module list out of bounds"))...)
	}
	lc := d.cur(lp)
	n := lc.u32()
	if uint64(n)*12 > uint64(len(lp)-4) {
		return errors.Join(append(errs, fmt.Errorf("module list of %d entries exceeds its %d bytes", n, len(lp)))...)
	}
	for range n {
		m := CrashpadModule{ModuleIndex: lc.u32()}
		ml, ok := d.locData(lc.loc())
		if !ok {
			errs = append(errs, fmt.Errorf("module %d info out of bounds", m.ModuleIndex))
			continue
		}
		mc := d.cur(ml)
		m.Version = mc.u32()
		list, dict, objs := mc.loc(), mc.loc(), mc.loc()
		if mc.bad {
			// Version 1 records may stop after the simple annotations.
			if len(ml) < 20 {
				errs = append(errs, fmt.Errorf("module %d info truncated", m.ModuleIndex))
				continue
			}
			objs = location{}
		}
		if m.ListAnnotations, err = d.crashpadStringList(list); err != nil {
			errs = append(errs, fmt.Errorf("module %d list annotations: %w", m.ModuleIndex, err))
		}
		if m.SimpleAnnotations, err = d.crashpadDict(dict); err != nil {
			errs = append(errs, fmt.Errorf("module %d simple annotations: %w", m.ModuleIndex, err))
		}
		if m.AnnotationObjects, err = d.crashpadAnnotations(objs); err != nil {
			errs = append(errs, fmt.Errorf("module %d annotation objects: %w", m.ModuleIndex, err))
		}
		ci.Modules = append(ci.Modules, m)
	}
	return errors.Join(errs...)
}

// utf8At reads a MinidumpUTF8String (u32 length, bytes, NUL).
func (d *Dump) utf8At(rva uint32) (string, error) {
	b, err := d.byteArrayAt(rva)
	if err != nil {
		return "", err
	}
	if err := d.charge(len(b)); err != nil {
		return "", err
	}
	return string(b), nil
}

// byteArrayAt reads a u32-length-prefixed byte array.
func (d *Dump) byteArrayAt(rva uint32) ([]byte, error) {
	p, ok := d.slice(rva, 4)
	if !ok {
		return nil, fmt.Errorf("string at %#x out of bounds", rva)
	}
	n := d.ByteOrder.Uint32(p)
	if rva > ^uint32(0)-4 {
		return nil, fmt.Errorf("string at %#x out of bounds", rva)
	}
	b, ok := d.slice(rva+4, uint64(n))
	if !ok {
		return nil, fmt.Errorf("string of %d bytes at %#x out of bounds", n, rva)
	}
	return b, nil
}

func (d *Dump) crashpadCount(l location, entry int) (*cursor, uint32, error) {
	if l.size == 0 {
		return nil, 0, nil
	}
	p, ok := d.locData(l)
	if !ok || len(p) < 4 {
		return nil, 0, errors.New("out of bounds")
	}
	c := d.cur(p)
	n := c.u32()
	if n > maxAnnotations || uint64(n)*uint64(entry) > uint64(len(p)-4) {
		return nil, 0, fmt.Errorf("%d entries exceed %d bytes", n, len(p))
	}
	return c, n, nil
}

func (d *Dump) crashpadDict(l location) (map[string]string, error) {
	c, n, err := d.crashpadCount(l, 8)
	if err != nil || c == nil {
		return nil, err
	}
	out := make(map[string]string, n)
	var errs []error
	for range n {
		k, err1 := d.utf8At(c.u32())
		v, err2 := d.utf8At(c.u32())
		if err1 != nil || err2 != nil {
			errs = append(errs, errors.Join(err1, err2))
			continue
		}
		out[k] = v
	}
	return out, errors.Join(errs...)
}

func (d *Dump) crashpadStringList(l location) ([]string, error) {
	c, n, err := d.crashpadCount(l, 4)
	if err != nil || c == nil {
		return nil, err
	}
	out := make([]string, 0, n)
	var errs []error
	for range n {
		s, err := d.utf8At(c.u32())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, s)
	}
	return out, errors.Join(errs...)
}

func (d *Dump) crashpadAnnotations(l location) ([]Annotation, error) {
	c, n, err := d.crashpadCount(l, 12)
	if err != nil || c == nil {
		return nil, err
	}
	out := make([]Annotation, 0, n)
	var errs []error
	for range n {
		nameRVA, typ := c.u32(), c.u16()
		c.skip(2)
		valRVA := c.u32()
		name, err1 := d.utf8At(nameRVA)
		val, err2 := d.byteArrayAt(valRVA)
		if err1 != nil || err2 != nil {
			errs = append(errs, errors.Join(err1, err2))
			continue
		}
		out = append(out, Annotation{Name: name, Type: typ, Value: val})
	}
	return out, errors.Join(errs...)
}

// MemoryInfo is one MINIDUMP_MEMORY_INFO (a VirtualQuery result).
type MemoryInfo struct {
	BaseAddress          uint64
	AllocationBase       uint64
	AllocationProtection uint32
	RegionSize           uint64
	State                uint32
	Protection           uint32
	Type                 uint32
}

const memoryInfoSize = 48

func (d *Dump) readMemoryInfoList(p []byte) error {
	c := d.cur(p)
	hdr, entry, n := c.u32(), c.u32(), c.u64()
	if c.bad {
		return errors.New("header truncated")
	}
	if entry != memoryInfoSize {
		return fmt.Errorf("entry size %d, want %d", entry, memoryInfoSize)
	}
	if hdr < 16 || uint64(hdr) > uint64(len(p)) || n > (uint64(len(p))-uint64(hdr))/memoryInfoSize {
		return fmt.Errorf("%d entries after a %d byte header do not fit %d bytes", n, hdr, len(p))
	}
	c.off = int(hdr)
	d.MemoryInfo = make([]MemoryInfo, 0, n)
	for range n {
		mi := MemoryInfo{BaseAddress: c.u64(), AllocationBase: c.u64(), AllocationProtection: c.u32()}
		c.skip(4)
		mi.RegionSize, mi.State, mi.Protection, mi.Type = c.u64(), c.u32(), c.u32(), c.u32()
		c.skip(4)
		d.MemoryInfo = append(d.MemoryInfo, mi)
	}
	return nil
}
