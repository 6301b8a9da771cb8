package schemas

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// avroFS holds the current schema of every event (avro/*.avsc), the text
// of every revision (avro/history/*.avsc, the latest a copy of the current
// file) and the ledger of revisions with their schema ids
// (avro/revisions.json), all kept by internal/gen. An embed.FS is
// read-only, so this is not mutable package state.
//
//go:embed avro/*.avsc avro/history avro/revisions.json
var avroFS embed.FS

// Schema file names of the current revision of each event.
const (
	FileCrashReceived  = "crash_received.v1.avsc"
	FileProcessRequest = "process_request.v1.avsc"
	FileProcessedCrash = "processed_crash.v1.avsc"
	FileTelemetryCrash = "telemetry_crash.v1.avsc"
)

// Source returns the text of an embedded schema file: a current schema by
// its base name ("processed_crash.v1.avsc") or an earlier revision by its
// path under history ("history/processed_crash.v1.r1.avsc").
func Source(name string) (string, error) {
	if strings.Contains(name, "..") {
		return "", fmt.Errorf("schemas: bad schema file name %q", name)
	}
	b, err := avroFS.ReadFile(path.Join("avro", name))
	if err != nil {
		return "", fmt.Errorf("schemas: no embedded schema %q: %w", name, err)
	}
	return string(b), nil
}

// Current lists the base names of the current schema files, sorted.
func Current() []string {
	return list("avro")
}

// Revision is one revision of a schema file with its schema id, from the
// ledger internal/gen keeps (avro/revisions.json). Ids are forever: records
// in Kafka carry them.
type Revision struct {
	// ID is the schema id the static registry serves the revision under.
	ID uint32 `json:"id"`
	// File is the current schema file (FileProcessedCrash, ...).
	File string `json:"file"`
	// Revision numbers the file's revisions from 1.
	Revision int `json:"revision"`
	// Source names the revision's text for Source: the current file for
	// the latest revision, its history copy for earlier ones.
	Source string `json:"-"`
}

// Revisions returns every schema revision, in ledger order (ids rising).
func Revisions() ([]Revision, error) {
	b, err := avroFS.ReadFile("avro/revisions.json")
	if err != nil {
		return nil, err
	}
	var out []Revision
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("schemas: avro/revisions.json: %w", err)
	}
	latest := map[string]int{}
	for _, r := range out {
		latest[r.File] = max(latest[r.File], r.Revision)
	}
	for i, r := range out {
		out[i].Source = r.File
		if r.Revision < latest[r.File] {
			out[i].Source = fmt.Sprintf("history/%s.r%d.avsc", strings.TrimSuffix(r.File, ".avsc"), r.Revision)
		}
	}
	return out, nil
}

// History lists the revision texts kept in avro/history, as paths
// relative to avro/ ("history/x.v1.r1.avsc"), sorted. A revision file is
// named <current file without .avsc>.r<N>.avsc; internal/gen writes it
// when a schema gets a new revision, so the compatibility test checks the
// next change against it and the static registry keeps serving its id.
func History() []string {
	out := list("avro/history")
	for i, n := range out {
		out[i] = path.Join("history", n)
	}
	return out
}

func list(dir string) []string {
	entries, err := fs.ReadDir(avroFS, dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".avsc") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}
