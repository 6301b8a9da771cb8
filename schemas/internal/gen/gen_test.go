package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommittedOutputIsCurrent regenerates everything in memory and fails
// when a committed file differs: someone edited generated code by hand, or
// changed a schema without running `go generate ./...` in schemas/.
func TestCommittedOutputIsCurrent(t *testing.T) {
	out, err := generate("../..")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range out {
		got, err := os.ReadFile(filepath.Join("../..", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("schemas/%s is not what the schemas generate: run `go generate ./...` in schemas/ (never edit it by hand)", name)
		}
	}
}

// TestRejectsContradictions shows the generator refuses a registry that
// would leak: a protected field in the public telemetry export.
func TestRejectsContradictions(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "avro"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, in := range inputs {
		b, err := os.ReadFile(filepath.Join("../../avro", in.file))
		if err != nil {
			t.Fatal(err)
		}
		if in.file == "processed_crash.v1.avsc" {
			// user_comments is protected; ask for it in telemetry.
			b = bytes.Replace(b, []byte(`"name": "user_comments",`), []byte(`"name": "user_comments", "crashstream.telemetry": "user_comments",`), 1)
		}
		if err := os.WriteFile(filepath.Join(dir, "avro", in.file), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := generate(dir)
	if err == nil || !strings.Contains(err.Error(), "user_comments: a telemetry field must be public") {
		t.Fatalf("got %v, want the protected telemetry field rejected", err)
	}
}

func TestGoName(t *testing.T) {
	for in, want := range map[string]string{
		"crash_id": "CrashID", "url": "URL", "productid": "ProductID", "app_init_dlls": "AppInitDLLs",
		"android_cpu_abi2": "AndroidCPUABI2", "minidump_sha256_hash": "MinidumpSHA256Hash", "report_type": "ReportType",
	} {
		if got := goName(in); got != want {
			t.Errorf("goName(%q) = %q, want %q", in, got, want)
		}
	}
}
