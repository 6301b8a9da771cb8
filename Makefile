# crashstream — the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

MODULES   := schemas streams storage services charts tests
STACK     := tests/stack/stack.sh
BIN       := bin/crashstream
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BUILD     ?= local
LDFLAGS   := -s -w -X github.com/crashstream/crashstream/services/runtime.version=$(VERSION) \
             -X github.com/crashstream/crashstream/services/runtime.commit=$(COMMIT) \
             -X github.com/crashstream/crashstream/services/runtime.build=$(BUILD)
GOTEST    := go test -race -shuffle=on -timeout 20m
export GOFLAGS := -buildvcs=false

.PHONY: lint help up down status clean build run test test-unit test-integration check fmt vet tidy bench bench-quick fuzz chaos compat oracles chart-test

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

up: ## install (once) and start Kafka, MinIO and ClickHouse on loopback; wait until ready (CLICKHOUSE_CLUSTER=1: also a 2x2 ClickHouse cluster)
	@$(STACK) up
	@if [ "$(CLICKHOUSE_CLUSTER)" = 1 ]; then tests/stack/cluster.sh up; fi

down: ## stop the processes `make up` started (and the ClickHouse cluster, if it runs)
	@tests/stack/cluster.sh down
	@$(STACK) down

status: ## show the local stack's processes
	@$(STACK) status

clean: ## stop the stack and wipe its data and logs
	@tests/stack/cluster.sh clean
	@$(STACK) clean
	rm -rf bin

build: ## build bin/crashstream (and bin/crashstream-tools: stackwalk/minidump without the services)
	@mkdir -p bin
	cd services && CGO_ENABLED=0 go build -trimpath -ldflags '$(LDFLAGS)' -o ../$(BIN) ./cmd/crashstream
	cd services && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o ../$(BIN)-tools ./cmd/crashstream-tools
	@echo "built $(BIN) $(BIN)-tools"

run: up build ## start the stack and every service, with sample traffic; prints the URLs
	@tests/stack/run.sh

oracles: ## install the test tools and oracles once (siggen, confluent-kafka, crashstats-tools, helm, kubeconform, chromium, chdb)
	@set -e; for s in tests/sigcompat/install-siggen.sh tests/dataengineer/install.sh tests/crashstatstools/install.sh tests/chart/install-tools.sh \
		tests/browser/install.sh tests/chdb/install.sh; do $$s; done

test: ## the whole suite: unit tests with -race, then integration tests against the real stack
	@$(MAKE) --no-print-directory up
	@$(MAKE) --no-print-directory oracles
	@$(MAKE) --no-print-directory test-unit CRASHSTREAM_STACK=1
	@$(MAKE) --no-print-directory test-integration
	@echo "make test: all passed"

test-unit: ## go test -race over every module (integration tests skip unless CRASHSTREAM_STACK=1)
	@failed=""; for m in $(MODULES); do echo "== go test $$m"; \
		(cd $$m && CRASHSTREAM_STACK=$(CRASHSTREAM_STACK) $(GOTEST) ./...) || failed="$$failed $$m"; done; \
		if [ -n "$$failed" ]; then echo "go test failed in:$$failed"; exit 1; fi

test-integration: ## non-Go integration tests (the data engineer's Python consumer, the Helm chart, the current ClickHouse)
	@set -e; for s in tests/dataengineer/run.sh tests/chart/run.sh tests/chdb/run.sh tests/stack/cluster-test.sh; do echo "== $$s"; $$s; done

check: fmt vet tidy lint ## gofmt, go vet, go mod tidy and staticcheck must be clean

# staticcheck at a pinned version, installed once into .stack/bin
STATICCHECK := .stack/bin/staticcheck-v0.8.2
lint:
	@[ -x $(STATICCHECK) ] || { mkdir -p .stack/bin && GOBIN=$(CURDIR)/.stack/tmp-gobin go install honnef.co/go/tools/cmd/staticcheck@v0.8.2 && mv .stack/tmp-gobin/staticcheck $(STATICCHECK) && rmdir .stack/tmp-gobin; }
	@set -e; for m in $(MODULES); do (cd $$m && $(CURDIR)/$(STATICCHECK) -checks 'all,-ST1000,-ST1003,-ST1005,-ST1020,-ST1021,-ST1022,-S1016' ./...); done

fmt:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi

vet:
	@set -e; for m in $(MODULES); do (cd $$m && go vet ./...); done

tidy:
	@set -e; for m in $(MODULES); do (cd $$m && cp go.mod /tmp/go.mod.$$m && cp go.sum /tmp/go.sum.$$m 2>/dev/null; \
		go mod tidy && if ! diff -q go.mod /tmp/go.mod.$$m >/dev/null; then echo "$$m: go mod tidy changes go.mod"; \
		cp /tmp/go.mod.$$m go.mod; cp /tmp/go.sum.$$m go.sum; exit 1; fi); done

bench: up ## the full benchmark run; writes BENCHMARKS.md
	@tests/bench/run.sh full

bench-quick: up ## a short benchmark run (under 5 minutes)
	@tests/bench/run.sh quick

fuzz: ## run every fuzz target (FUZZTIME per target, default 30m; FUZZ_JOBS=N runs N at a time)
	@tests/fuzz/run.sh $(or $(FUZZTIME),30m)

chaos: up ## the fault matrix: kill -9 / SIGSTOP each stack server and service during 10,000 crashes (RELIABILITY.md)
	@tests/chaos/run.sh full

compat: ## compare with minidump-stackwalk and siggen over the corpus (installs them once)
	@tests/corpus/install-oracles.sh
	@tests/sigcompat/install-siggen.sh
	@cd tests && CRASHSTREAM_COMPAT=1 go test -count=1 ./minidumpcompat/... ./stackwalkcompat/... ./sigcompat/...
