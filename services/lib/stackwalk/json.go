package stackwalk

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"

	"github.com/crashstream/crashstream/services/lib/minidump"
	"github.com/crashstream/crashstream/services/lib/stackwalk/crashinfo"
)

// The JSON types below spell out minidump-stackwalk's --json schema. Fields
// are declared in alphabetical order because that is the order it prints
// keys in; pointers are nullable fields.

// JSONOutput is the whole document (Socorro's json_dump).
type JSONOutput struct {
	CrashInfo               JSONCrashInfo        `json:"crash_info"`
	CrashingThread          *JSONThread          `json:"crashing_thread,omitempty"`
	Handles                 json.RawMessage      `json:"handles"`
	LinuxMemoryMapCount     *int                 `json:"linux_memory_map_count"`
	LSBRelease              *JSONLSBRelease      `json:"lsb_release"`
	MacBootArgs             *string              `json:"mac_boot_args"`
	MacCrashInfo            *JSONMacCrashInfo    `json:"mac_crash_info"`
	MainModule              *int                 `json:"main_module"`
	Modules                 []JSONModule         `json:"modules"`
	ModulesContainsCertInfo bool                 `json:"modules_contains_cert_info"`
	PID                     *uint32              `json:"pid"`
	ProcLimits              json.RawMessage      `json:"proc_limits"`
	ProcessUptime           *uint64              `json:"process_uptime"`
	SoftErrors              json.RawMessage      `json:"soft_errors"`
	Status                  string               `json:"status"`
	SystemInfo              JSONSystemInfo       `json:"system_info"`
	ThreadCount             int                  `json:"thread_count"`
	Threads                 []JSONThread         `json:"threads"`
	UnloadedModules         []JSONUnloadedModule `json:"unloaded_modules"`
}

// JSONCrashInfo is crash_info.
type JSONCrashInfo struct {
	Address                  *string         `json:"address"`
	AdjustedAddress          json.RawMessage `json:"adjusted_address"`
	Assertion                *string         `json:"assertion"`
	CrashInconsistencies     []string        `json:"crash_inconsistencies"`
	CrashingThread           *int            `json:"crashing_thread"`
	Instruction              *string         `json:"instruction"`
	InstructionPointerUpdate json.RawMessage `json:"instruction_pointer_update"`
	MemoryAccesses           json.RawMessage `json:"memory_accesses"`
	PossibleBitFlips         json.RawMessage `json:"possible_bit_flips"`
	Type                     *string         `json:"type"`
}

// JSONLSBRelease is lsb_release, as the dump's report has it.
type JSONLSBRelease = minidump.ReportLSBRelease

// JSONMacCrashInfo is mac_crash_info.
type JSONMacCrashInfo struct {
	NumRecords int                  `json:"num_records"`
	Records    []JSONMacCrashRecord `json:"records"`
}

// JSONMacCrashRecord is one mac_crash_info record.
type JSONMacCrashRecord struct {
	AbortCause      *string `json:"abort_cause"`
	Backtrace       *string `json:"backtrace"`
	DialogMode      *string `json:"dialog_mode"`
	Message         *string `json:"message"`
	Message2        *string `json:"message2"`
	Module          *string `json:"module"`
	SignatureString *string `json:"signature_string"`
	Thread          *string `json:"thread"`
}

// JSONModule is one modules[] entry.
type JSONModule struct {
	BaseAddr       string  `json:"base_addr"`
	CertSubject    *string `json:"cert_subject"`
	CodeID         string  `json:"code_id"`
	CorruptSymbols bool    `json:"corrupt_symbols"`
	DebugFile      string  `json:"debug_file"`
	DebugID        string  `json:"debug_id"`
	EndAddr        string  `json:"end_addr"`
	Filename       string  `json:"filename"`
	LoadedSymbols  bool    `json:"loaded_symbols"`
	MissingSymbols bool    `json:"missing_symbols"`
	SymbolURL      *string `json:"symbol_url"`
	Version        *string `json:"version"`
}

// JSONSystemInfo is system_info, as the dump's report has it.
type JSONSystemInfo = minidump.ReportSystemInfo

// JSONThread is one threads[] entry; crashing_thread adds ThreadsIndex and
// registers on its first frame.
type JSONThread struct {
	FrameCount     int         `json:"frame_count"`
	Frames         []JSONFrame `json:"frames"`
	LastErrorValue *string     `json:"last_error_value"`
	ThreadID       uint32      `json:"thread_id"`
	ThreadName     *string     `json:"thread_name"`
	ThreadsIndex   *int        `json:"threads_index,omitempty"`
}

