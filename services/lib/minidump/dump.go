package minidump

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Header signature and version.
const (
	Signature        = 0x504d444d // "MDMP" little-endian
	signatureSwapped = 0x4d444d50
	Version          = 42899 // low 16 bits of the header version
	headerSize       = 32
	dirEntrySize     = 12
)

// MaxSize bounds the input Open accepts; larger inputs are rejected before
// any allocation.
const MaxSize = 4 << 30

// maxStreams caps the stream directory (real dumps have < 40 entries).
const maxStreams = 4096

// ErrNotMinidump is returned when the header is missing or not a minidump.
var ErrNotMinidump = errors.New("minidump: not a minidump")

// Header is the MINIDUMP_HEADER.
type Header struct {
	Signature          uint32
	Version            uint32
	StreamCount        uint32
	StreamDirectoryRVA uint32
	Checksum           uint32
	// TimeDateStamp is the dump time (seconds since the Unix epoch); the
	// process uptime is measured against it.
	TimeDateStamp uint32
	Flags         uint64
}

// Stream is one entry of the stream directory.
type Stream struct {
	Type StreamType
	Size uint32
	RVA  uint32
}

// SoftError is a stream that could not be read. The rest of the dump is
// still usable; minidump-stackwalk degrades the same way.
type SoftError struct {
	Stream StreamType
	Err    error
}

func (e SoftError) Error() string { return fmt.Sprintf("%s: %v", e.Stream, e.Err) }

// Dump is a parsed minidump. Every pointer field is nil and every slice is
// empty when its stream is absent or unreadable (see SoftErrors).
type Dump struct {
	Header Header
	// Streams is the effective directory: one entry per stream type, the
	// later entry winning for duplicates, in first-appearance order.
	Streams []Stream
	// ByteOrder is little-endian, or big-endian for byte-swapped dumps.
	ByteOrder binary.ByteOrder

	SystemInfo      *SystemInfo
	Threads         []Thread
	Modules         []Module
	UnloadedModules []UnloadedModule
	// Memory indexes MemoryList and Memory64List regions by address.
	Memory       Memory
	Exception    *Exception
	MiscInfo     *MiscInfo
	BreakpadInfo *BreakpadInfo
	Assertion    *Assertion
	Crashpad     *CrashpadInfo
	MacCrashInfo *MacCrashInfo
	MemoryInfo   []MemoryInfo
	Linux        LinuxStreams
	// MacBootargs is Mozilla's macOS kern.bootargs stream.
	MacBootargs *string
	// LinuxLimits is Mozilla's /proc/<pid>/limits stream, raw.
	LinuxLimits []byte
	// MozSoftErrors is the JSON document of Mozilla's soft errors stream
	// (errors minidump-writer hit while writing the dump), raw.
	MozSoftErrors []byte

	// SoftErrors lists streams that failed to read, in directory order.
	SoftErrors []SoftError

	data        []byte
	threadNames map[uint32]string
	// moduleIndex orders Modules by address for ModuleAt.
	moduleIndex []int
	// budget is how many more bytes of strings may be decoded. Lists can
	// point many entries at one string; the budget keeps the memory a dump
	// costs proportional to its size.
	budget int64
}

// Open reads a whole minidump from r and parses it. It holds the input in
// memory; regions in Dump.Memory point into that single buffer.
func Open(r io.ReaderAt, size int64) (*Dump, error) {
	if size < headerSize {
		return nil, fmt.Errorf("%w: %d bytes", ErrNotMinidump, size)
	}
	if size > MaxSize {
		return nil, fmt.Errorf("minidump: %d bytes exceeds the %d byte limit", size, int64(MaxSize))
	}
	data := make([]byte, size)
	if n, err := r.ReadAt(data, 0); n != len(data) {
		return nil, fmt.Errorf("minidump: read: %w", err)
	}
	return Parse(data)
}

