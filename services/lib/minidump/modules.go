package minidump

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// GUID is a Windows GUID stored in its canonical byte order (Data1..Data3
// big-endian), so that hex.EncodeToString gives the usual spelling.
type GUID [16]byte

// String formats the GUID as uppercase hex without separators, the form
// used in debug ids.
func (g GUID) String() string { return strings.ToUpper(hex.EncodeToString(g[:])) }

// Hyphenated formats the GUID as 8-4-4-4-12 lowercase hex.
func (g GUID) Hyphenated() string {
	s := hex.EncodeToString(g[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// CodeView signatures.
const (
	CVSignatureRSDS = 0x53445352 // PDB 7.0
	CVSignatureNB10 = 0x3031424e // PDB 2.0
	CVSignatureELF  = 0x4270454c // "BpEL", Breakpad's ELF build id
)

// CodeView is a module's debug record. Which fields are set depends on
// Signature: RSDS has GUID, Age and PDBFile; NB10 has PDB20Signature, Age
// and PDBFile; ELF has BuildID; any other signature keeps only Raw.
type CodeView struct {
	Signature      uint32
	GUID           GUID
	PDB20Signature uint32
	Age            uint32
	PDBFile        string
	BuildID        []byte
	// Raw is the whole record.
	Raw []byte
}

// FixedFileInfo is VS_FIXEDFILEINFO.
type FixedFileInfo struct {
	Signature        uint32
	StructVersion    uint32
	FileVersionHi    uint32
	FileVersionLo    uint32
	ProductVersionHi uint32
	ProductVersionLo uint32
	FileFlagsMask    uint32
	FileFlags        uint32
	FileOS           uint32
	FileType         uint32
	FileSubtype      uint32
	FileDateHi       uint32
	FileDateLo       uint32
}

// Module is a loaded code module. The derived identifiers (DebugID,
// DebugFile, CodeID, Version) are formatted as minidump-stackwalk formats
// them; an empty string means "none" (JSON null).
type Module struct {
	Base          uint64
	Size          uint32
	Checksum      uint32
	TimeDateStamp uint32
	// Name is the code file, usually a full path.
	Name        string
	VersionInfo FixedFileInfo
	// CodeView is nil when the module has no (readable) CodeView record.
	CodeView *CodeView
	// MiscRecord is the raw IMAGE_DEBUG_MISC record, if any.
	MiscRecord []byte

	DebugID   string
	DebugFile string
	CodeID    string
	Version   string
}

// End is one past the module's last address.
func (m *Module) End() uint64 { return m.Base + uint64(m.Size) }

// Contains reports whether addr lies in the module.
func (m *Module) Contains(addr uint64) bool { return addr >= m.Base && addr-m.Base < uint64(m.Size) }

// Filename is the basename of Name, splitting on / and \.
func (m *Module) Filename() string { return Basename(m.Name) }

// Basename returns the last path element, splitting on both / and \ so
// that Windows paths read on any OS work.
func Basename(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

const (
	moduleSize   = 108
	vsFFISig     = 0xfeef04bd
	vsFFIVersion = 0x00010000
	maxCodeView  = 1 << 16
)

func (d *Dump) readModuleList(p []byte) error {
	n, off, err := listCount(p, d.ByteOrder, moduleSize)
	if err != nil {
		return err
	}
	c := d.cur(p)
	c.off = off
	d.Modules = make([]Module, 0, n)
	var errs []error
	for i := range n {
		m := Module{Base: c.u64(), Size: c.u32(), Checksum: c.u32(), TimeDateStamp: c.u32()}
		nameRVA := c.u32()
		v := &m.VersionInfo
		for _, f := range []*uint32{&v.Signature, &v.StructVersion, &v.FileVersionHi, &v.FileVersionLo,
			&v.ProductVersionHi, &v.ProductVersionLo, &v.FileFlagsMask, &v.FileFlags, &v.FileOS,
			&v.FileType, &v.FileSubtype, &v.FileDateHi, &v.FileDateLo} {
			*f = c.u32()
		}
		cv, misc := c.loc(), c.loc()
		c.skip(16) // reserved
		// rust-minidump drops modules with an empty or overflowing range.
		if m.Size == 0 || m.Base+uint64(m.Size) < m.Base {
			errs = append(errs, fmt.Errorf("module %d: bad range base %#x size %#x", i, m.Base, m.Size))
			continue
		}
		name, err := d.stringAt(nameRVA)
		if err != nil {
			errs = append(errs, fmt.Errorf("module %d name: %w", i, err))
			continue
		}
		m.Name = name
		if cv.size > 0 {
			if cv.size > maxCodeView {
				errs = append(errs, fmt.Errorf("module %q: codeview record of %d bytes", name, cv.size))
			} else if b, ok := d.locData(cv); !ok {
				errs = append(errs, fmt.Errorf("module %q: codeview record out of bounds", name))
			} else if err := d.charge(3 * len(b)); err != nil {
				errs = append(errs, fmt.Errorf("module %q: %w", name, err))
			} else {
				m.CodeView = parseCodeView(b, d.ByteOrder)
			}
		}
		if misc.size > 0 {
			if b, ok := d.locData(misc); ok {
				m.MiscRecord = b
			}
		}
		d.deriveModuleIDs(&m)
		d.Modules = append(d.Modules, m)
	}
	d.indexModules()
	return errors.Join(errs...)
}

// parseCodeView decodes a CodeView record. Truncated PDB records give nil
// (as if there were none, like rust-minidump); unknown signatures give a
// record with only Signature and Raw.
func parseCodeView(b []byte, o binary.ByteOrder) *CodeView {
	if len(b) < 4 {
		return nil
	}
	c := &cursor{b: b, o: o}
	cv := &CodeView{Signature: c.u32(), Raw: b}
	switch cv.Signature {
	case CVSignatureRSDS:
		cv.GUID = c.guid()
		cv.Age = c.u32()
		if c.bad {
			return nil
		}
		cv.PDBFile = cString(b[c.off:])
	case CVSignatureNB10:
		c.skip(4) // offset
		cv.PDB20Signature = c.u32()
		cv.Age = c.u32()
		if c.bad {
			return nil
		}
		cv.PDBFile = cString(b[c.off:])
	case CVSignatureELF:
		cv.BuildID = b[4:]
	}
	return cv
}

// deriveModuleIDs fills the minidump-stackwalk formatted identifiers.
func (d *Dump) deriveModuleIDs(m *Module) {
	osName := ""
	if d.SystemInfo != nil {
		osName = d.SystemInfo.OS()
	}
	windowsCodeID := fmt.Sprintf("%08X%x", m.TimeDateStamp, m.Size)
	if cv := m.CodeView; cv != nil {
		switch cv.Signature {
		case CVSignatureRSDS:
			if cv.GUID != (GUID{}) {
				m.DebugID = fmt.Sprintf("%s%x", cv.GUID, cv.Age)
			}
			m.DebugFile = cv.PDBFile
			if osName == "Mac OS X" || osName == "iOS" {
				m.CodeID = cv.GUID.String()
			} else {
				m.CodeID = windowsCodeID
			}
		case CVSignatureNB10:
			m.DebugID = fmt.Sprintf("%08X%x", cv.PDB20Signature, cv.Age)
			m.DebugFile = cv.PDBFile
			m.CodeID = windowsCodeID
		case CVSignatureELF:
			m.DebugFile = m.Name
			if !allZero(cv.BuildID) {
				m.DebugID = ELFDebugID(cv.BuildID)
				m.CodeID = hex.EncodeToString(cv.BuildID)
			}
		}
	} else if osName == "Windows NT" {
		m.CodeID = windowsCodeID
	}
	v := m.VersionInfo
	if v.Signature == vsFFISig && v.StructVersion == vsFFIVersion {
		switch osName {
		case "Windows NT", "Mac OS X", "iOS":
			m.Version = fmt.Sprintf("%d.%d.%d.%d", v.FileVersionHi>>16, v.FileVersionHi&0xffff,
				v.FileVersionLo>>16, v.FileVersionLo&0xffff)
		default:
			m.Version = fmt.Sprintf("%d.%d.%d.%d", v.FileVersionHi, v.FileVersionLo,
				v.ProductVersionHi, v.ProductVersionLo)
		}
	}
}

// ELFDebugID turns an ELF build id into a Breakpad debug id: the first 16
// bytes (zero-padded) read as a little-endian GUID, age 0.
func ELFDebugID(buildID []byte) string {
	var b [16]byte
	copy(b[:], buildID)
	var g GUID
	binary.BigEndian.PutUint32(g[0:4], binary.LittleEndian.Uint32(b[0:4]))
	binary.BigEndian.PutUint16(g[4:6], binary.LittleEndian.Uint16(b[4:6]))
	binary.BigEndian.PutUint16(g[6:8], binary.LittleEndian.Uint16(b[6:8]))
	copy(g[8:], b[8:])
	return g.String() + "0"
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// ModuleAt returns the loaded module containing addr (a binary search; the
// stack walker calls it for every candidate return address).
func (d *Dump) ModuleAt(addr uint64) (*Module, bool) {
	idx := d.moduleIndex
	i := sort.Search(len(idx), func(i int) bool { return d.Modules[idx[i]].End() > addr })
	if i < len(idx) && d.Modules[idx[i]].Contains(addr) {
		return &d.Modules[idx[i]], true
	}
	return nil, false
}

// indexModules sorts module indices by address for ModuleAt, dropping
// modules that overlap an earlier one as rust-minidump's range map does.
func (d *Dump) indexModules() {
	idx := make([]int, len(d.Modules))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return d.Modules[idx[a]].Base < d.Modules[idx[b]].Base })
	out := idx[:0]
	for _, i := range idx {
		if n := len(out); n > 0 && d.Modules[out[n-1]].End() > d.Modules[i].Base {
			continue
		}
		out = append(out, i)
	}
	d.moduleIndex = out
}

// UnloadedModule is one entry of the UnloadedModuleList.
type UnloadedModule struct {
	Base          uint64
	Size          uint32
	Checksum      uint32
	TimeDateStamp uint32
	Name          string
}

// CodeID is the Windows-style timestamp+size id minidump-stackwalk prints
// for every unloaded module.
func (m *UnloadedModule) CodeID() string { return fmt.Sprintf("%08X%x", m.TimeDateStamp, m.Size) }

// End is one past the module's last address.
func (m *UnloadedModule) End() uint64 { return m.Base + uint64(m.Size) }

const unloadedModuleSize = 24

func (d *Dump) readUnloadedModuleList(p []byte) error {
	c := d.cur(p)
	hdr, entry, n := c.u32(), c.u32(), c.u32()
	if c.bad {
		return errors.New("header truncated")
	}
	if entry != unloadedModuleSize {
		return fmt.Errorf("entry size %d, want %d", entry, unloadedModuleSize)
	}
	if hdr < 12 || uint64(hdr)+uint64(n)*unloadedModuleSize > uint64(len(p)) {
		return fmt.Errorf("%d entries after a %d byte header do not fit a %d byte stream", n, hdr, len(p))
	}
	c.off = int(hdr)
	d.UnloadedModules = make([]UnloadedModule, 0, n)
	var errs []error
	for range n {
		m := UnloadedModule{Base: c.u64(), Size: c.u32(), Checksum: c.u32(), TimeDateStamp: c.u32()}
		name, err := d.stringAt(c.u32())
		if err != nil {
			errs = append(errs, fmt.Errorf("unloaded module at %#x: %w", m.Base, err))
			continue
		}
		m.Name = name
		d.UnloadedModules = append(d.UnloadedModules, m)
	}
	return errors.Join(errs...)
}
