package schemas_test

import (
	"encoding/json"
	"testing"

	"github.com/crashstream/crashstream/schemas"
	"github.com/crashstream/crashstream/schemas/schematest"
)

// Benchmarks of the codec alone on a typical processed crash (about 570 KB
// framed, most of it the json_dump string), with encoding/json of the same
// struct as a yardstick.
func BenchmarkProcessedCrash(b *testing.B) {
	pc := schematest.ProcessedCrash(1, schematest.Typical())
	enc, err := pc.Encode()
	if err != nil {
		b.Fatal(err)
	}
	js, err := json.Marshal(pc)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("avro-encode", func(b *testing.B) {
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			if _, err := pc.Encode(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("avro-decode", func(b *testing.B) {
		b.SetBytes(int64(len(enc)))
		for b.Loop() {
			var out schemas.ProcessedCrash
			if err := out.Decode(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json-encode", func(b *testing.B) {
		b.SetBytes(int64(len(js)))
		for b.Loop() {
			if _, err := json.Marshal(pc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json-decode", func(b *testing.B) {
		b.SetBytes(int64(len(js)))
		for b.Loop() {
			var out schemas.ProcessedCrash
			if err := json.Unmarshal(js, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
}