// Parse parses a minidump held in data. The Dump refers to data, which must
// not be modified afterwards.
func Parse(data []byte) (*Dump, error) {
	d := &Dump{data: data, budget: 2*int64(len(data)) + 1<<20}
	if err := d.readHeader(); err != nil {
		return nil, err
	}
	d.readStreams()
	return d, nil
}

func (d *Dump) readHeader() error {
	if len(d.data) < headerSize {
		return fmt.Errorf("%w: %d bytes", ErrNotMinidump, len(d.data))
	}
	switch binary.LittleEndian.Uint32(d.data) {
	case Signature:
		d.ByteOrder = binary.LittleEndian
	case signatureSwapped:
		d.ByteOrder = binary.BigEndian
	default:
		return fmt.Errorf("%w: bad signature %#x", ErrNotMinidump, binary.LittleEndian.Uint32(d.data))
	}
	c := d.cur(d.data)
	h := Header{
		Signature: c.u32(), Version: c.u32(), StreamCount: c.u32(), StreamDirectoryRVA: c.u32(),
		Checksum: c.u32(), TimeDateStamp: c.u32(), Flags: c.u64(),
	}
	if h.Version&0xffff != Version {
		return fmt.Errorf("%w: version %#x", ErrNotMinidump, h.Version)
	}
	d.Header = h
	dir, ok := d.slice(h.StreamDirectoryRVA, uint64(h.StreamCount)*dirEntrySize)
	if !ok || h.StreamCount > maxStreams {
		return fmt.Errorf("minidump: stream directory of %d entries at %#x is out of bounds", h.StreamCount, h.StreamDirectoryRVA)
	}
	dc := d.cur(dir)
	seen := make(map[StreamType]int, h.StreamCount)
	for range h.StreamCount {
		s := Stream{Type: StreamType(dc.u32()), Size: dc.u32(), RVA: dc.u32()}
		if s.Type == UnusedStream {
			continue
		}
		if i, dup := seen[s.Type]; dup {
			d.Streams[i] = s // the later duplicate wins
			continue
		}
		seen[s.Type] = len(d.Streams)
		d.Streams = append(d.Streams, s)
	}
	return nil
}

// cur starts a cursor over p in the dump's byte order.
func (d *Dump) cur(p []byte) *cursor { return &cursor{b: p, o: d.ByteOrder} }

// slice returns data[rva:rva+size] if it lies within the input.
func (d *Dump) slice(rva uint32, size uint64) ([]byte, bool) {
	end := uint64(rva) + size
	if end > uint64(len(d.data)) {
		return nil, false
	}
	return d.data[rva:end], true
}

// locData returns a location descriptor's bytes.
func (d *Dump) locData(l location) ([]byte, bool) { return d.slice(l.rva, uint64(l.size)) }

// stringAt reads a MINIDUMP_STRING (u32 byte length, then UTF-16).
func (d *Dump) stringAt(rva uint32) (string, error) {
	p, ok := d.slice(rva, 4)
	if !ok {
		return "", fmt.Errorf("string at %#x out of bounds", rva)
	}
	n := d.ByteOrder.Uint32(p)
	if n > maxString {
		return "", fmt.Errorf("string at %#x of %d bytes exceeds %d", rva, n, maxString)
	}
	p, ok = d.slice(rva+4, uint64(n))
	if !ok || rva > ^uint32(0)-4 {
		return "", fmt.Errorf("string at %#x of %d bytes out of bounds", rva, n)
	}
	if err := d.charge(len(p)); err != nil {
		return "", err
	}
	return decodeUTF16(p, d.ByteOrder), nil
}

// Stream returns the raw bytes of the effective stream of type t.
func (d *Dump) Stream(t StreamType) ([]byte, bool) {
	for _, s := range d.Streams {
		if s.Type == t {
			return d.slice(s.RVA, uint64(s.Size))
		}
	}
	return nil, false
}

// Data is the whole input.
func (d *Dump) Data() []byte { return d.data }

