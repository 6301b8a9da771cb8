package stackwalkcompat

import (
	"encoding/binary"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/minidump/synth"
)

// bigSymBuildID is the ELF build id whose Breakpad debug id is BigSymID
// (the first three GUID groups are stored little-endian).
var bigSymBuildID = []byte{
	0x67, 0x45, 0x23, 0x01, 0xab, 0x89, 0xef, 0xcd,
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
}

// BigSymDump builds a Linux amd64 dump whose crashing thread stops inside
// the generated big module at mid (a module-relative address), so that
// walking it must load and use the big .sym file.
func BigSymDump(mid uint64) []byte {
	const base = 0x7f0000000000
	b := synth.New(minidump.ArchAMD64, synth.Linux)
	b.AddModule(synth.Module{Name: "/opt/big/bigmodule.so", Base: base, Size: 0x40000000, CodeView: synth.ELFBuildID(bigSymBuildID)})
	stackBase := uint64(0x7ffd00000000)
	stack := make([]byte, 4096)
	// Frame 0 is past the function's push of rbp: CFI finds the return
	// address at rsp+8.
	binary.LittleEndian.PutUint64(stack[8:], base+mid-0x100)
	ctx := minidump.NewContext(minidump.ArchAMD64)
	for _, r := range minidump.RegisterNames(minidump.ArchAMD64) {
		ctx.Set(r, 0)
	}
	ctx.Set("rip", base+mid)
	ctx.Set("rsp", stackBase)
	ctx.Set("rbp", stackBase+16)
	b.AddThread(synth.Thread{ID: 1, Stack: synth.Memory{Base: stackBase, Data: stack}, Context: &ctx})
	b.SetException(synth.Exception{ThreadID: 1, Code: 11, Flags: 1, Address: 0, Context: &ctx})
	return b.Bytes()
}
