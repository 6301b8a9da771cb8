package rules

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/storage/objectstore"
)

// Crash is the state one crash carries through a ruleset.
type Crash struct {
	// ID is the crash id.
	ID string
	// Raw is the raw crash: annotations (string values), plus
	// submitted_timestamp, uuid, version and the collector's metadata object.
	Raw map[string]any
	// Dumps maps dump names as the client sent them (upload_file_minidump,
	// upload_file_minidump_content, ...) to their bytes.
	Dumps map[string][]byte
	// Processed is the processed crash being built.
	Processed *schemas.ProcessedCrash
	// JSONDump is the main dump's stackwalk output as generic JSON, the form
	// later rules and the signature generator read (nil without a dump).
	JSONDump map[string]any
	// Now is the processing time (DateProcessed).
	Now time.Time

	notes []string
}

// Note adds a processor note.
func (c *Crash) Note(format string) { c.notes = append(c.notes, format) }

// Notes returns the processor notes so far.
func (c *Crash) Notes() []string { return c.notes }

// Annotation returns a raw-crash annotation as text, and whether it was set.
func (c *Crash) Annotation(name string) (string, bool) {
	v, ok := c.Raw[name]
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	return s, ok
}

// dumpPath walks json_dump by keys; missing keys give nil.
func (c *Crash) dumpPath(keys ...string) any {
	var v any = c.JSONDump
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func (c *Crash) dumpString(keys ...string) string {
	s, _ := c.dumpPath(keys...).(string)
	return s
}

// crashingThread returns the crashing thread's object from json_dump.
func (c *Crash) crashingThread() map[string]any {
	idx, ok := asInt(c.dumpPath("crash_info", "crashing_thread"))
	if !ok {
		return nil
	}
	threads, _ := c.dumpPath("threads").([]any)
	if idx < 0 || int(idx) >= len(threads) {
		return nil
	}
	t, _ := threads[idx].(map[string]any)
	return t
}

// crashingFrames returns the crashing thread's frames.
func (c *Crash) crashingFrames() []map[string]any {
	t := c.crashingThread()
	if t == nil {
		return nil
	}
	raw, _ := t["frames"].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, f := range raw {
		if m, ok := f.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case float64:
		return int64(n), true
	case int:
		return int64(n), true
	case int64:
		return n, true
	}
	return 0, false
}

func strOf(v any) string {
	s, _ := v.(string)
	return s
}

func ptr[T any](v T) *T { return &v }

// isMainDump reports whether a dump name is a minidump Socorro walks.
func isMinidumpName(name string) bool { return strings.HasPrefix(name, objectstore.MainDumpField) }
