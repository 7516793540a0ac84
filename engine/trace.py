"""The trace: how a decision was reached, step by step, for a person.

While a claim is decided, each step is recorded as a tuple: a formatter and its arguments, or a
`dsl.runtime.Used` / `Selected` record that a lookup or a query made. Nothing is written out
until someone reads `Decision.trace`: a service that needs the outcome and the payout does not
pay for the explanation. Amounts are shown in the claim's currency (`cur`, recorded with them),
and personal data never: a personal field, or a value computed from one, shows as
`<personal data>`.
"""
from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from ..dsl.runtime import Selected, Selection, Used
from ..dsl.values import BandSchedule, Money

PERSONAL = "<personal data>"


def render(step) -> str:
    """One recorded step, as text."""
    kind = type(step)
    if kind is tuple:
        write = step[0]
        if write is definition_step:                # the most frequent step: no arguments tuple made
            return definition_step(*step[1:]) if len(step) != 5 else _definition(step[1], step[2], step[3], step[4])
        return write(*step[1:])
    if kind is Used:
        return _used(*step)
    if kind is Selected:
        return selected_step(step)
    return step[0](*step[1:])


def amount_text(value, cur: str | None) -> str:
    """An amount in the claim's currency: a `Money`, or the plain `Decimal` of a generated function."""
    if type(value) is Decimal:
        return f"{value} {cur}" if cur else str(value)
    if isinstance(value, Money):
        currency = value.currency or cur
        return f"{value.amount} {currency}" if currency else f"{value.amount}"
    return f"{value} {cur}" if cur else str(value)


def show(value, cur: str | None = None) -> str:
    kind = type(value)
    if kind is int or kind is Decimal:              # the most frequent values first, by their exact type
        return str(value)
    if kind is str:
        return value
    if kind is bool:
        return "true" if value else "false"
    if kind is frozenset:
        return _set_text(value)
    if kind is dict:
        return object_text(value, "", frozenset(), cur)
    return _show(value, cur)


def object_text(value: dict, path: str, pii: frozenset, cur: str | None = None) -> str:
    """A claim's object (`claim.replacement`) as the rest of the trace shows values, never as
    Python writes a dict: `{brand: Audi, msrp: 405000.00 CNY, registered: true, note: null}`; money
    as an amount and its currency (whether the claim wrote it as a string or a number), and a
    personal field inside it (`path.key` in `pii`) as `<personal data>`."""
    parts = []
    for key, item in value.items():
        at = f"{path}.{key}" if path else str(key)
        if at in pii:
            text = PERSONAL
        elif type(item) is dict:
            amount, currency = item.get("amount"), item.get("currency")
            if len(item) == 2 and amount is not None and type(currency) is str and type(amount) is not dict:
                text = f"{amount} {currency}"
            else:
                text = object_text(item, at, pii, cur)
        elif item is None:
            text = "null"
        else:
            text = show(item, cur)
        parts.append(f"{key}: {text}")
    return "{" + ", ".join(parts) + "}"


@lru_cache(maxsize=1024)
def _set_text(value: frozenset) -> str:
    """A set of codes (most are the product's own constants, shown in every claim's trace), written once."""
    if len(value) > 8:
        return f"[{len(value)} values]"
    return "[" + ", ".join(sorted(str(v) for v in value)) + "]"


def _show(value, cur: str | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Money):
        return amount_text(value, cur)
    if type(value) is Selection and value.origin is not None:
        return f"{len(value)} of {value.total} elements of {value.origin}" + \
            (": " + ", ".join(str(i) for i in value.indexes[:20]) if value.indexes else "")
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], dict):
        return f"{len(value)} elements"
    if isinstance(value, (frozenset, tuple, list)):
        if len(value) > 8:
            return f"[{len(value)} values]"
        return "[" + ", ".join(sorted(str(v) for v in value)) + "]"
    return str(value)


def _cite(clause: str | None) -> str:
    return f" ({clause})" if clause else ""


# -- the steps --------------------------------------------------------------------------------
def definition_step(name, value, cur=None, money=False) -> str:
    """`name = value`; `money`: the value is the plain amount of a generated function."""
    if money and value is not PERSONAL:
        return f"{name} = {amount_text(value, cur)}"
    return f"{name} = {show(value, cur)}"


def _definition(name, value, cur, money) -> str:
    """`definition_step`, its commonest cases inline (what `render` calls)."""
    if money:
        if value is not PERSONAL:
            return f"{name} = {amount_text(value, cur)}"
        return f"{name} = {PERSONAL}"
    kind = type(value)
    if kind is int or kind is Decimal:
        return f"{name} = {value}"
    if kind is str:
        return f"{name} = {value}"
    return f"{name} = {show(value, cur)}"


def rule_step(what: str, rule, values: dict, definitions, pii: frozenset, cur=None) -> str:
    """A rule that applies, with the values its condition read (personal ones masked).

    `definitions` answers `value(name)` (the definition's value for this claim, or `ABSENT` when
    it was not computed) and `private` (the definitions computed from personal data)."""
    shown = []
    for name in rule.reads:
        if name in values:
            value = values[name]
            if name in pii:
                shown.append(f"{name} = {PERSONAL}")
            elif type(value) is dict:
                shown.append(f"{name} = {object_text(value, name, pii, cur)}")
            else:
                shown.append(f"{name} = {show(value, cur)}")
            continue
        value = definitions.value(name)
        if value is not ABSENT and not isinstance(value, (frozenset, tuple)):
            shown.append(f"{name} = {PERSONAL if name in definitions.private else show(value, cur)}")
    seen = f" (with {', '.join(shown)})" if shown else ""
    return f"{what} {rule.id} ({rule.clause}) applies: {rule.when_text}{seen}"


