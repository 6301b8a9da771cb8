package minidump_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/minidump/synth"
)

func TestContextRoundTrip(t *testing.T) {
	tests := []struct {
		arch minidump.Arch
		regs map[string]uint64
		ip   string
	}{
		{minidump.ArchX86, map[string]uint64{"eip": 0x401000, "esp": 0x12fe84, "ebp": 0x12fe88, "eax": 0x45, "eflags": 0x246}, "eip"},
		{minidump.ArchAMD64, map[string]uint64{"rip": 0x7f0012345678, "rsp": 0x7ffd0000, "rbp": 0x7ffd0010, "r15": 15, "rcx": 3}, "rip"},
		{minidump.ArchARM, map[string]uint64{"pc": 0x8000, "sp": 0x9000, "fp": 0x9010, "lr": 0x8100, "r12": 12}, "pc"},
		{minidump.ArchARM64, map[string]uint64{"pc": 0x100004000, "sp": 0x16f000, "fp": 0x16f010, "lr": 0x100003ff0, "x0": 1, "x28": 28}, "pc"},
	}
	for _, tt := range tests {
		t.Run(string(tt.arch), func(t *testing.T) {
			ctx := minidump.NewContext(tt.arch)
			for _, n := range minidump.RegisterNames(tt.arch) {
				ctx.Set(n, 0)
			}
			for n, v := range tt.regs {
				require.True(t, ctx.Set(n, v), n)
			}
			b := synth.New(tt.arch, synth.Linux)
			b.AddThread(synth.Thread{ID: 1, Context: &ctx})
			d, err := minidump.Parse(b.Bytes())
			require.NoError(t, err)
			require.Empty(t, d.SoftErrors)
			require.Len(t, d.Threads, 1)
			got := d.Threads[0].Context
			require.NotNil(t, got)
			assert.Equal(t, tt.arch, got.Arch)
			for n, v := range tt.regs {
				gv, ok := got.Get(n)
				assert.True(t, ok, n)
				assert.Equal(t, v, gv, n)
			}
			assert.Equal(t, tt.regs[tt.ip], got.IP())
			assert.Len(t, got.Registers(), len(minidump.RegisterNames(tt.arch)))
		})
	}
}

func TestContextARM64OldLayout(t *testing.T) {
	ctx := minidump.NewContext(minidump.ArchARM64)
	ctx.Set("pc", 0x4000)
	ctx.Set("sp", 0x8000)
	ctx.Set("x29", 0x8010) // alias of fp
	b := synth.New(minidump.ArchARM64, synth.Android)
	si := &synth.SystemInfo{ProcessorArchitecture: minidump.ProcessorARM64Old, PlatformID: synth.Android}
	b.SetSystemInfo(si)
	b.AddThread(synth.Thread{ID: 9, RawContext: synth.EncodeContextARM64Old(&ctx)})
	d, err := minidump.Parse(b.Bytes())
	require.NoError(t, err)
	require.Empty(t, d.SoftErrors)
	c := d.Threads[0].Context
	require.NotNil(t, c)
	assert.Equal(t, uint64(0x4000), c.IP())
	assert.Equal(t, uint64(0x8000), c.SP())
	assert.Equal(t, uint64(0x8010), c.FP())
	assert.Equal(t, "arm64", d.SystemInfo.CPUArch())
}

