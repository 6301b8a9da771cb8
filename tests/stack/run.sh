#!/usr/bin/env bash
# `make run`: with the stack up and bin/crashstream built, start every
# crashstream service in one process, feed it a gentle stream of generated
# crashes, print the URLs, and follow the log until Ctrl-C.
#
# The services and the traffic generator run in the background with pid
# files under .stack/run, so `make down` stops them too.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STACK=${CRASHSTREAM_STACK_DIR:-$ROOT/.stack}
BIN="$ROOT/bin/crashstream"
LOG="$STACK/logs/crashstream.log"
RATE=${CRASHGEN_RATE:-2}
mkdir -p "$STACK/run" "$STACK/logs"

say() { printf '\033[1mrun:\033[0m %s\n' "$*"; }
alive() { [[ -f $STACK/run/$1.pid ]] && kill -0 "$(cat "$STACK/run/$1.pid")" 2>/dev/null; }

if alive crashstream; then
	say "crashstream is already running (pid $(cat "$STACK/run/crashstream.pid")); restarting it with the new build"
	kill -TERM "$(cat "$STACK/run/crashstream.pid")" || true
	for _ in $(seq 1 150); do alive crashstream || break; sleep 0.2; done
fi
alive crashgen && kill -TERM "$(cat "$STACK/run/crashgen.pid")" 2>/dev/null || true

say "starting crashstream all (log: $LOG)"
CRASHSTREAM_LOG_FORMAT=json nohup "$BIN" all >>"$LOG" 2>&1 &
echo $! >"$STACK/run/crashstream.pid"

for i in $(seq 1 300); do
	if curl -fsS -o /dev/null http://127.0.0.1:9100/__heartbeat__ 2>/dev/null; then break; fi
	if ! alive crashstream; then
		echo "run: crashstream exited during start-up; last lines of $LOG:" >&2
		tail -n 30 "$LOG" >&2
		exit 1
	fi
	sleep 0.2
	[[ $i == 300 ]] && { echo "run: crashstream not healthy after 60s; see $LOG" >&2; exit 1; }
done

say "feeding sample crashes at $RATE/s (crashstream crashgen; log: $STACK/logs/crashgen.log)"
nohup "$BIN" crashgen -collector.url http://127.0.0.1:8000 -rate "$RATE" -upload-symbols >>"$STACK/logs/crashgen.log" 2>&1 &
echo $! >"$STACK/run/crashgen.pid"

cat <<URLS

  crashstream is up. Crash Stats shows data within a minute:

    Crash Stats (webapp)     http://127.0.0.1:8080/
    Top crashers             http://127.0.0.1:8080/topcrashers/
    Super Search             http://127.0.0.1:8080/search/
    API                      http://127.0.0.1:8080/api/SuperSearch/
    Collector (POST reports) http://127.0.0.1:8000/submit
    Health / metrics         http://127.0.0.1:9100/__heartbeat__   http://127.0.0.1:9100/metrics
    MinIO console            http://127.0.0.1:9001/  (crashstream / crashstream-secret)

URLS
# say "following" only when the log is followed (a terminal, not CI)
if [[ -t 1 && -z ${CI:-} ]]; then
	echo "  Following the log (Ctrl-C stops following; the services keep running until 'make down')."
	echo
	tail -n 0 -f "$LOG"
else
	echo "  The log is $LOG (tail -f it to follow); the services keep running until 'make down'."
fi
