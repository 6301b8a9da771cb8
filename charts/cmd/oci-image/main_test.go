package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/charts/ociimage"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// writeELF writes the headers of a static (or, with interp, dynamic)
// x86-64 executable: enough for the platform check, no need to link one.
func writeELF(t *testing.T, dir string, interp bool) string {
	t.Helper()
	var b bytes.Buffer
	h := elf.Header64{Type: uint16(elf.ET_EXEC), Machine: uint16(elf.EM_X86_64), Version: uint32(elf.EV_CURRENT),
		Phoff: 64, Ehsize: 64, Phentsize: 56, Phnum: 1, Shentsize: 64}
	copy(h.Ident[:], []byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)})
	p := elf.Prog64{Type: uint32(elf.PT_LOAD)}
	if interp {
		p.Type = uint32(elf.PT_INTERP)
	}
	require.NoError(t, binary.Write(&b, binary.LittleEndian, h))
	require.NoError(t, binary.Write(&b, binary.LittleEndian, p))
	name := filepath.Join(dir, "crashstream")
	require.NoError(t, os.WriteFile(name, b.Bytes(), 0o755))
	return name
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.crt")
	require.NoError(t, os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644))
	env := map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}

	tests := []struct {
		name    string
		args    func(out string) []string
		wantErr string
	}{
		{"static binary", func(out string) []string {
			return []string{"-binary", writeELF(t, t.TempDir(), false), "-out", out, "-tag", "9.9.9", "-revision", "abc", "-ca-certs", ca}
		}, ""},
		{"dynamic binary", func(out string) []string {
			return []string{"-binary", writeELF(t, t.TempDir(), true), "-out", out}
		}, "dynamically linked"},
		{"missing flags", func(out string) []string { return []string{"-out", out} }, "required"},
		{"missing CA bundle", func(out string) []string {
			return []string{"-binary", writeELF(t, t.TempDir(), false), "-out", out, "-ca-certs", filepath.Join(dir, "nope")}
		}, "CA bundle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "layout")
			var stdout, stderr bytes.Buffer
			err := run(tt.args(out), &stdout, &stderr, func(k string) string { return env[k] })
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Contains(t, stdout.String(), "linux/amd64 sha256:")
			img, err := ociimage.Read(out)
			require.NoError(t, err)
			assert.Equal(t, []string{"/crashstream"}, img.Config.Config.Entrypoint)
			assert.Equal(t, "65532:65532", img.Config.Config.User)
			assert.Equal(t, "2023-11-14T22:13:20Z", img.Config.Created)
			assert.Equal(t, "abc", img.Config.Config.Labels["org.opencontainers.image.revision"])
			assert.Equal(t, "9.9.9", img.Index.Manifests[0].Annotations[ociimage.AnnotationRefName])
			for _, f := range []string{"/crashstream", "/etc/passwd", "/etc/group", "/etc/ssl/certs/ca-certificates.crt"} {
				assert.Contains(t, img.Files, f)
			}
		})
	}
}
