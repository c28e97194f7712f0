# The two commands of the README, and their parts.
#   make test    what CI runs: format, lints, Rust tests, a short fuzz run, tests against the
#                local stack, the workflow and template checks, the SAM (arm64) build and its
#                tests with the DAGs
#   make demo    the whole pipeline locally: producer Lambda -> Kafka -> event-source mapping
#                stand-in -> indexer Lambda -> Elasticsearch, then a summary

SHELL := /bin/bash
CARGO ?= cargo
STACK := infra/local/stack

.PHONY: prerequisites prerequisites-sam setup test lint unit fuzz-short bins stack-test stack-test+sam-build workflow-check template-lint sam-build sam-test bench bench-stack demo build fuzz stack-start stack-stop

# `make test` runs its stages one after another (the arm64 build beside the stack tests), each
# through `make <stage>`, and prints each stage's wall time as it ends and all of them at the end
# (CI's log shows where the time goes). What the later stages install and that is mostly
# downloads (`setup`: the SAM CLI's and Airflow's venvs, the stack's venv and servers) is set up
# beside the first, compiling stages; `template-lint`, the first stage that needs it, waits for it.
TEST_STAGES := lint unit fuzz-short bins template-lint stack-test+sam-build workflow-check sam-test
SETUP_LOG := .local/setup.log

test: prerequisites-sam
	@set -o pipefail; mkdir -p .local; times=(); total=$$SECONDS; status=0; \
	( $(MAKE) --no-print-directory setup > $(SETUP_LOG) 2>&1 ) & setup=$$!; \
	for stage in $(TEST_STAGES); do \
	  if [[ $$stage == template-lint ]]; then \
	    start=$$SECONDS; wait $$setup; status=$$?; setup=; \
	    times+=("$$(printf '%-15s %5d s' 'setup (waited)' $$((SECONDS - start)))"); \
	    echo "make test: $${times[-1]}, exit $$status; its last lines:"; tail -n 15 $(SETUP_LOG); \
	    ((status == 0)) || break; \
	  fi; \
	  start=$$SECONDS; $(MAKE) --no-print-directory $$stage; status=$$?; \
	  times+=("$$(printf '%-15s %5d s' $$stage $$((SECONDS - start)))"); \
	  echo "make test: $${times[-1]}$$( ((status)) && echo ' FAILED')"; \
	  ((status == 0)) || break; \
	done; \
	[[ -z "$$setup" ]] || wait $$setup; \
	echo "make test: stage wall times"; printf '  %s\n' "$${times[@]}"; \
	echo "make test: total $$((SECONDS - total)) s"; exit $$status

# The machine's tools from Debian's packages (cmake, a C/C++ compiler, python3-venv, ...;
# for SAM also a Docker engine and qemu): installed when missing as root, else an
# `apt-get install` line to run and a stop. Every target that builds or runs anything
# checks them first; quick when all is there.
prerequisites:
	infra/local/prerequisites

prerequisites-sam:
	infra/local/prerequisites sam

lint unit bins fuzz fuzz-short stack-test workflow-check template-lint sam-build build demo bench stack-start: prerequisites
sam-test: prerequisites-sam

# The venvs and servers the stages after the Rust ones use (each step quick when done before).
setup: prerequisites-sam
	$(STACK) install-sam-cli
	infra/local/airflow
	LOGPIPE_KAFKA_STORAGE=sqlite $(STACK) install

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

unit:
	$(CARGO) test --workspace --locked

# Debug binaries the Python tests drive (logpipe CLI, producer Lambda).
bins:
	$(CARGO) build --workspace --bins --locked

# Starts the local stack, runs the tests that need it (Rust tests marked #[ignore] for
# that reason, then the Python tests), stops it whatever happened. The fault tests start a
# stack of their own whose broker keeps its topics in SQLite: its tansu is built first.
stack-test:
	LOGPIPE_KAFKA_STORAGE=sqlite $(STACK) install
	$(STACK) start
	set -o pipefail; eval "$$($(STACK) env)"; \
	  $(CARGO) test --workspace --locked -- --ignored && python -m pytest -q tests --ignore=tests/dags --ignore=tests/sam; status=$$?; \
	  $(STACK) stop; exit $$status

