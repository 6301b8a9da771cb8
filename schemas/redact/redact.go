// Package redact is crashstream's one redaction of crash data for callers
// without the view_pii permission, driven by the field registry
// (schemas/fields): a key is kept only when the registry lists it as
// public at its place in the document, at any depth (json_dump's nested
// objects, arrays of objects such as threads and frames); anything not
// listed is dropped; a field with a sanitiser (java_stack_trace) is kept
// only in its sanitised form.
//
// Every output of crash data goes through it: the webapp's API routes and
// pages (processed crash, raw crash, Super Search hits, facets,
// aggregations and histograms) and the telemetry export (topic and
// bucket). A new field or nested key is hidden until the registry says it
// is public, and the leak test (tests/leak) plants a marker in every
// protected one.
package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
)

// Redactor redacts crash data for callers without view_pii. It is
// immutable after New and safe for concurrent use.
type Redactor struct {
	top *node
	reg *fields.Registry
}

type node struct {
	f    fields.Field
	kids map[string]*node
}

func build(f fields.Field) *node {
	n := &node{f: f}
	if len(f.Fields) > 0 {
		n.kids = make(map[string]*node, len(f.Fields))
		for _, c := range f.Fields {
			n.kids[c.Name] = build(c)
		}
	}
	return n
}

// New builds the redactor of the registry's fields.
func New(reg *fields.Registry) *Redactor {
	top := &node{kids: map[string]*node{}}
	for _, f := range reg.All() {
		top.kids[f.Name] = build(f)
	}
	return &Redactor{top: top, reg: reg}
}

// Field returns top-level field name's value v as a caller without
// view_pii may see it; ok is false when nothing of it may be shown.
// Values are JSON-decoded data (strings, numbers, maps, slices) or the
// scalar values a search backend returns.
func (r *Redactor) Field(name string, v any) (any, bool) {
	n, ok := r.top.kids[name]
	if !ok {
		return nil, false
	}
	return n.value(v)
}

// Term returns a facet or aggregation term of field name as a caller
// without view_pii may see it (sanitised), or ok false.
func (r *Redactor) Term(name, term string) (string, bool) {
	v, ok := r.Field(name, term)
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	return s, ok
}

// Document redacts a decoded processed crash in place and returns it.
func (r *Redactor) Document(doc map[string]any) map[string]any {
	r.top.object(doc)
	return doc
}

// JSON redacts an encoded processed crash (Socorro's JSON shape, json_dump
// nested as an object).
func (r *Redactor) JSON(b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("redact: %w", err)
	}
	return json.Marshal(r.Document(doc))
}

// Processed returns a redacted copy of pc: protected fields zero, nested
// protected keys removed from json_dump and the structured fields,
// sanitised fields in their public form. It goes through the stored JSON
// shape, so it is the same redaction as the API's.
func (r *Redactor) Processed(pc *schemas.ProcessedCrash) (*schemas.ProcessedCrash, error) {
	b, err := json.Marshal(pc)
	if err != nil {
		return nil, fmt.Errorf("redact: %w", err)
	}
	if b, err = r.JSON(b); err != nil {
		return nil, err
	}
	var out schemas.ProcessedCrash
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("redact: %w", err)
	}
	return &out, nil
}

// Unchanged reports whether redacting top-level field name gives back
// every value of Go type t as it was: the field and every key below it are
// public and unsanitised, and each struct in t has only keys (its avro
// tags, as the stored JSON names them) that the registry lists at that
// place. A caller holding typed values may then skip the JSON round trip
// of Processed for that field (sink-telemetry: 72 fields, of which only
// java_stack_trace changes); for any other field it must redact.
func (r *Redactor) Unchanged(name string, t reflect.Type) bool {
	n, ok := r.top.kids[name]
	return ok && n.unchanged(t)
}

var timeType = reflect.TypeFor[time.Time]()

