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
from ..dsl.values import CurrencyMismatch, Money

from . import errors as E
from . import trace as tr
from .decision import Decision
from .errors import ClaimError
from .model import DocumentRule, Product, Rule, Step
from .trace import PERSONAL, Where as _Where


class Definitions(dict):
    """The `D` of compiled expressions (`dsl.runtime.Environment`): definitions computed on first
    use, once per claim; and `note`, where table and band lookups say what they used, which
    goes into the trace (and the coverage, when asked for)."""

    __slots__ = ("values", "functions", "trace", "hits", "private", "at", "cur")

    def __init__(self, values: dict, functions: dict, trace: list, hits: set | None = None,
                 private: frozenset = frozenset(), cur: str | None = None):
        super().__init__()
        self.values = values
        self.functions = functions
        self.trace = trace
        self.hits = hits            # coverage: what this claim exercised, when asked for
        self.private = private      # definitions computed from personal data: masked in the trace
        self.at: object = "the claim"   # what is being computed (a rule, a document, a settlement part)
        self.cur = cur              # the claim's currency, for the trace

    def __missing__(self, name: str):
        value = self.functions[name](self.values, self)
        self[name] = value
        self.trace.append((tr.definition_step, name, PERSONAL if name in self.private else value, self.cur))
        return value

    def value(self, name: str):
        """For the trace: the definition's value, if this claim computed it."""
        return self.get(name, tr.ABSENT)

    def note(self, used) -> None:
        self.trace.append(used)


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
    cur = currency or min(product.currencies)
    scope = Definitions(values, product.definitions, trace, hits, product.private_definitions, cur)
    pii = product.pii
    if hits is not None and "claim.event" in values:
        hits.add(("event", values["claim.event"]))
    benefits = product.benefits
    try:
        declined = _holding(product.declining, values, scope, trace, pii)
        sections = () if benefits is None else \
            tuple(section for section in benefits.sections if section.id in (values[benefits.claimed] or ()))
        refusals = {section.id: _holding(section.refusals, values, scope, trace, pii, section.id)
                    for section in sections}
        refused = {name for name, rules in refusals.items() if rules}
        if benefits is not None and sections:
            decline_all = (len(refused) == len(sections)) if benefits.declined_when == "every-section-refused" \
                else bool(refused)
        else:
            decline_all = False
        if declined or decline_all:
            reasons = _ranked(declined + [rule for rules in refusals.values() for rule in rules])
            _hit(scope, reasons)
            return _refusal(product, claim_id, currency, "declined", reasons, (), trace,
                            _lines(sections, refusals, currency, product, declined=True))
        trace.append((tr.none_applies, len(product.declining)))
        open_sections = [section for section in sections if section.id not in refused]

        missing: list[str] = []
        documents = [*product.documents, *(document for section in open_sections for document in section.documents)]
        for document in sorted(documents, key=lambda d: d.rank):
            scope.at = document
            if document.applies is not None and not document.applies(values, scope):
                continue
            if not document.provided(values, scope) and document.document not in missing:
                missing.append(document.document)
                trace.append((tr.missing_step, document))
                if hits is not None:
                    hits.add(("document", document.id))
        if missing:
            return _refusal(product, claim_id, currency, "pending", (), tuple(missing), trace,
                            _lines(sections, refusals, currency, product))

        referrals = [*product.referrals, *(rule for section in open_sections for rule in section.referrals)]
        referred = _holding(sorted(referrals, key=lambda r: r.rank), values, scope, trace, pii, kind="referral")
        if referred:
            _hit(scope, referred)
            return _refusal(product, claim_id, currency, "referred", _ranked(referred), (), trace,
                            _lines(sections, refusals, currency, product))

        if benefits is not None:
            return _settle_sections(product, claim_id, currency, values, scope, trace, sections, refusals)
        return _settle(product, claim_id, currency, values, scope, trace)
    except CurrencyMismatch as error:
        raise _currency_error(error, _step(scope.at, with_position=False), claim_id, values) from None
    except EvaluationError as error:
        raise ClaimError(E.EVALUATION_ERROR, f"{_step(scope.at, error.where)}: {error.message}", None,
                         claim_id) from None
    except DecimalException as error:       # beyond 28 significant digits, say: this claim's numbers
        raise ClaimError(E.EVALUATION_ERROR, f"{_step(scope.at)}: the amounts cannot be computed exactly "
                         f"({type(error).__name__})", None, claim_id) from None


def _holding(rules, values, scope, trace, pii, section: str | None = None, kind: str | None = None) -> list[Rule]:
    """The rules whose condition holds, each noted in the trace with the values it read."""
    found = []
    for rule in rules:
        scope.at = rule
        if rule.test(values, scope):
            found.append(rule)
            what = kind or (f"section {section}: refusal" if section else rule.section)
            trace.append((tr.rule_step, what, rule, values, scope, pii, scope.cur))
    return found


