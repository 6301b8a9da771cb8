package signature

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"sort"
	"strings"
	"unicode/utf8"
)

// The rules, in pipeline order. Each has an applies (predicate) and an
// action; see New for the order and the doc of each for what it marks.

// generateFromStack is SignatureGenerationRule: the Java stack trace, else
// the Java exception, else the crashing thread's stack.
func (g *Generator) generateFromStack(d CrashData, s *state) error {
	if jst := d["java_stack_trace"]; truthy(jst) {
		sig, notes := javaStackTraceSignature(jst)
		for _, n := range notes {
			s.note("%s", n)
		}
		s.Signature = sig
		return nil
	}
	if je := d["java_exception"]; truthy(je) {
		sig, notes, err := javaExceptionSignature(je)
		if err != nil {
			return err
		}
		for _, n := range notes {
			s.note("%s", n)
		}
		s.Signature = sig
		return nil
	}
	ct, err := crashingThread(d)
	if err != nil {
		return err
	}
	frames, err := g.frameList(thread(d, ct), pyEqualString(d["os"], "Windows NT"))
	if errors.Is(err, errLookup) {
		return failf("%s", lookupFailure)
	}
	if err != nil {
		return err
	}
	sig, notes := g.assemble(frames, ct)
	if len(frames) > 0 {
		s.ProtoSignature = strings.Join(frames, " | ")
		s.NormalizedFrames = frames
	}
	for _, n := range notes {
		s.note("%s", n)
	}
	if sig != "" {
		s.Signature = sig
	}
	return nil
}

// stackwalkerError appends the stackwalker's status to an EMPTY signature:
// why there were no frames matters more than that there were none.
func stackwalkerErrorApplies(d CrashData, s *state) (bool, error) {
	return strings.HasPrefix(s.Signature, "EMPTY") && truthy(d["mdsw_status_string"]), nil
}

func stackwalkerError(d CrashData, s *state) error {
	s.Signature = s.Signature + "; " + pyStr(d["mdsw_status_string"])
	return nil
}

// badHardware marks crashes whose reason points at failing hardware.
func badHardwareApplies(d CrashData, s *state) (bool, error) {
	reason := d["reason"]
	if !truthy(reason) {
		return false, nil
	}
	return pyContains(reason, "STATUS_DEVICE_DATA_ERROR")
}

func badHardware(d CrashData, s *state) error {
	s.Signature = "bad hardware | " + s.Signature
	return nil
}

// oomFragments are functions whose presence in a signature means the
// crash was an out-of-memory abort.
var oomFragments = []string{
	"NS_ABORT_OOM", "mozalloc_handle_oom", "CrashAtUnhandlableOOM",
	"AutoEnterOOMUnsafeRegion", "alloc::oom::oom",
}

// oomSmallLimit is the largest allocation (256 KiB) whose failure counts as
// "OOM | small": failing that small means memory was exhausted, and the
// stack says nothing useful.
const oomSmallLimit = 262144

func oomApplies(d CrashData, s *state) (bool, error) {
	if truthy(d["oom_allocation_size"]) {
		return true, nil
	}
	if s.Signature == "" {
		return false, nil
	}
	for _, f := range oomFragments {
		if strings.Contains(s.Signature, f) {
			return true, nil
		}
	}
	ct, err := crashingThread(d)
	if err != nil {
		return false, err
	}
	if t := thread(d, ct); truthy(t) {
		lev, err := getOr(t, "last_error_value", "")
		if err != nil {
			return false, err
		}
		if pyEqualString(lev, "ERROR_COMMITMENT_LIMIT") || pyEqualString(lev, "ERROR_NOT_ENOUGH_MEMORY") {
			return true, nil
		}
	}
	if pyEqualString(d["reason"], "STATUS_FATAL_MEMORY_EXHAUSTION") || pyEqualString(d["reason"], "STATUS_NO_MEMORY") {
		return true, nil
	}
	return pyEqualString(d["js_large_allocation_failure"], "Reporting"), nil
}

func oom(d CrashData, s *state) error {
	if pyEqualString(d["js_large_allocation_failure"], "Reporting") {
		s.Signature = "OOM | large | " + s.Signature
		return nil
	}
	size, ok, err := pyInt(d["oom_allocation_size"])
	switch {
	case !ok:
		s.Signature = "OOM | unknown | " + s.Signature
	case err != nil:
		return err
	case size.Cmp(big.NewInt(oomSmallLimit)) <= 0:
		s.Signature = "OOM | small"
	default:
		s.Signature = "OOM | large | " + s.Signature
	}
	return nil
}

// abort puts the abort message (without its build-specific file and line)
// in front of the signature.
func abortApplies(d CrashData, s *state) (bool, error) {
	return truthy(d["abort_message"]), nil
}

const abortMaxLength = 80

func abort(d CrashData, s *state) error {
	msg, err := abortText(d["abort_message"])
	if err != nil {
		return err
	}
	if msg == nil {
		// Only a file name and line: nothing worth showing.
		s.Signature = "Abort | " + s.Signature
		return nil
	}
	text := pyStrip(printableASCII(*msg))
	if len(text) > abortMaxLength {
		text = text[:abortMaxLength-3] + "..."
	}
	s.Signature = "Abort | " + text + " | " + s.Signature
	return nil
}

