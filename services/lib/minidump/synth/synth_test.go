package synth_test

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/minidump/synth"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLayout(t *testing.T) {
	b := synth.New(minidump.ArchX86, synth.Windows)
	b.AddModule(synth.Module{Name: "a.exe", Base: 0x400000, Size: 0x1000})
	b.AddStream(minidump.StreamType(0x12345678), []byte{1, 2, 3})
	out := b.Bytes()
	le := binary.LittleEndian
	require.GreaterOrEqual(t, len(out), 32)
	assert.Equal(t, uint32(minidump.Signature), le.Uint32(out))
	assert.Equal(t, uint32(minidump.Version), le.Uint32(out[4:]))
	n := le.Uint32(out[8:])
	assert.Equal(t, uint32(3), n, "system info, module list, raw stream")
	dir := le.Uint32(out[12:])
	for i := range n {
		e := out[dir+12*i:]
		size, rva := le.Uint32(e[4:]), le.Uint32(e[8:])
		assert.Zero(t, rva%4, "streams are 4-byte aligned")
		assert.LessOrEqual(t, int(rva+size), len(out))
	}
}

func TestContextEncodingSizes(t *testing.T) {
	for arch, size := range map[minidump.Arch]int{
		minidump.ArchX86: minidump.ContextX86Size, minidump.ArchAMD64: minidump.ContextAMD64Size,
		minidump.ArchARM: minidump.ContextARMSize, minidump.ArchARM64: minidump.ContextARM64Size,
	} {
		c := minidump.NewContext(arch)
		assert.Len(t, synth.EncodeContext(&c), size, arch)
	}
	c := minidump.NewContext(minidump.ArchARM64)
	assert.Len(t, synth.EncodeContextARM64Old(&c), minidump.ContextARM64OldSize)
}

func TestCodeViewRecords(t *testing.T) {
	cv := synth.PDB70(minidump.GUID{0: 0xAA, 15: 0xBB}, 3, "x.pdb")
	assert.Equal(t, uint32(minidump.CVSignatureRSDS), binary.LittleEndian.Uint32(cv))
	assert.Len(t, cv, 24+len("x.pdb")+1)
	assert.Equal(t, byte(0xAA), cv[7], "Data1 is little-endian in the record")
	assert.Len(t, synth.PDB20(1, 2, "y.pdb"), 16+len("y.pdb")+1)
	assert.Equal(t, []byte{'L', 'E', 'p', 'B', 9}, []byte(synth.ELFBuildID([]byte{9})))
}

func TestStack(t *testing.T) {
	for _, size := range []int{4, 8} {
		s := synth.NewStack(0x7000, size)
		assert.Equal(t, uint64(0x7000), s.Pad(16))
		fp := s.Word(0)
		ret := s.Word(0x401234)
		assert.Equal(t, fp+uint64(size), ret)
		caller := s.Word(7)
		s.Set(fp, caller)
		ctx := minidump.NewContext(minidump.ArchAMD64)
		d, err := minidump.Parse(synth.New(minidump.ArchAMD64, synth.Linux).
			AddThread(synth.Thread{ID: 1, Stack: s.Memory(), Context: &ctx}).Bytes())
		require.NoError(t, err)
		r := &d.Threads[0].Stack
		v, ok := r.Word(fp, size)
		require.True(t, ok)
		assert.Equal(t, caller, v)
		v, _ = r.Word(ret, size)
		assert.Equal(t, uint64(0x401234), v)
	}
}
