package rules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/crashstream/crashstream/schemas/javatrace"
	"github.com/crashstream/crashstream/schemas/protocol"
	"github.com/crashstream/crashstream/storage/objectstore"
)

// DeNull strips NUL characters from annotation names and values: some
// clients send C strings with their terminator, and NULs break every store
// downstream.
func DeNull() Rule {
	return Func("DeNull", func(_ context.Context, c *Crash) error {
		for k, v := range c.Raw {
			s, isStr := v.(string)
			clean := strings.ReplaceAll(k, "\x00", "")
			if isStr && strings.Contains(s, "\x00") {
				v = strings.ReplaceAll(s, "\x00", "")
			}
			if clean != k {
				delete(c.Raw, k)
			}
			c.Raw[clean] = v
		}
		return nil
	})
}

// CrashReportKeys records every annotation and dump name the client sent.
func CrashReportKeys() Rule {
	return Func("CrashReportKeys", func(_ context.Context, c *Crash) error {
		var keys []string
		for k := range c.Raw {
			if k != "metadata" {
				keys = append(keys, k)
			}
		}
		for k := range c.Dumps {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		c.Processed.CrashReportKeys = keys
		return nil
	})
}

// CollectorMetadata copies what the collector noted.
func CollectorMetadata() Rule {
	return Func("CollectorMetadata", func(_ context.Context, c *Crash) error {
		md, _ := c.Raw["metadata"].(map[string]any)
		notes, _ := md["collector_notes"].([]any)
		c.Processed.CollectorNotes = c.Processed.CollectorNotes[:0]
		for _, n := range notes {
			if s, ok := n.(string); ok {
				c.Processed.CollectorNotes = append(c.Processed.CollectorNotes, s)
			}
		}
		return nil
	})
}

// Identifier sets crash_id and uuid from the crash id.
func Identifier() Rule {
	return Func("Identifier", func(_ context.Context, c *Crash) error {
		c.Processed.CrashID = c.ID
		c.Processed.UUID = c.ID
		return nil
	})
}

// MinidumpSHA256 records the main dump's checksum: the collector's when it
// computed one, else computed here.
func MinidumpSHA256() Rule {
	return Func("MinidumpSha256Hash", func(_ context.Context, c *Crash) error {
		md, _ := c.Raw["metadata"].(map[string]any)
		sums, _ := md["dump_checksums"].(map[string]any)
		if s, ok := sums[objectstore.MainDumpField].(string); ok && s != "" {
			c.Processed.MinidumpSHA256Hash = s
			return nil
		}
		if b, ok := c.Dumps[objectstore.MainDumpField]; ok {
			sum := sha256.Sum256(b)
			c.Processed.MinidumpSHA256Hash = hex.EncodeToString(sum[:])
		}
		return nil
	})
}

// CrashingThreadInfo copies the crash reason, address and crashing thread
// from the stackwalk output. The address is the one the instruction
// analysis found when there is one, as Socorro: a null pointer plus an
// offset is null, a general protection fault is the non-canonical address
// the instruction used (crash_info.adjusted_address).
func CrashingThreadInfo() Rule {
	return Func("CrashingThreadInfo", func(_ context.Context, c *Crash) error {
		if c.JSONDump == nil {
			return nil
		}
		pc := c.Processed
		pc.Reason = c.dumpString("crash_info", "type")
		pc.Address = crashAddress(c)
		if idx, ok := asInt(c.dumpPath("crash_info", "crashing_thread")); ok {
			pc.CrashingThread = ptr(idx)
		}
		if t := c.crashingThread(); t != nil {
			pc.CrashingThreadName = strOf(t["thread_name"])
			pc.LastErrorValue = strOf(t["last_error_value"])
		}
		return nil
	})
}

// maxFrames is Socorro's stack truncation threshold.
const maxFrames = 500

// TruncateStacks keeps the first 250 and last 249 frames of any thread with
// more than 500, with a marker between, as Socorro does: deep recursion
// would otherwise make processed crashes huge.
func TruncateStacks() Rule {
	return Func("TruncateStacks", func(_ context.Context, c *Crash) error {
		threads, _ := c.dumpPath("threads").([]any)
		for _, t := range threads {
			tm, _ := t.(map[string]any)
			frames, _ := tm["frames"].([]any)
			if len(frames) <= maxFrames {
				continue
			}
			n := len(frames) - 499
			kept := make([]any, 0, 500)
			kept = append(kept, frames[:250]...)
			kept = append(kept, map[string]any{"truncated": map[string]any{"msg": fmt.Sprintf("%d frames truncated", n)}})
			kept = append(kept, frames[len(frames)-249:]...)
			tm["frames"] = kept
		}
		if ct, ok := c.JSONDump["crashing_thread"].(map[string]any); ok {
			frames, _ := ct["frames"].([]any)
			if len(frames) > maxFrames {
				ct["frames"] = append(append(append([]any{}, frames[:250]...),
					map[string]any{"truncated": map[string]any{"msg": fmt.Sprintf("%d frames truncated", len(frames)-499)}}),
					frames[len(frames)-249:]...)
			}
		}
		return nil
	})
}

// MajorVersion derives major_version from version ("130.0b3" -> 130).
func MajorVersion() Rule {
	return Func("MajorVersion", func(_ context.Context, c *Crash) error {
		v := c.Processed.Version
		end := 0
		for end < len(v) && v[end] >= '0' && v[end] <= '9' {
			end++
		}
		if end == 0 {
			return nil
		}
		n, err := strconv.ParseInt(v[:end], 10, 64)
		if err != nil {
			return nil
		}
		c.Processed.MajorVersion = ptr(n)
		return nil
	})
}

// ProcessType defaults the process type to "parent", as Socorro does for
// crashes of the main process, which do not send the annotation.
func ProcessType() Rule {
	return Func("ProcessType", func(_ context.Context, c *Crash) error {
		if c.Processed.ProcessType == "" {
			c.Processed.ProcessType = "parent"
		}
		return nil
	})
}

// DatesAndTimes derives uptime, install age and the startup flag. Times come
// from the client's annotations (seconds since the epoch); crash time falls
// back to the submission time.
func DatesAndTimes() Rule {
	return Func("DatesAndTimes", func(_ context.Context, c *Crash) error {
		pc := c.Processed
		crashTime := pc.SubmittedTimestamp.Unix()
		if pc.CrashTime != nil {
			crashTime = *pc.CrashTime
		} else if !pc.SubmittedTimestamp.IsZero() {
			pc.CrashTime = ptr(crashTime)
		}
		if pc.StartupTime != nil {
			pc.Uptime = ptr(max(crashTime-*pc.StartupTime, 0))
		} else if up, ok := asInt(c.dumpPath("process_uptime")); ok {
			pc.Uptime = ptr(up)
		}
		if pc.InstallTime != nil {
			pc.InstallAge = ptr(max(crashTime-*pc.InstallTime, 0))
		}
		if pc.StartupCrash == nil && pc.Uptime != nil {
			// Socorro's top-crashers flag treats uptime < 60 s as startup.
			pc.StartupCrash = ptr(*pc.Uptime < 60)
		}
		return nil
	})
}

// CPUInfo copies CPU fields from the stackwalk's system info.
func CPUInfo() Rule {
	return Func("CPUInfo", func(_ context.Context, c *Crash) error {
		if c.JSONDump == nil {
			return nil
		}
		pc := c.Processed
		pc.CPUArch = c.dumpString("system_info", "cpu_arch")
		pc.CPUInfo = c.dumpString("system_info", "cpu_info")
		if n, ok := asInt(c.dumpPath("system_info", "cpu_count")); ok {
			pc.CPUCount = ptr(n)
		}
		if v := c.dumpString("system_info", "cpu_microcode_version"); v != "" {
			pc.CPUMicrocodeVersion = v
		}
		return nil
	})
}

// OSInfo copies the OS name and version from the stackwalk's system info.
func OSInfo() Rule {
	return Func("OSInfo", func(_ context.Context, c *Crash) error {
		if c.JSONDump == nil {
			return nil
		}
		c.Processed.OSName = c.dumpString("system_info", "os")
		c.Processed.OSVersion = c.dumpString("system_info", "os_ver")
		return nil
	})
}

// OSPrettyVersion names the OS as people say it: "Windows 10", "macOS 14",
// the Linux distribution's description.
func OSPrettyVersion() Rule {
	return Func("OSPrettyVersion", func(_ context.Context, c *Crash) error {
		pc := c.Processed
		pc.OSPrettyVersion = prettyOS(pc.OSName, pc.OSVersion, c.dumpString("lsb_release", "description"), annotationOr(c, "LinuxLSBDescription"))
		return nil
	})
}

func annotationOr(c *Crash, name string) string { s, _ := c.Annotation(name); return s }

func prettyOS(name, version, lsb, lsbAnnotation string) string {
	parts := strings.SplitN(version, ".", 3)
	major, _ := strconv.Atoi(parts[0])
	minor := 0
	if len(parts) > 1 {
		minor, _ = strconv.Atoi(parts[1])
	}
	switch name {
	case "Windows NT":
		build := 0
		if len(parts) > 2 {
			build, _ = strconv.Atoi(strings.Fields(parts[2])[0])
		}
		switch {
		case major == 10 && build >= 22000:
			return "Windows 11"
		case major == 10:
			return "Windows 10"
		case major == 6 && minor == 3:
			return "Windows 8.1"
		case major == 6 && minor == 2:
			return "Windows 8"
		case major == 6 && minor == 1:
			return "Windows 7"
		case major == 6 && minor == 0:
			return "Windows Vista"
		case major == 5 && minor == 2:
			return "Windows Server 2003"
		case major == 5 && minor == 1:
			return "Windows XP"
		case major > 0:
			return fmt.Sprintf("Windows NT %d.%d", major, minor)
		}
		return "Windows Unknown"
	case "Mac OS X":
		if major >= 11 {
			return fmt.Sprintf("macOS %d", major)
		}
		if major == 10 {
			return fmt.Sprintf("OS X 10.%d", minor)
		}
		return "macOS Unknown"
	case "Linux":
		if lsb != "" {
			return lsb
		}
		if lsbAnnotation != "" {
			return lsbAnnotation
		}
		return "Linux"
	}
	return name
}

// TopMostFiles records the source file of the top frame that has one.
func TopMostFiles() Rule {
	return Func("TopMostFiles", func(_ context.Context, c *Crash) error {
		for _, f := range c.crashingFrames() {
			if file := strOf(f["file"]); file != "" {
				c.Processed.TopmostFilenames = []string{file}
				return nil
			}
		}
		return nil
	})
}

// ModulesInStack lists "filename/debug_id" of each module in the crashing
// thread's stack, in stack order, once each.
func ModulesInStack() Rule {
	return Func("ModulesInStack", func(_ context.Context, c *Crash) error {
		ids := map[string]string{}
		mods, _ := c.dumpPath("modules").([]any)
		for _, m := range mods {
			mm, _ := m.(map[string]any)
			ids[strOf(mm["filename"])] = strOf(mm["debug_id"])
		}
		seen := map[string]bool{}
		var out []string
		for _, f := range c.crashingFrames() {
			name := strOf(f["module"])
			if name == "" || seen[name] {
				continue
			}
			seen[name] = true
			out = append(out, name+"/"+ids[name])
		}
		c.Processed.ModulesInStack = out
		return nil
	})
}

// maxLoadedModules bounds loaded_modules (a process loads a few hundred).
const maxLoadedModules = 2000

// LoadedModules lists "filename/version" ("filename" without a version) of
// every module loaded in the crashed process, once each: what correlations
// compare between a signature's crashes and all crashes.
func LoadedModules() Rule {
	return Func("LoadedModules", func(_ context.Context, c *Crash) error {
		seen := map[string]bool{}
		var out []string
		mods, _ := c.dumpPath("modules").([]any)
		for _, m := range mods {
			mm, _ := m.(map[string]any)
			v := strOf(mm["filename"])
			if v == "" {
				continue
			}
			if ver := strOf(mm["version"]); ver != "" {
				v += "/" + ver
			}
			if !seen[v] && len(out) < maxLoadedModules {
				seen[v] = true
				out = append(out, v)
			}
		}
		c.Processed.LoadedModules = out
		return nil
	})
}

// MissingSymbols records the modules of the crashing thread's stack that
// had no symbols, as missing_symbols_modules (protocol.ModuleKey: debug file
// and debug id, what a symbol upload names), and notes them: when symbols
// for one of them arrive, the crash is reprocessed (the webapp's reprocess
// jobs find it by that field). Only the crashing thread's modules: they
// make the signature, and they bound the list.
func MissingSymbols() Rule {
	return Func("MissingSymbols", func(_ context.Context, c *Crash) error {
		mods, _ := c.dumpPath("modules").([]any)
		inStack := map[string]bool{}
		for _, f := range c.crashingFrames() {
			inStack[strOf(f["module"])] = true
		}
		var missing, keys []string
		seen := map[string]bool{}
		for _, m := range mods {
			mm, _ := m.(map[string]any)
			if b, _ := mm["missing_symbols"].(bool); !b || !inStack[strOf(mm["filename"])] {
				continue
			}
			missing = append(missing, strOf(mm["filename"]))
			file, id := strOf(mm["debug_file"]), strOf(mm["debug_id"])
			if file == "" || id == "" {
				continue // nothing a symbol upload could name
			}
			if k := protocol.ModuleKey(file, id); !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		c.Processed.MissingSymbolsModules = keys
		if len(missing) > 0 {
			sort.Strings(missing)
			c.Note("MissingSymbols: no symbols for " + strings.Join(missing, ", "))
		}
		return nil
	})
}

// ThreadCount records the number of threads.
func ThreadCount() Rule {
	return Func("ThreadCount", func(_ context.Context, c *Crash) error {
		if n, ok := asInt(c.dumpPath("thread_count")); ok {
			c.Processed.ThreadCount = ptr(n)
		}
		return nil
	})
}

// SoftErrors notes the reader's soft errors: parts of the dump that were
// corrupt and skipped.
func SoftErrors() Rule {
	return Func("SoftErrors", func(_ context.Context, c *Crash) error {
		if errs, ok := c.dumpPath("soft_errors").([]any); ok && len(errs) > 0 {
			c.Note(fmt.Sprintf("SoftErrors: the minidump had %d soft errors", len(errs)))
		}
		return nil
	})
}

// JavaStackTrace keeps the raw trace protected and a public copy in
// Socorro's sanitised form (schemas/javatrace): the exception class and its
// frames, without the messages of the exception and of its "Caused by:"
// and "Suppressed:" sections, which can hold personal data.
func JavaStackTrace() Rule {
	return Func("JavaStackTrace", func(_ context.Context, c *Crash) error {
		raw, ok := c.Annotation("JavaStackTrace")
		if !ok || raw == "" {
			return nil
		}
		c.Processed.JavaStackTraceRaw = raw
		c.Processed.JavaStackTrace = javatrace.Public(raw)
		if c.Processed.JavaStackTrace == javatrace.Malformed {
			c.Note("JavaStackTrace: malformed java stack trace")
		}
		return nil
	})
}

// MozCrashReason keeps the raw message protected and a public copy only
// when it is one of the fixed-text forms (MOZ_CRASH(...) from code, not from
// data): other messages may embed URLs or user data.
func MozCrashReason() Rule {
	return Func("MozCrashReason", func(_ context.Context, c *Crash) error {
		raw, ok := c.Annotation("MozCrashReason")
		if !ok || raw == "" {
			return nil
		}
		c.Processed.MozCrashReasonRaw = raw
		for _, prefix := range []string{"MOZ_CRASH(", "MOZ_RELEASE_ASSERT(", "MOZ_DIAGNOSTIC_ASSERT(", "DocumentChannel::SetLoadFlags", "IPC_"} {
			if strings.HasPrefix(raw, prefix) {
				c.Processed.MozCrashReason = raw
				return nil
			}
		}
		c.Processed.MozCrashReason = "sanitized--see moz_crash_reason_raw"
		return nil
	})
}

// errNoDump is the note for crashes without a main minidump.
var errNoDump = errors.New("no upload_file_minidump in the crash")
