package schemas_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/compat"
)

// TestBackwardCompatibleWithHistory checks every current schema against
// each earlier revision kept in avro/history (and against itself): data
// written with any revision must stay readable by the current one.
func TestBackwardCompatibleWithHistory(t *testing.T) {
	checked := map[string]int{}
	for _, cur := range schemas.Current() {
		newer, err := schemas.Source(cur)
		require.NoError(t, err)
		require.NoError(t, compat.Backward(newer, newer), cur)
		checked[cur]++
	}
	for _, h := range schemas.History() {
		base := strings.TrimPrefix(h, "history/")
		i := strings.LastIndex(base, ".r")
		require.Positive(t, i, "history file %s must be named <file>.r<N>.avsc", h)
		cur := base[:i] + ".avsc"
		newer, err := schemas.Source(cur)
		require.NoError(t, err, "history file %s has no current schema %s", h, cur)
		older, err := schemas.Source(h)
		require.NoError(t, err)
		assert.NoError(t, compat.Backward(newer, older), "%s must read data written with %s", cur, h)
		checked[cur]++
	}
	assert.Len(t, checked, len(schemas.Current()))
}

// TestIncompatibleChangeIsCaught shows the gate works on the real schema:
// a new field without a default in processed_crash must be rejected.
func TestIncompatibleChangeIsCaught(t *testing.T) {
	cur, err := schemas.Source(schemas.FileProcessedCrash)
	require.NoError(t, err)
	broken := strings.Replace(cur, `"fields": [`, `"fields": [{"name": "brand_new", "type": "string"},`, 1)
	require.NotEqual(t, cur, broken)
	assert.ErrorContains(t, compat.Backward(broken, cur), "brand_new")
	fine := strings.Replace(cur, `"fields": [`, `"fields": [{"name": "brand_new", "type": "string", "default": ""},`, 1)
	assert.NoError(t, compat.Backward(fine, cur))
}
