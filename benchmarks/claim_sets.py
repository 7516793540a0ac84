"""The claims the benchmark and the reference test decide, as JSON text (what a service receives).

* `case_texts(product)`: every case of products/PRODUCT.tests.yaml, the base with the case's
  patch merged on (as `policyconf test` merges them), error cases included;
* `distinct_texts(product, n, seed)`: n distinct claims of one product, from the claim-book
  generator (benchmarks/make_book.py: ages, countries, prices, dates, events, documents vary),
  each made unique by its ids and amounts;
* `mutated_texts(texts, n, seed)`: claims with one thing wrong or unusual each (a field removed,
  retyped, renamed, an impossible date, a bad amount or currency, an unknown code), for checking
  that two implementations refuse the same invalid input with the same error.

JSON texts are parsed with `parse`: exact decimals (a JSON number with a fraction is a Decimal),
as policyconf's own readers parse them.
"""
from __future__ import annotations

import copy
import json
import random
import sys
from decimal import Decimal
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_book  # noqa: E402

parse = partial(json.loads, parse_float=Decimal)


def comparable(document: dict) -> dict:
    """A decision document without its trace, or an error object without its message (the
    hand-written references word their messages their own way; code and path must be the same)."""
    document = dict(document)
    document.pop("trace", None)
    if "error" in document:
        document["error"] = {"code": document["error"]["code"], "path": document["error"]["path"]}
    return document


def disagreements(book, reference, texts: list[str]) -> list[tuple]:
    """(text, policyconf's, the reference's) for each claim text the two decide differently."""
    wrong = []
    for text in texts:
        ours = comparable(book.decide(parse(text)))
        theirs = comparable(reference.decide_document(parse(text)))
        if ours != theirs:
            wrong.append((text, ours, theirs))
    return wrong
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def dumps(value) -> str:
    """JSON text of a claim (dates and Decimals as their text)."""
    return _dumps(value)


def _merge(base, patch):
    """RFC 7386 merge patch: what a test case changes of the base (null removes a field)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    merged = dict(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge(merged.get(key), value)
    return merged


def case_texts(product: str, folder: Path = ROOT / "products") -> list[tuple[str, str]]:
    """(case name, JSON text) for every case of the product's test file."""
    from policyconf.engine.yaml_reader import load_file

    suite = load_file(str(folder / f"{product}.tests.yaml")).data
    base = {**(suite.get("base") or {}), "product": suite["product"]}
    return [(case["name"], dumps(_merge(base, case.get("claim") or {}))) for case in suite["cases"]]


_GENERATORS = {
    "accidental-damage": lambda r, number, seed: make_book._phone(r, "accidental-damage", number, seed),
    "screen-protection": lambda r, number, seed: make_book._phone(r, "screen-protection", number, seed),
    "bmw-total-loss": make_book._bmw,
    "travel-single-trip": make_book._travel,
    "pet-vet-fees": make_book._pet,
}


def distinct_claims(product: str, n: int, seed: int = 1) -> list[dict]:
    """n claims of one product, no two alike (checked)."""
    r = random.Random(f"{product}/{seed}")
    make = _GENERATORS[product]
    claims, seen = [], set()
    number = 0
    while len(claims) < n:
        claim = make(r, number, seed)
        number += 1
        text = dumps(claim)
        if text not in seen:
            seen.add(text)
            claims.append(claim)
    return claims


def distinct_texts(product: str, n: int, seed: int = 1) -> list[str]:
    return [dumps(claim) for claim in distinct_claims(product, n, seed)]


# what a mutation may put in place of a value: every JSON type, edge numbers, near-miss texts
_ODD_VALUES = (None, True, False, 0, -1, 1, 7, 61, 151, 10 ** 16, 1.5, -0.5, 1e3,
               "", "x", "34", "RO", "UK", "ro", "US", "EUR", "drop", "liquid", "theft.burglary", "2025-02-30",
               "2025-13-01", "2025-6-1", "2024-02-29", "2023-12-31", "2026-01-01", "12.50", "12.505", "-1.00",
               "1e3", " 12", "12.", "0.25", "1.0000000000000000000000000000000000000001", [], ["photo"],
               ["photo", 3], ["nope"], {}, {"amount": "1.00"}, {"amount": "1.00", "currency": "USD"},
               {"amount": "1.00", "currency": "EUR"}, {"amount": "1.00", "currency": "CNY"},
               {"amount": "-0.00", "currency": "CNY"}, {"amount": "1.001", "currency": "EUR"},
               {"amount": 5, "currency": "CNY", "note": 1}, {"amount": "1.00", "currency": "eur"},
               "WBA5R1C05LFH1234I", "WBA5R1C05LFH12345", "BMW", "MINI", "private", "used", "new")


