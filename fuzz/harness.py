"""What the fuzzers check, importable without atheris so that tests can replay what they found.

- `check_expression(text)`: parsing, checking and compiling any text raises only
  `ExpressionError`; whatever compiles evaluates, on a claim, to a value or an error a claim
  can cause (never a crash).
- `check_claim(data)`: any bytes, read as a claim the way the command line reads JSON, give a
  decision or the contract's error object; an approved claim pays a non-negative amount in the
  claim's currency and nothing else pays anything.

Claims are decided against products/ (`make fuzz`), or the folder given as `products`: the
regression tests replay against the engine's fixture products (tests/fixtures/products).
"""
from __future__ import annotations

import functools
import json
import pathlib
from decimal import Decimal

ROOT = pathlib.Path(__file__).resolve().parent.parent
from decimal import DecimalException, localcontext  # noqa: E402

from policyconf.dsl import types as t  # noqa: E402
from policyconf.dsl.checker import FieldInfo, Scope  # noqa: E402
from policyconf.dsl.errors import EvaluationError  # noqa: E402
from policyconf.dsl.iso import COUNTRIES  # noqa: E402
from policyconf.dsl.pipeline import run  # noqa: E402
from policyconf.dsl.runtime import CONTEXT  # noqa: E402
from policyconf.dsl.values import CurrencyMismatch, Money  # noqa: E402
from policyconf import load_products  # noqa: E402
from policyconf.engine.claim_reader import parse_json  # noqa: E402

_SCOPE = Scope(fields={
    "claim.cost": FieldInfo(t.Money(None)), "claim.count": FieldInfo(t.INTEGER),
    "claim.share": FieldInfo(t.NUMBER), "claim.day": FieldInfo(t.DATE), "claim.flag": FieldInfo(t.BOOL),
    "claim.country": FieldInfo(t.Text("country", COUNTRIES)),
    "claim.tags": FieldInfo(t.ListOf(t.Text("code", frozenset({"a", "b"})))),
})
_VALUES = {"claim.cost": Money(Decimal("12.50"), "EUR", "claim.cost"), "claim.count": 0,
           "claim.share": Decimal("0.5"), "claim.day": __import__("datetime").date(2024, 2, 29),
           "claim.flag": True, "claim.country": "RO", "claim.tags": ("a",)}


def check_expression(text: str) -> None:
    compiled, problems = run(text, _SCOPE)       # raises nothing but what it reports
    if compiled is None:
        return
    try:
        with localcontext(CONTEXT):
            compiled.evaluate(_VALUES)
    except (EvaluationError, CurrencyMismatch, DecimalException):
        pass                       # what a claim can cause; the engine turns these into error objects


@functools.lru_cache(maxsize=None)
def book(products: str = str(ROOT / "products")):
    """The products of the folder `products`, loaded once."""
    return load_products(products)


def check_claim(data: bytes, products: str | None = None) -> None:
    try:
        claim = parse_json(data.decode("utf-8"))
    except (ValueError, RecursionError, UnicodeDecodeError):
        return                     # the command line turns these into claim.unreadable
    check_claim_object(claim, products)


def check_claim_object(claim, products: str | None = None) -> None:
    result = (book(products) if products else book()).decide(claim)
    json.dumps(result, default=str)
    if "error" in result:
        assert set(result["error"]) == {"code", "message", "path"}, result
        return
    payout = Decimal(result["payout"]["amount"])
    if result["outcome"] == "approved":
        assert payout >= 0, result
        assert result["settlement"] in ("repair", "replacement", "vehicle_replacement"), result
    else:
        assert payout == 0 and result["settlement"] is None and result["depreciation"] is None, result
