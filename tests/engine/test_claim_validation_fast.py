"""The generated claim validator's fast tests (a common value checked inline, a list of records
vouched for by a generated function, date orders and currencies compared in place) only ever
accept: what they do not vouch for goes to the field's converter. So the validator must give
exactly what the same validator without fast tests gives (every value through its converter,
`ClaimValidator(..., fast=False)`): the same values, or the same first error (code, message,
path). Checked here over generated claims of every shipped product and of a small product with
two lists of records, each claim changed in one place or two (a value replaced by an odd one, a
key removed, misspelt or added), parsed with exact decimals and, for a share of them, with
floats; and on values the JSON reader never gives (tuples, dates, Decimals).
"""
from __future__ import annotations

import copy
import json
import random
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from policyconf import ClaimError, load_products
from policyconf.dsl.values import Money
from policyconf.engine.claim_validator import ClaimValidator

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import claim_sets as cs  # noqa: E402

sys.path.insert(0, str(ROOT / "tests" / "engine"))
from test_lists_steps_sections import BASE, GADGET  # noqa: E402


def plain(value):
    """A validated value as comparable data (Money has no equality of its own)."""
    if isinstance(value, Money):
        return ("money", str(value.amount), value.currency, value.source)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [plain(item) for item in value])
    return (type(value).__name__, repr(value))


def result(validator, claim):
    try:
        values, currency = validator.validate(claim)
    except ClaimError as error:
        return ("error", error.code, str(error), error.path)
    return ("values", plain(values), currency)


def agree(product, claims) -> tuple[int, int]:
    reference = ClaimValidator(product.fields, product.currencies, fast=False)
    assert reference.source != product.validator.source       # the fast tests are there to be checked
    accepted = 0
    for claim in claims:
        fast, slow = result(product.validator, claim), result(reference, claim)
        assert fast == slow, json.dumps(claim, default=str)[:2000]
        accepted += fast[0] == "values"
    return accepted, len(claims)


def lists_changed(texts: list[str], seed: int) -> list[str]:
    """Each claim with one of its lists of codes changed: a value twice, an element that cannot
    be a code (a list, an object, a number), or emptied."""
    r = random.Random(seed)
    out = []
    for text in texts:
        claim = cs.parse(text)
        lists = [(parent, key) for parent in _objects(claim) for key, value in parent.items()
                 if type(value) is list and value and all(type(v) is str for v in value)]
        if not lists:
            continue
        parent, key = r.choice(lists)
        parent[key] = parent[key] + [r.choice([parent[key][0], ["x"], {"a": 1}, 3, True])] \
            if r.random() < 0.8 else []
        out.append(cs.dumps(claim))
    return out


def _objects(value):
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _objects(item)


def changed(texts: list[str], n: int, seed: int) -> list:
    """Claims changed once or twice; every fifth parsed with floats instead of exact decimals."""
    once = cs.mutated_texts(texts, n, seed=seed)
    twice = cs.mutated_texts(once, n // 2, seed=seed + 1)
    every = texts + once + twice + lists_changed(texts, seed)
    return [json.loads(text) if i % 5 == 0 else cs.parse(text) for i, text in enumerate(every)]


@pytest.fixture(scope="module")
def book():
    return load_products(str(ROOT / "products"))


@pytest.fixture(scope="module")
def gadget(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gadget")
    (folder / "gadget.yaml").write_text(GADGET, encoding="utf-8")
    return load_products(str(folder)).product("gadget")


@pytest.mark.parametrize("product_id", ["accidental-damage", "screen-protection", "bmw-total-loss",
                                        "travel-single-trip", "pet-vet-fees"])
def test_shipped_products(book, product_id):
    texts = cs.distinct_texts(product_id, 300)
    if product_id == "travel-single-trip":
        texts += cs.travel_with_articles(300)
    if product_id == "pet-vet-fees":
        texts += cs.pet_with_history(300)
    accepted, total = agree(book.product(product_id), changed(texts, 3000, seed=11))
    assert 0.1 * total < accepted < 0.9 * total          # both sides of every test were reached


def test_lists_of_records(gadget):
    product = gadget
    texts = [cs.dumps(BASE)]
    r = random.Random(5)
    for _ in range(200):                         # vary the lists: length, kinds, dates, notes
        claim = copy.deepcopy(BASE)
        parts = claim["claim"]["parts"]
        del parts[r.randrange(1, 4):]
        for part in parts:
            part["kind"] = r.choice(["screen", "battery", "other"])
            part["bought"] = r.choice(["2025-02-01", "2025-06-01", "2024-12-31"] * 5 + ["2025-06-02"])
            if r.random() < 0.3:
                part["note"] = r.choice(["cracked", "", None])
        claim["policy"]["claims_history"] = [
            {"event": r.choice(["theft", "loss", "damage"]), "occurred": "2025-01-0" + str(r.randrange(1, 10)),
             "paid": {"amount": f"{r.randrange(0, 900)}.{r.randrange(0, 100):02d}",
                      "currency": "GBP" if r.random() < 0.95 else "EUR"}} for _ in range(r.randrange(0, 4))]
        texts.append(cs.dumps(claim))
    accepted, total = agree(product, changed(texts, 3000, seed=21))
    assert 150 < accepted < total - 150


def test_values_the_json_reader_never_gives(gadget):
    """Tuples for lists, date objects, Decimal and float amounts, as a Python caller may pass."""
    product = gadget
    claims = []
    for parts in (tuple(BASE["claim"]["parts"]), BASE["claim"]["parts"][:1]):
        claim = copy.deepcopy(BASE)
        claim["claim"]["parts"] = copy.deepcopy(parts)
        claims.append(claim)
    for value in (Decimal("300.00"), Decimal("300.001"), 300, 300.5, "300", "0300.00", "300.0", "1e2"):
        claim = copy.deepcopy(BASE)
        claim["claim"]["parts"][0]["cost"] = {"amount": value, "currency": "GBP"}
        claims.append(claim)
    for value in (date(2025, 2, 1), "2025-02-30", "20250201"):
        claim = copy.deepcopy(BASE)
        claim["claim"]["parts"][1]["bought"] = value
        claims.append(claim)
    accepted, _ = agree(product, claims)
    assert accepted >= 5


def test_text_of_a_str_subclass_is_left_to_the_converter(book, gadget):
    """An enum member (a str subclass) equal to a code is not the code's text: the converter
    refuses it, in a list of codes as in a code field, so the inline tests must too."""
    from enum import Enum

    class Section(str, Enum):
        BAGGAGE = "baggage"

    class Text(str):
        pass

    claims = []
    for text in cs.travel_with_articles(5):
        claim = cs.parse(text)
        claim["claim"]["sections"] = [Section.BAGGAGE if s == "baggage" else s for s in claim["claim"]["sections"]]
        claims.append(claim)
        claim = cs.parse(text)
        claim["claim"]["documents"] = [Text(d) for d in claim["claim"]["documents"]]
        claims.append(claim)
    accepted, _ = agree(book.product("travel-single-trip"), claims)
    assert accepted == 0
    claim = copy.deepcopy(BASE)
    claim["claim"]["parts"][0]["kind"] = Text("screen")
    assert agree(gadget, [claim]) == (0, 1)
