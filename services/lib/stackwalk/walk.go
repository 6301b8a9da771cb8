// Package stackwalk turns a minidump into symbolicated call stacks for every
// thread, with the results (frames, trust levels, module symbol status) and
// the JSON shape of rust-minidump's minidump-stackwalk, which Socorro runs.
//
// Each step of a walk tries, in order: call frame information (STACK WIN,
// then STACK CFI), the frame pointer, then stack scanning validated by
// symbols; it stops when the caller's instruction pointer is in the first
// page or its stack pointer does not grow. The rules per CPU follow
// minidump-stackwalk 0.27 (see amd64.go, x86.go, arm64.go).
//
// # Output
//
// Result.JSON is minidump-stackwalk's --json document, field for field:
// tests/stackwalkcompat compares every frame, every crash_info field (the
// instruction analysis of package crashinfo included) and every module
// field with the tool on the corpus and requires them all equal. A dump
// without a readable thread list or system info is an error
// (ErrMissingThreadList, ErrMissingSystemInfo), as in minidump-stackwalk,
// which prints no document then. Output is valid JSON in valid UTF-8 for
// any input: strings from the dump are re-encoded, and the soft errors
// stream is kept only when it is valid UTF-8 JSON.
//
// Deliberate differences from minidump-stackwalk, each tested:
//   - A corrupt module record drops that module only (minidump package,
//     TestCorruptModuleRecordKeepsTheOthers); minidump-stackwalk drops the
//     module list.
//   - A .sym file whose last line has no newline is read (symbols package,
//     TestParseErrors "no trailing newline"); minidump-stackwalk rejects it
//     as corrupt.
//   - proc_limits keeps the order of /proc/<pid>/limits; minidump-stackwalk
//     prints its hash map's order, which changes from run to run
//     (TestProcLimits).
//   - --evil-json is accepted and ignored: cert_subject is null and
//     modules_contains_cert_info false.
//
// Entry points: New(Config, Symbolizer) and Stackwalker.Process walk a
// dump's bytes with a deadline and bounds; Walk does the same for a parsed
// *minidump.Dump; Result.JSON and WriteJSON give minidump-stackwalk's
// output. Users: the processor's rules, the `stackwalk` tool command
// (stackwalk/cli), crashgen's tests and the stackwalk compat and benchmark
// suites. It imports the minidump and symbols libraries only.
package stackwalk

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/symbols"
)

// Trust is how a frame was found, best first as minidump-stackwalk ranks
// them.
type Trust uint8

// Trust levels; String gives minidump-stackwalk's JSON names.
const (
	TrustNone Trust = iota
	TrustScan
	TrustCFIScan
	TrustFramePointer
	TrustCFI
	TrustPrewalked
	TrustContext
)

// String is the trust name minidump-stackwalk prints ("cfi", "scan", ...).
func (t Trust) String() string {
	switch t {
	case TrustScan:
		return "scan"
	case TrustCFIScan:
		return "cfi_scan"
	case TrustFramePointer:
		return "frame_pointer"
	case TrustCFI:
		return "cfi"
	case TrustPrewalked:
		return "prewalked"
	case TrustContext:
		return "context"
	}
	return "non"
}

// Symbolizer loads a module's symbols; *symbols.Supplier implements it.
type Symbolizer interface {
	Load(ctx context.Context, k symbols.Key) symbols.Result
}

// Frame is one stack frame.
type Frame struct {
	// Instruction is the address looked up for this frame: the instruction
	// pointer for the context frame, the return address − 1 (− 4 on arm64)
	// for callers, so that it lies inside the call instruction.
	Instruction uint64
	Trust       Trust
	// Context holds the registers recovered for this frame.
	Context minidump.Context
	// Module indexes Dump.Modules, -1 when no module holds Instruction.
	Module int

	Function     string
	FunctionBase uint64
	HasFunction  bool
	// ParamSize is the callee-popped parameter size of the function (x86
	// STACK WIN needs the grand-callee's).
	ParamSize    uint32
	HasParamSize bool
	File         string
	Line         uint32
	HasLine      bool
	// Inlines are the inlined calls at Instruction, deepest first.
	Inlines []symbols.InlineFrame
	// Unloaded lists the unloaded modules overlapping Instruction (by
	// name, with the offsets into them), when Module is -1.
	Unloaded []UnloadedRef
}