func TestContextAPI(t *testing.T) {
	c := minidump.NewContext(minidump.ArchAMD64)
	_, ok := c.Get("rip")
	assert.False(t, ok, "new contexts have no valid register")
	assert.False(t, c.Set("eip", 1), "x86 names are not amd64 registers")
	c.Set("rip", 0x1000)
	c.Set("rsp", 0x2000)
	caller := c // a value copy
	caller.Invalidate()
	caller.Set("rip", 0x3000)
	assert.Equal(t, uint64(0x1000), c.IP(), "the copy does not alias the original")
	assert.Equal(t, []minidump.Register{{Name: "rip", Value: 0x3000}}, caller.Registers())
	assert.Equal(t, "0x0000000000003000", caller.Format("rip"))
	assert.Equal(t, "", caller.Format("rsp"))
	caller.Unset("rip")
	assert.False(t, caller.Valid("rip"))

	x := minidump.NewContext(minidump.ArchX86)
	x.Set("esp", 0x1_0000_0010)
	assert.Equal(t, uint64(0x10), x.SP(), "32-bit registers truncate")
	a := minidump.NewContext(minidump.ArchARM)
	a.Set("r11", 7)
	assert.Equal(t, uint64(7), a.FP(), "r11 is arm's fp")
	assert.Equal(t, []string{"rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip"},
		minidump.RegisterNames(minidump.ArchAMD64))
}

func guid(s string) minidump.GUID {
	var g minidump.GUID
	for i := range g {
		var b byte
		for _, c := range s[2*i : 2*i+2] {
			b <<= 4
			switch {
			case c >= '0' && c <= '9':
				b |= byte(c - '0')
			default:
				b |= byte(c-'A') + 10
			}
		}
		g[i] = b
	}
	return g
}

func TestModuleIdentifiers(t *testing.T) {
	buildID := []byte{0xf1, 0xc3, 0xbc, 0xc0, 0x27, 0x98, 0x65, 0xfe, 0x30, 0x58, 0x40, 0x4b, 0x28, 0x31, 0xd9, 0xe6, 0x41, 0x35, 0x38, 0x6c}
	tests := []struct {
		name                            string
		os                              synth.OS
		mod                             synth.Module
		debugID, debugFile, codeID, ver string
	}{
		{"windows rsds", synth.Windows, synth.Module{Name: `C:\app\test_app.exe`, Base: 0x400000, Size: 0x2d000, TimeDateStamp: 0x45D35F6C,
			CodeView: synth.PDB70(guid("5A9832E5287241C1838ED98914E9B7FF"), 1, `c:\test_app.pdb`), Version: [4]uint16{5, 1, 2600, 2180}},
			"5A9832E5287241C1838ED98914E9B7FF1", `c:\test_app.pdb`, "45D35F6C2d000", "5.1.2600.2180"},
		{"age in lowercase hex", synth.Windows, synth.Module{Name: "a.dll", Base: 0x1000, Size: 0x1000,
			CodeView: synth.PDB70(guid("ABCD1234ABCD1234ABCDABCD12345678"), 10, "a.pdb")},
			"ABCD1234ABCD1234ABCDABCD12345678a", "a.pdb", "000000001000", ""},
		{"nb10", synth.Windows, synth.Module{Name: "old.dll", Base: 0x1000, Size: 0x2000, TimeDateStamp: 1,
			CodeView: synth.PDB20(0x3A4B5C6D, 2, "old.pdb")},
			"3A4B5C6D2", "old.pdb", "000000012000", ""},
		{"windows without codeview", synth.Windows, synth.Module{Name: "wow64cpu.dll", Base: 0x1000, Size: 0xa000, TimeDateStamp: 0x378BC3CD},
			"", "", "378BC3CDa000", ""},
		{"elf build id", synth.Linux, synth.Module{Name: "/usr/lib/libfoo.so", Base: 0x7f0000000000, Size: 0x1000,
			CodeView: synth.ELFBuildID(buildID)},
			"C0BCC3F19827FE653058404B2831D9E60", "/usr/lib/libfoo.so", "f1c3bcc0279865fe3058404b2831d9e64135386c", ""},
		{"short elf build id is zero padded", synth.Linux, synth.Module{Name: "/lib/x.so", Base: 0x1000, Size: 0x1000,
			CodeView: synth.ELFBuildID([]byte{1, 2, 3, 4})},
			"04030201000000000000000000000000" + "0", "/lib/x.so", "01020304", ""},
		{"all-zero elf build id", synth.Linux, synth.Module{Name: "/font.ttf", Base: 0x1000, Size: 0x1000,
			CodeView: synth.ELFBuildID(make([]byte, 20))},
			"", "/font.ttf", "", ""},
		{"mac code id is the uuid", synth.MacOS, synth.Module{Name: "/usr/lib/libSystem.B.dylib", Base: 0x1000, Size: 0x1000,
			CodeView: synth.PDB70(guid("509C0610949836F7B70BD88BCF03E540"), 0, "libSystem.B.dylib")},
			"509C0610949836F7B70BD88BCF03E5400", "libSystem.B.dylib", "509C0610949836F7B70BD88BCF03E540", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := synth.New(minidump.ArchAMD64, tt.os)
			b.AddModule(tt.mod)
			d, err := minidump.Parse(b.Bytes())
			require.NoError(t, err)
			require.Empty(t, d.SoftErrors)
			require.Len(t, d.Modules, 1)
			m := d.Modules[0]
			assert.Equal(t, tt.debugID, m.DebugID)
			assert.Equal(t, tt.debugFile, m.DebugFile)
			assert.Equal(t, tt.codeID, m.CodeID)
			assert.Equal(t, tt.ver, m.Version)
			assert.Equal(t, tt.mod.Base+uint64(tt.mod.Size), m.End())
		})
	}
}

