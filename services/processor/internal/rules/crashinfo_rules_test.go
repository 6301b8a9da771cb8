package rules

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/repotest"
)

// dumpJSON decodes a json_dump as the Stackwalk rule does (numbers as
// json.Number).
func dumpJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m))
	return m
}

func TestCrashingThreadInfoAdjustedAddress(t *testing.T) {
	tests := []struct {
		name, crashInfo, want string
	}{
		{"no adjustment", `{"address":"0x0000000000000010","adjusted_address":null}`, "0x0000000000000010"},
		{"null pointer with an offset", `{"address":"0x0000000000000010","adjusted_address":{"kind":"null-pointer","offset":"0x0000000000000010"}}`, "0x0000000000000000"},
		{"null pointer, 32-bit", `{"address":"0x00000010","adjusted_address":{"kind":"null-pointer","offset":"0x00000010"}}`, "0x00000000"},
		{"non-canonical", `{"address":"0x0000000000000000","adjusted_address":{"address":"0x8000555555558030","kind":"non-canonical"}}`, "0x8000555555558030"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCrash(map[string]any{}, nil)
			c.JSONDump = dumpJSON(t, `{"crash_info":`+tc.crashInfo+`}`)
			require.NoError(t, CrashingThreadInfo().Apply(context.Background(), c))
			assert.Equal(t, tc.want, c.Processed.Address)
		})
	}
}

func TestPossibleBitFlipsAndGuardPage(t *testing.T) {
	c := newCrash(map[string]any{}, nil)
	c.JSONDump = dumpJSON(t, `{"crash_info":{"possible_bit_flips":[{"confidence":0.25},{"confidence":0.6625000238418579},{"confidence":0.4375}],
		"memory_accesses":[{"address":"0x1","size":4},{"address":"0x2","size":4,"is_likely_guard_page":true}]}}`)
	require.NoError(t, PossibleBitFlips().Apply(context.Background(), c))
	require.NoError(t, HasGuardPageAccess().Apply(context.Background(), c))
	require.NotNil(t, c.Processed.PossibleBitFlipsMaxConfidence)
	assert.Equal(t, int64(66), *c.Processed.PossibleBitFlipsMaxConfidence, "0..100, truncated")
	require.NotNil(t, c.Processed.HasGuardPageAccess)
	assert.True(t, *c.Processed.HasGuardPageAccess)

	// Nothing to say: both stay unset (null), never false or 0.
	c = newCrash(map[string]any{}, nil)
	c.JSONDump = dumpJSON(t, `{"crash_info":{"possible_bit_flips":null,"memory_accesses":[{"address":"0x1","size":4}]}}`)
	require.NoError(t, PossibleBitFlips().Apply(context.Background(), c))
	require.NoError(t, HasGuardPageAccess().Apply(context.Background(), c))
	assert.Nil(t, c.Processed.PossibleBitFlipsMaxConfidence)
	assert.Nil(t, c.Processed.HasGuardPageAccess)
}

// TestDefaultRulesetOnNonCanonicalCrash runs the whole ruleset on a corpus
// crash through a non-canonical pointer: the processed crash carries the
// real address, the bit flip confidence and, in json_dump, the instruction.
func TestDefaultRulesetOnNonCanonicalCrash(t *testing.T) {
	corpus := filepath.Join(repotest.Root(t), "tests", "corpus")
	dump, err := os.ReadFile(filepath.Join(corpus, "dumps", "c-noncanon-O0-fp.dmp"))
	require.NoError(t, err)
	rs := defaultRuleset(t, filepath.Join(corpus, "symbols"))
	c := newCrash(map[string]any{"ProductName": "Corpus", "Version": "1.0", "submitted_timestamp": "2026-12-04T10:00:00Z"},
		map[string][]byte{"upload_file_minidump": dump})
	rs.Run(context.Background(), c, func(rule string, _ time.Duration, err error) { assert.NoError(t, err, rule) })
	pc := c.Processed
	assert.Equal(t, "SIGSEGV / SI_KERNEL", pc.Reason)
	assert.Equal(t, "0x8000555555558030", pc.Address, "the non-canonical address, not the 0 the kernel reports")
	require.NotNil(t, pc.PossibleBitFlipsMaxConfidence)
	assert.Equal(t, int64(96), *pc.PossibleBitFlipsMaxConfidence)
	assert.Contains(t, pc.JSONDump, `"instruction":"mov eax, dword [rax]"`)
}
