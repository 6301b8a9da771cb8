package signature

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stack is crash_data JSON with one crashing thread of the given functions.
func stack(extra string, functions ...string) string {
	var frames []string
	for _, f := range functions {
		frames = append(frames, `{"function": `+quote(f)+`, "module": "xul.dll"}`)
	}
	if extra != "" {
		extra = ", " + extra
	}
	return `{"crashing_thread": 0, "threads": [{"frames": [` + strings.Join(frames, ", ") + `]}]` + extra + `}`
}

func quote(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// Expected values were checked against siggen 2.2.20241029.
func TestRules(t *testing.T) {
	g := testGenerator(t, RulesetSiggen)
	long := strings.Repeat("x", 300)
	tests := []struct {
		name      string
		in        string
		want      string
		wantNotes []string
	}{
		{"stack", stack("", "Foo::Bar(int)"), "Foo::Bar", nil},
		{"prefix frames are kept", stack("", "raise", "Foo::Bar(int)", "Baz"), "raise | Foo::Bar", nil},
		{"irrelevant frames are skipped", stack("", "KiUserCallbackDispatcher", "Foo"), "Foo", nil},
		{"sentinel starts the signature", stack("", "a", "b", "_purecall", "Foo"), "_purecall | Foo", nil},
		{"all irrelevant gives the first", stack("", "moz_xmalloc", "KiUserCallbackDispatcher"), "moz_xmalloc",
			[]string{"SignatureGenerationRule: CSignatureTool: no frame data for crashing thread (0)"}},
		{"no frames", `{}`, "EMPTY: no frame data available",
			[]string{"SignatureGenerationRule: CSignatureTool: no frame data for crashing thread (0)"}},
		{"line numbers", `{"threads": [{"frames": [{"function": "js_Interpret", "line": 7}]}]}`, "js_Interpret:7", nil},
		{"repeated module collapses", `{"os": "Windows NT", "threads": [{"frames": [{"module": "XUL.DLL"}, {"module": "xul.dll"}, {"function": "f"}]}]}`,
			"xul.dll | f", nil},
		{"unloaded module", `{"threads": [{"frames": [{"unloaded_modules": [{"module": "gone.dll"}]}]}]}`, "(unloaded gone.dll)", nil},
		{"crashing thread picks the stack", `{"crashing_thread": 1, "threads": [{"frames": [{"function": "a"}]}, {"frames": [{"function": "b"}]}]}`, "b", nil},
		{"bad crashing thread means 0", `{"crashing_thread": "x", "threads": [{"frames": [{"function": "a"}]}]}`, "a", nil},
		{"rule failure is a note", `{"threads": [{"frames": [{"function": 5}]}]}`, "",
			[]string{"SignatureGenerationRule: Rule failed: 'int' object has no attribute 'endswith'"}},
		{"lookup failure", `{"threads": [{"frames": [{"function": "const"}]}]}`, "",
			[]string{"SignatureGenerationRule: Rule failed: 'Result' object has no attribute 'note'"}},
		{"rules after a failure still run", `{"threads": [{"frames": [{"function": 5}]}], "hang": "browser"}`, "hang: browser |",
			[]string{"SignatureGenerationRule: Rule failed: 'int' object has no attribute 'endswith'"}},

		{"java stack trace", `{"java_stack_trace": "java.lang.NullPointerException: boom\n\tat a.B.c(B.java:12)"}`,
			"java.lang.NullPointerException: boom at a.B.c(B.java)", nil},
		{"java address", `{"java_stack_trace": "java.lang.X: obj@0123abcd\n\tat a.B.c(B.java:12)"}`,
			"java.lang.X: obj@<addr>: at a.B.c(B.java)", nil},
		{"java no colon", `{"java_stack_trace": "Oops"}`, "Oops",
			[]string{"SignatureGenerationRule: JavaSignatureTool: stack trace line 1 is not in the expected format",
				"SignatureGenerationRule: JavaSignatureTool: stack trace line 2 is missing"}},
		{"java long description", `{"java_stack_trace": "java.lang.X: ` + long + `\n\tat a.B.c(B.java:1)"}`, "java.lang.X: at a.B.c(B.java)",
			[]string{"SignatureGenerationRule: JavaSignatureTool: dropped Java exception description due to length"}},
		{"java not a string", `{"java_stack_trace": 5}`, "EMPTY: Java stack trace not in expected format",
			[]string{"SignatureGenerationRule: JavaSignatureTool: stack trace not in expected format"}},
		{"java exception", `{"java_exception": {"exception": {"values": [{"stacktrace": {"module": "java.lang", "type": "NPE",
			"frames": [{"module": "org.Foo", "function": "bar", "filename": "Foo.java"}]}}]}}}`, "java.lang.NPE: at org.Foo.bar(Foo.java)", nil},
		{"java exception without frames", `{"java_exception": {"exception": {"values": [{"stacktrace": {"type": "T"}}]}}}`, "T", nil},
		{"java exception malformed", `{"java_exception": {"exception": {}}}`, "EMPTY: Java exception not in expected format",
			[]string{"SignatureGenerationRule: JavaExceptionSignatureTool: value not in expected format"}},

		{"stackwalker error", `{"mdsw_status_string": "ERROR_NO_THREAD_LIST"}`, "EMPTY: no frame data available; ERROR_NO_THREAD_LIST",
			[]string{"SignatureGenerationRule: CSignatureTool: no frame data for crashing thread (0)"}},
		{"bad hardware", stack(`"reason": "EXCEPTION_IN_PAGE_ERROR_READ / STATUS_DEVICE_DATA_ERROR"`, "f"), "bad hardware | f", nil},
		{"bad hardware, reason not iterable", stack(`"reason": 5`, "f"), "f",
			[]string{"BadHardware: Rule failed: argument of type 'int' is not iterable"}},
		{"oom small", stack(`"oom_allocation_size": 1024`, "f"), "OOM | small", nil},
		{"oom large", stack(`"oom_allocation_size": "262145"`, "f"), "OOM | large | f", nil},
		{"oom unknown", stack("", "NS_ABORT_OOM(unsigned long)", "f"), "OOM | unknown | NS_ABORT_OOM | f", nil},
		{"oom js reporting", stack(`"js_large_allocation_failure": "Reporting"`, "f"), "OOM | large | f", nil},
		{"oom reason", stack(`"reason": "STATUS_NO_MEMORY"`, "f"), "OOM | unknown | f", nil},
		{"oom last error", `{"threads": [{"last_error_value": "ERROR_COMMITMENT_LIMIT", "frames": [{"function": "f"}]}]}`, "OOM | unknown | f", nil},
		{"oom bad size", stack(`"oom_allocation_size": "abc"`, "f"), "f",
			[]string{"OOMSignature: Rule failed: invalid literal for int() with base 10: 'abc'"}},
		{"abort", stack(`"abort_message": "[123] ###!!! ABORT: Bad state: file /a.cpp:12"`, "f"), "Abort | Bad state | f", nil},
		{"abort file only", stack(`"abort_message": "###!!! ABORT: file /a.cpp:12"`, "f"), "Abort | f", nil},
		{"abort long", stack(`"abort_message": "`+long+`"`, "f"), "Abort | " + strings.Repeat("x", 77) + "... | f", nil},
		{"abort font", stack(`"abort_message": "unable to find a usable font (Schrift)"`, "f"), "Abort | unable to find a usable font | f", nil},
		{"shutdown timeout", stack(`"async_shutdown_timeout": "{\"phase\": \"p\", \"conditions\": [{\"name\": \"b\"}, \"a\"]}"`, "f"),
			"AsyncShutdownTimeout | p | a,b",
			[]string{`SignatureShutdownTimeout: Signature replaced with a Shutdown Timeout signature, was: "f"`}},
		{"shutdown timeout, no conditions", stack(`"async_shutdown_timeout": "{\"phase\": 1}"`, "f"), "AsyncShutdownTimeout | (unknown) | (none)",
			[]string{`SignatureShutdownTimeout: Signature replaced with a Shutdown Timeout signature, was: "f"`}},
		{"shutdown timeout, bad json", stack(`"async_shutdown_timeout": "nope"`, "f"), "AsyncShutdownTimeout | UNKNOWN",
			[]string{"SignatureShutdownTimeout: Error parsing AsyncShutdownTimeout: Expecting value: line 1 column 1 (char 0)",
				`SignatureShutdownTimeout: Signature replaced with a Shutdown Timeout signature, was: "f"`}},
		{"run watchdog", `{"crashing_thread": 1, "threads": [{"frames": [{"function": "MainLoop"}]}, {"frames": [{"function": "RunWatchdog"}]}]}`,
			"shutdownhang | MainLoop", nil},
		{"ipc channel error", stack(`"ipc_channel_error": "ShutDownKill"`, "f"), "IPCError-content | ShutDownKill",
			[]string{"SignatureIPCChannelError: IPC Channel Error stomped on signature"}},
		{"ipc channel error, browser", stack(`"ipc_channel_error": "`+long+`", "additional_minidumps": ["upload_file_minidump_browser"]`, "f"),
			"IPCError-browser | " + strings.Repeat("x", 100),
			[]string{"SignatureIPCChannelError: IPC Channel Error stomped on signature"}},
		{"ipc message name", stack(`"ipc_message_name": "PContent::Msg_X"`, "f"), "f | IPC_Message_Name=PContent::Msg_X", nil},
		{"stack overflow", stack(`"reason": "EXCEPTION_STACK_OVERFLOW"`, "f"), "stackoverflow | f", nil},
		{"hang", stack(`"hang": true`, "f"), "hang: True | f", nil},
		{"hang null", stack(`"hang": null`, "f"), "f", nil},
		{"whitespace", `{"threads": [{"frames": [{"module": " a\t\u00a0b  c "}]}]}`, "a b c", nil},
		{"truncation", stack("", strings.Repeat("y", 300)), strings.Repeat("y", 252) + "...",
			[]string{"SigTruncate: SigTrunc: signature truncated due to length"}},
		{"truncation counts characters", stack("", strings.Repeat("é", 256)), strings.Repeat("é", 252) + "...",
			[]string{"SigTruncate: SigTrunc: signature truncated due to length"}},
		{"processed crash", `{"json_dump": {"crash_info": {"crashing_thread": 0, "type": "EXCEPTION_STACK_OVERFLOW"},
			"system_info": {"os": "Windows NT"}, "threads": [{"frames": [{"module": "FOO.DLL"}]}]}, "hang": null}`, "stackoverflow | foo.dll", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseCrashData([]byte(tt.in))
			require.NoError(t, err)
			r := g.Generate(d)
			assert.Equal(t, tt.want, r.Signature)
			if tt.wantNotes == nil {
				tt.wantNotes = []string{}
			}
			assert.Equal(t, tt.wantNotes, r.Notes)
		})
	}
}