// JSONFrame is one frame.
type JSONFrame struct {
	File           *string             `json:"file"`
	Frame          int                 `json:"frame"`
	Function       *string             `json:"function"`
	FunctionOffset *string             `json:"function_offset"`
	Inlines        []JSONInline        `json:"inlines"`
	Line           *uint32             `json:"line"`
	MissingSymbols bool                `json:"missing_symbols"`
	Module         *string             `json:"module"`
	ModuleOffset   *string             `json:"module_offset"`
	Offset         string              `json:"offset"`
	Registers      map[string]string   `json:"registers,omitempty"`
	Trust          string              `json:"trust"`
	UnloadedModule []JSONUnloadedFrame `json:"unloaded_modules"`
}

// JSONInline is one inlined call of a frame.
type JSONInline struct {
	File     *string `json:"file"`
	Function string  `json:"function"`
	Line     *uint32 `json:"line"`
}

// JSONUnloadedFrame names an unloaded module covering a frame.
type JSONUnloadedFrame struct {
	Module  string   `json:"module"`
	Offsets []string `json:"offsets"`
}

// JSONUnloadedModule is one unloaded_modules[] entry.
type JSONUnloadedModule struct {
	BaseAddr    string  `json:"base_addr"`
	CertSubject *string `json:"cert_subject"`
	CodeID      string  `json:"code_id"`
	EndAddr     string  `json:"end_addr"`
	Filename    string  `json:"filename"`
}

// jsonNull is a fresh JSON null for the fields crashstream does not fill.
func jsonNull() json.RawMessage { return json.RawMessage("null") }

func strp(s string) *string { return &s }

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// JSON builds the minidump-stackwalk document of a walked dump.
func (r *Result) JSON() *JSONOutput {
	d := r.Dump
	rep := d.Report()
	hex := d.Hex
	out := &JSONOutput{
		Handles: jsonNull(), ProcLimits: jsonNull(),
		MacBootArgs: rep.MacBootArgs, MainModule: rep.MainModule,
		PID: rep.PID, ProcessUptime: rep.ProcessUptime, SoftErrors: rep.SoftErrors,
		Status: rep.Status, ThreadCount: len(r.Threads),
		Modules: []JSONModule{}, Threads: []JSONThread{}, UnloadedModules: []JSONUnloadedModule{},
	}
	if len(out.SoftErrors) == 0 {
		out.SoftErrors = jsonNull()
	}
	if d.LinuxLimits != nil {
		out.ProcLimits = procLimits(d.LinuxLimits)
	}
	out.Handles = handles(d)
	out.SystemInfo, out.LSBRelease = rep.SystemInfo, rep.LSBRelease
	out.LinuxMemoryMapCount = rep.LinuxMemoryMapCount
	if mi := d.MacCrashInfo; mi != nil {
		mc := &JSONMacCrashInfo{NumRecords: len(mi.Records), Records: []JSONMacCrashRecord{}}
		for _, rec := range mi.Records {
			jr := JSONMacCrashRecord{
				Thread: strp(hex(rec.Thread)), DialogMode: strp(hex(rec.DialogMode)),
				Module: optStr(rec.ModulePath), Message: optStr(rec.Message), SignatureString: optStr(rec.SignatureString),
				Backtrace: optStr(rec.Backtrace), Message2: optStr(rec.Message2),
			}
			if rec.Version >= 5 {
				jr.AbortCause = strp(hex(rec.AbortCause))
			}
			mc.Records = append(mc.Records, jr)
		}
		out.MacCrashInfo = mc
	}

	ci := &out.CrashInfo
	ci.Address, ci.Type, ci.Assertion = rep.CrashInfo.Address, rep.CrashInfo.Type, rep.CrashInfo.Assertion
	ci.AdjustedAddress, ci.InstructionPointerUpdate, ci.MemoryAccesses, ci.PossibleBitFlips = jsonNull(), jsonNull(), jsonNull(), jsonNull()
	// The instruction-derived fields; all null without an exception stream.
	if info := crashinfo.Analyze(d); info != nil {
		fillCrashInfo(ci, info, hex)
	}
	if r.Requesting >= 0 {
		i := r.Requesting
		ci.CrashingThread = &i
	}

	for i := range d.Modules {
		m := &d.Modules[i]
		rm := rep.Modules[i]
		jm := JSONModule{BaseAddr: rm.BaseAddr, CodeID: rm.CodeID, DebugFile: rm.DebugFile, DebugID: rm.DebugID,
			EndAddr: rm.EndAddr, Filename: rm.Filename, Version: rm.Version}
		_ = m
		if i < len(r.Modules) {
			ms := r.moduleStats(i)
			// As minidump-stackwalk reports them: a corrupt file counts as
			// loaded (it was found), so it is not "missing".
			jm.LoadedSymbols = ms.Status == SymbolsLoaded || ms.Status == SymbolsCorrupt
			jm.MissingSymbols = ms.Status == SymbolsMissing || ms.Status == SymbolsError
			jm.CorruptSymbols = ms.Status == SymbolsCorrupt
			jm.SymbolURL = optStr(ms.URL)
		}
		out.Modules = append(out.Modules, jm)
	}
	for _, u := range rep.UnloadedModules {
		out.UnloadedModules = append(out.UnloadedModules, JSONUnloadedModule{
			BaseAddr: u.BaseAddr, CodeID: u.CodeID, EndAddr: u.EndAddr, Filename: u.Filename})
	}

	for ti, th := range r.Threads {
		jt := JSONThread{FrameCount: len(th.Frames), Frames: []JSONFrame{}, ThreadID: th.ID}
		if ti < len(rep.Threads) {
			jt.ThreadName, jt.LastErrorValue = rep.Threads[ti].ThreadName, rep.Threads[ti].LastErrorValue
		}
		for fi := range th.Frames {
			jt.Frames = append(jt.Frames, r.jsonFrame(fi, &th.Frames[fi]))
		}
		out.Threads = append(out.Threads, jt)
	}
	if r.Requesting >= 0 && len(r.Threads[r.Requesting].Frames) > 0 {
		ct := out.Threads[r.Requesting]
		ct.Frames = append([]JSONFrame(nil), ct.Frames...)
		f0 := &r.Threads[r.Requesting].Frames[0]
		regs := map[string]string{}
		for _, reg := range f0.Context.Registers() {
			regs[reg.Name] = f0.Context.Format(reg.Name)
		}
		ct.Frames[0].Registers = regs
		idx := r.Requesting
		ct.ThreadsIndex = &idx
		out.CrashingThread = &ct
	}
	return out
}

