"""`policyconf verify`: property-based checking of a product's invariants.

Claims are generated from the product's own field declarations (hypothesis): every field of
its type, within its bounds and allowed values, dates near each other (so that rules, bands and
periods are met on both sides), all money of a claim in one of the product's currencies.
Claims the product rejects as invalid input are discarded. Every other claim is decided, and
each invariant is checked against the claim, the definitions and the decision. The first claim
that breaks one is shrunk by hypothesis to the smallest such claim, which is reported.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any

from ..dsl.iso import COUNTRIES, MINOR_UNITS
from ..dsl.runtime import CONTEXT

from .errors import ClaimError
from .model import Invariant, Product

_COUNTRY = re.compile(r"[A-Z]{2}\Z")


class InvariantBroken(Exception):
    """Invariants a claim breaks; `errors` says, for those that could not be computed on it, why."""
    def __init__(self, invariants: list[Invariant], claim: dict, decision, errors: dict[str, str] | None = None):
        super().__init__(", ".join(i.id for i in invariants))
        self.invariants = invariants
        self.claim = claim
        self.decision = decision
        self.errors = errors or {}


@dataclass
class Verification:
    product: str
    version: str
    invariants: int
    decided: int = 0                       # claims decided and checked
    rejected: int = 0                      # generated claims the product rejected as invalid input
    broken: InvariantBroken | None = None

    @property
    def passed(self) -> bool:
        return self.broken is None


def decision_values(decision) -> dict:
    """What an invariant reads of a decision (`decision.payout`...), as the generated code has it:
    amounts as plain amounts in the claim's currency."""
    return {"outcome": decision.outcome, "payout": decision.payout.amount, "excess": decision.excess.amount,
            "depreciation": decision.depreciation if decision.depreciation is not None else Decimal(0)}


def broken_invariants(product: Product, claim: dict):
    """Decide `claim` and return (the invariants it breaks, why those that could not be computed on
    it could not, by id; the decision). Raises ClaimError."""
    values, currency = product.validator.validate(claim)
    cur = currency or product.currency
    with localcontext(CONTEXT):
        decision = product.code.decide(values, cur, values.get("claim.id"))
        found = product.code.invariants(values, cur, decision_values(decision))
    return [invariant for invariant, _ in found], \
        {invariant.id: str(error) for invariant, error in found if error is not None}, decision


def claims(product: Product, examples: list[dict] | None = None):
    """A hypothesis strategy of claim documents for `product`, from its field declarations.

    With `examples` (valid claims, e.g. the product's test cases), three claims in four are an
    example with up to three fields replaced by generated values: claims near the ones people
    thought of, where most rules pass and a few are tested at their edges. Independent random
    fields alone are nearly always declined by some rule.
    """
    from hypothesis import strategies as st

    currencies = sorted(product.currencies)
    first = currencies[0] if currencies else "EUR"
    named = sorted(c for c in product.literals if _COUNTRY.match(c) and c in COUNTRIES)
    countries = sorted(set(named) | {key for table in product.tables.values() for key in getattr(table, "rows", {})
                                     if isinstance(key, str) and key in COUNTRIES} | {"DE", "CH", "US"})
    texts = sorted(product.literals) or ["x"]
    fields = [spec for spec in product.fields if spec.path not in ("policy.id", "claim.id")]
    objects = {spec.path for spec in fields if spec.type == "object"
               and (not spec.required or spec.required_when is not None or spec.present_when is not None)}

    @st.composite
    def claim(draw):
        anchor = date(2019, 1, 1) + timedelta(days=draw(st.integers(0, 3650)))
        currency = draw(st.one_of(st.just(first), st.sampled_from(currencies or ["EUR"])))
        places = MINOR_UNITS.get(currency, 2)
        present_objects = {path for path in objects if draw(st.integers(0, 4)) > 0}
        values: dict[str, Any] = {}
        document: dict[str, Any] = {"product": product.id}
        for spec in fields:
            if spec.type == "object":
                continue
            owner = next((o for o in objects if spec.path.startswith(o + ".")), None)
            if owner is not None and owner not in present_objects:
                continue
            if not spec.required or spec.has_default or spec.required_when is not None \
                    or spec.present_when is not None:
                if draw(st.integers(0, 5)) == 0:
                    continue                              # left out: its default applies
            value = draw(_value(st, spec, anchor, values, currency, places, countries, texts, named))
            values[spec.path] = value
            node = document
            parts = spec.path.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = value
        return document

    if not examples:
        return claim()

    @st.composite
    def mutated(draw):
        document = copy.deepcopy(draw(st.sampled_from(examples)))
        leaves = [spec for spec in fields if spec.type != "object"]
        for _ in range(draw(st.integers(0, 3))):
            spec = draw(st.sampled_from(leaves))
            node = document
            parts = spec.path.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    break
            else:
                if draw(st.integers(0, 9)) == 0 and (not spec.required or spec.has_default):
                    node.pop(parts[-1], None)
                    continue
                anchor = _anchor(document)
                currency = _currency_of(document) or first
                node[parts[-1]] = draw(_value(st, spec, anchor, _flat(document), currency,
                                              MINOR_UNITS.get(currency, 2), countries, texts, named))
        return document

    return st.one_of(claim(), mutated(), mutated(), mutated())


def _flat(document: dict, prefix: str = "") -> dict:
    values = {}
    for key, value in document.items():
        if isinstance(value, dict) and "amount" not in value:
            values.update(_flat(value, f"{prefix}{key}."))
        else:
            values[f"{prefix}{key}"] = value
    return values