func TestSocorroRulesetDropsNonPrintable(t *testing.T) {
	d, err := ParseCrashData([]byte(stack("", "a\u00e9b\x01c\td")))
	require.NoError(t, err)
	assert.Equal(t, "a\u00e9b\x01c d", testGenerator(t, RulesetSiggen).Generate(d).Signature)
	assert.Equal(t, "abcd", testGenerator(t, RulesetSocorro).Generate(d).Signature)
}

func TestProtoSignature(t *testing.T) {
	d, err := ParseCrashData([]byte(`{"threads": [{"frames": [{"function": "a", "inlines": [{"function": "i1"}, {"function": "i2"}]}, {}, {"module": "m"}]}]}`))
	require.NoError(t, err)
	r := testGenerator(t, RulesetSiggen).Generate(d)
	assert.Equal(t, "i1 | i2 | a |  | m", r.ProtoSignature)
	assert.Equal(t, []string{"i1", "i2", "a", "", "m"}, r.NormalizedFrames)
}

func TestFrameLimit(t *testing.T) {
	var frames []string
	for i := 0; i < 45; i++ {
		frames = append(frames, `{"function": "moz_xmalloc"}`)
	}
	// Junk past the limit is never looked at.
	in := `{"threads": [{"frames": [` + strings.Join(frames, ",") + `, 5]}]}`
	d, err := ParseCrashData([]byte(in))
	require.NoError(t, err)
	r := testGenerator(t, RulesetSiggen).Generate(d)
	assert.Len(t, r.NormalizedFrames, MaxFrames)
	assert.Equal(t, "moz_xmalloc", r.Signature)
	assert.Equal(t, []string{"SignatureGenerationRule: CSignatureTool: no frame data for crashing thread (0)"}, r.Notes)
}

