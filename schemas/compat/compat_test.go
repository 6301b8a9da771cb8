package compat

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func rec(fields string) string {
	return `{"type":"record","name":"R","namespace":"n","fields":[` + fields + `]}`
}

func TestBackward(t *testing.T) {
	tests := []struct {
		name         string
		newer, older string
		ok           bool
		mention      string
	}{
		{"identical", rec(`{"name":"a","type":"string"}`), rec(`{"name":"a","type":"string"}`), true, ""},
		{"add field with default", rec(`{"name":"a","type":"string"},{"name":"b","type":["null","long"],"default":null}`), rec(`{"name":"a","type":"string"}`), true, ""},
		{"add field without default", rec(`{"name":"a","type":"string"},{"name":"b","type":"long"}`), rec(`{"name":"a","type":"string"}`), false, ".b"},
		{"remove field", rec(`{"name":"a","type":"string"}`), rec(`{"name":"a","type":"string"},{"name":"b","type":"long"}`), true, ""},
		{"promote int to long", rec(`{"name":"a","type":"long"}`), rec(`{"name":"a","type":"int"}`), true, ""},
		{"promote long to double", rec(`{"name":"a","type":"double"}`), rec(`{"name":"a","type":"long"}`), true, ""},
		{"narrow long to int", rec(`{"name":"a","type":"int"}`), rec(`{"name":"a","type":"long"}`), false, "cannot read writer type long"},
		{"string to bytes", rec(`{"name":"a","type":"bytes"}`), rec(`{"name":"a","type":"string"}`), true, ""},
		{"string to long", rec(`{"name":"a","type":"long"}`), rec(`{"name":"a","type":"string"}`), false, ".a"},
		{"make optional", rec(`{"name":"a","type":["null","string"],"default":null}`), rec(`{"name":"a","type":"string"}`), true, ""},
		{"make required", rec(`{"name":"a","type":"string"}`), rec(`{"name":"a","type":["null","string"],"default":null}`), false, "writer branch 0"},
		{"widen union", rec(`{"name":"a","type":["null","string","long"]}`), rec(`{"name":"a","type":["null","string"]}`), true, ""},
		{"narrow union", rec(`{"name":"a","type":["null","string"]}`), rec(`{"name":"a","type":["null","string","long"]}`), false, "writer branch 2"},
		{"logical type ignored", rec(`{"name":"a","type":{"type":"long","logicalType":"timestamp-micros"}}`), rec(`{"name":"a","type":"long"}`), true, ""},
		{"renamed with alias", rec(`{"name":"b","type":"string","aliases":["a"]}`), rec(`{"name":"a","type":"string"}`), true, ""},
		{"renamed without alias or default", rec(`{"name":"b","type":"string"}`), rec(`{"name":"a","type":"string"}`), false, ".b"},
		{"record renamed", `{"type":"record","name":"S","fields":[]}`, `{"type":"record","name":"R","fields":[]}`, false, "record name"},
		{"namespace change ok", `{"type":"record","name":"x.R","fields":[]}`, `{"type":"record","name":"y.R","fields":[]}`, true, ""},
		{"array items promoted", `{"type":"array","items":"long"}`, `{"type":"array","items":"int"}`, true, ""},
		{"array items incompatible", `{"type":"array","items":"int"}`, `{"type":"array","items":"string"}`, false, "[]"},
		{"map values", `{"type":"map","values":"double"}`, `{"type":"map","values":"float"}`, true, ""},
		{"enum add symbol", `{"type":"enum","name":"E","symbols":["A","B","C"]}`, `{"type":"enum","name":"E","symbols":["A","B"]}`, true, ""},
		{"enum remove symbol", `{"type":"enum","name":"E","symbols":["A"]}`, `{"type":"enum","name":"E","symbols":["A","B"]}`, false, `"B"`},
		{"enum remove symbol with default", `{"type":"enum","name":"E","symbols":["A"],"default":"A"}`, `{"type":"enum","name":"E","symbols":["A","B"]}`, true, ""},
		{"fixed size change", `{"type":"fixed","name":"F","size":16}`, `{"type":"fixed","name":"F","size":8}`, false, "fixed"},
		{"nested record field", rec(`{"name":"x","type":{"type":"record","name":"In","fields":[{"name":"c","type":"int"}]}}`),
			rec(`{"name":"x","type":{"type":"record","name":"In","fields":[]}}`), false, ".x.c"},
		{"array of named type by reference",
			rec(`{"name":"x","type":{"type":"record","name":"In","fields":[{"name":"c","type":"int"}]}},{"name":"y","type":{"type":"array","items":"In"}}`),
			rec(`{"name":"x","type":{"type":"record","name":"In","fields":[{"name":"c","type":"int"}]}},{"name":"y","type":{"type":"array","items":"n.In"}}`), true, ""},
		{"recursive", `{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"]},{"name":"v","type":"long"}]}`,
			`{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"]},{"name":"v","type":"int"}]}`, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Backward(tt.newer, tt.older)
			if tt.ok {
				assert.NoError(t, err)
				return
			}
			if assert.Error(t, err) {
				assert.Contains(t, err.Error(), tt.mention)
			}
		})
	}
}

func TestBadSchemas(t *testing.T) {
	for _, s := range []string{"", "{", `"nosuch"`, `{"type":"record","fields":[]}`, `{"type":"array","items":"nosuch"}`, `{"type":"record","name":"R","fields":[1]}`} {
		assert.Error(t, Backward(s, `"string"`), s)
		assert.Error(t, Backward(`"string"`, s), s)
	}
}

func FuzzBackward(f *testing.F) {
	f.Add(rec(`{"name":"a","type":"string"}`), rec(`{"name":"a","type":["null","L"]}`))
	f.Add(`{"type":"record","name":"L","fields":[{"name":"next","type":["null","L"]}]}`, `["null",{"type":"map","values":"int"}]`)
	f.Fuzz(func(t *testing.T, a, b string) {
		_ = Backward(a, b) // must not panic or loop
	})
}
