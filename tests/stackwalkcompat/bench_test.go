package stackwalkcompat

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/stackwalk"
	"github.com/crashstream/crashstream/services/lib/symbols"
)

// BenchmarkWalkWarm measures the processor's library path: every case's
// dump parsed, walked and rendered as JSON, with one Supplier whose memory
// cache is warm (the steady state of a running processor). Run pinned to
// one core:
//
//	taskset -c 1 go test -run '^$' -bench WalkWarm -cpu 1 ./tests/stackwalkcompat
func BenchmarkWalkWarm(b *testing.B) {
	cases := benchCases(b)
	var dirs []string
	seen := map[string]bool{}
	dumps := make([][]byte, len(cases))
	for i, c := range cases {
		for _, d := range c.Symbols {
			if !seen[d] {
				seen[d] = true
				dirs = append(dirs, d)
			}
		}
		var err error
		dumps[i], err = os.ReadFile(c.Dump)
		require.NoError(b, err)
	}
	sup, err := symbols.NewSupplier(symbols.Config{Paths: dirs}, nil)
	require.NoError(b, err)
	sw := stackwalk.New(stackwalk.Config{}, sup)
	walk := func(dump []byte) {
		res, err := sw.Process(context.Background(), dump)
		require.NoError(b, err)
		require.NoError(b, res.WriteJSON(io.Discard, false))
	}
	for _, d := range dumps { // warm the symbol cache
		walk(d)
	}
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		walk(dumps[i%len(dumps)])
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "dumps/s")
}

// benchCases are the comparison cases (see extraCases).
func benchCases(b *testing.B) []Case {
	cases := allCases(b)
	if len(cases) == 0 {
		b.Skip("no dumps")
	}
	return cases
}

// BenchmarkParseDump isolates the minidump reader on the same inputs.
func BenchmarkParseDump(b *testing.B) {
	cases := benchCases(b)
	dumps := make([][]byte, len(cases))
	for i, c := range cases {
		var err error
		dumps[i], err = os.ReadFile(c.Dump)
		require.NoError(b, err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, err := minidump.Parse(dumps[i%len(dumps)])
		require.NoError(b, err)
	}
}
