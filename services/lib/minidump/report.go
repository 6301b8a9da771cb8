package minidump

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Report is the part of minidump-stackwalk's JSON output that needs no
// stack walking: system_info, crash_info, modules, unloaded_modules,
// threads (without frames), pid and process uptime. Field names, value
// formats and key order (alphabetical) follow minidump-stackwalk, so the
// processor can fill the rest (frames, symbols) in the same schema.
type Report struct {
	CrashInfo           ReportCrashInfo        `json:"crash_info"`
	LinuxMemoryMapCount *int                   `json:"linux_memory_map_count"`
	LSBRelease          *ReportLSBRelease      `json:"lsb_release"`
	MacBootArgs         *string                `json:"mac_boot_args"`
	MainModule          *int                   `json:"main_module"`
	Modules             []ReportModule         `json:"modules"`
	PID                 *uint32                `json:"pid"`
	ProcessUptime       *uint64                `json:"process_uptime"`
	SoftErrors          json.RawMessage        `json:"soft_errors"`
	Status              string                 `json:"status"`
	SystemInfo          ReportSystemInfo       `json:"system_info"`
	ThreadCount         int                    `json:"thread_count"`
	Threads             []ReportThread         `json:"threads"`
	UnloadedModules     []ReportUnloadedModule `json:"unloaded_modules"`
}

// ReportCrashInfo is crash_info. CrashingThread is an index into Threads.
// Assertion is always null, as in minidump-stackwalk 0.27.
type ReportCrashInfo struct {
	Address        *string `json:"address"`
	Assertion      *string `json:"assertion"`
	CrashingThread *int    `json:"crashing_thread"`
	Type           *string `json:"type"`
}

// ReportLSBRelease is lsb_release (from /etc/lsb-release or os-release).
type ReportLSBRelease struct {
	Codename    string `json:"codename"`
	Description string `json:"description"`
	ID          string `json:"id"`
	Release     string `json:"release"`
}

// ReportModule is one modules[] entry.
type ReportModule struct {
	BaseAddr  string  `json:"base_addr"`
	CodeID    string  `json:"code_id"`
	DebugFile string  `json:"debug_file"`
	DebugID   string  `json:"debug_id"`
	EndAddr   string  `json:"end_addr"`
	Filename  string  `json:"filename"`
	Version   *string `json:"version"`
}

// ReportSystemInfo is system_info.
type ReportSystemInfo struct {
	CPUArch             string  `json:"cpu_arch"`
	CPUCount            int     `json:"cpu_count"`
	CPUInfo             *string `json:"cpu_info"`
	CPUMicrocodeVersion *string `json:"cpu_microcode_version"`
	OS                  string  `json:"os"`
	OSVer               *string `json:"os_ver"`
}

// ReportThread is one threads[] entry without frames.
type ReportThread struct {
	LastErrorValue *string `json:"last_error_value"`
	ThreadID       uint32  `json:"thread_id"`
	ThreadName     *string `json:"thread_name"`
}

// ReportUnloadedModule is one unloaded_modules[] entry.
type ReportUnloadedModule struct {
	BaseAddr string `json:"base_addr"`
	CodeID   string `json:"code_id"`
	EndAddr  string `json:"end_addr"`
	Filename string `json:"filename"`
}

// nilDebugID is how minidump-stackwalk prints a module without debug id.
const nilDebugID = "000000000000000000000000000000000"

// Hex formats an address as minidump-stackwalk does: 0x-prefixed
// lowercase hex padded to the CPU's pointer width.
func (d *Dump) Hex(v uint64) string {
	if d.pointerSize() == 4 {
		return fmt.Sprintf("0x%08x", v)
	}
	return fmt.Sprintf("0x%016x", v)
}

