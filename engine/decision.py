"""The decision document of the contract."""
from __future__ import annotations

from decimal import Decimal

from ..dsl.values import Money

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
