// Package wire implements the Confluent wire format that crashstream uses
// for every Kafka record value: a zero magic byte, the 4-byte big-endian
// schema id, then the Avro binary. Any Confluent-compatible deserializer
// (Java, Python, Go, ...) reads it when pointed at a schema registry that
// knows the id.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Magic is the first byte of every framed value.
const Magic byte = 0

// HeaderSize is the length of the frame header: magic byte and schema id.
const HeaderSize = 5

// ErrNotFramed reports a value that does not start with the magic byte or
// is shorter than the header: not a Confluent-framed record.
var ErrNotFramed = errors.New("wire: not a Confluent-framed value")

// Append appends the header for schema id and then payload to dst.
func Append(dst []byte, id uint32, payload []byte) []byte {
	dst = AppendHeader(dst, id)
	return append(dst, payload...)
}

// AppendHeader appends only the header, so an encoder can write the Avro
// binary straight after it without copying.
func AppendHeader(dst []byte, id uint32) []byte {
	return binary.BigEndian.AppendUint32(append(dst, Magic), id)
}

// Split returns the schema id and the Avro payload of a framed value. The
// payload aliases b.
func Split(b []byte) (id uint32, payload []byte, err error) {
	if len(b) < HeaderSize {
		return 0, nil, fmt.Errorf("%w: %d bytes", ErrNotFramed, len(b))
	}
	if b[0] != Magic {
		return 0, nil, fmt.Errorf("%w: magic byte %#x", ErrNotFramed, b[0])
	}
	return binary.BigEndian.Uint32(b[1:HeaderSize]), b[HeaderSize:], nil
}
