// Package oracle finds and runs rust-minidump's minidump-stackwalk, the
// tool Socorro runs and the reference that the compatibility suites
// (minidumpcompat for the dump reader, stackwalkcompat for the stack
// walker) compare crashstream with.
package oracle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// timeout bounds one run: the largest test dumps take seconds, so a run
// this long is stuck.
const timeout = 2 * time.Minute

// Find returns the path of minidump-stackwalk: on PATH, else in
// ~/.cargo/bin, where tests/corpus/install-oracles.sh installs the pinned
// version. The error says how to install it, for the suites' skip message.
func Find() (string, error) {
	if p, err := exec.LookPath("minidump-stackwalk"); err == nil {
		return p, nil
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, ".cargo", "bin", "minidump-stackwalk")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", errors.New("minidump-stackwalk is not installed (tests/corpus/install-oracles.sh installs the pinned version)")
}

// Run runs `tool --json <dump> [symbol directories...]` and returns its
// JSON; a failure carries the command line and the tool's stderr.
func Run(ctx context.Context, tool, dump string, symbols ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := append([]string{"--json", dump}, symbols...)
	cmd := exec.CommandContext(ctx, tool, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", tool, strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}
