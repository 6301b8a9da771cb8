#!/usr/bin/env bash
# The local crashstream stack: Kafka (KRaft, from the Maven Central jars, run
# with the machine's Java 17), MinIO (built with go install) and ClickHouse
# (Debian's package), as plain processes on loopback. No containers.
#
#   stack.sh up       install what is missing (cached), start, wait until really ready
#   stack.sh down     stop exactly the processes `up` started (pid files)
#   stack.sh status   show what is running
#   stack.sh clean    down, then wipe data and logs (installed tools are kept)
#
# Everything lives under $CRASHSTREAM_STACK_DIR (default: <repo>/.stack, git-ignored):
#   bin/ tools, kafka/lib/ jars, data/<part>/ data, logs/<part>/ logs, run/<part>.pid
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/tests/stack"
STACK=${CRASHSTREAM_STACK_DIR:-$ROOT/.stack}
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c   # github.com/minio/minio, 2026-02-12
KAFKA_PORT=9092 MINIO_PORT=9000 CH_TCP=19000 CH_HTTP=18123
MINIO_USER=crashstream MINIO_PASS=crashstream-secret

say() { printf '\033[1mstack:\033[0m %s\n' "$*"; }
die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }

mkdir -p "$STACK"/{bin,run,logs/kafka,logs/minio,logs/clickhouse,data}

