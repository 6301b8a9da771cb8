package signature

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Crash data arrives as loosely typed JSON, and Socorro's rules were written
// against Python's dynamic values: a truthy check, an int() conversion or an
// f-string decides the signature as much as the stack does. The helpers in
// this file give JSON values (nil, bool, string, json.Number, float64, int,
// []any, map[string]any) exactly those Python meanings, so that the rules can
// stay readable and still agree with Socorro on odd input.

// ruleError is a failure inside a rule: Socorro records it as
// "<Rule>: Rule failed: <message>" and runs the next rule. The messages
// follow Python's wording because they end up in processor notes.
type ruleError struct{ msg string }

func (e *ruleError) Error() string { return e.msg }

func failf(format string, args ...any) *ruleError {
	return &ruleError{msg: fmt.Sprintf(format, args...)}
}

// errNoAttr is Python's AttributeError for a method called on a value of the
// wrong type, e.g. "'int' object has no attribute 'endswith'".
func errNoAttr(v any, attr string) *ruleError {
	return failf("'%s' object has no attribute '%s'", pyType(v), attr)
}

// pyType names a JSON value's Python type, for error messages.
func pyType(v any) string {
	switch x := v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case string:
		return "str"
	case json.Number:
		if isFloatLiteral(string(x)) {
			return "float"
		}
		return "int"
	case float64:
		if isIntegral(x) {
			return "int"
		}
		return "float"
	case float32:
		return "float"
	case int, int64, int32, uint, uint64, uint32:
		return "int"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	default:
		return fmt.Sprintf("%T", v)
	}
}

func isFloatLiteral(s string) bool { return strings.ContainsAny(s, ".eE") }

// isIntegral reports whether a float64 holds what was most likely a JSON
// integer decoded without UseNumber: Go callers that decoded that way get
// "12", not Python's "12.0", where a number is printed. Decode with
// UseNumber to keep Python's int/float distinction exactly.
func isIntegral(f float64) bool { return f == math.Trunc(f) && math.Abs(f) < 1<<53 }

// truthy is Python's bool(v).
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case json.Number:
		if isFloatLiteral(string(x)) {
			f, err := x.Float64()
			return err != nil || f != 0
		}
		n, ok := new(big.Int).SetString(string(x), 10)
		return !ok || n.Sign() != 0
	case float64:
		return x != 0
	case float32:
		return x != 0
	case int:
		return x != 0
	case int64:
		return x != 0
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	default:
		return true
	}
}

// get is dict.get(key) on a value that must be a dict; anything else raises
// Python's AttributeError, as the rules do on malformed crash data.
func get(v any, key string) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errNoAttr(v, "get")
	}
	return m[key], nil
}

// getOr is dict.get(key, def): def only when the key is absent, not when it
// holds null.
func getOr(v any, key string, def any) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errNoAttr(v, "get")
	}
	if x, ok := m[key]; ok {
		return x, nil
	}
	return def, nil
}

