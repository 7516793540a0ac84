"""The decision document of the contract."""
from __future__ import annotations

from decimal import Decimal
from json.encoder import encode_basestring as _string      # the C encoder json.dumps uses (ensure_ascii=False)

from ..dsl.values import Money
from .jsonio import dumps

OUTCOMES = ("approved", "declined", "pending", "referred")


def rate_text(rate: Decimal | int | None) -> str | None:
    """A rate as a decimal string with at least two places: 0.1 -> "0.10", 0.125 -> "0.125"."""
    if rate is None:
        return None
    rate = Decimal(rate)
    if rate.as_tuple().exponent >= -2:
        return str(rate.quantize(Decimal("0.01")))
    return str(rate.normalize()) if rate.normalize().as_tuple().exponent < -2 else str(rate.quantize(Decimal("0.01")))


class Decision:
    """A decision.  Read-only by convention (shared between threads as it is).

    `trace` is written out from the recorded steps the first time it is read. A plain class
    with slots rather than a frozen dataclass: one is built per claim, and a frozen dataclass's
    __init__ costs a setattr call per field.
    """

    __slots__ = ("claim_id", "product", "product_version", "outcome", "settlement", "payout", "excess",
                 "depreciation", "reasons", "missing_documents", "steps", "benefits", "_trace")

    def __init__(self, claim_id: str | None, product: str, product_version: str, outcome: str,
                 settlement: str | None, payout: Money, excess: Money, depreciation: Decimal | None,
                 reasons: tuple[dict, ...], missing_documents: tuple[str, ...], steps: list,
                 benefits: tuple[dict, ...] | None = None):
        self.claim_id = claim_id
        self.product = product
        self.product_version = product_version
        self.outcome = outcome                  # approved, declined, pending, referred
        self.settlement = settlement            # repair, replacement, vehicle_replacement; None unless approved
        self.payout = payout
        self.excess = excess
        self.depreciation = depreciation        # None unless approved
        self.reasons = reasons
        self.missing_documents = missing_documents
        self.steps = steps                      # (formatter, *arguments) per step
        self.benefits = benefits                # one line per benefit section claimed, or None
        self._trace = None

    def __repr__(self) -> str:
        return (f"Decision({self.claim_id!r}, {self.product!r}, {self.outcome!r}, {self.settlement!r}, "
                f"payout={self.payout!r})")

    @property
    def trace(self) -> tuple[str, ...]:
        """How the decision was reached, step by step, for a person."""
        if self._trace is None:
            from .trace import render
            self._trace = tuple(render(step) for step in self.steps)
        return self._trace

    def to_dict(self) -> dict:
        document = {
            "claim_id": self.claim_id,
            "product": self.product,
            "product_version": self.product_version,
            "outcome": self.outcome,
            "settlement": self.settlement,
            "payout": self.payout.to_dict(),
            "excess": self.excess.to_dict(),
            "depreciation": rate_text(self.depreciation),
            "reasons": [dict(reason) for reason in self.reasons],
            "missing_documents": list(self.missing_documents),
        }
        if self.benefits is not None:
            document["benefits"] = [dict(line, reasons=[dict(r) for r in line["reasons"]]) for line in self.benefits]
        document["trace"] = list(self.trace)
        return document

    def to_json(self) -> str:
        """`jsonio.dumps(self.to_dict())`, to the byte, written directly: no document dict is built,
        each string goes through the C encoder `json.dumps` uses, and the trace is rendered into it."""
        trace = self._trace
        if trace is None:
            from .trace import render
            trace = self._trace = tuple(render(step) for step in self.steps)
        benefits = "" if self.benefits is None else ',"benefits":' + dumps(self.benefits)
        return "".join((
            '{"claim_id":', _text(self.claim_id), ',"product":', _text(self.product),
            ',"product_version":', _text(self.product_version), ',"outcome":', _text(self.outcome),
            ',"settlement":', _text(self.settlement), ',"payout":', _money(self.payout),
            ',"excess":', _money(self.excess), ',"depreciation":', _text(rate_text(self.depreciation)),
            ',"reasons":[', ",".join(map(_flat, self.reasons)), '],"missing_documents":', _strings(self.missing_documents),
            benefits, ',"trace":[', ",".join(map(_string, trace)), "]}"))


def _text(value) -> str:
    """A string (or null) as JSON; anything else as `dumps` writes it."""
    if type(value) is str:
        return _string(value)
    return "null" if value is None else dumps(value)


def _money(money: Money) -> str:
    if type(money) is not Money:
        return dumps(money.to_dict())
    return f'{{"amount":{_string(str(money.amount))},"currency":{_text(money.currency)}}}'


def _flat(reason: dict) -> str:
    """A reason ({"code", "clause", "message"}: strings) as JSON, its keys in their order."""
    parts = []
    for key, value in reason.items():
        if type(key) is not str or (type(value) is not str and value is not None):
            return dumps(dict(reason))
        parts.append(f"{_string(key)}:{_text(value)}")
    return "{" + ",".join(parts) + "}"


def _strings(values) -> str:
    for value in values:
        if type(value) is not str:
            return dumps(list(values))
    return "[" + ",".join(map(_string, values)) + "]"
