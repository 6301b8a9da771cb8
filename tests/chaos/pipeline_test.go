package chaos

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

// service is one crashstream subprocess that a fault may kill, pause and
// restart with the same arguments and environment.
type service struct {
	name  string
	args  []string
	env   []string
	admin string
	log   *stacktest.SyncBuffer // its stderr across restarts, the last MiB at most

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// start runs the process and waits until its admin heartbeat answers 200.
func (s *service) start(ctx context.Context, bin string) error {
	cmd := exec.Command(bin, s.args...)
	cmd.Env = append(append([]string(nil), s.env...), "CRASHSTREAM_ADMIN_ADDR="+s.admin)
	cmd.Stderr = s.log
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("%s exited during start-up:\n%s", s.name, s.log.Tail(4000))
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if resp, err := http.Get("http://" + s.admin + "/__heartbeat__"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("%s not healthy within 90s:\n%s", s.name, s.log.Tail(4000))
}

func (s *service) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd.Process.Pid
}

// kill sends SIGKILL (a crash or an OOM kill) and waits for the exit.
func (s *service) kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	_ = cmd.Process.Kill()
	<-done
}

// stop drains gracefully (SIGTERM), killing after 60 s.
func (s *service) stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGCONT)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// rssKiB reads VmRSS of pid from /proc (0 when gone).
func rssKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			if len(f) >= 2 {
				v, _ := strconv.ParseInt(f[1], 10, 64)
				return v
			}
		}
	}
	return 0
}
