package minidumpcompat

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/minidump/synth"
	"github.com/crashstream/crashstream/tests/internal/oracle"
)

// synthCase is a synthetic dump for a corner the real corpus lacks (other
// CPUs and OSes, every crash-reason family, module id formats).
type synthCase struct {
	name string
	arch minidump.Arch
	os   synth.OS
	exc  synth.Exception
	edit func(b *synth.Builder)
}

func synthCases() []synthCase {
	mods := func(b *synth.Builder) {
		b.AddModule(synth.Module{Name: `C:\Program Files\app\app.exe`, Base: 0x400000, Size: 0x20000, TimeDateStamp: 0x45D35F6C,
			CodeView: synth.PDB70(minidump.GUID{0x5A, 0x98, 0x32, 0xE5, 15: 0xFF}, 0x1b, `c:\build\app.pdb`), Version: [4]uint16{1, 2, 3, 4}})
		b.AddModule(synth.Module{Name: "old.dll", Base: 0x10000000, Size: 0x3000, TimeDateStamp: 7, CodeView: synth.PDB20(0xABCDEF01, 3, "old.pdb")})
		b.AddModule(synth.Module{Name: "nocv.dll", Base: 0x20000000, Size: 0xa000, TimeDateStamp: 0x378BC3CD})
		b.AddModule(synth.Module{Name: "/usr/lib/libelf.so", Base: 0x7f0000000000, Size: 0x5000, CodeView: synth.ELFBuildID([]byte{0xf1, 0xc3, 0xbc, 0xc0, 0x27, 0x98, 0x65, 0xfe, 0x30, 0x58})})
		b.AddModule(synth.Module{Name: "/usr/lib/zero.so", Base: 0x7f0000010000, Size: 0x1000, CodeView: synth.ELFBuildID(make([]byte, 20))})
		b.AddModule(synth.Module{Name: "/usr/lib/unknowncv.so", Base: 0x7f0000020000, Size: 0x1000, CodeView: synth.CodeView("XXXXabc")})
		b.AddUnloadedModule(synth.UnloadedModule{Name: "gone.dll", Base: 0x30000000, Size: 0x2000, TimeDateStamp: 0x1234})
		b.SetThreadName(1, "main thread")
		b.SetMiscInfo(4242, 1699990000)
	}
	var out []synthCase
	for _, os := range []synth.OS{synth.Windows, synth.Linux, synth.MacOS, synth.Android, synth.IOS} {
		for _, arch := range []minidump.Arch{minidump.ArchX86, minidump.ArchAMD64, minidump.ArchARM, minidump.ArchARM64} {
			out = append(out, synthCase{name: fmt.Sprintf("modules-%d-%s", os, arch), arch: arch, os: os,
				exc: synth.Exception{Code: 0xc0000005, Address: 0xffffffff80001234, Params: []uint64{1, 0x45}}, edit: mods})
		}
	}
	reasons := []struct {
		os    synth.OS
		arch  minidump.Arch
		code  uint32
		flags uint32
		p     []uint64
	}{
		{synth.Windows, minidump.ArchAMD64, 0xc0000005, 0, []uint64{0, 0x10}},
		{synth.Windows, minidump.ArchAMD64, 0xc0000005, 0, []uint64{8, 0x10}},
		{synth.Windows, minidump.ArchAMD64, 0xc0000005, 0, []uint64{5, 0x10}},
		{synth.Windows, minidump.ArchAMD64, 0xc0000006, 0, []uint64{1, 0x2000, 0xc000009c}},
		{synth.Windows, minidump.ArchAMD64, 0xc0000006, 0, []uint64{1, 0x2000, 0x12345678}},
		{synth.Windows, minidump.ArchAMD64, 0xc0000409, 0, []uint64{7}},
		{synth.Windows, minidump.ArchAMD64, 0xc0000409, 0, []uint64{999}},
		{synth.Windows, minidump.ArchX86, 0xe06d7363, 0, nil},
		{synth.Windows, minidump.ArchX86, 0xe0000008, 0, nil},
		{synth.Windows, minidump.ArchX86, 0x0517a7ed, 0, nil},
		{synth.Windows, minidump.ArchX86, 0xc0000374, 0, nil},
		{synth.Windows, minidump.ArchX86, 5, 0, nil},
		{synth.Windows, minidump.ArchX86, 0x806d0005, 0, nil},
		{synth.Windows, minidump.ArchX86, 0xdeadbeef, 0, nil},
		{synth.Linux, minidump.ArchAMD64, 11, 1, nil},
		{synth.Linux, minidump.ArchAMD64, 11, 0x80, nil},
		{synth.Linux, minidump.ArchAMD64, 6, 0xfffffffa, nil},
		{synth.Linux, minidump.ArchAMD64, 6, 0, nil},
		{synth.Linux, minidump.ArchAMD64, 7, 0x1234, nil},
		{synth.Linux, minidump.ArchAMD64, 31, 1, nil},
		{synth.Linux, minidump.ArchAMD64, 5, 4, nil},
		{synth.Linux, minidump.ArchAMD64, 0xffffffff, 0, nil},
		{synth.Linux, minidump.ArchAMD64, 99, 3, nil},
		{synth.Android, minidump.ArchARM64, 4, 2, nil},
		{synth.MacOS, minidump.ArchAMD64, 1, 1, nil},
		{synth.MacOS, minidump.ArchARM64, 1, 0x101, nil},
		{synth.MacOS, minidump.ArchAMD64, 1, 13, nil},
		{synth.MacOS, minidump.ArchAMD64, 1, 77, nil},
		{synth.MacOS, minidump.ArchARM64, 2, 1, nil},
		{synth.MacOS, minidump.ArchAMD64, 3, 1, nil},
		{synth.MacOS, minidump.ArchARM64, 5, 0x10002, nil},
		{synth.MacOS, minidump.ArchAMD64, 6, 2, nil},
		{synth.MacOS, minidump.ArchARM64, 6, 1, nil},
		{synth.MacOS, minidump.ArchAMD64, 7, 9, nil},
		{synth.MacOS, minidump.ArchAMD64, 0x43507378, 0, nil},
		{synth.MacOS, minidump.ArchARM64, 11, 1 << 29, []uint64{0, 1<<58 | 5<<7 | 3, 2}},
		{synth.MacOS, minidump.ArchARM64, 11, 3 << 29, []uint64{0, 1<<58 | 50, 0}},
		{synth.MacOS, minidump.ArchARM64, 12, 2 << 29, []uint64{0, 1<<32 | 5, 99}},
		{synth.MacOS, minidump.ArchARM64, 12, 1 << 29, []uint64{0, 2<<32 | 7, 0}},
		{synth.MacOS, minidump.ArchARM64, 12, 3 << 29, []uint64{0, 12, 34}},
		{synth.MacOS, minidump.ArchARM64, 12, 0, []uint64{0, 0, 0}},
		{synth.IOS, minidump.ArchARM64, 1, 2, nil},
	}
	out = append(out, synthCase{name: "arm-cpuinfo", arch: minidump.ArchARM, os: synth.Android,
		exc: synth.Exception{Code: 11, Flags: 2}, edit: func(b *synth.Builder) {
			si := &synth.SystemInfo{ProcessorArchitecture: minidump.ProcessorARM, ProcessorLevel: 7, NumberOfProcessors: 4,
				PlatformID: synth.Android, CSDVersion: "Linux 4.4.0 #1 armv7l"}
			copy(si.CPU[:], []byte{0x90, 0xc0, 0x00, 0x41, 0x07, 0x10, 0x00, 0x00}) // Cortex-A9; swp|half|thumb|neon
			b.SetSystemInfo(si)
		}})
	out = append(out, synthCase{name: "arm-cpuinfo-unknown-part", arch: minidump.ArchARM, os: synth.Linux,
		exc: synth.Exception{Code: 6}, edit: func(b *synth.Builder) {
			si := &synth.SystemInfo{ProcessorArchitecture: minidump.ProcessorARM, ProcessorLevel: 8, PlatformID: synth.Linux}
			copy(si.CPU[:], []byte{0x10, 0xd0, 0x00, 0x77, 0xff, 0xff, 0x07, 0x00})
			b.SetSystemInfo(si)
		}})
	for i, r := range reasons {
		out = append(out, synthCase{name: fmt.Sprintf("reason-%02d", i), arch: r.arch, os: r.os,
			exc: synth.Exception{Code: r.code, Flags: r.flags, Address: 0x1000, Params: r.p}})
	}
	return out
}

