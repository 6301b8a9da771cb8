// Package redacttest plants a unique marker in every protected field of a
// processed crash, nested ones included, as the field registry lists them,
// so leak tests find any of them in an output. New fields join the tests
// by being in the registry.
package redacttest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
)

// Marker is one planted value: its path (fields.Registry.Walk's) and the
// text that must not appear in any output a caller without view_pii gets.
type Marker struct {
	Path string
	Text string
}

// Unlisted is the json_dump key Plant adds that the registry does not
// list: it must be dropped like a protected one (default deny).
const Unlisted = "json_dump.zz_unlisted_key"

// LeakySamples make a value of each sanitised field that holds the marker
// where only the raw form may have it (an exception message). Plant fails
// for a sanitised field without one, so a new sanitiser gets a probe.
var LeakySamples = map[string]func(marker string) string{
	"java_stack_trace": func(m string) string {
		return "java.lang.IllegalStateException: " + m + "\n" +
			"\tat org.example.Foo.bar(Foo.java:12)\n" +
			"Caused by: java.io.IOException: " + m + "\n" +
			"\tat java.io.File.open(File.java:1)\n"
	},
}

// Plant returns a copy of base with a marker in every protected field,
// every protected nested key (under public parents), one unlisted json_dump
// key, and the leaky form of every sanitised field. tag makes the markers
// unique to one run: strings are "<tag>-<n>-leak", numbers are
// <numBase>+n (numBase must have at least 8 digits).
func Plant(reg *fields.Registry, base *schemas.ProcessedCrash, tag string, numBase int64) (*schemas.ProcessedCrash, []Marker, error) {
	b, err := json.Marshal(base)
	if err != nil {
		return nil, nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, nil, err
	}
	if s, ok := doc["json_dump"].(string); ok || doc["json_dump"] == nil {
		var jd map[string]any
		if ok && json.Unmarshal([]byte(s), &jd) == nil {
			doc["json_dump"] = jd
		} else {
			doc["json_dump"] = map[string]any{}
		}
	}
	// the registry's nodes by path, to know which are arrays
	nodes := map[string]fields.Field{}
	reg.Walk(func(path string, f fields.Field, _ fields.Permission) { nodes[path] = f })
	var markers []Marker
	var errs []string
	n := 0
	reg.Walk(func(path string, f fields.Field, p fields.Permission) {
		if p == fields.Public && f.Sanitize != nil {
			leaky, ok := LeakySamples[path]
			if !ok {
				errs = append(errs, path+": sanitised field without a LeakySamples entry")
				return
			}
			n++
			m := fmt.Sprintf("%s-%d-leak", tag, n)
			set(doc, path, nodes, leaky(m))
			markers = append(markers, Marker{Path: path + " (sanitised)", Text: m})
			return
		}
		if p == fields.Public || !parentPublic(path, nodes) {
			return
		}
		n++
		var v any
		var text string
		switch f.Type {
		case fields.String:
			text = fmt.Sprintf("%s-%d-leak", tag, n)
			v = text
		case fields.Int:
			v = numBase + int64(n)
			text = strconv.FormatInt(numBase+int64(n), 10)
		case fields.Float:
			v = float64(numBase + int64(n))
			text = strconv.FormatInt(numBase+int64(n), 10)
		case fields.List:
			text = fmt.Sprintf("%s-%d-leak", tag, n)
			v = []any{text}
		case fields.Object:
			text = fmt.Sprintf("%s-%d-leak", tag, n)
			v = map[string]any{"rip": text, "note": text}
		default:
			errs = append(errs, fmt.Sprintf("%s: protected %s field cannot carry a marker; extend redacttest", path, f.Type))
			return
		}
		if f.Repeated {
			v = []any{v}
		}
		set(doc, path, nodes, v)
		markers = append(markers, Marker{Path: path, Text: text})
	})
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("redacttest: %s", strings.Join(errs, "; "))
	}
	n++
	un := fmt.Sprintf("%s-%d-leak", tag, n)
	set(doc, Unlisted, nodes, un)
	markers = append(markers, Marker{Path: Unlisted + " (unlisted)", Text: un})
	b, err = json.Marshal(doc)
	if err != nil {
		return nil, nil, err
	}
	var out schemas.ProcessedCrash
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, nil, err
	}
	return &out, markers, nil
}

// parentPublic reports whether every ancestor of path is public, i.e. the
// node itself is where redaction must cut.
func parentPublic(path string, nodes map[string]fields.Field) bool {
	segs := strings.Split(path, ".")
	for i := 1; i < len(segs); i++ {
		p := strings.TrimSuffix(strings.Join(segs[:i], "."), "[]")
		if f, ok := nodes[p]; !ok || !f.IsPublic() {
			return false
		}
	}
	return true
}

// set stores v at path in doc, creating objects, and one-element arrays
// for repeated nodes, on the way.
func set(doc map[string]any, path string, nodes map[string]fields.Field, v any) {
	segs := strings.Split(path, ".")
	cur := doc
	prefix := ""
	for i, seg := range segs {
		key := strings.TrimSuffix(seg, "[]")
		name := key
		if prefix != "" {
			name = prefix + "." + key
		}
		if i == len(segs)-1 {
			cur[key] = v
			return
		}
		if nodes[name].Repeated {
			arr, _ := cur[key].([]any)
			if len(arr) == 0 {
				arr = []any{map[string]any{}}
			}
			m, ok := arr[0].(map[string]any)
			if !ok {
				m = map[string]any{}
				arr[0] = m
			}
			cur[key] = arr
			cur = m
			prefix = name + "[]"
			continue
		}
		m, ok := cur[key].(map[string]any)
		if !ok {
			m = map[string]any{}
			cur[key] = m
		}
		cur = m
		prefix = name
	}
}
