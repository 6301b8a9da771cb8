package minidump_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/repotest"
)

// BenchmarkParse measures Parse plus Report (everything the
// `crashstream minidump` command computes) per shared test dump, with the
// dump already in memory.
func BenchmarkParse(b *testing.B) {
	root := repotest.FindSharedTestdata()
	if root == "" {
		b.Skip("../shared/testdata not found")
	}
	files, _ := filepath.Glob(filepath.Join(root, "*", "*.dmp"))
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(filepath.Base(p), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				d, err := minidump.Parse(data)
				if err != nil {
					b.Fatal(err)
				}
				_ = d.Report()
			}
		})
	}
}
