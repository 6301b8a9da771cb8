// Package javatrace makes the public form of a Java stack trace (the
// JavaStackTrace annotation of Android crashes): the exception class and
// its frames, without the exception message, whose text can hold e-mail
// addresses, URLs or tokens, and without the "Caused by:" and
// "Suppressed:" sections, which carry messages of their own. This is the
// form Socorro publishes as java_stack_trace; the raw text stays in the
// protected java_stack_trace_raw.
package javatrace

import (
	"regexp"
	"strings"
	"sync"
)

// Malformed is the public form of a trace that does not parse.
const Malformed = "malformed"

// className is what a Java (or Kotlin) exception class name looks like;
// anything else on the first line could be a message and is refused.
// Compiled on first use (its Unicode classes cost more than any other
// package initialiser of the crashstream binary, which every tool command
// would pay at start).
var className = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[\p{L}_$][\p{L}\p{N}_$]*(\.[\p{L}_$][\p{L}\p{N}_$]*)*$`)
})

// Public returns the class of the first exception and its frame lines,
// each behind one tab, or Malformed. It is idempotent: the public form of a
// public form is itself, so it can be applied again at every output.
func Public(raw string) string {
	if raw == Malformed {
		return Malformed
	}
	lines := strings.Split(strings.ReplaceAll(raw, "\r\n", "\n"), "\n")
	i := 0
	for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	if i == len(lines) {
		return ""
	}
	class, _, _ := strings.Cut(lines[i], ":")
	class = strings.TrimSpace(class)
	if !className().MatchString(class) {
		return Malformed
	}
	i++
	// The message runs until the first frame line; it may span lines.
	for i < len(lines) && !strings.HasPrefix(lines[i], "\tat ") {
		i++
	}
	out := []string{class}
	frames := 0
	for ; i < len(lines); i++ {
		line := lines[i]
		if strings.TrimSpace(line) == "" {
			continue
		}
		rest := strings.TrimSpace(line)
		if strings.HasPrefix(rest, "Caused by:") || strings.HasPrefix(rest, "Suppressed:") {
			break
		}
		if line[0] != '\t' {
			return Malformed
		}
		out = append(out, "\t"+strings.TrimLeft(line[1:], " "))
		frames++
	}
	if frames == 0 {
		return class + "\n"
	}
	return strings.Join(out, "\n")
}
