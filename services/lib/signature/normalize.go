package signature

import (
	"regexp"
	"strings"
)

// Frame normalization turns one symbolized function name into the short,
// build-independent form signatures are made of: no return type, no
// argument list, template arguments folded to <T>, compiler decorations
// removed. Every step mirrors Socorro's, byte for byte, because a different
// string is a different signature.

var (
	// lambdaNumber matches clang's numbered lambdas (`::$_12::`), whose
	// number changes between builds.
	lambdaNumber = regexp.MustCompile(`::\$_\p{Nd}+::`)
	// rustHash matches the `::h<hash>` suffix of legacy Rust symbols ($
	// keeps Python's meaning: end, or before a final newline).
	rustHash = regexp.MustCompile(`::h[0-9a-fA-F]+(\n?)\z`)
)

// cvRefQualifiers are member-function qualifiers dropped from the end of a
// C++ name, tried in this order, each at most once.
var cvRefQualifiers = []string{"const", "const&", "const &", "&&", "&"}

// collapseSpec says which bracketed spans collapse() must leave alone: a span
// is kept when the text before its opening (or, at its close, the text before
// the closing bracket) ends with one of the strings, or when the span itself
// contains one of them.
type collapseSpec struct {
	open, close byte
	replacement string
	keep        []string
}

var (
	cppTemplates = collapseSpec{'<', '>', "<T>", []string{"name omitted", "IPC::ParamTraits", " in "}}
	cppArguments = collapseSpec{'(', ')', "", []string{"anonymous namespace", "operator"}}
	cppClone     = collapseSpec{'[', ']', "", nil}
	rustGenerics = collapseSpec{'<', '>', "<T>", []string{" as "}}
	rustArgs     = collapseSpec{'(', ')', "", nil}
)

func (c collapseSpec) kept(before, span string) bool {
	for _, s := range c.keep {
		if strings.HasSuffix(before, s) || strings.Contains(span, s) {
			return true
		}
	}
	return false
}

// collapse replaces each outermost bracketed span with the replacement. An
// unclosed span at the end counts as a span too.
func (c collapseSpec) collapse(s string) string {
	if strings.IndexByte(s, c.open) < 0 {
		return s
	}
	var out strings.Builder
	out.Grow(len(s))
	depth, spanStart := 0, 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if depth == 0 {
			if ch == c.open && !c.kept(s[:i], "") {
				depth, spanStart = 1, i
			} else {
				out.WriteByte(ch)
			}
			continue
		}
		switch ch {
		case c.open:
			depth++
		case c.close:
			depth--
			if depth == 0 {
				span := s[spanStart : i+1]
				if c.kept(s[:i], span) {
					out.WriteString(span)
				} else {
					out.WriteString(c.replacement)
				}
			}
		}
	}
	if depth > 0 {
		// Socorro checks the text before the last character here.
		span := s[spanStart:]
		if c.kept(s[:len(s)-1], span) {
			out.WriteString(span)
		} else {
			out.WriteString(c.replacement)
		}
	}
	return out.String()
}

// closerOf pairs the brackets dropPrefixAndReturnType respects; the Windows
// `anonymous namespace' quotes count as a pair.
func closerOf(c byte) byte {
	switch c {
	case '(':
		return ')'
	case '{':
		return '}'
	case '[':
		return ']'
	case '<':
		return '>'
	case '`':
		return '\''
	}
	return 0
}

func isCloser(c byte) bool {
	return c == ')' || c == '}' || c == ']' || c == '>' || c == '\''
}

// dropPrefixAndReturnType keeps the last space-separated token, where spaces
// inside brackets do not separate, so that "static void* A<B, C>::f(int x)"
// becomes "A<B, C>::f(int x)". An argument list or "[clone ...]" written
// after a space is glued back onto its function. ok is false for a name with
// no token at all, where Socorro fails with an IndexError.
func dropPrefixAndReturnType(s string) (string, bool) {
	var tokens []string
	var stack []byte
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case closerOf(c) != 0:
			stack = append(stack, c)
		case isCloser(c):
			if len(stack) > 0 && closerOf(stack[len(stack)-1]) == c {
				stack = stack[:len(stack)-1]
			}
		case c == ' ' && len(stack) == 0:
			tokens = append(tokens, s[start:i])
			start = i + 1
		}
	}
	if start < len(s) {
		tokens = append(tokens, s[start:])
	}
	if len(tokens) == 0 {
		return "", false
	}
	for len(tokens) > 1 {
		last := tokens[len(tokens)-1]
		if !strings.HasPrefix(last, "(") && !strings.HasPrefix(last, "[clone") {
			break
		}
		n := len(tokens)
		tokens = append(tokens[:n-2], tokens[n-2]+" "+last)
	}
	return tokens[len(tokens)-1], true
}

// fixSpacing removes a space before '*', '&' and ',', then puts one after
// every comma, so that demanglers' spacing styles give the same string. The
// two passes are separate on purpose: "a, *b" loses its space first and then
// gets one back after the comma.
func fixSpacing(s string) string {
	if !strings.ContainsAny(s, " ,") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' && i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '&' || s[i+1] == ',') {
			continue
		}
		b.WriteByte(s[i])
	}
	s = b.String()
	if !strings.Contains(s, ",") {
		return s
	}
	b.Reset()
	b.Grow(len(s) + 4)
	for i := 0; i < len(s); i++ {
		b.WriteByte(s[i])
		if s[i] == ',' && (i+1 == len(s) || s[i+1] != ' ') {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// normalizer holds what normalization needs from the lists.
type normalizer struct {
	lineNumbers lineMatcher
}

// lineMatcher reports whether a function gets its line number appended.
type lineMatcher interface{ MatchString(string) bool }

// cpp normalizes a C or C++ function name. It fails only where Socorro's
// does: a name that is nothing but a qualifier.
func (n normalizer) cpp(function string, line any) (string, error) {
	for _, q := range cvRefQualifiers {
		if strings.HasSuffix(function, q) {
			function = pyStrip(function[:len(function)-len(q)])
		}
	}
	// Operator names ("operator()", "operator<") confuse the tokenizer and
	// carry no return type worth dropping.
	if !strings.Contains(function, "::operator") {
		var ok bool
		if function, ok = dropPrefixAndReturnType(function); !ok {
			return "", errLookup
		}
	}
	function = strings.ReplaceAll(function, "`anonymous namespace'", "(anonymous namespace)")
	if strings.Contains(function, "::$_") {
		function = lambdaNumber.ReplaceAllLiteralString(function, "::$::")
	}
	function = cppTemplates.collapse(function)
	function = cppArguments.collapse(function)
	if strings.Contains(function, "clone .cold") {
		function = cppClone.collapse(function)
	}
	if n.lineNumbers.MatchString(function) {
		function = function + ":" + pyStr(line)
	}
	return fixSpacing(function), nil
}

// rust normalizes a Rust function name: like C++, except that trait casts
// (`<T as Trait>`) keep their generics and the legacy hash suffix goes.
func (n normalizer) rust(function string, line any) (string, error) {
	function, ok := dropPrefixAndReturnType(function)
	if !ok {
		return "", errLookup
	}
	function = rustGenerics.collapse(function)
	function = rustArgs.collapse(function)
	if n.lineNumbers.MatchString(function) {
		function = function + ":" + pyStr(line)
	}
	function = fixSpacing(function)
	if strings.Contains(function, "::h") {
		function = rustHash.ReplaceAllString(function, "$1")
	}
	return function, nil
}
