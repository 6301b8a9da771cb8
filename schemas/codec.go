package schemas

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/linkedin/goavro/v2"
)

// kind is how one struct field maps onto goavro's native representation.
type kind int

const (
	kString kind = iota
	kInt64
	kFloat64
	kBool
	kTime
	kOptInt64   // *int64  <-> ["null","long"]
	kOptFloat64 // *float64 <-> ["null","double"]
	kOptBool    // *bool   <-> ["null","boolean"]
	kOptString  // *string <-> ["null","string"]
	kStrings    // []string <-> array of string
	kRecords    // []struct <-> array of record
)

// plan says how to move one Go struct type to and from goavro's native
// map[string]any. It is computed once per type from the avro struct tags.
type plan struct {
	fields []fieldPlan
}

type fieldPlan struct {
	name  string
	index int
	kind  kind
	elem  *plan // for kRecords
}

var timeType = reflect.TypeFor[time.Time]()

func newPlan(t reflect.Type) (*plan, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("schemas: %s is not a struct", t)
	}
	p := &plan{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, ok := f.Tag.Lookup("avro")
		if !ok || name == "-" {
			continue
		}
		fp := fieldPlan{name: name, index: i}
		switch ft := f.Type; {
		case ft == timeType:
			fp.kind = kTime
		case ft.Kind() == reflect.String:
			fp.kind = kString
		case ft.Kind() == reflect.Int64:
			fp.kind = kInt64
		case ft.Kind() == reflect.Float64:
			fp.kind = kFloat64
		case ft.Kind() == reflect.Bool:
			fp.kind = kBool
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Int64:
			fp.kind = kOptInt64
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Float64:
			fp.kind = kOptFloat64
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Bool:
			fp.kind = kOptBool
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.String:
			fp.kind = kOptString
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.String:
			fp.kind = kStrings
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			elem, err := newPlan(ft.Elem())
			if err != nil {
				return nil, err
			}
			fp.kind, fp.elem = kRecords, elem
		default:
			return nil, fmt.Errorf("schemas: %s.%s: unsupported type %s", t, f.Name, ft)
		}
		p.fields = append(p.fields, fp)
	}
	return p, nil
}

// toNative builds the goavro native map of struct value v.
func (p *plan) toNative(v reflect.Value) map[string]any {
	m := make(map[string]any, len(p.fields))
	for _, f := range p.fields {
		fv := v.Field(f.index)
		switch f.kind {
		case kString:
			m[f.name] = fv.String()
		case kInt64:
			m[f.name] = fv.Int()
		case kFloat64:
			m[f.name] = fv.Float()
		case kBool:
			m[f.name] = fv.Bool()
		case kTime:
			m[f.name] = fv.Interface().(time.Time)
		case kOptInt64:
			m[f.name] = optional(fv, "long")
		case kOptFloat64:
			m[f.name] = optional(fv, "double")
		case kOptBool:
			m[f.name] = optional(fv, "boolean")
		case kOptString:
			m[f.name] = optional(fv, "string")
		case kStrings:
			s := make([]any, fv.Len())
			for i := range s {
				s[i] = fv.Index(i).String()
			}
			m[f.name] = s
		case kRecords:
			s := make([]any, fv.Len())
			for i := range s {
				s[i] = f.elem.toNative(fv.Index(i))
			}
			m[f.name] = s
		}
	}
	return m
}

// sizeHint estimates the encoded size of struct value v (strings dominate:
// json_dump is most of a processed crash), so the encoder can allocate its
// output once instead of regrowing it through every doubling.
func (p *plan) sizeHint(v reflect.Value) int {
	n := 0
	for _, f := range p.fields {
		fv := v.Field(f.index)
		switch f.kind {
		case kString:
			n += fv.Len() + 5
		case kStrings:
			for i := range fv.Len() {
				n += fv.Index(i).Len() + 5
			}
		case kRecords:
			for i := range fv.Len() {
				n += f.elem.sizeHint(fv.Index(i))
			}
		default:
			n += 10
		}
	}
	return n
}

func optional(fv reflect.Value, branch string) any {
	if fv.IsNil() {
		return nil
	}
	return map[string]any{branch: fv.Elem().Interface()}
}

