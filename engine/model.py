"""The compiled product: immutable, shared by every thread that evaluates claims.

A `Product` holds its claim fields (`FieldSpec`, for the validator), its rules in the order
they are decided (`Rule`), documents, referrals, its `Settlement` (a formula, or `Step`s in
order), and, for a product whose claims ask for several benefit sections, its `Benefits`: what
the product says, where it says it (`path` in the product data, `position` in its file), for the
trace, coverage and the errors a claim can cause. What it computes is its generated module
(`code`: `engine.codegen`), compiled from these and the product's folded expressions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

Condition = Any                          # a field's required_when or present_when: a `dsl.compiler.Compiled`
                                         # (`.function(V, D, T, cur)`)
Position = tuple                          # (file, line, column) in a product file


@dataclass(frozen=True)
class FieldSpec:
    path: str
    type: str                            # text code country event date datetime bool integer decimal money list
                                         # records object
    required: bool = True                # absent is invalid (unless required_when says otherwise)
    default: Any = None                  # converted value
    has_default: bool = False
    values: frozenset[str] | None = None
    groups: frozenset[str] = frozenset()  # event groups (not valid claim values)
    minimum: Any = None
    maximum: Any = None
    pattern: Any = None                   # compiled re.Pattern
    required_when: Condition | None = None
    required_when_text: str | None = None
    not_before: str | None = None        # a date (or date-time) field this one may not be earlier than
    not_after: str | None = None         # ... nor later than
    present_when: Condition | None = None  # required when it holds, refused when it does not
    present_when_text: str | None = None
    pii: bool = False
    description: str | None = None
    items: tuple["FieldSpec", ...] = ()  # records: the item fields of each element (paths: their names)
    min_items: int | None = None         # list and records: how many elements at least, at most
    max_items: int | None = None
    unique: bool = False                 # list: each value at most once


@dataclass(frozen=True)
class Rule:
    """A rule that declines, refers or adjusts: the reason a decision gives."""
    id: str
    section: str                         # eligibility, events, exclusions, conditions, referrals, adjustments
    clause: str
    message: str
    when_text: str = ""
    reads: tuple[str, ...] = ()          # fields and definitions the condition reads (for the trace)
    position: Position | None = None     # where its condition is written
    rank: int = 0                        # its place in the product: reasons are listed in this order
    path: tuple = ()                     # where it stands in the product data (its `when` and `unless`
                                         # are sites below it; a shared refusal's path is its condition)
    circumstance: str | None = None      # `circumstance:` shorthand

    def reason(self) -> dict:
        return {"code": self.id, "clause": self.clause, "message": self.message}


@dataclass(frozen=True)
class DocumentRule:
    id: str
    document: str
    clause: str
    message: str
    position: Position | None = None
    rank: int = 0
    path: tuple = ()                     # its `when` (None: every claim) and `provided` (None: the code
                                         # in claim.documents) are sites below it


@dataclass(frozen=True)
class Invariant:
    """What must hold for every decision: checked by `policyconf verify`."""
    id: str
    message: str
    clause: str | None
    holds_text: str
    position: Position | None = None
    path: tuple = ()                     # its `holds` site


@dataclass(frozen=True)
class Group:
    """A limit on a group of the elements of an `each` step (valuables in total, say): which
    elements belong to it (its `of`) and its limit given their total (its `limit`), sites below
    its path."""
    reason: Rule | None
    text: str
    position: Position | None = None
    path: tuple = ()


@dataclass(frozen=True)
class Step:
    """One step of a settlement, on the amount so far (`amount` in its expressions).

    kind: `amount` (the amount is now `value`), `limit` (at most `value`; its reason is listed
    when it lowers the amount), `excess` (what the customer bears: min(`value`, amount), taken
    off), `adjust` (the amount is now `value`; its reason is listed when it applies), `each` (an
    amount for every element of `items`, through `steps`, then `groups`' limits; their sum).
    `when`: the step applies only when it holds. Its expressions are sites below its path.
    """
    kind: str
    when: bool = False                    # it has a `when`
    reason: Rule | None = None
    text: str = ""                        # the expression as written, for the trace
    position: Position | None = None
    items_text: str = ""
    steps: tuple["Step", ...] = ()
    groups: tuple[Group, ...] = ()
    path: tuple = ()                      # where it stands in the product data


@dataclass(frozen=True)
class Settlement:
    """A formula (its `payout` and `excess` sites), or `steps`; the product's `kind` site (a
    benefit section's settlement takes the product's)."""
    depreciation: bool                    # it states one (else 0.00, or null for a product with sections)
    adjustments: tuple[Rule, ...] = ()
    positions: dict = field(default_factory=dict)      # part (kind, payout, ...) -> Position
    steps: tuple[Step, ...] = ()
    personal: bool = False                # its steps compute from personal data: their amounts are masked
    path: tuple = ()                      # where it stands in the product data

    def reasons(self) -> list[Rule]:
        """Every reason this settlement can give, in order."""
        found = list(self.adjustments)

        def walk(steps):
            for step in steps:
                if step.reason is not None:
                    found.append(step.reason)
                walk(step.steps)
                found.extend(group.reason for group in step.groups if group.reason is not None)
        walk(self.steps)
        return found


@dataclass(frozen=True)
class Section:
    """A benefit section: assessed on its own, its own refusals, documents, referrals and amount."""
    id: str
    name: str
    clause: str | None
    refusals: tuple[Rule, ...]            # shared refusals (with this section's condition) first
    documents: tuple[DocumentRule, ...]
    referrals: tuple[Rule, ...]
    settlement: Settlement


@dataclass(frozen=True)
class Benefits:
    claimed: str                          # the claim's list field naming the sections it asks for
    declined_when: str                    # "every-section-refused" or "any-section-refused"
    sections: tuple[Section, ...]


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
    benefits: Benefits | None = None
    settlement_kinds: frozenset[str] = frozenset()   # the kinds its settlement can report
    code: Any = field(default=None, repr=False, compare=False)   # the generated module (engine.codegen)
    version_date: str | None = "policy.purchased"   # the date field that chooses the version (None: one
                                                    # version, for every claim)

    @property
    def currency(self) -> str:
        """The currency of a claim that gives no money (a claim that gives money is in its own)."""
        return min(self.currencies)

    def events(self) -> frozenset[str]:
        """The event codes a claim may name (empty when the product has no catalogue)."""
        for spec in self.fields:
            if spec.type == "event":
                return spec.values or frozenset()
        return frozenset()

    def rules(self) -> list[Rule]:
        """Every rule and reason the product can give, in its order."""
        found = [*self.declining, *self.referrals, *(self.settlement.reasons() if self.settlement else [])]
        if self.benefits is not None:
            for section in self.benefits.sections:
                found += [*section.refusals, *section.referrals, *section.settlement.reasons()]
        unique = {}
        for rule in found:
            unique.setdefault(rule.id, rule)
        return sorted(unique.values(), key=lambda rule: rule.rank)

    def all_documents(self) -> list[DocumentRule]:
        documents = list(self.documents)
        if self.benefits is not None:
            for section in self.benefits.sections:
                documents += section.documents
        return documents
