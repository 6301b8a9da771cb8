// Package symbols reads Breakpad .sym files into compact, sorted tables and
// answers the two questions a stack walker asks of them: "what function,
// file and line is at this address" and "how do I recover the caller's
// registers here" (STACK CFI and STACK WIN). It also finds .sym files in
// local directories, an object store bucket and HTTP symbol servers, with an
// on-disk LRU cache and an in-memory cache in front of them.
//
// Symbol files reach hundreds of megabytes, so a parsed file keeps every
// string (names, paths, CFI rules) in one byte arena and every record in a
// flat slice of small fixed-size structs sorted by address: memory stays a
// small multiple of the bytes a lookup can return, and lookups are binary
// searches.
//
// Entry points: Parse reads one .sym file into a *SymbolFile (lookups by
// address, EvalCFI and EvalWin for unwinding); NewSupplier finds, caches
// and parses them by Key for a walk (Config holds its flags). Users: the
// stack walker (stackwalk), the processor, which builds the Supplier, the
// `stackwalk` tool command and the stackwalk compat suite. It imports
// nothing of crashstream.
package symbols

import (
	"sort"
)

// strRef locates a string inside a SymbolFile's arena.
type strRef struct {
	off, len uint32
}

// funcRec is one FUNC record. Its line and inline records are the ranges
// lines[linesLo:linesHi] and inlines[inlLo:inlHi].
type funcRec struct {
	addr      uint64
	size      uint32
	paramSize uint32
	name      strRef
	linesLo   uint32
	linesHi   uint32
	inlLo     uint32
	inlHi     uint32
}

// lineRec is one line record; off is relative to its function's address,
// which keeps the record at 16 bytes.
type lineRec struct {
	off  uint32
	size uint32
	line uint32
	file uint32
}

// inlineRec is one address range of an INLINE record, relative to its
// function's address. Within a function they are sorted by (depth, off).
type inlineRec struct {
	depth    uint32
	off      uint32
	size     uint32
	callFile uint32
	callLine uint32
	origin   uint32
}

// publicRec is one PUBLIC record.
type publicRec struct {
	addr      uint64
	paramSize uint32
	name      strRef
}

// cfiRec is one STACK CFI INIT record; its delta rows are
// cfiDeltas[deltaLo:deltaHi], sorted by address.
type cfiRec struct {
	addr    uint64
	size    uint32
	rules   strRef
	deltaLo uint32
	deltaHi uint32
}

// cfiDelta is one STACK CFI row following an INIT.
type cfiDelta struct {
	addr  uint64
	rules strRef
}

// idName maps a FILE or INLINE_ORIGIN number to its name.
type idName struct {
	id   uint32
	name strRef
}

// WinInfo is one STACK WIN record: how to unwind an x86 Windows frame.
type WinInfo struct {
	// Type is 4 (FrameData, with a program string) or 0 (FPO).
	Type             uint8
	Addr             uint64
	Size             uint32
	PrologSize       uint32
	EpilogSize       uint32
	ParamSize        uint32
	SavedRegsSize    uint32
	LocalsSize       uint32
	MaxStackSize     uint32
	Program          string // type 4 only
	AllocatesBasePtr bool   // type 0 only
}

// Module is the identity a .sym file declares on its MODULE line.
type Module struct {
	OS, Arch, DebugID, Name string
}

// SymbolFile is a parsed .sym file. It is immutable after parsing and safe
// for concurrent use.
type SymbolFile struct {
	Module Module
	// CodeID and CodeFile come from INFO CODE_ID.
	CodeID, CodeFile string
	// URL is the INFO URL line a cache adds to files it downloaded.
	URL string

	arena     string
	files     []idName // sorted by id
	origins   []idName // sorted by id
	funcs     []funcRec
	lines     lineStore
	inlines   []inlineRec
	publics   []publicRec
	cfi       []cfiRec
	cfiDeltas []cfiDelta
	winData   []WinInfo // STACK WIN 4
	winFPO    []WinInfo // STACK WIN 0
}

func (s *SymbolFile) str(r strRef) string {
	return s.arena[r.off : r.off+r.len]
}

func lookupName(tab []idName, id uint32) (strRef, bool) {
	i := sort.Search(len(tab), func(i int) bool { return tab[i].id >= id })
	if i < len(tab) && tab[i].id == id {
		return tab[i].name, true
	}
	return strRef{}, false
}

// Stats counts the records of a parsed file.
type Stats struct {
	Files, InlineOrigins, Funcs, Lines, Inlines, Publics, CFI, CFIDeltas, WinFrameData, WinFPO int
	ArenaBytes                                                                                 int
}

