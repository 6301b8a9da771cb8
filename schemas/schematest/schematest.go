// Package schematest builds realistic, deterministic event records for
// tests and benchmarks in any module (streams, sinks, the data-engineer
// test), so that they all exercise the same shapes.
package schematest

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/crashstream/crashstream/schemas"
)

// CrashID returns a valid crash id for index i, dated day (UTC): uuid4 text
// with the accept throttle digit and the yymmdd date in its tail.
func CrashID(i int, day time.Time) string {
	return fmt.Sprintf("%08x-%04x-4%03x-a%03x-%05x0%s", uint32(i)*2654435761, i&0xffff, i&0xfff, (i>>12)&0xfff,
		i&0xfffff, day.UTC().Format("060102"))
}

// Shape sizes a synthetic processed crash.
type Shape struct {
	// Threads is the number of threads in json_dump.
	Threads int
	// Frames is the number of frames per thread.
	Frames int
	// Modules is the number of loaded modules.
	Modules int
}

// Typical is close to a Firefox desktop processed crash: about 60 threads
// of 25 frames and 200 modules, which makes json_dump a few hundred KB.
func Typical() Shape { return Shape{Threads: 60, Frames: 25, Modules: 200} }

// Small is a quick shape for unit tests.
func Small() Shape { return Shape{Threads: 2, Frames: 4, Modules: 3} }

func ptr[T any](v T) *T { return &v }

// ProcessedCrash returns processed crash number i with the given shape.
// Every call with the same arguments returns an equal record.
func ProcessedCrash(i int, shape Shape) *schemas.ProcessedCrash {
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	id := CrashID(i, day)
	modules := make([]schemas.Module, shape.Modules)
	for m := range modules {
		modules[m] = schemas.Module{
			Filename:      fmt.Sprintf("module%03d.dll", m),
			DebugFile:     fmt.Sprintf("module%03d.pdb", m),
			DebugID:       fmt.Sprintf("%032X1", m*7919),
			CodeID:        fmt.Sprintf("%08x%x", 0x45d35f6c+m, 0x2d000),
			Version:       "130.0.1.8812",
			BaseAddr:      fmt.Sprintf("0x%016x", 0x400000+m*0x100000),
			EndAddr:       fmt.Sprintf("0x%016x", 0x4ff000+m*0x100000),
			LoadedSymbols: m%3 != 0, MissingSymbols: m%3 == 0,
		}
	}
	frames := func(n int) []schemas.Frame {
		out := make([]schemas.Frame, n)
		for f := range out {
			out[f] = schemas.Frame{
				Frame:          int64(f),
				Module:         modules[f%max(1, len(modules))].Filename,
				Function:       fmt.Sprintf("mozilla::dom::Element::Method%d(nsINode*, unsigned int)", f),
				File:           fmt.Sprintf("hg:hg.example.org/mozilla-central:dom/base/Element%d.cpp:4f1e2b3c", f),
				Line:           ptr(int64(100 + f)),
				Offset:         fmt.Sprintf("0x%016x", 0x401000+f*16),
				ModuleOffset:   fmt.Sprintf("0x%08x", 0x1000+f*16),
				FunctionOffset: fmt.Sprintf("0x%08x", f*4),
				Trust:          map[bool]string{true: "context", false: "cfi"}[f == 0],
			}
		}
		return out
	}
	if len(modules) == 0 {
		modules = nil
	}
	crashing := frames(shape.Frames)
	threads := make([]map[string]any, shape.Threads)
	for t := range threads {
		threads[t] = map[string]any{"thread_id": 1000 + t, "frame_count": shape.Frames, "frames": frames(shape.Frames)}
	}
	dump, _ := json.Marshal(map[string]any{
		"crash_info":  map[string]any{"type": "EXCEPTION_ACCESS_VIOLATION_WRITE", "address": "0x00000045", "crashing_thread": 0},
		"system_info": map[string]any{"os": "Windows NT", "os_ver": "10.0.19045", "cpu_arch": "amd64", "cpu_count": 8},
		"threads":     threads,
		"modules":     modules,
		"status":      "OK",
	})
	return &schemas.ProcessedCrash{
		CrashID:              id,
		UUID:                 id,
		DateProcessed:        day.Add(time.Duration(i%86400) * time.Second).Add(1234 * time.Microsecond),
		SubmittedTimestamp:   day.Add(time.Duration(i%86400) * time.Second),
		Product:              "Firefox",
		Version:              "130.0.1",
		MajorVersion:         ptr(int64(130)),
		ReleaseChannel:       "release",
		Build:                ptr(int64(20261115093000)),
		ProcessType:          []string{"parent", "content", "gpu"}[i%3],
		OSName:               "Windows NT",
		OSVersion:            "10.0.19045",
		OSPrettyVersion:      "Windows 10",
		CPUArch:              "amd64",
		CPUInfo:              "family 6 model 158 stepping 10",
		CPUCount:             ptr(int64(8)),
		Reason:               "EXCEPTION_ACCESS_VIOLATION_WRITE",
		Address:              "0x0000000000000045",
		CrashingThread:       ptr(int64(0)),
		Signature:            fmt.Sprintf("mozilla::dom::Element::Method%d", i%50),
		ProtoSignature:       "mozilla::dom::Element::Method0 | mozilla::dom::Element::Method1",
		TopmostFilenames:     []string{"dom/base/Element0.cpp"},
		ModulesInStack:       []string{"module000.dll/00000000000000000000000000000000001"},
		CrashingThreadFrames: crashing,
		Modules:              modules,
		JSONDump:             string(dump),
		Uptime:               ptr(int64(i % 3600)),
		InstallAge:           ptr(int64(86400 * 3)),
		StartupCrash:         ptr(i%7 == 0),
		UserComments:         "it crashed while I was typing",
		URL:                  "https://example.com/private/page",
		Addons:               []string{"uBlock0@raymondhill.net:1.60.0"},
		ProcessorNotes:       "crashstream-processor; ruleset default",
		Success:              ptr(true),
		MDSWStatusString:     "OK",
		MDSWReturnCode:       ptr(int64(0)),
		StackwalkVersion:     "crashstream-stackwalk 0.1",
		MinidumpSHA256Hash:   "4f9a2c1e0b7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f",
		DOMFissionEnabled:    ptr(true),
		AdapterVendorID:      "0x10de",
		TotalPhysicalMemory:  ptr(int64(17179869184)),
	}
}

// CrashReceived returns received-crash event number i.
func CrashReceived(i int) *schemas.CrashReceived {
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	id := CrashID(i, day)
	return &schemas.CrashReceived{
		CrashID:            id,
		SubmittedTimestamp: day.Add(time.Duration(i%86400) * time.Second),
		Product:            "Firefox",
		Version:            "130.0.1",
		ReleaseChannel:     "release",
		ThrottleRule:       "accept_everything",
		Dumps:              []schemas.Dump{{Name: "dump", Size: 11317, SHA256: "ab12"}},
		RawCrashKey:        "v1/raw_crash/20261120/" + id,
	}
}
