"""The data engineer's view of crashstream: consume crash.processed.v1 with
the standard Confluent Python client and its AvroDeserializer, pointed at a
registry endpoint serving crashstream's schemas, and check that every record
the Go producer wrote decodes to the expected values. Also decode the same
bytes with fastavro alone, from the schema the registry returns.

Usage: test_consume.py <manifest.json>   (written by the deproducer helper)
Exits 0 when every check passes, 1 otherwise.
"""

import io
import json
import struct
import sys
import time
import urllib.request
import uuid
from datetime import datetime, timezone

import fastavro
from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

TIMEOUT_S = 120


def consume(manifest, topic):
    want = len(manifest["records"])
    consumer = Consumer({
        "bootstrap.servers": manifest["brokers"],
        "group.id": "dataengineer-" + uuid.uuid4().hex,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([topic])
    got = {}
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while len(got) < want and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            if msg.error():
                raise RuntimeError(f"consume error: {msg.error()}")
            got[msg.key().decode()] = msg.value()
    finally:
        consumer.close()
    return got


def check_record(exp, rec, failures):
    def eq(field, got, expected):
        if got != expected:
            failures.append(f"{exp['crash_id']}: {field}: got {got!r}, want {expected!r}")

    eq("crash_id", rec["crash_id"], exp["crash_id"])
    eq("uuid", rec["uuid"], exp["crash_id"])
    for f in ("product", "version", "release_channel", "signature", "build", "uptime",
              "startup_crash", "install_time", "user_comments"):
        eq(f, rec[f], exp[f])
    eq("addons", rec["addons"], exp["addons"] or [])
    want_date = datetime.fromtimestamp(exp["date_processed_us"] / 1e6, tz=timezone.utc)
    eq("date_processed", rec["date_processed"], want_date)
    eq("modules count", len(rec["modules"]), exp["modules"])
    eq("first module", rec["modules"][0]["filename"], exp["first_module"])
    eq("frames count", len(rec["crashing_thread_frames"]), exp["frames"])
    eq("first frame function", rec["crashing_thread_frames"][0]["function"], exp["first_function"])
    eq("first frame line", rec["crashing_thread_frames"][0]["line"], exp["first_line"])
    eq("json_dump length", len(rec["json_dump"]), exp["json_dump_bytes"])
    dump = json.loads(rec["json_dump"])
    eq("json_dump crash type", dump["crash_info"]["type"], "EXCEPTION_ACCESS_VIOLATION_WRITE")


def main():
    with open(sys.argv[1]) as f:
        manifest = json.load(f)
    registry = SchemaRegistryClient({"url": manifest["registry_url"]})
    deserializer = AvroDeserializer(registry)
    ctx = SerializationContext(manifest["topic"], MessageField.VALUE)

    raw = consume(manifest, manifest["topic"])
    failures = []
    if len(raw) != len(manifest["records"]):
        failures.append(f"consumed {len(raw)} records, want {len(manifest['records'])}")

    # The writer schema as any client sees it: fetched by id from the registry.
    with urllib.request.urlopen(f"{manifest['registry_url']}/schemas/ids/{manifest['schema_id']}") as r:
        schema = fastavro.parse_schema(json.loads(json.loads(r.read())["schema"]))

    for exp in manifest["records"]:
        value = raw.get(exp["crash_id"])
        if value is None:
            failures.append(f"{exp['crash_id']}: not consumed")
            continue
        rec = deserializer(value, ctx)
        check_record(exp, rec, failures)
        magic, schema_id = struct.unpack(">bI", value[:5])
        if magic != 0 or schema_id != manifest["schema_id"]:
            failures.append(f"{exp['crash_id']}: frame header {magic}/{schema_id}")
        plain = fastavro.schemaless_reader(io.BytesIO(value[5:]), schema)
        if plain != rec:
            failures.append(f"{exp['crash_id']}: fastavro and AvroDeserializer disagree")

    # The telemetry topic: public fields only, with Socorro's renames.
    tctx = SerializationContext(manifest["telemetry_topic"], MessageField.VALUE)
    traw = consume(manifest, manifest["telemetry_topic"])
    if len(traw) != len(manifest["records"]):
        failures.append(f"consumed {len(traw)} telemetry records, want {len(manifest['records'])}")
    for exp in manifest["records"]:
        value = traw.get(exp["crash_id"])
        if value is None:
            continue
        rec = deserializer(value, tctx)
        if struct.unpack(">bI", value[:5])[1] != manifest["telemetry_schema_id"]:
            failures.append(f"{exp['crash_id']}: telemetry schema id")
        for protected in ("user_comments", "url", "moz_crash_reason_raw", "java_stack_trace_raw"):
            if protected in rec:
                failures.append(f"{exp['crash_id']}: telemetry carries protected field {protected}")
        for old in ("build", "date_processed", "os_name", "os_version", "os_pretty_version"):
            if old in rec:
                failures.append(f"{exp['crash_id']}: telemetry has {old}, not its renamed field")
        want_date = datetime.fromtimestamp(exp["date_processed_us"] / 1e6, tz=timezone.utc)
        checks = {"build_id": exp["build"], "date": want_date, "platform": "Windows NT",
                  "platform_version": "10.0.19045", "platform_pretty_version": "Windows 10",
                  "signature": exp["signature"], "product": exp["product"]}
        for k, want in checks.items():
            if rec.get(k) != want:
                failures.append(f"{exp['crash_id']}: telemetry {k}: got {rec.get(k)!r}, want {want!r}")

    for f in failures[:20]:
        print("FAIL", f)
    if failures:
        print(f"dataengineer: {len(failures)} failures")
        return 1
    print(f"dataengineer: decoded {len(raw)} crash.processed.v1 records (schema id {manifest['schema_id']}) "
          f"with confluent-kafka AvroDeserializer and fastavro, and {len(traw)} crash.telemetry.v1 records "
          f"(schema id {manifest['telemetry_schema_id']}), from the registry at {manifest['registry_url']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
