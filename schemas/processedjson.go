package schemas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"time"
)

// The processed crash is also stored as JSON (v1/processed_crash/<id> in
// the object store, the ProcessedCrash API), in Socorro's shape: every field
// under its Avro name, json_dump as a nested JSON object (not a string),
// dates as RFC 3339 text, absent optional values as null. These methods
// give schemas.ProcessedCrash that encoding, so every service that reads or
// writes the stored JSON (processor, sink-objectstore, webapp) agrees on it.

// MarshalJSON encodes the processed crash in Socorro's JSON shape.
func (c ProcessedCrash) MarshalJSON() ([]byte, error) {
	return marshalAvroTagged(reflect.ValueOf(c))
}

// UnmarshalJSON decodes Socorro-shaped JSON written by MarshalJSON. Unknown
// keys are ignored, so older readers accept newer documents.
func (c *ProcessedCrash) UnmarshalJSON(b []byte) error {
	return unmarshalAvroTagged(b, reflect.ValueOf(c).Elem())
}

var timeType = reflect.TypeFor[time.Time]()

// MarshalJSON encodes the telemetry record the same way: under its Avro
// field names, dates as RFC 3339, absent values as null (the object
// Socorro's telemetry export writes).
func (c TelemetryCrash) MarshalJSON() ([]byte, error) {
	return marshalAvroTagged(reflect.ValueOf(c))
}

func marshalAvroTagged(v reflect.Value) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	t := v.Type()
	first := true
	for i := range t.NumField() {
		name, ok := t.Field(i).Tag.Lookup("avro")
		if !ok || name == "-" {
			continue
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		key, _ := json.Marshal(name)
		buf.Write(key)
		buf.WriteByte(':')
		fv := v.Field(i)
		if name == "json_dump" && fv.Kind() == reflect.String {
			s := fv.String()
			if s == "" {
				buf.WriteString("{}")
			} else if json.Valid([]byte(s)) {
				buf.WriteString(s)
			} else {
				b, _ := json.Marshal(s)
				buf.Write(b)
			}
			continue
		}
		b, err := marshalValue(fv)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		buf.Write(b)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func marshalValue(v reflect.Value) ([]byte, error) {
	switch {
	case v.Type() == timeType:
		t := v.Interface().(time.Time)
		if t.IsZero() {
			return []byte("null"), nil
		}
		return json.Marshal(t.UTC().Format(time.RFC3339Nano))
	case v.Kind() == reflect.Pointer:
		if v.IsNil() {
			return []byte("null"), nil
		}
		return marshalValue(v.Elem())
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		var buf bytes.Buffer
		buf.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				buf.WriteByte(',')
			}
			b, err := marshalAvroTagged(v.Index(i))
			if err != nil {
				return nil, err
			}
			buf.Write(b)
		}
		buf.WriteByte(']')
		return buf.Bytes(), nil
	case v.Kind() == reflect.Slice && v.IsNil():
		return []byte("[]"), nil
	}
	return json.Marshal(v.Interface())
}

func unmarshalAvroTagged(b []byte, v reflect.Value) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	t := v.Type()
	for i := range t.NumField() {
		name, ok := t.Field(i).Tag.Lookup("avro")
		if !ok || name == "-" {
			continue
		}
		msg, ok := raw[name]
		if !ok || string(msg) == "null" {
			continue
		}
		fv := v.Field(i)
		if name == "json_dump" && fv.Kind() == reflect.String {
			var s string
			if json.Unmarshal(msg, &s) == nil {
				fv.SetString(s)
			} else if string(msg) != "{}" {
				var compact bytes.Buffer
				if err := json.Compact(&compact, msg); err != nil {
					return fmt.Errorf("json_dump: %w", err)
				}
				fv.SetString(compact.String())
			}
			continue
		}
		if err := unmarshalValue(msg, fv); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func unmarshalValue(msg json.RawMessage, v reflect.Value) error {
	switch {
	case v.Type() == timeType:
		var s string
		if err := json.Unmarshal(msg, &s); err != nil {
			return err
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return err
		}
		v.Set(reflect.ValueOf(t.UTC()))
		return nil
	case v.Kind() == reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if err := unmarshalValue(msg, p.Elem()); err != nil {
			return err
		}
		v.Set(p)
		return nil
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct:
		var items []json.RawMessage
		if err := json.Unmarshal(msg, &items); err != nil {
			return err
		}
		s := reflect.MakeSlice(v.Type(), len(items), len(items))
		for i, it := range items {
			if err := unmarshalAvroTagged(it, s.Index(i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	}
	return json.Unmarshal(msg, v.Addr().Interface())
}