ABSENT = object()


def _used(table, key, row, value, personal) -> str:
    if personal:
        key = PERSONAL
    if isinstance(table, BandSchedule):
        return f"{table.name}[{key}]: band {row.label} {table.unit}: {value}{_cite(table.clause)}"
    if row is None:
        return f"{table.name}[{key}]: no row for {key}, default {value}{_cite(table.clause)}"
    return f"{table.name}[{key}]: {value}{_cite(table.clause)}"


def selected_step(selected) -> str:
    what, where, indexes, total = selected
    at = f" (line {where[1]})" if where else ""
    if not indexes:
        return f"{what}{at}: none of its {total} elements counted"
    shown = ", ".join(str(i) for i in indexes[:20]) + (", ..." if len(indexes) > 20 else "")
    return f"{what}{at}: {len(indexes)} of {total} elements counted: {shown}"


def none_applies(count: int) -> str:
    return f"eligibility, events, exclusions and conditions: none of {count} rules applies"


def missing_step(document) -> str:
    return f"document {document.document} ({document.clause}) is missing"


def settlement_step(kind, payout, payout_rounded, excess_rounded, cur=None) -> str:
    return (f"settlement {kind}: payout {amount_text(payout, cur)} rounded half-up to "
            f"{amount_text(payout_rounded, cur)}, excess {amount_text(excess_rounded, cur)}")


def section_step(section, payout, payout_rounded, excess_rounded, cur=None) -> str:
    return (f"section {section}: pays {amount_text(payout, cur)} rounded half-up to "
            f"{amount_text(payout_rounded, cur)}, excess {amount_text(excess_rounded, cur)}")


def outcome_step(outcome: str) -> str:
    return f"outcome {outcome}: nothing is paid"


class Where:
    """Where settlement steps run, for their trace: the benefit section (or None), and whether
    their amounts are computed from personal data (then the steps show, the amounts do not)."""
    __slots__ = ("section", "personal")

    def __init__(self, section: str | None, personal: bool):
        self.section = section
        self.personal = personal


def _in(where) -> str:
    return f"section {where.section}: " if where.section else ""


def _amounts(where, cur, *amounts):
    return [PERSONAL] * len(amounts) if where.personal else [amount_text(a, cur) for a in amounts]


def amount_step(where, step, value, cur=None) -> str:
    value, = _amounts(where, cur, value)
    return f"{_in(where)}amount {step.text} = {value}"


def limit_step(where, step, before, cap, lowered: bool, cur=None) -> str:
    name = f"{step.reason.id} ({step.reason.clause})" if step.reason else "limit"
    before, cap = _amounts(where, cur, before, cap)
    if lowered:
        return f"{_in(where)}{name}: {before} is over {cap}: {cap}"
    return f"{_in(where)}{name}: {before} is within {cap}"


def excess_step(where, step, excess, applied, after, cur=None) -> str:
    excess, applied, after = _amounts(where, cur, excess, applied, after)
    return f"{_in(where)}excess {excess}: {applied} borne by the customer, {after} left"


def adjust_step(where, step, before, after, cur=None) -> str:
    name = f"{step.reason.id} ({step.reason.clause})" if step.reason else "adjusted"
    before, after = _amounts(where, cur, before, after)
    return f"{_in(where)}{name}: {before} becomes {after} ({step.text})"


def element_step(where, step, index, amount, cur=None) -> str:
    amount, = _amounts(where, cur, amount)
    return f"{_in(where)}{step.items_text}: element {index}: {amount}"


def group_step(where, group, total, cap, lowered: bool, cur=None) -> str:
    name = f"{group.reason.id} ({group.reason.clause})" if group.reason else "group limit"
    total, cap = _amounts(where, cur, total, cap)
    if lowered:
        return f"{_in(where)}{name}: the group's {total} is over {cap}: {cap}"
    return f"{_in(where)}{name}: the group's {total} is within {cap}"


def hits(decision, values: dict) -> set:
    """What a decided claim exercised, for test coverage: the rules behind its reasons (every
    declining or referring rule that held, every limit and adjustment that applied), the
    documents found missing, the table rows and bands used, its event and settlement kind."""
    found = {("rule", reason["code"]) for reason in decision.reasons}
    for line in decision.benefits or ():
        found.update(("rule", reason["code"]) for reason in line["reasons"])
    event = values.get("claim.event")
    if event is not None:
        found.add(("event", event))
    if decision.settlement is not None:
        found.add(("settlement", decision.settlement))
    for step in decision.steps:
        kind = type(step)
        if kind is Used:
            table, _, row, _, _ = step
            found.add(("band", table.name, row.low) if isinstance(table, BandSchedule) else ("table", table.name, row))
        elif kind is tuple and step[0] is missing_step:
            found.add(("document", step[1].id))
        elif kind is tuple and step[0] is rule_step:
            found.add(("rule", step[2].id))
    return found


__all__ = ["render", "show", "object_text", "amount_text", "hits", "PERSONAL", "ABSENT", "Where"]
