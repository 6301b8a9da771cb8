package rules

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/services/lib/stackwalk"
	"github.com/crashstream/crashstream/storage/objectstore"
)

// Walker walks one minidump; *stackwalk.Stackwalker is the in-process one.
// Implementations bound their own time and memory per dump.
type Walker interface {
	Process(ctx context.Context, dump []byte) (*stackwalk.Result, error)
}

// HangGuard wraps w so that a walk that outlives limit is given up: the
// walker honours its context, so this only fires on a walker bug, and then
// the walk's goroutine is abandoned rather than the partition stalled. The
// walk runs in its own goroutine, where no caller's recover reaches, so the
// guard also turns a walker panic into the walk's error (a hostile dump
// must not take the processor down): the walk's one panic guard.
func HangGuard(w Walker, limit time.Duration) Walker { return hangGuard{w: w, limit: limit} }

type hangGuard struct {
	w     Walker
	limit time.Duration
}

func (g hangGuard) Process(ctx context.Context, dump []byte) (*stackwalk.Result, error) {
	type out struct {
		res *stackwalk.Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- out{nil, fmt.Errorf("stackwalker panicked: %v", p)}
			}
		}()
		r, err := g.w.Process(ctx, dump)
		done <- out{r, err}
	}()
	t := time.NewTimer(g.limit)
	defer t.Stop()
	select {
	case o := <-done:
		return o.res, o.err
	case <-t.C:
		return nil, fmt.Errorf("stackwalker did not finish within %s: %w", g.limit, context.DeadlineExceeded)
	}
}

// StackwalkerVersion names the walker in processed crashes.
const StackwalkerVersion = "crashstream-stackwalk 1"