# GitHub Actions workflows: GitHub's schema, zizmor (offline), cfn-lint of the OIDC template.
workflow-check:
	infra/ci/check-workflows

# SAM: the template's checks, the arm64 build of both functions (cargo-lambda + zig, as
# deployed), and the tests of that build under `sam local` with the stack in SAM mode (a
# Docker engine, stand-in Lambda base images, qemu; every server on the Docker bridge).
SAM_VENV := .local/sam-venv
SAM_ENV := PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0
# A stack of its own (own pid files and data; the stack's venv shared), so that a stack
# running on 127.0.0.1 for `make demo` or the other tests is left alone.
SAM_STACK := LOGPIPE_SAM=1 LOGPIPE_STATE_DIR="$(CURDIR)/.local/sam-stack" LOGPIPE_VENV="$(CURDIR)/.local/venv"

template-lint:
	$(STACK) install-sam-cli
	$(SAM_ENV) cfn-lint infra/template.yaml
	$(SAM_ENV) sam validate --lint

# Cargo's target directory of its own (target/sam), so that this build and the debug builds
# and tests never wait for each other's lock on it.
sam-build:
	$(STACK) install-sam-cli
	rustup target add aarch64-unknown-linux-gnu
	CARGO_TARGET_DIR="$(CURDIR)/target/sam" $(SAM_ENV) sam build --beta-features

# The stack tests mostly wait on servers and the arm64 build mostly computes, so on two cores
# `make test` runs the build beside the tests instead of after them (minutes of a fresh
# clone's compiling). The build's output goes to .local/sam-build.log and is shown at its end.
stack-test+sam-build:
	@mkdir -p .local; log=.local/sam-build.log; rm -f $$log.status; \
	  ( $(MAKE) --no-print-directory sam-build > $$log 2>&1; echo $$? > $$log.status ) & build=$$!; \
	  start=$$SECONDS; $(MAKE) --no-print-directory stack-test; tests=$$?; \
	  echo "make test: stack-test       $$((SECONDS - start)) s$$( ((tests)) && echo ' FAILED')"; \
	  wait $$build; built="$$(cat $$log.status 2>/dev/null || echo 1)"; \
	  echo "make test: sam-build (beside stack-test) ended after $$((SECONDS - start)) s, exit $$built; its last lines:"; \
	  tail -n 25 $$log; \
	  exit $$(( tests || built ))

# The DAG tests run in Airflow's own venv (infra/local/airflow) against `sam local start-lambda`.
sam-test: bins
	infra/local/airflow
	$(SAM_STACK) $(STACK) start
	set -o pipefail; eval "$$($(SAM_STACK) $(STACK) env)"; \
	  python -m pytest -q tests/sam && .local/airflow-venv/bin/python -m pytest -q tests/dags; status=$$?; \
	  $(SAM_STACK) $(STACK) stop; exit $$status

build:
	$(CARGO) build --release --locked -p logpipe-cli -p logpipe-producer -p logpipe-indexer

LINES ?= 100000
demo:
	infra/local/demo $(LINES)

# CPU and memory benchmarks of the library (criterion; no servers).
bench:
	$(CARGO) bench -p logpipe --bench lines --bench indexer --bench indexer_memory

# Benchmarks against the local stack: producer vs the original, cold starts, indexing end to end.
bench-stack: build
	$(STACK) start
	eval "$$($(STACK) env)"; \
	  pip install -q -r functions/producer/benches/requirements.txt && \
	  python functions/producer/benches/producer_compare.py --count 1000000 && \
	  python functions/producer/benches/cold_start.py --function producer && \
	  python functions/producer/benches/cold_start.py --function indexer && \
	  python functions/indexer/benches/end_to_end.py --events 5

# A bounded run of every fuzz target (FUZZ_SECONDS each, default 60; installs cargo-fuzz);
# `make fuzz-short` is the one in `make test`, 30 s a target.
fuzz:
	functions/logpipe/fuzz/run

fuzz-short:
	FUZZ_SECONDS=30 functions/logpipe/fuzz/run

stack-start:
	$(STACK) start

stack-stop:
	$(STACK) stop
