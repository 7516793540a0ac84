"""Replays what the fuzzers found (fuzz/regressions/) and their seeds, through the same checks,
against the engine's fixture products (tests/fixtures/products), not the shipped ones."""
import pathlib
import sys

import pytest

FUZZ = pathlib.Path(__file__).resolve().parent.parent.parent / "fuzz"
sys.path.insert(0, str(FUZZ))

import harness  # noqa: E402
from conftest import PRODUCTS  # noqa: E402

PARSER = sorted((FUZZ / "regressions" / "parser").glob("*")) + sorted((FUZZ / "seeds" / "parser").glob("*"))
CLAIMS = sorted((FUZZ / "regressions" / "claims").glob("*"))


@pytest.mark.parametrize("path", PARSER, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_expression_input(path):
    harness.check_expression(path.read_bytes().decode("utf-8", "replace"))


@pytest.mark.parametrize("path", CLAIMS, ids=lambda p: p.name)
def test_claim_input(path):
    harness.check_claim(path.read_bytes(), str(PRODUCTS))
