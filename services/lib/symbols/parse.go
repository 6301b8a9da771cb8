package symbols

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"unsafe"
)

// MaxLineBytes bounds one .sym line. Longer lines (rare, huge C++ names) are
// skipped like rust-minidump does, so one bad line does not cost the file.
const MaxLineBytes = 1 << 20

// MaxArenaBytes bounds the strings one parsed file may hold (arena offsets
// are 32-bit).
const MaxArenaBytes = math.MaxUint32

// ParseError reports a malformed .sym line. Like rust-minidump, one corrupt
// top-level line rejects the whole file: the module is then reported with
// corrupt symbols instead of silently wrong ones.
type ParseError struct {
	Line int64
	Msg  string
}

// Error implements error.
func (e *ParseError) Error() string {
	return fmt.Sprintf("sym line %d: %s", e.Line, e.Msg)
}

// ErrEmptyFile is returned for a .sym file with no content.
var ErrEmptyFile = errors.New("empty symbol file")

type itemKind uint8

const (
	itemNone itemKind = iota
	itemFunc
	itemCFI
)

type parser struct {
	sf    *SymbolFile
	arena []byte
	// rules interns CFI rule texts: compilers emit the same few rules
	// (".cfa: $rsp 16 +") for most functions.
	rules   map[string]strRef
	lineNo  int64
	cur     itemKind
	curFunc funcRec
	curCFI  cfiRec
	// winData/winFPO are raw STACK WIN records before overlap repair.
	winData, winFPO []WinInfo
}

// Parse reads a .sym file as a stream: memory grows with the records kept,
// never with the file size.
func Parse(r io.Reader) (*SymbolFile, error) {
	p := &parser{sf: &SymbolFile{}, rules: map[string]strRef{}}
	br := bufio.NewReaderSize(r, 256<<10)
	var long []byte // accumulates a line longer than the buffer
	consumed := false
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long)+len(chunk) <= MaxLineBytes {
				long = append(long, chunk...)
			} else {
				long = long[:0:0]
				if err := skipLine(br); err != nil && !errors.Is(err, io.EOF) {
					return nil, err
				}
				p.lineNo++
			}
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		line := chunk
		if len(long) > 0 {
			long = append(long, chunk...)
			line = long
		}
		if len(line) > 0 {
			consumed = true
			if perr := p.line(trimEOL(line)); perr != nil {
				return nil, perr
			}
			p.lineNo++
		}
		long = long[:0]
		if err != nil { // io.EOF
			break
		}
	}
	if !consumed {
		return nil, ErrEmptyFile
	}
	return p.finish()
}

func skipLine(br *bufio.Reader) error {
	for {
		_, err := br.ReadSlice('\n')
		if !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
	}
}

func trimEOL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func (p *parser) errf(format string, args ...any) error {
	return &ParseError{Line: p.lineNo + 1, Msg: fmt.Sprintf(format, args...)}
}

// maxInternedRules bounds the CFI rule dedup map.
const maxInternedRules = 1 << 20

// internRule stores a CFI rule text once.
func (p *parser) internRule(b []byte) (strRef, error) {
	if r, ok := p.rules[string(b)]; ok {
		return r, nil
	}
	r, err := p.intern(b)
	if err == nil && len(p.rules) < maxInternedRules {
		p.rules[string(b)] = r
	}
	return r, err
}

func (p *parser) intern(b []byte) (strRef, error) {
	if uint64(len(p.arena))+uint64(len(b)) > MaxArenaBytes {
		return strRef{}, p.errf("symbol file strings exceed %d bytes", uint64(MaxArenaBytes))
	}
	r := strRef{off: uint32(len(p.arena)), len: uint32(len(b))}
	p.arena = append(p.arena, b...)
	return r, nil
}

// cursor splits a line into space-separated fields.
type cursor struct{ b []byte }

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

// tag consumes a keyword followed by at least one space.
func (c *cursor) tag(kw string) bool {
	if len(c.b) <= len(kw) || string(c.b[:len(kw)]) != kw || !isSpace(c.b[len(kw)]) {
		return false
	}
	c.b = c.b[len(kw):]
	c.skipSpace()
	return true
}

