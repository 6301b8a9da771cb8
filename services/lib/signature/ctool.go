package signature

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// MaxFrames is how many frames, inlines counted, signature generation looks
// at; frames deeper than this cannot change a signature.
const MaxFrames = 40

// errLookup stands for Python's KeyError or IndexError while the frame list
// is built. Socorro's handler for those calls a method its result type lacks,
// so the rule fails with that AttributeError instead; lookupFailure keeps the
// note identical.
var errLookup = errors.New("lookup failed")

const lookupFailure = "'Result' object has no attribute 'note'"

// rust134Panics maps Rust 1.34 panic functions, which its symbol files
// emitted without their module path, to their full names so that the
// sentinel list still finds them. Keyed by source file, then function.
var rust134Panics = map[[2]string]string{
	{"src/liballoc/raw_vec.rs", "capacity_overflow"}:       "alloc::raw_vec::capacity_overflow",
	{"src/libcore/option.rs", "expect_failed"}:             "core::option::expect_failed",
	{"src/libcore/panicking.rs", "panic_bounds_check"}:     "core::panicking::panic_bounds_check",
	{"src/libcore/panicking.rs", "panic_fmt"}:              "core::panicking::panic_fmt",
	{"src/libcore/panicking.rs", "panic"}:                  "core::panicking::panic",
	{"src/libcore/slice/mod.rs", "slice_index_order_fail"}: "core::slice::slice_index_order_fail",
	{"src/libstd/panicking.rs", "begin_panic_fmt"}:         "std::panicking::begin_panic_fmt",
	{"src/libstd/panicking.rs", "continue_panic_fmt"}:      "std::panicking::continue_panic_fmt",
	{"src/libstd/panicking.rs", "rust_panic_with_hook"}:    "std::panicking::rust_panic_with_hook",
}

// sourceFileName extracts the path from a frame's file, which may be a VCS
// reference ("hg:host/repo:path:rev"), a Windows path ("c:\..."), or a Unix
// path; anything else has no usable name (ok false).
func sourceFileName(file string) (string, bool) {
	if file == "" {
		return "", false
	}
	parts := strings.Split(file, ":")
	switch {
	case len(parts) == 4:
		return parts[2], true
	case len(parts) == 2:
		return parts[1], true
	case strings.HasPrefix(file, "/"):
		return file, true
	}
	return "", false
}

// sourceFileOf is sourceFileName for a JSON value: a falsy value has no
// name, and a non-string truthy value is an error, as in Socorro.
func sourceFileOf(file any) (string, bool, error) {
	if !truthy(file) {
		return "", false, nil
	}
	s, ok := file.(string)
	if !ok {
		return "", false, errNoAttr(file, "split")
	}
	name, ok := sourceFileName(s)
	return name, ok, nil
}

// stackFrame is one entry of the flattened stack: a real frame or one of its
// inlined functions. Values stay loosely typed until normalization.
type stackFrame struct {
	module, function, file, line, offset, unloaded any
}

