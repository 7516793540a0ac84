"""The operations generated code calls, and the constant folder too.

One set of functions, so that a sub-expression folded at load and the same sub-expression
computed for a claim can never disagree. Everything here is a pure function of its arguments,
except `lookup` and `select`, which append what they used to the trace list they are given: the
language keeps no trace of its own.

An operation that cannot be done for a claim's values raises `EvaluationError` (with the
position of the sub-expression, when it has one), and only that.
"""
from __future__ import annotations

import math
import operator
from datetime import datetime
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any

from .errors import EvaluationError
from .iso import MINOR_UNITS
from .values import CurrencyMismatch, Money, days_between, elapsed, months_between


# The decimal context every computation runs in, whatever the caller's: Python's default
# (28 significant digits, half-even for inexact results) with its traps, so that a service
# that sets `getcontext().prec = 6` gets the same decisions as everyone else. Money is rounded
# half-up explicitly, once, at the end; this context only governs the arithmetic before.
CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN, Emin=-999999, Emax=999999, capitals=1, clamp=0,
                  flags=[], traps=[InvalidOperation, DivisionByZero, Overflow])


class Used(tuple):
    """What one lookup used: (table, key, row or band, value, whether the key is personal data).
    The row is the key of the row, or None for the default row; for a band schedule, its Band."""
    __slots__ = ()


class Selected(tuple):
    """What one query chose: (what it went over: a field path or a name, where the query is written:
    (file, line, column) or None, the indexes of the elements that counted, how many there were)."""
    __slots__ = ()


class Selection(list):
    """The elements (or values) a query chose, how many elements it went over, and where they
    come from (the field path and their indexes in it, through queries of queries)."""
    __slots__ = ("total", "origin", "indexes")


def select(query, where, items, trace: list, keep=None, project=None) -> Selection:
    """The elements of `items` that `keep` accepts (all, without it), or `project` of each; what
    it chose goes to the trace. `query`: (what it goes over, None); `where`: its position."""
    selection = Selection()
    found = []
    for index, item in enumerate(items):
        if keep is None or keep(item):
            found.append(index)
            selection.append(item if project is None else project(item))
    return chosen(selection, found, items, query, where, trace, project is not None)


def chosen(selection: Selection, found: list, items, query, where, trace: list, projected: bool) -> Selection:
    """A query's `selection` made from `items` (the indexes `found` of the elements that counted),
    with what it went over, noted in the trace (`select`, and the query functions a product's
    module has, with their conditions inline)."""
    what = query[0]
    if type(items) is Selection and items.origin is not None:     # a query over a chosen list
        what = items.origin
        found = map(items.indexes.__getitem__, found)
    selection.total = total = len(items)
    selection.origin = None if projected else what
    selection.indexes = indexes = tuple(found)
    trace.append(Selected((what, where, indexes, total)))
    return selection


def exists(selection: Selection) -> bool:
    """`any(x in list where c)`: some element meets c."""
    return len(selection) > 0


def every(selection: Selection) -> bool:
    """`all(x in list where c)`: every element meets c (true of an empty list)."""
    return len(selection) == selection.total


def total(values, zero):
    """`sum(...)`: the values added up, `zero` (of their kind) for none."""
    result = zero
    for value in values:
        result = result + value
    return result


def _extreme_of(pick, name: str):
    def extreme(values, where=None):
        if not values:
            raise EvaluationError(f"{name}() of no values: the list is empty", "empty", where)
        return pick(values)
    extreme.__name__ = f"{name}_of"
    return extreme


def between(value, low, high) -> bool:
    return low <= value <= high


def years_between(start, end) -> int:
    """Completed years (an age): the largest n with start + 12 n months <= end."""
    return months_between(start, end) // 12


def weeks_between(start, end) -> int:
    return days_between(start, end) // 7


def _units_between(seconds: int):
    def between_(start: datetime, end: datetime) -> int:
        span = elapsed(start, end).seconds            # an int, or a Decimal with fractions of a second
        return span // seconds if isinstance(span, int) else math.floor(span / seconds)
    return between_


def date_of(moment: datetime):
    """A date-time's calendar date, in its own offset."""
    return moment.date()


