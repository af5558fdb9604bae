# Quorum — the two commands: `make demo` (the main job) and `make test`.
# Each installs what it needs first (scripts/bootstrap, idempotent and fast when all is present).
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)

.PHONY: all bootstrap build release test test-unit demo down bench-bus check-generated proto config-doc clean

all: build

bootstrap:
	@scripts/bootstrap

build: bootstrap
	swift build

release: bootstrap
	swift build -c release

## make test: bootstrap, check generated code, start broker + Redis + Postgres on free loopback ports
## in a temp folder, run every test (unit and integration), stop the servers (also on failure).
test: bootstrap
	@scripts/check-generated
	@scripts/test

## Unit tests only (no servers).
test-unit:
	swift test --skip IntegrationTests

## make demo: the services issue brings the full demo; until then it runs the bus benchmark cluster check.
demo: bootstrap
	@scripts/demo

## Stop the local cluster in .cluster/: every service (SIGTERM, SIGKILL after 30 s), then broker, Redis, Postgres.
down:
	@scripts/cluster down .cluster

## 1,000,000 messages of 200 bytes through the Kafka bus vs a bare librdkafka loop (local broker).
bench-bus: bootstrap
	@scripts/bench-bus

check-generated:
	@scripts/check-generated

proto:
	@scripts/gen-proto

clean:
	rm -rf .build .build-* .cluster