// fromNative fills struct value v from a goavro native map. Fields the
// writer did not have keep their zero value; writer fields without a struct
// field are ignored. Numeric widening (int->long, float->double) follows
// Avro's promotion rules so an older writer with a narrower type decodes.
func (p *plan) fromNative(m map[string]any, v reflect.Value) error {
	for _, f := range p.fields {
		raw, ok := m[f.name]
		if !ok {
			continue
		}
		fv := v.Field(f.index)
		if u, isUnion := raw.(map[string]any); isUnion && f.kind != kRecords {
			raw = nil
			for _, x := range u { // a union value has exactly one branch
				raw = x
			}
		}
		if err := setField(f, fv, raw); err != nil {
			return fmt.Errorf("field %s: %w", f.name, err)
		}
	}
	return nil
}

func setField(f fieldPlan, fv reflect.Value, raw any) error {
	switch f.kind {
	case kString, kOptString:
		if raw == nil {
			if f.kind == kOptString {
				fv.SetZero()
			}
			return nil
		}
		s, ok := raw.(string)
		if !ok {
			return fmt.Errorf("want string, got %T", raw)
		}
		if f.kind == kOptString {
			fv.Set(reflect.ValueOf(&s))
		} else {
			fv.SetString(s)
		}
	case kInt64, kOptInt64:
		if raw == nil {
			fv.SetZero()
			return nil
		}
		n, err := toInt64(raw)
		if err != nil {
			return err
		}
		if f.kind == kOptInt64 {
			fv.Set(reflect.ValueOf(&n))
		} else {
			fv.SetInt(n)
		}
	case kFloat64, kOptFloat64:
		if raw == nil {
			fv.SetZero()
			return nil
		}
		x, err := toFloat64(raw)
		if err != nil {
			return err
		}
		if f.kind == kOptFloat64 {
			fv.Set(reflect.ValueOf(&x))
		} else {
			fv.SetFloat(x)
		}
	case kBool, kOptBool:
		if raw == nil {
			fv.SetZero()
			return nil
		}
		b, ok := raw.(bool)
		if !ok {
			return fmt.Errorf("want boolean, got %T", raw)
		}
		if f.kind == kOptBool {
			fv.Set(reflect.ValueOf(&b))
		} else {
			fv.SetBool(b)
		}
	case kTime:
		switch t := raw.(type) {
		case time.Time:
			fv.Set(reflect.ValueOf(t.UTC()))
		case int64: // a writer without the logical type: microseconds
			fv.Set(reflect.ValueOf(time.UnixMicro(t).UTC()))
		default:
			return fmt.Errorf("want timestamp, got %T", raw)
		}
	case kStrings:
		items, ok := raw.([]any)
		if !ok {
			return fmt.Errorf("want array, got %T", raw)
		}
		if len(items) == 0 { // nil, not empty: decode(encode(x)) == x
			fv.SetZero()
			return nil
		}
		out := make([]string, len(items))
		for i, it := range items {
			s, ok := it.(string)
			if !ok {
				return fmt.Errorf("item %d: want string, got %T", i, it)
			}
			out[i] = s
		}
		fv.Set(reflect.ValueOf(out))
	case kRecords:
		items, ok := raw.([]any)
		if !ok {
			return fmt.Errorf("want array, got %T", raw)
		}
		if len(items) == 0 {
			fv.SetZero()
			return nil
		}
		out := reflect.MakeSlice(fv.Type(), len(items), len(items))
		for i, it := range items {
			m, ok := it.(map[string]any)
			if !ok {
				return fmt.Errorf("item %d: want record, got %T", i, it)
			}
			if err := f.elem.fromNative(m, out.Index(i)); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
		}
		fv.Set(out)
	}
	return nil
}

func toInt64(raw any) (int64, error) {
	switch n := raw.(type) {
	case int64:
		return n, nil
	case int32:
		return int64(n), nil
	case int:
		return int64(n), nil
	}
	return 0, fmt.Errorf("want long, got %T", raw)
}

func toFloat64(raw any) (float64, error) {
	switch x := raw.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case int32:
		return float64(x), nil
	}
	return 0, fmt.Errorf("want double, got %T", raw)
}

// Codec encodes and decodes one record type with one schema revision. The
// schema it was built from is the writer schema when encoding and, when
// decoding, must be the schema the bytes were written with (Avro binary
// carries no schema of its own): framing resolves that from the schema id.
type Codec struct {
	avro *goavro.Codec
	plan *plan
	typ  reflect.Type
}

// MaxArrayItems bounds the item count of one Avro array block a decoder
// accepts. goavro preallocates a slice of the announced count before
// reading any item, so its default (2^31) lets a 10-byte record request
// tens of GB: a crafted Kafka record could kill every consumer. No
// crashstream array comes near this bound (a few thousand modules at most);
// the worst a hostile record can make a decoder allocate is 1 MiB per array.
const MaxArrayItems = 1 << 16

