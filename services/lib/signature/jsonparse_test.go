package signature

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stdJSON is what parseJSON must agree with: encoding/json, UseNumber, one
// value and nothing but whitespace after it.
func stdJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, io.ErrUnexpectedEOF
	}
	return v, nil
}

var jsonSeeds = []string{
	`{}`, `[]`, `{"a": [1, -2.5e+3, true, false, null, "x"]}`, `"\u00e9\ud83d\ude00\ud800x\udc00"`, "\"\xff\xfe\"",
	`"\"\\\/\b\f\n\r\t"`, `{"a":1,"a":2}`, ` 0 `, `-0`, `01`, `1.`, `.5`, `1e`, `-`, `[1,]`, `{"a"}`, `{"a":}`,
	`{,}`, `nul`, `tru`, `"\x"`, `"\u12"`, "\"a\x01\"", `[[[[]]]]`, `{"k": {"k": {"k": "v"}}}`, `"\ud800\u0041"`,
	"\"\\u00e9\xe2\x82\"", `123abc`, `{"a":1}{}`, ``, `   `,
}

func TestParseJSONMatchesEncodingJSON(t *testing.T) {
	for _, s := range jsonSeeds {
		want, wantErr := stdJSON([]byte(s))
		got, err := parseJSON([]byte(s))
		if wantErr != nil {
			assert.Error(t, err, "%q", s)
			continue
		}
		require.NoError(t, err, "%q", s)
		assert.Equal(t, want, got, "%q", s)
	}
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wantErr := stdJSON(data)
		got, err := parseJSON(data)
		if (wantErr == nil) != (err == nil) {
			t.Fatalf("%q: encoding/json error %v, parseJSON error %v", data, wantErr, err)
		}
		if err == nil && !reflect.DeepEqual(want, got) {
			t.Fatalf("%q: encoding/json %#v, parseJSON %#v", data, want, got)
		}
	})
}
