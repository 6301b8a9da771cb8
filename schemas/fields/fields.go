// Package fields is the field registry of the processed crash: one entry per
// field of schemas.ProcessedCrash, saying what type it has, who may see it,
// whether Super Search can filter, facet and sort on it, which ClickHouse
// column stores it, whether the telemetry export carries it (and under which
// name), and which raw-crash annotation the processor copies it from.
//
// The processor (typed copy of annotations), the sinks (ClickHouse columns,
// telemetry subset), and the webapp (redaction, SuperSearchFields, search
// validation) all drive off this one table. The table is generated
// (table_gen.go) from the crashstream.* properties of the fields of
// processed_crash.v1.avsc: a field is changed there, then `go generate ./...`
// in schemas/. Only the keys of the json_dump document, which is JSON text
// and not Avro, are classified by hand (nested.go).
//
// Annotation names and permissions follow Socorro's
// processed_crash.schema.yaml, with these deliberate differences: build,
// modules_in_stack and topmost_filenames are typed (int, lists) instead of
// Socorro's strings, so ClickHouse can range over builds and match list
// items; submitted_from_infobar stays public (it is in the telemetry
// export; Socorro deprecated it as protected).
//
// Permissions follow Socorro: a field is protected unless marked public, and
// protected fields are visible only with the view_pii permission, not even
// as filter, facet, sort or aggregation.
package fields

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Type is the value type of a field, as search and storage see it.
type Type string

// Field value types.
const (
	// String is text; an absent string is empty.
	String Type = "string"
	// Int is a 64-bit integer; it may be absent.
	Int Type = "int"
	// Float is a 64-bit float; it may be absent.
	Float Type = "float"
	// Bool is a boolean; it may be absent.
	Bool Type = "bool"
	// Date is a UTC timestamp (microsecond precision on the wire).
	Date Type = "date"
	// List is a list of strings.
	List Type = "list"
	// Object is structured data (records) that is returned but never
	// searched: crashing-thread frames and modules.
	Object Type = "object"
)

// Permission is the access level a caller needs to see a field.
type Permission string

// Permissions. The zero value is Protected on purpose: a field someone
// forgot to classify is hidden, never leaked.
const (
	// Protected fields need the view_pii permission.
	Protected Permission = ""
	// Public fields are visible to everyone.
	Public Permission = "public"
)

// String returns "public" or "protected".
func (p Permission) String() string {
	if p == Public {
		return "public"
	}
	return "protected"
}

// Field describes one processed-crash field.
type Field struct {
	// Name is the processed-crash field name (Avro field, JSON key, API name).
	Name string
	// Type is the value type.
	Type Type
	// Permission is Public or Protected (the zero value).
	Permission Permission
	// Searchable fields can be filtered, faceted and sorted in Super Search
	// and have a ClickHouse column.
	Searchable bool
	// ClickHouseColumn is the column name in the crashes table; empty when
	// the field is not stored in ClickHouse.
	ClickHouseColumn string
	// ClickHouseType is the column type, valid on ClickHouse 18.16 and later.
	ClickHouseType string
	// Telemetry is true when the telemetry export carries the field.
	Telemetry bool
	// TelemetryName is the field's name in the telemetry export when it is
	// renamed there; empty means the same name.
	TelemetryName string
	// Annotation is the raw-crash annotation the processor copies the field
	// from (converted to Type); empty for fields the processor derives.
	Annotation string
	// Description is the user-facing documentation (SuperSearchFields).
	Description string
	// Fields are the keys of a structured value (an Object field, the
	// json_dump document, or a nested object), each with its own
	// permission. A key not listed is protected: redaction drops it, so a
	// new key the stackwalker starts writing stays hidden until someone
	// classifies it here.
	Fields []Field
	// Repeated marks a nested value that is an array: each element is
	// redacted against Fields (arrays of objects) or kept as a scalar.
	Repeated bool
	// Sanitize, when set, is applied to the field's text for callers
	// without view_pii: the field is public only in that sanitised form
	// (java_stack_trace without its exception messages). It must be
	// idempotent, so crashes stored before a sanitiser changed are still
	// shown safely.
	Sanitize func(string) string
}

// IsPublic reports whether callers without view_pii may see the field.
func (f Field) IsPublic() bool { return f.Permission == Public }

// TelemetryFieldName is the field's name in the telemetry export.
func (f Field) TelemetryFieldName() string {
	if f.TelemetryName != "" {
		return f.TelemetryName
	}
	return f.Name
}

