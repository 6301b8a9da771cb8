package symupload

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const sym = "MODULE windows x86 5A9832E5287241C1838ED98914E9B7FF1 test_app.pdb\r\nFILE 0 c:\\test_app.cc\nFUNC 1000 10 0 main\n"

type entry struct {
	name string
	data string
	// declared overrides the uncompressed size in the headers (0: real).
	declared uint64
}

func makeZip(t testing.TB, entries ...entry) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range entries {
		fw, err := w.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Deflate})
		require.NoError(t, err)
		_, err = io.WriteString(fw, e.data)
		require.NoError(t, err)
	}
	require.NoError(t, w.Close())
	b := buf.Bytes()
	for _, e := range entries {
		if e.declared != 0 {
			b = patchDeclared(t, b, e.name, e.declared)
		}
	}
	return b
}

// patchDeclared rewrites the uncompressed size of name in the central
// directory, as a hostile archive would (a zip bomb lying about itself).
func patchDeclared(t testing.TB, b []byte, name string, size uint64) []byte {
	sig := []byte{'P', 'K', 1, 2}
	for i := 0; i+46 < len(b); i++ {
		if !bytes.Equal(b[i:i+4], sig) {
			continue
		}
		n := int(b[i+28]) | int(b[i+29])<<8
		if string(b[i+46:i+46+n]) == name {
			b[i+24], b[i+25], b[i+26], b[i+27] = byte(size), byte(size>>8), byte(size>>16), byte(size>>24)
			return b
		}
	}
	t.Fatalf("entry %s not found", name)
	return nil
}

func small() Limits { return Limits{MaxFileBytes: 1 << 20, MaxTotalBytes: 2 << 20, MaxFiles: 10} }

func TestZip(t *testing.T) {
	good := "test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym"
	bomb := strings.Repeat("0", 3<<20)
	tests := []struct {
		name    string
		entries []entry
		lim     Limits
		files   int
		skipped int
		err     error
		msg     string
	}{
		{name: "good", entries: []entry{{name: good, data: sym}, {name: "README.txt", data: "hi"}}, files: 1, skipped: 1},
		{name: "lower-case id in path", entries: []entry{{name: strings.Replace(good, "5A9832E5287241C1838ED98914E9B7FF1", "5a9832e5287241c1838ed98914e9b7ff1", 1), data: sym}}, files: 1},
		{name: "wrong module", entries: []entry{{name: "other.pdb/5A9832E5287241C1838ED98914E9B7FF1/other.sym", data: sym}}, err: ErrInvalid, msg: "MODULE line says test_app.pdb/"},
		{name: "wrong id", entries: []entry{{name: "test_app.pdb/000000000000000000000000000000000/test_app.sym", data: sym}}, err: ErrInvalid, msg: "MODULE line says"},
		{name: "no module line", entries: []entry{{name: good, data: "FUNC 1 2 3 x\n"}}, err: ErrInvalid, msg: "first line is not"},
		{name: "zip slip", entries: []entry{{name: "../../etc/test_app.sym", data: sym}}, err: ErrInvalid, msg: "escapes the archive"},
		{name: "absolute", entries: []entry{{name: "/tmp/test_app.sym", data: sym}}, err: ErrInvalid, msg: "absolute"},
		{name: "backslash", entries: []entry{{name: "a\\..\\b.sym", data: sym}}, err: ErrInvalid, msg: "backslash"},
		{name: "too deep", entries: []entry{{name: "x/" + good, data: sym}}, err: ErrInvalid, msg: "want debug_file/debug_id/file.sym"},
		{name: "oversize file", entries: []entry{{name: good, data: sym + bomb}}, err: ErrTooLarge, msg: "per file"},
		{name: "bomb declared small", entries: []entry{{name: good, data: sym + bomb, declared: 100}}, err: ErrInvalid, msg: "larger than its header says"},
		{name: "total over cap", entries: []entry{
			{name: good, data: sym + strings.Repeat("1", 900<<10)},
			{name: "a.pdb/5A9832E5287241C1838ED98914E9B7FF1/a.sym", data: strings.Replace(sym, "test_app.pdb", "a.pdb", 1) + strings.Repeat("1", 900<<10)},
			{name: "b.pdb/5A9832E5287241C1838ED98914E9B7FF1/b.sym", data: strings.Replace(sym, "test_app.pdb", "b.pdb", 1) + strings.Repeat("1", 900<<10)},
		}, err: ErrTooLarge, msg: "expands to more than"},
		{name: "too many", entries: []entry{{name: "1"}, {name: "2"}}, lim: Limits{MaxFileBytes: 10, MaxTotalBytes: 10, MaxFiles: 1}, err: ErrTooLarge, msg: "entries"},
		{name: "duplicate", entries: []entry{{name: good, data: sym}, {name: good, data: sym}}, err: ErrInvalid, msg: "duplicate"},
		{name: "no sym", entries: []entry{{name: "README", data: "x"}}, err: ErrInvalid, msg: "no .sym"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := makeZip(t, tt.entries...)
			lim := tt.lim
			if lim == (Limits{}) {
				lim = small()
			}
			files, skipped, err := Zip(bytes.NewReader(b), int64(len(b)), lim)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				assert.Contains(t, err.Error(), tt.msg)
				return
			}
			require.NoError(t, err)
			require.Len(t, files, tt.files)
			assert.Len(t, skipped, tt.skipped)
			assert.Equal(t, good, files[0].Key)
			rc, err := files[0].Open()
			require.NoError(t, err)
			data, err := io.ReadAll(rc)
			require.NoError(t, err)
			require.NoError(t, rc.Close())
			assert.Equal(t, sym, string(data))
		})
	}
}

