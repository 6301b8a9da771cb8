// Package collector is crashstream's front door: an Antenna-compatible
// POST /submit that every Breakpad, Crashpad, Electron or Firefox-style
// client can submit to unchanged.
//
// A submission is read whole before anything is stored: the throttle
// decision and the crash id need every annotation, and a refused report
// must leave no object behind. Memory stays bounded while doing so: the
// body is capped as sent (-collector.max-body-size) and after gzip
// decompression (-collector.max-payload-size, so a gzip bomb costs at most
// that much spool before its 413), annotations are capped in total, and
// dumps keep at most -collector.spool-memory bytes per request, and
// -collector.spool-memory-total for all requests together, in memory before
// spilling to a temporary file. -collector.max-in-flight bounds the
// number of requests doing this at once (503 + Retry-After above).
//
// Answers, as Antenna gives them (text/plain):
//
//	200 CrashID=bp-<id>\n          stored and announced (or FAKEACCEPT)
//	200 Discarded=rule_<name>      the throttler rejected it
//	400 Discarded=malformed_<why>  one of Antenna's eleven reasons
//	401 Discarded=unauthorized_uuid a crash id chosen without the token
//	408 Discarded=timeout          the body stopped arriving
//	413 Discarded=too_large        over a size or count limit
//	503 Discarded=overloaded|storage_unavailable, with Retry-After
//
// Where Antenna's spec and code differ we follow the code, which keeps
// crashes: a non-UTF-8 annotation is dropped with a collector note (spec:
// 400), and JSON plus key/value annotations are merged with a note (spec:
// 400 malformed_has_json_and_kv). Non-string JSON values are kept as their
// JSON text with a note, so annotations are strings everywhere downstream.
//
// Durability follows Antenna since 2024: dumps, dump names, then the raw
// crash are written (each with bounded retries), then crash.received.v1 is
// published, then the client gets its CrashID. A storage failure answers
// 503 and leaves no raw crash; a publish failure still answers the CrashID
// and is retried in the background (see crashMover).
package collector