// goavroLimits applies MaxArrayItems to goavro's package-level knob, the
// only way goavro offers. It runs once, before the first codec exists, so
// no decoder ever reads the knob concurrently with this write.
var goavroLimits sync.Once

// NewCodec parses schema text and binds it to the record type of v (a
// pointer to one of this package's event structs).
func NewCodec(schema string, v Record) (*Codec, error) {
	goavroLimits.Do(func() { goavro.MaxBlockCount = MaxArrayItems })
	c, err := goavro.NewCodec(schema)
	if err != nil {
		return nil, fmt.Errorf("schemas: parse schema: %w", err)
	}
	t := reflect.TypeOf(v).Elem()
	p, err := newPlan(t)
	if err != nil {
		return nil, err
	}
	return &Codec{avro: c, plan: p, typ: t}, nil
}

// Encode appends the Avro binary encoding of v to dst.
func (c *Codec) Encode(dst []byte, v Record) ([]byte, error) {
	rv := reflect.ValueOf(v)
	if rv.Type().Elem() != c.typ || rv.IsNil() {
		return nil, fmt.Errorf("schemas: codec for %s cannot encode %T", c.typ, v)
	}
	if hint := c.plan.sizeHint(rv.Elem()); cap(dst)-len(dst) < hint {
		dst = append(make([]byte, 0, len(dst)+hint), dst...)
	}
	out, err := c.avro.BinaryFromNative(dst, c.plan.toNative(rv.Elem()))
	if err != nil {
		return nil, fmt.Errorf("schemas: encode %s: %w", c.typ.Name(), err)
	}
	return out, nil
}

// ErrTrailingBytes reports bytes left over after a complete record: the
// input was not written with this schema, or it is corrupt.
var ErrTrailingBytes = errors.New("schemas: trailing bytes after record")

// Decode replaces *v with the record in b, which must hold exactly one
// record written with this codec's schema.
func (c *Codec) Decode(b []byte, v Record) error {
	rv := reflect.ValueOf(v)
	if rv.Type().Elem() != c.typ || rv.IsNil() {
		return fmt.Errorf("schemas: codec for %s cannot decode into %T", c.typ, v)
	}
	native, rest, err := c.avro.NativeFromBinary(b)
	if err != nil {
		return fmt.Errorf("schemas: decode %s: %w", c.typ.Name(), err)
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w (%d)", ErrTrailingBytes, len(rest))
	}
	m, ok := native.(map[string]any)
	if !ok {
		return fmt.Errorf("schemas: decode %s: schema is not a record", c.typ.Name())
	}
	elem := rv.Elem()
	elem.SetZero()
	if err := c.plan.fromNative(m, elem); err != nil {
		return fmt.Errorf("schemas: decode %s: %w", c.typ.Name(), err)
	}
	return nil
}

// Record is implemented by the event structs of this package (and only
// them: the method is unexported). It names the schema file of the current
// revision, which Encode and Decode use.
type Record interface {
	SchemaFile() string
	record()
}

// currentCodecs parses the current schema of every event once. The result
// is immutable after construction; it is cached because parsing the
// processed-crash schema costs far more than encoding one record.
var currentCodecs = sync.OnceValues(func() (map[string]*Codec, error) {
	out := map[string]*Codec{}
	for _, r := range []Record{&CrashReceived{}, &ProcessRequest{}, &ProcessedCrash{}, &TelemetryCrash{}} {
		src, err := Source(r.SchemaFile())
		if err != nil {
			return nil, err
		}
		c, err := NewCodec(src, r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.SchemaFile(), err)
		}
		out[r.SchemaFile()] = c
	}
	return out, nil
})

// CurrentCodec returns the codec of the current schema revision of r's type.
func CurrentCodec(r Record) (*Codec, error) {
	all, err := currentCodecs()
	if err != nil {
		return nil, err
	}
	c, ok := all[r.SchemaFile()]
	if !ok {
		return nil, fmt.Errorf("schemas: no codec for %s", r.SchemaFile())
	}
	return c, nil
}

// Encode returns the Avro binary of r with its current schema (no framing).
func Encode(r Record) ([]byte, error) {
	c, err := CurrentCodec(r)
	if err != nil {
		return nil, err
	}
	return c.Encode(nil, r)
}

// Decode fills r from Avro binary written with r's current schema.
func Decode(b []byte, r Record) error {
	c, err := CurrentCodec(r)
	if err != nil {
		return err
	}
	return c.Decode(b, r)
}