func TestCrashReasons(t *testing.T) {
	tests := []struct {
		name   string
		os     synth.OS
		arch   minidump.Arch
		exc    synth.Exception
		reason string
		addr   uint64
	}{
		{"av read", synth.Windows, minidump.ArchX86, synth.Exception{Code: 0xc0000005, Address: 0x401000, Params: []uint64{0, 0x10}}, "EXCEPTION_ACCESS_VIOLATION_READ", 0x10},
		{"av write", synth.Windows, minidump.ArchAMD64, synth.Exception{Code: 0xc0000005, Address: 0x401000, Params: []uint64{1, 0x45}}, "EXCEPTION_ACCESS_VIOLATION_WRITE", 0x45},
		{"av exec", synth.Windows, minidump.ArchAMD64, synth.Exception{Code: 0xc0000005, Address: 0x401000, Params: []uint64{8, 0x45}}, "EXCEPTION_ACCESS_VIOLATION_EXEC", 0x45},
		{"av without params", synth.Windows, minidump.ArchAMD64, synth.Exception{Code: 0xc0000005, Address: 0x401000}, "EXCEPTION_ACCESS_VIOLATION", 0x401000},
		{"av one param keeps the exception address", synth.Windows, minidump.ArchAMD64, synth.Exception{Code: 0xc0000005, Address: 0x401000, Params: []uint64{1}}, "EXCEPTION_ACCESS_VIOLATION_WRITE", 0x401000},
		{"in page error", synth.Windows, minidump.ArchAMD64, synth.Exception{Code: 0xc0000006, Address: 1, Params: []uint64{0, 0x2000, 0xc000009c}}, "EXCEPTION_IN_PAGE_ERROR_READ / STATUS_DEVICE_DATA_ERROR", 0x2000},
		{"fast fail", synth.Windows, minidump.ArchAMD64, synth.Exception{Code: 0xc0000409, Address: 5, Params: []uint64{7}}, "EXCEPTION_STACK_BUFFER_OVERRUN / FAST_FAIL_FATAL_APP_EXIT", 5},
		{"stack overflow", synth.Windows, minidump.ArchX86, synth.Exception{Code: 0xc00000fd, Address: 0xdea637}, "EXCEPTION_STACK_OVERFLOW", 0xdea637},
		{"cpp exception", synth.Windows, minidump.ArchX86, synth.Exception{Code: 0xe06d7363}, "Unhandled C++ Exception", 0},
		{"ntstatus", synth.Windows, minidump.ArchX86, synth.Exception{Code: 0xc0000374}, "STATUS_HEAP_CORRUPTION", 0},
		{"unknown windows", synth.Windows, minidump.ArchX86, synth.Exception{Code: 0xdeadbeef}, "unknown 0xdeadbeef", 0},
		{"32-bit address truncation", synth.Windows, minidump.ArchX86, synth.Exception{Code: 0x80000003, Address: 0xffffffff80001234}, "EXCEPTION_BREAKPOINT", 0x80001234},
		{"sigsegv maperr", synth.Linux, minidump.ArchAMD64, synth.Exception{Code: 11, Flags: 1, Address: 0x45}, "SIGSEGV / SEGV_MAPERR", 0x45},
		{"sigsegv si_kernel", synth.Linux, minidump.ArchAMD64, synth.Exception{Code: 11, Flags: 0x80}, "SIGSEGV / SI_KERNEL", 0},
		{"sigabrt from tkill", synth.Linux, minidump.ArchAMD64, synth.Exception{Code: 6, Flags: 0xfffffffa}, "SIGABRT / SI_TKILL", 0},
		{"sigabrt si_user", synth.Linux, minidump.ArchAMD64, synth.Exception{Code: 6}, "SIGABRT", 0},
		{"sigill", synth.Android, minidump.ArchARM64, synth.Exception{Code: 4, Flags: 2}, "SIGILL / ILL_ILLOPN", 0},
		{"sigbus odd code", synth.Linux, minidump.ArchARM, synth.Exception{Code: 7, Flags: 0x1234}, "SIGBUS / 0x00001234", 0},
		{"dump requested", synth.Linux, minidump.ArchAMD64, synth.Exception{Code: 0xffffffff}, "DUMP_REQUESTED", 0},
		{"unknown signal", synth.Linux, minidump.ArchAMD64, synth.Exception{Code: 99, Flags: 3}, "unknown 0x00000063 / 0x00000003", 0},
		{"mac bad access", synth.MacOS, minidump.ArchAMD64, synth.Exception{Code: 1, Flags: 1, Address: 0x10}, "EXC_BAD_ACCESS / KERN_INVALID_ADDRESS", 0x10},
		{"mac arm da align", synth.MacOS, minidump.ArchARM64, synth.Exception{Code: 1, Flags: 0x101}, "EXC_BAD_ACCESS / EXC_ARM_DA_ALIGN", 0},
		{"mac x86 gpflt", synth.MacOS, minidump.ArchAMD64, synth.Exception{Code: 1, Flags: 13}, "EXC_BAD_ACCESS / EXC_I386_GPFLT", 0},
		{"mac breakpoint", synth.MacOS, minidump.ArchAMD64, synth.Exception{Code: 6, Flags: 2}, "EXC_BREAKPOINT / EXC_I386_BPT", 0},
		{"mac software abort", synth.MacOS, minidump.ArchARM64, synth.Exception{Code: 5, Flags: 0x10002}, "EXC_SOFTWARE / SIGABRT", 0},
		{"mac generic", synth.MacOS, minidump.ArchAMD64, synth.Exception{Code: 7, Flags: 9}, "EXC_SYSCALL / 0x00000009", 0},
		{"mac simulated", synth.MacOS, minidump.ArchAMD64, synth.Exception{Code: 0x43507378}, "Simulated Exception", 0},
		{"mac guard fd", synth.MacOS, minidump.ArchARM64, synth.Exception{Code: 12, Flags: 2 << 29, Params: []uint64{0, 1<<32 | 5, 99}}, "EXC_GUARD / GUARD_TYPE_FD / GUARD_EXC_CLOSE file descriptor: 5 guard identifier: 99", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := synth.New(tt.arch, tt.os)
			tt.exc.ThreadID = 1
			b.AddThread(synth.Thread{ID: 1})
			b.SetException(tt.exc)
			d, err := minidump.Parse(b.Bytes())
			require.NoError(t, err)
			assert.Equal(t, tt.reason, d.CrashReason())
			assert.Equal(t, tt.addr, d.CrashAddress())
		})
	}
}