// glomPath walks dotted segments the way glom does for dicts and lists
// (list segments are integer indexes, negative counting from the end) and
// reports false where glom would fall back to its default.
func glomPath(v any, segments ...string) (any, bool) {
	for _, seg := range segments {
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[seg]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil {
				return nil, false
			}
			if i < 0 {
				i += len(x)
			}
			if i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// pyEqualString is Python's v == s for a str s.
func pyEqualString(v any, s string) bool {
	x, ok := v.(string)
	return ok && x == s
}

// pyContains is Python's `needle in v` for a str needle: a substring test on
// a str, membership in a list, a key test on a dict, a TypeError otherwise.
func pyContains(v any, needle string) (bool, error) {
	switch x := v.(type) {
	case string:
		return strings.Contains(x, needle), nil
	case []any:
		for _, e := range x {
			if pyEqualString(e, needle) {
				return true, nil
			}
		}
		return false, nil
	case map[string]any:
		_, ok := x[needle]
		return ok, nil
	default:
		return false, failf("argument of type '%s' is not iterable", pyType(v))
	}
}

// pyIter is Python's iteration over v: list items, dict keys, str characters.
func pyIter(v any) ([]any, error) {
	switch x := v.(type) {
	case []any:
		return x, nil
	case map[string]any:
		keys := make([]any, 0, len(x))
		for _, k := range sortedKeys(x) {
			keys = append(keys, k)
		}
		return keys, nil
	case string:
		out := make([]any, 0, len(x))
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, nil
	default:
		return nil, failf("'%s' object is not iterable", pyType(v))
	}
}

// sortedKeys gives a deterministic key order. Python keeps insertion order,
// which encoding/json does not preserve; only odd inputs (a dict where a list
// belongs) can tell the difference.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// pyInt is Python's int(v) for the values crash data can hold. ok is false
// where Python raises TypeError; err is set where it raises ValueError.
func pyInt(v any) (n *big.Int, ok bool, err error) {
	switch x := v.(type) {
	case bool:
		if x {
			return big.NewInt(1), true, nil
		}
		return big.NewInt(0), true, nil
	case json.Number:
		if !isFloatLiteral(string(x)) {
			if n, ok := new(big.Int).SetString(string(x), 10); ok {
				return n, true, nil
			}
		}
		f, perr := strconv.ParseFloat(string(x), 64)
		if perr != nil && !math.IsInf(f, 0) {
			return nil, false, nil
		}
		return floatToInt(f)
	case float64:
		return floatToInt(x)
	case int:
		return big.NewInt(int64(x)), true, nil
	case int64:
		return big.NewInt(x), true, nil
	case string:
		n, perr := parsePyInt(x, 10)
		if perr != nil {
			return nil, true, failf("invalid literal for int() with base 10: %s", pyRepr(x))
		}
		return n, true, nil
	default:
		return nil, false, nil
	}
}

func floatToInt(f float64) (*big.Int, bool, error) {
	if math.IsInf(f, 0) {
		return nil, true, failf("cannot convert float infinity to integer")
	}
	if math.IsNaN(f) {
		return nil, true, failf("cannot convert float NaN to integer")
	}
	n, _ := big.NewFloat(math.Trunc(f)).Int(nil)
	return n, true, nil
}

// parsePyInt parses an int literal the way Python's int(s, base) does:
// surrounding whitespace, a sign, an optional 0x prefix for base 16, and
// single underscores between digits.
func parsePyInt(s string, base int) (*big.Int, error) {
	s = pyStrip(s)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if base == 16 && len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = strings.TrimPrefix(s[2:], "_")
	}
	if s == "" || s[0] == '_' || s[len(s)-1] == '_' || strings.Contains(s, "__") {
		return nil, fmt.Errorf("invalid literal")
	}
	digits := strings.ReplaceAll(s, "_", "")
	for _, c := range []byte(digits) {
		if !isDigitOfBase(c, base) {
			return nil, fmt.Errorf("invalid literal")
		}
	}
	n, ok := new(big.Int).SetString(digits, base)
	if !ok {
		return nil, fmt.Errorf("invalid literal")
	}
	if neg {
		n.Neg(n)
	}
	return n, nil
}

func isDigitOfBase(c byte, base int) bool {
	switch {
	case c >= '0' && c <= '9':
		return true
	case base == 16 && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'):
		return true
	}
	return false
}

// pyStr is Python's str(v), which is what f-strings and % formatting use.
func pyStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	default:
		return pyRepr(v)
	}
}

