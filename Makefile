# The two commands of the README, and their parts.
#   make test    what CI runs: format, lints, Rust tests, tests against the local stack
#   make demo    generate logs and parse them (grows into the end-to-end run)

SHELL := /bin/bash
CARGO ?= cargo
STACK := infra/local/stack

.PHONY: test lint unit stack-test bench demo build stack-start stack-stop

test: lint unit stack-test

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

unit:
	$(CARGO) test --workspace --locked

# Starts the local stack, runs the Python tests against it, stops it whatever happened.
stack-test:
	$(STACK) start
	set -o pipefail; eval "$$($(STACK) env)"; \
	  python -m pytest -q tests; status=$$?; \
	  $(STACK) stop; exit $$status

build:
	$(CARGO) build --release --locked -p logpipe-cli

demo: build
	./target/release/logpipe generate --count 100000 --seed 7 | ./target/release/logpipe parse > /dev/null

bench:
	$(CARGO) bench -p logpipe --bench lines

stack-start:
	$(STACK) start

stack-stop:
	$(STACK) stop
