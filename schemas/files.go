package schemas

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// avroFS holds the current schema of every event (avro/*.avsc) and the
// earlier revisions kept for compatibility checks (avro/history/*.avsc).
// An embed.FS is read-only, so this is not mutable package state.
//
//go:embed avro/*.avsc avro/history
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

// History lists the earlier revisions kept in avro/history, as paths
// relative to avro/ ("history/x.v1.r1.avsc"), sorted. A revision file is
// named <current file without .avsc>.r<N>.avsc; when a schema changes, its
// previous text is copied there so the compatibility test checks the new
// one against it, and the static registry keeps serving its pinned id.
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
