package symbols

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"unsafe"
)

// A snapshot is a parsed SymbolFile written in a compact binary form: the
// string arena followed by every table as fixed-size little-endian
// records. Loading one costs a read and a decode loop instead of a text
// parse (about ten times faster), so the disk cache keeps a snapshot next
// to every .sym file it parsed and a restarted processor, or one whose
// memory cache evicted a huge file, gets it back quickly.

// snapshotMagic starts every snapshot; the digits are the format version.
const snapshotMagic = "CSSYMC01"

// ErrBadSnapshot reports a snapshot that is truncated, from another
// version, or inconsistent; the caller falls back to the .sym text.
var ErrBadSnapshot = errors.New("symbols: bad snapshot")

// maxSnapshotRecords bounds every table count read from a snapshot.
const maxSnapshotRecords = 1 << 31

// WriteSnapshot writes s in snapshot form.
func (s *SymbolFile) WriteSnapshot(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	e := snapEncoder{w: bw}
	e.raw([]byte(snapshotMagic))
	for _, str := range []string{s.Module.OS, s.Module.Arch, s.Module.DebugID, s.Module.Name, s.CodeID, s.CodeFile, s.URL, s.arena} {
		e.str(str)
	}
	e.u64(uint64(len(s.files)))
	for _, f := range s.files {
		e.u32(f.id, f.name.off, f.name.len)
	}
	e.u64(uint64(len(s.origins)))
	for _, f := range s.origins {
		e.u32(f.id, f.name.off, f.name.len)
	}
	e.u64(uint64(len(s.funcs)))
	for _, f := range s.funcs {
		e.u64(f.addr)
		e.u32(f.size, f.paramSize, f.name.off, f.name.len, f.linesLo, f.linesHi, f.inlLo, f.inlHi)
	}
	e.u64(uint64(s.lines.len()))
	for _, c := range s.lines.chunks {
		for _, l := range c {
			e.u32(l.off, l.size, l.line, l.file)
		}
	}
	e.u64(uint64(len(s.inlines)))
	for _, l := range s.inlines {
		e.u32(l.depth, l.off, l.size, l.callFile, l.callLine, l.origin)
	}
	e.u64(uint64(len(s.publics)))
	for _, p := range s.publics {
		e.u64(p.addr)
		e.u32(p.paramSize, p.name.off, p.name.len)
	}
	e.u64(uint64(len(s.cfi)))
	for _, c := range s.cfi {
		e.u64(c.addr)
		e.u32(c.size, c.rules.off, c.rules.len, c.deltaLo, c.deltaHi)
	}
	e.u64(uint64(len(s.cfiDeltas)))
	for _, d := range s.cfiDeltas {
		e.u64(d.addr)
		e.u32(d.rules.off, d.rules.len)
	}
	for _, tab := range [][]WinInfo{s.winData, s.winFPO} {
		e.u64(uint64(len(tab)))
		for _, w := range tab {
			e.u64(w.Addr)
			bp := uint32(0)
			if w.AllocatesBasePtr {
				bp = 1
			}
			e.u32(uint32(w.Type), w.Size, w.PrologSize, w.EpilogSize, w.ParamSize, w.SavedRegsSize, w.LocalsSize, w.MaxStackSize, bp)
			e.str(w.Program)
		}
	}
	e.raw([]byte(snapshotMagic)) // trailer: a truncated file fails to load
	if e.err != nil {
		return e.err
	}
	return bw.Flush()
}

type snapEncoder struct {
	w   *bufio.Writer
	buf [8]byte
	err error
}

func (e *snapEncoder) raw(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *snapEncoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:], v)
	e.raw(e.buf[:8])
}

func (e *snapEncoder) u32(vs ...uint32) {
	for _, v := range vs {
		binary.LittleEndian.PutUint32(e.buf[:], v)
		e.raw(e.buf[:4])
	}
}

func (e *snapEncoder) str(s string) {
	e.u64(uint64(len(s)))
	e.raw([]byte(s))
}

