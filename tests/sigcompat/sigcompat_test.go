// Package sigcompat compares crashstream's signature generation with the
// oracle, siggen 2.2.20241029 (Socorro's signature code), on the inputs ./gen
// makes from the tree (seed 7: real stacks from the committed goldens, and
// generated frames for every rule and list entry), written afresh by each
// run rather than committed. Signatures must agree on at least 99.5% of the
// inputs, and every difference must be one listed, with its reason, in
// testdata/known-differences.json.
//
// The oracle is installed by install-siggen.sh into <repo>/.stack/venv-siggen;
// without it the tests skip.
package sigcompat

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/services/lib/repotest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// minAgreement is the share of inputs whose signatures must be identical.
const minAgreement = 0.995

type result struct {
	Signature      string   `json:"signature"`
	ProtoSignature string   `json:"proto_signature"`
	Notes          []string `json:"notes"`
	Error          string   `json:"error"`
}

type env struct {
	root, venv string
	inputs     [][]byte
	ids        []string
}

func setup(t *testing.T) env {
	t.Helper()
	root := repoRoot(t)
	venv := filepath.Join(root, ".stack", "venv-siggen")
	if _, err := os.Stat(filepath.Join(venv, "bin", "signify")); err != nil {
		t.Skip("siggen oracle not installed (run tests/sigcompat/install-siggen.sh): ", err)
	}
	inputs := filepath.Join(t.TempDir(), "inputs.jsonl")
	run(t, ".", nil, "go", "run", "./gen", "-seed", "7", "-root", root, "-out", inputs)
	data, err := os.ReadFile(inputs)
	require.NoError(t, err)
	e := env{root: root, venv: venv}
	for _, line := range bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n")) {
		var id struct {
			Case string `json:"sigcompat_case"`
		}
		require.NoError(t, json.Unmarshal(line, &id))
		e.inputs = append(e.inputs, line)
		e.ids = append(e.ids, id.Case)
	}
	require.GreaterOrEqual(t, len(e.inputs), 1000, "the comparison needs at least 1,000 inputs")
	return e
}

func repoRoot(t *testing.T) string { return repotest.Root(t) }

func run(t *testing.T, dir string, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "%s %v: %s", name, args, stderr.String())
	return stdout.Bytes()
}

func parseResults(t *testing.T, out []byte, want int) []result {
	t.Helper()
	var rs []result
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var r result
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "output line %d", len(rs)+1)
		rs = append(rs, r)
	}
	require.NoError(t, sc.Err())
	require.Len(t, rs, want)
	return rs
}

// oracle runs siggen over every input in one process (siggen_batch.py).
func (e env) oracle(t *testing.T) []result {
	stdin := bytes.Join(e.inputs, []byte("\n"))
	out := run(t, ".", stdin, filepath.Join(e.venv, "bin", "python"), "siggen_batch.py")
	return parseResults(t, out, len(e.inputs))
}

// build builds the crashstream binary.
func (e env) build(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "crashstream")
	run(t, filepath.Join(e.root, "services"), nil, "go", "build", "-o", bin, "./cmd/crashstream")
	return bin
}

// crashstream runs `crashstream signature --batch` over every input.
func (e env) crashstream(t *testing.T, bin string, args ...string) []result {
	stdin := bytes.Join(e.inputs, []byte("\n"))
	out := run(t, ".", stdin, bin, append([]string{"signature", "--batch"}, args...)...)
	return parseResults(t, out, len(e.inputs))
}

func knownDifferences(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "known-differences.json"))
	require.NoError(t, err)
	var known map[string]string
	require.NoError(t, json.Unmarshal(b, &known))
	return known
}

// TestOracle is the comparison itself: identical signatures on
// ≥99.5% of the inputs, only listed differences, and a report of how often
// notes and proto signatures agree too.
func TestOracle(t *testing.T) {
	e := setup(t)
	want := e.oracle(t)
	bin := e.build(t)
	t.Run("Agreement", func(t *testing.T) { testAgreement(t, e, want, e.crashstream(t, bin)) })
	t.Run("SocorroRuleset", func(t *testing.T) { testSocorroRuleset(t, e, want, e.crashstream(t, bin, "--ruleset", "socorro")) })
	t.Run("DriverMatchesSignify", func(t *testing.T) { testDriverMatchesSignify(t, e, want) })
	t.Run("CustomLists", func(t *testing.T) { testCustomLists(t, e, bin) })
}

