package minidump_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/minidump/synth"
	"github.com/crashstream/crashstream/services/lib/repotest"
)

// richDump exercises every stream synth can write.
func richDump() []byte {
	ctx := minidump.NewContext(minidump.ArchAMD64)
	ctx.Set("rip", 0x401000)
	ctx.Set("rsp", 0x7000)
	b := synth.New(minidump.ArchAMD64, synth.Windows)
	b.AddThread(synth.Thread{ID: 1, Stack: synth.Memory{Base: 0x7000, Data: make([]byte, 32)}, Context: &ctx})
	b.AddModule(synth.Module{Name: "a.exe", Base: 0x400000, Size: 0x1000, CodeView: synth.PDB70(minidump.GUID{1}, 1, "a.pdb")})
	b.AddUnloadedModule(synth.UnloadedModule{Name: "b.dll", Base: 0x9000, Size: 0x100})
	b.SetThreadName(1, "main")
	b.SetException(synth.Exception{ThreadID: 1, Code: 0xc0000005, Params: []uint64{0, 8}, Context: &ctx})
	b.SetMiscInfo(1, 2)
	b.SetBreakpadInfo(1, 1)
	b.SetCrashpadAnnotations(minidump.GUID{}, minidump.GUID{}, map[string]string{"k": "v"})
	b.AddStream(minidump.LinuxMapsStream, []byte("00400000-00401000 r-xp 00000000 08:01 1 /a\n"))
	return b.Bytes()
}

func TestTruncatedNeverPanics(t *testing.T) {
	inputs := [][]byte{richDump()}
	if root := repotest.FindSharedTestdata(); root != "" {
		b, err := os.ReadFile(filepath.Join(root, "breakpad", "minidump2.dmp"))
		require.NoError(t, err)
		inputs = append(inputs, b)
	}
	for _, full := range inputs {
		// Every length through the header, directory and first streams,
		// then a stride (the fuzzer covers the rest).
		for n := 0; n <= len(full); n = next(n) {
			d, err := minidump.Parse(full[:n])
			if err != nil {
				continue
			}
			_ = d.Report()
		}
	}
}

func next(n int) int {
	if n < 4096 {
		return n + 1
	}
	return n + 7
}

func TestHeaderErrors(t *testing.T) {
	good := richDump()
	tests := []struct {
		name   string
		mutate func([]byte)
	}{
		{"bad signature", func(b []byte) { b[0] = 'X' }},
		{"bad version", func(b []byte) { binary.LittleEndian.PutUint32(b[4:], 1) }},
		{"directory out of bounds", func(b []byte) { binary.LittleEndian.PutUint32(b[12:], 0xfffffff0) }},
		{"too many streams", func(b []byte) { binary.LittleEndian.PutUint32(b[8:], 0xffffffff) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := append([]byte(nil), good...)
			tt.mutate(b)
			_, err := minidump.Parse(b)
			assert.Error(t, err)
		})
	}
	_, err := minidump.Parse([]byte("MDMP"))
	assert.ErrorIs(t, err, minidump.ErrNotMinidump)
}

// streamEntry returns the directory offset of the first stream of type t.
func streamEntry(t *testing.T, b []byte, typ minidump.StreamType) int {
	t.Helper()
	n := int(binary.LittleEndian.Uint32(b[8:]))
	dir := int(binary.LittleEndian.Uint32(b[12:]))
	for i := range n {
		off := dir + 12*i
		if minidump.StreamType(binary.LittleEndian.Uint32(b[off:])) == typ {
			return off
		}
	}
	t.Fatalf("no stream %v", typ)
	return 0
}

func TestCorruptStreamIsSoft(t *testing.T) {
	tests := []struct {
		name   string
		stream minidump.StreamType
		mutate func(t *testing.T, b []byte, entry int)
		check  func(t *testing.T, d *minidump.Dump)
	}{
		{"module list past EOF", minidump.ModuleListStream, func(t *testing.T, b []byte, e int) {
			binary.LittleEndian.PutUint32(b[e+8:], uint32(len(b)-4))
		}, func(t *testing.T, d *minidump.Dump) { assert.Empty(t, d.Modules) }},
		{"thread count huge", minidump.ThreadListStream, func(t *testing.T, b []byte, e int) {
			rva := binary.LittleEndian.Uint32(b[e+8:])
			binary.LittleEndian.PutUint32(b[rva:], 0xffffffff)
		}, func(t *testing.T, d *minidump.Dump) { assert.Empty(t, d.Threads) }},
		{"unloaded entry size wrong", minidump.UnloadedModuleListStream, func(t *testing.T, b []byte, e int) {
			rva := binary.LittleEndian.Uint32(b[e+8:])
			binary.LittleEndian.PutUint32(b[rva+4:], 99)
		}, func(t *testing.T, d *minidump.Dump) { assert.Empty(t, d.UnloadedModules) }},
		{"exception context flags wrong", minidump.ExceptionStream, func(t *testing.T, b []byte, e int) {
			rva := binary.LittleEndian.Uint32(b[e+8:])
			ctxRVA := binary.LittleEndian.Uint32(b[rva+164:])
			binary.LittleEndian.PutUint32(b[ctxRVA+48:], 0x10000) // x86 bits in an amd64 record
		}, func(t *testing.T, d *minidump.Dump) {
			require.NotNil(t, d.Exception)
			assert.Nil(t, d.Exception.Context)
			assert.Equal(t, "EXCEPTION_ACCESS_VIOLATION_READ", d.CrashReason())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := richDump()
			tt.mutate(t, b, streamEntry(t, b, tt.stream))
			d, err := minidump.Parse(b)
			require.NoError(t, err)
			require.NotEmpty(t, d.SoftErrors)
			assert.Equal(t, tt.stream, d.SoftErrors[0].Stream)
			tt.check(t, d)
			// Everything else still reads.
			assert.NotNil(t, d.SystemInfo)
			assert.NotNil(t, d.MiscInfo)
			assert.NotNil(t, d.Crashpad)
			if tt.stream != minidump.ThreadListStream {
				assert.Len(t, d.Threads, 1)
			}
		})
	}
}