func TestParseCrashData(t *testing.T) {
	for _, bad := range []string{``, `[]`, `"x"`, `{} {}`, `{"a":`} {
		_, err := ParseCrashData([]byte(bad))
		assert.Error(t, err, bad)
	}
	d, err := ParseCrashData([]byte(`{"json_dump": {"crash_info": {"crashing_thread": 2}}, "oom_allocation_size": "12"}`))
	require.NoError(t, err)
	assert.EqualValues(t, "12", d["oom_allocation_size"])
	assert.EqualValues(t, "2", d["crashing_thread"])
}

func TestLoadLists(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	write(IrrelevantFile, "# comment\n\nskip_me\n")
	write(PrefixFile, "pre_\\d+$\n")
	write(LineNumbersFile, "lined\n")
	write(SentinelsFile, "start_here\n")
	lists, err := LoadLists(dir)
	require.NoError(t, err)
	g := New(lists, RulesetSiggen)
	d, err := ParseCrashData([]byte(`{"threads": [{"frames": [{"function": "x"}, {"function": "start_here"},
		{"function": "skip_me"}, {"function": "pre_1"}, {"function": "lined", "line": 3}, {"function": "z"}]}]}`))
	require.NoError(t, err)
	assert.Equal(t, "start_here", g.Generate(d).Signature, "start_here is not a prefix")

	write(SentinelsFile, "")
	lists, err = LoadLists(dir)
	require.NoError(t, err)
	assert.Equal(t, "x", New(lists, RulesetSiggen).Generate(d).Signature)

	write(PrefixFile, "(?<=x)y\n")
	_, err = LoadLists(dir)
	assert.ErrorContains(t, err, "prefix_signature_re.txt line 1")

	_, err = LoadLists(filepath.Join(dir, "missing"))
	assert.Error(t, err)
}

