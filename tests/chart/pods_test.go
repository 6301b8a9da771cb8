package chart

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/tests/internal/stacktest"
)

// podsComeUp plays the kubelet for the chart against the local stack: it
// renders the chart pointed at the stack, then runs each built service the
// way its Deployment says (args, ConfigMap and Secret environment, volume
// mounts as temporary directories), waits for its startup and readiness
// probes to answer 200, sends SIGTERM and expects a clean exit within the
// grace period. The migrate Job runs first, to completion. Only listen
// addresses are changed, to free loopback ports.
func podsComeUp(t *testing.T, bin string) {
	if os.Getenv("CRASHSTREAM_STACK") != "1" {
		t.Skip("needs the local stack: CRASHSTREAM_STACK=1 after make up")
	}
	e := tools(t)
	id := make([]byte, 4)
	_, err := rand.Read(id)
	require.NoError(t, err)
	run := "chart" + hex.EncodeToString(id)
	t.Cleanup(func() { dropClickHouseDatabase(t, run) })
	_, objs := render(t, e, values{sets: []string{
		"kafka.brokers=127.0.0.1:9092", "kafka.topicPrefix=" + run + ".", "kafka.topics.partitions=1",
		"s3.endpoint=127.0.0.1:9000", "s3.accessKey=crashstream", "s3.secretKey=crashstream-secret",
		"s3.bucket=" + run, "s3.symbolsBucket=" + run + "-symbols", "s3.telemetryBucket=" + run + "-telemetry",
		"clickhouse.addr=127.0.0.1:19000", "clickhouse.database=" + run, "clickhouse.username=default",
	}})
	configMap := byKind(objs, "ConfigMap")["crashstream"]
	secret := byKind(objs, "Secret")["crashstream"]
	require.NotNil(t, configMap)
	require.NotNil(t, secret)

	for _, job := range byKind(objs, "Job") {
		spec := get(job, "spec", "template", "spec")
		c := list(spec, "containers")[0]
		if _, built := binaryFlags(t, bin, list(c, "args")[0].(string)); !built {
			t.Logf("%s: not built yet, not run", job.name())
			continue
		}
		cmd, _ := podCommand(t, bin, c, configMap, secret)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "Job %s: %s", job.name(), out)
	}

	names := make([]string, 0)
	deployments := byKind(objs, "Deployment")
	for n := range deployments {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		d := deployments[n]
		spec := get(d, "spec", "template", "spec")
		c := list(spec, "containers")[0]
		sub := list(c, "args")[0].(string)
		if _, built := binaryFlags(t, bin, sub); !built {
			t.Logf("%s: not built yet, not run", sub)
			continue
		}
		t.Run(sub, func(t *testing.T) {
			grace, _ := intAt(spec, "terminationGracePeriodSeconds")
			cmd, ports := podCommand(t, bin, c, configMap, secret)
			logs := &stacktest.SyncBuffer{}
			cmd.Stdout, cmd.Stderr = logs, logs
			require.NoError(t, cmd.Start())
			var waitErr error
			exited := make(chan struct{})
			go func() { waitErr = cmd.Wait(); close(exited) }()
			stopped := false
			defer func() {
				if !stopped {
					_ = cmd.Process.Kill()
					<-exited
				}
			}()

			for _, probe := range []string{"startupProbe", "livenessProbe", "readinessProbe"} {
				p := get(c, probe)
				port := ports[str(p, "httpGet", "port")]
				require.NotZero(t, port, "%s names a port of the container", probe)
				url := fmt.Sprintf("http://127.0.0.1:%d%s", port, str(p, "httpGet", "path"))
				// The kubelet's patience for this probe: period × threshold
				// (at least two minutes, the machine is shared and slow).
				period, _ := intAt(p, "periodSeconds")
				threshold, _ := intAt(p, "failureThreshold")
				patience := max(time.Duration(period*threshold)*time.Second, 2*time.Minute)
				require.True(t, waitFor200(url, patience, exited), "%s %s never answered 200; logs:\n%s", probe, url, tail(logs.String()))
			}

			// SIGTERM, as the kubelet stops a pod: a clean exit within the grace period.
			require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
			select {
			case <-exited:
				stopped = true
				assert.NoError(t, waitErr, "exit after SIGTERM; logs:\n%s", tail(logs.String()))
			case <-time.After(time.Duration(grace) * time.Second):
				assert.Fail(t, "no exit within terminationGracePeriodSeconds", "%ds; logs:\n%s", grace, tail(logs.String()))
			}
		})
	}
}

