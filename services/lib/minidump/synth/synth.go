// Package synth builds valid minidumps with chosen contents, for tests of
// the minidump reader, the stack walker and the crash generator.
//
// A Builder collects streams; Bytes lays them out (header, directory, then
// every stream and the blobs it points to) and returns the file. Nothing
// is validated: tests may build inconsistent dumps on purpose, and
// AddStream adds any raw stream (also duplicates of a known type).
//
//	b := synth.New(minidump.ArchAMD64, synth.Linux)
//	ctx := minidump.NewContext(minidump.ArchAMD64)
//	ctx.Set("rip", 0x401234)
//	ctx.Set("rsp", 0x7000)
//	b.AddModule(synth.Module{Name: "/usr/bin/app", Base: 0x400000, Size: 0x10000,
//		CodeView: synth.ELFBuildID(buildID)})
//	b.AddThread(synth.Thread{ID: 7, Stack: synth.Memory{Base: 0x7000, Data: stack}, Context: &ctx})
//	b.SetException(synth.Exception{ThreadID: 7, Code: 11, Flags: 1, Context: &ctx})
//	dump := b.Bytes()
package synth

import (
	"encoding/binary"
	"slices"
	"unicode/utf16"

	"github.com/crashstream/crashstream/services/lib/minidump"
)

// OS is a MINIDUMP_SYSTEM_INFO platform id.
type OS uint32

// Platform ids.
const (
	Windows OS = minidump.PlatformWin32NT
	MacOS   OS = minidump.PlatformMacOS
	IOS     OS = minidump.PlatformIOS
	Linux   OS = minidump.PlatformLinux
	Android OS = minidump.PlatformAndroid
)

// SystemInfo is what the SystemInfo stream records. New fills it from the
// arch and OS; change it with SetSystemInfo.
type SystemInfo struct {
	ProcessorArchitecture uint16
	ProcessorLevel        uint16
	ProcessorRevision     uint16
	NumberOfProcessors    uint8
	MajorVersion          uint32
	MinorVersion          uint32
	BuildNumber           uint32
	PlatformID            OS
	// CSDVersion is the service pack / build / `uname -srvmo` string.
	CSDVersion string
	// CPU is the raw CPU_INFORMATION union (x86: vendor id in the first 12 bytes).
	CPU [24]byte
}

// Memory is a captured memory range.
type Memory struct {
	Base uint64
	Data []byte
}

// Thread is a ThreadList entry. A nil Context writes no context record;
// RawContext, when set, is written instead of Context (for other layouts
// such as EncodeContextARM64Old, or corrupt records).
type Thread struct {
	ID         uint32
	TEB        uint64
	Stack      Memory
	Context    *minidump.Context
	RawContext []byte
}

// CodeView is a module's debug record; build one with PDB70, PDB20 or
// ELFBuildID, or give raw bytes.
type CodeView []byte

// PDB70 builds an RSDS record. guid is in canonical byte order (as
// minidump.GUID holds it).
func PDB70(guid minidump.GUID, age uint32, pdb string) CodeView {
	b := binary.LittleEndian.AppendUint32(nil, minidump.CVSignatureRSDS)
	b = binary.LittleEndian.AppendUint32(b, binary.BigEndian.Uint32(guid[0:4]))
	b = binary.LittleEndian.AppendUint16(b, binary.BigEndian.Uint16(guid[4:6]))
	b = binary.LittleEndian.AppendUint16(b, binary.BigEndian.Uint16(guid[6:8]))
	b = append(b, guid[8:]...)
	b = binary.LittleEndian.AppendUint32(b, age)
	return append(append(b, pdb...), 0)
}

// PDB20 builds an NB10 record.
func PDB20(signature, age uint32, pdb string) CodeView {
	b := binary.LittleEndian.AppendUint32(nil, minidump.CVSignatureNB10)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, signature)
	b = binary.LittleEndian.AppendUint32(b, age)
	return append(append(b, pdb...), 0)
}

// ELFBuildID builds Breakpad's BpEL record.
func ELFBuildID(id []byte) CodeView {
	return append(binary.LittleEndian.AppendUint32(nil, minidump.CVSignatureELF), id...)
}

// Module is a ModuleList entry. Version, when non-zero, is written as a
// VS_FIXEDFILEINFO file version a.b.c.d.
type Module struct {
	Name          string
	Base          uint64
	Size          uint32
	Checksum      uint32
	TimeDateStamp uint32
	Version       [4]uint16
	CodeView      CodeView
}

// UnloadedModule is an UnloadedModuleList entry.
type UnloadedModule struct {
	Name          string
	Base          uint64
	Size          uint32
	Checksum      uint32
	TimeDateStamp uint32
}

