// Package compat checks Avro schema compatibility with the resolution rules
// of the Avro specification ("Schema Resolution"): can a reader using one
// schema read data written with another? crashstream evolves its event
// schemas backward-compatibly only — every new schema must read everything
// written with each earlier revision — and the schemas tests enforce it
// with Backward against the revisions kept in avro/history.
package compat

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Backward reports whether a reader with schema newer can read data
// written with schema older. The error lists every incompatibility found,
// each with the path to it.
func Backward(newer, older string) error {
	r, err := parse(newer)
	if err != nil {
		return fmt.Errorf("compat: reader schema: %w", err)
	}
	w, err := parse(older)
	if err != nil {
		return fmt.Errorf("compat: writer schema: %w", err)
	}
	c := checker{seen: map[[2]*node]bool{}}
	c.check("", r, w)
	if len(c.problems) > 0 {
		return fmt.Errorf("compat: not backward compatible: %s", strings.Join(c.problems, "; "))
	}
	return nil
}

// node is one parsed Avro type. Named types are shared through the symbol
// table, so recursive schemas become cyclic graphs.
type node struct {
	kind     string // a primitive name, or record, enum, array, map, fixed, union
	name     string // full name of a named type
	fields   []field
	symbols  []string
	enumDef  bool // enum has a default symbol
	items    *node
	values   *node
	size     int
	branches []*node
}

type field struct {
	name       string
	aliases    []string
	typ        *node
	hasDefault bool
}

var primitives = []string{"null", "boolean", "int", "long", "float", "double", "bytes", "string"}

func parse(text string) (*node, error) {
	var raw any
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	p := parser{named: map[string]*node{}}
	return p.parse(raw, "")
}

type parser struct {
	named map[string]*node
}

func fullName(name, ns string) string {
	if strings.Contains(name, ".") || ns == "" {
		return name
	}
	return ns + "." + name
}

func (p *parser) parse(raw any, ns string) (*node, error) {
	switch v := raw.(type) {
	case string:
		if slices.Contains(primitives, v) {
			return &node{kind: v}, nil
		}
		if n, ok := p.named[fullName(v, ns)]; ok {
			return n, nil
		}
		if n, ok := p.named[v]; ok {
			return n, nil
		}
		return nil, fmt.Errorf("unknown type %q", v)
	case []any:
		u := &node{kind: "union"}
		for _, b := range v {
			n, err := p.parse(b, ns)
			if err != nil {
				return nil, err
			}
			u.branches = append(u.branches, n)
		}
		return u, nil
	case map[string]any:
		return p.parseObject(v, ns)
	}
	return nil, fmt.Errorf("bad type %v", raw)
}

func (p *parser) parseObject(v map[string]any, ns string) (*node, error) {
	t, _ := v["type"].(string)
	switch t {
	case "record", "error", "enum", "fixed":
		name, _ := v["name"].(string)
		if name == "" {
			return nil, fmt.Errorf("%s without a name", t)
		}
		if s, ok := v["namespace"].(string); ok && !strings.Contains(name, ".") {
			ns = s
		}
		full := fullName(name, ns)
		if i := strings.LastIndex(full, "."); i >= 0 {
			ns = full[:i]
		}
		n := &node{kind: t, name: full}
		if t == "error" {
			n.kind = "record"
		}
		p.named[full] = n // before the fields: records may refer to themselves
		switch t {
		case "enum":
			for _, s := range asList(v["symbols"]) {
				if str, ok := s.(string); ok {
					n.symbols = append(n.symbols, str)
				}
			}
			_, n.enumDef = v["default"]
		case "fixed":
			size, _ := v["size"].(float64)
			n.size = int(size)
		default:
			for _, fr := range asList(v["fields"]) {
				fm, ok := fr.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("%s: bad field", full)
				}
				fname, _ := fm["name"].(string)
				ft, err := p.parse(fm["type"], ns)
				if err != nil {
					return nil, fmt.Errorf("%s.%s: %w", full, fname, err)
				}
				_, hasDef := fm["default"]
				f := field{name: fname, typ: ft, hasDefault: hasDef}
				for _, a := range asList(fm["aliases"]) {
					if s, ok := a.(string); ok {
						f.aliases = append(f.aliases, s)
					}
				}
				n.fields = append(n.fields, f)
			}
		}
		return n, nil
	case "array":
		items, err := p.parse(v["items"], ns)
		if err != nil {
			return nil, err
		}
		return &node{kind: "array", items: items}, nil
	case "map":
		values, err := p.parse(v["values"], ns)
		if err != nil {
			return nil, err
		}
		return &node{kind: "map", values: values}, nil
	}
	// {"type": "long", "logicalType": ...} and friends: the logical type
	// does not change the encoding, so resolution ignores it.
	return p.parse(v["type"], ns)
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

