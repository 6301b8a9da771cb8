package minidump_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/minidump/synth"
	"github.com/crashstream/crashstream/services/lib/repotest"
)

// maxSeed keeps large dumps out of the seed corpus so mutation stays fast.
const maxSeed = 64 << 10

func addSeeds(f *testing.F) {
	f.Add(richDump())
	for _, arch := range []minidump.Arch{minidump.ArchX86, minidump.ArchARM, minidump.ArchARM64} {
		ctx := minidump.NewContext(arch)
		ctx.Set(ctx.SPName(), 0x1000)
		b := synth.New(arch, synth.Linux).UseMemory64()
		b.AddThread(synth.Thread{ID: 1, Stack: synth.Memory{Base: 0x1000, Data: make([]byte, 16)}, Context: &ctx})
		b.SetException(synth.Exception{ThreadID: 1, Code: 11, Flags: 1, Context: &ctx})
		f.Add(b.Bytes())
	}
	root := repotest.FindSharedTestdata()
	if root == "" {
		return
	}
	files, _ := filepath.Glob(filepath.Join(root, "*", "*.dmp"))
	for _, p := range files {
		if st, err := os.Stat(p); err == nil && st.Size() <= maxSeed {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
}

// FuzzParse checks that no input panics or breaks the reader's invariants.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := minidump.Parse(data)
		if err != nil {
			return
		}
		_ = d.Report()
		_ = d.CrashReason()
		var prevEnd uint64
		for i, r := range d.Memory.Regions() {
			if i > 0 && r.Base < prevEnd {
				t.Fatalf("regions overlap at %#x", r.Base)
			}
			prevEnd = r.End()
			if _, ok := d.Memory.Read(r.Base, len(r.Data)); !ok {
				t.Fatalf("region at %#x not readable", r.Base)
			}
		}
		for _, m := range d.Modules {
			if m.Size == 0 || m.End() < m.Base {
				t.Fatalf("module %q has a bad range", m.Name)
			}
		}
		for i := range d.Threads {
			th := &d.Threads[i]
			if th.Context != nil {
				_ = th.Context.Registers()
				_, _ = d.StackMemory(th, th.Context.SP())
			}
			_, _ = d.LastError(th)
		}
	})
}

// FuzzContext decodes arbitrary context records for every CPU.
func FuzzContext(f *testing.F) {
	for _, arch := range []minidump.Arch{minidump.ArchX86, minidump.ArchAMD64, minidump.ArchARM, minidump.ArchARM64} {
		c := minidump.NewContext(arch)
		c.Set(c.IPName(), 0x1234)
		f.Add(synth.EncodeContext(&c), uint8(0))
	}
	f.Fuzz(func(t *testing.T, raw []byte, which uint8) {
		archs := []minidump.Arch{minidump.ArchX86, minidump.ArchAMD64, minidump.ArchARM, minidump.ArchARM64}
		arch := archs[int(which)%len(archs)]
		b := synth.New(arch, synth.Linux)
		b.AddThread(synth.Thread{ID: 1, RawContext: raw})
		d, err := minidump.Parse(b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if c := d.Threads[0].Context; c != nil {
			if c.Arch != arch {
				t.Fatalf("decoded %s as %s", arch, c.Arch)
			}
			for _, r := range c.Registers() {
				if c.PointerSize() == 4 && r.Value > 0xffffffff {
					t.Fatalf("%s = %#x exceeds 32 bits", r.Name, r.Value)
				}
			}
		}
	})
}