// TestSyntheticAgreesWithMinidumpStackwalk builds dumps for every CPU and
// OS and every crash-reason family with the synth writer, and compares the
// two readers on them.
func TestSyntheticAgreesWithMinidumpStackwalk(t *testing.T) {
	tool, err := oracle.Find()
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	for _, c := range synthCases() {
		t.Run(c.name, func(t *testing.T) {
			ctx := minidump.NewContext(c.arch)
			for _, n := range minidump.RegisterNames(c.arch) {
				ctx.Set(n, 0x100)
			}
			ctx.Set(ctx.SPName(), 0x7000)
			b := synth.New(c.arch, c.os)
			b.AddThread(synth.Thread{ID: 1, Stack: synth.Memory{Base: 0x7000, Data: make([]byte, 64)}, Context: &ctx})
			c.exc.ThreadID = 1
			c.exc.Context = &ctx
			b.SetException(c.exc)
			if c.edit != nil {
				c.edit(b)
			}
			path := filepath.Join(dir, c.name+".dmp")
			require.NoError(t, os.WriteFile(path, b.Bytes(), 0o600))
			out, err := oracle.Run(context.Background(), tool, path)
			require.NoError(t, err)
			var theirs View
			require.NoError(t, json.Unmarshal(out, &theirs))
			ours, err := Ours(path)
			require.NoError(t, err)
			for _, d := range Diff(ours, theirs) {
				t.Errorf("%s (ours != minidump-stackwalk)", d)
			}
		})
	}
}