// unchanged mirrors value for the JSON form of a value of type t.
func (n *node) unchanged(t reflect.Type) bool {
	if !n.f.IsPublic() || n.f.Sanitize != nil {
		return false
	}
	switch t.Kind() {
	case reflect.Pointer:
		return n.unchanged(t.Elem())
	case reflect.Struct:
		if t == timeType {
			return n.kids == nil // stored as text
		}
		if n.kids == nil {
			return false // structure nobody classified
		}
		for i := range t.NumField() {
			key, ok := t.Field(i).Tag.Lookup("avro")
			if !ok || key == "-" {
				continue
			}
			c, ok := n.kids[key]
			if !ok || !c.unchanged(t.Field(i).Type) {
				return false
			}
		}
		return true
	case reflect.Slice:
		e := t.Elem()
		for e.Kind() == reflect.Pointer {
			e = e.Elem()
		}
		switch {
		case e.Kind() == reflect.Uint8:
			return n.kids == nil // []byte is stored as base64 text
		case e.Kind() == reflect.Slice:
			return false // nested arrays are dropped
		case e.Kind() == reflect.Struct && e != timeType:
			return n.unchanged(e) // each element is an object of n's keys
		}
		return e.Kind() != reflect.Map && e.Kind() != reflect.Interface
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return n.kids == nil
	}
	return false // maps, interfaces: their keys are not known from the type
}

// PublicAnnotation reports whether a raw-crash annotation may be shown
// without view_pii: only when every processed field copied from it is
// public and none of them needs sanitising (the raw text is not the
// sanitised one). Unknown annotations and the collector's metadata are
// protected (Socorro's default deny).
func (r *Redactor) PublicAnnotation(name string) bool {
	fs := r.reg.FromAnnotation(name)
	if len(fs) == 0 {
		return false
	}
	for _, f := range fs {
		if !f.IsPublic() || f.Sanitize != nil {
			return false
		}
	}
	return true
}

// RawCrash redacts a decoded raw crash (annotations) in place: only the
// public annotations stay.
func (r *Redactor) RawCrash(doc map[string]json.RawMessage) {
	for k := range doc {
		if !r.PublicAnnotation(k) {
			delete(doc, k)
		}
	}
}

// object redacts m against n's children in place.
func (n *node) object(m map[string]any) {
	for k, v := range m {
		c, ok := n.kids[k]
		if !ok {
			delete(m, k)
			continue
		}
		out, keep := c.value(v)
		if !keep {
			delete(m, k)
			continue
		}
		m[k] = out
	}
}

// value redacts v, the value of n's field.
func (n *node) value(v any) (any, bool) {
	if !n.f.IsPublic() {
		return nil, false
	}
	switch x := v.(type) {
	case nil:
		return nil, true
	case map[string]any:
		if n.kids == nil {
			return nil, false // structure nobody classified
		}
		n.object(x)
		return x, true
	case []any:
		out := x[:0]
		for _, e := range x {
			if m, isMap := e.(map[string]any); isMap {
				if n.kids == nil {
					continue
				}
				n.object(m)
				out = append(out, m)
				continue
			}
			if _, isList := e.([]any); isList {
				continue // nested arrays are not part of any schema
			}
			if s, isStr := e.(string); isStr && n.f.Sanitize != nil {
				e = n.f.Sanitize(s)
			}
			out = append(out, e)
		}
		return out, true
	case string:
		if n.kids != nil {
			return nil, false // an object field stored as text: not parsed, not shown
		}
		if n.f.Sanitize != nil {
			return n.f.Sanitize(x), true
		}
		return x, true
	case *string:
		if x == nil {
			return nil, true
		}
		return n.value(*x)
	}
	if n.kids != nil {
		// typed structures (a backend's records): redact their JSON form
		b, err := json.Marshal(v)
		if err != nil {
			return nil, false
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var g any
		if dec.Decode(&g) != nil {
			return nil, false
		}
		return n.value(g)
	}
	return v, true
}
