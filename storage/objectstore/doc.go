// Package objectstore is crashstream's access to the S3-compatible object
// store (MinIO locally): configuration (the s3.* flags), bucket handles with
// streaming PUT, bounded GET, LIST by prefix and DELETE, the start-up
// writability check, and the key layout every service shares.
//
// Layout (the same as Antenna's and Socorro's, so their tooling can read
// our buckets):
//
//	v1/raw_crash/<YYYYMMDD>/<id>   raw crash JSON, written last by the collector
//	v1/dump_names/<id>             JSON list of dump names
//	v1/<dumpname>/<id>             dump bytes (upload_file_minidump -> v1/dump/<id>)
//	v1/processed_crash/<id>        processed crash JSON
//	v1/crash_report/<YYYYMMDD>/<id> telemetry export (telemetry bucket)
//	<debug_file>/<debug_id>/<file>.sym  symbols (symbols bucket)
//
// Every key function validates its inputs, so an id or a name taken from a
// request cannot reach outside its prefix. Errors for missing objects wrap
// ErrNotFound; any other error means the store is unavailable or refused.
package objectstore
