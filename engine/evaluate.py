"""The interpreter: one validated claim and one compiled product to a decision.

Outcome precedence: declined over pending over referred over approved.  Every
declining rule that holds is a reason, not only the first.  Money is computed
in `Decimal` and rounded once, at the end, half-up to the currency's minor
unit.  Nothing here writes outside the objects it creates for this claim.

The trace is recorded as steps (a formatter and its arguments) and written
out as text only when someone reads it: a service that needs the outcome and
the payout does not pay for the explanation.
"""
from __future__ import annotations

from decimal import Decimal, DecimalException, localcontext

from ..dsl.errors import EvaluationError
from ..dsl.runtime import CONTEXT
from ..dsl.values import BandSchedule, CurrencyMismatch, LookupTable, Money

from . import errors as E
from .decision import Decision
from .errors import ClaimError
from .model import DocumentRule, Product, Rule

PERSONAL = "<personal data>"


class Definitions(dict):
    """The `D` of compiled expressions (`dsl.runtime.Environment`): definitions computed on first
    use, once per claim; and `note`, where table and band lookups say what they used, which
    goes into the trace (and the coverage, when asked for)."""

    __slots__ = ("values", "functions", "trace", "hits", "private", "at")

    def __init__(self, values: dict, functions: dict, trace: list, hits: set | None = None,
                 private: frozenset = frozenset()):
        super().__init__()
        self.values = values
        self.functions = functions
        self.trace = trace
        self.hits = hits            # coverage: what this claim exercised, when asked for
        self.private = private      # definitions computed from personal data: masked in the trace
        self.at: object = "the claim"   # what is being computed (a rule, a document, a settlement part)

    def __missing__(self, name: str):
        value = self.functions[name](self.values, self)
        self[name] = value
        self.trace.append((_definition_step, name, PERSONAL if name in self.private else value))
        return value

    def note(self, used) -> None:
        table, key, row, value = used
        if isinstance(table, BandSchedule):
            self.trace.append((_band_step, table, key, row, value))
            if self.hits is not None:
                self.hits.add(("band", table.name, row.low))
        else:
            self.trace.append((_row_step, table, key, row, value))
            if self.hits is not None:
                self.hits.add(("table", table.name, row))


def show(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (frozenset, tuple, list)):
        if len(value) > 8:
            return f"[{len(value)} values]"
        return "[" + ", ".join(sorted(str(v) for v in value)) + "]"
    return str(value)


# -- trace steps: (formatter, *arguments), written out on reading ------------------
def _definition_step(name, value) -> str:
    return f"{name} = {show(value)}"


def _rule_step(what: str, rule, values: dict, scope: "Definitions", pii: frozenset) -> str:
    shown = []
    for name in rule.reads:
        if name in values:
            shown.append(f"{name} = {PERSONAL if name in pii else show(values[name])}")
        elif name in scope and not isinstance(scope[name], (frozenset, tuple)):
            shown.append(f"{name} = {PERSONAL if name in scope.private else show(scope[name])}")
    seen = f" (with {', '.join(shown)})" if shown else ""
    return f"{what} {rule.id} ({rule.clause}) applies: {rule.when_text}{seen}"


def _text_step(text: str) -> str:
    return text


def _row_step(table: LookupTable, key, row, value) -> str:
    if row is None:
        return f"{table.name}[{key}]: no row for {key}, default {value}{_cite(table.clause)}"
    return f"{table.name}[{key}]: {value}{_cite(table.clause)}"


def _band_step(schedule: BandSchedule, key, band, value) -> str:
    return f"{schedule.name}[{key}]: band {band.label} {schedule.unit}: {value}{_cite(schedule.clause)}"


def _cite(clause: str | None) -> str:
    return f" ({clause})" if clause else ""


def _none_applies(count: int) -> str:
    return f"eligibility, events, exclusions and conditions: none of {count} rules applies"


def _missing_step(document) -> str:
    return f"document {document.document} ({document.clause}) is missing"


def _settlement_step(kind, payout, payout_rounded, excess_rounded) -> str:
    return f"settlement {kind}: payout {payout} rounded half-up to {payout_rounded}, excess {excess_rounded}"


def _outcome_step(outcome: str) -> str:
    return f"outcome {outcome}: nothing is paid"


def decide(product: Product, values: dict, currency: str | None, claim_id: str | None,
           hits: set | None = None) -> Decision:
    """Decide a validated claim.  `hits`, if given, collects what the claim exercised (coverage).

    The computation runs in the language's own decimal context, whatever the caller's.
    """
    with localcontext(CONTEXT):
        return _decide(product, values, currency, claim_id, hits)


