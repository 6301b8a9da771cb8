package main

import (
	"encoding/json"
	"fmt"
	"strings"
)

// record is one Avro record schema as the generator reads it: the standard
// attributes plus crashstream's field properties (see field).
type record struct {
	Name   string  `json:"name"`
	Doc    string  `json:"doc"`
	Fields []field `json:"fields"`
	// TelemetryDoc is the doc of the telemetry record derived from this
	// one (processed_crash only).
	TelemetryDoc string `json:"crashstream.telemetry-doc"`
}

// field is one Avro field. The crashstream.* properties are the field
// registry's facts; Avro readers ignore properties they do not know, so
// they travel with the schema without changing what it means (its Parsing
// Canonical Form leaves them out).
type field struct {
	Name string          `json:"name"`
	Type json.RawMessage `json:"type"`
	Doc  string          `json:"doc"`
	// Public marks a field callers without view_pii may see; absent means
	// protected, so a field nobody classified stays hidden.
	Public bool `json:"crashstream.public"`
	// Search makes the field a Super Search filter, facet and sort key
	// with a ClickHouse column of the same name.
	Search bool `json:"crashstream.search"`
	// Telemetry is the field's name in the telemetry export; empty when
	// the export leaves it out.
	Telemetry string `json:"crashstream.telemetry"`
	// Annotation is the raw-crash annotation the processor copies.
	Annotation string `json:"crashstream.annotation"`
	// Sanitize names the sanitiser that makes a field public (javatrace).
	Sanitize string `json:"crashstream.sanitize"`
	// Keys names the function of schemas/fields that classifies the keys
	// of a JSON document held in a string (json_dump).
	Keys string `json:"crashstream.keys"`

	kind kind
	elem *record // the item record of an array of records
}

// kind is how a field maps onto Go and onto goavro's native form.
type kind int

const (
	kString kind = iota
	kInt64
	kFloat64
	kBool
	kTime
	kOptString
	kOptInt64
	kOptFloat64
	kOptBool
	kStrings
	kRecords
)

// goType is the Go type of a field of kind k (records: []elem).
func (f *field) goType() string {
	switch f.kind {
	case kString:
		return "string"
	case kInt64:
		return "int64"
	case kFloat64:
		return "float64"
	case kBool:
		return "bool"
	case kTime:
		return "time.Time"
	case kOptString:
		return "*string"
	case kOptInt64:
		return "*int64"
	case kOptFloat64:
		return "*float64"
	case kOptBool:
		return "*bool"
	case kStrings:
		return "[]string"
	}
	return "[]" + f.elem.Name
}

// parseRecord reads the schema text of one record and classifies the
// type of every field; records nested in arrays are parsed too and also
// added to named, so a later field may refer to them by name.
func parseRecord(text []byte, named map[string]*record) (*record, error) {
	var r record
	if err := json.Unmarshal(text, &r); err != nil {
		return nil, err
	}
	if r.Name == "" || len(r.Fields) == 0 {
		return nil, fmt.Errorf("not a record with fields")
	}
	named[r.Name] = &r
	for i := range r.Fields {
		f := &r.Fields[i]
		if err := classify(f, named); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", r.Name, f.Name, err)
		}
	}
	return &r, nil
}

func classify(f *field, named map[string]*record) error {
	var name string
	if json.Unmarshal(f.Type, &name) == nil {
		k, ok := map[string]kind{"string": kString, "long": kInt64, "double": kFloat64, "boolean": kBool}[name]
		if !ok {
			return fmt.Errorf("unsupported type %q", name)
		}
		f.kind = k
		return nil
	}
	var union []string
	if json.Unmarshal(f.Type, &union) == nil {
		if len(union) != 2 || union[0] != "null" {
			return fmt.Errorf("unsupported union %v (only [\"null\", T])", union)
		}
		k, ok := map[string]kind{"string": kOptString, "long": kOptInt64, "double": kOptFloat64, "boolean": kOptBool}[union[1]]
		if !ok {
			return fmt.Errorf("unsupported union branch %q", union[1])
		}
		f.kind = k
		return nil
	}
	var complex struct {
		Type        string          `json:"type"`
		LogicalType string          `json:"logicalType"`
		Items       json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(f.Type, &complex); err != nil {
		return fmt.Errorf("unsupported type %s", f.Type)
	}
	switch {
	case complex.Type == "long" && complex.LogicalType == "timestamp-micros":
		f.kind = kTime
	case complex.Type == "array" && strings.TrimSpace(string(complex.Items)) == `"string"`:
		f.kind = kStrings
	case complex.Type == "array":
		var ref string
		if json.Unmarshal(complex.Items, &ref) == nil {
			f.elem = named[ref]
			if f.elem == nil {
				return fmt.Errorf("unknown record %q", ref)
			}
		} else {
			elem, err := parseRecord(complex.Items, named)
			if err != nil {
				return err
			}
			f.elem = elem
		}
		f.kind = kRecords
	default:
		return fmt.Errorf("unsupported type %s", f.Type)
	}
	return nil
}

// initialisms are the words Go spells in capitals in identifiers.
var initialisms = map[string]string{
	"abi": "ABI", "abi2": "ABI2", "bios": "BIOS", "cpu": "CPU", "dlls": "DLLs", "dom": "DOM", "gmp": "GMP",
	"id": "ID", "ipc": "IPC", "js": "JS", "json": "JSON", "mdsw": "MDSW", "oom": "OOM", "os": "OS",
	"phc": "PHC", "productid": "ProductID", "sha256": "SHA256", "ts": "TS", "url": "URL", "uuid": "UUID",
	"xpcom": "XPCOM",
}

// goName turns an Avro field name (snake_case) into a Go identifier.
func goName(avro string) string {
	var b strings.Builder
	for _, w := range strings.Split(avro, "_") {
		if up, ok := initialisms[w]; ok {
			b.WriteString(up)
			continue
		}
		if w != "" {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}