// Stackwalk walks every upload_file_minidump* dump. The main dump's output
// becomes json_dump; the others are listed in additional_minidumps. Like
// Socorro's MinidumpStackwalkRule it never fails the crash: an empty,
// corrupt or hostile dump gives a status string and a note, and the crash
// is still processed with what the annotations say.
func Stackwalk(w Walker) Rule {
	return Func("MinidumpStackwalk", func(ctx context.Context, c *Crash) error {
		pc := c.Processed
		var names []string
		for name := range c.Dumps {
			if isMinidumpName(name) {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		pc.AdditionalMinidumps = nil
		for _, name := range names {
			if name != objectstore.MainDumpField {
				pc.AdditionalMinidumps = append(pc.AdditionalMinidumps, name)
			}
		}
		pc.Success = ptr(false)
		dump, ok := c.Dumps[objectstore.MainDumpField]
		if !ok {
			pc.MDSWStatusString = "NoMinidump"
			c.Note("MinidumpStackwalk: " + errNoDump.Error())
			return nil
		}
		if len(dump) == 0 {
			pc.MDSWStatusString = "EmptyMinidump"
			c.Note("MinidumpStackwalk: the minidump is empty (0 bytes)")
			return nil
		}
		res, err := w.Process(ctx, dump)
		if err != nil {
			pc.MDSWStatusString = statusOf(err)
			pc.MDSWReturnCode = ptr(int64(1))
			pc.MDSWStderr = err.Error()
			c.Note("MinidumpStackwalk: " + err.Error())
			return nil
		}
		doc, err := json.Marshal(res.JSON())
		if err != nil {
			return fmt.Errorf("encoding stackwalk output: %w", err)
		}
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		var generic map[string]any
		if err := dec.Decode(&generic); err != nil {
			return fmt.Errorf("decoding stackwalk output: %w", err)
		}
		// Numbers stay json.Number, exactly as siggen sees them in JSON.
		c.JSONDump = generic
		pc.MDSWReturnCode = ptr(int64(0))
		pc.StackwalkVersion = StackwalkerVersion
		pc.MDSWStatusString = strOf(c.JSONDump["status"])
		if pc.MDSWStatusString == "" {
			pc.MDSWStatusString = "OK"
		}
		pc.Success = ptr(pc.MDSWStatusString == "OK")
		if res.Incomplete != nil {
			c.Note("MinidumpStackwalk: walk incomplete: " + res.Incomplete.Error())
		}
		return nil
	})
}

func statusOf(err error) string {
	switch {
	case errors.Is(err, stackwalk.ErrDumpTooLarge):
		return "ERROR_DUMP_TOO_LARGE"
	case errors.Is(err, context.DeadlineExceeded):
		return "ERROR_TIMEOUT"
	// Socorro takes the word after "ERROR" in minidump-stackwalk's log,
	// which for these two is the error's name.
	case errors.Is(err, stackwalk.ErrMissingThreadList):
		return "MissingThreadList"
	case errors.Is(err, stackwalk.ErrMissingSystemInfo):
		return "MissingSystemInfo"
	}
	return "ERROR_MINIDUMP_READ"
}

// TypedStack copies the crashing thread's frames and the modules into the
// processed crash's typed records (the full output stays in json_dump), and
// stores json_dump itself.
func TypedStack() Rule {
	return Func("TypedStack", func(_ context.Context, c *Crash) error {
		pc := c.Processed
		if c.JSONDump == nil {
			return nil
		}
		pc.CrashingThreadFrames = pc.CrashingThreadFrames[:0]
		for _, f := range c.crashingFrames() {
			if _, truncated := f["truncated"]; truncated {
				continue
			}
			fr := schemas.Frame{
				Module: strOf(f["module"]), Function: strOf(f["function"]), File: strOf(f["file"]),
				Offset: strOf(f["offset"]), ModuleOffset: strOf(f["module_offset"]),
				FunctionOffset: strOf(f["function_offset"]), Trust: strOf(f["trust"]),
			}
			if n, ok := asInt(f["frame"]); ok {
				fr.Frame = n
			}
			if n, ok := asInt(f["line"]); ok {
				fr.Line = ptr(n)
			}
			fr.MissingSymbols, _ = f["missing_symbols"].(bool)
			pc.CrashingThreadFrames = append(pc.CrashingThreadFrames, fr)
		}
		mods, _ := c.dumpPath("modules").([]any)
		pc.Modules = pc.Modules[:0]
		for _, m := range mods {
			mm, _ := m.(map[string]any)
			mod := schemas.Module{
				Filename: strOf(mm["filename"]), DebugFile: strOf(mm["debug_file"]), DebugID: strOf(mm["debug_id"]),
				CodeID: strOf(mm["code_id"]), Version: strOf(mm["version"]), BaseAddr: strOf(mm["base_addr"]),
				EndAddr: strOf(mm["end_addr"]), SymbolURL: strOf(mm["symbol_url"]),
			}
			mod.LoadedSymbols, _ = mm["loaded_symbols"].(bool)
			mod.MissingSymbols, _ = mm["missing_symbols"].(bool)
			mod.CorruptSymbols, _ = mm["corrupt_symbols"].(bool)
			pc.Modules = append(pc.Modules, mod)
		}
		b, err := json.Marshal(c.JSONDump)
		if err != nil {
			return err
		}
		pc.JSONDump = string(b)
		return nil
	})
}

// crashAddress is crash_info.address, adjusted as Socorro's
// CrashingThreadInfoRule does: null for a null pointer with an offset (in
// the address's width), the real address for a non-canonical access.
func crashAddress(c *Crash) string {
	addr := c.dumpString("crash_info", "address")
	adj, _ := c.dumpPath("crash_info", "adjusted_address").(map[string]any)
	switch strOf(adj["kind"]) {
	case "null-pointer":
		if len(addr) == 18 {
			return "0x0000000000000000"
		}
		return "0x00000000"
	case "non-canonical":
		if a := strOf(adj["address"]); a != "" {
			return a
		}
	}
	return addr
}

// PossibleBitFlips sets possible_bit_flips_max_confidence, the highest
// confidence among crash_info.possible_bit_flips scaled to 0..100 and
// truncated (Socorro's PossibleBitFlipsRule), so bad hardware can be
// searched for and charted.
func PossibleBitFlips() Rule {
	return Func("PossibleBitFlips", func(_ context.Context, c *Crash) error {
		flips, _ := c.dumpPath("crash_info", "possible_bit_flips").([]any)
		found := false
		best := 0.0
		for _, f := range flips {
			m, _ := f.(map[string]any)
			v := 0.0
			switch n := m["confidence"].(type) {
			case json.Number:
				v, _ = n.Float64()
			case float64:
				v = n
			}
			if !found || v > best {
				best, found = v, true
			}
		}
		if found {
			c.Processed.PossibleBitFlipsMaxConfidence = ptr(int64(best * 100))
		}
		return nil
	})
}

// HasGuardPageAccess sets has_guard_page_access when one of the faulting
// instruction's memory accesses hit a likely guard page (Socorro's
// HasGuardPageAccessRule: only ever set to true).
func HasGuardPageAccess() Rule {
	return Func("HasGuardPageAccess", func(_ context.Context, c *Crash) error {
		accesses, _ := c.dumpPath("crash_info", "memory_accesses").([]any)
		for _, a := range accesses {
			if m, _ := a.(map[string]any); m["is_likely_guard_page"] == true {
				c.Processed.HasGuardPageAccess = ptr(true)
				return nil
			}
		}
		return nil
	})
}
