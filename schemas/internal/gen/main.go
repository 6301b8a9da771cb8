// Command gen writes the Go side of crashstream's event contracts from the
// Avro schemas in schemas/avro, which are the one place a field is defined:
//
//   - events_gen.go: the Go struct of every record (doc comments from the
//     schema's "doc"), and converters to and from goavro's native form, so
//     the codec needs no reflection;
//   - fields/table_gen.go: the field registry of the processed crash, from
//     each field's crashstream.* properties;
//   - avro/telemetry_crash.v1.avsc and the TelemetryCrash struct: the
//     fields of processed_crash.v1.avsc that carry crashstream.telemetry,
//     under that name;
//   - avro/revisions.json and avro/history: every schema revision with its
//     schema id (a change of a schema's canonical form is a new revision
//     with the next id; its text is kept, so the compatibility test checks
//     the next change against it and the static registry keeps serving it).
//
// The ClickHouse column list is the registry's searchable fields; the
// migrations stay hand-written SQL (they are history) and a test in
// storage/clickhouse fails when they and the registry disagree.
//
// Run it with `go generate ./...` in schemas/ after editing a schema. A test
// regenerates everything in memory and fails when the committed files differ.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	dir := flag.String("dir", ".", "the schemas module directory")
	flag.Parse()
	if err := write(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// write regenerates every output file under dir, leaving unchanged files
// untouched.
func write(dir string) error {
	out, err := generate(dir)
	if err != nil {
		return err
	}
	for name, b := range out {
		path := filepath.Join(dir, name)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
			continue
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// inputs are the hand-written schemas, in the order their types appear in
// events_gen.go, with the name of their Go file constant.
var inputs = []struct{ file, constant string }{
	{"crash_received.v1.avsc", "FileCrashReceived"},
	{"process_request.v1.avsc", "FileProcessRequest"},
	{"processed_crash.v1.avsc", "FileProcessedCrash"},
}

// Output paths, relative to the schemas module.
const (
	outEvents    = "events_gen.go"
	outTable     = "fields/table_gen.go"
	outTelemetry = "avro/telemetry_crash.v1.avsc"
)

// generate returns the content of every output file, by path relative to
// dir.
func generate(dir string) (map[string][]byte, error) {
	named := map[string]*record{}
	var tops []top
	var processed *record
	var processedText []byte
	for _, in := range inputs {
		text, err := os.ReadFile(filepath.Join(dir, "avro", in.file))
		if err != nil {
			return nil, err
		}
		r, err := parseRecord(text, named)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", in.file, err)
		}
		tops = append(tops, top{rec: r, constant: in.constant})
		if in.file == "processed_crash.v1.avsc" {
			processed, processedText = r, text
		}
	}
	if err := checkRegistry(processed); err != nil {
		return nil, err
	}
	telText, err := telemetrySchema(processedText)
	if err != nil {
		return nil, fmt.Errorf("telemetry schema: %w", err)
	}
	tel, err := parseRecord(telText, map[string]*record{})
	if err != nil {
		return nil, fmt.Errorf("telemetry schema: %w", err)
	}
	tops = append(tops, top{rec: tel, constant: "FileTelemetryCrash"})
	events, err := eventsFile(tops, processed)
	if err != nil {
		return nil, err
	}
	table, err := tableFile(processed)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{outEvents: events, outTable: table, outTelemetry: telText}
	current := map[string][]byte{"telemetry_crash.v1.avsc": telText}
	var order []string
	for _, in := range inputs {
		text, err := os.ReadFile(filepath.Join(dir, "avro", in.file))
		if err != nil {
			return nil, err
		}
		current[in.file] = text
		order = append(order, in.file)
	}
	if err := revise(dir, current, append(order, "telemetry_crash.v1.avsc"), out); err != nil {
		return nil, err
	}
	return out, nil
}

// checkRegistry rejects properties that contradict each other.
func checkRegistry(r *record) error {
	for _, f := range r.Fields {
		switch {
		case f.Telemetry != "" && !f.Public:
			return fmt.Errorf("%s: a telemetry field must be public (crashstream.public)", f.Name)
		case f.Search && f.kind == kRecords:
			return fmt.Errorf("%s: records cannot be searched", f.Name)
		case f.Doc == "":
			return fmt.Errorf("%s: no doc", f.Name)
		case f.Sanitize != "" && sanitizers[f.Sanitize].expr == "":
			return fmt.Errorf("%s: unknown sanitiser %q", f.Name, f.Sanitize)
		}
	}
	return nil
}