func TestZipNotAZip(t *testing.T) {
	_, _, err := Zip(strings.NewReader("nope"), 4, small())
	require.ErrorIs(t, err, ErrInvalid)
}

func TestSym(t *testing.T) {
	tests := []struct {
		name, file, data string
		err              error
	}{
		{name: "named", file: "test_app.sym", data: sym},
		{name: "unnamed", data: sym},
		{name: "path ignored but base checked", file: "x/test_app.sym", data: sym},
		{name: "wrong name", file: "other.sym", data: sym, err: ErrInvalid},
		{name: "garbage", file: "test_app.sym", data: "\x00\x01", err: ErrInvalid},
		{name: "too big", file: "test_app.sym", data: sym + strings.Repeat("x", 2<<20), err: ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Sym(strings.NewReader(tt.data), int64(len(tt.data)), tt.file, small())
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym", f.Key)
			assert.Equal(t, "windows", f.Module.OS)
		})
	}
}

func TestModuleSymName(t *testing.T) {
	for in, want := range map[string]string{"xul.pdb": "xul.sym", "XUL.PDB": "XUL.sym", "libxul.so": "libxul.so.sym", "XUL": "XUL.sym"} {
		assert.Equal(t, want, Module{DebugFile: in}.SymName())
	}
}

func TestCheckPath(t *testing.T) {
	for _, p := range []string{"", "/a", "a/../b", "..", "a//b", "./a", "C:/x", "a\\b"} {
		assert.Error(t, CheckPath(p), p)
	}
	assert.NoError(t, CheckPath("a/b/c.sym"))
}

// TestParseModuleRefusesDriveLetters: a debug file "C:" parsed, but its key
// "C:/<id>/C:.sym" failed CheckPath — found by FuzzParseModule (its input
// is kept in testdata/fuzz).
func TestParseModuleRefusesDriveLetters(t *testing.T) {
	for _, line := range []string{"MODULE windows x86 00 C:", "MODULE 0 0 0 0:", "MODULE mac arm64 AB C:x.pdb"} {
		_, err := ParseModule(line)
		require.ErrorIs(t, err, ErrInvalid, line)
	}
	m, err := ParseModule("MODULE Linux x86_64 ABCDEF0123 lib:x.so")
	require.NoError(t, err, "a colon elsewhere is allowed")
	require.NoError(t, CheckPath(m.Key()))
}

// FuzzZip: no archive makes the validator panic, exceed its caps or accept
// a file whose key disagrees with its MODULE line or escapes the layout.
func FuzzZip(f *testing.F) {
	f.Add(makeZip(f, entry{name: "test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym", data: sym}))
	f.Add(makeZip(f, entry{name: "../x.sym", data: sym}))
	f.Add(makeZip(f, entry{name: "test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1/test_app.sym", data: sym + strings.Repeat("0", 5000), declared: 10}))
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	lim := Limits{MaxFileBytes: 4096, MaxTotalBytes: 8192, MaxFiles: 16}
	f.Fuzz(func(t *testing.T, b []byte) {
		files, _, err := Zip(bytes.NewReader(b), int64(len(b)), lim)
		if err != nil {
			return
		}
		var total int64
		for _, fl := range files {
			require.NoError(t, CheckPath(fl.Key))
			require.Equal(t, fl.Module.Key(), fl.Key)
			require.LessOrEqual(t, fl.Size, lim.MaxFileBytes)
			total += fl.Size
		}
		require.LessOrEqual(t, total, lim.MaxTotalBytes)
	})
}

// FuzzParseModule: any first line parses to a safe key or an error.
func FuzzParseModule(f *testing.F) {
	f.Add("MODULE Linux x86_64 ABCDEF0123 libxul.so")
	f.Add("MODULE windows x86 5A98 a b c.pdb")
	f.Add("MODULE mac arm64 00 ../../x")
	f.Fuzz(func(t *testing.T, line string) {
		m, err := ParseModule(line)
		if err != nil {
			return
		}
		require.NoError(t, CheckPath(m.Key()))
		require.Len(t, strings.Split(m.Key(), "/"), 3)
	})
}

// BenchmarkZip validates a 10-file archive of 1 MiB .sym files (the
// validation pass inflates everything once).
func BenchmarkZip(b *testing.B) {
	var entries []entry
	body := strings.Repeat("FUNC 1000 10 0 some::function(int)\n1000 10 42 0\n", 1<<20/48)
	for i := 0; i < 10; i++ {
		name := fmt.Sprintf("m%d.pdb", i)
		entries = append(entries, entry{name: name + "/5A9832E5287241C1838ED98914E9B7FF1/" + fmt.Sprintf("m%d.sym", i),
			data: "MODULE windows x86 5A9832E5287241C1838ED98914E9B7FF1 " + name + "\n" + body})
	}
	z := makeZip(b, entries...)
	b.SetBytes(int64(10 * len(body)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := Zip(bytes.NewReader(z), int64(len(z)), DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
}