// Stats reports how many records the file holds (after overlap filtering).
func (s *SymbolFile) Stats() Stats {
	return Stats{
		Files: len(s.files), InlineOrigins: len(s.origins), Funcs: len(s.funcs), Lines: int(s.lines.len()),
		Inlines: len(s.inlines), Publics: len(s.publics), CFI: len(s.cfi), CFIDeltas: len(s.cfiDeltas),
		WinFrameData: len(s.winData), WinFPO: len(s.winFPO), ArenaBytes: len(s.arena),
	}
}

// SizeBytes estimates the memory the parsed file holds, for cache bounds.
func (s *SymbolFile) SizeBytes() int64 {
	n := int64(len(s.arena))
	n += int64(len(s.files)+len(s.origins)) * 12
	n += int64(len(s.funcs)) * 40
	n += int64(s.lines.len()) * 16
	n += int64(len(s.inlines)) * 24
	n += int64(len(s.publics)) * 24
	n += int64(len(s.cfi)) * 32
	n += int64(len(s.cfiDeltas)) * 16
	n += int64(len(s.winData)+len(s.winFPO)) * 72
	return n + 256
}

// InlineFrame is one inlined call covering an address.
type InlineFrame struct {
	Function string
	File     string // "" when unknown
	Line     uint32 // 0 when unknown
}

// Location is what a symbol file knows about one module-relative address.
type Location struct {
	// Function is empty when neither a FUNC nor a usable PUBLIC covers the
	// address; FunctionBase is then meaningless.
	Function     string
	FunctionBase uint64
	// ParamSize is the callee-popped parameter size, from STACK WIN when one
	// covers the address (it is more reliable than FUNC's), else FUNC/PUBLIC.
	ParamSize uint32
	// File and Line are the outermost source location; HasLine is false when
	// no line record covers the address.
	File    string
	Line    uint32
	HasLine bool
	// Inlines are the inlined calls at the address, deepest first.
	Inlines []InlineFrame
}

// findFunc returns the FUNC covering addr.
func (s *SymbolFile) findFunc(addr uint64) (*funcRec, bool) {
	i := sort.Search(len(s.funcs), func(i int) bool { return s.funcs[i].addr > addr }) - 1
	if i < 0 {
		return nil, false
	}
	f := &s.funcs[i]
	if addr-f.addr >= uint64(f.size) {
		return nil, false
	}
	return f, true
}

// HasFunction reports whether a named FUNC or usable PUBLIC covers addr. The
// stack scanner uses it to accept a candidate return address.
func (s *SymbolFile) HasFunction(addr uint64) bool {
	if f, ok := s.findFunc(addr); ok {
		return f.name.len > 0
	}
	if p, ok := s.findPublic(addr); ok {
		return p.name.len > 0
	}
	return false
}

// findPublic applies Breakpad's rule: the nearest PUBLIC at or below addr,
// unless a FUNC starts between that PUBLIC and addr (the PUBLIC must end
// before that FUNC).
func (s *SymbolFile) findPublic(addr uint64) (*publicRec, bool) {
	p, ok := s.findPublicNearest(addr)
	if !ok {
		return nil, false
	}
	j := sort.Search(len(s.funcs), func(j int) bool { return s.funcs[j].addr >= addr }) - 1
	if j >= 0 && p.addr <= s.funcs[j].addr {
		return nil, false
	}
	return p, true
}

