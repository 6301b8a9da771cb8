package stackwalk

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/minidump/synth"
	"github.com/crashstream/crashstream/services/lib/symbols"
)

// label is a stack address known once the section is laid out, like
// test_assembler's Label in rust-minidump's unit tests.
type label struct {
	val uint64
	set bool
}

func (l *label) value(t *testing.T) uint64 {
	t.Helper()
	require.True(t, l.set, "label used before mark")
	return l.val
}

type fixup struct {
	off, size int
	l         *label
}

// section builds stack memory word by word; words may refer to labels
// marked later.
type section struct {
	base  uint64
	buf   []byte
	fixes []fixup
}

func newSection(base uint64) *section { return &section{base: base} }

func (s *section) word(v any, size int) *section {
	var n uint64
	switch x := v.(type) {
	case *label:
		s.fixes = append(s.fixes, fixup{off: len(s.buf), size: size, l: x})
	case int:
		n = uint64(x)
	case uint64:
		n = x
	default:
		panic("section: bad word type")
	}
	b := make([]byte, size)
	if size == 8 {
		binary.LittleEndian.PutUint64(b, n)
	} else {
		binary.LittleEndian.PutUint32(b, uint32(n))
	}
	s.buf = append(s.buf, b...)
	return s
}

func (s *section) d64(v any) *section { return s.word(v, 8) }
func (s *section) d32(v any) *section { return s.word(v, 4) }

func (s *section) zeros(n int) *section {
	s.buf = append(s.buf, make([]byte, n)...)
	return s
}

func (s *section) mark(l *label) *section {
	l.val, l.set = s.base+uint64(len(s.buf)), true
	return s
}

func (s *section) bytes(t *testing.T) []byte {
	out := append([]byte(nil), s.buf...)
	for _, f := range s.fixes {
		v := f.l.value(t)
		if f.size == 8 {
			binary.LittleEndian.PutUint64(out[f.off:], v)
		} else {
			binary.LittleEndian.PutUint32(out[f.off:], uint32(v))
		}
	}
	return out
}

// mapSymbols serves .sym texts by module (debug file) name.
type mapSymbols map[string]*symbols.SymbolFile

func (m mapSymbols) Load(_ context.Context, k symbols.Key) symbols.Result {
	if sf, ok := m[k.DebugFile]; ok {
		return symbols.Result{File: sf}
	}
	return symbols.Result{Err: symbols.ErrNotFound}
}

// fixture mirrors rust-minidump's unwinder TestFixture: two modules, a
// context, symbols by module name, and a stack section.
type fixture struct {
	arch    minidump.Arch
	os      synth.OS
	modules []synth.Module
	syms    map[string]string
	ctx     minidump.Context
}

func newFixture(arch minidump.Arch) *fixture {
	f := &fixture{arch: arch, os: synth.Linux, syms: map[string]string{}, ctx: minidump.NewContext(arch)}
	for _, r := range minidump.RegisterNames(arch) {
		f.ctx.Set(r, 0)
	}
	switch arch {
	case minidump.ArchAMD64:
		f.addModule("module1", 0x00007400c0000000, 0x10000)
		f.addModule("module2", 0x00007500b0000000, 0x10000)
	default:
		f.addModule("module1", 0x40000000, 0x10000)
		f.addModule("module2", 0x50000000, 0x10000)
	}
	return f
}

func (f *fixture) addModule(name string, base uint64, size uint32) {
	id := make([]byte, 16)
	copy(id, name)
	id[15] = byte(len(f.modules) + 1)
	f.modules = append(f.modules, synth.Module{Name: name, Base: base, Size: size, CodeView: synth.ELFBuildID(id)})
}

func (f *fixture) set(t *testing.T, reg string, v uint64) {
	t.Helper()
	require.True(t, f.ctx.Set(reg, v), reg)
}

// setRegs sets each register of regs in the context.
func (f *fixture) setRegs(t *testing.T, regs map[string]uint64) {
	for r, v := range regs {
		f.set(t, r, v)
	}
}

