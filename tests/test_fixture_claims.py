"""The engine, end to end, on its fixture claims (tests/fixtures/claims, frozen copies of
examples/) and fixture products (tests/fixtures/products): each claim evaluates to the decision
pinned here, together they cover every outcome every product can produce, and the command line
gives the same answers. The shipped examples/ are checked against the shipped products by
tests/test_shipped_products.py.
"""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

from conftest import EXAMPLES, FIXTURES

POLICYCONF = pathlib.Path(sys.executable).parent / "policyconf"

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))

# name: (product, outcome, settlement, payout, currency, reason codes, missing documents)
EXPECTED = {
    "ad-approved-repair": ("accidental-damage", "approved", "repair", "139.00", "EUR", [], []),
    "ad-approved-replacement-negligence": ("accidental-damage", "approved", "replacement", "751.28", "EUR",
                                           ["gross-negligence"], []),
    "ad-declined": ("accidental-damage", "declined", None, "0.00", "EUR",
                    ["holder-underage", "event-not-covered", "commercial-use"], []),
    "ad-pending": ("accidental-damage", "pending", None, "0.00", "EUR", [], ["police_report"]),
    "ad-referred": ("accidental-damage", "referred", None, "0.00", "EUR",
                    ["other-insurance", "late-notification"], []),
    "bmw-approved-new": ("bmw-total-loss", "approved", "vehicle_replacement", "84036.28", "CNY", [], []),
    "bmw-approved-used": ("bmw-total-loss", "approved", "vehicle_replacement", "61300.00", "CNY", [], []),
    "bmw-declined": ("bmw-total-loss", "declined", None, "0.00", "CNY", ["commercial-use", "partial-loss"], []),
    "bmw-pending": ("bmw-total-loss", "pending", None, "0.00", "CNY", [],
                    ["vehicle_license", "driver_license", "id_card", "purchase_invoice", "replacement_purchase"]),
    "sp-approved-repair": ("screen-protection", "approved", "repair", "99.99", "EUR", [], []),
    "sp-declined": ("screen-protection", "declined", None, "0.00", "EUR",
                    ["part-not-covered", "event-not-covered"], []),
    "sp-pending": ("screen-protection", "pending", None, "0.00", "EUR", [], ["photo"]),
    "sp-referred": ("screen-protection", "referred", None, "0.00", "EUR", ["other-insurance"], []),
}

# Excess on an approved claim (products.md: 50.00 EUR and 30.00 EUR by default; bmw-total-loss none).
EXCESS = {"ad-approved-repair": "50.00", "ad-approved-replacement-negligence": "50.00",
          "sp-approved-repair": "30.00", "bmw-approved-new": "0.00", "bmw-approved-used": "0.00"}
DEPRECIATION = {"ad-approved-repair": "0.00", "ad-approved-replacement-negligence": "0.10",
                "sp-approved-repair": "0.00", "bmw-approved-new": "0.00", "bmw-approved-used": "0.00"}