// Lookup symbolizes a module-relative address. ok is false when nothing
// names the address.
func (s *SymbolFile) Lookup(addr uint64) (loc Location, ok bool) {
	f, found := s.findFunc(addr)
	if !found {
		p, found := s.findPublic(addr)
		if !found {
			return Location{}, false
		}
		return Location{Function: s.str(p.name), FunctionBase: p.addr, ParamSize: p.paramSize}, true
	}
	loc.Function = s.str(f.name)
	loc.FunctionBase = f.addr
	loc.ParamSize = f.paramSize
	if w, ok := findWin(s.winData, addr); ok {
		loc.ParamSize = w.ParamSize
	} else if w, ok := findWin(s.winFPO, addr); ok {
		loc.ParamSize = w.ParamSize
	}
	off := addr - f.addr // < f.size, fits in uint32
	lines := lineRange{s: &s.lines, lo: f.linesLo, hi: f.linesHi}
	inl := s.inlines[f.inlLo:f.inlHi]

	innerFile, innerLine, innerOK := uint32(0), uint32(0), false
	if l, ok := lines.find(uint32(off)); ok {
		innerFile, innerLine, innerOK = l.file, l.line, true
	}
	d0, hasInline := findInline(inl, 0, uint32(off))
	outerFile, outerLine, outerOK := innerFile, innerLine, innerOK
	if hasInline {
		outerFile, outerLine, outerOK = d0.callFile, d0.callLine, true
	}
	if outerOK {
		if name, ok := lookupName(s.files, outerFile); ok {
			loc.File = s.str(name)
			loc.Line = outerLine
			loc.HasLine = true
		}
	}
	if !hasInline {
		return loc, true
	}
	// Each inline frame's location is the call site of the next deeper
	// inline; the deepest uses the line record.
	var frames []InlineFrame
	origin := d0.origin
	for depth := uint32(1); ; depth++ {
		d, ok := findInline(inl, depth, uint32(off))
		if !ok {
			break
		}
		fr := InlineFrame{Line: d.callLine}
		if name, ok := lookupName(s.files, d.callFile); ok {
			fr.File = s.str(name)
		}
		if name, ok := lookupName(s.origins, origin); ok {
			fr.Function = s.str(name)
			frames = append(frames, fr)
		}
		origin = d.origin
	}
	last := InlineFrame{}
	if innerOK {
		if name, ok := lookupName(s.files, innerFile); ok {
			last.File = s.str(name)
		}
		last.Line = innerLine
	}
	if name, ok := lookupName(s.origins, origin); ok {
		last.Function = s.str(name)
		frames = append(frames, last)
	}
	// Deepest first, like the frames of a stack.
	for i, j := 0, len(frames)-1; i < j; i, j = i+1, j-1 {
		frames[i], frames[j] = frames[j], frames[i]
	}
	loc.Inlines = frames
	return loc, true
}

// findInline finds the inline range at depth covering off. Like Breakpad,
// only the nearest range starting at or below off is considered.
func findInline(inl []inlineRec, depth, off uint32) (*inlineRec, bool) {
	i := sort.Search(len(inl), func(i int) bool {
		return inl[i].depth > depth || (inl[i].depth == depth && inl[i].off > off)
	}) - 1
	if i < 0 {
		return nil, false
	}
	r := &inl[i]
	if r.depth != depth || uint64(off) >= uint64(r.off)+uint64(r.size) {
		return nil, false
	}
	return r, true
}

func findWin(tab []WinInfo, addr uint64) (*WinInfo, bool) {
	i := sort.Search(len(tab), func(i int) bool { return tab[i].Addr > addr }) - 1
	if i < 0 {
		return nil, false
	}
	w := &tab[i]
	if addr-w.Addr >= uint64(w.Size) {
		return nil, false
	}
	return w, true
}

// FindWin returns the STACK WIN record covering a module-relative address,
// preferring FrameData (type 4) over FPO (type 0) as Breakpad does.
func (s *SymbolFile) FindWin(addr uint64) (WinInfo, bool) {
	if w, ok := findWin(s.winData, addr); ok {
		return *w, true
	}
	if w, ok := findWin(s.winFPO, addr); ok {
		return *w, true
	}
	return WinInfo{}, false
}

// FindCFI returns the STACK CFI rule texts that apply at a module-relative
// address: the INIT row covering it, then every delta row at or below it,
// in address order. Later rules for a register override earlier ones.
func (s *SymbolFile) FindCFI(addr uint64, buf []string) ([]string, bool) {
	i := sort.Search(len(s.cfi), func(i int) bool { return s.cfi[i].addr > addr }) - 1
	if i < 0 {
		return buf, false
	}
	c := &s.cfi[i]
	if addr-c.addr >= uint64(c.size) {
		return buf, false
	}
	buf = append(buf[:0], s.str(c.rules))
	for _, d := range s.cfiDeltas[c.deltaLo:c.deltaHi] {
		if d.addr > addr {
			break
		}
		buf = append(buf, s.str(d.rules))
	}
	return buf, true
}

// findPublicNearest is the nearest PUBLIC at or below addr, ignoring FUNCs;
// of several at one address the last in (address, name) order wins.
func (s *SymbolFile) findPublicNearest(addr uint64) (*publicRec, bool) {
	i := sort.Search(len(s.publics), func(i int) bool { return s.publics[i].addr > addr }) - 1
	if i < 0 {
		return nil, false
	}
	return &s.publics[i], true
}

// CFIStartsAt reports whether a STACK CFI INIT record starts exactly at a
// module-relative address (arm64 walkers trust a heuristic lr only there).
func (s *SymbolFile) CFIStartsAt(addr uint64) bool {
	i := sort.Search(len(s.cfi), func(i int) bool { return s.cfi[i].addr >= addr })
	return i < len(s.cfi) && s.cfi[i].addr == addr
}
