package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRunWritesManifest runs the producer against an in-process cluster
// (stdin already at EOF, so it returns once done) and checks the manifest
// the Python side relies on.
func TestRunWritesManifest(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	require.NoError(t, err)
	defer c.Close()
	path := filepath.Join(t.TempDir(), "manifest.json")
	require.NoError(t, run([]string{"-kafka.brokers", strings.Join(c.ListenAddrs(), ","), "-kafka.topic-prefix", "de.",
		"-n", "3", "-manifest", path}, strings.NewReader("")))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var m manifest
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, "de.crash.processed.v1", m.Topic)
	assert.Equal(t, "de.crash.telemetry.v1", m.TelemetryTopic)
	assert.Equal(t, uint32(5), m.SchemaID)
	assert.Equal(t, uint32(4), m.TelemetrySchemaID)
	require.Len(t, m.Records, 3)
	assert.NotEqual(t, m.Records[0].CrashID, m.Records[1].CrashID)
	assert.True(t, strings.HasPrefix(m.RegistryURL, "http://127.0.0.1:"))
}
