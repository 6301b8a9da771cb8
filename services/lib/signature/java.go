package signature

import (
	"regexp"
	"strings"
)

var (
	// javaLineNumber drops the line number of the top Java frame, which
	// changes with every edit of the file.
	javaLineNumber = regexp.MustCompile(`\.java:\p{Nd}+\)(\n?)\z`)
	// javaHexAddr hides object addresses in exception messages.
	javaHexAddr = regexp.MustCompile(`@[0-9a-f]{8}`)
)

const (
	javaMaxDescription = 255
	javaBadFormat      = "EMPTY: Java stack trace not in expected format"
	javaExcBadFormat   = "EMPTY: Java exception not in expected format"
)

// joinNonEmpty joins the non-empty strings.
func joinNonEmpty(sep string, parts ...string) string {
	kept := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}

// javaStackTraceSignature builds "<Exception class>: <description> <top
// method>" from a JavaStackTrace annotation.
func javaStackTraceSignature(source any) (string, []string) {
	text, ok := source.(string)
	if !ok {
		return javaBadFormat, []string{"JavaSignatureTool: stack trace not in expected format"}
	}
	lines := pySplitLines(text)
	if len(lines) == 0 {
		return javaBadFormat, []string{"JavaSignatureTool: stack trace not in expected format"}
	}
	var notes []string
	first := pyStrip(lines[0])
	class, description, found := strings.Cut(first, ":")
	if found {
		class = pyStrip(class)
		description = pyStrip(javaHexAddr.ReplaceAllLiteralString(description, "@<addr>"))
	} else {
		class, description = first, ""
		notes = append(notes, "JavaSignatureTool: stack trace line 1 is not in the expected format")
	}
	method := ""
	if len(lines) > 1 {
		method = javaLineNumber.ReplaceAllString(pyStrip(lines[1]), ".java)$1")
		if method == "" {
			notes = append(notes, "JavaSignatureTool: stack trace line 2 is empty")
		}
	} else {
		notes = append(notes, "JavaSignatureTool: stack trace line 2 is missing")
	}
	var sig string
	if strings.HasSuffix(description, "<addr>") {
		sig = joinNonEmpty(": ", class, description, method)
	} else {
		// Socorro keeps a historical quirk: without a trailing <addr> the
		// description and the method are joined by a space, not ": ".
		sig = joinNonEmpty(": ", class, joinNonEmpty(" ", description, method))
	}
	if runeLen(sig) > javaMaxDescription {
		sig = class + ": " + method
		notes = append(notes, "JavaSignatureTool: dropped Java exception description due to length")
	}
	return sig, notes
}

// javaExceptionSignature builds "<module>.<type>: at <frame>" from the first
// frame of the first exception in a structured JavaException annotation.
func javaExceptionSignature(source any) (string, []string, error) {
	bad := []string{"JavaExceptionSignatureTool: value not in expected format"}
	if _, ok := source.(map[string]any); !ok {
		return javaExcBadFormat, bad, nil
	}
	stack, _ := glomPath(source, "exception", "values", "0", "stacktrace")
	if !truthy(stack) {
		return javaExcBadFormat, bad, nil
	}
	st, ok := stack.(map[string]any)
	if !ok {
		return "", nil, errNoAttr(stack, "get")
	}
	module, _ := getOr(st, "module", "")
	typ, _ := getOr(st, "type", "Unknown")
	class := pyStr(typ)
	if truthy(module) && truthy(typ) {
		class = pyStr(module) + "." + pyStr(typ)
	}
	framesV := st["frames"]
	if !truthy(framesV) {
		return class, nil, nil
	}
	frames, err := pyIter(framesV)
	if err != nil {
		return "", nil, err
	}
	var top string
	for i, f := range frames {
		s, err := javaFrame(f)
		if err != nil {
			return "", nil, err
		}
		if i == 0 {
			top = s
		}
	}
	return class + ": at " + top, nil, nil
}

// javaFrame renders "<module>.<function>(<filename>)" with missing parts left
// out, or "unknown".
func javaFrame(frame any) (string, error) {
	module, err := getOr(frame, "module", "")
	if err != nil {
		return "", err
	}
	fm := frame.(map[string]any)
	function, _ := getOr(fm, "function", "")
	var sig any = ""
	switch {
	case truthy(module) && truthy(function):
		ms, ok1 := module.(string)
		fs, ok2 := function.(string)
		if !ok1 {
			return "", failf("sequence item 0: expected str instance, %s found", pyType(module))
		}
		if !ok2 {
			return "", failf("sequence item 1: expected str instance, %s found", pyType(function))
		}
		sig = ms + "." + fs
	case truthy(module):
		sig = module
	case truthy(function):
		sig = function
	}
	filename, _ := getOr(fm, "filename", "")
	switch {
	case truthy(sig) && truthy(filename):
		return pyStr(sig) + "(" + pyStr(filename) + ")", nil
	case truthy(sig):
		return pyStr(sig), nil
	}
	return "unknown", nil
}