func TestStreamsRoundTrip(t *testing.T) {
	ctx := minidump.NewContext(minidump.ArchAMD64)
	ctx.Set("rip", 0x401000)
	ctx.Set("rsp", 0x7000)
	stack := make([]byte, 64)
	stack[8] = 0x42
	b := synth.New(minidump.ArchAMD64, synth.Windows).SetTimestamp(1000)
	b.AddThread(synth.Thread{ID: 5, TEB: 0x9000, Stack: synth.Memory{Base: 0x7000, Data: stack}, Context: &ctx})
	b.AddThread(synth.Thread{ID: 6})
	teb := make([]byte, 0x100)
	teb[13*8] = 5 // GetLastError() = ERROR_ACCESS_DENIED
	b.AddMemory(synth.Memory{Base: 0x9000, Data: teb})
	b.SetThreadName(5, "main")
	b.AddUnloadedModule(synth.UnloadedModule{Name: "gone.dll", Base: 0x5000, Size: 0x1000, TimeDateStamp: 0xabc})
	b.SetMiscInfo(77, 900)
	b.SetBreakpadInfo(6, 5)
	b.SetAssertion("x != 0", "f", "a.c", 3, minidump.AssertionInvalidParameter)
	b.SetCrashpadAnnotations(minidump.GUID{1}, minidump.GUID{2}, map[string]string{"ProductName": "Firefox"})
	b.AddStream(minidump.LinuxProcStatusStream, []byte("Name:\tapp\nPid:\t4242\n"))
	d, err := minidump.Parse(b.Bytes())
	require.NoError(t, err)
	require.Empty(t, d.SoftErrors)

	assert.Equal(t, "main", d.Threads[0].Name)
	assert.Equal(t, "", d.Threads[1].Name)
	v, ok := d.Memory.U64(0x7008)
	assert.True(t, ok)
	assert.Equal(t, uint64(0x42), v)
	_, ok = d.Memory.U64(0x7000 + 60)
	assert.False(t, ok, "a word crossing the region end is not readable")
	le, ok := d.LastError(&d.Threads[0])
	assert.True(t, ok)
	assert.Equal(t, "ERROR_ACCESS_DENIED", minidump.WindowsErrorName(le))
	require.Len(t, d.UnloadedModules, 1)
	assert.Equal(t, "gone.dll", d.UnloadedModules[0].Name)
	assert.Equal(t, "00000ABC1000", d.UnloadedModules[0].CodeID())
	pid, _ := d.PID()
	assert.Equal(t, uint32(77), pid, "MiscInfo wins over /proc status")
	up, _ := d.ProcessUptime()
	assert.Equal(t, uint64(100), up)
	tid, ok := d.CrashingThread()
	assert.True(t, ok)
	assert.Equal(t, uint32(5), tid, "no exception: Breakpad's requesting thread")
	require.NotNil(t, d.Assertion)
	assert.Equal(t, "x != 0", d.Assertion.Expression)
	require.NotNil(t, d.Crashpad)
	assert.Equal(t, map[string]string{"ProductName": "Firefox"}, d.Crashpad.SimpleAnnotations)
	assert.Equal(t, minidump.GUID{1}, d.Crashpad.ReportID)

	r := d.Report()
	require.NotNil(t, r.CrashInfo.CrashingThread)
	assert.Equal(t, 0, *r.CrashInfo.CrashingThread)
	assert.Nil(t, r.CrashInfo.Type)
	assert.Equal(t, "ERROR_ACCESS_DENIED", *r.Threads[0].LastErrorValue)
	assert.Equal(t, "0x0000000000005000", r.UnloadedModules[0].BaseAddr)
}

