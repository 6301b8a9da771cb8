package signature

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// parseJSON decodes one JSON document into the values encoding/json gives
// with UseNumber (map[string]any, []any, string, json.Number, bool, nil),
// with the same acceptance and the same handling of bad UTF-8 and lone
// surrogates (both become U+FFFD). It exists because decoding dominated
// batch signing: this direct parser allocates only the values themselves.
// FuzzParseJSON holds it to encoding/json.
func parseJSON(data []byte) (any, error) {
	p := jsonParser{data: data}
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return nil, p.errorf("extra data after the JSON value")
	}
	return v, nil
}

// maxJSONDepth is encoding/json's nesting limit.
const maxJSONDepth = 10000

type jsonParser struct {
	data []byte
	pos  int
	buf  []byte // scratch for strings with escapes
}

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

var errJSONEnd = errors.New("unexpected end of JSON input")

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (any, error) {
	if p.pos >= len(p.data) {
		return nil, errJSONEnd
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	default:
		return nil, p.errorf("invalid character %q looking for a value", c)
	}
}

func (p *jsonParser) literal(word string) error {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return p.errorf("invalid literal, want %s", word)
	}
	p.pos += len(word)
	return nil
}

func (p *jsonParser) object(depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, p.errorf("exceeded max depth")
	}
	p.pos++ // {
	m := map[string]any{}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return m, nil
	}
	for {
		if p.pos >= len(p.data) {
			return nil, errJSONEnd
		}
		if p.data[p.pos] != '"' {
			return nil, p.errorf("want an object key")
		}
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, errJSONEnd
		}
		if p.data[p.pos] != ':' {
			return nil, p.errorf("want ':' after an object key")
		}
		p.pos++
		p.skipSpace()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		m[key] = v
		if end, err := p.separator('}', "an object"); err != nil || end {
			return m, err
		}
	}
}

func (p *jsonParser) array(depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, p.errorf("exceeded max depth")
	}
	p.pos++ // [
	a := []any{}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return a, nil
	}
	for {
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		if end, err := p.separator(']', "an array"); err != nil || end {
			return a, err
		}
	}
}

// separator reads what follows a member of an object or an array (in):
// a ',' before the next member, or closing, which ends it (end).
func (p *jsonParser) separator(closing byte, in string) (end bool, err error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return false, errJSONEnd
	}
	switch p.data[p.pos] {
	case ',':
		p.pos++
		p.skipSpace()
		return false, nil
	case closing:
		p.pos++
		return true, nil
	}
	return false, p.errorf("want ',' or '%c' in %s", closing, in)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number scans JSON's number grammar and keeps the literal text.
func (p *jsonParser) number() (any, error) {
	start := p.pos
	d := p.data
	if p.pos < len(d) && d[p.pos] == '-' {
		p.pos++
	}
	switch {
	case p.pos < len(d) && d[p.pos] == '0':
		p.pos++
	case p.pos < len(d) && d[p.pos] >= '1' && d[p.pos] <= '9':
		for p.pos < len(d) && isDigit(d[p.pos]) {
			p.pos++
		}
	default:
		return nil, p.errorf("invalid number")
	}
	if p.pos < len(d) && d[p.pos] == '.' {
		p.pos++
		if p.pos >= len(d) || !isDigit(d[p.pos]) {
			return nil, p.errorf("invalid number")
		}
		for p.pos < len(d) && isDigit(d[p.pos]) {
			p.pos++
		}
	}
	if p.pos < len(d) && (d[p.pos] == 'e' || d[p.pos] == 'E') {
		p.pos++
		if p.pos < len(d) && (d[p.pos] == '+' || d[p.pos] == '-') {
			p.pos++
		}
		if p.pos >= len(d) || !isDigit(d[p.pos]) {
			return nil, p.errorf("invalid number")
		}
		for p.pos < len(d) && isDigit(d[p.pos]) {
			p.pos++
		}
	}
	return json.Number(d[start:p.pos]), nil
}

// str decodes a string, the opening quote at p.pos.
func (p *jsonParser) str() (string, error) {
	p.pos++ // "
	start := p.pos
	d := p.data
	// Fast path: no escapes, valid UTF-8, no control characters.
	for p.pos < len(d) {
		c := d[p.pos]
		if c == '"' {
			s := d[start:p.pos]
			p.pos++
			if utf8.Valid(s) {
				return string(s), nil
			}
			return string(fixUTF8(nil, s)), nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", p.errorf("invalid character %q in string literal", c)
		}
		p.pos++
	}
	if p.pos >= len(d) {
		return "", errJSONEnd
	}
	b := append(p.buf[:0], d[start:p.pos]...)
	for p.pos < len(d) {
		c := d[p.pos]
		switch {
		case c == '"':
			p.pos++
			p.buf = b
			if utf8.Valid(b) {
				return string(b), nil
			}
			return string(fixUTF8(nil, b)), nil
		case c < 0x20:
			return "", p.errorf("invalid character %q in string literal", c)
		case c != '\\':
			b = append(b, c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(d) {
			return "", errJSONEnd
		}
		e := d[p.pos+1]
		p.pos += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := hex4(d[p.pos:])
			if !ok {
				return "", p.errorf("invalid \\u escape")
			}
			p.pos += 4
			if utf16.IsSurrogate(r) {
				// A valid pair is consumed whole; otherwise the first half
				// becomes U+FFFD and the next escape is read on its own.
				if p.pos+6 <= len(d) && d[p.pos] == '\\' && d[p.pos+1] == 'u' {
					if r2, ok := hex4(d[p.pos+2:]); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							p.pos += 6
							b = utf8.AppendRune(b, dec)
							break
						}
					}
				}
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", p.errorf("invalid escape \\%c", e)
		}
	}
	return "", errJSONEnd
}

func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r*16 + rune(c)
	}
	return r, true
}

// fixUTF8 replaces each byte of an invalid UTF-8 sequence with U+FFFD, as
// encoding/json does.
func fixUTF8(dst, s []byte) []byte {
	for len(s) > 0 {
		r, size := utf8.DecodeRune(s)
		if r == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, s[:size]...)
		}
		s = s[size:]
	}
	return dst
}