def _decide(product: Product, values: dict, currency: str | None, claim_id: str | None,
            hits: set | None) -> Decision:
    trace: list = []
    scope = Definitions(values, product.definitions, trace, hits, product.private_definitions)
    pii = product.pii
    if hits is not None and "claim.event" in values:
        hits.add(("event", values["claim.event"]))
    try:
        declined = []
        for rule in product.declining:
            scope.at = rule
            if rule.test(values, scope):
                declined.append(rule)
                trace.append((_rule_step, rule.section, rule, values, scope, pii))
        if declined:
            if hits is not None:
                hits.update(("rule", rule.id) for rule in declined)
            return _refusal(product, claim_id, currency, "declined", declined, (), trace)
        trace.append((_none_applies, len(product.declining)))

        missing: list[str] = []
        for document in product.documents:
            scope.at = document
            if document.applies is not None and not document.applies(values, scope):
                continue
            if not document.provided(values, scope) and document.document not in missing:
                missing.append(document.document)
                trace.append((_missing_step, document))
                if hits is not None:
                    hits.add(("document", document.id))
        if missing:
            return _refusal(product, claim_id, currency, "pending", (), tuple(missing), trace)

        referred = []
        for rule in product.referrals:
            scope.at = rule
            if rule.test(values, scope):
                referred.append(rule)
                trace.append((_rule_step, "referral", rule, values, scope, pii))
        if referred:
            if hits is not None:
                hits.update(("rule", rule.id) for rule in referred)
            return _refusal(product, claim_id, currency, "referred", referred, (), trace)

        return _settle(product, claim_id, currency, values, scope, trace)
    except CurrencyMismatch as error:
        raise _currency_error(error, _step(scope.at, with_position=False), claim_id) from None
    except EvaluationError as error:
        raise ClaimError(E.EVALUATION_ERROR, f"{_step(scope.at, error.where)}: {error.message}", None,
                         claim_id) from None
    except DecimalException as error:       # beyond 28 significant digits, say: this claim's numbers
        raise ClaimError(E.EVALUATION_ERROR, f"{_step(scope.at)}: the amounts cannot be computed exactly "
                         f"({type(error).__name__})", None, claim_id) from None


class _Part:
    """Which part of the settlement is being computed, for an error's message and position."""
    __slots__ = ("settlement", "name")

    def __init__(self, settlement, name: str):
        self.settlement = settlement
        self.name = name


def _step(step, where: tuple | None = None, with_position: bool = True) -> str:
    """Name what was being computed when evaluation failed, and where (the failing part, or the
    rule's condition) it is written."""
    if isinstance(step, Rule):
        text, position = f"rule {step.id}", step.position
    elif isinstance(step, DocumentRule):
        text, position = f"document requirement {step.id}", step.position
    elif isinstance(step, _Part):
        text, position = f"the settlement's {step.name}", step.settlement.positions.get(step.name)
    else:
        text, position = str(step), None
    position = where or position
    if position is None or not with_position:
        return text
    file, line, column = position
    return f"{text} ({file}:{line}:{column})"


def _settle(product, claim_id, currency, values, scope, trace) -> Decision:
    settlement = product.settlement
    scope.at = _Part(settlement, "kind")
    kind = settlement.kind(values, scope)
    scope.at = _Part(settlement, "excess")
    excess = settlement.excess(values, scope)
    scope.at = _Part(settlement, "payout")
    payout = settlement.payout(values, scope)
    scope.at = _Part(settlement, "depreciation")
    depreciation = settlement.depreciation(values, scope)
    adjustments = []
    for rule in settlement.adjustments:
        scope.at = rule
        if rule.test(values, scope):
            adjustments.append(rule)
    if scope.hits is not None:
        scope.hits.update(("rule", rule.id) for rule in adjustments)
        scope.hits.add(("settlement", kind))
    for rule in adjustments:
        trace.append((_rule_step, "adjustment", rule, values, scope, product.pii))
    code = currency or payout.currency or excess.currency or min(product.currencies)
    for amount in (payout, excess):
        if amount.currency not in (None, code):
            raise CurrencyMismatch(Money(Decimal(0), code, "claim"), amount)
    payout_rounded = payout.rounded(code)
    excess_rounded = excess.rounded(code)
    if payout_rounded.amount < 0:
        raise ClaimError(E.EVALUATION_ERROR, f"{_step(_Part(settlement, 'payout'))}: the payout formula gives a "
                         f"negative amount ({payout_rounded}); the product must not pay less than nothing", None,
                         claim_id)
    trace.append((_settlement_step, kind, payout, payout_rounded, excess_rounded))
    return Decision(claim_id, product.id, product.version, "approved", kind, payout_rounded, excess_rounded,
                    Decimal(depreciation), tuple(rule.reason() for rule in adjustments), (), trace)


def _refusal(product, claim_id, currency, outcome, rules, missing, trace) -> Decision:
    zero = product.zeros.get(currency or min(product.currencies)) or Money(Decimal(0), currency).rounded()
    trace.append((_outcome_step, outcome))
    return Decision(claim_id, product.id, product.version, outcome, None, zero, zero, None,
                    tuple(rule.reason() for rule in rules), missing, trace)


def _currency_error(error: CurrencyMismatch, step: str, claim_id) -> ClaimError:
    left, right = error.left, error.right
    claim_side, product_side = (left, right) if left.source else (right, left)
    path = claim_side.source if claim_side.source and claim_side.source != "claim" else None
    what = f"{path} is in {claim_side.currency}" if path else f"the claim is in {claim_side.currency}"
    return ClaimError(E.CLAIM_CURRENCY_MISMATCH,
                      f"{what}, but {step} uses an amount in {product_side.currency} ({product_side}); "
                      "no exchange rate is applied", path and f"{path}.currency", claim_id)



