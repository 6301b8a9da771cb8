package minidumpcompat

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/tests/internal/oracle"
)

// BenchmarkReaders times, on every corpus dump in one run:
//   - parse: minidump.Parse + Report in process, dump already in memory;
//   - cli: the `crashstream minidump` process (start, read, parse, print);
//   - stackwalk: the `minidump-stackwalk --json` process without symbols
//     (it also walks every stack by scanning, so it does more work).
//
// bench.sh turns the output into the BENCHMARKS.md table.
func BenchmarkReaders(b *testing.B) {
	root := repoRoot(b)
	dumps := corpus(b)
	if len(dumps) == 0 {
		b.Skip("no dumps")
	}
	bin := filepath.Join(b.TempDir(), "crashstream")
	build := exec.Command("go", "build", "-o", bin, "./cmd/crashstream")
	build.Dir = filepath.Join(root, "services")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	tool, toolErr := oracle.Find()
	for _, dump := range dumps {
		data, err := os.ReadFile(dump)
		if err != nil {
			b.Fatal(err)
		}
		name := filepath.Base(dump)
		b.Run(name+"/parse", func(b *testing.B) {
			for b.Loop() {
				d, err := minidump.Parse(data)
				if err != nil {
					b.Fatal(err)
				}
				_ = d.Report()
			}
		})
		b.Run(name+"/cli", func(b *testing.B) {
			for b.Loop() {
				if out, err := exec.Command(bin, "minidump", dump).CombinedOutput(); err != nil {
					b.Fatalf("%v: %s", err, out)
				}
			}
		})
		b.Run(name+"/stackwalk", func(b *testing.B) {
			if toolErr != nil {
				b.Skip(toolErr)
			}
			for b.Loop() {
				if _, err := oracle.Run(context.Background(), tool, dump); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