// UnloadedRef is an unloaded module that covers a frame's address.
type UnloadedRef struct {
	Name    string
	Offsets []uint64
}

// ThreadStatus says why a thread has the frames it has.
type ThreadStatus uint8

// Thread statuses, as minidump-stackwalk's CallStackInfo.
const (
	ThreadOK ThreadStatus = iota
	ThreadMissingContext
	ThreadDumpThreadSkipped
	// ThreadTruncated means the walk stopped at the frame or time bound.
	ThreadTruncated
)

// Thread is one walked thread.
type Thread struct {
	ID     uint32
	Status ThreadStatus
	Frames []Frame
}

// SymbolStatus is what symbol lookup found for one module.
type SymbolStatus uint8

// Symbol statuses of a module.
const (
	// SymbolsNotNeeded: no frame or scan touched the module.
	SymbolsNotNeeded SymbolStatus = iota
	SymbolsLoaded
	SymbolsMissing
	SymbolsCorrupt
	// SymbolsError: the fetch failed (timeout, server error).
	SymbolsError
	// SymbolsNoSource: the walk had no symbol source at all (a nil
	// Symbolizer). minidump-stackwalk reports such modules as neither
	// loaded nor missing: it never looked.
	SymbolsNoSource
)

// ModuleSymbols is a module's symbol lookup outcome.
type ModuleSymbols struct {
	Status SymbolStatus
	URL    string
	Err    error
	// Seq orders the lookups of one walk (1 = first module looked up).
	Seq int
}

// Options bound one dump's processing.
type Options struct {
	// MaxFrames bounds the frames of all threads together, which bounds the
	// memory a hostile dump can make the walker hold (0 = 1<<20). Threads
	// past the bound keep the frames found so far.
	MaxFrames int
	// MaxSymbolBytes bounds the parsed symbol files one dump may hold at
	// once (0 = unbounded): past it, further modules are walked without
	// symbols (reported as a symbol error) instead of growing memory.
	MaxSymbolBytes int64
}

// ErrSymbolBound reports a module left without symbols by
// Options.MaxSymbolBytes.
var ErrSymbolBound = errors.New("stackwalk: symbol memory bound reached")

// Result is a walked dump.
type Result struct {
	Dump    *minidump.Dump
	Threads []Thread
	// Requesting is the index of the crashing (or dump-requesting) thread
	// in Threads, -1 when none.
	Requesting int
	// Modules holds the symbol status of each Dump.Modules entry.
	Modules []ModuleSymbols
	// Incomplete is set when the context deadline or the frame bound cut
	// the walk short.
	Incomplete error
}

// ErrMissingThreadList and ErrMissingSystemInfo reject a dump that has no
// readable thread list or system info stream. minidump-stackwalk treats
// both as fatal (it exits 1 and prints no document), and so does Walk: a
// document made without them would claim an "OK" walk of nothing.
var (
	ErrMissingThreadList = errors.New("MissingThreadList - Error processing dump: The thread list stream was not found")
	ErrMissingSystemInfo = errors.New("MissingSystemInfo - Error processing dump: The system information stream was not found")
)

// Usable reports whether a dump can be walked at all: it needs a readable
// thread list and system info stream, checked in minidump-stackwalk's order.
func Usable(d *minidump.Dump) error {
	switch {
	case d.Threads == nil:
		return ErrMissingThreadList
	case d.SystemInfo == nil:
		return ErrMissingSystemInfo
	}
	return nil
}

// ErrFrameBound reports that Options.MaxFrames stopped the walk.
var ErrFrameBound = errors.New("stackwalk: frame bound reached")

