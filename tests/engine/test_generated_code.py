"""Each product's one generated function decides exactly as the interpreter does.

The interpreter (`engine.evaluate`) is the specification: every case of every test file, every
example claim, and claims generated from each product's field declarations (hypothesis: lists of
records empty, of one and of several elements, date-times, sections) are decided by both, and
the documents must be identical, trace and error objects included.
"""
from __future__ import annotations

import json
import pathlib
from decimal import localcontext

import pytest
from hypothesis import HealthCheck, given, settings

from conftest import FIXTURES, ROOT
from policyconf import ClaimError, load_products
from policyconf.dsl.runtime import CONTEXT
from policyconf.engine import verify
from policyconf.engine.evaluate import decide as interpret
from policyconf.engine.inheritance import merge_patch
from policyconf.engine.tester import suite_claims
from policyconf.engine.yaml_reader import load_file

FOLDERS = [ROOT / "products", FIXTURES / "products"]
BOOKS = {str(folder): load_products(str(folder)) for folder in FOLDERS}


def both(book, claim) -> tuple[dict, dict]:
    """(the interpreter's document, the generated function's), each a decision or an error object."""
    generated = book.decide(claim)
    try:
        product = book._select(claim)
        values, currency = product.validator.validate(claim)
        reference = interpret(product, values, currency, (claim.get("claim") or {}).get("id")
                              if isinstance(claim.get("claim"), dict) else None).to_dict()
    except ClaimError as error:
        error.claim_id = generated.get("claim_id")
        reference = error.to_dict()
    return reference, generated


def _case_claims(tests: pathlib.Path) -> list[dict]:
    """Every case's claim, those that expect an error included."""
    suite = load_file(str(tests)).data
    base = {**(suite.get("base") or {}), "product": suite["product"]}
    return [merge_patch(base, case.get("claim") or {}) for case in suite["cases"]]


def _claims():
    for folder in FOLDERS:
        for tests in sorted(pathlib.Path(folder).glob("*.tests.yaml")):
            for number, claim in enumerate(_case_claims(tests)):
                yield pytest.param(str(folder), claim, id=f"{tests.stem}:{number}")
        for example in sorted((folder.parent / "examples" if folder.name == "products" and folder.parent == ROOT
                               else FIXTURES / "claims").glob("*.json")):
            yield pytest.param(str(folder), json.loads(example.read_text()), id=example.stem)


CASES = list(_claims())


def test_there_are_cases_of_every_product():
    products = {(folder, claim["product"]) for folder, claim in (case.values for case in CASES)}
    assert {p for _, p in products} >= {"accidental-damage", "screen-protection", "bmw-total-loss",
                                         "travel-single-trip", "pet-vet-fees"}
    assert len(CASES) > 650


@pytest.mark.parametrize("folder, claim", CASES)
def test_every_case_and_example_is_decided_identically(folder, claim):
    reference, generated = both(BOOKS[folder], claim)
    assert generated == reference


PRODUCTS = [(folder, product_id) for folder in FOLDERS for product_id in BOOKS[str(folder)].ids]


@pytest.mark.parametrize("folder, product_id", PRODUCTS, ids=[f"{f.parent.name}/{p}" for f, p in PRODUCTS])
def test_generated_claims_are_decided_identically(folder, product_id):
    book = BOOKS[str(folder)]
    product = book.versions(product_id)[-1]
    tests = pathlib.Path(folder) / f"{product_id}.tests.yaml"
    examples = suite_claims(str(tests)) if tests.exists() else None
    seen = {"decided": 0}

    @settings(max_examples=150, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(verify.claims(product, examples))
    def check(claim):
        reference, generated = both(book, claim)
        assert generated == reference
        seen["decided"] += "error" not in generated
    check()
    assert seen["decided"] > 0


def test_the_invariants_agree_with_the_interpreters(book, ad_claim):
    product = book.versions("accidental-damage")[-1]
    values, currency = product.validator.validate(ad_claim())
    decision = book.evaluate(ad_claim())
    with localcontext(CONTEXT):
        broken = product.code.invariants(values, currency, verify.decision_values(decision))
    assert broken == []
