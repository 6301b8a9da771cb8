// Package ociimage writes and reads single-image OCI image layouts
// (https://github.com/opencontainers/image-spec/blob/main/image-layout.md)
// with the standard library only.
//
// It exists because this project must build its container image on machines
// without a Docker engine and without access to any container registry: the
// image is FROM scratch, so it is nothing but one layer holding the static
// crashstream binary (plus CA certificates and a passwd entry for the
// non-root user) and a config naming the entrypoint and the user. A registry
// client (skopeo, crane, oras, podman) can push the written layout as is.
//
// Write is deterministic: the same inputs give the same digests, because file
// times in the layer and the config's creation time come from Options.Created.
package ociimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Media types of the OCI image spec v1.
const (
	MediaTypeIndex    = "application/vnd.oci.image.index.v1+json"
	MediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	MediaTypeLayerGz  = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// AnnotationRefName names an image in a layout's index (the "tag").
const AnnotationRefName = "org.opencontainers.image.ref.name"

// maxBlob bounds what Read loads into memory from a layout: a layout is
// external input, and our image is a few tens of MiB.
const maxBlob = 512 << 20

// File is one regular file of the image's single layer.
type File struct {
	// Path is absolute inside the image, e.g. "/crashstream".
	Path string
	// Mode holds the permission bits (0o555 for an executable).
	Mode int64
	// Data is the file's content.
	Data []byte
}

// Options describe the image to write.
type Options struct {
	// Files are the layer's regular files; parent directories are added.
	Files []File
	// Entrypoint is the config's Entrypoint, e.g. ["/crashstream"].
	Entrypoint []string
	// User is the config's User, "uid:gid"; numeric so that Kubernetes'
	// runAsNonRoot can verify it without an /etc/passwd lookup.
	User string
	// Env is the config's environment, "KEY=value".
	Env []string
	// Labels are the config's labels (org.opencontainers.image.*).
	Labels map[string]string
	// OS and Architecture of the binary, e.g. "linux" and "amd64".
	OS, Architecture string
	// Created stamps the config and every file of the layer.
	Created time.Time
	// RefName is the tag recorded in index.json (org.opencontainers.image.ref.name).
	RefName string
}

// Descriptor is an OCI content descriptor.
type Descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *Platform         `json:"platform,omitempty"`
}

// Platform says what OS and CPU an image runs on.
type Platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

// Index is a layout's index.json.
type Index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []Descriptor `json:"manifests"`
}

// Manifest is an image manifest.
type Manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        Descriptor   `json:"config"`
	Layers        []Descriptor `json:"layers"`
}

// Config is the subset of the image config this package writes and reads.
type Config struct {
	Created      string    `json:"created,omitempty"`
	Architecture string    `json:"architecture"`
	OS           string    `json:"os"`
	Config       RunConfig `json:"config"`
	RootFS       RootFS    `json:"rootfs"`
	History      []History `json:"history,omitempty"`
}

// RunConfig holds how a container of the image starts.
type RunConfig struct {
	User       string            `json:"User,omitempty"`
	Env        []string          `json:"Env,omitempty"`
	Entrypoint []string          `json:"Entrypoint,omitempty"`
	Cmd        []string          `json:"Cmd,omitempty"`
	WorkingDir string            `json:"WorkingDir,omitempty"`
	Labels     map[string]string `json:"Labels,omitempty"`
}

// RootFS lists the uncompressed digests of the layers.
type RootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

// History records how a layer was made.
type History struct {
	Created   string `json:"created,omitempty"`
	CreatedBy string `json:"created_by,omitempty"`
	Comment   string `json:"comment,omitempty"`
}

// Image is what Read finds in a layout.
type Image struct {
	Index    Index
	Manifest Manifest
	Config   Config
	// Files maps each regular file of the layers to its header.
	Files map[string]*tar.Header
	// Data maps each regular file to its content.
	Data map[string][]byte
}