// Exception is the Exception stream. Params are written as
// ExceptionInformation (at most 15).
type Exception struct {
	ThreadID uint32
	Code     uint32
	Flags    uint32
	Address  uint64
	Params   []uint64
	Context  *minidump.Context
	// RawContext, when set, is written instead of Context.
	RawContext []byte
}

type stream struct {
	typ minidump.StreamType
	enc func(w *writer) []byte
}

// Builder accumulates the contents of one minidump.
type Builder struct {
	arch      minidump.Arch
	sys       *SystemInfo
	modules   []Module
	unloaded  []UnloadedModule
	threads   []Thread
	memory    []Memory
	memory64  bool
	names     map[uint32]string
	nameOrder []uint32
	extra     []stream
	timestamp uint32
}

// New starts a dump for arch on os with a plausible SystemInfo.
func New(arch minidump.Arch, os OS) *Builder {
	s := &SystemInfo{PlatformID: os, NumberOfProcessors: 2, ProcessorLevel: 6, ProcessorRevision: 0x0d08}
	switch arch {
	case minidump.ArchX86:
		s.ProcessorArchitecture = minidump.ProcessorX86
		copy(s.CPU[:], "GenuineIntel")
	case minidump.ArchAMD64:
		s.ProcessorArchitecture = minidump.ProcessorAMD64
	case minidump.ArchARM:
		s.ProcessorArchitecture = minidump.ProcessorARM
		s.ProcessorLevel = 7
	case minidump.ArchARM64:
		s.ProcessorArchitecture = minidump.ProcessorARM64
	}
	switch os {
	case Windows:
		s.MajorVersion, s.MinorVersion, s.BuildNumber = 10, 0, 19045
	case MacOS:
		s.MajorVersion, s.MinorVersion, s.BuildNumber, s.CSDVersion = 14, 2, 1, "23C71"
	case Linux, Android:
		s.CSDVersion = "Linux 6.1.0 #1 SMP x86_64"
	}
	return &Builder{arch: arch, sys: s, names: map[uint32]string{}, timestamp: 1700000000}
}

// SetSystemInfo replaces the SystemInfo stream (nil removes it).
func (b *Builder) SetSystemInfo(s *SystemInfo) *Builder { b.sys = s; return b }

// SetTimestamp sets the header's dump time (Unix seconds).
func (b *Builder) SetTimestamp(t uint32) *Builder { b.timestamp = t; return b }

// AddModule appends a module.
func (b *Builder) AddModule(m Module) *Builder { b.modules = append(b.modules, m); return b }

// AddUnloadedModule appends an unloaded module.
func (b *Builder) AddUnloadedModule(m UnloadedModule) *Builder {
	b.unloaded = append(b.unloaded, m)
	return b
}

// AddThread appends a thread. Its stack is written as the thread's stack
// descriptor and also into the memory list, as Breakpad writers do.
func (b *Builder) AddThread(t Thread) *Builder { b.threads = append(b.threads, t); return b }

// AddMemory appends a captured memory region.
func (b *Builder) AddMemory(m Memory) *Builder { b.memory = append(b.memory, m); return b }

// UseMemory64 writes memory as a Memory64List (full-dump style) instead of
// a MemoryList.
func (b *Builder) UseMemory64() *Builder { b.memory64 = true; return b }

// SetThreadName records a name in the ThreadNames stream.
func (b *Builder) SetThreadName(tid uint32, name string) *Builder {
	if _, ok := b.names[tid]; !ok {
		b.nameOrder = append(b.nameOrder, tid)
	}
	b.names[tid] = name
	return b
}

// AddStream appends a raw stream; several of one type may be added.
func (b *Builder) AddStream(t minidump.StreamType, data []byte) *Builder {
	p := slices.Clone(data)
	b.extra = append(b.extra, stream{typ: t, enc: func(*writer) []byte { return p }})
	return b
}

// SetException adds the Exception stream.
func (b *Builder) SetException(e Exception) *Builder {
	b.extra = append(b.extra, stream{typ: minidump.ExceptionStream, enc: func(w *writer) []byte {
		out := u32(nil, e.ThreadID, 0, e.Code, e.Flags)
		out = u64(out, 0, e.Address)
		n := min(len(e.Params), 15)
		out = u32(out, uint32(n), 0)
		for i := range 15 {
			var v uint64
			if i < n {
				v = e.Params[i]
			}
			out = u64(out, v)
		}
		return w.contextLoc(out, e.Context, e.RawContext)
	}})
	return b
}

// SetMiscInfo adds a MINIDUMP_MISC_INFO (version 1) with the process id and
// creation time (Unix seconds).
func (b *Builder) SetMiscInfo(pid, createTime uint32) *Builder {
	b.extra = append(b.extra, stream{typ: minidump.MiscInfoStream, enc: func(*writer) []byte {
		return u32(nil, 24, minidump.MiscProcessID|minidump.MiscProcessTimes, pid, createTime, 1, 1)
	}})
	return b
}