// Parse converts an annotation value (always text in a raw crash) to the
// field's Go type: string, int64, float64, bool, time.Time or []string.
// Booleans accept 1/0/true/false (any case); dates accept RFC 3339 or Unix
// seconds; lists accept comma-separated text. Object fields cannot be
// parsed from an annotation.
func (f Field) Parse(s string) (any, error) {
	s = strings.TrimSpace(s)
	switch f.Type {
	case String:
		return s, nil
	case Int:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("field %s: %q is not an integer", f.Name, s)
		}
		return n, nil
	case Float:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("field %s: %q is not a number", f.Name, s)
		}
		return x, nil
	case Bool:
		switch strings.ToLower(s) {
		case "1", "true":
			return true, nil
		case "0", "false":
			return false, nil
		}
		return nil, fmt.Errorf("field %s: %q is not a boolean", f.Name, s)
	case Date:
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC(), nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("field %s: %q is not a date", f.Name, s)
		}
		return time.Unix(n, 0).UTC(), nil
	case List:
		var out []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("field %s: type %s cannot be parsed from an annotation", f.Name, f.Type)
}

// Registry is the set of processed-crash fields with lookups. It is built
// by New and never modified, so it is safe for concurrent use.
type Registry struct {
	all    []Field
	byName map[string]int
	byAnn  map[string][]int
}

// New returns the registry of every processed-crash field.
func New() *Registry {
	all := table()
	r := &Registry{all: all, byName: make(map[string]int, len(all)), byAnn: map[string][]int{}}
	for i, f := range all {
		r.byName[f.Name] = i
		if f.Annotation != "" {
			r.byAnn[f.Annotation] = append(r.byAnn[f.Annotation], i)
		}
	}
	return r
}

// All returns every field, in schema order. The slice is a copy.
func (r *Registry) All() []Field { return r.filter(func(Field) bool { return true }) }

// Lookup returns the field called name.
func (r *Registry) Lookup(name string) (Field, bool) {
	i, ok := r.byName[name]
	if !ok {
		return Field{}, false
	}
	return r.all[i], true
}

// Walk calls fn for every field, nested ones included, depth first in
// schema order, with its path: top-level names, then ".key" for object
// keys; a Repeated node's elements add "[]" (json_dump.threads[].frames[]).
// The permission passed is the effective one: a field under a protected
// parent is protected whatever it says.
func (r *Registry) Walk(fn func(path string, f Field, p Permission)) {
	for _, f := range r.all {
		walk(f.Name, f, f.Permission, fn)
	}
}

func walk(path string, f Field, p Permission, fn func(string, Field, Permission)) {
	fn(path, f, p)
	if f.Repeated {
		path += "[]"
	}
	for _, c := range f.Fields {
		cp := c.Permission
		if p != Public {
			cp = Protected
		}
		walk(path+"."+c.Name, c, cp, fn)
	}
}

// Public returns the fields anyone may see.
func (r *Registry) Public() []Field { return r.filter(Field.IsPublic) }

// Searchable returns the fields Super Search accepts, public or not; the
// webapp must still drop protected ones for callers without view_pii.
func (r *Registry) Searchable() []Field {
	return r.filter(func(f Field) bool { return f.Searchable })
}

// Visible returns the fields a caller sees: all of them with view_pii,
// else the public ones.
func (r *Registry) Visible(viewPII bool) []Field {
	if viewPII {
		return r.All()
	}
	return r.Public()
}

// Telemetry returns the fields of the telemetry export (all public).
func (r *Registry) Telemetry() []Field {
	return r.filter(func(f Field) bool { return f.Telemetry && f.IsPublic() })
}

// ClickHouse returns the fields stored as ClickHouse columns.
func (r *Registry) ClickHouse() []Field {
	return r.filter(func(f Field) bool { return f.ClickHouseColumn != "" })
}

// FromAnnotation returns the fields copied from annotation name (one
// annotation may feed a sanitized public field and a raw protected one).
func (r *Registry) FromAnnotation(name string) []Field {
	idx := r.byAnn[name]
	out := make([]Field, len(idx))
	for i, j := range idx {
		out[i] = r.all[j]
	}
	return out
}

// Annotations returns the annotation names the processor copies, sorted.
func (r *Registry) Annotations() []string {
	out := make([]string, 0, len(r.byAnn))
	for a := range r.byAnn {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

func (r *Registry) filter(keep func(Field) bool) []Field {
	var out []Field
	for _, f := range r.all {
		if keep(f) {
			out = append(out, f)
		}
	}
	return out
}