func TestMemory64(t *testing.T) {
	b := synth.New(minidump.ArchAMD64, synth.Windows).UseMemory64()
	b.AddMemory(synth.Memory{Base: 0x1000, Data: []byte{1, 2, 3, 4, 5, 6, 7, 8}})
	b.AddMemory(synth.Memory{Base: 0x3000, Data: []byte{9, 9, 9, 9}})
	d, err := minidump.Parse(b.Bytes())
	require.NoError(t, err)
	require.Empty(t, d.SoftErrors)
	require.Len(t, d.Memory.Regions(), 2)
	v, ok := d.Memory.U32(0x3000)
	assert.True(t, ok)
	assert.Equal(t, uint32(0x09090909), v)
	_, ok = d.Memory.Read(0x2000, 1)
	assert.False(t, ok)
}

func TestPIDFromLinuxProcStatus(t *testing.T) {
	b := synth.New(minidump.ArchAMD64, synth.Linux)
	b.AddStream(minidump.LinuxProcStatusStream, []byte("Name:\tapp\nPid:\t4242\n"))
	b.AddStream(minidump.LinuxLSBReleaseStream, []byte("DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_DESCRIPTION=\"Ubuntu 22.04 LTS\"\n"))
	d, err := minidump.Parse(b.Bytes())
	require.NoError(t, err)
	pid, ok := d.PID()
	assert.True(t, ok)
	assert.Equal(t, uint32(4242), pid)
	r := d.Report()
	require.NotNil(t, r.LSBRelease)
	assert.Equal(t, "Ubuntu 22.04 LTS", r.LSBRelease.Description)
	assert.Nil(t, r.ProcessUptime)
}

