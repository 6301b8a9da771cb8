package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testEnv(stdin string) (cmdEnv, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return cmdEnv{stdin: bytes.NewBufferString(stdin), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}, &out, &errb
}

// runCommand runs one subcommand the way main would, with stdin and the
// environment vars (nil: none set), and returns what it wrote to stdout
// and stderr, so each command's tests need only say which command.
func runCommand(c command, stdin string, vars map[string]string, args ...string) (string, string, error) {
	env, out, errb := testEnv(stdin)
	env.getenv = func(k string) string { return vars[k] }
	err := c.run(context.Background(), args, env)
	return out.String(), errb.String(), err
}

func TestUsageAndUnknownCommand(t *testing.T) {
	env, out, errb := testEnv("")
	assert.Equal(t, 0, run([]string{"--help"}, env))
	for _, c := range commands() {
		assert.Contains(t, out.String(), c.name)
	}
	assert.Equal(t, 2, run([]string{"frobnicate"}, env))
	assert.Contains(t, errb.String(), `unknown command "frobnicate"`)
	assert.Equal(t, 2, run(nil, env))
}

func TestServiceHelpListsSharedAndOwnFlags(t *testing.T) {
	env, _, errb := testEnv("")
	assert.Equal(t, 0, run([]string{"processor", "-help"}, env))
	for _, f := range []string{"-kafka.brokers", "-s3.endpoint", "-clickhouse.addr", "-stackwalk.timeout", "-admin.addr"} {
		assert.Contains(t, errb.String(), f)
	}
}

func TestBadFlagIsOneLine(t *testing.T) {
	env, _, errb := testEnv("")
	assert.Equal(t, 2, run([]string{"processor", "-no-such-flag"}, env))
	assert.Equal(t, 1, bytes.Count(errb.Bytes(), []byte("\n")), errb.String())
	assert.Contains(t, errb.String(), "no-such-flag")
}

func TestAllRegistersEachFlagOnce(t *testing.T) {
	// A flag registered twice panics; -help exercises every registration.
	env, _, errb := testEnv("")
	assert.Equal(t, 0, run([]string{"all", "-help"}, env))
	assert.Contains(t, errb.String(), "-webapp.addr")
	assert.Contains(t, errb.String(), "-collector.addr")
	assert.Contains(t, errb.String(), "-cron.tick")
}