// Write writes a layout holding one image into dir (created if missing;
// an existing layout there is replaced) and returns the manifest's descriptor.
func Write(dir string, o Options) (Descriptor, error) {
	if len(o.Entrypoint) == 0 || o.User == "" || o.OS == "" || o.Architecture == "" {
		return Descriptor{}, errors.New("ociimage: entrypoint, user, os and architecture are required")
	}
	layer, diffID, err := layerTarGz(o.Files, o.Created)
	if err != nil {
		return Descriptor{}, err
	}
	created := o.Created.UTC().Format(time.RFC3339)
	cfg := Config{
		Created:      created,
		Architecture: o.Architecture,
		OS:           o.OS,
		Config: RunConfig{
			User:       o.User,
			Env:        o.Env,
			Entrypoint: o.Entrypoint,
			WorkingDir: "/",
			Labels:     o.Labels,
		},
		RootFS:  RootFS{Type: "layers", DiffIDs: []string{diffID}},
		History: []History{{Created: created, CreatedBy: "crashstream ociimage", Comment: "static binary FROM scratch"}},
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return Descriptor{}, err
	}
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.RemoveAll(dir); err != nil {
		return Descriptor{}, err
	}
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return Descriptor{}, err
	}
	layerDesc, err := writeBlob(blobs, MediaTypeLayerGz, layer)
	if err != nil {
		return Descriptor{}, err
	}
	cfgDesc, err := writeBlob(blobs, MediaTypeConfig, cfgJSON)
	if err != nil {
		return Descriptor{}, err
	}
	man, err := json.Marshal(Manifest{SchemaVersion: 2, MediaType: MediaTypeManifest, Config: cfgDesc, Layers: []Descriptor{layerDesc}})
	if err != nil {
		return Descriptor{}, err
	}
	manDesc, err := writeBlob(blobs, MediaTypeManifest, man)
	if err != nil {
		return Descriptor{}, err
	}
	manDesc.Platform = &Platform{Architecture: o.Architecture, OS: o.OS}
	if o.RefName != "" {
		manDesc.Annotations = map[string]string{AnnotationRefName: o.RefName}
	}
	idx, err := json.Marshal(Index{SchemaVersion: 2, MediaType: MediaTypeIndex, Manifests: []Descriptor{manDesc}})
	if err != nil {
		return Descriptor{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), idx, 0o644); err != nil {
		return Descriptor{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		return Descriptor{}, err
	}
	return manDesc, nil
}

// layerTarGz builds the gzip-compressed layer and returns it with its
// diff id (the digest of the uncompressed tar, which the config records).
func layerTarGz(files []File, mtime time.Time) ([]byte, string, error) {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	dirs := map[string]bool{}
	sorted := append([]File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	for _, f := range sorted {
		name := strings.TrimPrefix(path.Clean(f.Path), "/")
		if !path.IsAbs(f.Path) || name == "" || strings.HasPrefix(name, "..") {
			return nil, "", fmt.Errorf("ociimage: file path %q must be absolute", f.Path)
		}
		// Parent directories first, once each, as image tools expect.
		var parents []string
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			if dirs[d] {
				continue
			}
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX}); err != nil {
				return nil, "", err
			}
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: f.Mode, Size: int64(len(f.Data)), ModTime: mtime, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, "", err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, "", err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	diff := sha256.Sum256(raw.Bytes())
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return nil, "", err
	}
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return nil, "", err
	}
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	return gz.Bytes(), "sha256:" + hex.EncodeToString(diff[:]), nil
}

func writeBlob(dir, mediaType string, b []byte) (Descriptor, error) {
	sum := sha256.Sum256(b)
	h := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(dir, h), b, 0o644); err != nil {
		return Descriptor{}, err
	}
	return Descriptor{MediaType: mediaType, Digest: "sha256:" + h, Size: int64(len(b))}, nil
}

