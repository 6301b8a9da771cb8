package main

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRun(t *testing.T) {
	wheel := filepath.Join(t.TempDir(), "kv.whl")
	f, err := os.Create(wheel)
	require.NoError(t, err)
	zw := zip.NewWriter(f)
	for _, n := range []string{"_definitions.json", "pod-v1.json"} {
		w, err := zw.Create("kubernetes_validate/kubernetes-json-schema/v1.33.0-local-strict/" + n)
		require.NoError(t, err)
		_, err = w.Write([]byte(`{"$id": "https://kubernetes.io/api/x"}`))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())

	out := t.TempDir()
	tests := []struct {
		name    string
		args    []string
		wantOut string
		wantErr string
	}{
		{"extracts", []string{"-wheel", wheel, "-version", "1.33.0", "-out", out}, "2 schemas for Kubernetes 1.33.0", ""},
		{"missing flags", []string{"-wheel", wheel}, "", "required"},
		{"missing wheel", []string{"-wheel", wheel + ".nope", "-version", "1.33.0", "-out", out}, "", "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(tt.args, &stdout, &stderr)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Contains(t, stdout.String(), tt.wantOut)
			assert.FileExists(t, filepath.Join(out, "v1.33.0-local-strict", "pod-v1.json"))
		})
	}
}