func TestDuplicateStreamLaterWins(t *testing.T) {
	b := synth.New(minidump.ArchAMD64, synth.Linux)
	b.AddStream(minidump.LinuxProcStatusStream, []byte("Pid:\t1\n"))
	b.AddStream(minidump.LinuxProcStatusStream, []byte("Pid:\t2\n"))
	d, err := minidump.Parse(b.Bytes())
	require.NoError(t, err)
	pid, _ := d.PID()
	assert.Equal(t, uint32(2), pid)
	n := 0
	for _, s := range d.Streams {
		if s.Type == minidump.LinuxProcStatusStream {
			n++
		}
	}
	assert.Equal(t, 1, n)
}

func TestListPadding(t *testing.T) {
	// A ModuleList whose count is followed by 4 bytes of padding, as some
	// Breakpad writers produce.
	name := []byte{2, 0, 0, 0, 'a', 0}
	b := synth.New(minidump.ArchX86, synth.Windows)
	full := b.Bytes()
	nameRVA := uint32(len(full))
	full = append(full, name...)
	for len(full)%4 != 0 {
		full = append(full, 0)
	}
	list := make([]byte, 8+108)
	binary.LittleEndian.PutUint32(list[0:], 1)
	binary.LittleEndian.PutUint64(list[8:], 0x1000)
	binary.LittleEndian.PutUint32(list[16:], 0x100)
	binary.LittleEndian.PutUint32(list[28:], nameRVA)
	raw := synth.New(minidump.ArchX86, synth.Windows).AddStream(minidump.ModuleListStream, list).Bytes()
	// Re-point the name: rebuild with the name placed at a known offset.
	raw = append(raw, name...)
	e := streamEntry(t, raw, minidump.ModuleListStream)
	rva := binary.LittleEndian.Uint32(raw[e+8:])
	binary.LittleEndian.PutUint32(raw[rva+28:], uint32(len(raw)-len(name)))
	d, err := minidump.Parse(raw)
	require.NoError(t, err)
	require.Empty(t, d.SoftErrors)
	require.Len(t, d.Modules, 1)
	assert.Equal(t, "a", d.Modules[0].Name)

	binary.LittleEndian.PutUint32(raw[e+4:], 8+108+2) // neither exact nor padded
	d, err = minidump.Parse(raw)
	require.NoError(t, err)
	assert.Empty(t, d.Modules)
	assert.Len(t, d.SoftErrors, 1)
}

func TestByteSwappedHeader(t *testing.T) {
	h := make([]byte, 32)
	binary.BigEndian.PutUint32(h[0:], minidump.Signature)
	binary.BigEndian.PutUint32(h[4:], minidump.Version)
	binary.BigEndian.PutUint32(h[12:], 32)
	d, err := minidump.Parse(h)
	require.NoError(t, err)
	assert.Equal(t, binary.BigEndian, d.ByteOrder)
}

func TestRepeatedStringsAreBounded(t *testing.T) {
	// 5000 thread names all pointing at one 60 KB string would decode to
	// 300 MB; the string budget stops it at a few times the input size.
	name := make([]byte, 4+60000)
	binary.LittleEndian.PutUint32(name, 60000)
	list := binary.LittleEndian.AppendUint32(nil, 5000)
	for i := range 5000 {
		list = binary.LittleEndian.AppendUint32(list, uint32(i))
		list = binary.LittleEndian.AppendUint64(list, 0) // patched below
	}
	raw := synth.New(minidump.ArchAMD64, synth.Linux).AddStream(minidump.ThreadNamesStream, list).Bytes()
	raw = append(raw, name...)
	e := streamEntry(t, raw, minidump.ThreadNamesStream)
	rva := binary.LittleEndian.Uint32(raw[e+8:])
	for i := range 5000 {
		binary.LittleEndian.PutUint64(raw[int(rva)+4+12*i+4:], uint64(len(raw)-len(name)))
	}
	d, err := minidump.Parse(raw)
	require.NoError(t, err)
	require.NotEmpty(t, d.SoftErrors)
	assert.ErrorContains(t, d.SoftErrors[0], "budget")
	named := 0
	for i := range 5000 {
		if _, ok := d.ThreadName(uint32(i)); ok {
			named++
		}
	}
	assert.Greater(t, named, 0)
	assert.Less(t, named, 100)
}
