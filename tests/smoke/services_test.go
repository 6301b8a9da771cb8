package smoke

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

// buildBinary builds crashstream (once per test process).
func buildBinary(t *testing.T) string { return stacktest.Binary(t) }

// serviceTargets are the long-running subcommands with the admin port each
// uses when run alone.
var serviceTargets = []struct{ name, admin string }{
	{"collector", "127.0.0.1:9100"},
	{"processor", "127.0.0.1:9101"},
	{"sink-clickhouse", "127.0.0.1:9102"},
	{"sink-objectstore", "127.0.0.1:9103"},
	{"sink-telemetry", "127.0.0.1:9104"},
	{"webapp", "127.0.0.1:9105"},
	{"cron", "127.0.0.1:9106"},
	{"all", "127.0.0.1:9100"},
}

// TestServiceLifecycle starts each service target against the real stack
// on private ports, waits for /__lbheartbeat__, sends SIGTERM and expects a
// clean exit 0 within the shutdown timeout.
func TestServiceLifecycle(t *testing.T) {
	requireStack(t)
	bin := buildBinary(t)
	for i, tt := range serviceTargets {
		t.Run(tt.name, func(t *testing.T) {
			admin := fmt.Sprintf("127.0.0.1:%d", 19500+i)
			stderr := &stacktest.SyncBuffer{}
			cmd := exec.Command(bin, tt.name)
			cmd.Env = append(os.Environ(),
				"CRASHSTREAM_ADMIN_ADDR="+admin,
				"CRASHSTREAM_COLLECTOR_ADDR="+fmt.Sprintf("127.0.0.1:%d", 19600+i),
				"CRASHSTREAM_WEBAPP_ADDR="+fmt.Sprintf("127.0.0.1:%d", 19700+i),
				"CRASHSTREAM_SHUTDOWN_TIMEOUT=20s",
				"CRASHSTREAM_KAFKA_TOPIC_PREFIX=lifecycle.",
				"CRASHSTREAM_LOG_FORMAT=json",
			)
			cmd.Stderr = stderr
			require.NoError(t, cmd.Start())
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()

			deadline := time.Now().Add(60 * time.Second)
			ready := false
			for time.Now().Before(deadline) && !ready {
				select {
				case err := <-exited:
					if strings.Contains(stderr.String(), "not built yet") {
						t.Skipf("%s is not built yet in this version", tt.name)
					}
					t.Fatalf("%s exited before it was ready: %v\n%s", tt.name, err, stderr.String())
				case <-time.After(200 * time.Millisecond):
				}
				resp, err := http.Get("http://" + admin + "/__lbheartbeat__")
				if err == nil {
					resp.Body.Close()
					ready = resp.StatusCode == http.StatusOK
				}
			}
			require.True(t, ready, "%s never answered /__lbheartbeat__\n%s", tt.name, stderr.String())
			checkPublicPorts(t, tt.name, admin, fmt.Sprintf("127.0.0.1:%d", 19600+i), fmt.Sprintf("127.0.0.1:%d", 19700+i))

			require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
			select {
			case err := <-exited:
				require.NoError(t, err, "%s must exit 0 on SIGTERM\n%s", tt.name, stderr.String())
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("%s did not exit within its shutdown timeout\n%s", tt.name, stderr.String())
			}
			assert.Contains(t, stderr.String(), `"stopped"`)
		})
	}
	http.DefaultClient.CloseIdleConnections()
}

// checkPublicPorts: the submit and webapp ports serve liveness and the
// version (with Dockerflow's build key) but not the admin routes
// (/__heartbeat__ names dependencies and their errors, /metrics every
// service of the process); the admin port serves them all.
func checkPublicPorts(t *testing.T, name, admin, collector, webapp string) {
	get := func(u string) (int, string) {
		resp, err := http.Get(u)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, _ := get("http://" + admin + "/metrics")
	assert.Equal(t, http.StatusOK, code, "%s admin /metrics", name)
	var public []string
	switch name {
	case "collector":
		public = []string{collector}
	case "webapp":
		public = []string{webapp}
	case "all":
		public = []string{collector, webapp}
	}
	for _, addr := range public {
		code, _ := get("http://" + addr + "/__lbheartbeat__")
		assert.Equal(t, http.StatusOK, code, "%s %s /__lbheartbeat__", name, addr)
		code, body := get("http://" + addr + "/__version__")
		assert.Equal(t, http.StatusOK, code, "%s %s /__version__", name, addr)
		for _, k := range []string{`"source"`, `"version"`, `"commit"`, `"build"`} {
			assert.Contains(t, body, k, "%s %s /__version__", name, addr)
		}
		for _, p := range []string{"/metrics", "/__heartbeat__"} {
			code, body := get("http://" + addr + p)
			assert.Equal(t, http.StatusNotFound, code, "%s %s%s is admin-only", name, addr, p)
			assert.NotContains(t, body, "go_goroutines", "%s %s%s", name, addr, p)
		}
	}
}

// TestBadSettingFailsFast checks that a wrong setting stops start-up with
// one line naming it.
func TestBadSettingFailsFast(t *testing.T) {
	bin := buildBinary(t)
	tests := []struct {
		args []string
		env  string
		want string
	}{
		{[]string{"processor", "-kafka.brokers", "localhost"}, "", "kafka.brokers"},
		{[]string{"processor"}, "CRASHSTREAM_KAFKA_BROKERS=::nope", "kafka.brokers"},
		{[]string{"processor", "-admin.addr", "nowhere"}, "", "admin.addr"},
		{[]string{"processor", "-shutdown.timeout", "soon"}, "", "shutdown.timeout"},
		{[]string{"processor", "-s3.endpoint", "minio"}, "", "s3.endpoint"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " ")+" "+tt.env, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, tt.args...)
			if tt.env != "" {
				cmd.Env = append(os.Environ(), tt.env)
			}
			out, err := cmd.CombinedOutput()
			require.Error(t, err, "must fail: %s", out)
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			assert.Contains(t, lines[0], tt.want)
			assert.LessOrEqual(t, len(lines), 3, "a short error, not a stack trace: %s", out)
		})
	}
}
