package minidump_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/minidump"
)

// The expected values below were checked against minidump-stackwalk 0.27
// (see tests/minidumpcompat for the automated comparison).
func TestSharedDumps(t *testing.T) {
	tests := []struct {
		file, os, cpu, cpuInfo, osVer string
		reason                        string
		addr                          uint64
		threads, modules              int
		crashTID                      uint32
		mod0                          [3]string // filename, debug_id, code_id
	}{
		{"breakpad/minidump2.dmp", "Windows NT", "x86", "GenuineIntel family 6 model 13 stepping 8",
			"5.1.2600 Service Pack 2", "EXCEPTION_ACCESS_VIOLATION_WRITE", 0x45, 2, 13, 3060,
			[3]string{"test_app.exe", "5A9832E5287241C1838ED98914E9B7FF1", "45D35F6C2d000"}},
		{"breakpad/linux_null_read_av.dmp", "Linux", "amd64", "family 6 model 45 stepping 7",
			"3.3.8-gcg-201308121035 #2 SMP Mon Aug 12 10:38:28 PDT 2013", "SIGSEGV", 0, 1, 8, 0,
			[3]string{"null_read_av", "7B7D1968FF0D47AE4366E9C3A7E1B6750", "0000000014000"}},
		{"breakpad/stack_exhaustion.dmp", "Windows NT", "x86", "GenuineIntel family 6 model 26 stepping 5",
			"6.1.7600", "EXCEPTION_STACK_OVERFLOW", 0xdea637, 2, 26, 0,
			[3]string{"crashme.exe", "1B5043085F174DA385521DD4740D17301d", "4CA3BB531a000"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			d, err := minidump.Parse(readShared(t, tt.file))
			require.NoError(t, err)
			assert.Empty(t, d.SoftErrors)
			require.NotNil(t, d.SystemInfo)
			assert.Equal(t, tt.os, d.SystemInfo.OS())
			assert.Equal(t, tt.cpu, d.SystemInfo.CPUArch())
			assert.Equal(t, tt.cpuInfo, d.SystemInfo.CPUInfo())
			assert.Equal(t, tt.osVer, d.SystemInfo.OSVersion())
			assert.Equal(t, tt.reason, d.CrashReason())
			assert.Equal(t, tt.addr, d.CrashAddress())
			assert.Len(t, d.Threads, tt.threads)
			assert.Len(t, d.Modules, tt.modules)
			if tt.crashTID != 0 {
				tid, ok := d.CrashingThread()
				assert.True(t, ok)
				assert.Equal(t, tt.crashTID, tid)
			}
			m := d.Modules[0]
			assert.Equal(t, tt.mod0, [3]string{m.Filename(), m.DebugID, m.CodeID})
			require.NotNil(t, d.Exception.Context)
			sp := d.Exception.Context.SP()
			// The crashing thread's stack is readable at its stack pointer.
			th, ok := d.Thread(d.Exception.ThreadID)
			require.True(t, ok)
			r, ok := d.StackMemory(th, sp)
			require.True(t, ok)
			_, ok = r.Word(sp, d.Exception.Context.PointerSize())
			assert.True(t, ok)
		})
	}
}

func TestMinidump2Details(t *testing.T) {
	d, err := minidump.Parse(readShared(t, "breakpad/minidump2.dmp"))
	require.NoError(t, err)
	ctx := d.Exception.Context
	require.NotNil(t, ctx)
	// Register values from minidump-stackwalk's golden JSON for this dump.
	for name, want := range map[string]string{
		"eax": "0x00000045", "ebp": "0x0012fe88", "ebx": "0x7c80abc1", "ecx": "0x0012fe94",
		"edi": "0x00000a28", "edx": "0x0042bc58", "eflags": "0x00010246", "eip": "0x0040429e",
		"esi": "0x00000002", "esp": "0x0012fe84",
	} {
		assert.Equal(t, want, ctx.Format(name), name)
	}
	pid, ok := d.PID()
	assert.True(t, ok)
	assert.Equal(t, uint32(3932), pid)
	up, ok := d.ProcessUptime()
	assert.True(t, ok)
	assert.Equal(t, uint64(0), up)
	dt, ok := d.DumpThreadID()
	assert.True(t, ok)
	assert.Equal(t, uint32(4544), dt)
	m, ok := d.ModuleAt(0x0040429e)
	require.True(t, ok)
	assert.Equal(t, "test_app.pdb", minidump.Basename(m.DebugFile))
	k, ok := d.ModuleAt(0x7c816fd6)
	require.True(t, ok)
	assert.Equal(t, "kernel32.dll", k.Filename())
	assert.Equal(t, "5.1.2600.2945", k.Version)
}