def _ranked(rules) -> tuple[Rule, ...]:
    """Reasons in the order the product lists them, each once (a code several sections raise, once)."""
    unique: dict[str, Rule] = {}
    for rule in sorted(rules, key=lambda r: r.rank):
        unique.setdefault(rule.id, rule)
    return tuple(unique.values())


def _hit(scope, rules) -> None:
    if scope.hits is not None:
        scope.hits.update(("rule", rule.id) for rule in rules)


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
    elif isinstance(step, Step):
        text, position = f"the settlement step `{step.kind}: {step.text}`", step.position
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
    payout, excess, reasons = _amounts(settlement, values, scope, trace)
    depreciation = Decimal(0)
    if settlement.depreciation is not None:
        scope.at = _Part(settlement, "depreciation")
        depreciation = Decimal(settlement.depreciation(values, scope))
    adjustments = _holding(settlement.adjustments, values, scope, trace, product.pii, kind="adjustment")
    reasons = _ranked([*reasons, *adjustments])
    _hit(scope, reasons)
    if scope.hits is not None:
        scope.hits.add(("settlement", kind))
    code = _code(currency, product, payout, excess)
    payout_rounded, excess_rounded = _rounded(payout, code, settlement, claim_id), excess.rounded(code)
    trace.append((tr.settlement_step, kind, payout, payout_rounded, excess_rounded, scope.cur))
    return Decision(claim_id, product.id, product.version, "approved", kind, payout_rounded, excess_rounded,
                    depreciation, tuple(rule.reason() for rule in reasons), (), trace)


def _settle_sections(product, claim_id, currency, values, scope, trace, sections, refusals) -> Decision:
    """Each section claimed pays its own amount (nothing when refused); the claim pays their sum."""
    settlement = product.settlement
    scope.at = _Part(settlement, "kind")
    kind = settlement.kind(values, scope)
    code = currency or min(product.currencies)
    lines, reasons = [], []
    payout_total = excess_total = product.zeros.get(code) or Money(Decimal(0), code)
    for section in sections:
        refused = refusals[section.id]
        if refused:
            reasons += refused
            lines.append(_line(section, "declined", _zero(product, code), _zero(product, code), refused))
            continue
        payout, excess, applied = _amounts(section.settlement, values, scope, trace, section.id)
        code = _code(currency, product, payout, excess)
        payout_rounded = _rounded(payout, code, section.settlement, claim_id)
        excess_rounded = excess.rounded(code)
        trace.append((tr.section_step, section.id, payout, payout_rounded, excess_rounded, scope.cur))
        applied = _ranked(applied)
        reasons += applied
        lines.append(_line(section, "approved", payout_rounded, excess_rounded, applied))
        payout_total, excess_total = payout_total + payout_rounded, excess_total + excess_rounded
    adjustments = _holding(settlement.adjustments, values, scope, trace, product.pii, kind="adjustment")
    reasons = _ranked([*reasons, *adjustments])
    _hit(scope, reasons)
    if scope.hits is not None:
        scope.hits.add(("settlement", kind))
    trace.append((tr.settlement_step, kind, payout_total, payout_total, excess_total, scope.cur))
    return Decision(claim_id, product.id, product.version, "approved", kind, payout_total, excess_total, None,
                    tuple(rule.reason() for rule in reasons), (), trace, tuple(lines))


def _amounts(settlement, values, scope, trace, section: str | None = None):
    """(payout, excess, the reasons its steps gave) of a settlement: its formula, or its steps."""
    if not settlement.steps:
        scope.at = _Part(settlement, "excess")
        excess = settlement.excess(values, scope)
        scope.at = _Part(settlement, "payout")
        return settlement.payout(values, scope), excess, []
    reasons: list[Rule] = []
    excess = [Money(Decimal(0), None)]
    where = _Where(section, settlement.personal)
    payout = _run(settlement.steps, values, scope, trace, (), reasons, excess, where)
    return payout, excess[0], reasons