def _paths(value, prefix=()):
    """Every path into a claim document: object keys and list indexes."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, prefix + (index,))


def mutate(claim: dict, r: random.Random) -> dict:
    """A copy of `claim` with one change: a value replaced, a key removed or misspelt, a key added."""
    claim = copy.deepcopy(claim)
    paths = [p for p in _paths(claim) if p]
    path = r.choice(paths)
    parent = claim
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    how = r.random()
    if isinstance(parent, dict) and how < 0.15:
        del parent[last]
    elif isinstance(parent, dict) and how < 0.22:
        parent[last + "_typo" if r.random() < 0.5 else last[:-1]] = parent.pop(last)
    elif isinstance(parent, dict) and how < 0.27:
        parent["unexpected"] = 1
    else:
        parent[last] = copy.deepcopy(r.choice(_ODD_VALUES))
    return claim


def mutated_texts(texts: list[str], n: int, seed: int = 1) -> list[str]:
    r = random.Random(seed)
    claims = [parse(text) for text in texts]
    return [dumps(mutate(r.choice(claims), r)) for _ in range(n)]


# -- claims with many list elements ------------------------------------------------------------
def _price(r: random.Random, low: int, high: int) -> dict:
    cents = r.randrange(low, high)
    return {"amount": f"{cents // 100}.{cents % 100:02d}", "currency": "GBP"}


def travel_with_articles(n: int, articles: int = 8, seed: int = 1) -> list[str]:
    """n distinct travel-single-trip claims, each claiming baggage with `articles` articles."""
    from datetime import date, timedelta

    r = random.Random(f"articles/{seed}")
    texts = []
    for claim in distinct_claims("travel-single-trip", n, seed):
        details = claim["claim"]
        departure = date.fromisoformat(claim["policy"]["trip"]["departure"])
        back = date.fromisoformat(claim["policy"]["trip"]["return"])
        occurred = departure + timedelta(days=r.randrange(0, (back - departure).days + 1))
        details["baggage"] = {
            "incident": r.choice(("theft", "loss", "damage")), "occurred": occurred.isoformat(),
            "items": [{"description": f"article {index}", "category": r.choice(("valuable", "other", "other")),
                       "price": _price(r, 20_00, 900_00),
                       "purchased": (occurred - timedelta(days=r.randrange(0, 2500))).isoformat(),
                       "in_checked_baggage": r.random() < 0.4} for index in range(articles)]}
        if "baggage" not in details["sections"]:
            details["sections"].append("baggage")
        for document in ("baggage_report", "receipts"):
            if document not in details["documents"]:
                details["documents"].append(document)
        texts.append(dumps(claim))
    return texts


def pet_with_history(n: int, entries: int = 8, seed: int = 1) -> list[str]:
    """n distinct pet-vet-fees claims, each policy with `entries` earlier claims in its history."""
    from datetime import date, timedelta

    r = random.Random(f"history/{seed}")
    texts = []
    for claim in distinct_claims("pet-vet-fees", n, seed):
        start = date.fromisoformat(claim["policy"]["start"])
        condition = claim["claim"]["condition"]
        claim["policy"]["claims_history"] = [
            {"condition": r.choice((condition, "skin_allergy", "fracture")),
             "treatment_date": (start + timedelta(days=r.randrange(0, 360))).isoformat(),
             "paid": _price(r, 50_00, 900_00), "excess": _price(r, 0, 1) if r.random() < 0.5
             else {"amount": "150.00", "currency": "GBP"}} for _ in range(entries)]
        texts.append(dumps(claim))
    return texts


# -- synthetic products ------------------------------------------------------------------------
def product_with_rules(rules: int, folder: Path, source: Path = ROOT / "benchmarks" / "ad-cover.yaml") -> str:
    """Write a copy of the peer product (3 rules) with synthetic eligibility rules added, `rules` rules
    in all, each one that never holds (so that every one is evaluated on every claim); its id."""
    text = source.read_text(encoding="utf-8")
    product_id = f"rules-{rules}"
    extra = []
    for index in range(rules - 3):
        condition = (f"claim.device_age_days > {100_000 + index}" if index % 2
                     else f"claim.holder_age > {1_000 + index}")
        extra.append(f"  synthetic-{index:04d}:\n    clause: S.{index}\n"
                     f"    message: A synthetic rule that never holds.\n    when: {condition}\n")
    text = text.replace("id: ad-cover\n", f"id: {product_id}\n", 1)
    if extra:
        text = text.replace("\nevents:\n", "\neligibility:\n" + "".join(extra) + "\nevents:\n", 1)
    (folder / f"{product_id}.yaml").write_text(text, encoding="utf-8")
    return product_id


def product_copies(count: int, folder: Path, products: Path = ROOT / "products") -> list[str]:
    """`count` products in `folder`: copies of the standalone seed products, each with its own id."""
    sources = ("accidental-damage", "bmw-total-loss", "travel-single-trip", "pet-vet-fees")
    ids = []
    for index in range(count):
        source = sources[index % len(sources)]
        product_id = f"{source}-{index:03d}"
        text = (products / f"{source}.yaml").read_text(encoding="utf-8")
        (folder / f"{product_id}.yaml").write_text(text.replace(f"\nid: {source}\n", f"\nid: {product_id}\n", 1),
                                                   encoding="utf-8")
        ids.append(product_id)
    return ids