// JSONProcLimit is one /proc/<pid>/limits line.
type JSONProcLimit struct {
	Hard any    `json:"hard"`
	Name string `json:"name"`
	Soft any    `json:"soft"`
	Unit string `json:"unit"`
}

// procLimits renders Mozilla's Linux limits stream (/proc/<pid>/limits) as
// minidump-stackwalk does: columns are separated by runs of two or more
// spaces, "unlimited" stays a string, other values are numbers (0 when
// unreadable), a missing unit is "n/a". minidump-stackwalk keeps the lines
// in a hash map, so its order varies from run to run; crashstream keeps
// the file's order.
func procLimits(raw []byte) json.RawMessage {
	type doc struct {
		Limits []JSONProcLimit `json:"limits"`
	}
	out := doc{Limits: []JSONProcLimit{}}
	first := true
	seen := map[string]int{}
	for _, line := range strings.Split(string(raw), "\n") {
		if line == "" {
			continue
		}
		if first { // the header
			first = false
			continue
		}
		var cols []string
		for _, c := range strings.Split(line, "  ") {
			if c != "" {
				cols = append(cols, c)
			}
		}
		if len(cols) < 3 {
			continue
		}
		l := JSONProcLimit{Name: strings.TrimSpace(cols[0]), Soft: limitValue(cols[1]), Hard: limitValue(cols[2]), Unit: "n/a"}
		if len(cols) > 3 {
			l.Unit = strings.TrimSpace(cols[3])
		}
		if i, ok := seen[l.Name]; ok {
			out.Limits[i] = l
			continue
		}
		seen[l.Name] = len(out.Limits)
		out.Limits = append(out.Limits, l)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return jsonNull()
	}
	return b
}

