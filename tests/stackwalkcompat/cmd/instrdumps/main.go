// Command instrdumps writes one synthetic Linux amd64 minidump per
// instruction, with the instruction at the faulting instruction pointer,
// so that crashstream's crash_info analysis can be compared with
// minidump-stackwalk's on real code (instrcompare.sh samples the
// instructions from binaries with objdump).
//
//	go run ./tests/stackwalkcompat/cmd/instrdumps -in cases.json -out /tmp/instr
//
// cases.json is a JSON array of {"b": [byte, ...]}. Every dump has the same
// registers (general registers near a stack mapping, rax 0, rcx 0x1000),
// a SIGSEGV / SI_KERNEL exception, a /proc/self/maps stream and a stack
// whose first word is 0x41.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/minidump/synth"
)

const (
	codeBase  = 0x555555554000
	stackBase = 0x7fffffff0000
	maps      = "555555554000-555555556000 r-xp 00000000 08:01 1 /usr/bin/app\n" +
		"7fffffff0000-7ffffffff000 rw-p 00000000 00:00 0 [stack]\n"
)

func main() {
	in := flag.String("in", "cases.json", "instructions: JSON array of {\"b\": [bytes]}")
	out := flag.String("out", "/tmp/instr", "output directory")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "instrdumps:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var cases []struct {
		B []byte `json:"b"`
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for i, c := range cases {
		if len(c.B) == 0 || len(c.B) > 15 {
			return fmt.Errorf("case %d: %d bytes is not one x86 instruction", i, len(c.B))
		}
		ctx := minidump.NewContext(minidump.ArchAMD64)
		for j, r := range minidump.RegisterNames(minidump.ArchAMD64) {
			ctx.Set(r, uint64(stackBase+j*0x10))
		}
		ctx.Set("rax", 0)
		ctx.Set("rcx", 0x1000)
		ctx.Set("rip", codeBase)
		ctx.Set("rsp", stackBase+0x100)
		bl := synth.New(minidump.ArchAMD64, synth.Linux)
		stack := make([]byte, 0x200)
		stack[0] = 0x41
		bl.AddThread(synth.Thread{ID: 1, Stack: synth.Memory{Base: stackBase + 0x100, Data: stack}, Context: &ctx})
		code := append(append([]byte(nil), c.B...), make([]byte, 16)...)
		bl.AddMemory(synth.Memory{Base: codeBase, Data: code})
		bl.SetException(synth.Exception{ThreadID: 1, Code: 11, Flags: 0x80, Context: &ctx})
		bl.AddStream(minidump.LinuxMapsStream, []byte(maps))
		if err := os.WriteFile(filepath.Join(out, fmt.Sprintf("%05d.dmp", i)), bl.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}
