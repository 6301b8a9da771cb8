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
// Slow and hostile clients. A body must keep coming: -collector.read-timeout
// of silence, a whole body longer than -collector.body-timeout, or an
// average below -collector.min-rate once -collector.rate-grace has passed
// all end it with 408 (the minimum rate is a moving read deadline,
// start+grace+received/min-rate, so a stalled or trickling client is cut
// without any read returning). When every slot is taken a newcomer evicts
// the slowest body still being read (slower than -collector.evict-below
// after -collector.evict-min-age) and takes over its slot; the evicted one
// gets 408. Only when no reader is slow enough, for -collector.admit-wait,
// is the newcomer refused with 503: slow clients are shed first, and
// requests past their bodies (storing) are never shed.
//
// Latency under load. With -collector.store-latency-target set (it is off
// by default), storing and announcing a report (the object store
// writes, then the publish) is limited to a number of reports at once that
// adapts to its measured latency (storelimit.go: AIMD towards
// -collector.store-latency-target plus the report's bytes at 64 MiB/s,
// between -collector.store-limit-min and -collector.max-in-flight). Past
// the limit a report is refused with 503 overloaded + Retry-After at once —
// before its upload when the limit is already reached as it arrives — so
// accepted reports do not queue behind the stores for seconds when the
// offered rate passes what the machine stores in time.
//
// Memory per request is allocated as data arrives and released when the
// request ends; nothing is sized from a header's claim. Per admitted
// request, outside the global budgets: the connection's buffers (8 KiB),
// the gzip decompressor (about 45 KiB, gzip only), the multipart reader's
// buffer (4 KiB) and the part headers and boundaries it holds (capped at
// 256 KiB per report, 413 above; the standard parser alone would allow
// 10 MiB): about 320 KiB. Drawn from
// process-wide budgets as bytes arrive, in pooled chunks: annotations (at most
// -collector.max-annotations-size, 4 MiB, per report; all reports together
// -collector.annotation-memory-total, 64 MiB, 503 above) and dump spool
// (-collector.spool-memory, 2 MiB, per report; -collector.spool-memory-total,
// 128 MiB, together, then disk). Worst case with the defaults:
// 128 x 320 KiB + 64 MiB + 128 MiB = 232 MiB live, plus the runtime's base
// (about 30 MiB); the chart's request (512 MiB) and limit (1 GiB) leave the
// garbage collector twice that, and GOMEMLIMIT (700 MiB) makes it collect
// before the limit.
//
// Answers, as Antenna gives them (text/plain):
//
//	200 CrashID=bp-<id>\n          stored and announced (or FAKEACCEPT)
//	200 Discarded=rule_<name>      the throttler rejected it
//	400 Discarded=malformed_<why>  one of Antenna's eleven reasons
//	401 Discarded=unauthorized_uuid a crash id chosen without the token
//	408 Discarded=timeout          the body stopped arriving, too slowly or too long, or was shed
//	413 Discarded=too_large        over a size or count limit (also a body longer than its Content-Length says)
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