// Read loads the single image of the layout in dir and checks it: every
// blob's size and digest match its descriptor, the config's diff ids match
// the uncompressed layers, and the index names exactly one manifest.
func Read(dir string) (*Image, error) {
	var marker struct {
		Version string `json:"imageLayoutVersion"`
	}
	if err := readJSON(filepath.Join(dir, "oci-layout"), &marker); err != nil {
		return nil, err
	}
	if marker.Version != "1.0.0" {
		return nil, fmt.Errorf("ociimage: oci-layout version %q, want 1.0.0", marker.Version)
	}
	img := &Image{Files: map[string]*tar.Header{}, Data: map[string][]byte{}}
	if err := readJSON(filepath.Join(dir, "index.json"), &img.Index); err != nil {
		return nil, err
	}
	if img.Index.SchemaVersion != 2 || len(img.Index.Manifests) != 1 {
		return nil, fmt.Errorf("ociimage: index has schemaVersion %d and %d manifests, want 2 and 1", img.Index.SchemaVersion, len(img.Index.Manifests))
	}
	md := img.Index.Manifests[0]
	if md.MediaType != MediaTypeManifest {
		return nil, fmt.Errorf("ociimage: index names a %q, want an image manifest", md.MediaType)
	}
	man, err := readBlob(dir, md)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(man, &img.Manifest); err != nil {
		return nil, fmt.Errorf("ociimage: manifest: %w", err)
	}
	if img.Manifest.Config.MediaType != MediaTypeConfig {
		return nil, fmt.Errorf("ociimage: config media type %q", img.Manifest.Config.MediaType)
	}
	cfg, err := readBlob(dir, img.Manifest.Config)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(cfg, &img.Config); err != nil {
		return nil, fmt.Errorf("ociimage: config: %w", err)
	}
	if len(img.Config.RootFS.DiffIDs) != len(img.Manifest.Layers) {
		return nil, fmt.Errorf("ociimage: %d diff ids for %d layers", len(img.Config.RootFS.DiffIDs), len(img.Manifest.Layers))
	}
	for i, ld := range img.Manifest.Layers {
		if ld.MediaType != MediaTypeLayerGz {
			return nil, fmt.Errorf("ociimage: layer %d media type %q", i, ld.MediaType)
		}
		b, err := readBlob(dir, ld)
		if err != nil {
			return nil, err
		}
		if err := readLayer(b, img.Config.RootFS.DiffIDs[i], img); err != nil {
			return nil, fmt.Errorf("ociimage: layer %d: %w", i, err)
		}
	}
	return img, nil
}

// readLayer adds a gzip tar layer's regular files to img and checks the
// uncompressed digest against diffID.
func readLayer(b []byte, diffID string, img *Image) error {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return err
	}
	defer zr.Close()
	h := sha256.New()
	tr := tar.NewReader(io.TeeReader(io.LimitReader(zr, maxBlob), h))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(tr)
			if err != nil {
				return err
			}
			name := "/" + path.Clean(hdr.Name)
			img.Files[name] = hdr
			img.Data[name] = data
		}
	}
	// Drain the tar's end padding so the digest covers the whole stream.
	if _, err := io.Copy(io.Discard, io.TeeReader(io.LimitReader(zr, maxBlob), h)); err != nil {
		return err
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != diffID {
		return fmt.Errorf("diff id %s, config says %s", got, diffID)
	}
	return nil
}

func readBlob(dir string, d Descriptor) ([]byte, error) {
	hexDigest, ok := strings.CutPrefix(d.Digest, "sha256:")
	if !ok || len(hexDigest) != 64 || strings.Trim(hexDigest, "0123456789abcdef") != "" {
		return nil, fmt.Errorf("ociimage: bad digest %q", d.Digest)
	}
	if d.Size < 0 || d.Size > maxBlob {
		return nil, fmt.Errorf("ociimage: blob %s size %d out of bounds", d.Digest, d.Size)
	}
	f, err := os.Open(filepath.Join(dir, "blobs", "sha256", hexDigest))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, d.Size+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != d.Size {
		return nil, fmt.Errorf("ociimage: blob %s has %d bytes, descriptor says %d", d.Digest, len(b), d.Size)
	}
	sum := sha256.Sum256(b)
	if hex.EncodeToString(sum[:]) != hexDigest {
		return nil, fmt.Errorf("ociimage: blob %s content does not match its digest", d.Digest)
	}
	return b, nil
}

func readJSON(name string, v any) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := json.NewDecoder(io.LimitReader(f, 1<<20))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("ociimage: %s: %w", filepath.Base(name), err)
	}
	return nil
}

// StaticBinaryPlatform checks that b is a statically linked Linux ELF
// executable (no program interpreter: a FROM scratch image has no libc or
// dynamic loader) and returns the platform it runs on.
func StaticBinaryPlatform(b []byte) (Platform, error) {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return Platform{}, fmt.Errorf("ociimage: not an ELF binary: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return Platform{}, errors.New("ociimage: binary is dynamically linked (build it with CGO_ENABLED=0)")
		}
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return Platform{}, fmt.Errorf("ociimage: ELF type %v is not an executable", f.Type)
	}
	arch, ok := map[elf.Machine]string{
		elf.EM_X86_64:  "amd64",
		elf.EM_AARCH64: "arm64",
		elf.EM_386:     "386",
		elf.EM_ARM:     "arm",
		elf.EM_PPC64:   "ppc64le",
		elf.EM_S390:    "s390x",
		elf.EM_RISCV:   "riscv64",
	}[f.Machine]
	if !ok {
		return Platform{}, fmt.Errorf("ociimage: unsupported ELF machine %v", f.Machine)
	}
	return Platform{Architecture: arch, OS: "linux"}, nil
}