func (c *cursor) skipSpace() {
	for len(c.b) > 0 && isSpace(c.b[0]) {
		c.b = c.b[1:]
	}
}

// field returns the next non-space token; the remainder must be separated by
// spaces (or be empty when last is true).
func (c *cursor) field() []byte {
	i := 0
	for i < len(c.b) && !isSpace(c.b[i]) {
		i++
	}
	f := c.b[:i]
	c.b = c.b[i:]
	c.skipSpace()
	return f
}

// rest returns the rest of the line (a name may contain spaces).
func (c *cursor) rest() []byte {
	r := c.b
	c.b = nil
	return r
}

func parseHex(f []byte, bits int) (uint64, bool) {
	if len(f) == 0 || len(f) > bits/4 {
		return 0, false
	}
	var v uint64
	for _, ch := range f {
		var d byte
		switch {
		case ch >= '0' && ch <= '9':
			d = ch - '0'
		case ch >= 'a' && ch <= 'f':
			d = ch - 'a' + 10
		case ch >= 'A' && ch <= 'F':
			d = ch - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return v, true
}

func parseDec(f []byte) (uint32, bool) {
	if len(f) == 0 || len(f) > 10 {
		return 0, false
	}
	var v uint64
	for _, ch := range f {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		v = v*10 + uint64(ch-'0')
	}
	if v > math.MaxUint32 {
		return 0, false
	}
	return uint32(v), true
}

// hexes parses len(widths) hex fields of the given bit widths, without
// allocating (this is the hot path of parsing).
func (c *cursor) hexes(widths ...int) ([8]uint64, bool) {
	var out [8]uint64
	for i, w := range widths {
		v, ok := parseHex(c.field(), w)
		if !ok {
			return out, false
		}
		out[i] = v
	}
	return out, true
}

func (p *parser) line(b []byte) error {
	switch p.cur {
	case itemFunc:
		ok, err := p.funcSubline(b)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		p.finishFunc()
	case itemCFI:
		c := cursor{b}
		if c.tag("STACK") && c.tag("CFI") && !bytes.HasPrefix(c.b, []byte("INIT")) {
			addr, ok := parseHex(c.field(), 64)
			if !ok || len(c.b) == 0 {
				return p.errf("bad STACK CFI record")
			}
			r, err := p.internRule(c.rest())
			if err != nil {
				return err
			}
			p.sf.cfiDeltas = append(p.sf.cfiDeltas, cfiDelta{addr: addr, rules: r})
			return nil
		}
		p.finishCFI()
	}
	if len(b) == 0 {
		return nil
	}
	c := cursor{b}
	switch {
	case c.tag("MODULE"):
		if p.lineNo != 0 {
			return p.errf("MODULE record after the first line")
		}
		os, arch := c.field(), c.field()
		id := c.field()
		if len(os) == 0 || len(arch) == 0 || len(id) == 0 {
			return p.errf("bad MODULE record")
		}
		for _, ch := range id {
			if _, ok := parseHex([]byte{ch}, 4); !ok {
				return p.errf("bad MODULE debug id")
			}
		}
		p.sf.Module = Module{OS: string(os), Arch: string(arch), DebugID: string(id), Name: string(c.rest())}
	case c.tag("INFO"):
		switch {
		case c.tag("URL"):
			p.sf.URL = string(c.rest())
		case c.tag("CODE_ID"):
			p.sf.CodeID = string(c.field())
			p.sf.CodeFile = string(c.rest())
		}
	case c.tag("FILE"):
		id, ok := parseDec(c.field())
		if !ok {
			return p.errf("bad FILE record")
		}
		r, err := p.intern(c.rest())
		if err != nil {
			return err
		}
		p.sf.files = append(p.sf.files, idName{id: id, name: r})
	case c.tag("INLINE_ORIGIN"):
		return p.inlineOrigin(&c)
	case c.tag("PUBLIC"):
		c.tag("m")
		v, ok := c.hexes(64, 32)
		if !ok {
			return p.errf("bad PUBLIC record")
		}
		r, err := p.intern(c.rest())
		if err != nil {
			return err
		}
		p.sf.publics = append(p.sf.publics, publicRec{addr: v[0], paramSize: uint32(v[1]), name: r})
	case c.tag("FUNC"):
		c.tag("m")
		v, ok := c.hexes(64, 32, 32)
		if !ok {
			return p.errf("bad FUNC record")
		}
		r, err := p.intern(c.rest())
		if err != nil {
			return err
		}
		n := p.sf.lines.len()
		m := uint32(len(p.sf.inlines))
		p.curFunc = funcRec{addr: v[0], size: uint32(v[1]), paramSize: uint32(v[2]), name: r,
			linesLo: n, linesHi: n, inlLo: m, inlHi: m}
		p.cur = itemFunc
	case c.tag("STACK"):
		switch {
		case c.tag("WIN"):
			return p.stackWin(&c)
		case c.tag("CFI"):
			if !c.tag("INIT") {
				return p.errf("STACK CFI record without STACK CFI INIT")
			}
			v, ok := c.hexes(64, 32)
			if !ok || len(c.b) == 0 {
				return p.errf("bad STACK CFI INIT record")
			}
			r, err := p.internRule(c.rest())
			if err != nil {
				return err
			}
			n := uint32(len(p.sf.cfiDeltas))
			p.curCFI = cfiRec{addr: v[0], size: uint32(v[1]), rules: r, deltaLo: n}
			p.cur = itemCFI
		default:
			return p.errf("unknown STACK record")
		}
	default:
		return p.errf("unknown record %.20q", b)
	}
	return nil
}

func (p *parser) inlineOrigin(c *cursor) error {
	id, ok := parseDec(c.field())
	if !ok {
		return p.errf("bad INLINE_ORIGIN record")
	}
	r, err := p.intern(c.rest())
	if err != nil {
		return err
	}
	p.sf.origins = append(p.sf.origins, idName{id: id, name: r})
	return nil
}

// funcSubline parses a line following FUNC. ok is false when the line is
// not a subline (it ends the function and is parsed as a top-level record).
func (p *parser) funcSubline(b []byte) (ok bool, err error) {
	c := cursor{b}
	f := &p.curFunc
	if len(b) > 0 && b[0] != 'I' {
		return p.lineRecord(&c), nil
	}
	switch {
	case c.tag("INLINE_ORIGIN"):
		return true, p.inlineOrigin(&c)
	case c.tag("INLINE"):
		var hdr [4]uint32
		for i := range hdr {
			v, ok := parseDec(c.field())
			if !ok {
				return false, p.errf("bad INLINE record")
			}
			hdr[i] = v
		}
		n := 0
		for len(c.b) > 0 {
			v, ok := c.hexes(64, 32)
			if !ok {
				return false, p.errf("bad INLINE address range")
			}
			n++
			if v[0] < f.addr || v[0]-f.addr > math.MaxUint32 {
				continue // outside the function: never looked up
			}
			p.sf.inlines = append(p.sf.inlines, inlineRec{depth: hdr[0], callLine: hdr[1], callFile: hdr[2],
				origin: hdr[3], off: uint32(v[0] - f.addr), size: uint32(v[1])})
		}
		if n == 0 {
			return false, p.errf("INLINE record without address ranges")
		}
		f.inlHi = uint32(len(p.sf.inlines))
		return true, nil
	}
	return p.lineRecord(&c), nil
}

// lineRecord parses "<addr> <size> <line> <file>"; false means the line is
// not a line record.
func (p *parser) lineRecord(c *cursor) bool {
	f := &p.curFunc
	v, ok1 := c.hexes(64, 32)
	if !ok1 {
		return false
	}
	line, ok2 := parseDec(c.field())
	file, ok3 := parseDec(c.field())
	if !ok2 || !ok3 || len(c.b) != 0 {
		return false
	}
	// Zero-size lines (common in PDB output) and lines outside the function
	// can never answer a lookup.
	if v[1] == 0 || v[0] < f.addr || v[0]-f.addr > math.MaxUint32 {
		return true
	}
	p.sf.lines.append(lineRec{off: uint32(v[0] - f.addr), size: uint32(v[1]), line: line, file: file})
	f.linesHi = p.sf.lines.len()
	return true
}

func (p *parser) finishFunc() {
	p.cur = itemNone
	f := p.curFunc
	if f.size == 0 || f.addr+uint64(f.size) < f.addr {
		return
	}
	lines := lineRange{s: &p.sf.lines, lo: f.linesLo, hi: f.linesHi}
	if !sort.IsSorted(lines) { // compilers almost always emit them sorted
		sort.Stable(lines)
	}
	// Drop lines overlapping an earlier one, like rust-minidump's
	// into_rangemap_safe.
	kept := f.linesLo
	for i := f.linesLo; i < f.linesHi; i++ {
		l := *p.sf.lines.at(i)
		if kept > f.linesLo {
			last := p.sf.lines.at(kept - 1)
			if uint64(l.off) <= uint64(last.off)+uint64(last.size)-1 {
				continue
			}
		}
		*p.sf.lines.at(kept) = l
		kept++
	}
	f.linesHi = kept
	p.sf.lines.truncate(kept)
	inl := p.sf.inlines[f.inlLo:f.inlHi]
	sort.Slice(inl, func(i, j int) bool {
		a, b := inl[i], inl[j]
		if a.depth != b.depth {
			return a.depth < b.depth
		}
		if a.off != b.off {
			return a.off < b.off
		}
		if a.size != b.size {
			return a.size < b.size
		}
		if a.callFile != b.callFile {
			return a.callFile < b.callFile
		}
		if a.callLine != b.callLine {
			return a.callLine < b.callLine
		}
		return a.origin < b.origin
	})
	p.sf.funcs = append(p.sf.funcs, f)
}

func (p *parser) finishCFI() {
	p.cur = itemNone
	c := p.curCFI
	c.deltaHi = uint32(len(p.sf.cfiDeltas))
	if c.size == 0 || c.addr+uint64(c.size) < c.addr {
		p.sf.cfiDeltas = p.sf.cfiDeltas[:c.deltaLo]
		return
	}
	d := p.sf.cfiDeltas[c.deltaLo:c.deltaHi]
	arena := p.arena
	// dump_syms emits delta rows in address order; only sort when not.
	sorted := true
	for i := 1; i < len(d); i++ {
		if d[i].addr <= d[i-1].addr {
			sorted = false
			break
		}
	}
	if !sorted {
		sortDeltas(d, arena)
	}
	p.sf.cfi = append(p.sf.cfi, c)
}

func sortDeltas(d []cfiDelta, arena []byte) {
	sort.SliceStable(d, func(i, j int) bool {
		if d[i].addr != d[j].addr {
			return d[i].addr < d[j].addr
		}
		return string(arena[d[i].rules.off:d[i].rules.off+d[i].rules.len]) <
			string(arena[d[j].rules.off:d[j].rules.off+d[j].rules.len])
	})
}

func (p *parser) stackWin(c *cursor) error {
	ty := c.field()
	v, ok := c.hexes(64, 32, 32, 32, 32, 32, 32, 32)
	if !ok || len(ty) != 1 {
		return p.errf("bad STACK WIN record")
	}
	if _, ok := parseHex(ty, 4); !ok {
		return p.errf("bad STACK WIN type")
	}
	hasProg := c.field()
	if len(hasProg) != 1 || hasProg[0] < '0' || hasProg[0] > '9' {
		return p.errf("bad STACK WIN has_program_string")
	}
	rest := c.rest()
	w := WinInfo{Addr: v[0], Size: uint32(v[1]), PrologSize: uint32(v[2]), EpilogSize: uint32(v[3]),
		ParamSize: uint32(v[4]), SavedRegsSize: uint32(v[5]), LocalsSize: uint32(v[6]), MaxStackSize: uint32(v[7])}
	// A type that disagrees with has_program_string is corrupt: drop the
	// record, keep the file (rust-minidump does the same).
	if (ty[0] == '4') != (hasProg[0] == '1') {
		return nil
	}
	switch ty[0] {
	case '4':
		w.Type = 4
		w.Program = string(rest)
		p.winData = appendWin(p.winData, w)
	case '0':
		w.AllocatesBasePtr = string(rest) == "1"
		p.winFPO = appendWin(p.winFPO, w)
	}
	return nil
}

// appendWin repairs the overlaps PDB-derived STACK WIN data is full of: a
// record starting inside the previous one truncates it; an identical range
// is a duplicate; any other overlap drops the new record.
func appendWin(tab []WinInfo, w WinInfo) []WinInfo {
	if w.Size == 0 || w.Addr+uint64(w.Size) < w.Addr {
		return tab
	}
	if n := len(tab); n > 0 {
		last := &tab[n-1]
		lastEnd := last.Addr + uint64(last.Size) - 1
		end := w.Addr + uint64(w.Size) - 1
		if w.Addr <= lastEnd && last.Addr <= end {
			if w.Addr > last.Addr {
				last.Size = uint32(w.Addr - last.Addr)
			} else if w.Addr != last.Addr || end != lastEnd {
				return tab
			}
		}
	}
	return append(tab, w)
}

func (p *parser) finish() (*SymbolFile, error) {
	switch p.cur {
	case itemFunc:
		p.finishFunc()
	case itemCFI:
		p.finishCFI()
	}
	sf := p.sf
	if len(p.arena) > 0 {
		// The arena is never written again; share it as a string instead of
		// copying hundreds of megabytes.
		sf.arena = unsafe.String(&p.arena[0], len(p.arena))
	}
	sf.files = sortIDs(sf.files)
	sf.origins = sortIDs(sf.origins)

	sf.funcs = sortRanges(sf.funcs, func(f funcRec) (uint64, uint32) { return f.addr, f.size })

	pubLess := func(i, j int) bool {
		a, b := sf.publics[i], sf.publics[j]
		if a.addr != b.addr {
			return a.addr < b.addr
		}
		if an, bn := sf.str(a.name), sf.str(b.name); an != bn {
			return an < bn
		}
		return a.paramSize < b.paramSize
	}
	if !sort.SliceIsSorted(sf.publics, pubLess) {
		sort.SliceStable(sf.publics, pubLess)
	}

	sf.cfi = sortRanges(sf.cfi, func(c cfiRec) (uint64, uint32) { return c.addr, c.size })
	winSpan := func(w WinInfo) (uint64, uint32) { return w.Addr, w.Size }
	sf.winData = sortRanges(p.winData, winSpan)
	sf.winFPO = sortRanges(p.winFPO, winSpan)
	return sf, nil
}

// sortRanges sorts a table of address ranges (span gives a record's
// address and size) by address, then size, keeping the order of equal
// ones, and keeps it free of overlaps like rust-minidump's
// into_rangemap_safe: a range starting inside the previous kept one is
// dropped (whether a duplicate or a conflict), so lookups stay unambiguous.
func sortRanges[T any](tab []T, span func(T) (addr uint64, size uint32)) []T {
	order := func(a, b T) int {
		aAddr, aSize := span(a)
		bAddr, bSize := span(b)
		return cmp.Or(cmp.Compare(aAddr, bAddr), cmp.Compare(aSize, bSize))
	}
	if !slices.IsSortedFunc(tab, order) {
		slices.SortStableFunc(tab, order)
	}
	out := tab[:0]
	var lastEnd uint64
	for _, e := range tab {
		start, size := span(e)
		if len(out) > 0 && start <= lastEnd {
			continue
		}
		out = append(out, e)
		lastEnd = start + uint64(size) - 1
	}
	return out
}

// sortIDs sorts FILE/INLINE_ORIGIN entries by id; for a repeated id the
// later line wins, as in a map.
func sortIDs(tab []idName) []idName {
	sort.SliceStable(tab, func(i, j int) bool { return tab[i].id < tab[j].id })
	out := tab[:0]
	for _, e := range tab {
		if n := len(out); n > 0 && out[n-1].id == e.id {
			out[n-1] = e
			continue
		}
		out = append(out, e)
	}
	return out
}
