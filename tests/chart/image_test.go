package chart

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/charts/ociimage"
	"github.com/crashstream/crashstream/services/runtime"
)

// TestImageBuild builds the image the engine-free way
// (charts/scripts/build-image.sh) and checks the OCI layout it writes: the
// config's entrypoint and non-root user, a static binary for this machine,
// and that the binary in the layer runs.
func TestImageBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the crashstream binary; skipped with -short")
	}
	root := repoRoot(t)
	out := filepath.Join(t.TempDir(), "layout")
	cmd := exec.Command(filepath.Join(root, "charts", "scripts", "build-image.sh"))
	cmd.Env = append(os.Environ(), "OUT="+out, "VERSION=9.8.7-test", "COMMIT=c0ffee", "SOURCE_DATE_EPOCH=1700000000")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "build-image.sh: %s", b)

	img, err := ociimage.Read(out)
	require.NoError(t, err)
	cfg := img.Config

	assert.Equal(t, []string{"/crashstream"}, cfg.Config.Entrypoint)
	assert.Empty(t, cfg.Config.Cmd, "the chart passes the subcommand as args")
	uid, gid, ok := strings.Cut(cfg.Config.User, ":")
	require.True(t, ok, "user %q is uid:gid", cfg.Config.User)
	for _, id := range []string{uid, gid} {
		n, err := strconv.Atoi(id)
		require.NoError(t, err, "numeric ids, so runAsNonRoot can verify them")
		assert.NotZero(t, n, "non-root")
	}
	assert.Equal(t, "65532:65532", cfg.Config.User, "the chart's runAsUser/runAsGroup")
	assert.Equal(t, "linux", cfg.OS)
	assert.Equal(t, goruntime.GOARCH, cfg.Architecture)
	assert.Equal(t, "2023-11-14T22:13:20Z", cfg.Created)
	assert.Equal(t, "9.8.7-test", cfg.Config.Labels["org.opencontainers.image.version"])
	assert.Equal(t, "9.8.7-test", img.Index.Manifests[0].Annotations[ociimage.AnnotationRefName])
	assert.Len(t, img.Manifest.Layers, 1, "FROM scratch: one layer")

	hdr, ok := img.Files["/crashstream"]
	require.True(t, ok, "/crashstream in the layer")
	assert.Equal(t, int64(0o555), hdr.Mode)
	assert.Contains(t, img.Files, "/etc/ssl/certs/ca-certificates.crt")
	platform, err := ociimage.StaticBinaryPlatform(img.Data["/crashstream"])
	require.NoError(t, err)
	assert.Equal(t, goruntime.GOARCH, platform.Architecture)

	// The image's own binary runs and carries the build's version.
	bin := filepath.Join(t.TempDir(), "crashstream")
	require.NoError(t, os.WriteFile(bin, img.Data["/crashstream"], 0o755))
	got, err := exec.Command(bin, "version").Output()
	require.NoError(t, err)
	assert.Equal(t, "crashstream 9.8.7-test (commit c0ffee)\n", string(got))

	t.Run("chart variables are flags of the image's binary", func(t *testing.T) {
		checkChartEnvAgainstBinary(t, bin)
	})
	t.Run("pods come up with the chart's settings", func(t *testing.T) {
		podsComeUp(t, bin)
	})
}

// pendingFlags are flags the chart sets ahead of the binary: the shared
// conventions name them, but no package registers them yet. A service that
// lacks one is logged, not failed; everything else must match exactly.
var pendingFlags = map[string]bool{
	"kafka.tls": true, "kafka.tls-ca": true, "kafka.tls-cert": true, "kafka.tls-key": true,
	"kafka.sasl-mechanism": true, "kafka.sasl-user": true, "kafka.sasl-password": true,
}

var flagLine = regexp.MustCompile(`(?m)^\s+-([a-z0-9][a-z0-9.-]*)`)

