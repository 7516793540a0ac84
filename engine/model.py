"""The compiled product: immutable, shared by every thread that evaluates claims."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

Test = Callable[[dict, Any], Any]        # compiled expression: f(V, D)
Position = tuple                          # (file, line, column) in a product file


@dataclass(frozen=True)
class FieldSpec:
    path: str
    type: str                            # text code country event date bool integer decimal money list object
    required: bool = True                # absent is invalid (unless required_when says otherwise)
    default: Any = None                  # converted value
    has_default: bool = False
    values: frozenset[str] | None = None
    groups: frozenset[str] = frozenset()  # event groups (not valid claim values)
    minimum: Any = None
    maximum: Any = None
    pattern: Any = None                   # compiled re.Pattern
    required_when: Test | None = None
    required_when_text: str | None = None
    not_before: str | None = None
    pii: bool = False
    description: str | None = None


@dataclass(frozen=True)
class Rule:
    """A rule that declines, refers or adjusts: the reason a decision gives."""
    id: str
    section: str                         # eligibility, events, exclusions, conditions, referrals, adjustments
    clause: str
    message: str
    test: Test
    when_text: str = ""
    reads: tuple[str, ...] = ()          # fields and definitions the condition reads (for the trace)
    position: Position | None = None     # where its condition is written

    def reason(self) -> dict:
        return {"code": self.id, "clause": self.clause, "message": self.message}


@dataclass(frozen=True)
class DocumentRule:
    id: str
    document: str
    clause: str
    message: str
    applies: Test | None                 # None: every claim
    provided: Test
    position: Position | None = None


@dataclass(frozen=True)
class Invariant:
    """What must hold for every decision: checked by `policyconf verify`."""
    id: str
    message: str
    clause: str | None
    test: Test
    holds_text: str
    position: Position | None = None


@dataclass(frozen=True)
class Settlement:
    kind: Test
    payout: Test
    excess: Test
    depreciation: Test
    adjustments: tuple[Rule, ...] = ()
    positions: dict = field(default_factory=dict)      # part (kind, payout, ...) -> Position


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    version: str
    effective_from: date
    effective_until: date | None
    file: str
    currencies: frozenset[str]
    fields: tuple[FieldSpec, ...]
    definitions: dict[str, Test]         # read-only after load
    declining: tuple[Rule, ...]          # eligibility, event, exclusions, conditions: in that order
    documents: tuple[DocumentRule, ...]
    referrals: tuple[Rule, ...]
    settlement: Settlement | None
    validator: Any = field(repr=False, default=None)     # engine.claims.ClaimValidator
    extends: str | None = None
    digest: str = ""                     # sha256 of the product file(s)
    pii: frozenset[str] = frozenset()    # fields never shown in clear (trace, errors, logs)
    private_definitions: frozenset[str] = frozenset()   # definitions computed from those fields
    tables: dict[str, Any] = field(default_factory=dict, repr=False)   # LookupTable / BandSchedule by name
    invariants: tuple[Invariant, ...] = ()
    literals: frozenset[str] = frozenset()   # text the product's expressions name (for claim generators)
    zeros: dict[str, Any] = field(default_factory=dict, repr=False)   # 0.00 in each currency, made once

    def events(self) -> frozenset[str]:
        """The event codes a claim may name (empty when the product has no catalogue)."""
        for spec in self.fields:
            if spec.type == "event":
                return spec.values or frozenset()
        return frozenset()

    def rules(self) -> list[Rule]:
        adjustments = list(self.settlement.adjustments) if self.settlement else []
        return [*self.declining, *self.referrals, *adjustments]
