package stackwalk

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/minidump/synth"
)

// loopFixture is a stack the scanner can walk for a long time: every word
// is a return address into module2.
func loopFixture(t *testing.T) *fixture {
	f := newFixture(minidump.ArchAMD64)
	f.set(t, "rip", 0x00007400c0000200)
	f.set(t, "rsp", 0x80000000)
	f.set(t, "rbp", 0)
	return f
}

func loopStack(n int) *section {
	s := newSection(0x80000000)
	for i := 0; i < n; i++ {
		s.d64(uint64(0x00007500b0000100 + i))
	}
	return s
}

func TestFrameBound(t *testing.T) {
	f := loopFixture(t)
	s := loopStack(500)
	b := f.dumpBytes(t, s)
	d, err := minidump.Parse(b)
	require.NoError(t, err)
	res, err := Walk(context.Background(), d, mapSymbols{}, Options{MaxFrames: 50})
	require.NoError(t, err)
	assert.Len(t, res.Threads[0].Frames, 50)
	assert.Equal(t, ThreadTruncated, res.Threads[0].Status)
	assert.ErrorIs(t, res.Incomplete, ErrFrameBound)

	res, err = Walk(context.Background(), d, mapSymbols{}, Options{})
	require.NoError(t, err)
	assert.Len(t, res.Threads[0].Frames, 501, "without the bound every scanned slot is a frame")
	assert.NoError(t, res.Incomplete)
}

