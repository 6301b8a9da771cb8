#!/usr/bin/env bash
# Data engineer test: a Go producer writes processed crashes to Kafka and
# serves the read-only schema registry API; a Python consumer using
# confluent-kafka's AvroDeserializer (and fastavro) decodes and checks them.
# Exits 0 with a SKIP line when Kafka is not up.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
brokers=${CRASHSTREAM_KAFKA_BROKERS:-127.0.0.1:9092}
host=${brokers%%,*}
if ! (exec 3<>"/dev/tcp/${host%:*}/${host##*:}") 2>/dev/null; then
	echo "SKIP dataengineer: Kafka is not reachable at $host (run make up)"
	exit 0
fi
"$root/tests/dataengineer/install.sh"
tmp=$(mktemp -d)
cleanup() {
	exec 4>&- 2>/dev/null || true
	[ -n "${pid:-}" ] && wait "$pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
(cd "$root/tests" && go build -o "$tmp/deproducer" ./dataengineer/deproducer)
# stdin is a pipe we hold open: closing it stops the helper.
mkfifo "$tmp/stdin"
"$tmp/deproducer" -kafka.brokers "$brokers" -kafka.topic-prefix "de$(date +%s%N)." \
	-manifest "$tmp/manifest.json" < "$tmp/stdin" &
pid=$!
exec 4>"$tmp/stdin"
for _ in $(seq 1 600); do
	[ -f "$tmp/manifest.json" ] && break
	kill -0 "$pid" 2>/dev/null || { echo "FAIL dataengineer: producer exited"; exit 1; }
	sleep 0.1
done
[ -f "$tmp/manifest.json" ] || { echo "FAIL dataengineer: producer wrote no manifest"; exit 1; }
"$root/.stack/venv-de/bin/python" "$root/tests/dataengineer/test_consume.py" "$tmp/manifest.json"
