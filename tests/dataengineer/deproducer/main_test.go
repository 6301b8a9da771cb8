package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crashstream/crashstream/schemas"
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
	assert.Equal(t, latestID(t, schemas.FileProcessedCrash), m.SchemaID)
	assert.Equal(t, latestID(t, schemas.FileTelemetryCrash), m.TelemetrySchemaID)
	require.Len(t, m.Records, 3)
	assert.NotEqual(t, m.Records[0].CrashID, m.Records[1].CrashID)
	assert.True(t, strings.HasPrefix(m.RegistryURL, "http://127.0.0.1:"))
}

// latestID is the schema id of file's newest revision in the generator's
// ledger: the id the producer's registry serves new records under.
func latestID(t *testing.T, file string) uint32 {
	t.Helper()
	revs, err := schemas.Revisions()
	require.NoError(t, err)
	var id uint32
	for _, r := range revs {
		if r.File == file {
			id = r.ID
		}
	}
	require.NotZero(t, id, "no revision of %s in the ledger", file)
	return id
}
