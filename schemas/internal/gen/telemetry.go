package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// telemetrySchema derives telemetry_crash.v1.avsc from the processed-crash
// schema text: the fields with crashstream.telemetry, in schema order,
// renamed to it, without crashstream.* properties (the export is public:
// its readers need no registry). Key order is kept so the derived text
// reads like the source.
func telemetrySchema(processed []byte) ([]byte, error) {
	v, err := parseOrdered(processed)
	if err != nil {
		return nil, err
	}
	root, ok := v.(object)
	if !ok {
		return nil, errors.New("not an object")
	}
	doc, _ := root.get("crashstream.telemetry-doc").(string)
	if doc == "" {
		return nil, errors.New("processed schema has no crashstream.telemetry-doc")
	}
	src, _ := root.get("fields").([]any)
	var fields []any
	for _, fv := range src {
		f, _ := fv.(object)
		name, _ := f.get("crashstream.telemetry").(string)
		if name == "" {
			continue
		}
		out := strip(f).(object)
		for i := range out {
			if out[i].key == "name" {
				out[i].value = name
			}
		}
		fields = append(fields, out)
	}
	tel := object{
		{"type", "record"}, {"name", "TelemetryCrash"}, {"namespace", root.get("namespace")},
		{"doc", doc}, {"fields", fields},
	}
	var compact bytes.Buffer
	if err := encodeOrdered(&compact, tel); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// object is a JSON object that keeps its key order.
type object []member

type member struct {
	key   string
	value any
}

func (o object) get(key string) any {
	for _, m := range o {
		if m.key == key {
			return m.value
		}
	}
	return nil
}

// strip returns v without crashstream.* properties, at any depth.
func strip(v any) any {
	switch x := v.(type) {
	case object:
		var out object
		for _, m := range x {
			if !strings.HasPrefix(m.key, "crashstream.") {
				out = append(out, member{m.key, strip(m.value)})
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = strip(e)
		}
		return out
	}
	return v
}

// parseOrdered decodes JSON text into object, []any and scalars
// (json.Number for numbers).
func parseOrdered(text []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(text))
	d.UseNumber()
	v, err := parseValue(d)
	if err != nil {
		return nil, err
	}
	if d.More() {
		return nil, errors.New("trailing data")
	}
	return v, nil
}

func parseValue(d *json.Decoder) (any, error) {
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch t {
	case json.Delim('{'):
		o := object{}
		for d.More() {
			k, err := d.Token()
			if err != nil {
				return nil, err
			}
			v, err := parseValue(d)
			if err != nil {
				return nil, err
			}
			o = append(o, member{k.(string), v})
		}
		_, err := d.Token()
		return o, err
	case json.Delim('['):
		a := []any{}
		for d.More() {
			v, err := parseValue(d)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := d.Token()
		return a, err
	}
	return t, nil
}

// encodeOrdered writes v as compact JSON, HTML characters unescaped (the
// schema text is not HTML).
func encodeOrdered(buf *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case object:
		buf.WriteByte('{')
		for i, m := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := encodeOrdered(buf, m.key); err != nil {
				return err
			}
			buf.WriteByte(':')
			if err := encodeOrdered(buf, m.value); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
	case []any:
		buf.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := encodeOrdered(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	default:
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(x); err != nil {
			return fmt.Errorf("encode %v: %w", x, err)
		}
		buf.Write(bytes.TrimRight(b.Bytes(), "\n"))
	}
	return nil
}