def lookup(table, key, trace: list, where=None, personal: bool = False):
    """The row (or band) of `table` for `key`; which one goes to the trace. A key computed from
    personal data is never in a message."""
    try:
        value, row = table.find(key)
    except EvaluationError as error:
        message = table.missing(None) if personal else error.message
        raise EvaluationError(message, error.kind, where) from None
    trace.append(Used((table, key, row, value, personal)))
    return value


def mismatch(currency: str, amount: Money, where=None):
    """An amount the product fixes in one currency meets the claim's money, in another."""
    raise CurrencyMismatch(Money(Decimal(0), currency, "claim"), amount)


def amount_in(value: Money, currency: str, where=None) -> Decimal:
    """A table row's amount, in the claim's currency (a row in another is the claim's mismatch)."""
    if value.currency == currency or value.currency is None:
        return value.amount
    raise CurrencyMismatch(Money(Decimal(0), currency, "claim"), value)


def round_amount(value, currency: str) -> Decimal:
    """An amount, half-up to its currency's minor unit."""
    if type(value) is not Decimal:
        value = Decimal(value)
    return value.quantize(_QUANTA.get(currency, _CENT), rounding=ROUND_HALF_UP)


# each currency's minor unit as the quantum rounding takes (0.01 for 2 places), made once
_QUANTA = {currency: Decimal(1).scaleb(-places) for currency, places in MINOR_UNITS.items()}
_CENT = Decimal(1).scaleb(-2)


def given(value, path: str, where=None):
    """An optional field's value where it is needed: absent, it is this claim's evaluation error."""
    if value is None:
        raise EvaluationError(f"{path} is not given (test it first with has({path}), or give it a default)",
                              "absent", where)
    return value


def divide(left, right, where=None):
    """`left / right` in decimals (never float), a zero divisor being the claim's error."""
    divisor = right.amount if type(right) is Money else right
    if divisor == 0:
        raise EvaluationError("division by zero", "division-by-zero", where)
    if type(left) is int:
        left = Decimal(left)
    return left / right


def _extreme(pick):
    def extreme(*values):
        result = pick(values)
        if type(result) is Money and result.currency is None:    # a bare 0 won: give it the currency
            for value in values:
                if type(value) is Money and value.currency is not None:
                    return Money(result.amount, value.currency, value.source)
        return result
    extreme.__name__ = pick.__name__
    return extreme


def round_half_up(value, places=None):
    """Half-up: an amount to its currency's minor unit, a number to `places` decimals."""
    if isinstance(value, Money):
        return value.rounded()
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


# The allowed functions, by the name the typed AST calls them with (the checker writes an
# aggregate's name as min_of/max_of, and `any`/`all` over a query as exists/every).
FUNCTIONS = {
    "abs": abs,
    "all": all,
    "any": any,
    "ceil": math.ceil,
    "count": len,
    "date_of": date_of,
    "days_between": days_between,
    "elapsed": elapsed,
    "every": every,
    "exists": exists,
    "floor": math.floor,
    "hours_between": _units_between(3600),
    "len": len,
    "max": _extreme(max),
    "max_of": _extreme_of(max, "max"),
    "min": _extreme(min),
    "min_of": _extreme_of(min, "min"),
    "minutes_between": _units_between(60),
    "months_between": months_between,
    "round": round_half_up,
    "sum": total,
    "weeks_between": weeks_between,
    "years_between": years_between,
}

# Operators compiled to Python's own (on Decimal, int, date, Money and Duration values, whose
# methods define them); the folder applies the same ones.
OPERATORS = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul,
    "eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le, "gt": operator.gt,
    "ge": operator.ge,
    "in": lambda item, items: item in items, "not_in": lambda item, items: item not in items,
    "neg": operator.neg, "not": operator.not_,
}


# What the source of an expression (`dsl.emit`) may name, and nothing else: no builtins but these.
NAMESPACE: dict[str, Any] = {
    "__builtins__": {"enumerate": enumerate, "min": min, "max": max, "bool": bool, "len": len, "tuple": tuple},
    "_M": Money, "_mismatch": mismatch, "_amount": amount_in, "_round_amount": round_amount,
    "_lookup": lookup, "_select": select, "_chosen": chosen, "_Selection": Selection, "_given": given, "_div": divide,
    **{f"_{name}": function for name, function in FUNCTIONS.items()},
}