pid_alive() { local f="$STACK/run/$1.pid"; [[ -f $f ]] && kill -0 "$(cat "$f")" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Show the end of a log and fail: used when a part does not come up.
fail_with_log() {
	local part=$1 log=$2
	printf 'stack: error: %s did not become ready. Last lines of %s:\n' "$part" "$log" >&2
	tail -n 30 "$log" >&2 2>/dev/null || true
	exit 1
}

apt_install() {
	command -v apt-get >/dev/null || die "apt-get not found: install $* by hand"
	say "installing $* from Debian's packages"
	if [[ ! -f "$STACK/run/apt-updated" ]]; then
		apt-get update -qq && touch "$STACK/run/apt-updated"
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >"$STACK/logs/apt.log" 2>&1 ||
		{ tail -n 20 "$STACK/logs/apt.log" >&2; die "apt-get install $* failed"; }
}

# ---------------------------------------------------------------- install
install_kafka() {
	command -v java >/dev/null || apt_install openjdk-17-jre-headless
	local stamp="$STACK/kafka/lib/.pom.sha"
	local want; want=$(sha1sum "$HERE/kafka/pom.xml" | cut -d' ' -f1)
	if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then return; fi
	command -v mvn >/dev/null || apt_install maven
	say "kafka: fetching the broker jars with Maven (first time only)"
	rm -rf "$STACK/kafka/lib" && mkdir -p "$STACK/kafka/lib"
	mvn -q -B -f "$HERE/kafka/pom.xml" dependency:copy-dependencies \
		-DoutputDirectory="$STACK/kafka/lib" -DincludeScope=runtime >"$STACK/logs/mvn.log" 2>&1 ||
		{ tail -n 20 "$STACK/logs/mvn.log" >&2; die "mvn could not fetch the Kafka jars"; }
	echo "$want" >"$stamp"
}

install_minio() {
	local bin="$STACK/bin/minio"
	if [[ -x $bin ]] && go version -m "$bin" 2>/dev/null | grep -q "$MINIO_VERSION"; then return; fi
	# Reuse a binary of the pinned version already built on this machine.
	local gobin; gobin="$(go env GOPATH)/bin/minio"
	if [[ -x $gobin ]] && go version -m "$gobin" 2>/dev/null | grep -q "$MINIO_VERSION"; then
		cp "$gobin" "$bin"; return
	fi
	say "minio: building github.com/minio/minio@$MINIO_VERSION with go install (first time only, a few minutes)"
	GOBIN="$STACK/bin" GOFLAGS=-buildvcs=false go install "github.com/minio/minio@$MINIO_VERSION" \
		>"$STACK/logs/minio-build.log" 2>&1 ||
		{ tail -n 20 "$STACK/logs/minio-build.log" >&2; die "go install minio failed"; }
}

install_clickhouse() {
	command -v clickhouse-server >/dev/null || apt_install clickhouse-server clickhouse-client
	mkdir -p "$STACK/etc/clickhouse"
	sed "s|@STACK@|$STACK|g" "$HERE/clickhouse/config.xml.in" >"$STACK/etc/clickhouse/config.xml"
	cp "$HERE/clickhouse/users.xml" "$STACK/etc/clickhouse/users.xml"
}

install_stackcheck() {
	local bin="$STACK/bin/stackcheck" src="$HERE/stackcheck/main.go"
	if [[ -x $bin && $bin -nt $src ]]; then return; fi
	say "building the readiness checker"
	(cd "$ROOT/tests" && go build -o "$bin" ./stack/stackcheck) || die "could not build stackcheck"
}

# ---------------------------------------------------------------- start
start_kafka() {
	if pid_alive kafka; then say "kafka: already running (pid $(cat "$STACK/run/kafka.pid"))"; return; fi
	port_open $KAFKA_PORT && die "kafka: port $KAFKA_PORT is taken by another process"
	local data="$STACK/data/kafka" props="$STACK/etc/kafka/server.properties"
	mkdir -p "$data" "$STACK/etc/kafka"
	cat >"$props" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:9093
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:9093
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:9093
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data
num.partitions=4
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
PROPS
	local cp="$STACK/kafka/lib/*"
	if [[ ! -f $data/meta.properties ]]; then
		say "kafka: formatting storage (first start)"
		local id; id=$(java -Xmx256m -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
		java -Xmx256m -Dlog4j2.configurationFile="$HERE/kafka/log4j2.properties" -Dkafka.logs.dir="$STACK/logs/kafka" \
			-cp "$cp" kafka.tools.StorageTool format --standalone -t "$id" -c "$props" >"$STACK/logs/kafka/format.log" 2>&1 ||
			fail_with_log kafka "$STACK/logs/kafka/format.log"
	fi
	say "kafka: starting on 127.0.0.1:$KAFKA_PORT"
	nohup java -Xms512m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$HERE/kafka/log4j2.properties" -Dkafka.logs.dir="$STACK/logs/kafka" \
		-cp "$cp" kafka.Kafka "$props" >"$STACK/logs/kafka/stdout.log" 2>&1 &
	echo $! >"$STACK/run/kafka.pid"
}

start_minio() {
	if pid_alive minio; then say "minio: already running (pid $(cat "$STACK/run/minio.pid"))"; return; fi
	port_open $MINIO_PORT && die "minio: port $MINIO_PORT is taken by another process"
	mkdir -p "$STACK/data/minio"
	say "minio: starting on 127.0.0.1:$MINIO_PORT (console 127.0.0.1:9001)"
	# --no-compat: ETags are random instead of the body's MD5, which was a
	# tenth of MinIO's CPU per crash (BENCHMARKS.md, "Where MinIO's CPU
	# goes"); crashstream uses ETags only for conditional writes.
	MINIO_ROOT_USER=$MINIO_USER MINIO_ROOT_PASSWORD=$MINIO_PASS MINIO_BROWSER_REDIRECT=off \
		nohup "$STACK/bin/minio" server "$STACK/data/minio" --quiet --no-compat --address "127.0.0.1:$MINIO_PORT" \
		--console-address 127.0.0.1:9001 >"$STACK/logs/minio/server.log" 2>&1 &
	echo $! >"$STACK/run/minio.pid"
}

start_clickhouse() {
	if pid_alive clickhouse; then say "clickhouse: already running (pid $(cat "$STACK/run/clickhouse.pid"))"; return; fi
	port_open $CH_TCP && die "clickhouse: port $CH_TCP is taken by another process"
	mkdir -p "$STACK/data/clickhouse/tmp"
	say "clickhouse: starting (native 127.0.0.1:$CH_TCP, http 127.0.0.1:$CH_HTTP)"
	nohup clickhouse-server --config-file="$STACK/etc/clickhouse/config.xml" >"$STACK/logs/clickhouse/stdout.log" 2>&1 &
	echo $! >"$STACK/run/clickhouse.pid"
}

# wait_port part port seconds log
wait_port() {
	local part=$1 port=$2 secs=$3 log=$4 i
	for ((i = 0; i < secs * 5; i++)); do
		port_open "$port" && return 0
		pid_alive "$part" || fail_with_log "$part" "$log"
		((i > 0 && i % 75 == 0)) && say "still waiting for $part to listen on $port ($((i / 5))s of ${secs}s)"
		sleep 0.2
	done
	fail_with_log "$part" "$log"
}

# ---------------------------------------------------------------- commands
up() {
	local t0=$SECONDS
	if pid_alive kafka && pid_alive minio && pid_alive clickhouse; then
		say "already running: nothing to do (kafka 127.0.0.1:$KAFKA_PORT, minio 127.0.0.1:$MINIO_PORT, clickhouse 127.0.0.1:$CH_TCP)"
		return
	fi
	if ! pid_alive kafka && ! pid_alive minio && ! pid_alive clickhouse &&
		port_open $KAFKA_PORT && port_open $MINIO_PORT && port_open $CH_TCP; then
		# Another checkout's stack (or an operator's own servers) already
		# serves these ports: use it if it really works, and leave it alone
		# on `down`, which only stops what this checkout started.
		install_stackcheck
		if "$STACK/bin/stackcheck" -timeout 30s >/dev/null 2>&1; then
			say "a working stack already runs on these ports (not started from this checkout): using it"
			return
		fi
		die "ports $KAFKA_PORT/$MINIO_PORT/$CH_TCP are taken by processes that are not a working stack"
	fi
	install_kafka
	install_minio
	install_clickhouse
	install_stackcheck
	start_kafka
	start_minio
	start_clickhouse
	wait_port minio $MINIO_PORT 60 "$STACK/logs/minio/server.log"
	# ClickHouse loads every table before it listens: minutes for a data
	# directory holding the 10M-row benchmark set on a busy machine.
	wait_port clickhouse $CH_HTTP 300 "$STACK/logs/clickhouse/error.log"
	wait_port kafka $KAFKA_PORT 120 "$STACK/logs/kafka/server.log"
	say "checking: produce/consume, put/get, select"
	"$STACK/bin/stackcheck" -timeout 60s -only minio || fail_with_log minio "$STACK/logs/minio/server.log"
	"$STACK/bin/stackcheck" -timeout 60s -only clickhouse || fail_with_log clickhouse "$STACK/logs/clickhouse/error.log"
	"$STACK/bin/stackcheck" -timeout 90s -only kafka || fail_with_log kafka "$STACK/logs/kafka/server.log"
	say "ready in $((SECONDS - t0))s: kafka 127.0.0.1:$KAFKA_PORT, minio 127.0.0.1:$MINIO_PORT ($MINIO_USER/$MINIO_PASS), clickhouse 127.0.0.1:$CH_TCP (http $CH_HTTP)"
	say "logs: $STACK/logs/  data: $STACK/data/"
}

stop_one() {
	local part=$1 f="$STACK/run/$1.pid" pid i
	[[ -f $f ]] || return 0
	pid=$(cat "$f")
	if kill -0 "$pid" 2>/dev/null; then
		say "$part: stopping (pid $pid)"
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		if kill -0 "$pid" 2>/dev/null; then
			say "$part: did not stop in 30s, killing"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	rm -f "$f"
}

down() {
	stop_one crashgen
	stop_one crashstream
	stop_one kafka
	stop_one minio
	stop_one clickhouse
	say "stopped"
}

status() {
	local p
	for p in kafka minio clickhouse crashstream crashgen; do
		if pid_alive $p; then echo "$p: running (pid $(cat "$STACK/run/$p.pid"))"; else echo "$p: stopped"; fi
	done
}

clean() {
	down
	say "wiping data and logs under $STACK"
	rm -rf "$STACK/data" "$STACK/logs"
}

case "${1:-}" in
up) up ;;
down) down ;;
status) status ;;
clean) clean ;;
*) echo "usage: $0 up|down|status|clean" >&2; exit 2 ;;
esac
