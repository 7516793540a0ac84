"""The decision document of the contract."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from dsl.values import Money

OUTCOMES = ("approved", "declined", "pending", "referred")


def rate_text(rate: Decimal | int | None) -> str | None:
    """A rate as a decimal string with at least two places: 0.1 -> "0.10", 0.125 -> "0.125"."""
    if rate is None:
        return None
    rate = Decimal(rate)
    if rate.as_tuple().exponent >= -2:
        return str(rate.quantize(Decimal("0.01")))
    return str(rate.normalize()) if rate.normalize().as_tuple().exponent < -2 else str(rate.quantize(Decimal("0.01")))


@dataclass(frozen=True)
class Decision:
    """A decision.  `trace` is written out from the recorded steps the first time it is read."""

    claim_id: str | None
    product: str
    product_version: str
    outcome: str                         # approved, declined, pending, referred
    settlement: str | None               # repair, replacement, vehicle_replacement; None unless approved
    payout: Money
    excess: Money
    depreciation: Decimal | None         # None unless approved
    reasons: tuple[dict, ...]
    missing_documents: tuple[str, ...]
    steps: list = field(repr=False, compare=False)     # (formatter, *arguments) per step

    @property
    def trace(self) -> tuple[str, ...]:
        """How the decision was reached, step by step, for a person."""
        written = self.__dict__.get("_trace")
        if written is None:
            written = tuple(step[0](*step[1:]) for step in self.steps)
            object.__setattr__(self, "_trace", written)
        return written

    def to_dict(self) -> dict:
        return {
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
            "trace": list(self.trace),
        }
