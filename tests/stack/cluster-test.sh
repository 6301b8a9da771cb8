#!/usr/bin/env bash
# The cluster lane of `make test`: starts the local 2x2 ClickHouse cluster
# (tests/stack/cluster.sh) unless it already runs, runs the cluster tests
# (TestClusterSinkKillReplica with its default 2,000 crashes, kill -9 of a
# replica included; storage/clickhouse's TestClusterCrashByIDOneShard), and
# stops the cluster again if it started it.
# CRASHSTREAM_CLUSTER_CRASHES=10000 runs the issue's full size.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
started=""
status=$("$root/tests/stack/cluster.sh" status)
if [[ $status != *"ch1: running"* ]]; then
	"$root/tests/stack/cluster.sh" up
	started=1
fi
stop() { if [[ -n $started ]]; then "$root/tests/stack/cluster.sh" down; fi; }
trap stop EXIT
# The storage test first: the kill test leaves a restarted replica whose
# distributed DDL queue may still be catching up when it ends, and ON
# CLUSTER DDL waits for every node.
cd "$root/storage"
CRASHSTREAM_STACK=1 CRASHSTREAM_CLUSTER=1 go test -count=1 -timeout 10m -run 'TestCluster' ./clickhouse/
cd "$root/tests"
CRASHSTREAM_STACK=1 CRASHSTREAM_CLUSTER=1 go test -count=1 -timeout 20m -run 'TestCluster' ./sinks/