// abortText extracts the message part of an abort message; nil means the
// message carries nothing but a location.
func abortText(v any) (*string, error) {
	msg, ok := v.(string)
	if !ok {
		return abortTextOfNonString(v)
	}
	if strings.Contains(msg, "###!!! ABORT: file ") {
		return nil, nil
	}
	if _, after, found := strings.Cut(msg, "###!!! ABORT:"); found {
		msg = after
	}
	if before, _, found := strings.Cut(msg, ": file "); found {
		msg = before
	}
	if strings.Contains(msg, "unable to find a usable font") {
		// These carry a localized message in parentheses (bug 1385966).
		if open := strings.IndexByte(msg, '('); open >= 0 {
			if end := strings.LastIndexByte(msg, ')'); end >= 0 {
				msg = msg[:open] + msg[end+1:]
			}
		}
	}
	return &msg, nil
}

// abortTextOfNonString follows Socorro on a list or object where a string
// belongs: its membership tests and character filter still work on them.
func abortTextOfNonString(v any) (*string, error) {
	found, err := pyContains(v, "###!!! ABORT: file ")
	if err != nil || found {
		return nil, err
	}
	for _, needle := range []string{"###!!! ABORT:", ": file "} {
		if f, _ := pyContains(v, needle); f {
			return nil, errNoAttr(v, "split")
		}
	}
	if f, _ := pyContains(v, "unable to find a usable font"); f {
		return nil, errNoAttr(v, "find")
	}
	items, _ := pyIter(v)
	var b strings.Builder
	for _, it := range items {
		if c, ok := it.(string); ok && utf8.RuneCountInString(c) == 1 {
			b.WriteString(c)
		}
	}
	text := b.String()
	return &text, nil
}

// printableASCII keeps the characters 0x20-0x7e.
func printableASCII(s string) string {
	keep := func(c byte) bool {
		return c >= 0x20 && c <= 0x7e
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if !keep(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if keep(s[i]) {
			b = append(b, s[i])
		}
	}
	return string(b)
}

// shutdownTimeout replaces the signature with the AsyncShutdownTimeout
// phase and blockers: the stack of a shutdown timeout is always the same
// watchdog, the blockers are what differs.
func shutdownTimeoutApplies(d CrashData, s *state) (bool, error) {
	return truthy(d["async_shutdown_timeout"]), nil
}

func shutdownTimeout(d CrashData, s *state) error {
	raw := d["async_shutdown_timeout"]
	text, ok := raw.(string)
	if !ok {
		return failf("the JSON object must be str, bytes or bytearray, not %s", pyType(raw))
	}
	parts := []string{"AsyncShutdownTimeout"}
	parsed, perr := decodePythonJSON(text)
	if perr != nil {
		parts = append(parts, "UNKNOWN")
		s.note("Error parsing AsyncShutdownTimeout: %s", perr)
	} else {
		more, err := shutdownParts(parsed, s)
		if err != nil {
			return err
		}
		parts = append(parts, more...)
	}
	s.note("Signature replaced with a Shutdown Timeout signature, was: \"%s\"", s.Signature)
	s.Signature = strings.Join(parts, " | ")
	return nil
}

// shutdownParts returns the phase and the sorted condition names. A
// condition object without a name ends the list with "UNKNOWN".
func shutdownParts(parsed any, s *state) ([]string, error) {
	phase, err := get(parsed, "phase")
	if err != nil {
		return nil, err
	}
	var parts []string
	if p, ok := phase.(string); ok {
		parts = append(parts, p)
	} else {
		parts = append(parts, "(unknown)")
	}
	condsV := parsed.(map[string]any)["conditions"]
	if !truthy(condsV) {
		return append(parts, "(none)"), nil
	}
	conds, err := pyIter(condsV)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(conds))
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok {
			name, ok := m["name"]
			if !ok {
				s.note("Error parsing AsyncShutdownTimeout: 'name'")
				return append(parts, "UNKNOWN"), nil
			}
			c = name
		}
		names = append(names, pyStr(c))
	}
	if len(names) == 0 {
		return append(parts, "(none)"), nil
	}
	sort.Strings(names)
	return append(parts, strings.Join(names, ",")), nil
}

// decodePythonJSON decodes one JSON document like Python's json.loads:
// numbers keep their literal form, trailing data is an error, and the
// common errors (no value, extra data) are worded as Python words them,
// since they end up in notes.
func decodePythonJSON(text string) (any, error) {
	start := len(text) - len(strings.TrimLeft(text, jsonSpace))
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if start == len(text) || !strings.ContainsRune("{[\"", rune(text[start])) {
			return nil, pyJSONError("Expecting value", text, start)
		}
		return nil, err
	}
	end := int(dec.InputOffset())
	if rest := strings.TrimLeft(text[end:], jsonSpace); rest != "" {
		return nil, pyJSONError("Extra data", text, len(text)-len(rest))
	}
	return v, nil
}

