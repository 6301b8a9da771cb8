// Package schemas holds crashstream's event contracts: the Avro schemas
// (the .avsc files under avro/, embedded, are the source of truth), the typed
// Go structs that mirror them, and their binary codecs.
//
// Every other module exchanges events only through these structs: goavro and
// its map[string]any representation never leave this module. A struct's
// fields carry `avro:"<field name>"` tags; the codec maps them onto the
// schema by name, so a struct may lag behind or run ahead of a schema
// revision and still decode it (unknown writer fields are ignored, missing
// ones keep their zero value), which is what backward-compatible evolution
// needs.
//
// Encode and Decode here produce and read bare Avro binary. On Kafka the
// bytes travel in the Confluent wire format (magic byte 0, 4-byte big-endian
// schema id, Avro binary): see the registry subpackage, which pins schema ids
// and frames records. The field registry for processed crashes (permissions,
// search, ClickHouse columns, telemetry export, annotation sources) is in the
// fields subpackage.
package schemas
