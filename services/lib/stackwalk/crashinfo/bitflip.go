package crashinfo

import (
	"sort"

	"github.com/crashstream/crashstream/services/lib/minidump"
)

// region is one mapping of the process: [start, end] inclusive.
type region struct {
	start, end uint64
	r, w, x    bool
}

// memMap is the process's memory map, from the MemoryInfoList stream
// (Windows, macOS) or else /proc/self/maps (Linux), sorted by address. As
// in minidump-stackwalk, overlapping entries keep the first.
type memMap struct{ regions []region }

// Windows page protections.
const (
	pageExecute          = 0x10
	pageExecuteRead      = 0x20
	pageExecuteReadWrite = 0x40
	pageExecuteWriteCopy = 0x80
	pageReadOnly         = 0x02
	pageReadWrite        = 0x04
	pageWriteCopy        = 0x08
)

func memoryMap(d *minidump.Dump) memMap {
	var rs []region
	if len(d.MemoryInfo) > 0 {
		for _, m := range d.MemoryInfo {
			if m.RegionSize == 0 || m.BaseAddress+m.RegionSize-1 < m.BaseAddress {
				continue
			}
			p := m.Protection
			rs = append(rs, region{start: m.BaseAddress, end: m.BaseAddress + m.RegionSize - 1,
				r: p&(pageReadOnly|pageReadWrite|pageExecuteRead|pageExecuteReadWrite) != 0,
				w: p&(pageReadWrite|pageWriteCopy|pageExecuteReadWrite|pageExecuteWriteCopy) != 0,
				x: p&(pageExecute|pageExecuteRead|pageExecuteReadWrite|pageExecuteWriteCopy) != 0})
		}
	} else if maps, err := d.Linux.ParseMaps(); err == nil {
		for _, m := range maps {
			if m.End <= m.Start {
				continue
			}
			p := m.Perms + "----"
			rs = append(rs, region{start: m.Start, end: m.End - 1, r: p[0] == 'r', w: p[1] == 'w', x: p[2] == 'x'})
		}
	}
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].start < rs[j].start })
	kept := rs[:0]
	for _, r := range rs {
		if n := len(kept); n > 0 && r.start <= kept[n-1].end {
			continue
		}
		kept = append(kept, r)
	}
	return memMap{regions: kept}
}

// at returns the mapping holding addr.
func (m memMap) at(addr uint64) (region, bool) {
	i := sort.Search(len(m.regions), func(i int) bool { return m.regions[i].end >= addr })
	if i < len(m.regions) && m.regions[i].start <= addr {
		return m.regions[i], true
	}
	return region{}, false
}

func (r region) accessible() bool { return r.r || r.w || r.x }

// allows reports whether op ("r", "w", "x"; "" = unknown) may be allowed.
func (r region) allows(op string) bool {
	switch op {
	case "r":
		return r.r
	case "w":
		return r.w
	case "x":
		return r.x
	}
	return true
}

// guardMax is the largest mapping taken for a guard page (32 KiB).
const guardMax = 2 << 14

// guardPage reports an address in a small inaccessible mapping next to an
// accessible one: most likely an allocator's guard page.
func (m memMap) guardPage(addr uint64) bool {
	i := sort.Search(len(m.regions), func(i int) bool { return m.regions[i].end >= addr })
	if i >= len(m.regions) || m.regions[i].start > addr {
		return false
	}
	g := m.regions[i]
	if g.accessible() || g.end-g.start >= guardMax {
		return false
	}
	if i > 0 && m.regions[i-1].end+1 == g.start && m.regions[i-1].accessible() {
		return true
	}
	return i+1 < len(m.regions) && g.end+1 == m.regions[i+1].start && m.regions[i+1].accessible()
}

// distance is how far addr is from the closest mapping op may use.
func (m memMap) distance(addr uint64, op string) (uint64, bool) {
	best, found := uint64(0), false
	for _, r := range m.regions {
		if !r.allows(op) {
			continue
		}
		var d uint64
		switch {
		case addr < r.start:
			d = r.start - addr
		case addr > r.end:
			d = addr - r.end
		}
		if !found || d < best {
			best, found = d, true
		}
	}
	return best, found
}

// Bit flip heuristics, as minidump-stackwalk weighs them.
const (
	nearbyDistance = 1 << 12
	lowCutoff      = nearbyDistance * 2
)

