"""Static types of the expression language.

`integer` is a `number`; money carries its currency when it is known at load
(a literal `50.00 EUR`, a table row) and `None` when it is the claim's own
currency, only known per claim.  A code is text drawn from a known set
(countries, events, the values a field allows): comparing a field with a code
it can never hold is a load-time error.
"""
from __future__ import annotations

from dataclasses import dataclass


class Type:
    name = "?"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Simple(Type):
    name: str

    def __str__(self) -> str:
        return self.name


BOOL = Simple("bool")
INTEGER = Simple("integer")
NUMBER = Simple("number")
DATE = Simple("date")
DATETIME = Simple("date-time")                 # an instant: ISO 8601 with a UTC offset
DURATION = Simple("duration")                  # calendar: days, weeks, months, years
TIMESPAN = Simple("time span")                 # exact: hours, minutes; one date-time minus another
OBJECT = Simple("object")
ERROR = Simple("<error>")          # already reported; silences follow-on errors


@dataclass(frozen=True)
class Money(Type):
    currency: str | None = None    # None: the claim's currency

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"money ({self.currency})" if self.currency else "money"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Text(Type):
    kind: str = "text"                      # text, code, country, event
    values: frozenset[str] | None = None    # None: any text
    groups: frozenset[str] = frozenset()    # event groups (not valid values)

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.kind

    def __str__(self) -> str:
        return self.kind


@dataclass(frozen=True)
class ListOf(Type):
    item: Type

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"list of {self.item}"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Record(Type):
    """An element of a list of records: its item fields, by name, each (type, may be absent)."""
    path: str                                    # the list's field path, for messages
    fields: tuple[tuple[str, Type, bool], ...]

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"element of {self.path}"

    def __str__(self) -> str:
        return self.name

    def field(self, name: str) -> tuple[Type, bool] | None:
        for field_name, type_, may_be_absent in self.fields:
            if field_name == name:
                return type_, may_be_absent
        return None

    def names(self) -> list[str]:
        return [name for name, _, _ in self.fields]


@dataclass(frozen=True)
class Table(Type):
    key: Type
    value: Type

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"table of {self.value} by {self.key}"

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Bands(Type):
    value: Type
    key: Type = NUMBER               # what is looked up: a number (integer or decimal) or an amount

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"band schedule of {self.value}"

    def __str__(self) -> str:
        return self.name


def is_numeric(t: Type) -> bool:
    return t in (INTEGER, NUMBER)


def unify(a: Type, b: Type) -> Type | None:
    """The type both `a` and `b` fit in, or None.  Money currencies must agree."""
    if a == ERROR or b == ERROR:
        return ERROR
    if a == b:
        return a
    if is_numeric(a) and is_numeric(b):
        return NUMBER
    if isinstance(a, Money) and isinstance(b, Money):
        if a.currency is None or b.currency is None:
            return Money(a.currency or b.currency)
        return None
    if isinstance(a, Text) and isinstance(b, Text):
        if a.values is None or b.values is None:
            return Text("text")
        return Text("code", a.values | b.values)
    if isinstance(a, ListOf) and isinstance(b, ListOf):
        item = unify(a.item, b.item)
        return ListOf(item) if item is not None else None
    return None
