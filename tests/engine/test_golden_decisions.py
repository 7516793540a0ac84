"""Every claim of the golden files gets the document it got when they were recorded.

The golden files (`tests/engine/golden/*.jsonl.gz`, made by `golden/make.py`) hold the
decisions of the interpreter that the generated code replaced, which a differential test had
checked the generated code against claim for claim until the interpreter was removed: every
test-file case, every example, and 150 generated claims of each product, with their documents,
trace and error objects included. A change of what a decision says must be deliberate: rerun
`python tests/engine/golden/make.py --check` to see which claims change, then without
`--check` to record them.
"""
from __future__ import annotations

import json

import pytest

from conftest import ROOT
from golden import make  # noqa: E402 - tests/engine/golden/make.py
from policyconf import load_products

BOOKS = {name: load_products(str(products)) for name, products, _ in make.folders()}
ENTRIES = {name: make.read(name) for name in BOOKS}


def _normal(document: dict) -> dict:
    return json.loads(json.dumps(document, ensure_ascii=False, sort_keys=True, default=str))


def test_the_golden_files_hold_every_kind_of_claim():
    products = ENTRIES["products"]
    assert len(products) > 1200
    assert {document.get("product") for _, _, document in products} >= {
        "accidental-damage", "screen-protection", "bmw-total-loss", "travel-single-trip", "pet-vet-fees"}
    outcomes = {document.get("outcome") or document["error"]["code"] for _, _, document in products}
    assert {"approved", "declined", "pending", "referred", "claim.missing-field"} <= outcomes
    assert any(document.get("benefits") for _, _, document in products)
    assert (ROOT / "tests" / "engine" / "golden" / "products.jsonl.gz").stat().st_size < 1_000_000


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_every_golden_claim_gets_its_recorded_document(name):
    book = BOOKS[name]
    different = []
    for what, claim, document in ENTRIES[name]:
        now = _normal(book.decide(claim))
        if now != document:
            keys = sorted(k for k in set(now) | set(document) if now.get(k) != document.get(k))
            different.append(f"{what}: {', '.join(keys)}: {[document.get(k) for k in keys]} -> "
                             f"{[now.get(k) for k in keys]}")
    assert different == [], f"{len(different)} documents differ:\n" + "\n".join(different[:20])