def _anchor(document: dict) -> date:
    for value in _flat(document).values():
        if isinstance(value, str) and len(value) == 10 and value[4] == "-":
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
    return date(2024, 1, 1)


def _currency_of(document: dict) -> str | None:
    for value in _flat(document).values():
        if isinstance(value, dict) and "currency" in value:
            return value["currency"]
    return None


def _value(st, spec, anchor: date, values: dict, currency: str, places: int, countries, texts, named):
    kind = spec.type
    if kind == "date":
        if not isinstance(anchor, date):  # pragma: no cover
            anchor = date(2024, 1, 1)
        # mostly close to the claim's other dates (so periods, bands and deadlines are met on both
        # sides), sometimes far
        offsets = st.one_of(st.integers(-10, 40), st.integers(-10, 40), st.integers(-800, 1600))
        if spec.not_before and isinstance(values.get(spec.not_before), str):
            base = date.fromisoformat(values[spec.not_before])
            offsets = st.one_of(st.integers(0, 40), st.integers(0, 1200))
            return offsets.map(lambda d: (base + timedelta(days=d)).isoformat())
        if spec.not_after and isinstance(values.get(spec.not_after), str):
            base = date.fromisoformat(values[spec.not_after])
            offsets = st.one_of(st.integers(0, 40), st.integers(0, 2400))
            return offsets.map(lambda d: (base - timedelta(days=d)).isoformat())
        return offsets.map(lambda d: (anchor + timedelta(days=d)).isoformat())
    if kind == "bool":
        return st.booleans()
    if kind == "integer":
        low = int(spec.minimum) if spec.minimum is not None else 0
        high = int(spec.maximum) if spec.maximum is not None else max(low, 0) + 120
        return st.integers(low, high)
    if kind == "decimal":
        low = Decimal(spec.minimum) if spec.minimum is not None else Decimal(0)
        high = Decimal(spec.maximum) if spec.maximum is not None else low + 1
        return st.decimals(low, high, places=2, allow_nan=False, allow_infinity=False).map(str)
    if kind == "money":
        amounts = st.decimals(Decimal(0), Decimal(500_000), places=places, allow_nan=False, allow_infinity=False)
        return amounts.map(lambda a: {"amount": str(a), "currency": currency})
    if kind in ("code", "event"):
        return st.sampled_from(sorted(spec.values))
    if kind == "country":
        # the countries the rules name (RO), often; the others the product mentions, sometimes
        return st.one_of(st.sampled_from(named), st.sampled_from(countries)) if named else st.sampled_from(countries)
    if kind == "datetime":
        if spec.not_before and isinstance(values.get(spec.not_before), str):
            base = datetime.fromisoformat(values[spec.not_before])
            return st.one_of(st.integers(0, 24 * 60), st.integers(0, 4 * 24 * 60)).map(
                lambda m: (base + timedelta(minutes=m)).isoformat())
        # near the claim's dates, at any time of day, in a few offsets (UTC, Europe, America)
        return st.tuples(st.integers(-10, 40), st.integers(0, 24 * 60 - 1), st.sampled_from(["Z", "+01:00", "-05:00"])) \
            .map(lambda t: f"{anchor + timedelta(days=t[0])}T{t[1] // 60:02d}:{t[1] % 60:02d}:00{t[2]}")
    if kind == "list":
        options = sorted(spec.values)
        low = spec.min_items or 0
        lists = st.lists(st.sampled_from(options), min_size=low, max_size=max(low, min(len(options), 3)), unique=True)
        return st.one_of(st.just(options), lists) if low else st.one_of(st.just(options), st.just([]), lists)
    if kind == "records":
        # empty (where allowed), one, or several elements, each with every item field
        element = st.fixed_dictionaries({item.path: _value(st, item, anchor, values, currency, places, countries,
                                                           texts, named) for item in spec.items})
        low = spec.min_items or 0
        high = min(spec.max_items if spec.max_items is not None else 8, 8)
        return st.lists(element, min_size=low, max_size=max(low, high))
    if kind == "text":
        if spec.pattern is not None:
            return st.from_regex(spec.pattern.pattern, fullmatch=True)
        return st.one_of(st.sampled_from(texts), st.text("ABCMINWxyz", min_size=1, max_size=6))
    raise AssertionError(kind)  # pragma: no cover


def verify(product: Product, count: int = 10_000, seed: int | None = None,
           examples: list[dict] | None = None) -> Verification:
    """Check `product`'s invariants on `count` decided claims; `examples` seed the generator.
    Raises ValueError when `count` is under 1."""
    if count < 1:
        raise ValueError(f"the number of claims must be at least 1, not {count}")
    from hypothesis import HealthCheck, Phase, assume, given, settings
    from hypothesis import seed as with_seed

    result = Verification(product.id, product.version, len(product.invariants))

    @settings(max_examples=count, database=None, deadline=None, derandomize=seed is None,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate, Phase.shrink])
    @given(claims(product, examples))
    def check(claim):
        try:
            failed, errors, decision = broken_invariants(product, claim)
        except ClaimError:
            result.rejected += 1
            assume(False)
            return
        result.decided += 1
        if failed:
            raise InvariantBroken(failed, claim, decision, errors)

    if seed is not None:
        check = with_seed(seed)(check)
    try:
        check()
    except InvariantBroken as broken:
        result.broken = broken
    return result
