#!/usr/bin/env bash
# The current-engine conformance lane: storage/clickhouse's migrations and
# queries on the newest ClickHouse this machine can install (chdb-core, 26.x,
# behind tests/chdb/adapter.py's HTTP endpoint), and the same queries on the
# stack's 18.16 with the same data, answers compared (TestConformance).
# The whole storage suite then runs once more with its ClickHouse pointed at
# the current engine. Needs `make up` (18.16 on :19000).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/tests/chdb/install.sh"
py="$root/.stack/venv-chdb/bin/python"
work=$(mktemp -d)
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$py" "$root/tests/chdb/adapter.py" --port "$port" --path "$work/chdb" >"$work/adapter.log" 2>&1 &
pid=$!
cleanup() {
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
for ((i = 0; i < 300; i++)); do
	if curl -fsS "http://127.0.0.1:$port/ping" >/dev/null 2>&1; then break; fi
	kill -0 "$pid" 2>/dev/null || { cat "$work/adapter.log" >&2; echo "chdb adapter did not start" >&2; exit 1; }
	sleep 0.2
done
head -1 "$work/adapter.log"
cd "$root/storage"
CRASHSTREAM_STACK=1 CRASHSTREAM_CURRENT_ADDR="127.0.0.1:$port" \
	CRASHSTREAM_CLICKHOUSE_ADDR="127.0.0.1:$port" CRASHSTREAM_CLICKHOUSE_PROTOCOL=http \
	go test -count=1 -timeout 15m ./clickhouse/...