func TestMacStreams(t *testing.T) {
	le := func(p []byte, vs ...uint64) []byte {
		for _, v := range vs {
			p = append(p, byte(v), byte(v>>8), byte(v>>16), byte(v>>24), byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
		}
		return p
	}
	// One version-5 record: 5 u64 fixed fields, then five C strings.
	record := le(nil, 0x4d7a0001, 5, 0x1234, 0, 7)
	record = append(record, "/usr/lib/libA.dylib\x00abort() called\x00\x00\x00\x00"...)
	raw := synth.New(minidump.ArchARM64, synth.MacOS).AddStream(minidump.MozMacosCrashInfoStream, nil).Bytes()
	recRVA := uint32(len(raw))
	raw = append(raw, record...)
	header := make([]byte, 12+8*20)
	copy(header, []byte{1, 0, 0x7a, 0x4d, 1, 0, 0, 0, 40, 0, 0, 0})
	header[12], header[13] = byte(len(record)), byte(len(record)>>8)
	header[16], header[17], header[18], header[19] = byte(recRVA), byte(recRVA>>8), byte(recRVA>>16), byte(recRVA>>24)
	hdrRVA := uint32(len(raw))
	raw = append(raw, header...)
	e := streamEntry(t, raw, minidump.MozMacosCrashInfoStream)
	raw[e+4], raw[e+5] = byte(len(header)), byte(len(header)>>8)
	raw[e+8], raw[e+9], raw[e+10], raw[e+11] = byte(hdrRVA), byte(hdrRVA>>8), byte(hdrRVA>>16), byte(hdrRVA>>24)
	d, err := minidump.Parse(raw)
	require.NoError(t, err)
	require.Empty(t, d.SoftErrors)
	require.NotNil(t, d.MacCrashInfo)
	require.Len(t, d.MacCrashInfo.Records, 1)
	r := d.MacCrashInfo.Records[0]
	assert.Equal(t, uint64(0x1234), r.Thread)
	assert.Equal(t, uint64(7), r.AbortCause)
	assert.Equal(t, "/usr/lib/libA.dylib", r.ModulePath)
	assert.Equal(t, "abort() called", r.Message)
}

func TestModuleAt(t *testing.T) {
	b := synth.New(minidump.ArchAMD64, synth.Linux)
	b.AddModule(synth.Module{Name: "/c", Base: 0x3000, Size: 0x1000})
	b.AddModule(synth.Module{Name: "/a", Base: 0x1000, Size: 0x1000})
	b.AddModule(synth.Module{Name: "/b", Base: 0x2000, Size: 0x800})
	d, err := minidump.Parse(b.Bytes())
	require.NoError(t, err)
	for addr, want := range map[uint64]string{0x1000: "/a", 0x1fff: "/a", 0x2000: "/b", 0x27ff: "/b", 0x3800: "/c"} {
		m, ok := d.ModuleAt(addr)
		require.True(t, ok, "%#x", addr)
		assert.Equal(t, want, m.Name)
	}
	for _, addr := range []uint64{0, 0xfff, 0x2800, 0x4000} {
		_, ok := d.ModuleAt(addr)
		assert.False(t, ok, "%#x", addr)
	}
	assert.Equal(t, "/c", d.Modules[0].Name, "Modules keeps the dump's order")
}

func TestParseMaps(t *testing.T) {
	maps := "00400000-00401000 r-xp 00000000 08:01 1234 /usr/bin/app\n" +
		"7ffd0000-7ffd1000 rw-p 00000000 00:00 0                          [stack]\n" +
		"7f0000000000-7f0000001000 r--p 00001000 08:01 99 /tmp/a file (deleted)\n" +
		"7f0000002000-7f0000003000 ---p 00000000 00:00 0\n"
	l := minidump.LinuxStreams{Maps: []byte(maps)}
	got, err := l.ParseMaps()
	require.NoError(t, err)
	require.Len(t, got, 4)
	assert.Equal(t, minidump.LinuxMap{Start: 0x400000, End: 0x401000, Perms: "r-xp", Dev: "08:01", Inode: 1234, Path: "/usr/bin/app"}, got[0])
	assert.Equal(t, "[stack]", got[1].Path)
	assert.Equal(t, "/tmp/a file (deleted)", got[2].Path)
	assert.Equal(t, uint64(0x1000), got[2].Offset)
	assert.Equal(t, "", got[3].Path)

	l.Maps = []byte("garbage\n")
	_, err = l.ParseMaps()
	assert.Error(t, err)
}

func TestDSODebugLayouts(t *testing.T) {
	d, err := minidump.Parse(readShared(t, "breakpad/linux_null_read_av.dmp"))
	require.NoError(t, err)
	require.Empty(t, d.SoftErrors)
	require.NotNil(t, d.Linux.DSODebug)
	require.Len(t, d.Linux.DSODebug.Maps, 8)
	assert.Equal(t, "/lib64/ld-linux-x86-64.so.2", d.Linux.DSODebug.Maps[7].Name)
	assert.Equal(t, uint64(0x7f4752b35780), d.Linux.DSODebug.Brk)

	// minidump-writer's packed layout: 36-byte header, 20-byte link maps.
	le := func(p []byte, n int, v uint64) []byte {
		for i := range n {
			p = append(p, byte(v>>(8*i)))
		}
		return p
	}
	base := synth.New(minidump.ArchAMD64, synth.Linux).AddStream(minidump.LinuxDSODebugStream, make([]byte, 36)).Bytes()
	nameRVA := len(base)
	raw := append(base, 8, 0, 0, 0, 'l', 0, 'd', 0, 's', 0, 'o', 0)
	mapRVA := len(raw)
	raw = le(raw, 8, 0x7f0000000000)
	raw = le(raw, 4, uint64(nameRVA))
	raw = le(raw, 8, 0x7f0000001000)
	e := streamEntry(t, raw, minidump.LinuxDSODebugStream)
	rva := int(raw[e+8]) | int(raw[e+9])<<8 | int(raw[e+10])<<16
	hdr := le(nil, 4, 1)
	hdr = le(hdr, 4, uint64(mapRVA))
	hdr = le(hdr, 4, 1)
	hdr = le(hdr, 8, 0x7ffff7fcc060) // brk, right after dso_count
	copy(raw[rva:], hdr)
	d, err = minidump.Parse(raw)
	require.NoError(t, err)
	require.Empty(t, d.SoftErrors)
	require.Len(t, d.Linux.DSODebug.Maps, 1)
	assert.Equal(t, "ldso", d.Linux.DSODebug.Maps[0].Name)
	assert.Equal(t, uint64(0x7f0000001000), d.Linux.DSODebug.Maps[0].LD)
	assert.Equal(t, uint64(0x7ffff7fcc060), d.Linux.DSODebug.Brk)
}
