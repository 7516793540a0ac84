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

from decimal import Decimal, DecimalException

from ..dsl.compiler import is_division_by_zero
from ..dsl.values import CurrencyMismatch, Money

from . import errors as E
from .decision import Decision
from .errors import ClaimError
from .model import DocumentRule, Product, Rule

PERSONAL = "<personal data>"


class Definitions(dict):
    """The `D` of compiled expressions: definitions computed on first use, once per claim."""

    __slots__ = ("values", "functions", "trace", "hits", "private")

    def __init__(self, values: dict, functions: dict, trace: list, hits: set | None = None,
                 private: frozenset = frozenset()):
        super().__init__()
        self.values = values
        self.functions = functions
        self.trace = trace
        self.hits = hits            # coverage: what this claim exercised, when asked for
        self.private = private      # definitions computed from personal data: masked in the trace

    def __missing__(self, name: str):
        value = self.functions[name](self.values, self)
        self[name] = value
        self.trace.append((_definition_step, name, PERSONAL if name in self.private else value))
        return value


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
    """Decide a validated claim.  `hits`, if given, collects what the claim exercised (coverage)."""
    trace: list = []
    scope = Definitions(values, product.definitions, trace, hits, product.private_definitions)
    pii = product.pii
    if hits is not None and "claim.event" in values:
        hits.add(("event", values["claim.event"]))
    step = "the claim"
    try:
        declined = []
        for rule in product.declining:
            step = rule
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
            step = document
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
            step = rule
            if rule.test(values, scope):
                referred.append(rule)
                trace.append((_rule_step, "referral", rule, values, scope, pii))
        if referred:
            if hits is not None:
                hits.update(("rule", rule.id) for rule in referred)
            return _refusal(product, claim_id, currency, "referred", referred, (), trace)

        step = "the settlement"
        return _settle(product, claim_id, currency, values, scope, trace)
    except CurrencyMismatch as error:
        raise _currency_error(error, _step(step), claim_id) from None
    except ClaimError:
        raise
    except (ArithmeticError, DecimalException) as error:
        raise ClaimError(E.EVALUATION_ERROR, f"{_step(step)}: {_arithmetic(error)}", None, claim_id) from None
    except (TypeError, LookupError, ValueError, OverflowError) as error:
        raise ClaimError(E.EVALUATION_ERROR, f"{_step(step)}: {error}", None, claim_id) from None


def _step(step) -> str:
    """Name what was being computed when evaluation failed."""
    if isinstance(step, Rule):
        return f"rule {step.id}"
    if isinstance(step, DocumentRule):
        return f"document requirement {step.id}"
    return step


def _settle(product, claim_id, currency, values, scope, trace) -> Decision:
    settlement = product.settlement
    kind = settlement.kind(values, scope)
    excess = settlement.excess(values, scope)
    payout = settlement.payout(values, scope)
    depreciation = settlement.depreciation(values, scope)
    adjustments = [rule for rule in settlement.adjustments if rule.test(values, scope)]
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
        raise ClaimError(E.EVALUATION_ERROR, f"the payout formula gives a negative amount ({payout_rounded}); "
                         "the product must not pay less than nothing", None, claim_id)
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


def _arithmetic(error: Exception) -> str:
    if is_division_by_zero(error):
        return "division by zero"
    return f"invalid arithmetic ({type(error).__name__})"