func TestDeadlineStopsWalk(t *testing.T) {
	f := loopFixture(t)
	b := f.dumpBytes(t, loopStack(100))
	sw := New(Config{Timeout: time.Hour, MaxDumpBytes: 1 << 20, MaxFrames: 1000}, mapSymbols{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := sw.Process(ctx, b)
	require.NoError(t, err)
	assert.ErrorIs(t, res.Incomplete, context.Canceled)
	assert.Len(t, res.Threads[0].Frames, 1, "the context frame is kept")

	_, err = New(Config{MaxDumpBytes: 10}, mapSymbols{}).Process(context.Background(), b)
	assert.ErrorIs(t, err, ErrDumpTooLarge)
	_, err = sw.Process(context.Background(), []byte("not a dump"))
	assert.ErrorIs(t, err, minidump.ErrNotMinidump)
}

func TestConfigValidate(t *testing.T) {
	good := Config{Timeout: time.Minute, MaxDumpBytes: 1 << 20, MaxFrames: 10}
	assert.NoError(t, good.Validate())
	for name, c := range map[string]Config{
		"stackwalk.timeout":        {MaxDumpBytes: 1, MaxFrames: 1},
		"stackwalk.max-dump-bytes": {Timeout: time.Second, MaxFrames: 1},
		"stackwalk.max-frames":     {Timeout: time.Second, MaxDumpBytes: 1},
	} {
		assert.ErrorContains(t, c.Validate(), name)
	}
}

// TestUnloadedModules reports the unloaded modules under a frame outside
// every loaded module, by name with sorted offsets, in the JSON shape of
// minidump-stackwalk.
func TestUnloadedModules(t *testing.T) {
	f := newFixture(minidump.ArchAMD64)
	f.set(t, "rip", 0x10000050)
	f.set(t, "rsp", 0x80000000)
	b := synth.New(f.arch, f.os)
	for _, m := range f.modules {
		b.AddModule(m)
	}
	b.AddUnloadedModule(synth.UnloadedModule{Name: "gone.dll", Base: 0x10000000, Size: 0x1000})
	b.AddUnloadedModule(synth.UnloadedModule{Name: "gone.dll", Base: 0x10000040, Size: 0x1000})
	b.AddUnloadedModule(synth.UnloadedModule{Name: "alsogone.dll", Base: 0x0fff0000, Size: 0x20000})
	ctx := f.ctx
	b.AddThread(synth.Thread{ID: 1, Stack: synth.Memory{Base: 0x80000000, Data: make([]byte, 16)}, Context: &ctx})
	d, err := minidump.Parse(b.Bytes())
	require.NoError(t, err)
	res, err := Walk(context.Background(), d, mapSymbols{}, Options{})
	require.NoError(t, err)
	fr := res.JSON().Threads[0].Frames[0]
	assert.Nil(t, fr.Module)
	assert.Equal(t, []JSONUnloadedFrame{
		{Module: "alsogone.dll", Offsets: []string{"0x0000000000010050"}},
		{Module: "gone.dll", Offsets: []string{"0x0000000000000010", "0x0000000000000050"}},
	}, fr.UnloadedModule)
}

func TestProcLimits(t *testing.T) {
	raw := "Limit                     Soft Limit           Hard Limit           Units     \n" +
		"Max cpu time              unlimited            unlimited            seconds   \n" +
		"Max processes             96365                96365                processes \n" +
		"Max nice priority         0                    0                    \n" +
		"bogus\n"
	assert.JSONEq(t, `{"limits":[
		{"hard":"unlimited","name":"Max cpu time","soft":"unlimited","unit":"seconds"},
		{"hard":96365,"name":"Max processes","soft":96365,"unit":"processes"},
		{"hard":0,"name":"Max nice priority","soft":0,"unit":"n/a"}]}`, string(procLimits([]byte(raw))))
}

// TestModuleStatsShareFileName: minidump-stackwalk keeps symbol statistics
// per code file name, so a second mapping of the same file shows the same
// flags even though no frame touched it.
func TestModuleStatsShareFileName(t *testing.T) {
	f := newFixture(minidump.ArchAMD64)
	f.modules = nil
	f.addModule("/bin/app", 0x400000, 0x1000)
	f.addModule("/bin/app", 0x7f0000000000, 0x1000)
	f.addModule("/lib/other.so", 0x7f1000000000, 0x1000)
	f.set(t, "rip", 0x400010)
	f.set(t, "rsp", 0x80000000)
	d, err := minidump.Parse(f.dumpBytes(t, newSection(0x80000000).zeros(8)))
	require.NoError(t, err)
	res, err := Walk(context.Background(), d, mapSymbols{}, Options{})
	require.NoError(t, err)
	out := res.JSON()
	assert.True(t, out.Modules[0].MissingSymbols)
	assert.True(t, out.Modules[1].MissingSymbols, "same file name as module 0")
	assert.False(t, out.Modules[2].MissingSymbols)
	assert.Equal(t, SymbolsNotNeeded, res.Modules[1].Status)
}

func TestHandles(t *testing.T) {
	f := newFixture(minidump.ArchAMD64)
	f.set(t, "rip", 0x400010)
	f.set(t, "rsp", 0x80000000)
	b := synth.New(f.arch, f.os)
	ctx := f.ctx
	b.AddThread(synth.Thread{ID: 1, Stack: synth.Memory{Base: 0x80000000, Data: make([]byte, 8)}, Context: &ctx})
	// A header, two 32-byte descriptors; the names are not in the dump
	// (rva 0 and an out-of-range rva), so they are null.
	s := make([]byte, 16+2*32)
	le := binary.LittleEndian
	le.PutUint32(s[0:], 16)
	le.PutUint32(s[4:], 32)
	le.PutUint32(s[8:], 2)
	le.PutUint64(s[16:], 3)
	le.PutUint64(s[48:], 7)
	le.PutUint32(s[48+12:], 0xffffff00)
	b.AddStream(minidump.HandleDataStream, s)
	d, err := minidump.Parse(b.Bytes())
	require.NoError(t, err)
	assert.JSONEq(t, `[{"handle":3,"object_name":null,"type_name":null},{"handle":7,"object_name":null,"type_name":null}]`, string(handles(d)))

	le.PutUint32(s[4:], 33) // unknown descriptor size
	b2 := synth.New(f.arch, f.os).AddStream(minidump.HandleDataStream, s)
	d, err = minidump.Parse(b2.Bytes())
	require.NoError(t, err)
	assert.Equal(t, "null", string(handles(d)))
}

func TestSymbolBound(t *testing.T) {
	f := newFixture(minidump.ArchAMD64)
	f.syms["module1"] = "FUNC 100 400 10 monotreme\n"
	f.set(t, "rip", 0x00007400c0000200)
	f.set(t, "rsp", 0x80000000)
	d, syms := f.parsed(t, newSection(0x80000000).zeros(8))
	res, err := Walk(context.Background(), d, syms, Options{MaxSymbolBytes: 1})
	require.NoError(t, err)
	assert.Equal(t, SymbolsError, res.Modules[0].Status)
	assert.ErrorIs(t, res.Modules[0].Err, ErrSymbolBound)
	assert.False(t, res.Threads[0].Frames[0].HasFunction)

	res, err = Walk(context.Background(), d, syms, Options{MaxSymbolBytes: 1 << 20})
	require.NoError(t, err)
	assert.Equal(t, "monotreme", res.Threads[0].Frames[0].Function)
}