// SetBreakpadInfo adds Breakpad's info stream with both thread ids valid.
func (b *Builder) SetBreakpadInfo(dumpThread, requestingThread uint32) *Builder {
	b.extra = append(b.extra, stream{typ: minidump.BreakpadInfoStream, enc: func(*writer) []byte {
		return u32(nil, 3, dumpThread, requestingThread)
	}})
	return b
}

// SetAssertion adds Breakpad's assertion stream.
func (b *Builder) SetAssertion(expr, function, file string, line, typ uint32) *Builder {
	b.extra = append(b.extra, stream{typ: minidump.AssertionInfoStream, enc: func(*writer) []byte {
		var out []byte
		for _, s := range []string{expr, function, file} {
			field := make([]byte, 256)
			copy(field, utf16LE(s))
			out = append(out, field...)
		}
		return u32(out, line, typ)
	}})
	return b
}

// SetCrashpadAnnotations adds a CrashpadInfo stream with process-wide
// simple annotations and the given report and client ids.
func (b *Builder) SetCrashpadAnnotations(report, client minidump.GUID, annotations map[string]string) *Builder {
	b.extra = append(b.extra, stream{typ: minidump.CrashpadInfoStream, enc: func(w *writer) []byte {
		keys := make([]string, 0, len(annotations))
		for k := range annotations {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dict := u32(nil, uint32(len(keys)))
		for _, k := range keys {
			dict = u32(dict, w.blob(utf8String(k)), w.blob(utf8String(annotations[k])))
		}
		out := u32(nil, 1)
		out = append(out, guidLE(report)...)
		out = append(out, guidLE(client)...)
		out = u32(out, uint32(len(dict)), w.blob(dict))
		return u32(out, 0, 0)
	}})
	return b
}

// Bytes lays the dump out and returns it.
func (b *Builder) Bytes() []byte {
	streams := b.streams()
	w := &writer{buf: make([]byte, 32+12*len(streams))}
	le := binary.LittleEndian
	le.PutUint32(w.buf[0:], minidump.Signature)
	le.PutUint32(w.buf[4:], minidump.Version)
	le.PutUint32(w.buf[8:], uint32(len(streams)))
	le.PutUint32(w.buf[12:], 32)
	le.PutUint32(w.buf[20:], b.timestamp)
	for i, s := range streams {
		data := s.enc(w)
		rva := w.blob(data)
		d := w.buf[32+12*i:]
		le.PutUint32(d[0:], uint32(s.typ))
		le.PutUint32(d[4:], uint32(len(data)))
		le.PutUint32(d[8:], rva)
	}
	return w.buf
}

func (b *Builder) streams() []stream {
	var out []stream
	if b.sys != nil {
		s := *b.sys
		out = append(out, stream{typ: minidump.SystemInfoStream, enc: func(w *writer) []byte {
			p := u16(nil, s.ProcessorArchitecture, s.ProcessorLevel, s.ProcessorRevision)
			p = append(p, s.NumberOfProcessors, 1)
			var csd uint32
			if s.CSDVersion != "" || s.PlatformID == Windows {
				csd = w.blob(minidumpString(s.CSDVersion))
			}
			p = u32(p, s.MajorVersion, s.MinorVersion, s.BuildNumber, uint32(s.PlatformID), csd)
			p = u16(p, 0, 0)
			return append(p, s.CPU[:]...)
		}})
	}
	if len(b.threads) > 0 {
		out = append(out, stream{typ: minidump.ThreadListStream, enc: b.encThreads})
	}
	if len(b.modules) > 0 {
		out = append(out, stream{typ: minidump.ModuleListStream, enc: b.encModules})
	}
	if len(b.unloaded) > 0 {
		out = append(out, stream{typ: minidump.UnloadedModuleListStream, enc: b.encUnloaded})
	}
	if len(b.names) > 0 {
		out = append(out, stream{typ: minidump.ThreadNamesStream, enc: b.encNames})
	}
	var mem []Memory
	for _, t := range b.threads {
		if len(t.Stack.Data) > 0 {
			mem = append(mem, t.Stack)
		}
	}
	mem = append(mem, b.memory...)
	if len(mem) > 0 {
		if b.memory64 {
			out = append(out, stream{typ: minidump.Memory64ListStream, enc: func(w *writer) []byte { return encMemory64(w, mem) }})
		} else {
			out = append(out, stream{typ: minidump.MemoryListStream, enc: func(w *writer) []byte {
				p := u32(nil, uint32(len(mem)))
				for _, m := range mem {
					p = u64(p, m.Base)
					p = u32(p, uint32(len(m.Data)), w.blob(m.Data))
				}
				return p
			}})
		}
	}
	return append(out, b.extra...)
}

func (b *Builder) encThreads(w *writer) []byte {
	p := u32(nil, uint32(len(b.threads)))
	for _, t := range b.threads {
		p = u32(p, t.ID, 0, 0, 0)
		p = u64(p, t.TEB, t.Stack.Base)
		var rva uint32
		if len(t.Stack.Data) > 0 {
			rva = w.blob(t.Stack.Data)
		}
		p = u32(p, uint32(len(t.Stack.Data)), rva)
		p = w.contextLoc(p, t.Context, t.RawContext)
	}
	return p
}

func (b *Builder) encModules(w *writer) []byte {
	p := u32(nil, uint32(len(b.modules)))
	for _, m := range b.modules {
		p = u64(p, m.Base)
		p = u32(p, m.Size, m.Checksum, m.TimeDateStamp, w.blob(minidumpString(m.Name)))
		var vi [13]uint32
		if m.Version != ([4]uint16{}) {
			vi[0], vi[1] = 0xfeef04bd, 0x00010000
			vi[2] = uint32(m.Version[0])<<16 | uint32(m.Version[1])
			vi[3] = uint32(m.Version[2])<<16 | uint32(m.Version[3])
			vi[4], vi[5] = vi[2], vi[3]
		}
		p = u32(p, vi[:]...)
		var cvRVA uint32
		if len(m.CodeView) > 0 {
			cvRVA = w.blob(m.CodeView)
		}
		p = u32(p, uint32(len(m.CodeView)), cvRVA, 0, 0)
		p = u64(p, 0, 0)
	}
	return p
}

func (b *Builder) encUnloaded(w *writer) []byte {
	p := u32(nil, 12, 24, uint32(len(b.unloaded)))
	for _, m := range b.unloaded {
		p = u64(p, m.Base)
		p = u32(p, m.Size, m.Checksum, m.TimeDateStamp, w.blob(minidumpString(m.Name)))
	}
	return p
}

func (b *Builder) encNames(w *writer) []byte {
	p := u32(nil, uint32(len(b.nameOrder)))
	for _, tid := range b.nameOrder {
		p = u32(p, tid)
		p = u64(p, uint64(w.blob(minidumpString(b.names[tid]))))
	}
	return p
}

func encMemory64(w *writer, mem []Memory) []byte {
	// The data of all ranges is contiguous; place it first.
	var base uint32
	for i, m := range mem {
		rva := w.blob(m.Data)
		if i == 0 {
			base = rva
		}
	}
	p := u64(nil, uint64(len(mem)), uint64(base))
	for _, m := range mem {
		p = u64(p, m.Base, uint64(len(m.Data)))
	}
	return p
}

// writer appends blobs to the file and returns their RVAs.
type writer struct{ buf []byte }

func (w *writer) blob(p []byte) uint32 {
	for len(w.buf)%4 != 0 {
		w.buf = append(w.buf, 0)
	}
	rva := uint32(len(w.buf))
	w.buf = append(w.buf, p...)
	return rva
}

// contextLoc writes raw, else ctx encoded (if any), and appends its
// location descriptor to p.
func (w *writer) contextLoc(p []byte, ctx *minidump.Context, raw []byte) []byte {
	if raw == nil && ctx != nil {
		raw = EncodeContext(ctx)
	}
	if raw == nil {
		return u32(p, 0, 0)
	}
	return u32(p, uint32(len(raw)), w.blob(raw))
}

func u16(p []byte, vs ...uint16) []byte {
	for _, v := range vs {
		p = binary.LittleEndian.AppendUint16(p, v)
	}
	return p
}

func u32(p []byte, vs ...uint32) []byte {
	for _, v := range vs {
		p = binary.LittleEndian.AppendUint32(p, v)
	}
	return p
}

func u64(p []byte, vs ...uint64) []byte {
	for _, v := range vs {
		p = binary.LittleEndian.AppendUint64(p, v)
	}
	return p
}

func utf16LE(s string) []byte {
	var p []byte
	for _, u := range utf16.Encode([]rune(s)) {
		p = binary.LittleEndian.AppendUint16(p, u)
	}
	return p
}

// minidumpString is a MINIDUMP_STRING: byte length, UTF-16LE, NUL.
func minidumpString(s string) []byte {
	body := utf16LE(s)
	return append(u32(nil, uint32(len(body))), append(body, 0, 0)...)
}

func utf8String(s string) []byte { return append(append(u32(nil, uint32(len(s))), s...), 0) }

func guidLE(g minidump.GUID) []byte {
	p := u32(nil, binary.BigEndian.Uint32(g[0:4]))
	p = u16(p, binary.BigEndian.Uint16(g[4:6]), binary.BigEndian.Uint16(g[6:8]))
	return append(p, g[8:]...)
}