// jsonSpace is JSON's whitespace, which is all Python's decoder skips.
const jsonSpace = " \t\n\r"

// pyJSONError formats "<msg>: line L column C (char N)" for a byte offset,
// counting characters as Python does.
func pyJSONError(msg, doc string, offset int) error {
	before := doc[:offset]
	pos := utf8.RuneCountInString(before)
	line := strings.Count(before, "\n") + 1
	col := pos + 1
	if nl := strings.LastIndexByte(before, '\n'); nl >= 0 {
		col = pos - utf8.RuneCountInString(doc[:nl])
	}
	return fmt.Errorf("%s: line %d column %d (char %d)", msg, line, col, pos)
}

// runWatchdog regenerates a shutdown hang's signature from thread 0: the
// crash is an artificial one on the watchdog thread, and what matters is
// where the main thread was stuck.
func runWatchdogApplies(d CrashData, s *state) (bool, error) {
	return strings.Contains(s.Signature, "RunWatchdog"), nil
}

func (g *Generator) runWatchdog(d CrashData, s *state) error {
	main := maps.Clone(d)
	main["crashing_thread"] = 0
	self := s.rule
	s.rule = "SignatureGenerationRule" // its notes read as that rule's
	err := g.generateFromStack(main, s)
	s.rule = self
	if err != nil {
		return err
	}
	s.Signature = "shutdownhang | " + s.Signature
	return nil
}

// ipcChannelError replaces the signature of a crash caused by a broken IPC
// channel with the error, per side of the channel.
func ipcChannelErrorApplies(d CrashData, s *state) (bool, error) {
	return truthy(d["ipc_channel_error"]), nil
}

const ipcErrorMaxLength = 100

func ipcChannelError(d CrashData, s *state) error {
	dumps := d["additional_minidumps"]
	if !truthy(dumps) {
		dumps = []any{}
	}
	browser, err := pyContains(dumps, "upload_file_minidump_browser")
	if err != nil {
		return err
	}
	var text string
	switch v := d["ipc_channel_error"].(type) {
	case string:
		text = runePrefix(v, ipcErrorMaxLength)
	case []any:
		text = pyRepr(v[:min(len(v), ipcErrorMaxLength)])
	case map[string]any:
		return failf("unhashable type: 'slice'")
	default:
		return failf("'%s' object is not subscriptable", pyType(v))
	}
	side := "IPCError-content | "
	if browser {
		side = "IPCError-browser | "
	}
	s.note("IPC Channel Error stomped on signature")
	s.Signature = side + text
	return nil
}

// ipcMessageName appends the name of the IPC message being handled.
func ipcMessageNameApplies(d CrashData, s *state) (bool, error) {
	return truthy(d["ipc_message_name"]), nil
}

func ipcMessageName(d CrashData, s *state) error {
	s.Signature = s.Signature + " | IPC_Message_Name=" + pyStr(d["ipc_message_name"])
	return nil
}

// stackOverflow marks stack exhaustion, whose top frames are arbitrary.
func stackOverflowApplies(d CrashData, s *state) (bool, error) {
	return pyEqualString(d["reason"], "EXCEPTION_STACK_OVERFLOW"), nil
}

func stackOverflow(d CrashData, s *state) error {
	s.Signature = "stackoverflow | " + s.Signature
	return nil
}

// hang marks hang reports with their hang type.
func hangApplies(d CrashData, s *state) (bool, error) {
	v, ok := d["hang"]
	return ok && v != nil, nil
}

func hang(d CrashData, s *state) error {
	s.Signature = "hang: " + pyStr(d["hang"]) + " | " + s.Signature
	return nil
}

// printableCharsOnly (Socorro only, bug 1764633) keeps printable ASCII
// (0x20-0x7e), so that binary junk in symbols or annotations cannot make
// signatures that look equal but differ. Socorro's source was not at hand:
// this follows the rule's description ("remove non-printable/non-ascii
// characters") and Socorro's helper of that description, which AbortSignature
// also uses; whitespace other than the space goes too.
func printableCharsOnly(d CrashData, s *state) error {
	s.Signature = printableASCII(s.Signature)
	return nil
}

// fixWhitespace trims the signature and turns every run of whitespace
// into one space.
func fixWhitespace(d CrashData, s *state) error {
	sig := pyStrip(s.Signature)
	var b strings.Builder
	b.Grow(len(sig))
	prevSpace := false
	for i := 0; i < len(sig); {
		r, size := utf8.DecodeRuneInString(sig[i:])
		if isPySpace(r) {
			if !prevSpace {
				b.WriteByte(' ')
			}
			prevSpace = true
		} else {
			prevSpace = false
			b.WriteString(sig[i : i+size])
		}
		i += size
	}
	s.Signature = b.String()
	return nil
}

// truncate cuts signatures longer than MaxLength characters.
func truncateApplies(d CrashData, s *state) (bool, error) {
	return runeLen(s.Signature) > MaxLength, nil
}

func truncate(d CrashData, s *state) error {
	s.Signature = runePrefix(s.Signature, MaxLength-3) + "..."
	s.note("SigTrunc: signature truncated due to length")
	return nil
}
