package symbols

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/services/lib/repotest"
)

func snapshotOf(t testing.TB, sf *SymbolFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, sf.WriteSnapshot(&buf))
	return buf.Bytes()
}

// sameAnswers checks that two files answer every query alike over addrs.
func sameAnswers(t *testing.T, a, b *SymbolFile, addrs []uint64) {
	t.Helper()
	assert.Equal(t, a.Module, b.Module)
	assert.Equal(t, a.CodeID, b.CodeID)
	assert.Equal(t, a.URL, b.URL)
	assert.Equal(t, a.Stats(), b.Stats())
	for _, addr := range addrs {
		la, oka := a.Lookup(addr)
		lb, okb := b.Lookup(addr)
		require.Equal(t, oka, okb, "%#x", addr)
		require.Equal(t, la, lb, "%#x", addr)
		wa, oka := a.FindWin(addr)
		wb, okb := b.FindWin(addr)
		require.Equal(t, oka, okb)
		require.Equal(t, wa, wb)
		ca, oka := a.FindCFI(addr, nil)
		cb, okb := b.FindCFI(addr, nil)
		require.Equal(t, oka, okb)
		require.Equal(t, ca, cb)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	inline := parseFile(t, "testdata/inline.sym")
	var addrs []uint64
	for a := uint64(0); a < 0x4000; a += 3 {
		addrs = append(addrs, a)
	}
	got, err := ReadSnapshot(bytes.NewReader(snapshotOf(t, inline)))
	require.NoError(t, err)
	sameAnswers(t, inline, got, addrs)

	td := repotest.SharedTestdata(t)
	app := parseFile(t, filepath.Join(td, "breakpad/symbols/test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym"))
	got, err = ReadSnapshot(bytes.NewReader(snapshotOf(t, app)))
	require.NoError(t, err)
	addrs = addrs[:0]
	for a := uint64(0); a < 0x30000; a += 7 {
		addrs = append(addrs, a)
	}
	sameAnswers(t, app, got, addrs)
}

func TestSnapshotRejectsDamage(t *testing.T) {
	snap := snapshotOf(t, parseFile(t, "testdata/inline.sym"))
	tests := map[string][]byte{
		"empty":     nil,
		"magic":     append([]byte("XXXXXXXX"), snap[8:]...),
		"truncated": snap[:len(snap)-1],
		"cut":       snap[:len(snap)/2],
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ReadSnapshot(bytes.NewReader(b))
			assert.ErrorIs(t, err, ErrBadSnapshot)
		})
	}
}

// FuzzReadSnapshot loads arbitrary snapshots: nothing may panic, and what
// loads must answer lookups without panicking.
func FuzzReadSnapshot(f *testing.F) {
	sf, err := Parse(strings.NewReader(tinySym + "STACK CFI INIT 10 10 .cfa: $rsp 8 + .ra: .cfa -8 + ^\nSTACK WIN 4 10 20 1 0 4 0 8 0 1 $eip 1 =\n"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(snapshotOf(f, sf))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ReadSnapshot(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, a := range []uint64{0, 0x10, 0x12, 0x1000, ^uint64(0)} {
			s.Lookup(a)
			s.HasFunction(a)
			s.FindWin(a)
			s.FindCFI(a, nil)
		}
	})
}
