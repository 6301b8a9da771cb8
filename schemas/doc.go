// Package schemas holds crashstream's event contracts: the Avro schemas
// (the .avsc files under avro/, embedded, are the one source of truth), the
// Go structs generated from them, and their binary codecs.
//
// Every other module exchanges events only through these structs: goavro and
// its map[string]any representation never leave this module. The structs,
// their converters to and from goavro's native form, the telemetry schema
// and the field registry table are written by internal/gen from the .avsc
// files (`go generate ./...` here; a test fails when they are stale). The
// converters map fields by name, so a schema revision with fewer or more
// fields still decodes (unknown writer fields are ignored, missing ones keep
// their zero value), which is what backward-compatible evolution needs. The
// `avro:"<field name>"` tags the structs keep serve the JSON form and tests.
//
// Encode and Decode here produce and read bare Avro binary. On Kafka the
// bytes travel in the Confluent wire format (magic byte 0, 4-byte big-endian
// schema id, Avro binary): see the registry subpackage, which pins schema ids
// and frames records. The field registry for processed crashes (permissions,
// search, ClickHouse columns, telemetry export, annotation sources) is in the
// fields subpackage, generated from the crashstream.* field properties of
// processed_crash.v1.avsc.
package schemas

//go:generate go run ./internal/gen