// errBudget is returned once the dump's string budget is spent.
var errBudget = errors.New("string budget exhausted: too many references to the same data")

// charge takes n bytes from the decoding budget.
func (d *Dump) charge(n int) error {
	if int64(n) > d.budget {
		d.budget = 0
		return errBudget
	}
	d.budget -= int64(n)
	return nil
}

func (d *Dump) softError(t StreamType, err error) {
	d.SoftErrors = append(d.SoftErrors, SoftError{Stream: t, Err: err})
}

// readStreams parses every known stream. SystemInfo goes first because
// contexts, module ids and crash reasons depend on the OS and CPU.
func (d *Dump) readStreams() {
	order := []struct {
		t    StreamType
		read func(p []byte) error
	}{
		{SystemInfoStream, d.readSystemInfo},
		{MiscInfoStream, d.readMiscInfo},
		{BreakpadInfoStream, d.readBreakpadInfo},
		{MemoryListStream, d.readMemoryList},
		{Memory64ListStream, d.readMemory64List},
		{ThreadListStream, d.readThreadList},
		{ThreadNamesStream, d.readThreadNames},
		{ModuleListStream, d.readModuleList},
		{UnloadedModuleListStream, d.readUnloadedModuleList},
		{ExceptionStream, d.readException},
		{AssertionInfoStream, d.readAssertion},
		{CrashpadInfoStream, d.readCrashpadInfo},
		{MemoryInfoListStream, d.readMemoryInfoList},
		{LinuxCPUInfoStream, func(p []byte) error { d.Linux.CPUInfo = p; return nil }},
		{LinuxProcStatusStream, func(p []byte) error { d.Linux.ProcStatus = p; return nil }},
		{LinuxLSBReleaseStream, func(p []byte) error { d.Linux.LSBRelease = p; return nil }},
		{LinuxCmdLineStream, func(p []byte) error { d.Linux.CmdLine = p; return nil }},
		{LinuxEnvironStream, func(p []byte) error { d.Linux.Environ = p; return nil }},
		{LinuxAuxvStream, func(p []byte) error { d.Linux.Auxv = p; return nil }},
		{LinuxMapsStream, func(p []byte) error { d.Linux.Maps = p; return nil }},
		{LinuxDSODebugStream, d.readDSODebug},
		{MozMacosCrashInfoStream, d.readMacCrashInfo},
		{MozMacosBootargsStream, d.readMacBootargs},
		{MozLinuxLimitsStream, func(p []byte) error { d.LinuxLimits = p; return nil }},
		{MozSoftErrorsStream, func(p []byte) error { d.MozSoftErrors = p; return nil }},
	}
	for _, o := range order {
		p, present := d.Stream(o.t)
		if !present {
			if d.hasStream(o.t) {
				d.softError(o.t, errors.New("stream extends past the end of the file"))
			}
			continue
		}
		if err := o.read(p); err != nil {
			d.softError(o.t, err)
		}
	}
	d.attachThreadNames()
}

func (d *Dump) hasStream(t StreamType) bool {
	for _, s := range d.Streams {
		if s.Type == t {
			return true
		}
	}
	return false
}

// listCount validates a "u32 count, [4 pad], count×entry" list stream and
// returns the count and the offset of the first entry. Breakpad may pad
// the count to 8 bytes; any other size mismatch is an error.
func listCount(p []byte, o binary.ByteOrder, entry int) (int, int, error) {
	if len(p) < 4 {
		return 0, 0, fmt.Errorf("list of %d bytes has no count", len(p))
	}
	n := uint64(o.Uint32(p))
	want := 4 + n*uint64(entry)
	switch {
	case uint64(len(p)) == want:
		return int(n), 4, nil
	case uint64(len(p)) == want+4:
		return int(n), 8, nil
	}
	return 0, 0, fmt.Errorf("list of %d entries of %d bytes does not fit a %d byte stream", n, entry, len(p))
}
