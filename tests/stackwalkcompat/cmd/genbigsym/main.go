// Command genbigsym writes the synthetic large .sym file (in Breakpad
// layout under a symbols directory) and a dump that needs it, for the load
// benchmark in BENCHMARKS.md.
//
//	go run ./tests/stackwalkcompat/cmd/genbigsym -out /tmp/bigsym -size 300000000
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/crashstream/crashstream/tests/stackwalkcompat"
)

func main() {
	out := flag.String("out", "/tmp/bigsym", "output directory")
	size := flag.Int64("size", 300_000_000, "approximate .sym size in bytes")
	flag.Parse()
	if err := run(*out, *size); err != nil {
		fmt.Fprintln(os.Stderr, "genbigsym:", err)
		os.Exit(1)
	}
}

func run(out string, size int64) error {
	dir := filepath.Join(out, "symbols", "bigmodule.so", stackwalkcompat.BigSymID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "bigmodule.so.sym"))
	if err != nil {
		return err
	}
	mid, err := stackwalkcompat.WriteBigSym(f, size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "big.dmp"), stackwalkcompat.BigSymDump(mid), 0o644)
}
