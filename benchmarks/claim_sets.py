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