// binaryFlags lists the flags a subcommand prints for -help; built is false
// for a subcommand that is still a stub.
func binaryFlags(t *testing.T, bin, sub string) (flags map[string]bool, built bool) {
	t.Helper()
	out, err := exec.Command(bin, sub, "-help").CombinedOutput()
	if strings.Contains(string(out), "not built yet") {
		return nil, false
	}
	require.NoError(t, err, "%s -help: %s", sub, out)
	flags = map[string]bool{}
	for _, m := range flagLine.FindAllStringSubmatch(string(out), -1) {
		flags[m[1]] = true
	}
	require.NotEmpty(t, flags, "%s -help lists no flags: %s", sub, out)
	return flags, true
}

// goRuntimeVars are the Go runtime's own settings a chart may give a container
// (the collector's GOMEMLIMIT); they are not flags of the binary.
var goRuntimeVars = map[string]bool{"GOMEMLIMIT": true, "GOMAXPROCS": true, "GOGC": true, "GODEBUG": true}

// checkChartEnvAgainstBinary renders the everything-on install and checks
// each service's CRASHSTREAM_* variables against the flags its subcommand
// has: a variable the binary does not know is silently ignored, so a
// misspelt one would leave a setting at its default in production.
//
//   - A variable only some services get (the throttle rules, the symbol
//     cache) must be a flag of each of them.
//
//   - A shared setting of a backend (KAFKA_*, S3_*, CLICKHOUSE_*) must be a
//     flag of every service that talks to that backend (has its address
//     flag), unless the flag is pending.
//
//   - Any other shared variable must be a flag of some service.
//
//   - Any other variable must be a setting of the Go runtime (goRuntimeVars).
//
// Stub subcommands are skipped and named in the log.
func checkChartEnvAgainstBinary(t *testing.T, bin string) {
	e := tools(t)
	_, objs := render(t, e, installs[2])
	configMap := byKind(objs, "ConfigMap")["crashstream"]
	require.NotNil(t, configMap)
	shared := map[string]bool{}
	for k := range get(configMap, "data").(map[string]any) {
		shared[k] = true
	}

	envOf := map[string]map[string]bool{} // subcommand -> variables it gets
	for _, p := range pods(objs) {
		for _, c := range list(p.spec, "containers") {
			sub, _ := list(c, "args")[0].(string)
			vars := map[string]bool{}
			for k := range shared {
				vars[k] = true
			}
			for _, ev := range list(c, "env") {
				name := str(ev, "name")
				if !strings.HasPrefix(name, "CRASHSTREAM_") {
					// Not ours: it must be a setting of the Go runtime itself.
					assert.True(t, goRuntimeVars[name], "%s gets %s, which is neither a crashstream setting nor the Go runtime's", sub, name)
					continue
				}
				vars[name] = true
			}
			envOf[sub] = vars
		}
	}
	require.Len(t, envOf, len(components)+1, "every service and the migrate job")
	// A variable every container gets is shared; the rest are specific.
	for name := range envOf["collector"] {
		everywhere := true
		for _, vars := range envOf {
			everywhere = everywhere && vars[name]
		}
		if everywhere {
			shared[name] = true
		}
	}

	flagOf := map[string]string{} // variable -> flag, for every flag of every built subcommand
	flagsBy := map[string]map[string]bool{}
	var stubs []string
	for sub := range envOf {
		flags, built := binaryFlags(t, bin, sub)
		if !built {
			stubs = append(stubs, sub)
			continue
		}
		flagsBy[sub] = flags
		for f := range flags {
			flagOf[runtime.EnvName(f)] = f
		}
	}
	if len(stubs) > 0 {
		sort.Strings(stubs)
		t.Logf("not built yet, not checked: %v", stubs)
	}
	for _, f := range flagsSet {
		flagOf[runtime.EnvName(f)] = f // the conventions' names, for the pending ones
	}

	pending := map[string][]string{} // pending flag -> services lacking it
	backends := map[string]string{"CRASHSTREAM_KAFKA_": "kafka.brokers", "CRASHSTREAM_S3_": "s3.endpoint", "CRASHSTREAM_CLICKHOUSE_": "clickhouse.addr"}
	for name := range shared {
		_, known := flagOf[name]
		assert.True(t, known, "%s matches no flag of any service", name)
	}
	for sub, flags := range flagsBy {
		for name := range envOf[sub] {
			f := flagOf[name]
			switch {
			case !shared[name]:
				assert.True(t, flags[f], "%s gets %s, but has no flag -%s", sub, name, f)
			default:
				for prefix, addr := range backends {
					if !strings.HasPrefix(name, prefix) || !flags[addr] || flags[f] {
						continue
					}
					if pendingFlags[f] {
						pending[f] = append(pending[f], sub)
					} else {
						assert.Fail(t, "backend setting ignored", "%s talks to -%s but has no -%s: %s would be ignored", sub, addr, f, name)
					}
				}
			}
		}
	}
	for f, subs := range pending {
		sort.Strings(subs)
		t.Logf("pending: -%s is set by the chart but not a flag yet of %v", f, subs)
	}
	if len(stubs) == 0 {
		for name := range shared {
			f := flagOf[name]
			if pendingFlags[f] {
				continue
			}
			var readers int
			for _, flags := range flagsBy {
				if flags[f] {
					readers++
				}
			}
			assert.NotZero(t, readers, "no service reads %s (-%s)", name, f)
		}
	}
}