// Walk walks every thread of a dump. It stops early, keeping what it found,
// when ctx ends (Result.Incomplete is then ctx's error); symbol loads share
// ctx's deadline.
func Walk(ctx context.Context, d *minidump.Dump, syms Symbolizer, opts Options) (*Result, error) {
	if d == nil {
		return nil, errors.New("stackwalk: nil dump")
	}
	if err := Usable(d); err != nil {
		return nil, err
	}
	if opts.MaxFrames <= 0 {
		opts.MaxFrames = 1 << 20
	}
	w := newWalker(ctx, d, syms, opts)
	res := &Result{Dump: d, Requesting: -1}
	crashTID, hasCrash := d.CrashingThread()
	dumpTID, hasDump := d.DumpThreadID()
	var exceptionCtx *minidump.Context
	if d.Exception != nil && d.Exception.Context != nil {
		exceptionCtx = d.Exception.Context
	}
	for i := range d.Threads {
		t := &d.Threads[i]
		th := Thread{ID: t.ID}
		if hasDump && t.ID == dumpTID {
			th.Status = ThreadDumpThreadSkipped
			res.Threads = append(res.Threads, th)
			continue
		}
		c := t.Context
		if hasCrash && t.ID == crashTID {
			if res.Requesting < 0 {
				res.Requesting = i
			}
			if exceptionCtx != nil {
				c = exceptionCtx
			}
		}
		if c == nil {
			th.Status = ThreadMissingContext
			res.Threads = append(res.Threads, th)
			continue
		}
		th.Frames, th.Status = w.walkThread(t, *c)
		res.Threads = append(res.Threads, th)
	}
	res.Modules = w.modSyms
	if w.stopErr != nil {
		res.Incomplete = w.stopErr
	}
	return res, nil
}

// modRange is one loaded module in the address index.
type modRange struct {
	base, end uint64
	idx       int
}

type walker struct {
	ctx     context.Context
	d       *minidump.Dump
	syms    Symbolizer
	opts    Options
	mods    []modRange // sorted, non-overlapping
	files   []*symbols.SymbolFile
	modSyms []ModuleSymbols
	unloads []minidump.UnloadedModule
	frames  int
	loads   int
	symMem  int64
	stopErr error
	// ptrMask strips arm64 pointer-authentication bits.
	ptrMask uint64
	os      string
	cfiBuf  []string
}

func newWalker(ctx context.Context, d *minidump.Dump, syms Symbolizer, opts Options) *walker {
	w := &walker{ctx: ctx, d: d, syms: syms, opts: opts,
		files: make([]*symbols.SymbolFile, len(d.Modules)), modSyms: make([]ModuleSymbols, len(d.Modules)),
		unloads: d.UnloadedModules}
	if d.SystemInfo != nil {
		w.os = d.SystemInfo.OS()
	}
	for i := range d.Modules {
		m := &d.Modules[i]
		if m.Size == 0 || m.Base+uint64(m.Size) < m.Base {
			continue
		}
		w.mods = append(w.mods, modRange{base: m.Base, end: m.Base + uint64(m.Size), idx: i})
	}
	sort.SliceStable(w.mods, func(i, j int) bool {
		if w.mods[i].base != w.mods[j].base {
			return w.mods[i].base < w.mods[j].base
		}
		return w.mods[i].end < w.mods[j].end
	})
	// Overlapping modules are ambiguous; like rust-minidump's range map,
	// keep the first and drop the rest.
	kept := w.mods[:0]
	for _, m := range w.mods {
		if n := len(kept); n > 0 && m.base < kept[n-1].end {
			continue
		}
		kept = append(kept, m)
	}
	w.mods = kept
	maxAddr := uint64(1)<<47 - 1
	if n := len(w.mods); n > 0 && w.mods[n-1].end > maxAddr {
		maxAddr = w.mods[n-1].end
	}
	w.ptrMask = ^uint64(0)
	for b := uint64(1); b != 0; b <<= 1 {
		if b >= maxAddr {
			w.ptrMask = b - 1
			break
		}
	}
	return w
}

// moduleAt returns the Dump.Modules index holding addr, or -1.
func (w *walker) moduleAt(addr uint64) int {
	i := sort.Search(len(w.mods), func(i int) bool { return w.mods[i].end > addr })
	if i < len(w.mods) && addr >= w.mods[i].base {
		return w.mods[i].idx
	}
	return -1
}

