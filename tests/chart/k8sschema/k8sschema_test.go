package k8sschema

import (
	"archive/zip"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const deployment = `{
  "properties": {
    "spec": {"$ref": "/api/_definitions.json#/$defs/io.k8s.api.apps.v1.DeploymentSpec"},
    "replicas": {"type": "integer", "maximum": 2147483647},
    "other": {"$ref": "#/local"}
  },
  "allOf": [{"$ref": "/api/_definitions.json#/$defs/x"}],
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://kubernetes.io/api/deployment/apps/v1"
}`

func TestLocalize(t *testing.T) {
	out, err := Localize([]byte(deployment))
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(out, &got))
	assert.NotContains(t, got, "$id")
	props := got["properties"].(map[string]any)
	assert.Equal(t, "_definitions.json#/$defs/io.k8s.api.apps.v1.DeploymentSpec", props["spec"].(map[string]any)["$ref"])
	assert.Equal(t, "#/local", props["other"].(map[string]any)["$ref"], "local refs stay")
	assert.Equal(t, "_definitions.json#/$defs/x", got["allOf"].([]any)[0].(map[string]any)["$ref"])
	assert.Contains(t, string(out), "2147483647", "numbers are kept exactly")
	assert.Equal(t, "https://json-schema.org/draft/2020-12/schema", got["$schema"])

	for _, bad := range []string{`[]`, `{`, `"x"`} {
		_, err := Localize([]byte(bad))
		assert.Error(t, err, bad)
	}
}

func writeWheel(t *testing.T, files map[string]string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "kv.whl")
	f, err := os.Create(name)
	require.NoError(t, err)
	zw := zip.NewWriter(f)
	for n, body := range files {
		w, err := zw.Create(n)
		require.NoError(t, err)
		_, err = w.Write([]byte(body))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
	return name
}

func TestExtract(t *testing.T) {
	const base = "kubernetes_validate/kubernetes-json-schema/"
	good := map[string]string{
		base + "v1.33.0-local-strict/deployment-apps-v1.json": deployment,
		base + "v1.33.0-local-strict/_definitions.json":       `{"$defs": {}, "$id": "https://kubernetes.io/api/_definitions.json"}`,
		base + "v1.33.0-local/deployment-apps-v1.json":        deployment,
		base + "v1.32.0-local-strict/deployment-apps-v1.json": deployment,
		"kubernetes_validate/__init__.py":                     "",
	}
	tests := []struct {
		name    string
		files   map[string]string
		version string
		want    int
		wantErr string
	}{
		{"one version, strict only", good, "1.33.0", 2, ""},
		{"absent version", good, "1.20.0", 0, "no schemas"},
		{"bad version", good, "1.33", 0, "major.minor.patch"},
		{"path traversal", map[string]string{base + "v1.33.0-local-strict/../../x.json": "{}"}, "1.33.0", 0, "unexpected file"},
		{"no definitions", map[string]string{base + "v1.33.0-local-strict/pod-v1.json": "{}"}, "1.33.0", 0, "_definitions.json"},
		{"not json", map[string]string{base + "v1.33.0-local-strict/pod-v1.json": "{"}, "1.33.0", 0, "pod-v1.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			n, err := Extract(writeWheel(t, tt.files), tt.version, out)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, n)
			b, err := os.ReadFile(filepath.Join(out, Dir(tt.version), "deployment-apps-v1.json"))
			require.NoError(t, err)
			assert.Contains(t, string(b), `"_definitions.json#/$defs/io.k8s.api.apps.v1.DeploymentSpec"`)
			assert.NotContains(t, string(b), "kubernetes.io/api")
			entries, err := os.ReadDir(out)
			require.NoError(t, err)
			assert.Len(t, entries, 1, "only the version's directory, no leftovers")
		})
	}
}

// FuzzLocalize: schema files are external input; bad ones must be errors.
func FuzzLocalize(f *testing.F) {
	f.Add([]byte(deployment))
	f.Add([]byte(`{"$ref": 1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := Localize(b)
		if err == nil {
			assert.True(t, json.Valid(out))
		}
	})
}