// ReadSnapshot loads a snapshot written by WriteSnapshot, validating every
// count and string reference so that a corrupt file cannot make lookups
// index out of range.
func ReadSnapshot(r io.Reader) (*SymbolFile, error) {
	d := snapDecoder{r: bufio.NewReaderSize(r, 1<<20)}
	if string(d.raw(len(snapshotMagic))) != snapshotMagic {
		return nil, fmt.Errorf("%w: magic", ErrBadSnapshot)
	}
	s := &SymbolFile{}
	for _, dst := range []*string{&s.Module.OS, &s.Module.Arch, &s.Module.DebugID, &s.Module.Name, &s.CodeID, &s.CodeFile, &s.URL, &s.arena} {
		*dst = d.str()
	}
	ref := func(off, n uint32) strRef {
		if uint64(off)+uint64(n) > uint64(len(s.arena)) {
			d.fail("string out of range")
		}
		return strRef{off: off, len: n}
	}
	for _, tab := range []*[]idName{&s.files, &s.origins} {
		n := d.count()
		*tab = make([]idName, 0, min(n, 1<<16))
		for i := uint64(0); i < n && d.err == nil; i++ {
			v := d.u32s(3)
			*tab = append(*tab, idName{id: v[0], name: ref(v[1], v[2])})
		}
	}
	n := d.count()
	s.funcs = make([]funcRec, 0, min(n, 1<<16))
	for i := uint64(0); i < n && d.err == nil; i++ {
		addr := d.u64()
		v := d.u32s(8)
		s.funcs = append(s.funcs, funcRec{addr: addr, size: v[0], paramSize: v[1], name: ref(v[2], v[3]),
			linesLo: v[4], linesHi: v[5], inlLo: v[6], inlHi: v[7]})
	}
	n = d.count()
	if n > math.MaxUint32 {
		d.fail("too many lines")
	}
	// Line records are most of a big file: decode them a block at a time.
	block := make([]byte, 16*4096)
	for left := n; left > 0 && d.err == nil; {
		k := min(left, 4096)
		b := block[:16*k]
		if _, err := io.ReadFull(d.r, b); err != nil {
			d.fail("truncated lines")
			break
		}
		for i := 0; i < len(b); i += 16 {
			s.lines.append(lineRec{off: binary.LittleEndian.Uint32(b[i:]), size: binary.LittleEndian.Uint32(b[i+4:]),
				line: binary.LittleEndian.Uint32(b[i+8:]), file: binary.LittleEndian.Uint32(b[i+12:])})
		}
		left -= k
	}
	n = d.count()
	s.inlines = make([]inlineRec, 0, min(n, 1<<16))
	for i := uint64(0); i < n && d.err == nil; i++ {
		v := d.u32s(6)
		s.inlines = append(s.inlines, inlineRec{depth: v[0], off: v[1], size: v[2], callFile: v[3], callLine: v[4], origin: v[5]})
	}
	n = d.count()
	s.publics = make([]publicRec, 0, min(n, 1<<16))
	for i := uint64(0); i < n && d.err == nil; i++ {
		addr := d.u64()
		v := d.u32s(3)
		s.publics = append(s.publics, publicRec{addr: addr, paramSize: v[0], name: ref(v[1], v[2])})
	}
	n = d.count()
	s.cfi = make([]cfiRec, 0, min(n, 1<<16))
	for i := uint64(0); i < n && d.err == nil; i++ {
		addr := d.u64()
		v := d.u32s(5)
		s.cfi = append(s.cfi, cfiRec{addr: addr, size: v[0], rules: ref(v[1], v[2]), deltaLo: v[3], deltaHi: v[4]})
	}
	n = d.count()
	s.cfiDeltas = make([]cfiDelta, 0, min(n, 1<<16))
	for i := uint64(0); i < n && d.err == nil; i++ {
		addr := d.u64()
		v := d.u32s(2)
		s.cfiDeltas = append(s.cfiDeltas, cfiDelta{addr: addr, rules: ref(v[0], v[1])})
	}
	for _, tab := range []*[]WinInfo{&s.winData, &s.winFPO} {
		n := d.count()
		*tab = make([]WinInfo, 0, min(n, 1<<16))
		for i := uint64(0); i < n && d.err == nil; i++ {
			addr := d.u64()
			v := d.u32s(9)
			*tab = append(*tab, WinInfo{Addr: addr, Type: uint8(v[0]), Size: v[1], PrologSize: v[2], EpilogSize: v[3],
				ParamSize: v[4], SavedRegsSize: v[5], LocalsSize: v[6], MaxStackSize: v[7], AllocatesBasePtr: v[8] == 1,
				Program: d.str()})
		}
	}
	if string(d.raw(len(snapshotMagic))) != snapshotMagic {
		d.fail("trailer")
	}
	if d.err != nil {
		return nil, d.err
	}
	if err := s.checkRanges(); err != nil {
		return nil, err
	}
	return s, nil
}

// checkRanges verifies the cross-table indices lookups rely on.
func (s *SymbolFile) checkRanges() error {
	for _, f := range s.funcs {
		if f.linesLo > f.linesHi || f.linesHi > s.lines.len() || f.inlLo > f.inlHi || int(f.inlHi) > len(s.inlines) {
			return fmt.Errorf("%w: function ranges", ErrBadSnapshot)
		}
	}
	for _, c := range s.cfi {
		if c.deltaLo > c.deltaHi || int(c.deltaHi) > len(s.cfiDeltas) {
			return fmt.Errorf("%w: cfi ranges", ErrBadSnapshot)
		}
	}
	return nil
}

type snapDecoder struct {
	r   *bufio.Reader
	buf [64]byte
	err error
}

func (d *snapDecoder) fail(msg string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrBadSnapshot, msg)
	}
}

func (d *snapDecoder) raw(n int) []byte {
	if d.err != nil || n > len(d.buf) {
		d.fail("read")
		return nil
	}
	if _, err := io.ReadFull(d.r, d.buf[:n]); err != nil {
		d.fail("truncated")
		return nil
	}
	return d.buf[:n]
}

func (d *snapDecoder) u64() uint64 {
	b := d.raw(8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func (d *snapDecoder) u32s(n int) [9]uint32 {
	var out [9]uint32
	b := d.raw(4 * n)
	if b == nil {
		return out
	}
	for i := 0; i < n; i++ {
		out[i] = binary.LittleEndian.Uint32(b[4*i:])
	}
	return out
}

// count reads a table length. Tables grow by appending, so a corrupt
// count costs no memory before the data runs out.
func (d *snapDecoder) count() uint64 {
	n := d.u64()
	if n > maxSnapshotRecords {
		d.fail("count")
		return 0
	}
	return n
}

// str reads a length-prefixed string.
func (d *snapDecoder) str() string {
	n := d.u64()
	if d.err != nil || n > MaxArenaBytes {
		d.fail("string length")
		return ""
	}
	b, err := io.ReadAll(io.LimitReader(d.r, int64(n)))
	if err != nil || uint64(len(b)) != n {
		d.fail("truncated string")
		return ""
	}
	if n == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