// testCustomLists runs both tools with --signature-list-dir pointing at
// edited lists (every third irrelevant and prefix entry dropped, a few
// added, the sentinels cut down), so that loading and translating an
// operator's lists is compared too. Shutdown hangs may differ: siggen
// regenerates them with its built-in lists (README, difference 2).
func testCustomLists(t *testing.T, e env, bin string) {
	src := filepath.Join(e.root, "services", "lib", "signature", "siglists")
	dir := t.TempDir()
	edit := map[string]func(i int, line string) bool{
		"irrelevant_signature_re.txt":         func(i int, _ string) bool { return i%3 != 0 },
		"prefix_signature_re.txt":             func(i int, _ string) bool { return i%3 != 1 },
		"signature_sentinels.txt":             func(i int, _ string) bool { return i%2 == 0 },
		"signatures_with_line_numbers_re.txt": func(int, string) bool { return true },
	}
	extra := map[string]string{
		"irrelevant_signature_re.txt":         "mozilla::dom::.*\nstd::.*$\n",
		"prefix_signature_re.txt":             "js::jit::\\w+\nnsThread\n",
		"signatures_with_line_numbers_re.txt": "Foo::Bar\n",
	}
	for name, keep := range edit {
		data, err := os.ReadFile(filepath.Join(src, name))
		require.NoError(t, err)
		var out []string
		for i, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "#") || keep(i, line) {
				out = append(out, line)
			}
		}
		content := strings.Join(out, "\n") + "\n" + extra[name]
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	stdin := bytes.Join(e.inputs, []byte("\n"))
	wantOut := run(t, ".", stdin, filepath.Join(e.venv, "bin", "python"), "siggen_batch.py", "--signature-list-dir", dir)
	want := parseResults(t, wantOut, len(e.inputs))
	got := e.crashstream(t, bin, "--signature-list-dir", dir)
	same, hangs := 0, 0
	for i := range want {
		switch {
		case want[i].Signature == got[i].Signature:
			same++
		case strings.Contains(want[i].Signature, "shutdownhang | "):
			hangs++
		default:
			t.Errorf("input %s: siggen %q, crashstream %q", e.ids[i], want[i].Signature, got[i].Signature)
		}
	}
	t.Logf("custom lists: %d of %d signatures identical, %d shutdown hangs differ by design", same, len(want), hangs)
}

func testAgreement(t *testing.T, e env, want, got []result) {
	known := knownDifferences(t)

	var report strings.Builder
	same, sameNotes, sameProto := 0, 0, 0
	for i := range want {
		w, g := want[i], got[i]
		require.Empty(t, g.Error, "input %s", e.ids[i])
		if w.Signature == g.Signature {
			same++
		} else {
			fmt.Fprintf(&report, "%s\n  siggen:      %q\n  crashstream: %q\n", e.ids[i], w.Signature, g.Signature)
			if _, ok := known[e.ids[i]]; !ok {
				t.Errorf("unexplained signature difference on %s:\n  siggen:      %q\n  crashstream: %q\n  siggen notes: %q\n  our notes:    %q",
					e.ids[i], w.Signature, g.Signature, w.Notes, g.Notes)
			}
		}
		if assert.ObjectsAreEqual(w.Notes, g.Notes) {
			sameNotes++
		}
		if w.ProtoSignature == g.ProtoSignature {
			sameProto++
		}
	}
	n := len(want)
	summary := fmt.Sprintf("%d inputs: signature identical %d (%.2f%%), notes identical %d, proto_signature identical %d",
		n, same, 100*float64(same)/float64(n), sameNotes, sameProto)
	t.Log(summary)
	writeArtifact(t, "agreement.txt", summary+"\n"+report.String())
	assert.GreaterOrEqual(t, float64(same)/float64(n), minAgreement, summary)
}

// testSocorroRuleset checks the one rule Socorro has and siggen lacks,
// SigPrintableCharsOnly: with it on, a signature may differ from siggen's
// only where siggen's holds characters outside printable ASCII, and ours
// then holds none.
func testSocorroRuleset(t *testing.T, e env, want, got []result) {
	changed := 0
	for i := range want {
		if want[i].Signature == got[i].Signature {
			continue
		}
		changed++
		// siggen turns Unicode spaces into spaces where Socorro drops them
		// first, so compare without spaces.
		assert.Equal(t, withoutSpaces(printableOnly(want[i].Signature)), withoutSpaces(got[i].Signature),
			"input %s: siggen %q, crashstream %q", e.ids[i], want[i].Signature, got[i].Signature)
		assert.Equal(t, printableOnly(got[i].Signature), got[i].Signature, "input %s", e.ids[i])
	}
	t.Logf("SigPrintableCharsOnly changed %d of %d signatures", changed, len(want))
	assert.Positive(t, changed, "the inputs should exercise SigPrintableCharsOnly")
}

func printableOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0x20 && r <= 0x7e {
			return r
		}
		return -1
	}, s)
}

func withoutSpaces(s string) string { return strings.ReplaceAll(s, " ", "") }

// testDriverMatchesSignify checks that the batch driver answers exactly as
// siggen's own signify command, on a sample of inputs (signify starts a
// Python process per crash, so not on all of them).
func testDriverMatchesSignify(t *testing.T, e env, want []result) {
	step := len(e.inputs) / 12
	for i := 0; i < len(e.inputs); i += step {
		out := run(t, ".", e.inputs[i], filepath.Join(e.venv, "bin", "signify"))
		var r result
		require.NoError(t, json.Unmarshal(out, &r))
		assert.Equal(t, want[i], r, "input %s", e.ids[i])
	}
}

func writeArtifact(t *testing.T, name, text string) {
	t.Helper()
	dir := "artifacts"
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
}
