package minidumpcompat

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/services/lib/repotest"
	"github.com/crashstream/crashstream/tests/internal/oracle"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// knownDifferences maps "<dump base name> <field path>" to the reason the
// difference is accepted. Every entry names the other tool's bug or the
// deliberate choice.
var knownDifferences = map[string]string{}

func repoRoot(t testing.TB) string { return repotest.Root(t) }

// corpus lists the shared test dumps, tests/corpus/dumps, and any extra
// directories in $CRASHSTREAM_COMPAT_DUMPS (colon-separated) for ad-hoc
// comparisons.
func corpus(t testing.TB) []string {
	root := repoRoot(t)
	dirs := []string{filepath.Join(root, "..", "shared", "testdata"), filepath.Join(root, "tests", "corpus", "dumps")}
	if extra := os.Getenv("CRASHSTREAM_COMPAT_DUMPS"); extra != "" {
		dirs = append(dirs, filepath.SplitList(extra)...)
	}
	return Dumps(dirs...)
}

// golden returns the stored minidump-stackwalk output for a corpus dump
// (tests/corpus/golden/<case>.json), if any.
func golden(dump string) ([]byte, bool) {
	dir := filepath.Dir(dump)
	if filepath.Base(dir) != "dumps" {
		return nil, false
	}
	p := filepath.Join(filepath.Dir(dir), "golden", strings.TrimSuffix(filepath.Base(dump), ".dmp")+".json")
	b, err := os.ReadFile(p)
	return b, err == nil
}

func TestAgreesWithMinidumpStackwalk(t *testing.T) {
	tool, toolErr := oracle.Find()
	dumps := corpus(t)
	if len(dumps) == 0 {
		t.Skip("no dumps found in ../shared/testdata or tests/corpus/dumps")
	}
	compared := 0
	for _, dump := range dumps {
		name := filepath.Base(dump)
		t.Run(name, func(t *testing.T) {
			var out []byte
			switch {
			case toolErr == nil:
				var err error
				out, err = oracle.Run(context.Background(), tool, dump)
				require.NoError(t, err)
			default:
				g, ok := golden(dump)
				if !ok {
					t.Skipf("%v, and no golden JSON for %s", toolErr, name)
				}
				out = g
			}
			var theirs View
			require.NoError(t, json.Unmarshal(out, &theirs))
			ours, soft, err := OursWithSoftErrors(dump)
			require.NoError(t, err)
			for _, e := range soft {
				t.Errorf("crashstream could not read a stream of a real dump: %v", e)
			}
			for _, d := range Diff(ours, theirs) {
				field, _, _ := strings.Cut(d, ":")
				if why, ok := knownDifferences[name+" "+field]; ok {
					t.Logf("known difference %s (%s)", d, why)
					continue
				}
				t.Errorf("%s (ours != minidump-stackwalk)", d)
			}
			compared++
		})
	}
	t.Logf("compared %d of %d dumps", compared, len(dumps))
}
