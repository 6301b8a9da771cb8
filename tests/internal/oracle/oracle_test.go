package oracle

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun runs a stand-in tool: Run passes --json, the dump and the
// symbol directories in that order, and a failure names the command and
// carries the tool's stderr.
func TestRun(t *testing.T) {
	tool := filepath.Join(t.TempDir(), "fake-stackwalk")
	script := "#!/bin/sh\nif [ \"$2\" = bad.dmp ]; then echo 'no such dump' >&2; exit 1; fi\necho \"$@\"\n"
	require.NoError(t, os.WriteFile(tool, []byte(script), 0o755))

	out, err := Run(context.Background(), tool, "x.dmp", "syms1", "syms2")
	require.NoError(t, err)
	assert.Equal(t, "--json x.dmp syms1 syms2\n", string(out))

	_, err = Run(context.Background(), tool, "bad.dmp")
	require.Error(t, err)
	assert.Contains(t, err.Error(), tool+" --json bad.dmp")
	assert.Contains(t, err.Error(), "no such dump")
}

// TestFindSaysHowToInstall: without the tool anywhere, the error names
// the install script.
func TestFindSaysHowToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	_, err := Find()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "install-oracles.sh")
}
