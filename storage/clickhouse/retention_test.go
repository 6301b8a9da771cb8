package clickhouse

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRetentionEveryTable: every table a migration partitions by day or
// month is one retention prunes, with that partition width, and no other
// partitioning is used (retention could not read it). A new table left out
// of retainedTables fails here.
func TestRetentionEveryTable(t *testing.T) {
	ms, err := Migrations("db")
	require.NoError(t, err)
	partitionRE := regexp.MustCompile(`PARTITION BY (\w+)\(`)
	widths := map[string]int{"toYYYYMMDD": 8, "toYYYYMM": 6}
	partitioned := map[string]int{}
	for _, m := range ms {
		for _, st := range m.Statements {
			c := createTableRE.FindStringSubmatch(st)
			if c == nil {
				continue
			}
			p := partitionRE.FindStringSubmatch(c[6])
			if p == nil {
				continue // unpartitioned (signature_first): kept for good
			}
			w, ok := widths[p[1]]
			require.True(t, ok, "%s: partitioned by %s, which retention cannot read", c[2], p[1])
			partitioned[c[2]] = w
		}
	}
	assert.Equal(t, partitioned, retainedTables)
}
