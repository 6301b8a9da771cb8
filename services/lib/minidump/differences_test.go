package minidump_test

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/minidump/synth"
)

// TestCorruptModuleRecordKeepsTheOthers is a deliberate difference from
// minidump-stackwalk (see doc.go): a module record whose name cannot be
// read is dropped with a soft error, and the readable modules are kept.
func TestCorruptModuleRecordKeepsTheOthers(t *testing.T) {
	b := synth.New(minidump.ArchAMD64, synth.Linux)
	b.AddModule(synth.Module{Name: "/usr/bin/app", Base: 0x400000, Size: 0x1000})
	b.AddModule(synth.Module{Name: "/usr/lib/libc.so.6", Base: 0x7f0000000000, Size: 0x1000})
	data := b.Bytes()
	d, err := minidump.Parse(data)
	require.NoError(t, err)
	var list minidump.Stream
	for _, s := range d.Streams {
		if s.Type == minidump.ModuleListStream {
			list = s
		}
	}
	require.NotZero(t, list.RVA)
	// The first record's MINIDUMP_MODULE.ModuleNameRva (offset 20) points
	// past the end of the file.
	binary.LittleEndian.PutUint32(data[list.RVA+4+20:], uint32(len(data)+100))
	d, err = minidump.Parse(data)
	require.NoError(t, err)
	require.Len(t, d.Modules, 1)
	assert.Equal(t, "/usr/lib/libc.so.6", d.Modules[0].Name)
	require.NotEmpty(t, d.SoftErrors)
	assert.Equal(t, minidump.ModuleListStream, d.SoftErrors[0].Stream)
}
