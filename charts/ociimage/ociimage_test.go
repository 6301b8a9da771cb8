package ociimage

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func sample() Options {
	return Options{
		Files: []File{
			{Path: "/crashstream", Mode: 0o555, Data: []byte("\x7fELF not really")},
			{Path: "/etc/passwd", Mode: 0o444, Data: []byte("nonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n")},
		},
		Entrypoint:   []string{"/crashstream"},
		User:         "65532:65532",
		Env:          []string{"PATH=/"},
		Labels:       map[string]string{"org.opencontainers.image.version": "1.2.3"},
		OS:           "linux",
		Architecture: "amd64",
		Created:      time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		RefName:      "1.2.3",
	}
}

func TestWriteRead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "layout")
	desc, err := Write(dir, sample())
	require.NoError(t, err)

	img, err := Read(dir)
	require.NoError(t, err)
	assert.Equal(t, desc.Digest, img.Index.Manifests[0].Digest)
	assert.Equal(t, "1.2.3", img.Index.Manifests[0].Annotations[AnnotationRefName])
	assert.Equal(t, []string{"/crashstream"}, img.Config.Config.Entrypoint)
	assert.Equal(t, "65532:65532", img.Config.Config.User)
	assert.Equal(t, "linux", img.Config.OS)
	assert.Equal(t, "amd64", img.Config.Architecture)
	assert.Equal(t, "2026-01-02T03:04:05Z", img.Config.Created)
	require.Contains(t, img.Files, "/crashstream")
	assert.Equal(t, int64(0o555), img.Files["/crashstream"].Mode)
	assert.Equal(t, int64(len("\x7fELF not really")), img.Files["/crashstream"].Size)
	assert.Contains(t, img.Files, "/etc/passwd")
	assert.Equal(t, "\x7fELF not really", string(img.Data["/crashstream"]))
}

func TestWriteIsDeterministic(t *testing.T) {
	a, err := Write(filepath.Join(t.TempDir(), "a"), sample())
	require.NoError(t, err)
	b, err := Write(filepath.Join(t.TempDir(), "b"), sample())
	require.NoError(t, err)
	assert.Equal(t, a.Digest, b.Digest)

	o := sample()
	o.User = "0:0"
	c, err := Write(filepath.Join(t.TempDir(), "c"), o)
	require.NoError(t, err)
	assert.NotEqual(t, a.Digest, c.Digest)
}

func TestWriteRejects(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Options)
		want   string
	}{
		{"no entrypoint", func(o *Options) { o.Entrypoint = nil }, "required"},
		{"no user", func(o *Options) { o.User = "" }, "required"},
		{"relative path", func(o *Options) { o.Files[0].Path = "crashstream" }, "absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := sample()
			tt.modify(&o)
			_, err := Write(filepath.Join(t.TempDir(), "x"), o)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestReadDetectsTampering checks that Read verifies what it reads rather
// than trusting the descriptors.
func TestReadDetectsTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string, img *Image)
		want   string
	}{
		{"config content changed", func(t *testing.T, dir string, img *Image) {
			p := blobPath(dir, img.Manifest.Config.Digest)
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, []byte(strings.Replace(string(b), "65532:65532", "00000:00000", 1)), 0o644))
		}, "does not match its digest"},
		{"layer truncated", func(t *testing.T, dir string, img *Image) {
			p := blobPath(dir, img.Manifest.Layers[0].Digest)
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, b[:len(b)-1], 0o644))
		}, "descriptor says"},
		{"missing marker", func(t *testing.T, dir string, img *Image) {
			require.NoError(t, os.Remove(filepath.Join(dir, "oci-layout")))
		}, "oci-layout"},
		{"bad digest in index", func(t *testing.T, dir string, img *Image) {
			p := filepath.Join(dir, "index.json")
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, []byte(strings.Replace(string(b), "sha256:", "sha256:../", 1)), 0o644))
		}, "bad digest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "layout")
			_, err := Write(dir, sample())
			require.NoError(t, err)
			img, err := Read(dir)
			require.NoError(t, err)
			tt.tamper(t, dir, img)
			_, err = Read(dir)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func blobPath(dir, digest string) string {
	return filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:"))
}

// fakeELF returns the headers of a 64-bit little-endian ELF executable,
// enough for debug/elf: a program interpreter makes it dynamically linked.
func fakeELF(t testing.TB, machine elf.Machine, interp bool) []byte {
	t.Helper()
	var b bytes.Buffer
	h := elf.Header64{
		Type: uint16(elf.ET_EXEC), Machine: uint16(machine), Version: uint32(elf.EV_CURRENT),
		Phoff: 64, Ehsize: 64, Phentsize: 56, Phnum: 1, Shentsize: 64,
	}
	copy(h.Ident[:], []byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)})
	p := elf.Prog64{Type: uint32(elf.PT_LOAD), Flags: uint32(elf.PF_R | elf.PF_X), Align: 4096}
	if interp {
		p.Type = uint32(elf.PT_INTERP)
	}
	require.NoError(t, binary.Write(&b, binary.LittleEndian, h))
	require.NoError(t, binary.Write(&b, binary.LittleEndian, p))
	return b.Bytes()
}

func TestStaticBinaryPlatform(t *testing.T) {
	tests := []struct {
		name    string
		bin     []byte
		want    string
		wantErr string
	}{
		{"static amd64", fakeELF(t, elf.EM_X86_64, false), "amd64", ""},
		{"static arm64", fakeELF(t, elf.EM_AARCH64, false), "arm64", ""},
		{"dynamic", fakeELF(t, elf.EM_X86_64, true), "", "dynamically linked"},
		{"unknown machine", fakeELF(t, elf.EM_68K, false), "", "unsupported"},
		{"not elf", []byte("#!/bin/sh\necho hi\n"), "", "not an ELF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := StaticBinaryPlatform(tt.bin)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, Platform{Architecture: tt.want, OS: "linux"}, p)
		})
	}
}

// FuzzStaticBinaryPlatform: the binary is an input of the image build; a
// malformed one must give an error, never a panic.
func FuzzStaticBinaryPlatform(f *testing.F) {
	f.Add(fakeELF(f, elf.EM_X86_64, false))
	f.Add(fakeELF(f, elf.EM_X86_64, true))
	f.Add([]byte("\x7fELF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := StaticBinaryPlatform(b)
		if err == nil {
			assert.Equal(t, "linux", p.OS)
		}
	})
}

// FuzzReadLayer: layers come from a layout on disk; garbage must be an error.
func FuzzReadLayer(f *testing.F) {
	layer, diffID, err := layerTarGz(sample().Files, time.Unix(0, 0))
	require.NoError(f, err)
	f.Add(layer, diffID)
	f.Add([]byte{0x1f, 0x8b}, "sha256:00")
	f.Fuzz(func(t *testing.T, b []byte, id string) {
		img := &Image{Files: map[string]*tar.Header{}, Data: map[string][]byte{}}
		if readLayer(b, id, img) == nil {
			assert.Equal(t, diffID, id)
		}
	})
}