// podCommand builds the container's process: its args, the environment the
// kubelet would give it (envFrom the ConfigMap, env values and Secret keys),
// volume mounts mapped to temporary directories, and the listen addresses
// moved to free loopback ports. It returns the command and the container's
// port names mapped to those ports.
func podCommand(t *testing.T, bin string, c any, configMap, secret object) (*exec.Cmd, map[string]int) {
	t.Helper()
	mounts := map[string]string{}
	for _, m := range list(c, "volumeMounts") {
		dir := filepath.Join(t.TempDir(), str(m, "name"))
		require.NoError(t, os.MkdirAll(dir, 0o755))
		mounts[str(m, "mountPath")] = dir
	}
	local := func(v string) string {
		for path, dir := range mounts {
			if v == path || strings.HasPrefix(v, path+"/") {
				return dir + strings.TrimPrefix(v, path)
			}
		}
		return v
	}
	env := map[string]string{}
	for k, v := range get(configMap, "data").(map[string]any) {
		env[k] = local(fmt.Sprint(v))
	}
	for _, ev := range list(c, "env") {
		if ref := get(ev, "valueFrom", "secretKeyRef"); ref != nil {
			require.Equal(t, secret.name(), str(ref, "name"))
			env[str(ev, "name")] = fmt.Sprint(get(secret, "stringData", str(ref, "key")))
			continue
		}
		env[str(ev, "name")] = local(str(ev, "value"))
	}
	// Listen addresses: the container's ports, each on a free loopback port.
	ports := map[string]int{}
	byContainerPort := map[int]int{}
	for _, p := range list(c, "ports") {
		n, _ := intAt(p, "containerPort")
		free := freePort(t)
		ports[str(p, "name")] = free
		byContainerPort[n] = free
	}
	for k, v := range env {
		if host, port, err := net.SplitHostPort(v); err == nil && host == "0.0.0.0" {
			n, _ := strconv.Atoi(port)
			if free, ok := byContainerPort[n]; ok {
				env[k] = net.JoinHostPort("127.0.0.1", strconv.Itoa(free))
			} else {
				env[k] = "127.0.0.1:0" // a listener this container does not expose
			}
		}
	}
	var args []string
	for _, a := range list(c, "args") {
		args = append(args, fmt.Sprint(a))
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "TMPDIR=" + mounts["/tmp"]}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd, ports
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitFor200 polls url until it answers 200, the process exits (exited is
// closed), or the patience runs out.
func waitFor200(url string, patience time.Duration, exited <-chan struct{}) bool {
	// No keep-alive: no idle connection goroutines left for goleak.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(patience)
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		select {
		case <-exited:
			return false
		case <-time.After(500 * time.Millisecond):
		}
	}
	return false
}

func tail(s string) string {
	const n = 4000
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// dropClickHouseDatabase removes the test's database through the local
// ClickHouse's HTTP interface. Topics and buckets have unique names and are
// left to make clean.
func dropClickHouseDatabase(t *testing.T, name string) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Post("http://127.0.0.1:18123/", "text/plain", strings.NewReader("DROP DATABASE IF EXISTS "+name))
	if err != nil {
		t.Logf("dropping ClickHouse database %s: %v", name, err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Logf("dropping ClickHouse database %s: HTTP %d", name, resp.StatusCode)
	}
}
