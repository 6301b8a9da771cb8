package rules

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/minidump/synth"
	"github.com/crashstream/crashstream/services/lib/repotest"
	"github.com/crashstream/crashstream/services/lib/signature"
	"github.com/crashstream/crashstream/services/lib/stackwalk"
	"github.com/crashstream/crashstream/services/lib/symbols"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func defaultRuleset(t *testing.T, symPath string) Ruleset {
	t.Helper()
	sup, err := symbols.NewSupplier(symbols.Config{Paths: []string{symPath}}, nil)
	require.NoError(t, err)
	walker := stackwalk.New(stackwalk.Config{Timeout: time.Minute, MaxDumpBytes: 64 << 20, MaxFrames: 100000}, sup)
	lists, err := signature.DefaultLists()
	require.NoError(t, err)
	return Default(fields.New(), walker, signature.New(lists, signature.RulesetSocorro))
}

func newCrash(raw map[string]any, dumps map[string][]byte) *Crash {
	return &Crash{ID: "de1bb258-cbbf-4589-a673-34f800160918", Raw: raw, Dumps: dumps,
		Processed: &schemas.ProcessedCrash{DateProcessed: time.Now().UTC()}}
}

func TestDefaultRulesetOnMinidump2(t *testing.T) {
	td := repotest.SharedTestdata(t)
	dump, err := os.ReadFile(filepath.Join(td, "breakpad", "minidump2.dmp"))
	require.NoError(t, err)
	rs := defaultRuleset(t, filepath.Join(td, "breakpad", "symbols"))
	raw := map[string]any{
		"ProductName": "TestApp", "Version": "130.0b3", "ReleaseChannel": "beta", "BuildID": "20240101000000",
		"URL": "https://example.com/private", "Comments": "my email is a@b.c", "StartupTime": "1000", "CrashTime": "1030",
		"InstallTime": "500", "bogus\x00key": "v\x00",
		"submitted_timestamp": "2016-09-18T10:00:00Z",
		"metadata":            map[string]any{"collector_notes": []any{"Email removed"}},
	}
	c := newCrash(raw, map[string][]byte{"upload_file_minidump": dump})
	var ran []string
	rs.Run(context.Background(), c, func(rule string, _ time.Duration, err error) {
		ran = append(ran, rule)
		assert.NoError(t, err, rule)
	})
	pc := c.Processed
	assert.Len(t, ran, len(rs.Rules))
	assert.Equal(t, c.ID, pc.CrashID)
	assert.Equal(t, "TestApp", pc.Product)
	assert.Equal(t, int64(130), *pc.MajorVersion)
	assert.Equal(t, int64(20240101000000), *pc.Build)
	assert.Equal(t, "parent", pc.ProcessType)
	assert.Equal(t, "EXCEPTION_ACCESS_VIOLATION_WRITE", pc.Reason)
	assert.Equal(t, "0x00000045", pc.Address)
	assert.Equal(t, "Windows NT", pc.OSName)
	assert.Equal(t, "Windows XP", pc.OSPrettyVersion)
	assert.Equal(t, "x86", pc.CPUArch)
	assert.Equal(t, int64(30), *pc.Uptime)
	assert.Equal(t, int64(530), *pc.InstallAge)
	assert.True(t, *pc.StartupCrash, "uptime 30 s counts as a startup crash")
	assert.True(t, *pc.Success)
	assert.Equal(t, "OK", pc.MDSWStatusString)
	assert.Equal(t, []string{"Email removed"}, pc.CollectorNotes)
	assert.Contains(t, pc.CrashReportKeys, "bogusKey"[:5]+"key")
	assert.Equal(t, "https://example.com/private", pc.URL, "protected fields are copied; redaction is the readers' job")
	assert.Equal(t, "my email is a@b.c", pc.UserComments)
	assert.NotEmpty(t, pc.MinidumpSHA256Hash)

	// The stack matches minidump-stackwalk's golden output for this dump.
	require.NotEmpty(t, pc.CrashingThreadFrames)
	top := pc.CrashingThreadFrames[0]
	assert.Equal(t, "test_app.exe", top.Module)
	assert.Equal(t, "`anonymous namespace'::CrashFunction", top.Function)
	assert.Equal(t, int64(58), *top.Line)
	assert.Equal(t, "context", top.Trust)
	assert.Equal(t, "main", pc.CrashingThreadFrames[1].Function)
	assert.Equal(t, "cfi", pc.CrashingThreadFrames[1].Trust)
	assert.Equal(t, []string{"c:\\test_app.cc"}, pc.TopmostFilenames)
	assert.Contains(t, pc.ModulesInStack, "test_app.exe/5A9832E5287241C1838ED98914E9B7FF1")
	assert.Contains(t, pc.LoadedModules, "test_app.exe", "a module without a version is named alone")
	assert.Len(t, pc.LoadedModules, len(pc.Modules))
	assert.Equal(t, "(anonymous namespace)::CrashFunction", pc.Signature)
	assert.True(t, strings.HasPrefix(pc.ProtoSignature, "(anonymous namespace)::CrashFunction | main"), pc.ProtoSignature)
	var dump2 map[string]any
	require.NoError(t, json.Unmarshal([]byte(pc.JSONDump), &dump2))
	assert.Equal(t, "OK", dump2["status"])
}

