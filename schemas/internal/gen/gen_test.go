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

// TestNewFieldIsNewRevision adds a field to a copy of the schemas: the
// processed and telemetry schemas each get a new revision with the next
// id and a history copy, and the earlier revisions stay as they were.
func TestNewFieldIsNewRevision(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "avro"), os.DirFS("../../avro")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "avro", "processed_crash.v1.avsc")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Replace(b, []byte(`"fields": [`), []byte(`"fields": [{"name": "brand_new", "type": ["null", "long"], "default": null,
		"doc": "A new field.", "crashstream.public": true, "crashstream.telemetry": "brand_new"},`), 1)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := readLedger(dir)
	if err != nil {
		t.Fatal(err)
	}
	out, err := generate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "avro", "revisions.json"), out["avro/revisions.json"], 0o644); err != nil {
		t.Fatal(err)
	}
	after, err := readLedger(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+2 {
		t.Fatalf("ledger grew from %d to %d entries, want 2 more", len(before), len(after))
	}
	for i, r := range before {
		if after[i] != r {
			t.Errorf("entry %d changed: %+v -> %+v", i, r, after[i])
		}
	}
	last := len(before) - 1
	p1, p2 := after[last+1], after[last+2]
	if p1.File != "processed_crash.v1.avsc" || p1.ID != before[last].ID+1 || p2.File != "telemetry_crash.v1.avsc" || p2.ID != p1.ID+1 {
		t.Fatalf("new revisions %+v %+v", p1, p2)
	}
	if !bytes.Equal(out[filepath.Join("avro", historyPath(p1.File, p1.Revision))], b) {
		t.Error("the new revision's history copy is not the new text")
	}
	if _, ok := out[filepath.Join("avro", historyPath(p1.File, p1.Revision-1))]; ok {
		t.Error("the previous revision's copy was rewritten")
	}
}