// pyRepr is Python's repr(v) for JSON values.
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return pyStrRepr(x)
	case json.Number:
		if isFloatLiteral(string(x)) {
			f, _ := strconv.ParseFloat(string(x), 64)
			return pyFloatRepr(f)
		}
		if n, ok := new(big.Int).SetString(string(x), 10); ok {
			return n.String()
		}
		return string(x)
	case float64:
		if isIntegral(x) {
			return strconv.FormatFloat(x, 'f', -1, 64)
		}
		return pyFloatRepr(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		parts := make([]string, 0, len(x))
		for _, k := range sortedKeys(x) {
			parts = append(parts, pyStrRepr(k)+": "+pyRepr(x[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	default:
		return fmt.Sprint(v)
	}
}

// pyFloatRepr formats like Python's float repr: the shortest round-trip
// digits, positional between 1e-4 and 1e16, always with a fraction or an
// exponent.
func pyFloatRepr(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	if exp < -4 || exp >= 16 {
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		return fmt.Sprintf("%se%s%02d", mant, sign, exp)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// pyStrRepr quotes a str like Python's repr.
func pyStrRepr(s string) string {
	quote := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, "\"") {
		quote = '"'
	}
	var b strings.Builder
	b.WriteByte(quote)
	for _, r := range s {
		switch {
		case r == rune(quote) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x7f:
			b.WriteRune(r)
		case !unicode.IsPrint(r) && r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		case !unicode.IsPrint(r) && r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		case !unicode.IsPrint(r):
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(quote)
	return b.String()
}

// isPySpace is Python's str.isspace for one character, which is also what
// str.strip() and the re module's \s use; it is wider than unicode.IsSpace
// (it includes the ASCII information separators 0x1c-0x1f).
func isPySpace(r rune) bool {
	switch {
	case r >= 0x09 && r <= 0x0d, r >= 0x1c && r <= 0x20:
		return true
	case r < 0x80:
		return false
	case r == 0x85, r == 0xa0, r == 0x1680, r >= 0x2000 && r <= 0x200a,
		r == 0x2028, r == 0x2029, r == 0x202f, r == 0x205f, r == 0x3000:
		return true
	}
	return false
}

// pyStrip is Python's str.strip() with no arguments.
func pyStrip(s string) string { return strings.TrimFunc(s, isPySpace) }

// isPyLineBreak is a line boundary for Python's str.splitlines.
func isPyLineBreak(r rune) bool {
	switch r {
	case '\n', '\r', 0x0b, 0x0c, 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
		return true
	}
	return false
}

// pySplitLines is Python's str.splitlines(): "\r\n" is one break and a
// trailing break does not start an empty line.
func pySplitLines(s string) []string {
	var lines []string
	start := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isPyLineBreak(r) {
			i += size
			continue
		}
		lines = append(lines, s[start:i])
		i += size
		if r == '\r' && i < len(s) && s[i] == '\n' {
			i++
		}
		start = i
	}
	if start < len(s) {
		lines = append(lines, s[start:])
	}
	return lines
}

// pyLower is Python's str.lower(). It differs from strings.ToLower in the
// two special casings Python applies: the dotted capital I lowers to "i"
// plus a combining dot, and a capital sigma at the end of a word lowers to
// the final sigma.
func pyLower(s string) string {
	if !strings.ContainsAny(s, "İΣ") {
		return strings.ToLower(s)
	}
	rs := []rune(s)
	var b strings.Builder
	b.Grow(len(s) + 2)
	for i, r := range rs {
		switch r {
		case 'İ':
			b.WriteString("i\u0307")
		case 'Σ':
			if finalSigma(rs, i) {
				b.WriteRune('ς')
			} else {
				b.WriteRune('σ')
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma is Unicode's Final_Sigma condition for rs[i]: a cased letter
// before it and none after it, skipping case-ignorable characters.
func finalSigma(rs []rune, i int) bool {
	j := i - 1
	for j >= 0 && isCaseIgnorable(rs[j]) {
		j--
	}
	if j < 0 || !isCased(rs[j]) {
		return false
	}
	j = i + 1
	for j < len(rs) && isCaseIgnorable(rs[j]) {
		j++
	}
	return j == len(rs) || !isCased(rs[j])
}

func isCased(r rune) bool {
	return unicode.In(r, unicode.Lu, unicode.Ll, unicode.Lt, unicode.Other_Lowercase, unicode.Other_Uppercase)
}

// isCaseIgnorable is Unicode's Case_Ignorable: marks, format characters,
// modifiers, and the word-internal punctuation (apostrophes, periods,
// colons, middle dots).
func isCaseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', 0x00B7, 0x0387, 0x055F, 0x05F4, 0x2018, 0x2019, 0x2024, 0x2027,
		0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// runeLen is Python's len(str): code points, not bytes.
func runeLen(s string) int { return utf8.RuneCountInString(s) }

// runePrefix is Python's s[:n].
func runePrefix(s string, n int) string {
	if n <= 0 {
		return ""
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}