func TestBadDumpsAreNotedNotFatal(t *testing.T) {
	td := repotest.SharedTestdata(t)
	good, err := os.ReadFile(filepath.Join(td, "breakpad", "minidump2.dmp"))
	require.NoError(t, err)
	corrupt := append([]byte(nil), good...)
	for i := 32; i < len(corrupt); i += 7 {
		corrupt[i] ^= 0xa5
	}
	tests := []struct {
		name   string
		dumps  map[string][]byte
		status string
	}{
		{"no dump", map[string][]byte{}, "NoMinidump"},
		{"empty dump", map[string][]byte{"upload_file_minidump": {}}, "EmptyMinidump"},
		{"not a minidump", map[string][]byte{"upload_file_minidump": []byte("\xef\xbe\xad\xde placeholder")}, "ERROR_MINIDUMP_READ"},
		{"no thread list", map[string][]byte{"upload_file_minidump": synth.New(minidump.ArchAMD64, synth.Linux).Bytes()}, "MissingThreadList"},
		{"truncated", map[string][]byte{"upload_file_minidump": good[:40]}, ""},
		{"bit-flipped", map[string][]byte{"upload_file_minidump": corrupt}, ""},
	}
	rs := defaultRuleset(t, filepath.Join(td, "breakpad", "symbols"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCrash(map[string]any{"ProductName": "TestApp"}, tt.dumps)
			rs.Run(context.Background(), c, nil)
			pc := c.Processed
			assert.Equal(t, "TestApp", pc.Product, "annotations are still processed")
			assert.NotEmpty(t, pc.Signature, "a signature is always produced")
			if tt.status != "" {
				assert.Equal(t, tt.status, pc.MDSWStatusString)
				assert.False(t, *pc.Success)
				assert.Contains(t, pc.ProcessorNotes, "MinidumpStackwalk")
			}
		})
	}
}

type panicWalker struct{}

func (panicWalker) Process(context.Context, []byte) (*stackwalk.Result, error) { panic("boom") }

func TestFailingRulesAreNoted(t *testing.T) {
	lists, err := signature.DefaultLists()
	require.NoError(t, err)
	rs := Default(fields.New(), HangGuard(panicWalker{}, time.Minute), signature.New(lists, signature.RulesetSocorro))
	rs.Rules = append(rs.Rules[:2], append([]Rule{Func("Broken", func(context.Context, *Crash) error { return errors.New("kaput") })}, rs.Rules[2:]...)...)
	c := newCrash(map[string]any{"ProductName": "TestApp", "BuildID": "not-a-number"}, map[string][]byte{"upload_file_minidump": []byte("MDMP")})
	rs.Run(context.Background(), c, nil)
	notes := c.Processed.ProcessorNotes
	assert.Contains(t, notes, "Broken: kaput")
	assert.Contains(t, notes, "stackwalker panicked: boom")
	assert.Contains(t, notes, "CopyFromRawCrash: invalid values dropped: build")
	assert.Equal(t, "TestApp", c.Processed.Product, "rules after the failures still ran")
	assert.Equal(t, "EMPTY: no frame data available; ERROR_MINIDUMP_READ", c.Processed.Signature)
}

