package minidump

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// MemoryRegion is a range of the crashed process's memory captured in the
// dump. Data is nil when the range was listed but not captured.
type MemoryRegion struct {
	Base uint64
	Data []byte
	o    binary.ByteOrder
}

// Size is the captured length.
func (r *MemoryRegion) Size() uint64 { return uint64(len(r.Data)) }

// End is one past the last captured address.
func (r *MemoryRegion) End() uint64 { return r.Base + uint64(len(r.Data)) }

// Contains reports whether addr lies in the captured range.
func (r *MemoryRegion) Contains(addr uint64) bool {
	return addr >= r.Base && addr-r.Base < uint64(len(r.Data))
}

// Read returns n bytes at addr if they all lie in the region.
func (r *MemoryRegion) Read(addr uint64, n int) ([]byte, bool) {
	if n < 0 || addr < r.Base {
		return nil, false
	}
	off := addr - r.Base
	if off > uint64(len(r.Data)) || uint64(n) > uint64(len(r.Data))-off {
		return nil, false
	}
	return r.Data[off : off+uint64(n)], true
}

// U32 reads a 32-bit word at addr in the dump's byte order.
func (r *MemoryRegion) U32(addr uint64) (uint32, bool) {
	p, ok := r.Read(addr, 4)
	if !ok {
		return 0, false
	}
	return r.order().Uint32(p), true
}

// U64 reads a 64-bit word at addr in the dump's byte order.
func (r *MemoryRegion) U64(addr uint64) (uint64, bool) {
	p, ok := r.Read(addr, 8)
	if !ok {
		return 0, false
	}
	return r.order().Uint64(p), true
}

// Word reads a pointer-sized (4 or 8 byte) word at addr.
func (r *MemoryRegion) Word(addr uint64, size int) (uint64, bool) {
	if size == 4 {
		v, ok := r.U32(addr)
		return uint64(v), ok
	}
	return r.U64(addr)
}

func (r *MemoryRegion) order() binary.ByteOrder {
	if r.o == nil {
		return binary.LittleEndian
	}
	return r.o
}

// Memory indexes captured memory by address. Regions are sorted and do not
// overlap: a region overlapping an earlier one is dropped, as
// rust-minidump's range map does.
type Memory struct {
	regions []MemoryRegion
}

// Regions lists the captured regions in address order.
func (m *Memory) Regions() []MemoryRegion { return m.regions }

// Region returns the region containing addr.
func (m *Memory) Region(addr uint64) (*MemoryRegion, bool) {
	i := sort.Search(len(m.regions), func(i int) bool { return m.regions[i].End() > addr })
	if i < len(m.regions) && m.regions[i].Contains(addr) {
		return &m.regions[i], true
	}
	return nil, false
}

// Read returns n bytes at addr when one region holds them all.
func (m *Memory) Read(addr uint64, n int) ([]byte, bool) {
	r, ok := m.Region(addr)
	if !ok {
		return nil, false
	}
	return r.Read(addr, n)
}

// U32 reads a 32-bit word at addr.
func (m *Memory) U32(addr uint64) (uint32, bool) {
	r, ok := m.Region(addr)
	if !ok {
		return 0, false
	}
	return r.U32(addr)
}

// U64 reads a 64-bit word at addr.
func (m *Memory) U64(addr uint64) (uint64, bool) {
	r, ok := m.Region(addr)
	if !ok {
		return 0, false
	}
	return r.U64(addr)
}

// add inserts regions and rebuilds the sorted, non-overlapping index.
func (m *Memory) add(rs []MemoryRegion) {
	all := append(m.regions, rs...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].Base < all[j].Base })
	out := all[:0]
	for _, r := range all {
		if len(r.Data) == 0 || r.Base+uint64(len(r.Data)) < r.Base {
			continue
		}
		if n := len(out); n > 0 && out[n-1].End() > r.Base {
			continue
		}
		out = append(out, r)
	}
	m.regions = out
}

// memoryDescriptor reads a MINIDUMP_MEMORY_DESCRIPTOR's region. A zero
// size or rva means the memory was not captured.
func (d *Dump) memoryDescriptor(c *cursor) (MemoryRegion, error) {
	base := c.u64()
	l := c.loc()
	r := MemoryRegion{Base: base, o: d.ByteOrder}
	if l.size == 0 || l.rva == 0 {
		return r, nil
	}
	p, ok := d.locData(l)
	if !ok {
		return r, fmt.Errorf("memory at %#x: %d bytes at rva %#x out of bounds", base, l.size, l.rva)
	}
	r.Data = p
	return r, nil
}

func (d *Dump) readMemoryList(p []byte) error {
	n, off, err := listCount(p, d.ByteOrder, 16)
	if err != nil {
		return err
	}
	c := d.cur(p)
	c.off = off
	rs := make([]MemoryRegion, 0, n)
	var errs []error
	for range n {
		r, err := d.memoryDescriptor(c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rs = append(rs, r)
	}
	d.Memory.add(rs)
	return errors.Join(errs...)
}

func (d *Dump) readMemory64List(p []byte) error {
	c := d.cur(p)
	n, rva := c.u64(), c.u64()
	if c.bad {
		return errors.New("header truncated")
	}
	if n > uint64(len(p)-16)/16 {
		return fmt.Errorf("%d entries do not fit a %d byte stream", n, len(p))
	}
	rs := make([]MemoryRegion, 0, n)
	for range n {
		base, size := c.u64(), c.u64()
		if rva > uint64(len(d.data)) || size > uint64(len(d.data))-rva {
			d.Memory.add(rs)
			return fmt.Errorf("memory at %#x: %d bytes at rva %#x out of bounds", base, size, rva)
		}
		rs = append(rs, MemoryRegion{Base: base, Data: d.data[rva : rva+size], o: d.ByteOrder})
		rva += size
	}
	d.Memory.add(rs)
	return nil
}