func limitValue(s string) any {
	s = strings.TrimSpace(s)
	if s == "unlimited" {
		return s
	}
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

// moduleStats returns the symbol outcome minidump-stackwalk reports for
// module i: it keeps one entry per code file name, so modules sharing a
// file name (an executable mapped twice) all show the last lookup made
// under that name.
func (r *Result) moduleStats(i int) ModuleSymbols {
	name := minidump.Basename(r.Dump.Modules[i].Name)
	best := r.Modules[i]
	for j := range r.Modules {
		if j == i || r.Modules[j].Seq <= best.Seq || minidump.Basename(r.Dump.Modules[j].Name) != name {
			continue
		}
		best = r.Modules[j]
	}
	return best
}

func (r *Result) jsonFrame(i int, f *Frame) JSONFrame {
	d := r.Dump
	jf := JSONFrame{Frame: i, Offset: d.Hex(f.Instruction), Trust: f.Trust.String(), MissingSymbols: !f.HasFunction}
	if f.Module >= 0 {
		m := &d.Modules[f.Module]
		jf.Module = strp(minidump.Basename(m.Name))
		jf.ModuleOffset = strp(d.Hex(f.Instruction - m.Base))
	}
	if f.HasFunction {
		jf.Function = strp(f.Function)
		jf.FunctionOffset = strp(d.Hex(f.Instruction - f.FunctionBase))
	}
	if f.HasLine {
		jf.File = strp(f.File)
		line := f.Line
		jf.Line = &line
	}
	for _, in := range f.Inlines {
		ji := JSONInline{Function: in.Function, File: optStr(in.File)}
		if in.Line != 0 {
			line := in.Line
			ji.Line = &line
		}
		jf.Inlines = append(jf.Inlines, ji)
	}
	for _, u := range f.Unloaded {
		ju := JSONUnloadedFrame{Module: u.Name}
		for _, off := range u.Offsets {
			ju.Offsets = append(ju.Offsets, d.Hex(off))
		}
		jf.UnloadedModule = append(jf.UnloadedModule, ju)
	}
	return jf
}

// WriteJSON writes the document like minidump-stackwalk --json (compact) or
// --json --pretty (two-space indent), byte for byte: no HTML escaping and no
// trailing newline.
func (r *Result) WriteJSON(w io.Writer, pretty bool) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if pretty {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(r.JSON()); err != nil {
		return err
	}
	_, err := w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	return err
}

// JSONMemoryAccess is one crash_info.memory_accesses entry; access_type
// and is_likely_guard_page appear only when known / true.
type JSONMemoryAccess struct {
	AccessType        string `json:"access_type,omitempty"`
	Address           string `json:"address"`
	IsLikelyGuardPage bool   `json:"is_likely_guard_page,omitempty"`
	Size              *int   `json:"size"`
}

// JSONInstructionPointerUpdate is crash_info.instruction_pointer_update.
type JSONInstructionPointerUpdate struct {
	Address           string `json:"address"`
	IsLikelyGuardPage bool   `json:"is_likely_guard_page,omitempty"`
}

// JSONAdjustedAddress is crash_info.adjusted_address: kind
// "non-canonical" with address, or "null-pointer" with offset.
type JSONAdjustedAddress struct {
	Address *string `json:"address,omitempty"`
	Kind    string  `json:"kind"`
	Offset  *string `json:"offset,omitempty"`
}

// JSONBitFlip is one crash_info.possible_bit_flips entry.
type JSONBitFlip struct {
	Address        string             `json:"address"`
	Confidence     float64            `json:"confidence"`
	Details        JSONBitFlipDetails `json:"details"`
	SourceRegister *string            `json:"source_register"`
}

// JSONBitFlipDetails are the heuristics behind a bit flip's confidence.
type JSONBitFlipDetails struct {
	IsNull          bool   `json:"is_null"`
	NearbyRegisters uint32 `json:"nearby_registers"`
	PoisonRegisters bool   `json:"poison_registers"`
	WasLow          bool   `json:"was_low"`
	WasNonCanonical bool   `json:"was_non_canonical"`
}

func fillCrashInfo(ci *JSONCrashInfo, info *crashinfo.Info, hex func(uint64) string) {
	ci.CrashInconsistencies = info.Inconsistencies
	ci.Instruction = optStr(info.Instruction)
	if info.Accesses != nil {
		acc := make([]JSONMemoryAccess, 0, len(info.Accesses))
		for _, a := range info.Accesses {
			ja := JSONMemoryAccess{AccessType: a.Type.String(), Address: hex(a.Address), IsLikelyGuardPage: a.GuardPage}
			if a.Size > 0 {
				size := a.Size
				ja.Size = &size
			}
			acc = append(acc, ja)
		}
		ci.MemoryAccesses = mustJSON(acc)
	}
	if u := info.IPUpdate; u != nil {
		ci.InstructionPointerUpdate = mustJSON(JSONInstructionPointerUpdate{Address: hex(u.Address), IsLikelyGuardPage: u.GuardPage})
	}
	if a := info.Adjusted; a != nil {
		ja := JSONAdjustedAddress{Kind: "null-pointer", Offset: strp(hex(a.Address))}
		if a.NonCanonical {
			ja = JSONAdjustedAddress{Kind: "non-canonical", Address: strp(hex(a.Address))}
		}
		ci.AdjustedAddress = mustJSON(ja)
	}
	if len(info.BitFlips) > 0 {
		flips := make([]JSONBitFlip, 0, len(info.BitFlips))
		for _, f := range info.BitFlips {
			flips = append(flips, JSONBitFlip{Address: hex(f.Address), Confidence: float64(f.Confidence),
				SourceRegister: optStr(f.Register), Details: JSONBitFlipDetails{IsNull: f.IsNull,
					NearbyRegisters: f.NearbyRegisters, PoisonRegisters: f.PoisonRegisters, WasLow: f.WasLow,
					WasNonCanonical: f.WasNonCanonical}})
		}
		ci.PossibleBitFlips = mustJSON(flips)
	}
}

// mustJSON encodes values whose types cannot fail to encode.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return jsonNull()
	}
	return b
}
