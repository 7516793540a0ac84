"""The hand-written references of `make bench` (benchmarks/handwritten_ad.py, handwritten_bmw.py)
decide every claim as policyconf does: the same decision document (trace aside) for a valid
claim, the same error code and path for an invalid one. Over every case of the product's test
file, thousands of distinct generated claims and thousands of claims with one thing changed.
Without that, timing them beside policyconf would compare different work.
"""
from __future__ import annotations

import sys
from collections import Counter
from decimal import ROUND_DOWN, Context, localcontext
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import claim_sets as cs  # noqa: E402
import handwritten_ad  # noqa: E402
import handwritten_bmw  # noqa: E402
from policyconf import load_products  # noqa: E402

REFERENCES = {"accidental-damage": handwritten_ad, "bmw-total-loss": handwritten_bmw}
GENERATED = 3000
MUTATED = 3000


@pytest.fixture(scope="module")
def book():
    return load_products(str(ROOT / "products"))


def outcome(document: dict) -> str:
    return document["error"]["code"] if "error" in document else document["outcome"]


@pytest.mark.parametrize("product", sorted(REFERENCES))
def test_every_test_file_case(book, product):
    cases = cs.case_texts(product)
    assert len(cases) >= 40
    wrong = cs.disagreements(book, REFERENCES[product], [text for _, text in cases])
    assert wrong == []
    kinds = Counter(outcome(book.decide(cs.parse(text))) for _, text in cases)
    assert {"approved", "declined", "pending"} <= set(kinds)
    assert any(kind.startswith("claim.") for kind in kinds)          # the cases that expect an error


@pytest.mark.parametrize("product", sorted(REFERENCES))
def test_generated_claims(book, product):
    texts = cs.distinct_texts(product, GENERATED, seed=3)
    assert len(set(texts)) == GENERATED
    wrong = cs.disagreements(book, REFERENCES[product], texts)
    assert wrong[:3] == [] and len(wrong) == 0
    kinds = Counter(outcome(book.decide(cs.parse(text))) for text in texts)
    assert {"approved", "declined", "pending"} <= set(kinds)
    assert kinds["approved"] >= GENERATED // 5 and kinds["declined"] >= GENERATED // 10


@pytest.mark.parametrize("product", sorted(REFERENCES))
def test_mutated_claims(book, product):
    """One thing changed a claim: a field removed, retyped or misspelt, an impossible date, a bad
    amount or currency, an unknown code; the first problem found must be the same."""
    seeds = [text for _, text in cs.case_texts(product)] + cs.distinct_texts(product, 300, seed=5)
    texts = cs.mutated_texts(seeds, MUTATED, seed=11)
    wrong = cs.disagreements(book, REFERENCES[product], texts)
    assert wrong[:3] == [] and len(wrong) == 0
    codes = Counter(outcome(book.decide(cs.parse(text))) for text in texts)
    errors = {code for code in codes if code.startswith("claim.")}
    assert {"claim.type", "claim.missing-field", "claim.unknown-field", "claim.unknown-code", "claim.currency",
            "claim.invalid-date", "claim.amount", "claim.range", "claim.unknown-product"} <= errors
    assert sum(codes[code] for code in errors) < MUTATED          # some changes leave a valid claim


@pytest.mark.parametrize("product", sorted(REFERENCES))
def test_the_caller_decimal_context_changes_nothing(book, product):
    texts = cs.distinct_texts(product, 300, seed=9)
    expected = [cs.comparable(REFERENCES[product].decide_document(cs.parse(text))) for text in texts]
    with localcontext(Context(prec=6, rounding=ROUND_DOWN)):
        assert [cs.comparable(REFERENCES[product].decide_document(cs.parse(text))) for text in texts] == expected


def test_a_wrong_reference_is_caught(book, monkeypatch):
    """The comparison can fail: a reference with the default excess at 40.00 EUR instead of 50.00
    disagrees on the approved claims."""
    texts = cs.distinct_texts("accidental-damage", 300, seed=13)
    assert cs.disagreements(book, handwritten_ad, texts) == []
    monkeypatch.setattr(handwritten_ad, "DEFAULT_EXCESS", (handwritten_ad.Decimal("40.00"), "EUR"))
    wrong = cs.disagreements(book, handwritten_ad, texts)
    assert len(wrong) >= 50
    assert all(ours["outcome"] == "approved" for _, ours, _ in wrong)


def test_a_reference_takes_the_claim_the_contract_shows(book):
    """The contract's own example claim (contract.md §2), approved as a repair: 189.00 less 50.00."""
    claim = {"product": "accidental-damage",
             "policy": {"id": "RO-2025-000123", "purchased": "2025-01-10", "start": "2025-01-10", "end": "2027-01-09",
                        "premium_paid": True,
                        "holder": {"age": 34, "residence": "RO", "sole_owner": True, "prior_fraud": False}},
             "item": {"kind": "mobile_phone", "purchased": "2025-01-08",
                      "price": {"amount": "899.00", "currency": "EUR"}, "purchased_in": "RO"},
             "claim": {"id": "CLM-77", "event": "drop", "occurred": "2025-06-01", "reported": "2025-06-03",
                       "repairable": True, "repair_cost": {"amount": "189.00", "currency": "EUR"},
                       "documents": ["photo", "proof_of_purchase"], "circumstances": [], "days_outside_residence": 0}}
    document = handwritten_ad.decide_document(claim)
    assert document == {"claim_id": "CLM-77", "product": "accidental-damage", "product_version": "2024-01-01",
                        "outcome": "approved", "settlement": "repair",
                        "payout": {"amount": "139.00", "currency": "EUR"},
                        "excess": {"amount": "50.00", "currency": "EUR"}, "depreciation": "0.00", "reasons": [],
                        "missing_documents": []}
    assert cs.comparable(book.decide(claim)) == document


def test_synthetic_products_have_the_rules_they_say(tmp_path):
    for rules in (10, 100):
        cs.product_with_rules(rules, tmp_path)
    cs.product_copies(6, tmp_path)
    book = load_products(str(tmp_path))
    assert book.ids == sorted(["rules-10", "rules-100", "accidental-damage-000", "bmw-total-loss-001",
                               "travel-single-trip-002", "pet-vet-fees-003", "accidental-damage-004",
                               "bmw-total-loss-005"])
    for rules in (10, 100):
        assert book.product(f"rules-{rules}").code.source.count("declined.append(") == rules


def test_claims_with_many_elements_are_decided():
    texts = cs.travel_with_articles(50) + cs.pet_with_history(50)
    assert len(set(texts)) == 100
    travel = [cs.parse(text) for text in texts[:50]]
    pet = [cs.parse(text) for text in texts[50:]]
    assert all(len(claim["claim"]["baggage"]["items"]) == 8 for claim in travel)
    assert all(len(claim["policy"]["claims_history"]) == 8 for claim in pet)
    book = load_products(str(ROOT / "products"))
    decided = Counter(outcome(book.decide(claim)) for claim in travel + pet)
    assert not any(code.startswith("claim.") for code in decided), decided
    assert decided["approved"] >= 50
