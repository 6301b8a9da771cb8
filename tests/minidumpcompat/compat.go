package minidumpcompat

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/crashstream/crashstream/services/lib/minidump"
)

// View is the subset of minidump-stackwalk's JSON both sides must agree on.
type View struct {
	SystemInfo struct {
		OS                  string  `json:"os"`
		OSVer               *string `json:"os_ver"`
		CPUArch             string  `json:"cpu_arch"`
		CPUInfo             *string `json:"cpu_info"`
		CPUCount            int     `json:"cpu_count"`
		CPUMicrocodeVersion *string `json:"cpu_microcode_version"`
	} `json:"system_info"`
	CrashInfo struct {
		Type           *string `json:"type"`
		Address        *string `json:"address"`
		CrashingThread *int    `json:"crashing_thread"`
	} `json:"crash_info"`
	Modules []struct {
		Filename  string  `json:"filename"`
		BaseAddr  string  `json:"base_addr"`
		EndAddr   string  `json:"end_addr"`
		DebugFile string  `json:"debug_file"`
		DebugID   string  `json:"debug_id"`
		CodeID    string  `json:"code_id"`
		Version   *string `json:"version"`
	} `json:"modules"`
	UnloadedModules []struct {
		Filename string `json:"filename"`
		BaseAddr string `json:"base_addr"`
		EndAddr  string `json:"end_addr"`
		CodeID   string `json:"code_id"`
	} `json:"unloaded_modules"`
	Threads []struct {
		ThreadID   uint32  `json:"thread_id"`
		ThreadName *string `json:"thread_name"`
	} `json:"threads"`
	PID                 *uint32 `json:"pid"`
	ProcessUptime       *uint64 `json:"process_uptime"`
	LinuxMemoryMapCount *int    `json:"linux_memory_map_count"`
	LSBRelease          *struct {
		ID          string `json:"id"`
		Release     string `json:"release"`
		Codename    string `json:"codename"`
		Description string `json:"description"`
	} `json:"lsb_release"`
}

// Ours renders crashstream's view of a dump through the same JSON shape.
func Ours(path string) (View, error) {
	v, _, err := OursWithSoftErrors(path)
	return v, err
}

// OursWithSoftErrors is Ours plus the streams crashstream failed to read
// (none are expected in a well-formed dump).
func OursWithSoftErrors(path string) (View, []minidump.SoftError, error) {
	var v View
	f, err := os.Open(path)
	if err != nil {
		return v, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return v, nil, err
	}
	d, err := minidump.Open(f, st.Size())
	if err != nil {
		return v, nil, err
	}
	b, err := json.Marshal(d.Report())
	if err != nil {
		return v, nil, err
	}
	return v, d.SoftErrors, json.Unmarshal(b, &v)
}

// Diff lists the fields where two views differ, as "path: ours != theirs".
func Diff(ours, theirs View) []string {
	var out []string
	diff(&out, "", reflect.ValueOf(ours), reflect.ValueOf(theirs))
	return out
}

func diff(out *[]string, path string, a, b reflect.Value) {
	switch a.Kind() {
	case reflect.Struct:
		for i := range a.NumField() {
			name := a.Type().Field(i).Tag.Get("json")
			diff(out, joinPath(path, name), a.Field(i), b.Field(i))
		}
	case reflect.Slice:
		if a.Len() != b.Len() {
			*out = append(*out, fmt.Sprintf("%s: %d entries != %d", path, a.Len(), b.Len()))
		}
		for i := range min(a.Len(), b.Len()) {
			diff(out, fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i))
		}
	case reflect.Pointer:
		switch {
		case a.IsNil() && b.IsNil():
		case a.IsNil() || b.IsNil():
			*out = append(*out, fmt.Sprintf("%s: %s != %s", path, show(a), show(b)))
		default:
			diff(out, path, a.Elem(), b.Elem())
		}
	default:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			*out = append(*out, fmt.Sprintf("%s: %v != %v", path, show(a), show(b)))
		}
	}
}

func joinPath(p, name string) string {
	if p == "" {
		return name
	}
	return p + "." + name
}

func show(v reflect.Value) string {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "null"
		}
		v = v.Elem()
	}
	return fmt.Sprintf("%q", fmt.Sprint(v.Interface()))
}

// Dumps lists the comparison corpus: every .dmp under shared (the shared
// test data) and corpus (tests/corpus/dumps), sorted.
func Dumps(dirs ...string) []string {
	var out []string
	for _, dir := range dirs {
		_ = filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
			if err == nil && !e.IsDir() && strings.HasSuffix(p, ".dmp") {
				out = append(out, p)
			}
			return nil
		})
	}
	sort.Strings(out)
	return out
}
