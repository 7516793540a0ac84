# policyconf: `make demo` and `make test` work from a fresh clone; both create .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

## demo: validate the shipped products, then evaluate the example claims
demo: $(STAMP)
	$(BIN)/policyconf validate products/
	$(BIN)/policyconf evaluate --products products/ --format text examples/*.json

## test: run every test
test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
