package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCrashesMissingSymbols: the crashes whose latest processing missed a
// module are found newest first, within the window and the limit; a crash
// reprocessed with the symbols, and crashes missing other modules, are not.
func TestCrashesMissingSymbols(t *testing.T) {
	conn, db := stackDB(t)
	tab, w := testWriter(t, conn, db, 1)
	ctx := context.Background()
	const mod, other = "xul.pdb/ABC0", "ntdll.pdb/DEF0"
	base := time.Date(2026, 11, 19, 8, 0, 0, 0, time.UTC)
	var rows []Row
	for i := range 8 {
		sub := base.Add(time.Duration(i) * 6 * time.Hour)
		c := testCrash(i, sub, sub.Add(time.Minute), "Firefox", "xul.dll@0x1")
		c.MissingSymbolsModules = []string{mod, other}
		if i == 5 {
			c.MissingSymbolsModules = []string{other}
		}
		r, err := tab.Row(c)
		require.NoError(t, err)
		rows = append(rows, r)
	}
	require.NoError(t, w.Write(ctx, rows))
	// crash 6 reprocessed with xul's symbols
	sub := base.Add(36 * time.Hour)
	c := testCrash(6, sub, sub.Add(time.Hour), "Firefox", "Fix")
	c.MissingSymbolsModules = []string{other}
	r, err := tab.Row(c)
	require.NoError(t, err)
	require.NoError(t, w.Write(ctx, []Row{r}))

	rd, err := NewReader(conn, db, DedupArgMax)
	require.NoError(t, err)
	got, more, err := rd.CrashesMissingSymbols(ctx, mod, base.Add(6*time.Hour), 100)
	require.NoError(t, err)
	assert.False(t, more)
	var ids []string
	for _, g := range got {
		ids = append(ids, g.CrashID)
	}
	assert.Equal(t, []string{crashID(7, base.Add(42*time.Hour)), crashID(4, base.Add(24*time.Hour)),
		crashID(3, base.Add(18*time.Hour)), crashID(2, base.Add(12*time.Hour)), crashID(1, base.Add(6*time.Hour))}, ids,
		"newest first; 0 before the window, 5 never missed xul, 6 reprocessed with it")
	got, more, err = rd.CrashesMissingSymbols(ctx, mod, base, 2)
	require.NoError(t, err)
	assert.True(t, more)
	assert.Len(t, got, 2)
	got, _, err = rd.CrashesMissingSymbols(ctx, "unknown.pdb/00", base, 10)
	require.NoError(t, err)
	assert.Empty(t, got)

	n, err := rd.CountReprocessed(ctx, []string{crashID(6, sub), crashID(4, base.Add(24*time.Hour))}, base, sub.Add(30*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 1, n, "crash 6 was processed again after the job started; 4 was not")

	mods, err := rd.ModulesMissingSymbols(ctx, base.Add(6*time.Hour), 10)
	require.NoError(t, err)
	assert.Equal(t, []MissingModule{{Module: other, Crashes: 7}, {Module: mod, Crashes: 6}}, mods,
		"crashes 1-7 missed ntdll; 1-4, 6 (before its reprocessing) and 7 missed xul; 0 is before the window")
	mods, err = rd.ModulesMissingSymbols(ctx, base, 1)
	require.NoError(t, err)
	assert.Equal(t, []MissingModule{{Module: other, Crashes: 8}}, mods, "bounded by the limit, most affected first")
}
