package clickhouse

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/schemas/fields"
)

// TestCorrelatorUsesPublicFieldsOnly: the attribute set comes from the
// registry; a protected field is refused, and every field the default set
// reads is public there.
func TestCorrelatorUsesPublicFieldsOnly(t *testing.T) {
	reg := fields.New()
	c, err := NewCorrelator(nil, "db", reg, DefaultCorrelationAnnotations)
	require.NoError(t, err)
	for _, a := range c.attrs {
		for _, name := range a.Fields {
			f, ok := reg.Lookup(name)
			assert.True(t, ok && f.IsPublic(), "%s reads %s", a.Kind, name)
		}
	}
	for _, f := range reg.ClickHouse() {
		if f.IsPublic() {
			continue
		}
		_, err := NewCorrelator(nil, "db", reg, []string{f.Name})
		assert.True(t, errors.Is(err, ErrProtectedField), "protected %s: %v", f.Name, err)
	}
}

func TestScore(t *testing.T) {
	sig := map[string]uint64{"module\tevil.dll/1.0": 90, "module\txul.dll/130.0": 100, "process_type\tcontent": 55}
	all := map[string]uint64{"module\tevil.dll/1.0": 100, "module\txul.dll/130.0": 2000, "process_type\tcontent": 1000}
	got := Score(sig, all, 100, 2000, 10)
	require.Len(t, got, 3)
	assert.Equal(t, Correlation{Kind: "module", Value: "evil.dll/1.0", SigCount: 90, AllCount: 100, SigShare: 0.9, AllShare: 0.05,
		Score: 0.894737}, got[0]) // 90% of X against 10 of the 1900 others
	assert.Equal(t, "xul.dll/130.0", got[1].Value)
	assert.Zero(t, got[1].Score, "in every crash: no difference")
	assert.Equal(t, "process_type", got[2].Kind)
	assert.Zero(t, got[2].Score, "55% against 50%: not significant, scored 0")
	assert.Empty(t, Score(sig, all, 0, 2000, 10))
}

// TestCorrelationsConstructed: one module is loaded in 90% of signature
// X's crashes and 5% of all crashes; it ranks first for X, on demand and
// precomputed, and a protected field's values never appear.
func TestCorrelationsConstructed(t *testing.T) {
	conn, db := stackDB(t)
	ctx := context.Background()
	tab, w := testWriter(t, conn, db, 1)
	day := time.Now().UTC().Truncate(24 * time.Hour).Add(-24 * time.Hour)
	var rows []Row
	for n := 0; n < 2000; n++ {
		sig := "Y"
		if n < 100 {
			sig = "X"
		} else if n < 600 {
			sig = "Z"
		} else if n < 610 {
			sig = "W"
		}
		c := testCrash(n, day.Add(time.Duration(n)*time.Second), day.Add(time.Hour), "CorrApp", sig)
		c.LoadedModules = []string{"xul.dll/130.0", "ntdll.dll/10.0"}
		if n < 90 || (n >= 1000 && n < 1010) {
			c.LoadedModules = append(c.LoadedModules, "evil.dll/1.0")
		}
		c.CPUInfo = "GenuineIntel family 6 model 158"
		if n%2 == 0 {
			c.CPUInfo = "AuthenticAMD family 23 model 8"
		}
		if sig == "X" {
			c.URL = "https://secret.example/x"
			c.UserComments = "x comment"
		}
		r, err := tab.Row(c)
		require.NoError(t, err)
		rows = append(rows, r)
	}
	require.NoError(t, w.Write(ctx, rows))
	co, err := NewCorrelator(conn, db, fields.New(), DefaultCorrelationAnnotations)
	require.NoError(t, err)

	check := func(res *CorrelationsResult) {
		t.Helper()
		assert.Equal(t, uint64(100), res.SigTotal)
		assert.Equal(t, uint64(2000), res.AllTotal)
		require.NotEmpty(t, res.Items)
		top := res.Items[0]
		assert.Equal(t, "module", top.Kind)
		assert.Equal(t, "evil.dll/1.0", top.Value)
		assert.Equal(t, 0.9, top.SigShare)
		assert.Equal(t, 0.05, top.AllShare)
		for _, it := range res.Items {
			assert.NotContains(t, it.Value, "secret", it.Kind)
			assert.NotContains(t, it.Value, "x comment", it.Kind)
			if it.Kind == "cpu_vendor" {
				assert.Contains(t, []string{"GenuineIntel", "AuthenticAMD"}, it.Value)
			}
		}
	}
	p := CorrelationParams{Signature: "X", Product: "CorrApp", End: day.Add(24 * time.Hour)}
	res, err := co.Correlations(ctx, p)
	require.NoError(t, err)
	assert.False(t, res.Precomputed)
	check(res)

	n, err := co.Precompute(ctx, day, 3)
	require.NoError(t, err)
	assert.Equal(t, 6, n, "the top 3 of CorrApp (Y, Z, X), for all channels and for release")
	res, err = co.Correlations(ctx, p)
	require.NoError(t, err)
	assert.True(t, res.Precomputed)
	check(res)
	p.Channel = "release"
	res, err = co.Correlations(ctx, p)
	require.NoError(t, err)
	assert.True(t, res.Precomputed)
	check(res)
	// W is fourth: not precomputed, so computed on demand.
	res, err = co.Correlations(ctx, CorrelationParams{Signature: "W", Product: "CorrApp", End: day.Add(24 * time.Hour)})
	require.NoError(t, err)
	assert.False(t, res.Precomputed)
	assert.Equal(t, uint64(10), res.SigTotal)

	_, err = co.Correlations(ctx, CorrelationParams{Signature: "X"})
	assert.ErrorIs(t, err, ErrBadParams)
	_, err = co.Correlations(ctx, CorrelationParams{Signature: "X", Product: "CorrApp", Days: 5})
	assert.ErrorIs(t, err, ErrBadParams)
}

// TestAttributeDailyMatchesCorrelator: the materialized view of migration
// 0008 counts exactly the attributes the Correlator expands.
func TestAttributeDailyMatchesCorrelator(t *testing.T) {
	c, err := NewCorrelator(nil, "db", fields.New(), DefaultCorrelationAnnotations)
	require.NoError(t, err)
	migs, err := Migrations("db")
	require.NoError(t, err)
	found := 0
	for _, m := range migs {
		for _, st := range m.Statements {
			if strings.Contains(st, "attribute_daily") && strings.Contains(st, "arrayJoin(") {
				assert.Contains(t, st, "arrayJoin("+c.AttributesExpr()+") AS kv")
				found++
			}
		}
	}
	assert.Equal(t, 2, found, "the view and its backfill")
}