def load(path: pathlib.Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_example_is_pinned():
    assert EXAMPLE_FILES, "tests/fixtures/claims holds example claims"
    assert sorted(p.stem for p in EXAMPLE_FILES) == sorted(EXPECTED)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_decision(book, path):
    claim = load(path)
    decision = book.evaluate(claim).to_dict()        # raises ClaimError if the example is invalid input
    product, outcome, settlement, payout, currency, reasons, missing = EXPECTED[path.stem]
    assert decision["claim_id"] == claim["claim"]["id"]
    assert decision["product"] == product == claim["product"]
    assert decision["outcome"] == outcome
    assert decision["settlement"] == settlement
    assert decision["payout"] == {"amount": payout, "currency": currency}
    assert [r["code"] for r in decision["reasons"]] == reasons
    assert decision["missing_documents"] == missing
    if outcome == "approved":
        assert decision["excess"] == {"amount": EXCESS[path.stem], "currency": currency}
        assert decision["depreciation"] == DEPRECIATION[path.stem]
    else:
        assert decision["excess"] == {"amount": "0.00", "currency": currency}
        assert decision["depreciation"] is None
    assert "error" not in book.decide(claim)


def test_examples_cover_every_product(book):
    products = {load(p)["product"] for p in EXAMPLE_FILES}
    assert products == set(book.ids) == {"accidental-damage", "screen-protection", "bmw-total-loss"}


def _possible_outcomes(product) -> set[str]:
    outcomes = {"approved"}
    if product.declining:
        outcomes.add("declined")
    if product.documents:
        outcomes.add("pending")
    if product.referrals:
        outcomes.add("referred")
    return outcomes


def test_examples_cover_every_outcome_of_every_product(book):
    seen: dict[str, set[str]] = {}
    for path in EXAMPLE_FILES:
        decision = book.decide(load(path))
        seen.setdefault(decision["product"], set()).add(decision["outcome"])
    for product_id in book.ids:
        possible = set()
        for version in book.versions(product_id):
            possible |= _possible_outcomes(version)
        assert seen.get(product_id) == possible, product_id


def test_outcomes_each_seed_product_can_produce(book):
    # accidental-damage and screen-protection have referral rules; bmw-total-loss has none, so it can
    # never be referred.
    assert book.versions("bmw-total-loss")[0].referrals == ()
    assert len(book.versions("bmw-total-loss")) == 1
    assert [r.id for r in book.versions("accidental-damage")[0].referrals] == ["other-insurance", "late-notification"]
    assert [r.id for r in book.versions("screen-protection")[0].referrals] == ["other-insurance", "late-notification"]
    bmw = {EXPECTED[p.stem][1] for p in EXAMPLE_FILES if EXPECTED[p.stem][0] == "bmw-total-loss"}
    assert bmw == {"approved", "declined", "pending"}
    for product_id in ("accidental-damage", "screen-protection"):
        outcomes = {EXPECTED[p.stem][1] for p in EXAMPLE_FILES if EXPECTED[p.stem][0] == product_id}
        assert outcomes == {"approved", "declined", "pending", "referred"}, product_id


def test_accidental_damage_examples_cover_both_settlements():
    settlements = {EXPECTED[p.stem][2] for p in EXAMPLE_FILES if EXPECTED[p.stem][0] == "accidental-damage"}
    assert settlements == {"repair", "replacement", None}


# -- the command line, end to end ----------------------------------------------------------------

def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(POLICYCONF), *args], cwd=FIXTURES, capture_output=True, text=True, input=stdin,
                          timeout=120)


def test_cli_is_installed():
    assert POLICYCONF.is_file()


def test_cli_validate_products():
    result = run("validate", "products")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout


def _paths(files) -> list[str]:
    return [str(p.relative_to(FIXTURES)) for p in files]


@pytest.mark.parametrize("order", ["sorted", "reversed", "shuffled"])
def test_cli_evaluate_jsonl(book, order):
    files = list(EXAMPLE_FILES)
    if order == "reversed":
        files.reverse()
    elif order == "shuffled":
        files = files[1::2] + files[0::2]
    result = run("evaluate", "--products", "products", "--format", "jsonl", *_paths(files))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(files)
    assert result.stdout.endswith("\n")
    for path, line in zip(files, lines):
        document = json.loads(line)
        claim = load(path)
        assert document["claim_id"] == claim["claim"]["id"], "one line per claim, in argument order"
        assert document == book.decide(claim)
        product, outcome, _, payout, currency, _, _ = EXPECTED[path.stem]
        assert (document["product"], document["outcome"], document["payout"]) == (
            product, outcome, {"amount": payout, "currency": currency})


def test_cli_evaluate_from_stdin(book):
    path = EXAMPLES / "bmw-approved-new.json"
    result = run("evaluate", "--products", "products", "--format", "jsonl", "-", stdin=path.read_text("utf-8"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0]) == book.decide(load(path))
    assert json.loads(lines[0])["payout"] == {"amount": "84036.28", "currency": "CNY"}


def test_cli_evaluate_one_invalid_claim_does_not_stop_the_batch(book, tmp_path):
    bad = load(EXAMPLES / "bmw-approved-new.json")
    bad["item"]["invoice_price"]["currency"] = "EUR"
    bad["claim"]["id"] = "BMW-BAD"
    bad_path = tmp_path / "bad.json"
    bad_path.write_text(json.dumps(bad), encoding="utf-8")
    files = [str(EXAMPLES / "ad-approved-repair.json"), str(bad_path), str(EXAMPLES / "bmw-approved-used.json")]
    result = run("evaluate", "--products", "products", "--format", "jsonl", *files)
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["claim_id"] for line in lines] == ["AD-REPAIR", "BMW-BAD", "BMW-USED"]
    assert lines[1] == {"claim_id": "BMW-BAD", "error": {"code": "claim.currency", "message": lines[1]["error"]["message"],
                                                         "path": "item.invoice_price"}}
    assert lines[0]["payout"] == {"amount": "139.00", "currency": "EUR"}
    assert lines[2]["payout"] == {"amount": "61300.00", "currency": "CNY"}
