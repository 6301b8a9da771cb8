package stackwalk

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/repotest"
)

// TestCorpusCrashInfo compares every crash_info field of every corpus dump
// (tests/corpus) with minidump-stackwalk's golden output: the instruction
// text, memory accesses, adjusted address, bit flips and instruction
// pointer update must be equal, not just present.
func TestCorpusCrashInfo(t *testing.T) {
	corpus := filepath.Join(repotest.Root(t), "tests", "corpus")
	goldens, _ := filepath.Glob(filepath.Join(corpus, "golden", "*.json"))
	if len(goldens) == 0 {
		t.Skip("no corpus goldens")
	}
	for _, g := range goldens {
		name := strings.TrimSuffix(filepath.Base(g), ".json")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(g)
			require.NoError(t, err)
			var theirs struct {
				CrashInfo map[string]any `json:"crash_info"`
			}
			require.NoError(t, json.Unmarshal(b, &theirs))
			res := walkFile(t, filepath.Join(corpus, "dumps", name+".dmp"), filepath.Join(corpus, "symbols"))
			var buf bytes.Buffer
			require.NoError(t, res.WriteJSON(&buf, false))
			var ours struct {
				CrashInfo map[string]any `json:"crash_info"`
			}
			require.NoError(t, json.Unmarshal(buf.Bytes(), &ours))
			assert.Equal(t, theirs.CrashInfo, ours.CrashInfo)
		})
	}
}
