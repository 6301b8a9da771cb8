package main

import (
	"errors"
	"flag"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runCollectorCmd(env map[string]string, args ...string) (string, error) {
	_, stderr, err := runCommand(serviceCommand(&collectorService{}), "", env, args...)
	return stderr, err
}

// The collector fails fast, naming the flag, before touching any
// dependency; -help lists its flags.
func TestCollectorCommandConfig(t *testing.T) {
	out, err := runCollectorCmd(nil, "-help")
	require.True(t, errors.Is(err, flag.ErrHelp))
	assert.Contains(t, out, "-collector.max-body-size")
	assert.Contains(t, out, "-collector.throttle-rules")

	_, err = runCollectorCmd(nil, "-collector.max-in-flight", "0")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-collector.max-in-flight")

	_, err = runCollectorCmd(map[string]string{"CRASHSTREAM_COLLECTOR_THROTTLE_RULES": "/does/not/exist.yaml"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-collector.throttle-rules")
}