func TestTruncateStacks(t *testing.T) {
	frames := make([]any, 1200)
	for i := range frames {
		frames[i] = map[string]any{"frame": json.Number("0")}
	}
	c := newCrash(nil, nil)
	c.JSONDump = map[string]any{"threads": []any{map[string]any{"frames": frames}}}
	require.NoError(t, TruncateStacks().Apply(context.Background(), c))
	got := c.JSONDump["threads"].([]any)[0].(map[string]any)["frames"].([]any)
	assert.Len(t, got, 500)
	assert.Equal(t, map[string]any{"truncated": map[string]any{"msg": "701 frames truncated"}}, got[250])
}

func TestPrettyOS(t *testing.T) {
	tests := []struct{ name, ver, want string }{
		{"Windows NT", "10.0.22631", "Windows 11"},
		{"Windows NT", "10.0.19045", "Windows 10"},
		{"Windows NT", "6.1.7601 Service Pack 1", "Windows 7"},
		{"Windows NT", "5.1.2600 Service Pack 2", "Windows XP"},
		{"Mac OS X", "14.2.1 23C71", "macOS 14"},
		{"Mac OS X", "10.15.7", "OS X 10.15"},
		{"Linux", "5.15.0", "Linux"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, prettyOS(tt.name, tt.ver, "", ""), tt.ver)
	}
	assert.Equal(t, "Debian GNU/Linux 12", prettyOS("Linux", "6.1", "Debian GNU/Linux 12", ""))
}

func TestJavaStackTraceIsSanitised(t *testing.T) {
	raw := "java.lang.IllegalStateException: mail alice@example.com\n\tat a.B.c(B.java:1)\nCaused by: java.io.IOException: /home/alice\n\tat d.E.f(E.java:2)\n"
	c := newCrash(map[string]any{"JavaStackTrace": raw}, nil)
	require.NoError(t, JavaStackTrace().Apply(context.Background(), c))
	assert.Equal(t, raw, c.Processed.JavaStackTraceRaw)
	assert.Equal(t, "java.lang.IllegalStateException\n\tat a.B.c(B.java:1)", c.Processed.JavaStackTrace)
	c = newCrash(map[string]any{"JavaStackTrace": "not a class: x\n\tat a"}, nil)
	require.NoError(t, JavaStackTrace().Apply(context.Background(), c))
	assert.Equal(t, "malformed", c.Processed.JavaStackTrace)
}

type hangingWalker struct{ release chan struct{} }

func (h hangingWalker) Process(context.Context, []byte) (*stackwalk.Result, error) {
	<-h.release
	return nil, nil
}

func TestHangGuardAbandonsStuckWalk(t *testing.T) {
	h := hangingWalker{make(chan struct{})}
	defer close(h.release)
	_, err := HangGuard(h, 10*time.Millisecond).Process(context.Background(), nil)
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// TestMissingSymbolsModules: without symbols, the crashing thread's module
// is recorded by debug file and debug id (what a symbol upload names); with
// them, it is not.
func TestMissingSymbolsModules(t *testing.T) {
	td := repotest.SharedTestdata(t)
	dump, err := os.ReadFile(filepath.Join(td, "breakpad", "minidump2.dmp"))
	require.NoError(t, err)
	const testApp = "test_app.pdb/5A9832E5287241C1838ED98914E9B7FF1"
	for _, tt := range []struct {
		name    string
		symbols string
		missing bool
	}{{"without symbols", t.TempDir(), true}, {"with symbols", filepath.Join(td, "breakpad", "symbols"), false}} {
		t.Run(tt.name, func(t *testing.T) {
			c := newCrash(map[string]any{"ProductName": "TestApp"}, map[string][]byte{"upload_file_minidump": dump})
			defaultRuleset(t, tt.symbols).Run(context.Background(), c, nil)
			assert.Equal(t, tt.missing, slices.Contains(c.Processed.MissingSymbolsModules, testApp), c.Processed.MissingSymbolsModules)
			assert.True(t, slices.IsSorted(c.Processed.MissingSymbolsModules))
		})
	}
}
