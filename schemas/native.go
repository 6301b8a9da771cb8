package schemas

import (
	"fmt"
	"time"
)

// The helpers below move values between the generated structs and goavro's
// native form: map[string]any per record, []any per array, a one-key map
// {"long": 5} per non-null union value. events_gen.go calls them field by
// field, so the codec needs no reflection.

// nativeRecord is what the generator gives every record struct.
type nativeRecord interface {
	toNative() map[string]any
	fromNative(map[string]any) error
	sizeHint() int
}

func fieldError(name string, err error) error { return fmt.Errorf("field %s: %w", name, err) }

func optionalToNative[T any](p *T, branch string) any {
	if p == nil {
		return nil
	}
	return map[string]any{branch: *p}
}

func stringsToNative(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

func recordsToNative[T any, P interface {
	*T
	nativeRecord
}](s []T) []any {
	out := make([]any, len(s))
	for i := range s {
		out[i] = P(&s[i]).toNative()
	}
	return out
}

// unwrap returns the value of a union's one branch ({"long": 5} -> 5), or
// raw itself when it is not a union.
func unwrap(raw any) any {
	if u, ok := raw.(map[string]any); ok {
		for _, x := range u {
			return x
		}
		return nil
	}
	return raw
}

// optionalFromNative turns a scalar decoder into one for a ["null", T]
// field: null is nil.
func optionalFromNative[T any](from func(any) (T, error)) func(any) (*T, error) {
	return func(raw any) (*T, error) {
		if unwrap(raw) == nil {
			return nil, nil
		}
		v, err := from(raw)
		if err != nil {
			return nil, err
		}
		return &v, nil
	}
}

func stringFromNative(raw any) (string, error) {
	switch s := unwrap(raw).(type) {
	case nil:
		return "", nil
	case string:
		return s, nil
	}
	return "", fmt.Errorf("want string, got %T", raw)
}

// int64FromNative accepts int as well as long: Avro promotes int to long,
// so a writer with the narrower type still decodes.
func int64FromNative(raw any) (int64, error) {
	switch n := unwrap(raw).(type) {
	case nil:
		return 0, nil
	case int64:
		return n, nil
	case int32:
		return int64(n), nil
	case int:
		return int64(n), nil
	}
	return 0, fmt.Errorf("want long, got %T", raw)
}

// float64FromNative accepts the types Avro promotes to double.
func float64FromNative(raw any) (float64, error) {
	switch x := unwrap(raw).(type) {
	case nil:
		return 0, nil
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

func boolFromNative(raw any) (bool, error) {
	switch b := unwrap(raw).(type) {
	case nil:
		return false, nil
	case bool:
		return b, nil
	}
	return false, fmt.Errorf("want boolean, got %T", raw)
}

// timeFromNative accepts a plain long as microseconds: a writer without
// the logical type.
func timeFromNative(raw any) (time.Time, error) {
	switch t := unwrap(raw).(type) {
	case time.Time:
		return t.UTC(), nil
	case int64:
		return time.UnixMicro(t).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("want timestamp, got %T", raw)
}

// stringsFromNative returns nil, not an empty slice, for an empty array,
// so that decode(encode(x)) == x.
func stringsFromNative(raw any) ([]string, error) {
	items, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("want array, got %T", raw)
	}
	if len(items) == 0 {
		return nil, nil
	}
	out := make([]string, len(items))
	for i, it := range items {
		s, ok := it.(string)
		if !ok {
			return nil, fmt.Errorf("item %d: want string, got %T", i, it)
		}
		out[i] = s
	}
	return out, nil
}

func recordsFromNative[T any, P interface {
	*T
	nativeRecord
}](raw any) ([]T, error) {
	items, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("want array, got %T", raw)
	}
	if len(items) == 0 {
		return nil, nil
	}
	out := make([]T, len(items))
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("item %d: want record, got %T", i, it)
		}
		if err := P(&out[i]).fromNative(m); err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
	}
	return out, nil
}

func stringsSize(s []string) int {
	n := 0
	for _, x := range s {
		n += len(x) + 5
	}
	return n
}

func recordsSize[T any, P interface {
	*T
	nativeRecord
}](s []T) int {
	n := 0
	for i := range s {
		n += P(&s[i]).sizeHint()
	}
	return n
}