func bitFlips(d *minidump.Dump, info *Info, ctx *minidump.Context, regs []string, m memMap,
	reason string, address uint64) []BitFlip {
	if d.SystemInfo == nil || d.SystemInfo.PointerSize() != 8 || d.SystemInfo.CPUArch() == "arm64" {
		return nil
	}
	lo, hi := 0, 64
	base := address
	switch {
	case info.Adjusted != nil && info.Adjusted.NonCanonical:
		lo, base = 48, info.Adjusted.Address
	case info.Adjusted != nil:
		return nil
	case d.SystemInfo.CPUArch() == "amd64":
		hi = 48
	}
	op := memoryOp(reason)
	size := 0
	for _, a := range info.Accesses {
		sz := uint64(a.Size)
		if address >= a.Address && address-a.Address < sz && a.Address+sz > a.Address {
			base, size = a.Address, a.Size
			break
		}
	}
	nonCanonical := lo == 48
	out := flipsOf(base, "", lo, hi, ctx, m, op, size, nonCanonical)
	if ctx != nil {
		for _, r := range regs {
			if v, ok := ctx.Get(r); ok {
				out = append(out, flipsOf(v, r, lo, hi, ctx, m, op, size, nonCanonical)...)
			}
		}
	}
	return out
}

func flipsOf(addr uint64, reg string, lo, hi int, ctx *minidump.Context, m memMap, op string, size int, nonCanonical bool) []BitFlip {
	var out []BitFlip
	if r, ok := m.at(addr); ok && r.allows(op) {
		return nil
	}
	if dist, ok := m.distance(addr, op); ok && size > 0 && dist < uint64(size) {
		// Within an access's size of valid memory: an overrun, not a flip.
		return nil
	}
	for i := lo; i < hi; i++ {
		cand := addr ^ (1 << uint(i))
		if cand == 0 {
			out = append(out, newFlip(cand, reg, addr, nonCanonical, ctx))
		}
		if r, ok := m.at(cand); ok && r.allows(op) {
			out = append(out, newFlip(cand, reg, addr, nonCanonical, ctx))
		}
	}
	return out
}

func newFlip(addr uint64, reg string, original uint64, nonCanonical bool, ctx *minidump.Context) BitFlip {
	f := BitFlip{Address: addr, Register: reg, WasNonCanonical: nonCanonical, IsNull: addr == 0}
	f.WasLow = f.IsNull && original <= lowCutoff
	if ctx != nil {
		size := ctx.PointerSize()
		for _, r := range ctx.Registers() {
			v, _ := ctx.Get(r.Name)
			if addr > lowCutoff && absDiff(addr, v) <= nearbyDistance {
				f.NearbyRegisters++
			}
			if !f.PoisonRegisters && repeated(v, size) && poisonByte(byte(v)) {
				f.PoisonRegisters = true
			}
		}
	}
	f.Confidence = confidence(&f)
	return f
}

func absDiff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}

// repeated reports a register that is one byte repeated across its width.
func repeated(v uint64, size int) bool {
	switch size {
	case 2:
		return v == (v&0xff)*0x0101
	case 4:
		return v == (v&0xff)*0x01010101
	case 8:
		return v == (v&0xff)*0x0101010101010101
	}
	return false
}

// poisonByte: fill patterns of allocators and of Firefox's poisoning.
func poisonByte(b byte) bool {
	switch b {
	case 0x2b, 0x2d, 0x2f, 0x49, 0x4b, 0x4d, 0x4f, 0x6b, 0x8b, 0x9b, 0x9f, 0xa5, 0xbb, 0xcc, 0xcd, 0xce, 0xdb, 0xe5:
		return true
	}
	return false
}

// confidence combines the heuristics in float32, as minidump-stackwalk
// does, so the printed value is the same float64 widening of it.
func confidence(f *BitFlip) float32 {
	// Variables, not constants: the sums below must round in float32
	// like minidump-stackwalk's, not be folded exactly.
	high, medium, low := float32(0.90), float32(0.50), float32(0.25)
	values := []float32{low}
	if f.WasNonCanonical {
		values = append(values, high)
	}
	if f.IsNull {
		v := medium
		if f.WasLow {
			v *= medium
		}
		values = append(values, v)
	}
	if f.NearbyRegisters > 0 {
		n := min(int(f.NearbyRegisters), 4) - 1
		values = append(values, [4]float32{medium, medium + 0.05, medium + 0.1, medium + 0.15}[n])
	}
	prod := float32(1)
	for _, v := range values {
		prod *= 1 - v
	}
	c := 1 - prod
	if f.PoisonRegisters {
		c *= medium
	}
	return c
}
