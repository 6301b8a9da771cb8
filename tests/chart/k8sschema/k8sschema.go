// Package k8sschema turns the Kubernetes JSON schemas shipped inside the
// kubernetes-validate Python wheel into a directory kubeconform can read
// offline.
//
// Why: kubeconform downloads its schemas from the network by default, and
// the only network here is the package registries. The kubernetes-validate
// wheel carries the schemas of every recent Kubernetes release, but in its
// "local" form: each kind's schema has "$id": "https://kubernetes.io/api/..."
// and refers to "/api/_definitions.json#/$defs/...", which a validator
// resolves to a kubernetes.io URL. Extract drops the "$id" and makes those
// references relative ("_definitions.json#/$defs/..."), so they resolve to
// the sibling file on disk. Nothing else in a schema changes.
package k8sschema

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// Bounds on what is read from the wheel, which is external input.
const (
	maxFile  = 16 << 20
	maxTotal = 128 << 20
)

const (
	wheelDir  = "kubernetes_validate/kubernetes-json-schema/"
	remoteRef = "/api/_definitions.json"
	localRef  = "_definitions.json"
)

var (
	versionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	fileRE    = regexp.MustCompile(`^[a-z0-9_.-]+\.json$`)
)

// Dir is the directory, under the output root, holding the strict schemas
// of a Kubernetes version: what kubeconform's schema-location template
// "{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}" names.
func Dir(version string) string { return "v" + version + "-local-strict" }

// Extract writes the strict schemas of one Kubernetes version (e.g.
// "1.33.0") from the wheel at wheelPath into outRoot/Dir(version), replacing
// what was there. It returns how many schema files it wrote.
func Extract(wheelPath, version, outRoot string) (int, error) {
	if !versionRE.MatchString(version) {
		return 0, fmt.Errorf("k8sschema: version %q is not major.minor.patch", version)
	}
	zr, err := zip.OpenReader(wheelPath)
	if err != nil {
		return 0, fmt.Errorf("k8sschema: %w", err)
	}
	defer zr.Close()

	prefix := wheelDir + Dir(version) + "/"
	dst := filepath.Join(outRoot, Dir(version))
	tmp := dst + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return 0, err
	}
	var n int
	var total int64
	for _, f := range zr.File {
		rest, ok := strings.CutPrefix(f.Name, prefix)
		if !ok || rest == "" {
			continue
		}
		if !fileRE.MatchString(rest) {
			return 0, fmt.Errorf("k8sschema: unexpected file %q in the wheel", f.Name)
		}
		if f.UncompressedSize64 > maxFile {
			return 0, fmt.Errorf("k8sschema: %s is %d bytes, over the %d bound", f.Name, f.UncompressedSize64, maxFile)
		}
		total += int64(f.UncompressedSize64)
		if total > maxTotal {
			return 0, fmt.Errorf("k8sschema: schemas of %s exceed %d bytes", version, maxTotal)
		}
		b, err := readZipFile(f)
		if err != nil {
			return 0, err
		}
		out, err := Localize(b)
		if err != nil {
			return 0, fmt.Errorf("k8sschema: %s: %w", f.Name, err)
		}
		if err := os.WriteFile(filepath.Join(tmp, path.Base(rest)), out, 0o644); err != nil {
			return 0, err
		}
		n++
	}
	if n == 0 {
		return 0, fmt.Errorf("k8sschema: the wheel has no schemas for Kubernetes %s (looked under %s)", version, prefix)
	}
	if _, err := os.Stat(filepath.Join(tmp, localRef)); err != nil {
		return 0, fmt.Errorf("k8sschema: the wheel has no %s for Kubernetes %s", localRef, version)
	}
	if err := os.RemoveAll(dst); err != nil {
		return 0, err
	}
	return n, os.Rename(tmp, dst)
}

func readZipFile(f *zip.File) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFile {
		return nil, fmt.Errorf("k8sschema: %s is over the %d bound", f.Name, maxFile)
	}
	return b, nil
}

// Localize rewrites one schema document: the top-level "$id" is removed and
// every "$ref" into /api/_definitions.json becomes relative to the file.
func Localize(doc []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber() // keep numbers (enums, bounds) exactly as written
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	root, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema is a %T, not an object", v)
	}
	delete(root, "$id")
	rewriteRefs(root)
	return json.MarshalIndent(root, "", " ")
}

func rewriteRefs(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if s, ok := e.(string); ok && k == "$ref" {
				if rest, ok := strings.CutPrefix(s, remoteRef); ok {
					t[k] = localRef + rest
				}
				continue
			}
			rewriteRefs(e)
		}
	case []any:
		for _, e := range t {
			rewriteRefs(e)
		}
	}
}
