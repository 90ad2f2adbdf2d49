# runtime-identity: `make demo` (build and run the quickstart) and `make test` (everything).
# Every build shares one target folder per profile: CARGO_BUILD_TARGET is the host triple,
# so cargo, maturin and napi all reuse one compiled core (see CONTRIBUTING.md).

SHELL := /bin/bash
CARGO ?= cargo
export CARGO_BUILD_TARGET ?= $(shell rustc -vV | sed -n 's/^host: //p')
export CARGO_TERM_COLOR ?= never

VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: all build demo test fmt-check lint test-rust python test-python node test-node bench bench-rust bench-python bench-node clean

all: build

build:
	$(CARGO) build --workspace --all-targets --locked

demo: build python node
	$(CARGO) run -q -p runtime-identity --example quickstart --locked
	$(PY) examples/python/quickstart.py
	node examples/node/quickstart.mjs

fmt-check:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# Benchmarks are compiled by `lint` and run by `make bench`, not here: their setups (10,000
# policies) are meant for release builds.
test-rust:
	$(CARGO) test --workspace --lib --bins --tests --examples --locked
	$(CARGO) test --workspace --doc --locked

# The Python package: a venv of its own, the wheel built by maturin through pip (release
# profile, sharing the core with `cargo bench`), the test extras from PyPI.
$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

python: $(PY)
	$(PY) -m pip install -q "./bindings-python[test]"

test-python: python
	cd bindings-python && ../$(PY) -m pytest
	$(PY) -m mypy.stubtest runtime_identity._native
	$(PY) -m mypy --strict bindings-python/python/runtime_identity bindings-python/tests/typed_example.py
	$(PY) -c "import doctest, runtime_identity as r; f = doctest.testmod(r).failed; assert f == 0, f"
	$(PY) bindings-python/tests/typed_example.py > /dev/null

# The Node package: `npm ci` runs its `prepare` script, which builds the addon with the napi
# cli (release profile, the same target folder). The generated binding.js/binding.d.ts are
# committed: a rebuild that changes them fails the test.
node:
	cd bindings-node && npm ci --no-audit --no-fund

test-node: node
	cd bindings-node && node --test test/
	cd bindings-node && npx tsc -p test/tsconfig.json
	git diff --exit-code -- bindings-node/binding.js bindings-node/binding.d.ts

test: fmt-check lint test-rust test-python test-node
	$(CARGO) run -q -p runtime-identity --example quickstart --locked > /dev/null
	$(PY) examples/python/quickstart.py > /dev/null
	node examples/node/quickstart.mjs > /dev/null
	@echo "make test: all suites passed"

# Benchmarks (not part of `make test`): criterion for the core, then ours next to the peers
# on the shared scenario from Python and from Node, each path verified before it is timed.
bench: bench-rust bench-python bench-node

bench-rust:
	$(CARGO) bench -p runtime-identity --locked

bench-python: python
	$(PY) -m pip install -q -r bench/python/peers/requirements.txt
	$(PY) bench/python/run.py --md bench/python/results.md

bench-node: node
	cd bench/node && npm ci --no-audit --no-fund && node run.js --md results.md

clean:
	$(CARGO) clean