// cfiFixture is a fixture of arch whose module1 has the symbols syms and
// whose context holds regs.
func cfiFixture(t *testing.T, arch minidump.Arch, syms string, regs map[string]uint64) *fixture {
	f := newFixture(arch)
	f.syms["module1"] = syms
	f.setRegs(t, regs)
	return f
}

// dumpBytes builds the fixture's dump around a stack section.
func (f *fixture) dumpBytes(t *testing.T, s *section) []byte {
	t.Helper()
	b := synth.New(f.arch, f.os)
	for _, m := range f.modules {
		b.AddModule(m)
	}
	ctx := f.ctx
	b.AddThread(synth.Thread{ID: 1, Stack: synth.Memory{Base: s.base, Data: s.bytes(t)}, Context: &ctx})
	return b.Bytes()
}

func (f *fixture) walk(t *testing.T, s *section) []Frame {
	t.Helper()
	d, syms := f.parsed(t, s)
	res, err := Walk(context.Background(), d, syms, Options{})
	require.NoError(t, err)
	require.Len(t, res.Threads, 1)
	return res.Threads[0].Frames
}

// walkToCaller walks like walk and requires two frames: the context's and
// its caller's, which the tests check.
func (f *fixture) walkToCaller(t *testing.T, s *section) []Frame {
	t.Helper()
	frames := f.walk(t, s)
	require.Len(t, frames, 2)
	return frames
}

// parsed is the fixture's dump with stack s, parsed, and its symbol files.
func (f *fixture) parsed(t *testing.T, s *section) (*minidump.Dump, mapSymbols) {
	t.Helper()
	d, err := minidump.Parse(f.dumpBytes(t, s))
	require.NoError(t, err)
	syms := mapSymbols{}
	for name, text := range f.syms {
		sf, err := symbols.Parse(strings.NewReader(text))
		require.NoError(t, err)
		syms[name] = sf
	}
	return d, syms
}

// cfiLeaf walks from 0x40004000 of the CFI symbols of these tests, a leaf
// whose rule keeps the stack pointer and takes the return address
// (0x40005510) from the link register, and returns the caller's frame.
func cfiLeaf(t *testing.T, fixture func(*testing.T) *fixture) Frame {
	f := fixture(t)
	f.set(t, "pc", 0x40004000)
	f.set(t, "lr", 0x40005510)
	frames := f.walkToCaller(t, newSection(0x80000000).zeros(120))
	assert.Equal(t, TrustCFI, frames[1].Trust)
	return frames[1]
}

// cfiRejects checks the two rules every architecture's CFI symbols of
// these tests carry: at 0x40006000 the caller's stack pointer would move
// backwards, at 0x40007000 the expressions do not evaluate; either stops
// the walk at the context frame.
func cfiRejects(t *testing.T, fixture func(*testing.T) *fixture) {
	t.Run("reject backwards", func(t *testing.T) {
		f := fixture(t)
		f.set(t, "pc", 0x40006000)
		f.set(t, "lr", 0x40005510)
		assert.Len(t, f.walk(t, newSection(0x80000000).zeros(120)), 1)
	})
	t.Run("reject bad expressions", func(t *testing.T) {
		f := fixture(t)
		f.set(t, "pc", 0x40007000)
		assert.Len(t, f.walk(t, newSection(0x80000000).zeros(120)), 1)
	})
}

// callerRegs is what a CFI rule recovers for the caller: the stack pointer
// sp at spValue, and the registers of want (which win over sp).
func callerRegs(want map[string]uint64, sp string, spValue uint64) map[string]uint64 {
	w := map[string]uint64{sp: spValue}
	for k, v := range want {
		w[k] = v
	}
	return w
}

// regs returns the valid registers of a frame as a map.
func regs(f Frame) map[string]uint64 {
	out := map[string]uint64{}
	for _, r := range f.Context.Registers() {
		out[r.Name] = r.Value
	}
	return out
}
