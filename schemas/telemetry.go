package schemas

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/crashstream/crashstream/schemas/fields"
)

// telemetryPairs maps each TelemetryCrash field to the ProcessedCrash field
// it is copied from, by the field registry's telemetry names. Computed once;
// immutable afterwards.
var telemetryPairs = sync.OnceValues(func() ([][2]int, error) {
	src := map[string]int{}
	pt := reflect.TypeFor[ProcessedCrash]()
	for i := range pt.NumField() {
		src[pt.Field(i).Tag.Get("avro")] = i
	}
	from := map[string]string{} // telemetry name -> processed name
	for _, f := range fields.New().Telemetry() {
		from[f.TelemetryFieldName()] = f.Name
	}
	var pairs [][2]int
	tt := reflect.TypeFor[TelemetryCrash]()
	for i := range tt.NumField() {
		name := tt.Field(i).Tag.Get("avro")
		j, ok := src[from[name]]
		if !ok {
			return nil, fmt.Errorf("schemas: telemetry field %s has no processed-crash source", name)
		}
		if pt.Field(j).Type != tt.Field(i).Type {
			return nil, fmt.Errorf("schemas: telemetry field %s: type differs from %s", name, from[name])
		}
		pairs = append(pairs, [2]int{j, i})
	}
	return pairs, nil
})

// Telemetry returns the telemetry export of c: the public fields the field
// registry marks for telemetry, under their telemetry names. The result
// shares slices and pointers with c; neither is meant to be modified after.
func (c *ProcessedCrash) Telemetry() (*TelemetryCrash, error) {
	pairs, err := telemetryPairs()
	if err != nil {
		return nil, err
	}
	tc := &TelemetryCrash{}
	src, dst := reflect.ValueOf(c).Elem(), reflect.ValueOf(tc).Elem()
	for _, p := range pairs {
		dst.Field(p[1]).Set(src.Field(p[0]))
	}
	return tc, nil
}
