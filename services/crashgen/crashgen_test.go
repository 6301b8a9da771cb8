package crashgen

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/services/lib/stackwalk"
	"github.com/crashstream/crashstream/services/lib/symbols"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestGeneratedCrashWalksWithCFI: a generated dump, walked with the
// generated symbols, gives back exactly the crash site's call chain, each
// caller frame found by CFI.
func TestGeneratedCrashWalksWithCFI(t *testing.T) {
	cat := NewCatalog(1, 50, 1.1)
	dir := t.TempDir()
	for _, m := range cat.Modules {
		p := filepath.Join(dir, filepath.FromSlash(m.SymKey()))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(m.SymFile("windows")), 0o644))
	}
	sup, err := symbols.NewSupplier(symbols.Config{Paths: []string{dir}}, nil)
	require.NoError(t, err)
	sw := stackwalk.New(stackwalk.Config{Timeout: time.Minute, MaxDumpBytes: 64 << 20, MaxFrames: 1 << 16}, sup)
	gen := NewGenerator(cat, 7)
	gen.SizeScale = 0.05
	for i := 0; i < 20; i++ {
		r := gen.Next()
		res, err := sw.Process(context.Background(), r.Dump)
		require.NoError(t, err)
		out := res.JSON()
		require.NotNil(t, out.CrashingThread)
		site := cat.Sites[r.Site]
		frames := out.CrashingThread.Frames
		require.Len(t, frames, len(site.Frames), "report %d", i)
		for d, fr := range site.Frames {
			want := cat.Modules[fr[0]].Funcs[fr[1]].Name
			require.NotNil(t, frames[d].Function, "report %d frame %d", i, d)
			assert.Equal(t, want, *frames[d].Function, "report %d frame %d", i, d)
			if d > 0 {
				assert.Equal(t, "cfi", frames[d].Trust, "report %d frame %d", i, d)
			}
		}
		assert.NotEmpty(t, r.Annotations["ProductName"])
		assert.NotEmpty(t, r.Annotations["URL"], "a protected annotation is always present")
	}
}

// TestDumpSizes: the dumps themselves follow the mix, not just the targets.
func TestDumpSizes(t *testing.T) {
	gen := NewGenerator(NewCatalog(1, 10, 1.1), 5)
	var sizes []int
	for i := 0; i < 200; i++ {
		sizes = append(sizes, len(gen.Next().Dump))
	}
	assert.InDelta(t, 400<<10, quantile(sizes, 0.5), 150<<10, "median dump")
	assert.LessOrEqual(t, quantile(sizes, 1), 21<<20, "largest dump")
}

func TestSizeMix(t *testing.T) {
	gen := NewGenerator(NewCatalog(1, 10, 1.1), 3)
	var sizes []int
	for i := 0; i < 2000; i++ {
		sizes = append(sizes, gen.targetSize())
	}
	median, p95 := quantile(sizes, 0.5), quantile(sizes, 0.95)
	assert.LessOrEqual(t, quantile(sizes, 1), 20<<20, "the largest stays under the collector's 25 MiB limit")
	assert.InDelta(t, 400<<10, median, 120<<10, "median")
	assert.InDelta(t, 1500<<10, p95, 600<<10, "p95")
}

func TestZipfSkew(t *testing.T) {
	cat := NewCatalog(5, 200, 1.1)
	gen := NewGenerator(cat, 9)
	gen.SizeScale = 0.01
	counts := map[int]int{}
	for i := 0; i < 3000; i++ {
		counts[int(cat.zipf.Uint64())]++
	}
	assert.Greater(t, counts[0], counts[10]*3, "rank 0 dominates rank 10")
}
