package rules

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
)

// setter assigns processed-crash fields by their registry name, using the
// Avro tags of schemas.ProcessedCrash. The index is built once.
type setter struct {
	index map[string]int
}

func newSetter() setter {
	t := reflect.TypeFor[schemas.ProcessedCrash]()
	idx := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		if name, ok := t.Field(i).Tag.Lookup("avro"); ok {
			idx[name] = i
		}
	}
	return setter{idx}
}

// set stores v (as returned by fields.Field.Parse) into the named field.
func (s setter) set(pc *schemas.ProcessedCrash, name string, v any) error {
	i, ok := s.index[name]
	if !ok {
		return fmt.Errorf("no processed-crash field %q", name)
	}
	f := reflect.ValueOf(pc).Elem().Field(i)
	val := reflect.ValueOf(v)
	switch {
	case f.Kind() == reflect.Pointer && val.Type().AssignableTo(f.Type().Elem()):
		p := reflect.New(f.Type().Elem())
		p.Elem().Set(val)
		f.Set(p)
	case f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.Int64 && val.Type() == reflect.TypeFor[time.Time]():
		f.Set(reflect.ValueOf(ptr(v.(time.Time).Unix())))
	case val.Type().AssignableTo(f.Type()):
		f.Set(val)
	case f.Kind() == reflect.Slice && val.Kind() == reflect.String:
		f.Set(reflect.ValueOf([]string{v.(string)}))
	default:
		return fmt.Errorf("field %s: cannot store %T in %s", name, v, f.Type())
	}
	return nil
}

// CopyFromRawCrash is the typed copy of annotations into the processed
// crash, driven by the field registry: each registry field with an
// Annotation is parsed to its type. A value that does not parse is left
// out and noted; it never fails the crash.
func CopyFromRawCrash(reg *fields.Registry) Rule {
	s := newSetter()
	anns := reg.Annotations()
	return Func("CopyFromRawCrash", func(_ context.Context, c *Crash) error {
		var bad []string
		for _, ann := range anns {
			text, ok := c.Annotation(ann)
			if !ok || text == "" {
				continue
			}
			for _, f := range reg.FromAnnotation(ann) {
				v, err := f.Parse(text)
				if err != nil {
					bad = append(bad, f.Name)
					continue
				}
				if err := s.set(c.Processed, f.Name, v); err != nil {
					return err
				}
			}
		}
		if len(bad) > 0 {
			sort.Strings(bad)
			return errors.New("invalid values dropped: " + strings.Join(bad, ", "))
		}
		return nil
	})
}
