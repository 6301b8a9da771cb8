package chart

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/tests/chart/ociimage"
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