// symbolsFor loads a module's symbols once per dump and records the outcome
// for the module list.
func (w *walker) symbolsFor(mi int) *symbols.SymbolFile {
	ms := &w.modSyms[mi]
	if ms.Status != SymbolsNotNeeded {
		return w.files[mi]
	}
	m := &w.d.Modules[mi]
	w.loads++
	ms.Seq = w.loads
	k := symbols.Key{DebugFile: m.DebugFile, DebugID: m.DebugID, CodeFile: m.Name, CodeID: m.CodeID}
	if w.syms == nil {
		ms.Status = SymbolsNoSource
		return nil
	}
	if m.DebugID == "" {
		ms.Status = SymbolsMissing
		return nil
	}
	r := w.syms.Load(w.ctx, k)
	ms.URL = r.URL
	if r.File != nil && w.opts.MaxSymbolBytes > 0 {
		if size := r.File.SizeBytes(); w.symMem+size > w.opts.MaxSymbolBytes {
			r = symbols.Result{Err: ErrSymbolBound}
		} else {
			w.symMem += size
		}
	}
	var pe *symbols.ParseError
	switch {
	case r.File != nil:
		ms.Status = SymbolsLoaded
		w.files[mi] = r.File
	case errors.Is(r.Err, symbols.ErrNotFound):
		ms.Status = SymbolsMissing
	case errors.As(r.Err, &pe), errors.Is(r.Err, symbols.ErrEmptyFile):
		ms.Status, ms.Err = SymbolsCorrupt, r.Err
	default:
		ms.Status, ms.Err = SymbolsError, r.Err
	}
	return w.files[mi]
}

// symbolize fills a frame's module, function, source and inline fields.
func (w *walker) symbolize(f *Frame) {
	f.Module = w.moduleAt(f.Instruction)
	if f.Module < 0 {
		f.Unloaded = w.unloadedAt(f.Instruction)
		return
	}
	sf := w.symbolsFor(f.Module)
	if sf == nil {
		return
	}
	base := w.d.Modules[f.Module].Base
	loc, ok := sf.Lookup(f.Instruction - base)
	if !ok {
		return
	}
	f.Function, f.FunctionBase, f.HasFunction = loc.Function, loc.FunctionBase+base, true
	f.ParamSize, f.HasParamSize = loc.ParamSize, true
	f.File, f.Line, f.HasLine = loc.File, loc.Line, loc.HasLine
	f.Inlines = loc.Inlines
}

