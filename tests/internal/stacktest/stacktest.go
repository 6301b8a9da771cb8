// Package stacktest is what the real-stack test suites share: building the
// crashstream binary once, running its services as subprocesses that are
// healthy before a test uses them and stopped when it ends, and posting
// crash reports to the collector as a client does. Finding the repository
// and the shared test data is services/lib/repotest's.
package stacktest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/services/lib/repotest"
)

// LeakOptions are the goleak exceptions of real-stack suites: idle HTTP
// connections kept by the clients' shared transports are not leaks of the
// code under test.
func LeakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
	}
}

// RequireStack skips the test unless the real stack is up (make test sets
// CRASHSTREAM_STACK=1 after make up).
func RequireStack(t testing.TB) {
	t.Helper()
	if os.Getenv("CRASHSTREAM_STACK") != "1" {
		t.Skip("needs the real stack: run `make up` and set CRASHSTREAM_STACK=1 (make test does both)")
	}
}

// build is the binary built once per test process.
type build struct {
	once sync.Once
	bin  string
	err  error
}

var binaryBuild build // one build per test binary; set once, read only

// Binary builds crashstream once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	binaryBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "crashstream-test")
		if err != nil {
			binaryBuild.err = err
			return
		}
		binaryBuild.bin = filepath.Join(dir, "crashstream")
		cmd := exec.Command("go", "build", "-o", binaryBuild.bin, "./cmd/crashstream")
		cmd.Dir = filepath.Join(repotest.Root(t), "services")
		if out, err := cmd.CombinedOutput(); err != nil {
			binaryBuild.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(t, binaryBuild.err)
	return binaryBuild.bin
}

// FreePort returns a loopback address that was free a moment ago.
func FreePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// SyncBuffer collects a subprocess's output while the test reads it. With
// Keep set it holds at most about Keep bytes: past that it drops all but
// the last quarter, so a long-running process's log keeps its tail.
type SyncBuffer struct {
	Keep int
	mu   sync.Mutex
	b    bytes.Buffer
}

// Write implements io.Writer.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Keep > 0 && s.b.Len() > s.Keep {
		tail := append([]byte(nil), s.b.Bytes()[s.b.Len()-s.Keep/4:]...)
		s.b.Reset()
		s.b.Write(tail)
	}
	return s.b.Write(p)
}

// String returns what was written so far (what is kept).
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Tail returns the last n bytes of String.
func (s *SyncBuffer) Tail(n int) string {
	out := s.String()
	return out[max(0, len(out)-n):]
}

// Proc is a crashstream subprocess.
type Proc struct {
	Cmd    *exec.Cmd
	Stderr *SyncBuffer
	// Admin is its admin address (host:port: /__heartbeat__, /metrics).
	Admin string
	done  chan error
}

// Start runs `crashstream <args>` with environ plus its own admin address,
// waits (up to 90 s) until /__heartbeat__ answers 200, and stops it with
// SIGTERM when the test ends.
func Start(t testing.TB, environ []string, args ...string) *Proc {
	t.Helper()
	admin := FreePort(t)
	cmd := exec.Command(Binary(t), args...)
	cmd.Env = append(append([]string(nil), environ...), "CRASHSTREAM_ADMIN_ADDR="+admin)
	p := &Proc{Cmd: cmd, Stderr: &SyncBuffer{}, Admin: admin, done: make(chan error, 1)}
	cmd.Stderr = p.Stderr
	require.NoError(t, cmd.Start())
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(p.Stop)
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%v exited during start-up: %v\n%s", args, err, p.Stderr)
		default:
		}
		if resp, err := http.Get("http://" + admin + "/__heartbeat__"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%v not healthy within 90s\n%s", args, p.Stderr)
	return nil
}

// Stop sends SIGTERM and waits (killing after 30 s); safe to call twice.
func (p *Proc) Stop() {
	if p.Cmd.ProcessState != nil {
		return
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
	case <-time.After(30 * time.Second):
		_ = p.Cmd.Process.Kill()
		p.done <- <-p.done
	}
}

// Kill sends SIGKILL, as a crash or an OOM kill would, and reaps it.
func (p *Proc) Kill() {
	_ = p.Cmd.Process.Kill()
	p.done <- <-p.done
}
