package stackwalk

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/repotest"
	"github.com/crashstream/crashstream/services/lib/symbols"
)

// BenchmarkWalkCold walks one Breakpad Linux dump with a fresh symbol
// supplier each time: every .sym file is parsed again, as a one-shot
// `crashstream stackwalk` run does.
func BenchmarkWalkCold(b *testing.B) {
	td := repotest.SharedTestdata(b)
	dump, err := os.ReadFile(filepath.Join(td, "breakpad/linux_overflow.dmp"))
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		d, err := minidump.Parse(dump)
		if err != nil {
			b.Fatal(err)
		}
		sup, err := symbols.NewSupplier(symbols.Config{Paths: []string{filepath.Join(td, "breakpad/symbols")}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		res, err := Walk(context.Background(), d, sup, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := res.WriteJSON(io.Discard, false); err != nil {
			b.Fatal(err)
		}
	}
}
