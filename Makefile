# policyconf: `make demo` and `make test` work from a fresh clone; both create .venv first.
# `make demo` installs what running policyconf needs and nothing more (`pip install -e .`), as a
# service that depends on it would; `make test` adds the test tools (`-e '.[test]'`). Each has
# its stamp file, and both are redone when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

# The editor tests (tests/editor) run the YAML language server and Ajv, pinned in
# tests/editor/package-lock.json. When node (and npm) are present, `make test` installs them
# once (again when the lock file changes); without node those tests are skipped.
EDITOR := tests/editor
EDITOR_STAMP := $(EDITOR)/node_modules/.installed
NODE := $(shell command -v node 2>/dev/null)
NPM := $(shell command -v npm 2>/dev/null)
ifneq ($(NODE),)
ifneq ($(NPM),)
TEST_NODE := $(EDITOR_STAMP)
endif
endif

# The impact report's browser test opens the page in headless Chromium (Debian's chromium). When it
# is missing and apt-get can install it (running as root), `make test` installs it first; when it
# cannot, that one test is skipped and says why.
ifeq ($(shell command -v chromium 2>/dev/null),)
ifneq ($(shell command -v apt-get 2>/dev/null),)
ifeq ($(shell id -u),0)
TEST_BROWSER := browser
endif
endif
endif

.PHONY: demo test bench verify fuzz clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) -e .
	touch $(STAMP)

$(TEST_STAMP): pyproject.toml $(STAMP)
	$(PIP) -e '.[test]'
	touch $(TEST_STAMP)

$(EDITOR_STAMP): $(EDITOR)/package-lock.json $(EDITOR)/package.json
	npm ci --prefix $(EDITOR) --no-audit --no-fund
	touch $(EDITOR_STAMP)

## demo: validate the shipped products, then evaluate the example claims
demo: $(STAMP)
	$(BIN)/policyconf validate products/
	$(BIN)/policyconf evaluate --products products/ --format text examples/*.json

## test: run every test (the editor tests need node, the report's browser test chromium; skipped without them)
test: $(TEST_STAMP) $(TEST_NODE) $(TEST_BROWSER)
	$(BIN)/python -m pytest

browser:
	-apt-get update -qq && apt-get install -y -qq chromium

## bench: what users see (distinct claims parsed from JSON): policyconf beside ZEN and hand-written
## references, the seed products, cost per rule, per product, the batch path (BENCH_ARGS=--quick: a short run)
BENCH_ARGS ?=
bench: $(STAMP)
	$(PIP) -e '.[bench]'
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

## verify: check every product's invariants on 10,000 generated claims each
verify: $(STAMP)
	$(PIP) -e '.[verify]'
	$(BIN)/policyconf verify --claims 10000

## fuzz: coverage-guided fuzzing of the expression language and of claims, FUZZ_SECONDS each
FUZZ_SECONDS ?= 60
fuzz: $(STAMP)
	$(PIP) -e '.[fuzz]'
	mkdir -p fuzz/corpus/parser fuzz/corpus/claims
	cp fuzz/seeds/parser/* fuzz/corpus/parser/
	cp examples/*.json fuzz/corpus/claims/
	cd fuzz && ../$(BIN)/python fuzz_parser.py -max_total_time=$(FUZZ_SECONDS) -dict=expressions.dict \
		-artifact_prefix=crash-parser- corpus/parser
	cd fuzz && ../$(BIN)/python fuzz_claims.py -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=crash-claims- \
		corpus/claims

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache $(EDITOR)/node_modules