func (d *Dump) pointerSize() int {
	if d.SystemInfo == nil {
		return 8
	}
	return d.SystemInfo.PointerSize()
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Report builds the minidump-stackwalk-shaped summary of the dump.
func (d *Dump) Report() Report {
	r := Report{
		Status:          "OK",
		Modules:         []ReportModule{},
		Threads:         []ReportThread{},
		UnloadedModules: []ReportUnloadedModule{},
	}
	if s := d.SystemInfo; s != nil {
		ver := s.OSVersion()
		r.SystemInfo = ReportSystemInfo{
			CPUArch: s.CPUArch(), CPUCount: int(s.NumberOfProcessors), CPUInfo: strPtr(s.CPUInfo()),
			OS: s.OS(), OSVer: &ver,
		}
	}
	if v, ok := d.Linux.CPUInfoField("microcode"); ok {
		if n, err := strconv.ParseUint(strings.TrimPrefix(v, "0x"), 16, 64); err == nil && strings.HasPrefix(v, "0x") {
			hex := fmt.Sprintf("%#x", n)
			r.SystemInfo.CPUMicrocodeVersion = &hex
		}
	}
	if e := d.Exception; e != nil {
		addr, reason := d.Hex(d.CrashAddress()), d.CrashReason()
		r.CrashInfo.Address, r.CrashInfo.Type = &addr, &reason
	}
	// crash_info.assertion stays null: minidump-stackwalk 0.27 never fills
	// it (the AssertionInfo stream is in Dump.Assertion).
	crashTID, hasCrash := d.CrashingThread()
	dumpTID, hasDump := d.DumpThreadID()
	for i, t := range d.Threads {
		rt := ReportThread{ThreadID: t.ID}
		if name, ok := d.ThreadName(t.ID); ok {
			rt.ThreadName = &name
		}
		if le, ok := d.LastError(&t); ok {
			s := WindowsErrorName(le)
			rt.LastErrorValue = &s
		}
		r.Threads = append(r.Threads, rt)
		// The dump-writing thread is skipped before the crashing thread
		// is matched, as minidump-stackwalk does.
		if hasCrash && t.ID == crashTID && !(hasDump && t.ID == dumpTID) && r.CrashInfo.CrashingThread == nil {
			idx := i
			r.CrashInfo.CrashingThread = &idx
		}
	}
	r.ThreadCount = len(r.Threads)
	for _, m := range d.Modules {
		rm := ReportModule{
			BaseAddr: d.Hex(m.Base), EndAddr: d.Hex(m.End()), Filename: m.Filename(),
			CodeID: strings.ToLower(m.CodeID), DebugFile: Basename(m.DebugFile), DebugID: m.DebugID,
			Version: strPtr(m.Version),
		}
		if rm.DebugID == "" {
			rm.DebugID = nilDebugID
		}
		r.Modules = append(r.Modules, rm)
	}
	// minidump-stackwalk 0.27 always prints main_module 0, even with no
	// module list.
	zero := 0
	r.MainModule = &zero
	for _, m := range d.UnloadedModules {
		r.UnloadedModules = append(r.UnloadedModules, ReportUnloadedModule{
			BaseAddr: d.Hex(m.Base), EndAddr: d.Hex(m.End()), Filename: m.Name, CodeID: strings.ToLower(m.CodeID()),
		})
	}
	if pid, ok := d.PID(); ok {
		r.PID = &pid
	}
	if up, ok := d.ProcessUptime(); ok {
		r.ProcessUptime = &up
	}
	if maps, err := d.Linux.ParseMaps(); err == nil && d.Linux.Maps != nil {
		n := len(maps)
		r.LinuxMemoryMapCount = &n
	}
	if d.Linux.LSBRelease != nil {
		r.LSBRelease = d.lsbRelease()
	}
	r.MacBootArgs = d.MacBootargs
	r.SoftErrors = normalizeSoftErrors(d.MozSoftErrors)
	return r
}

// normalizeSoftErrors returns the soft errors stream as minidump-stackwalk
// prints it, or nil (JSON null) when it is not valid UTF-8 JSON. The stream
// is written by the crashing process, so its bytes are untrusted:
// json.Valid alone accepts invalid UTF-8 inside strings, which would make
// the output document invalid. The value is decoded and encoded again,
// which also sorts object keys and compacts it as minidump-stackwalk's
// serde_json round trip does.
func normalizeSoftErrors(raw []byte) json.RawMessage {
	if len(raw) == 0 || !utf8.Valid(raw) || !json.Valid(raw) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func (d *Dump) lsbRelease() *ReportLSBRelease {
	var l ReportLSBRelease
	for _, kv := range []struct {
		dst  *string
		keys []string
	}{
		{&l.ID, []string{"DISTRIB_ID", "ID"}},
		{&l.Release, []string{"DISTRIB_RELEASE", "VERSION_ID"}},
		{&l.Codename, []string{"DISTRIB_CODENAME", "VERSION_CODENAME"}},
		{&l.Description, []string{"DISTRIB_DESCRIPTION", "PRETTY_NAME"}},
	} {
		for _, k := range kv.keys {
			if v, ok := d.Linux.LSBField(k); ok {
				*kv.dst = v
			}
		}
	}
	return &l
}

// LastError reads a thread's GetLastError value from its TEB (13 pointers
// into it), when that memory was captured.
func (d *Dump) LastError(t *Thread) (uint32, bool) {
	if d.SystemInfo == nil || d.SystemInfo.CPUArch() == "unknown" {
		return 0, false
	}
	addr := t.TEB + 13*uint64(d.pointerSize())
	if addr < t.TEB {
		return 0, false
	}
	return d.Memory.U32(addr)
}