type checker struct {
	problems []string
	seen     map[[2]*node]bool
}

func (c *checker) fail(path, format string, args ...any) {
	if path == "" {
		path = "(root)"
	}
	c.problems = append(c.problems, path+": "+fmt.Sprintf(format, args...))
}

// promotable lists the writer->reader primitive promotions Avro allows.
var promotable = map[[2]string]bool{
	{"int", "long"}: true, {"int", "float"}: true, {"int", "double"}: true,
	{"long", "float"}: true, {"long", "double"}: true, {"float", "double"}: true,
	{"string", "bytes"}: true, {"bytes", "string"}: true,
}

// matches reports, without recording problems, whether r can read w.
func (c *checker) matches(r, w *node) bool {
	sub := checker{seen: c.seen}
	sub.check("", r, w)
	return len(sub.problems) == 0
}

func shortName(full string) string { return full[strings.LastIndex(full, ".")+1:] }

func (c *checker) check(path string, r, w *node) {
	key := [2]*node{r, w}
	if c.seen[key] {
		return // already being checked higher up a recursive schema
	}
	c.seen[key] = true
	defer delete(c.seen, key)

	if w.kind == "union" {
		for i, b := range w.branches {
			c.checkReaderFor(fmt.Sprintf("%s[writer branch %d]", path, i), r, b)
		}
		return
	}
	c.checkReaderFor(path, r, w)
}

// checkReaderFor resolves a non-union writer type against reader r.
func (c *checker) checkReaderFor(path string, r, w *node) {
	if r.kind == "union" {
		for _, b := range r.branches {
			if b.kind != "union" && c.matches(b, w) {
				return
			}
		}
		c.fail(path, "no branch of the reader union reads writer type %s", describe(w))
		return
	}
	if r.kind != w.kind {
		if !promotable[[2]string{w.kind, r.kind}] {
			c.fail(path, "reader type %s cannot read writer type %s", describe(r), describe(w))
		}
		return
	}
	switch r.kind {
	case "record":
		if shortName(r.name) != shortName(w.name) {
			c.fail(path, "record name %s differs from writer's %s", r.name, w.name)
			return
		}
		for _, rf := range r.fields {
			wf, ok := findField(w, rf)
			if !ok {
				if !rf.hasDefault {
					c.fail(path+"."+rf.name, "new field has no default")
				}
				continue
			}
			c.check(path+"."+rf.name, rf.typ, wf.typ)
		}
	case "enum":
		if shortName(r.name) != shortName(w.name) {
			c.fail(path, "enum name %s differs from writer's %s", r.name, w.name)
			return
		}
		if r.enumDef {
			return
		}
		for _, s := range w.symbols {
			if !slices.Contains(r.symbols, s) {
				c.fail(path, "writer enum symbol %q unknown to the reader, which has no default", s)
			}
		}
	case "fixed":
		if shortName(r.name) != shortName(w.name) || r.size != w.size {
			c.fail(path, "fixed %s(%d) cannot read %s(%d)", r.name, r.size, w.name, w.size)
		}
	case "array":
		c.check(path+"[]", r.items, w.items)
	case "map":
		c.check(path+"{}", r.values, w.values)
	}
}

func findField(w *node, rf field) (field, bool) {
	for _, wf := range w.fields {
		if wf.name == rf.name || slices.Contains(rf.aliases, wf.name) {
			return wf, true
		}
	}
	return field{}, false
}

func describe(n *node) string {
	if n.name != "" {
		return n.kind + " " + n.name
	}
	return n.kind
}