def _run(steps, values, scope, trace, outer: tuple, reasons: list, excess: list, where: "_Where") -> Money:
    """Steps in order on the amount so far: the amount they leave."""
    amount = Money(Decimal(0), None)
    for step in steps:
        scope.at = step
        if step.when is not None and not step.when(values, scope, *outer, amount):
            continue
        kind = step.kind
        if kind == "each":
            amount = _each(step, values, scope, trace, outer, reasons, excess, where)
            continue
        value = step.value(values, scope, *outer, amount)
        if kind == "amount":
            amount = value
            trace.append((tr.amount_step, where, step, value, scope.cur))
        elif kind == "limit":
            lowered = amount > value
            trace.append((tr.limit_step, where, step, amount, value, lowered, scope.cur))
            if lowered:
                amount = value
                if step.reason is not None:
                    reasons.append(step.reason)
        elif kind == "excess":
            applied = min(max(value, 0 * value), amount) if amount.amount > 0 else Money(Decimal(0), amount.currency)
            trace.append((tr.excess_step, where, step, value, applied, amount - applied, scope.cur))
            excess[0] = excess[0] + applied
            amount = amount - applied
        else:                                                   # adjust
            trace.append((tr.adjust_step, where, step, amount, value, scope.cur))
            amount = value
            if step.reason is not None:
                reasons.append(step.reason)
    return amount


def _each(step, values, scope, trace, outer, reasons, excess, where) -> Money:
    """An amount for every element (its own steps), the groups' limits on their totals; the sum."""
    groups = step.groups
    totals = [Money(Decimal(0), None) for _ in groups]
    rest = Money(Decimal(0), None)
    for index, element in enumerate(step.items(values, scope, *outer)):
        amount = _run(step.steps, values, scope, trace, (*outer, element), reasons, excess, where)
        trace.append((tr.element_step, where, step, index, amount, scope.cur))
        for number, group in enumerate(groups):
            scope.at = step
            if group.of(values, scope, *outer, element):
                totals[number] = totals[number] + amount
                break
        else:
            rest = rest + amount
    for number, group in enumerate(groups):
        cap = group.at_most(values, scope, *outer, totals[number])
        lowered = totals[number] > cap
        trace.append((tr.group_step, where, group, totals[number], cap, lowered, scope.cur))
        if lowered:
            totals[number] = cap
            if group.reason is not None:
                reasons.append(group.reason)
        rest = rest + totals[number]
    return rest


def _code(currency, product, *amounts) -> str:
    """The claim's currency; amounts in another one (a product table's) are the claim's mismatch."""
    code = currency or next((a.currency for a in amounts if a.currency), None) or min(product.currencies)
    for amount in amounts:
        if amount.currency not in (None, code):
            raise CurrencyMismatch(Money(Decimal(0), code, "claim"), amount)
    return code


def _rounded(payout: Money, code: str, settlement, claim_id) -> Money:
    rounded = payout.rounded(code)
    if rounded.amount < 0:
        raise ClaimError(E.EVALUATION_ERROR, f"{_step(_Part(settlement, 'payout'))}: the payout formula gives a "
                         f"negative amount ({rounded}); the product must not pay less than nothing", None, claim_id)
    return rounded


def _zero(product, code: str) -> Money:
    return product.zeros.get(code) or Money(Decimal(0), code).rounded()


def _line(section, outcome: str, payout: Money, excess: Money, reasons) -> dict:
    return {"benefit": section.id, "outcome": outcome, "payout": payout.to_dict(), "excess": excess.to_dict(),
            "reasons": [rule.reason() for rule in reasons]}


def _lines(sections, refusals, currency, product, declined: bool = False) -> tuple[dict, ...] | None:
    """The benefit lines of a claim that pays nothing: each section declined (when refused, or when
    the whole claim is) or approved, but paying 0.00 until the claim is."""
    if product.benefits is None:
        return None
    zero = _zero(product, currency or min(product.currencies))
    return tuple(_line(section, "declined" if declined or refusals[section.id] else "approved", zero, zero,
                       refusals[section.id]) for section in sections)


def _refusal(product, claim_id, currency, outcome, rules, missing, trace, lines=None) -> Decision:
    zero = _zero(product, currency or min(product.currencies))
    trace.append((tr.outcome_step, outcome))
    return Decision(claim_id, product.id, product.version, outcome, None, zero, zero, None,
                    tuple(rule.reason() for rule in rules), missing, trace, lines)


def _currency_error(error: CurrencyMismatch, step: str, claim_id, values: dict) -> ClaimError:
    """The claim's money (all of it in one currency) meets a product amount in another: named by
    the claim's first amount, as the claim lists its fields."""
    left, right = error.left, error.right
    claim_side, product_side = (left, right) if left.source else (right, left)
    path = next((path for path, value in values.items() if isinstance(value, Money)), None)
    what = f"{path} is in {claim_side.currency}" if path else f"the claim is in {claim_side.currency}"
    return ClaimError(E.CLAIM_CURRENCY_MISMATCH,
                      f"{what}, but {step} uses an amount in {product_side.currency} ({product_side}); "
                      "no exchange rate is applied", path and f"{path}.currency", claim_id)