func TestConfig(t *testing.T) {
	assert.NoError(t, Config{}.Validate())
	assert.ErrorContains(t, Config{ListDir: "/nonexistent/dir"}.Validate(), "-signature.list-dir")
	lists, err := Config{}.Load()
	require.NoError(t, err)
	assert.Len(t, lists.Sentinels, 20)
}

func TestTranslatePythonRegex(t *testing.T) {
	tests := []struct{ in, want string }{
		{`a$`, `a(?:\n?\z)`},
		{`[$]`, `[$]`},
		{`\$x`, `\$x`},
		{`\d+`, `\p{Nd}+`},
		{`[\d.]`, `[\p{Nd}.]`},
		{`[]$]`, `[]$]`},
		{`a\Z`, `a\z`},
		{`\s`, `[\t-\r\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, translatePythonRegex(tt.in), tt.in)
	}
}

func TestPythonValues(t *testing.T) {
	assert.Equal(t, "1e+16", pyFloatRepr(1e16))
	assert.Equal(t, "1.5", pyFloatRepr(1.5))
	assert.Equal(t, "100.0", pyFloatRepr(100))
	assert.Equal(t, "1e-05", pyFloatRepr(0.00001))
	assert.Equal(t, `['a', 1, None, True]`, pyRepr([]any{"a", 1, nil, true}))
	assert.Equal(t, "7", pyRepr(7.0), "a float64 7 most likely was a JSON 7")
	assert.Equal(t, "7.5", pyRepr(7.5))
	assert.Equal(t, `"it's"`, pyRepr("it's"))
	assert.Equal(t, []string{"a", "b", "", "c"}, pySplitLines("a\r\nb\n\x1cc\n"))
	assert.Equal(t, "x", pyStrip("\x1f\u3000x\u00a0 "))
	assert.Equal(t, "i\u0307stanbul", pyLower("İstanbul"))
	assert.Equal(t, "οδος οδος: σa σ aς.", pyLower("ΟΔΟΣ ΟΔΟΣ: Σa Σ AΣ."))
	n, err := parsePyInt(" -0x_1F ", 16)
	require.NoError(t, err)
	assert.Equal(t, "-31", n.String())
	_, err = parsePyInt("1__0", 10)
	assert.Error(t, err)
}

// BenchmarkGenerate measures one signature from a realistic 10-frame stack.
func BenchmarkGenerate(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "shared", "testdata", "siggen", "windows-wait-frames.crash_data.json"))
	if err != nil {
		b.Skip("shared test data not found: ", err)
	}
	g := testGenerator(b, RulesetSiggen)
	d, err := ParseCrashData(data)
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		g.Generate(d)
	}
}

// FuzzGenerate runs the whole pipeline on arbitrary JSON: whatever the
// crash data holds, generation must not panic and must return a signature
// within MaxLength characters.
func FuzzGenerate(f *testing.F) {
	for _, s := range []string{`{}`, stack("", "a<b>(c)", "raise"), `{"threads": [{"frames": [{"inlines": [{}], "unloaded_modules": {}}]}]}`,
		`{"java_exception": {"exception": {"values": [{"stacktrace": {"frames": [1]}}]}}}`, `{"crashing_thread": 1e400}`,
		`{"async_shutdown_timeout": "{\"conditions\": [{}]}", "abort_message": ["x"], "hang": {}, "reason": []}`} {
		f.Add([]byte(s))
	}
	g := testGenerator(f, RulesetSocorro)
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := ParseCrashData(in)
		if err != nil {
			return
		}
		r := g.Generate(d)
		if runeLen(r.Signature) > MaxLength {
			t.Fatalf("signature of %d characters", runeLen(r.Signature))
		}
	})
}

// FuzzRegexList checks the per-entry matcher against the single
// alternation Socorro compiles, on the default lists.
func FuzzRegexList(f *testing.F) {
	type pair struct {
		fast *RegexList
		slow *regexp.Regexp
	}
	var pairs []pair
	for _, name := range []string{IrrelevantFile, PrefixFile, LineNumbersFile} {
		data, err := defaultListFS.ReadFile("siglists/" + name)
		require.NoError(f, err)
		var lines, parts []string
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				lines = append(lines, line)
				parts = append(parts, translatePythonRegex(line))
				f.Add(strings.NewReplacer(`\`, "", ".*", "x", "$", "", "(", "", ")", "").Replace(line))
			}
		}
		fast, err := NewRegexList(lines)
		require.NoError(f, err)
		pairs = append(pairs, pair{fast, regexp.MustCompile(`^(?:` + strings.Join(parts, "|") + `)`)})
	}
	f.Add("js_Interpret")
	f.Add("libc.so.6")
	f.Add("handle_error\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range pairs {
			if p.fast.MatchString(s) != p.slow.MatchString(s) {
				t.Fatalf("%q: per-entry %v, alternation %v", s, p.fast.MatchString(s), p.slow.MatchString(s))
			}
		}
	})
}

// Socorro's watchdog rule regenerates from thread 0 with the built-in lists
// even when others were configured (siggen 2.2.20241029 does the same);
// crashstream uses the configured lists throughout. See
// tests/sigcompat/README.md.
func TestRunWatchdogUsesConfiguredLists(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{IrrelevantFile, PrefixFile, LineNumbersFile, SentinelsFile} {
		data, err := defaultListFS.ReadFile("siglists/" + name)
		require.NoError(t, err)
		if name == IrrelevantFile {
			data = append(data, "\nMainLoop\n"...)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	lists, err := LoadLists(dir)
	require.NoError(t, err)
	d, err := ParseCrashData([]byte(`{"crashing_thread": 1, "threads": [{"frames": [{"function": "MainLoop"}, {"function": "Inner"}]},
		{"frames": [{"function": "RunWatchdog"}]}]}`))
	require.NoError(t, err)
	assert.Equal(t, "shutdownhang | Inner", New(lists, RulesetSiggen).Generate(d).Signature)
}

func TestPanickingRuleBecomesANote(t *testing.T) {
	g := testGenerator(t, RulesetSiggen)
	g.rules = append([]rule{{"Broken", nil, func(CrashData, *state) error { panic("boom") }}}, g.rules...)
	r := g.Generate(CrashData{"threads": []any{map[string]any{"frames": []any{map[string]any{"function": "f"}}}}})
	assert.Equal(t, "f", r.Signature)
	assert.Equal(t, []string{"Broken: Rule failed: internal error: boom"}, r.Notes)
}

// corpusLines makes the oracle comparison's inputs with its generator
// (tests/sigcompat/gen, seed 7, as TestOracle does), so that the benchmarks
// below measure the same mix as BENCHMARKS.md.
func corpusLines(b *testing.B) [][]byte {
	out := filepath.Join(b.TempDir(), "inputs.jsonl")
	cmd := exec.Command("go", "run", "./sigcompat/gen", "-seed", "7", "-out", out)
	cmd.Dir = filepath.Join("..", "..", "..", "tests")
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("tests/sigcompat/gen: %v: %s", err, msg)
	}
	data, err := os.ReadFile(out)
	require.NoError(b, err)
	return bytes.Split(bytes.TrimSpace(data), []byte("\n"))
}

// BenchmarkParseCrashData: one op decodes one input line.
func BenchmarkParseCrashData(b *testing.B) {
	lines := corpusLines(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := ParseCrashData(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkGenerateCorpus: one op generates the signature of one input.
func BenchmarkGenerateCorpus(b *testing.B) {
	lines := corpusLines(b)
	data := make([]CrashData, len(lines))
	for i, l := range lines {
		d, err := ParseCrashData(l)
		require.NoError(b, err)
		data[i] = d
	}
	g := testGenerator(b, RulesetSiggen)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		g.Generate(data[i%len(data)])
		i++
	}
}
