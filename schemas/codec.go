package schemas

import (
	"errors"
	"fmt"
	"sync"

	"github.com/linkedin/goavro/v2"
)

// Codec encodes and decodes one record type with one schema revision. The
// schema it was built from is the writer schema when encoding and, when
// decoding, must be the schema the bytes were written with (Avro binary
// carries no schema of its own): framing resolves that from the schema id.
type Codec struct {
	avro *goavro.Codec
	// file is the SchemaFile of the record type the codec is bound to,
	// which identifies the type.
	file string
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
	return &Codec{avro: c, file: v.SchemaFile()}, nil
}

// Encode appends the Avro binary encoding of v to dst.
func (c *Codec) Encode(dst []byte, v Record) ([]byte, error) {
	if v == nil || v.isNil() || v.SchemaFile() != c.file {
		return nil, fmt.Errorf("schemas: codec for %s cannot encode %T", c.file, v)
	}
	// Allocate the output once instead of regrowing it through every
	// doubling: json_dump makes a processed crash hundreds of KB.
	if hint := v.sizeHint(); cap(dst)-len(dst) < hint {
		dst = append(make([]byte, 0, len(dst)+hint), dst...)
	}
	out, err := c.avro.BinaryFromNative(dst, v.toNative())
	if err != nil {
		return nil, fmt.Errorf("schemas: encode %T: %w", v, err)
	}
	return out, nil
}

// ErrTrailingBytes reports bytes left over after a complete record: the
// input was not written with this schema, or it is corrupt.
var ErrTrailingBytes = errors.New("schemas: trailing bytes after record")

// Decode replaces *v with the record in b, which must hold exactly one
// record written with this codec's schema.
func (c *Codec) Decode(b []byte, v Record) error {
	if v == nil || v.isNil() || v.SchemaFile() != c.file {
		return fmt.Errorf("schemas: codec for %s cannot decode into %T", c.file, v)
	}
	native, rest, err := c.avro.NativeFromBinary(b)
	if err != nil {
		return fmt.Errorf("schemas: decode %T: %w", v, err)
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w (%d)", ErrTrailingBytes, len(rest))
	}
	m, ok := native.(map[string]any)
	if !ok {
		return fmt.Errorf("schemas: decode %T: schema is not a record", v)
	}
	if err := v.fromNative(m); err != nil {
		return fmt.Errorf("schemas: decode %T: %w", v, err)
	}
	return nil
}

// Record is implemented by the event structs of this package (and only
// them: the generated methods are unexported). It names the schema file of
// the current revision, which Encode and Decode use.
type Record interface {
	SchemaFile() string
	nativeRecord
	isNil() bool
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
