"""The interpreter: one validated claim and one compiled product to a decision.

Outcome precedence: declined over pending over referred over approved.  Every
declining rule that holds is a reason, not only the first.  Money is computed
in `Decimal` and rounded once, at the end, half-up to the currency's minor
unit.  Nothing here writes outside the objects it creates for this claim.
"""
from __future__ import annotations

from decimal import Decimal, DecimalException

from dsl.values import CurrencyMismatch, Money

from . import errors as E
from .decision import Decision
from .errors import ClaimError
from .model import Product


class Definitions(dict):
    """The `D` of compiled expressions: definitions computed on first use, once per claim."""

    __slots__ = ("values", "functions", "trace", "hits")

    def __init__(self, values: dict, functions: dict, trace: list, hits: set | None = None):
        super().__init__()
        self.values = values
        self.functions = functions
        self.trace = trace
        self.hits = hits            # coverage: what this claim exercised, when asked for

    def __missing__(self, name: str):
        value = self.functions[name](self.values, self)
        self[name] = value
        self.trace.append(f"{name} = {show(value)}")
        return value


def show(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (frozenset, tuple, list)):
        if len(value) > 8:
            return f"[{len(value)} values]"
        return "[" + ", ".join(sorted(str(v) for v in value)) + "]"
    return str(value)


PERSONAL = "<personal data>"


def _seen(rule, values: dict, scope: Definitions, pii: frozenset[str]) -> str:
    """' (with policy.holder.age = 17)': what the rule read, personal data masked."""
    shown = []
    for name in rule.reads:
        if name in values:
            shown.append(f"{name} = {PERSONAL if name in pii else show(values[name])}")
        elif name in scope and not isinstance(scope[name], (frozenset, tuple)):
            shown.append(f"{name} = {show(scope[name])}")
    return f" (with {', '.join(shown)})" if shown else ""


def decide(product: Product, values: dict, currency: str | None, claim_id: str | None,
           hits: set | None = None) -> Decision:
    """Decide a validated claim.  `hits`, if given, collects what the claim exercised (coverage)."""
    trace: list[str] = []
    scope = Definitions(values, product.definitions, trace, hits)
    if hits is not None and "claim.event" in values:
        hits.add(("event", values["claim.event"]))
    step = "the claim"
    try:
        declined = []
        for rule in product.declining:
            step = f"rule {rule.id}"
            if rule.test(values, scope):
                declined.append(rule)
                if hits is not None:
                    hits.add(("rule", rule.id))
                trace.append(f"{rule.section} {rule.id} ({rule.clause}) applies: {rule.when_text}"
                             + _seen(rule, values, scope, product.pii))
        if declined:
            return _refusal(product, claim_id, currency, "declined", declined, (), trace)
        trace.append(f"eligibility, events, exclusions and conditions: none of {len(product.declining)} rules applies")

        missing: list[str] = []
        for document in product.documents:
            step = f"document requirement {document.id}"
            if document.applies is not None and not document.applies(values, scope):
                continue
            if not document.provided(values, scope) and document.document not in missing:
                missing.append(document.document)
                if hits is not None:
                    hits.add(("document", document.id))
                trace.append(f"document {document.document} ({document.clause}) is missing")
        if missing:
            return _refusal(product, claim_id, currency, "pending", (), tuple(missing), trace)

        referred = []
        for rule in product.referrals:
            step = f"rule {rule.id}"
            if rule.test(values, scope):
                referred.append(rule)
                if hits is not None:
                    hits.add(("rule", rule.id))
                trace.append(f"referral {rule.id} ({rule.clause}) applies: {rule.when_text}"
                             + _seen(rule, values, scope, product.pii))
        if referred:
            return _refusal(product, claim_id, currency, "referred", referred, (), trace)

        step = "the settlement"
        return _settle(product, claim_id, currency, values, scope, trace)
    except CurrencyMismatch as error:
        raise _currency_error(error, step, claim_id) from None
    except ClaimError:
        raise
    except (ArithmeticError, DecimalException) as error:
        raise ClaimError(E.EVALUATION_ERROR, f"{step}: {_arithmetic(error)}", None, claim_id) from None
    except (TypeError, LookupError, ValueError, OverflowError) as error:
        raise ClaimError(E.EVALUATION_ERROR, f"{step}: {error}", None, claim_id) from None


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
        trace.append(f"adjustment {rule.id} ({rule.clause}) applies: {rule.when_text}"
                     + _seen(rule, values, scope, product.pii))
    code = currency or payout.currency or excess.currency or sorted(product.currencies)[0]
    for amount, what in ((payout, "payout"), (excess, "excess")):
        if amount.currency not in (None, code):
            raise CurrencyMismatch(Money(Decimal(0), code, "claim"), amount)
    payout_rounded = payout.rounded(code)
    excess_rounded = excess.rounded(code)
    if payout_rounded.amount < 0:
        raise ClaimError(E.EVALUATION_ERROR, f"the payout formula gives a negative amount ({payout_rounded}); "
                         "the product must not pay less than nothing", None, claim_id)
    trace.append(f"settlement {kind}: payout {payout} rounded half-up to {payout_rounded}, excess {excess_rounded}")
    return Decision(claim_id=claim_id, product=product.id, product_version=product.version, outcome="approved",
                    settlement=kind, payout=payout_rounded, excess=excess_rounded,
                    depreciation=Decimal(depreciation), reasons=tuple(r.reason() for r in adjustments),
                    missing_documents=(), trace=tuple(trace))


def _refusal(product, claim_id, currency, outcome, rules, missing, trace) -> Decision:
    code = currency or sorted(product.currencies)[0]
    zero = Money(Decimal(0), code).rounded()
    trace.append(f"outcome {outcome}: nothing is paid")
    return Decision(claim_id=claim_id, product=product.id, product_version=product.version, outcome=outcome,
                    settlement=None, payout=zero, excess=zero, depreciation=None,
                    reasons=tuple(r.reason() for r in rules), missing_documents=tuple(missing), trace=tuple(trace))


def _currency_error(error: CurrencyMismatch, step: str, claim_id) -> ClaimError:
    left, right = error.left, error.right
    claim_side, product_side = (left, right) if left.source else (right, left)
    path = claim_side.source if claim_side.source and claim_side.source != "claim" else None
    what = f"{path} is in {claim_side.currency}" if path else f"the claim is in {claim_side.currency}"
    return ClaimError(E.CLAIM_CURRENCY_MISMATCH,
                      f"{what}, but {step} uses an amount in {product_side.currency} ({product_side}); "
                      "no exchange rate is applied", path and f"{path}.currency", claim_id)


def _arithmetic(error: Exception) -> str:
    name = type(error).__name__
    if isinstance(error, ZeroDivisionError) or "DivisionByZero" in name or "DivisionUndefined" in name:
        return "division by zero"
    return f"invalid arithmetic ({name})"