// dockerStage is one FROM ... stage of the Dockerfile, with its
// instructions joined across line continuations.
type dockerStage struct {
	from, name string
	lines      []string
}

func parseDockerfile(t *testing.T, path string) []dockerStage {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var stages []dockerStage
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		fields := strings.Fields(line)
		if strings.EqualFold(fields[0], "FROM") {
			st := dockerStage{from: fields[1]}
			if len(fields) == 4 && strings.EqualFold(fields[2], "AS") {
				st.name = fields[3]
			}
			stages = append(stages, st)
			return
		}
		require.NotEmpty(t, stages, "instruction before FROM: %s", line)
		stages[len(stages)-1].lines = append(stages[len(stages)-1].lines, line)
	}
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if s, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		flush()
	}
	require.NoError(t, sc.Err())
	flush()
	return stages
}

// TestDockerfile checks the Dockerfile for an engine build: a static
// binary from a build stage, a minimal non-root final stage, and the same
// entrypoint as the engine-free image.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t, filepath.Join(repoRoot(t), "Dockerfile"))
	require.GreaterOrEqual(t, len(stages), 2, "multi-stage")
	final := stages[len(stages)-1]

	assert.True(t, final.from == "scratch" || (strings.Contains(final.from, "distroless/static") && strings.HasSuffix(final.from, ":nonroot")),
		"final stage is scratch or distroless static nonroot, got %s", final.from)

	var user, entrypoint string
	var copied bool
	for _, l := range final.lines {
		instr, rest, _ := strings.Cut(l, " ")
		switch strings.ToUpper(instr) {
		case "USER":
			user = strings.TrimSpace(rest)
		case "ENTRYPOINT":
			entrypoint = strings.TrimSpace(rest)
		case "COPY":
			copied = copied || (strings.Contains(rest, "--from=") && strings.HasSuffix(strings.TrimSpace(rest), " /crashstream"))
		case "RUN":
			t.Errorf("final stage runs %q: a minimal image has no shell", l)
		}
	}
	var args []string
	require.NoError(t, json.Unmarshal([]byte(entrypoint), &args), "ENTRYPOINT in exec form")
	assert.Equal(t, []string{"/crashstream"}, args)
	assert.Equal(t, "65532:65532", user, "numeric non-root user, as the chart's runAsUser")
	assert.True(t, copied, "the binary is copied from the build stage to /crashstream")

	var build bool
	for _, st := range stages[:len(stages)-1] {
		for _, l := range st.lines {
			if strings.Contains(l, "CGO_ENABLED=0") && strings.Contains(l, "go build") && strings.Contains(l, "./services/cmd/crashstream") {
				build = true
			}
		}
	}
	assert.True(t, build, "a build stage runs CGO_ENABLED=0 go build ./services/cmd/crashstream")
}

func TestParseDockerfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Dockerfile")
	require.NoError(t, os.WriteFile(path, []byte("# c\nFROM golang AS build\nRUN a \\\n  b\nFROM scratch\nUSER 1:1\n"), 0o644))
	stages := parseDockerfile(t, path)
	require.Len(t, stages, 2)
	assert.Equal(t, dockerStage{from: "golang", name: "build", lines: []string{"RUN a    b"}}, stages[0])
	assert.Equal(t, []string{"USER 1:1"}, stages[1].lines)
}