func (w *walker) unloadedAt(addr uint64) []UnloadedRef {
	var out []UnloadedRef
	for _, u := range w.unloads {
		if addr < u.Base || addr-u.Base >= uint64(u.Size) {
			continue
		}
		off := addr - u.Base
		found := false
		for i := range out {
			if out[i].Name == u.Name {
				found = true
				if !containsU64(out[i].Offsets, off) {
					out[i].Offsets = append(out[i].Offsets, off)
					sort.Slice(out[i].Offsets, func(a, b int) bool { return out[i].Offsets[a] < out[i].Offsets[b] })
				}
			}
		}
		if !found {
			out = append(out, UnloadedRef{Name: u.Name, Offsets: []uint64{off}})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func containsU64(s []uint64, v uint64) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// instructionSeemsValid is the scanner's test for a candidate return
// address: inside a loaded module and, when that module has symbols,
// inside a function of it. It checks ret−1 so that a call ending a
// noreturn function still counts.
func (w *walker) instructionSeemsValid(ret uint64) bool {
	addr := ret - 1
	if ret == 0 || addr == 0 {
		return false
	}
	mi := w.moduleAt(addr)
	if mi < 0 {
		return false
	}
	sf := w.symbolsFor(mi)
	if sf == nil {
		return true
	}
	return sf.HasFunction(addr - w.d.Modules[mi].Base)
}

// stack is the thread's stack memory the walkers may read.
type stack struct {
	r    *minidump.MemoryRegion
	size int
}

func (s stack) word(addr uint64) (uint64, bool) {
	if s.r == nil {
		return 0, false
	}
	return s.r.Word(addr, s.size)
}

func (w *walker) walkThread(t *minidump.Thread, c minidump.Context) ([]Frame, ThreadStatus) {
	var st stack
	if r, ok := w.d.StackMemory(t, c.SP()); ok && len(r.Data) > 0 {
		st = stack{r: r, size: c.PointerSize()}
	}
	frames := []Frame{{Instruction: c.IP(), Trust: TrustContext, Context: c}}
	w.frames++
	status := ThreadOK
	for {
		callee := &frames[len(frames)-1]
		w.symbolize(callee)
		if st.r == nil {
			break
		}
		if err := w.ctx.Err(); err != nil {
			w.stopErr, status = err, ThreadTruncated
			break
		}
		if w.frames >= w.opts.MaxFrames {
			w.stopErr, status = ErrFrameBound, ThreadTruncated
			break
		}
		var grand *Frame
		if len(frames) >= 2 {
			grand = &frames[len(frames)-2]
		}
		caller, ok := w.callerFrame(callee, grand, st)
		if !ok {
			break
		}
		frames = append(frames, caller)
		w.frames++
	}
	return frames, status
}

// callerFrame dispatches on the CPU.
func (w *walker) callerFrame(callee, grand *Frame, st stack) (Frame, bool) {
	switch callee.Context.Arch {
	case minidump.ArchAMD64:
		return w.callerAMD64(callee, grand, st)
	case minidump.ArchX86:
		return w.callerX86(callee, grand, st)
	case minidump.ArchARM64:
		return w.callerARM64(callee, grand, st)
	case minidump.ArchARM:
		return w.callerARM(callee, grand, st)
	}
	return Frame{}, false
}

// cfiMachine gives the rule evaluators the callee's registers and stack.
type cfiMachine struct {
	ctx *minidump.Context
	st  stack
	// hideLR hides an arm64 callee's lr when it came from a frame-pointer
	// heuristic and the CFI rules do not start at this instruction.
	hideLR bool
}

func (m cfiMachine) Register(name string) (uint64, bool) {
	if m.hideLR && (name == "lr" || name == "x30") {
		return 0, false
	}
	return m.ctx.Get(name)
}

func (m cfiMachine) ReadWord(addr uint64) (uint64, bool) { return m.st.word(addr) }

// forwarded starts a caller context holding the callee-saved registers the
// callee knows: CFI rules only mention what changed.
func forwarded(callee *minidump.Context, saved []string) minidump.Context {
	c := *callee
	c.Invalidate()
	for _, r := range saved {
		if v, ok := callee.Get(r); ok {
			c.Set(r, v)
		}
	}
	return c
}

// applyCFI evaluates the STACK CFI rules covering the callee and builds the
// caller context (cfa → sp, ra → ip, then the other registers).
func (w *walker) applyCFI(sf *symbols.SymbolFile, rel uint64, callee *Frame, st stack, saved []string, hideLR bool) (minidump.Context, bool) {
	rules, ok := sf.FindCFI(rel, w.cfiBuf)
	w.cfiBuf = rules
	if !ok {
		return minidump.Context{}, false
	}
	res, err := symbols.EvalCFI(rules, cfiMachine{ctx: &callee.Context, st: st, hideLR: hideLR})
	if err != nil {
		return minidump.Context{}, false
	}
	c := forwarded(&callee.Context, saved)
	if c.PointerSize() == 4 && (res.CFA > 0xffffffff || res.RA > 0xffffffff) {
		return minidump.Context{}, false
	}
	c.Set(c.SPName(), res.CFA)
	c.Set(c.IPName(), res.RA)
	for _, r := range res.Regs {
		if !r.Valid {
			c.Unset(r.Name)
			continue
		}
		if c.PointerSize() == 4 && r.Value > 0xffffffff {
			continue
		}
		c.Set(r.Name, r.Value)
	}
	return c, true
}

// finishCaller applies the termination rules shared by x86 and amd64 to a
// caller whose (raw) ip and sp are given, and sets its lookup address.
func finishCaller(f Frame, ip, sp, calleeSP uint64, adjust uint64) (Frame, bool) {
	if ip < 4096 || sp <= calleeSP {
		return Frame{}, false
	}
	f.Instruction = ip - adjust
	f.Module = -1
	return f, true
}

// String renders a frame for test failure messages.
func (f Frame) String() string {
	return fmt.Sprintf("%#x %s %s", f.Instruction, f.Trust, f.Function)
}
