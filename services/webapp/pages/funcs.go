package pages

import (
	"fmt"
	"html/template"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// templateFuncs are the template helpers; none of them produces
// unescaped HTML.
func templateFuncs() template.FuncMap {
	return template.FuncMap{
		"pct":   func(f float64) string { return strconv.FormatFloat(100*f, 'f', 2, 64) + "%" },
		"num":   thousands,
		"add":   func(a, b int) int { return a + b },
		"value": valueText,
		"date":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") + " UTC" },
		"day":   func(t time.Time) string { return t.UTC().Format("2006-01-02") },
		"epoch": epochText,
		"sigURL": func(sig string, extra ...string) string {
			v := url.Values{"signature": {sig}}
			for i := 0; i+1 < len(extra); i += 2 {
				if extra[i+1] != "" {
					v.Add(extra[i], extra[i+1])
				}
			}
			return "/signature/?" + v.Encode()
		},
		"reportURL": func(id any) string { return "/report/index/" + url.PathEscape(fmt.Sprint(id)) },
		"query":     func(v url.Values) string { return v.Encode() },
		"signed": func(n int) string {
			if n > 0 {
				return "+" + strconv.Itoa(n)
			}
			return strconv.Itoa(n)
		},
		"platforms": platformCounts,
		"share": func(n, total int64) string {
			if total == 0 {
				return ""
			}
			return strconv.FormatFloat(100*float64(n)/float64(total), 'f', 2, 64) + "%"
		},
		"list": func(xs ...string) []string { return xs },
		"has":  slices.Contains[[]string],
	}
}

// thousands formats any integer with thin separators: 1 234 567.
func thousands(n any) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if _, err := strconv.ParseUint(s, 10, 64); err != nil {
		return fmt.Sprint(n)
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteRune(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// valueText renders a stored value (from ClickHouse or decoded JSON) as
// text: nil pointers and NULLs are empty, lists are comma-joined.
func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case time.Time:
		if x.IsZero() {
			return ""
		}
		return x.UTC().Format("2006-01-02 15:04:05")
	case []string:
		return strings.Join(x, ", ")
	case *int64:
		if x == nil {
			return ""
		}
		return strconv.FormatInt(*x, 10)
	case *uint8:
		if x == nil {
			return ""
		}
		if *x != 0 {
			return "true"
		}
		return "false"
	case *float64:
		if x == nil {
			return ""
		}
		return strconv.FormatFloat(*x, 'g', -1, 64)
	case *bool:
		if x == nil {
			return ""
		}
		return strconv.FormatBool(*x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = valueText(e)
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}

// epochText shows seconds since the Unix epoch (crash_time, install_time,
// startup_time) as a UTC date, the raw value after it.
func epochText(v any) string {
	var n int64
	switch x := v.(type) {
	case *int64:
		if x == nil {
			return ""
		}
		n = *x
	case int64:
		n = x
	case float64:
		n = int64(x)
	default:
		return valueText(v)
	}
	return time.Unix(n, 0).UTC().Format("2006-01-02 15:04:05") + " UTC (" + strconv.FormatInt(n, 10) + ")"
}