// frameList flattens the thread's frames (each frame's inlines first) and
// normalizes the first MaxFrames of them. It evaluates frames lazily, as
// Socorro does, so that junk past the limit cannot fail the rule.
func (g *Generator) frameList(thread any, lowerModules bool) ([]string, error) {
	framesV, err := getOr(thread, "frames", []any{})
	if err != nil {
		return nil, err
	}
	frames, err := pyIter(framesV)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, min(len(frames), MaxFrames))
	emit := func(f stackFrame) error {
		s, err := g.normalizeStackFrame(f, lowerModules)
		if err != nil {
			return err
		}
		out = append(out, s)
		return nil
	}
	for _, frame := range frames {
		if len(out) >= MaxFrames {
			break
		}
		inlinesV, err := get(frame, "inlines")
		if err != nil {
			return nil, err
		}
		fm := frame.(map[string]any)
		if truthy(inlinesV) {
			inlines, err := pyIter(inlinesV)
			if err != nil {
				return nil, err
			}
			for _, inl := range inlines {
				if len(out) >= MaxFrames {
					return out, nil
				}
				im, ok := inl.(map[string]any)
				if !ok {
					return nil, errNoAttr(inl, "get")
				}
				err := emit(stackFrame{module: fm["module"], function: im["function"], file: im["file"],
					line: im["line"], offset: fm["offset"]})
				if err != nil {
					return nil, err
				}
			}
			if len(out) >= MaxFrames {
				break
			}
		}
		err = emit(stackFrame{module: fm["module"], function: fm["function"], file: fm["file"],
			line: fm["line"], offset: fm["offset"], unloaded: fm["unloaded_modules"]})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// normalizeStackFrame picks the most meaningful text for a frame: the
// normalized function, else file#line, else the module, else the first
// unloaded module, else the address; "" when there is nothing.
func (g *Generator) normalizeStackFrame(f stackFrame, lowerModules bool) (string, error) {
	// Fix Rust 1.34's module-less panic names first.
	fileName, hasName, err := sourceFileOf(f.file)
	if err != nil {
		return "", err
	}
	switch fn := f.function.(type) {
	case []any, map[string]any:
		return "", failf("unhashable type: '%s'", pyType(fn))
	case string:
		if hasName {
			if full, ok := rust134Panics[[2]string{fileName, fn}]; ok {
				f.function = full
			}
		}
	}
	if lowerModules && truthy(f.module) {
		m, ok := f.module.(string)
		if !ok {
			return "", errNoAttr(f.module, "lower")
		}
		f.module = pyLower(m)
	}

	if truthy(f.function) {
		fn, isStr := f.function.(string)
		if hasName && strings.HasSuffix(fileName, ".rs") {
			if !isStr {
				return "", failf("'%s' object is not iterable", pyType(f.function))
			}
			return g.norm.rust(fn, f.line)
		}
		if !isStr {
			return "", errNoAttr(f.function, "endswith")
		}
		return g.norm.cpp(fn, f.line)
	}
	if truthy(f.file) && truthy(f.line) {
		file := strings.TrimRight(f.file.(string), "/\\")
		sep := "/"
		if strings.Contains(file, "\\") {
			sep = "\\"
		}
		file = file[strings.LastIndex(file, sep)+1:]
		return file + "#" + pyStr(f.line), nil
	}
	if truthy(f.module) {
		m, ok := f.module.(string)
		if !ok {
			return "", errNoAttr(f.module, "strip")
		}
		return strings.Trim(m, "[]"), nil
	}
	if truthy(f.unloaded) {
		var first any
		switch u := f.unloaded.(type) {
		case []any:
			first = u[0]
		case string:
			first = string([]rune(u)[0])
		case map[string]any:
			return "", errLookup
		default:
			return "", failf("'%s' object is not subscriptable", pyType(u))
		}
		m, err := get(first, "module")
		if err != nil {
			return "", err
		}
		return "(unloaded " + pyStr(m) + ")", nil
	}
	if truthy(f.offset) {
		return "@" + stripLeadingZeros(f.offset), nil
	}
	return "", nil
}

// stripLeadingZeros renders a hex address without padding ("0x0000abc" ->
// "0xabc"); a value that is not a hex string is shown as it is.
func stripLeadingZeros(v any) string {
	s, ok := v.(string)
	if !ok {
		return pyStr(v)
	}
	n, err := parsePyInt(s, 16)
	if err != nil {
		return s
	}
	if n.Sign() < 0 {
		return "-0x" + new(big.Int).Neg(n).Text(16)
	}
	return "0x" + n.Text(16)
}

// isCollapsibleRepeat reports whether consecutive copies of a frame add
// nothing: bare library names and placeholder symbols.
func isCollapsibleRepeat(s string) bool {
	if strings.HasPrefix(s, "(unloaded") {
		return false
	}
	lower := pyLower(s)
	return strings.HasSuffix(lower, ".dll") || strings.HasSuffix(lower, ".so") ||
		s == "XUL" || s == "<name omitted>" || strings.HasPrefix(s, "<unknown in")
}

// assemble builds the signature from normalized frames: start at the
// earliest sentinel, skip irrelevant frames and repeated libraries, keep
// prefix frames and stop after the first frame that is not a prefix.
func (g *Generator) assemble(frames []string, crashingThread *big.Int) (string, []string) {
	start := -1
	for _, s := range g.lists.Sentinels {
		for i, f := range frames {
			if f == s {
				if start < 0 || i < start {
					start = i
				}
				break
			}
		}
	}
	if start > 0 {
		frames = frames[start:]
	}
	var parts []string
	for _, f := range frames {
		if f == "" || g.lists.Irrelevant.MatchString(f) {
			continue
		}
		if len(parts) > 0 && f == parts[len(parts)-1] && isCollapsibleRepeat(f) {
			continue
		}
		parts = append(parts, f)
		if !g.lists.Prefix.MatchString(f) {
			break
		}
	}
	if sig := strings.Join(parts, " | "); sig != "" {
		return sig, nil
	}
	notes := []string{fmt.Sprintf("CSignatureTool: no frame data for crashing thread (%s)", crashingThread)}
	if len(frames) > 0 {
		// Every frame was irrelevant: the top one is better than nothing.
		return frames[0], notes
	}
	return "EMPTY: no frame data available", notes
}
