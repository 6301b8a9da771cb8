package schemas_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/fields"
	"github.com/crashstream/crashstream/schemas/schematest"
)

// filled returns a processed crash with every field set to a distinct
// non-zero value, so a mix-up between two fields would show.
func filled() *schemas.ProcessedCrash {
	pc := schematest.ProcessedCrash(9, schematest.Small())
	v := reflect.ValueOf(pc).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Type() {
		case reflect.TypeFor[string]():
			f.SetString("s" + v.Type().Field(i).Name)
		case reflect.TypeFor[*int64]():
			n := int64(i + 1)
			f.Set(reflect.ValueOf(&n))
		case reflect.TypeFor[*float64]():
			x := float64(i) + 0.5
			f.Set(reflect.ValueOf(&x))
		case reflect.TypeFor[*bool]():
			b := i%2 == 0
			f.Set(reflect.ValueOf(&b))
		case reflect.TypeFor[[]string]():
			f.Set(reflect.ValueOf([]string{"l" + v.Type().Field(i).Name}))
		case reflect.TypeFor[time.Time]():
			f.Set(reflect.ValueOf(time.Unix(int64(i)*1000, 0).UTC()))
		}
	}
	return pc
}

func TestTelemetry(t *testing.T) {
	pc := filled()
	tc := pc.Telemetry()
	reg := fields.New()
	byTelemetryName := map[string]fields.Field{}
	for _, f := range reg.Telemetry() {
		byTelemetryName[f.TelemetryFieldName()] = f
	}
	pv, tv := reflect.ValueOf(pc).Elem(), reflect.ValueOf(tc).Elem()
	srcIndex := map[string]int{}
	for i := range pv.NumField() {
		srcIndex[pv.Type().Field(i).Tag.Get("avro")] = i
	}
	for i := range tv.NumField() {
		name := tv.Type().Field(i).Tag.Get("avro")
		f, ok := byTelemetryName[name]
		require.True(t, ok, name)
		assert.True(t, f.IsPublic(), name)
		assert.Equal(t, pv.Field(srcIndex[f.Name]).Interface(), tv.Field(i).Interface(), name)
	}
	assert.Equal(t, pc.Build, tc.BuildID)
	assert.Equal(t, pc.DateProcessed, tc.Date)
	assert.Equal(t, pc.OSName, tc.Platform)
	assert.Equal(t, pc.OSVersion, tc.PlatformVersion)
	assert.Equal(t, pc.OSPrettyVersion, tc.PlatformPrettyVersion)
	// And it encodes with the telemetry schema.
	b, err := tc.Encode()
	require.NoError(t, err)
	var back schemas.TelemetryCrash
	require.NoError(t, back.Decode(b))
	assert.Equal(t, tc, &back)
}
