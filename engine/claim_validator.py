"""Claim validation, compiled from a product's field declarations.

A `ClaimValidator` is built once per product version: a tree of small
converters, one per declared field, so that checking a claim walks the claim
once and builds the flat dict of values (`V`, by dotted path) that compiled
expressions read.  No schema is interpreted per claim.

The first problem found is raised as a `ClaimError` (the contract's error
object: code, message, path).  Types are strict: an integer is a JSON integer
(never `true`), an amount is a JSON number or a plain decimal string, a date
is a real calendar date.
"""
from __future__ import annotations

import marshal
import math
import re
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable

from ..dsl.errors import suggest
from ..dsl.errors import EvaluationError
from ..dsl.iso import COUNTRIES, COUNTRY_ALIASES, MINOR_UNITS
from ..dsl.values import CurrencyMismatch, Money

from . import errors as E
from .errors import ClaimError
from .model import FieldSpec

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})\Z")
_NO_OFFSET = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?\Z")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z")
_CURRENCY = re.compile(r"[A-Z]{3}\Z")
_PLAIN_AMOUNT = re.compile(r"[0-9]+(\.[0-9]+)?\Z")
MAX_AMOUNT = Decimal(10) ** 15         # a trillion-and-more amount is not a claim, it is a mistake
MAX_TEXT = 10_000                      # characters in a text field
MAX_DECIMAL_DIGITS = 40

Converter = Callable[[Any, str], Any]


PERSONAL = "the value given"


def _show(value: Any) -> str:
    """A value for an error message: short, never a deep or huge repr. Personal data never gets
    here: a field's messages show its values through `shown(spec)`, which masks a personal field's."""
    if isinstance(value, str):
        text = repr(value[:60])
    elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return "a number of more than 60 digits"
    elif isinstance(value, (int, float, Decimal, bool)) or value is None:
        text = repr(value)
    else:
        return _kind(value)
    return text if len(text) <= 60 else text[:57] + "..."


def clip(name: Any, limit: int = 60) -> str:
    """A name from the input (a field, a product id) cut to a readable length for a message."""
    text = str(name) if isinstance(name, str) else _kind(name)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _masked(value: Any) -> str:
    return PERSONAL


def _no_hint(*args) -> str:
    return ""


def shown(spec: FieldSpec | None):
    """How a field's messages show its values: in clear, or, for personal data (`pii: true`),
    never: every value in a claim error's message comes through here."""
    return _masked if spec is not None and spec.pii else _show


def _hints(spec: FieldSpec | None):
    """"did you mean" suggestions, which repeat (part of) the value: none for personal data."""
    return _no_hint if spec is not None and spec.pii else suggest


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, Decimal, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def parse_date(raw: Any, path: str, show=_show) -> date:
    if type(raw) is str:
        if not _DATE.match(raw):
            raise ClaimError(E.CLAIM_INVALID_DATE, f"{path}: {show(raw)} is not a date (write YYYY-MM-DD)", path)
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise ClaimError(E.CLAIM_INVALID_DATE, f"{path}: {show(raw)} is not a calendar date", path) from None
    if type(raw) is date:
        return raw
    raise ClaimError(E.CLAIM_TYPE, f"{path} must be a date (YYYY-MM-DD text), not {_kind(raw)}", path)


def parse_datetime(raw: Any, path: str, show=_show) -> datetime:
    """An instant: ISO 8601 with a UTC offset (`2025-07-01T10:00:00Z`, `2025-07-01T12:00+02:00`).
    One without an offset is invalid input: no time zone is guessed."""
    if type(raw) is str:
        if _NO_OFFSET.match(raw):
            raise ClaimError(E.CLAIM_INVALID_DATE, f"{path}: {show(raw)} has no UTC offset; write it with one, "
                             "e.g. 2025-07-01T10:00:00Z or 2025-07-01T12:00+02:00 (no time zone is guessed)", path)
        if not _DATETIME.match(raw):
            raise ClaimError(E.CLAIM_INVALID_DATE, f"{path}: {show(raw)} is not a date-time (write "
                             "YYYY-MM-DDTHH:MM[:SS] with a UTC offset, e.g. 2025-07-01T10:00:00Z)", path)
        try:
            return datetime.fromisoformat(raw)
        except ValueError:
            raise ClaimError(E.CLAIM_INVALID_DATE, f"{path}: {show(raw)} is not a possible date and time",
                             path) from None
    if type(raw) is datetime and raw.utcoffset() is not None:
        return raw
    raise ClaimError(E.CLAIM_TYPE, f"{path} must be a date-time (text with a UTC offset), not {_kind(raw)}", path)


def parse_decimal(raw: Any, path: str, pattern=_DECIMAL, what: str = "a number", digits: bool = True,
                  show=_show) -> Decimal:
    """A number from a claim: a JSON number (int, Decimal, float) or a plain decimal string.

    `digits`: refuse more than MAX_DECIMAL_DIGITS significant digits (an amount checks its
    decimals against its currency instead).
    """
    if type(raw) is int:
        if abs(raw) >= MAX_AMOUNT:
            raise ClaimError(E.CLAIM_RANGE, f"{path}: {show(raw)} is out of range", path)
        value = Decimal(raw)
    elif type(raw) is Decimal:
        value = raw
    elif type(raw) is float:
        if not math.isfinite(raw):
            raise ClaimError(E.CLAIM_TYPE, f"{path} must be {what}, not {show(raw)}", path)
        value = Decimal(repr(raw))
    elif type(raw) is str:
        if not pattern.match(raw):
            raise ClaimError(E.CLAIM_TYPE, f"{path}: {show(raw)} is not {what} (write it like \"12.50\")", path)
        whole = raw.lstrip("-").split(".")[0].lstrip("0")
        if len(whole) > 15:
            raise ClaimError(E.CLAIM_RANGE, f"{path}: {show(raw)} is out of range", path)
        if digits and len(raw) > MAX_DECIMAL_DIGITS:
            raise ClaimError(E.CLAIM_TYPE, f"{path}: {show(raw)} is not {what}: more than {MAX_DECIMAL_DIGITS} "
                             "digits", path)
        value = Decimal(raw)
    else:
        raise ClaimError(E.CLAIM_TYPE, f"{path} must be {what}, not {_kind(raw)}", path)
    if not value.is_finite():
        raise ClaimError(E.CLAIM_TYPE, f"{path} must be {what}, not {show(raw)}", path)
    if value.copy_abs() >= MAX_AMOUNT or (digits and len(value.as_tuple().digits) > MAX_DECIMAL_DIGITS):
        raise ClaimError(E.CLAIM_RANGE, f"{path}: {show(raw)} is out of range", path)
    return value


class _Converters:
    """One converter per field type: (raw value, path) -> value, or ClaimError."""

    def __init__(self, currencies: frozenset[str]):
        self.currencies = currencies

    def make(self, spec: FieldSpec) -> Converter:
        """The field's converter; its messages show values only through `shown(spec)`."""
        return getattr(self, "_" + spec.type)(spec)

    def _text(self, spec):
        show = shown(spec)
        pattern = spec.pattern

        def convert(raw, path):
            if type(raw) is not str:
                raise ClaimError(E.CLAIM_TYPE, f"{path} must be text, not {_kind(raw)}", path)
            if len(raw) > MAX_TEXT:
                raise ClaimError(E.CLAIM_RANGE, f"{path} is longer than {MAX_TEXT} characters", path)
            if pattern is not None and not pattern.fullmatch(raw):
                raise ClaimError(E.CLAIM_PATTERN, f"{path}: {show(raw)} is not a valid {spec.description or path}"
                                 f" (expected {pattern.pattern})", path)
            return raw
        return convert

    def _code(self, spec):
        show, hint = shown(spec), _hints(spec)
        values = spec.values

        def convert(raw, path):
            if type(raw) is not str:
                raise ClaimError(E.CLAIM_TYPE, f"{path} must be one of {_list(values)}, not {_kind(raw)}", path)
            if raw not in values:
                raise ClaimError(E.CLAIM_UNKNOWN_CODE, f"{path}: {show(raw)} is not one of {_list(values)}"
                                 + hint(raw, values), path)
            return raw
        return convert

    def _event(self, spec):
        show, hint = shown(spec), _hints(spec)
        values, groups = spec.values, spec.groups

        def convert(raw, path):
            if type(raw) is not str:
                raise ClaimError(E.CLAIM_TYPE, f"{path} must be an event code, not {_kind(raw)}", path)
            if raw not in values:
                if raw in groups:
                    members = sorted(v for v in values if v.startswith(raw + "."))
                    raise ClaimError(E.CLAIM_UNKNOWN_CODE, f"{path}: {show(raw)} is a group of events; name the event "
                                     f"itself, one of {_list(members)}", path)
                raise ClaimError(E.CLAIM_UNKNOWN_CODE, f"{path}: {show(raw)} is not an event this product knows"
                                 + hint(raw, values), path)
            return raw
        return convert

    def _country(self, spec):
        show = shown(spec)

        def convert(raw, path):
            if type(raw) is not str:
                raise ClaimError(E.CLAIM_TYPE, f"{path} must be a country code, not {_kind(raw)}", path)
            if raw not in COUNTRIES:
                advice = ""
                if spec.pii:
                    pass                                    # advice would repeat the value
                elif raw in COUNTRY_ALIASES:
                    advice = f"; the ISO 3166-1 code is '{COUNTRY_ALIASES[raw]}'"
                elif raw.upper() in COUNTRIES:
                    advice = f"; country codes are upper-case: '{raw.upper()}'"
                raise ClaimError(E.CLAIM_UNKNOWN_CODE, f"{path}: {show(raw)} is not an ISO 3166-1 alpha-2 "
                                 f"country code{advice}", path)
            return raw
        return convert

    def _date(self, spec):
        show = shown(spec)
        return lambda raw, path: parse_date(raw, path, show)

    def _datetime(self, spec):
        show = shown(spec)
        return lambda raw, path: parse_datetime(raw, path, show)

    def _records(self, spec):
        """A list of records: each element an object of the declared item fields, checked as a claim
        is; errors name the element by its index from 0 (`claim.baggage.items[1].price`)."""
        items = [(item, self.make(item)) for item in spec.items]
        names = frozenset(item.path for item in spec.items)
        siblings = [item for item in spec.items if _sibling(item.not_before) or _sibling(item.not_after)]
        low, high = spec.min_items, spec.max_items
        what = spec.description or "element"

        def convert(raw, path):
            if type(raw) is not list and type(raw) is not tuple:
                raise ClaimError(E.CLAIM_TYPE, f"{path} must be a list (of objects with "
                                 f"{_list(names)}), not {_kind(raw)}", path)
            _check_count(raw, low, high, path)
            elements = []
            for index, element in enumerate(raw):
                where = f"{path}[{index}]"
                if type(element) is not dict:
                    raise ClaimError(E.CLAIM_TYPE, f"{where} must be an object (an {what}), not {_kind(element)}",
                                     where)
                for key in element:
                    if key not in names:
                        hint = suggest(key, names) if type(key) is str and len(key) <= 100 else ""
                        raise ClaimError(E.CLAIM_UNKNOWN_FIELD, f"unknown field '{clip(where + '.' + str(key))}'"
                                         f"{hint} (an element has {_list(names)})", f"{where}.{key}")
                record = {}
                for item, item_convert in items:
                    value = element.get(item.path)
                    if value is None:
                        if item.has_default:
                            record[item.path] = item.default
                        elif item.required:
                            raise _missing(f"{where}.{item.path}")
                        else:
                            record[item.path] = None
                    else:
                        record[item.path] = item_convert(value, f"{where}.{item.path}")
                for item in siblings:
                    _check_order(item, record.get(item.path), record, f"{where}.{item.path}", where)
                elements.append(record)
            return tuple(elements)
        return convert

    def _bool(self, spec):
        def convert(raw, path):
            if raw is True or raw is False:
                return raw
            raise ClaimError(E.CLAIM_TYPE, f"{path} must be true or false, not {_kind(raw)}", path)
        return convert

    def _integer(self, spec):
        show = shown(spec)
        low, high = spec.minimum, spec.maximum

        def convert(raw, path):
            if type(raw) is Decimal and raw.is_finite() and raw.as_tuple().exponent >= 0 \
                    and len(raw.as_tuple().digits) > 40:
                raise ClaimError(E.CLAIM_RANGE, f"{path}: a whole number of {len(raw.as_tuple().digits):,} digits is "
                                 "out of range", path)      # a YAML claim's number too long to be read as one
            if type(raw) is not int:
                raise ClaimError(E.CLAIM_TYPE, f"{path} must be a whole number, not {_kind(raw)}"
                                 + (f" ({show(raw)})" if isinstance(raw, str) else ""), path)
            if abs(raw) > MAX_AMOUNT:
                raise ClaimError(E.CLAIM_RANGE, f"{path}: {show(raw)} is out of range", path)
            _check_range(raw, low, high, path, show)
            return raw
        return convert

    def _decimal(self, spec):
        show = shown(spec)
        low, high = spec.minimum, spec.maximum

        def convert(raw, path):
            value = parse_decimal(raw, path, show=show)
            _check_range(value, low, high, path, show)
            return value
        return convert

    def _money(self, spec):
        show = shown(spec)
        currencies = self.currencies
        places_of = {code: MINOR_UNITS[code] for code in currencies if code in MINOR_UNITS}
        match = _PLAIN_AMOUNT.match

        def convert(raw, path):
            # the common case, checked cheaply: {"amount": "12.50", "currency": "EUR"}
            if type(raw) is dict and len(raw) == 2:
                currency = raw.get("currency")
                amount = raw.get("amount")
                places = places_of.get(currency) if type(currency) is str else None
                if places is not None:
                    if type(amount) is str and len(amount) <= 30 and match(amount):     # no sign: never -0
                        dot = amount.find(".")
                        if (dot < 0 and len(amount) <= 15) or (0 <= dot <= 15 and len(amount) - dot - 1 <= places):
                            return Money(Decimal(amount), currency, path)
                    elif type(amount) is Decimal and amount.is_finite() and not amount.is_signed() \
                            and amount < MAX_AMOUNT and amount.as_tuple().exponent >= -places:
                        return Money(amount, currency, path)
                    elif type(amount) is float and 0 <= amount < 1e15:        # NaN and infinities fail here
                        value = Decimal(repr(amount))
                        if value.as_tuple().exponent >= -places and not value.is_signed():
                            return Money(value, currency, path)
                    elif type(amount) is int and 0 <= amount < MAX_AMOUNT:
                        return Money(Decimal(amount), currency, path)
            return checked(raw, path)

        def checked(raw, path):
            if type(raw) is not dict:
                raise ClaimError(E.CLAIM_TYPE, f"{path} must be an amount: {{\"amount\": \"12.50\", "
                                 f"\"currency\": \"EUR\"}}, not {_kind(raw)}", path)
            for key in raw:
                if key not in ("amount", "currency"):
                    raise ClaimError(E.CLAIM_UNKNOWN_FIELD, f"{path}.{key}: an amount has only "
                                     "'amount' and 'currency'", f"{path}.{key}")
            if "amount" not in raw or raw["amount"] is None:
                raise ClaimError(E.CLAIM_MISSING_FIELD, f"{path}.amount is required", path)
            if "currency" not in raw or raw["currency"] is None:
                raise ClaimError(E.CLAIM_MISSING_FIELD, f"{path}.currency is required", path)
            currency = raw["currency"]
            if type(currency) is not str or not _CURRENCY.match(currency) or currency not in MINOR_UNITS:
                raise ClaimError(E.CLAIM_CURRENCY, f"{path}.currency: {_show(currency)} is not an ISO 4217 "
                                 "currency code", path)
            if currency not in currencies:
                raise ClaimError(E.CLAIM_CURRENCY, f"{path}.currency: this product takes claims in "
                                 f"{_list(currencies)}, not {currency}", path)
            try:
                amount = parse_decimal(raw["amount"], f"{path}.amount", _DECIMAL, "an amount", digits=False, show=show)
            except ClaimError as error:        # the error names the amount's field (contract §3), its
                error.path = path              # message the part of it that is wrong
                raise
            if amount.is_signed():                                  # negative, or a signed zero (-0.00)
                raise ClaimError(E.CLAIM_AMOUNT, f"{path}.amount may not be negative", path)
            places = MINOR_UNITS[currency]
            if -amount.as_tuple().exponent > places:
                raise ClaimError(E.CLAIM_AMOUNT, f"{path}.amount: {show(raw['amount'])} has more decimals than "
                                 f"{currency} has ({places}); it is not rounded for you", path)
            return Money(amount, currency, path)
        return convert

    def _list(self, spec):
        show, hint = shown(spec), _hints(spec)
        values = spec.values
        low, high, unique = spec.min_items, spec.max_items, spec.unique

        def convert(raw, path):
            if type(raw) is not list and type(raw) is not tuple:
                raise ClaimError(E.CLAIM_TYPE, f"{path} must be a list, not {_kind(raw)}", path)
            _check_count(raw, low, high, path)
            for i, item in enumerate(raw):
                if type(item) is not str:
                    raise ClaimError(E.CLAIM_TYPE, f"{path}[{i}] must be one of {_list(values)}, not {_kind(item)}",
                                     f"{path}[{i}]")
                if item not in values:
                    raise ClaimError(E.CLAIM_UNKNOWN_CODE, f"{path}[{i}]: {show(item)} is not one of "
                                     f"{_list(values)}" + (hint(item, values) if type(item) is str else ""),
                                     f"{path}[{i}]")
                if unique and item in raw[:i]:
                    raise ClaimError(E.CLAIM_DUPLICATE, f"{path}[{i}]: {show(item)} is listed twice; each value "
                                     "at most once", f"{path}[{i}]")
            return tuple(raw)
        return convert


def _codes(raw: list, values: frozenset, low: int, high: int, unique: bool) -> bool:
    """A list of codes as its converter accepts it: all known, counted within bounds (high -1:
    no bound), each at most once if `unique`."""
    if len(raw) < low or (high >= 0 and len(raw) > high):
        return False
    for item in raw:                    # text itself: a str subclass (an enum member) is the converter's
        if type(item) is not str:
            return False
    if not values.issuperset(raw):
        return False
    return not unique or len(set(raw)) == len(raw)


def _amount_patterns(currencies) -> dict:
    """By currency, the amounts an amount's fast test takes: digits, at most 15 before the point,
    at most the currency's decimals after it (the converter's own fast path, as one pattern)."""
    patterns = {}
    for code in currencies:
        places = MINOR_UNITS.get(code)
        if places is None:
            continue
        tail = rf"(?:\.[0-9]{{1,{places}}})?" if places else ""
        patterns[code] = re.compile(rf"[0-9]{{1,15}}{tail}\Z").match
    return patterns


def _check_count(raw, low, high, path):
    if low is not None and len(raw) < low:
        what = "may not be empty" if low == 1 else f"needs at least {low} elements"
        raise ClaimError(E.CLAIM_RANGE, f"{path} {what} (it has {len(raw)})", path)
    if high is not None and len(raw) > high:
        raise ClaimError(E.CLAIM_RANGE, f"{path} has {len(raw)} elements; at most {high}", path)


def _sibling(reference: str | None) -> bool:
    """A date order on an item field names another item field (no dots) or a claim field."""
    return reference is not None and "." not in reference


def _check_order(spec: FieldSpec, value, values: dict, path: str, owner: str = "") -> None:
    """`not_before` / `not_after`: a date (or date-time) and the one it may not precede or follow.

    In a record, a name without dots is another item field of the same element; `values` is
    where the other date is read (the element's record, or the claim's values).
    """
    if value is None:
        return
    for reference, later in ((spec.not_before, False), (spec.not_after, True)):
        if reference is None or (owner and not _sibling(reference)) or (not owner and _sibling(reference)):
            continue
        other = values.get(reference)
        if other is None:
            continue
        if (value > other) if later else (value < other):
            named = f"{owner}.{reference}" if owner else reference
            relation = "after" if later else "before"
            if spec.pii:
                raise ClaimError(E.CLAIM_DATE_ORDER, f"{path} is {relation} {named}", path)
            raise ClaimError(E.CLAIM_DATE_ORDER, f"{path} ({value}) is {relation} {named} ({other})", path)


def _check_range(value, low, high, path, show=_show):
    if low is not None and value < low:
        raise ClaimError(E.CLAIM_RANGE, f"{path}: {show(value)} is below the minimum {low}", path)
    if high is not None and value > high:
        raise ClaimError(E.CLAIM_RANGE, f"{path}: {show(value)} is above the maximum {high}", path)


def _list(values) -> str:
    values = sorted(values)
    if len(values) > 12:
        return ", ".join(values[:12]) + f", ... ({len(values)} in all)"
    return ", ".join(values)


class _Object:
    """A group of fields in the claim (policy, policy.holder, claim.replacement...)."""

    __slots__ = ("path", "children", "optional", "required")

    def __init__(self, path: str):
        self.path = path
        self.children: dict[str, Any] = {}      # name -> _Object or (FieldSpec, converter)
        self.optional = False                   # declared `type: object, optional: true`
        self.required = False                   # some field below must be given


class ClaimValidator:
    """Validates one claim document against one product version's fields."""

    def __init__(self, fields: tuple[FieldSpec, ...], currencies: frozenset[str], code: bytes | None = None,
                 fast: bool = True):
        self.fields = fields
        self.currencies = currencies
        self.fast = fast            # False: every value through its converter (the tests' reference)
        converters = _Converters(currencies)
        self.root = _Object("")
        self.root.children["product"] = None
        self.paths = [spec.path for spec in fields]
        self._conditional = [s for s in fields if s.required_when is not None or s.present_when is not None]
        self._ordered = [s for s in fields if s.not_before is not None or s.not_after is not None]
        self._money_paths = [s.path for s in fields if s.type == "money"]
        self._records = [s for s in fields if s.type == "records"]
        self._personal = frozenset(s.path for s in fields if s.pii)
        for spec in fields:
            parts = spec.path.split(".")
            node = self.root
            for i, part in enumerate(parts[:-1]):
                child = node.children.get(part)
                if child is None:
                    child = node.children[part] = _Object(".".join(parts[:i + 1]))
                node = child
            if spec.type == "object":
                obj = node.children.get(parts[-1])
                if obj is None:
                    obj = node.children[parts[-1]] = _Object(spec.path)
                obj.optional = not spec.required or spec.required_when is not None or spec.present_when is not None
            else:
                node.children[parts[-1]] = (spec, converters.make(spec))
        self._mark_required(self.root)
        self._validate = self._compile(code)

    def __reduce__(self):
        """Pickled (in the product cache) as what it is made from, with its compiled code (marshal):
        read back, its source and constants are made again (the same, the fields being the same)
        and the code is not compiled again."""
        return ClaimValidator, (self.fields, self.currencies, marshal.dumps(self._code), self.fast)

    def convert_default(self, spec: FieldSpec, raw: Any) -> Any:
        """Used at load: a declared default goes through the same converter as claim values."""
        return _Converters(self.currencies).make(spec)(raw, spec.path)

    def _mark_required(self, node: _Object) -> bool:
        required = False
        for child in node.children.values():
            if isinstance(child, _Object):
                child_required = self._mark_required(child)
                required = required or (child_required and not child.optional)
            elif child is not None:
                spec = child[0]
                required = required or (spec.required and spec.required_when is None and spec.present_when is None)
        node.required = required
        return required

    def validate(self, claim: Any) -> tuple[dict, str | None]:
        """Check a claim document; return (values by path, the claim's currency)."""
        return self._validate(claim)

    # -- code generation -----------------------------------------------------------
    # The claim walk is generated as Python source, once per product version: one
    # straight-line function with no loops over the declarations, no recursion and no
    # dictionary building beyond the values themselves.  Names in the source are ours;
    # field names from the product appear only as repr() string literals of paths the
    # schema restricts to [a-z_][a-zA-Z0-9_]* parts.
    def _compile(self, code: bytes | None = None) -> Callable:
        self._constants: list[Any] = []
        self._functions: list[str] = []          # a vouching function per list of records
        self._amounts: str | None = None          # the constant of the amounts' patterns, made once
        lines = ["def validate(claim):",
                 "    if type(claim) is not dict:",
                 "        raise _not_object(claim)",
                 f"    keys = {self._constant(frozenset(self.root.children))}",
                 "    if not claim.keys() <= keys:",
                 "        for key in claim:",
                 "            if key not in keys:",
                 "                raise _unknown(keys, '', key)",
                 "    V = {}"]
        self._counter = 0
        self._emit_object(self.root, "claim", lines, "    ")
        lines.append("    currency = None")
        for path in self._money_paths:
            lines += [f"    m = V[{path!r}]",
                      "    if m is not None:",
                      "        if currency is None:",
                      "            currency = m.currency",
                      "        elif m.currency != currency:",
                      f"            raise _mixed({path!r}, m, currency)"]
        for spec in self._records:
            if _has_money(spec):
                lines += self._records_currency_lines(spec)
        for spec in self._conditional:            # conditions compare amounts in the claim's currency
            if spec.required_when is not None:
                when = self._constant(spec.required_when)
                lines += [f"    if V[{spec.path!r}] is None and _holds({when}, V, currency, {self._constant(spec)}):",
                          f"        raise _required_when({self._constant(spec)})"]
            if spec.present_when is not None:
                when = self._constant(spec.present_when)
                lines += [f"    if (V[{spec.path!r}] is None) is _holds({when}, V, currency, {self._constant(spec)}):",
                          f"        raise _present_when({self._constant(spec)}, V)"]
        for spec in self._ordered:
            lines += self._order_lines(spec)
        for spec in self._records:
            if _absolute_orders(spec):
                lines += self._records_order_lines(spec)
        lines.append("    return V, currency")
        lines = self._functions + lines
        namespace = {"K": tuple(self._constants), "_not_object": _not_object, "_unknown": self._unknown_error,
                     "_missing": _missing, "_not_dict": _not_dict, "_required_when": _required_when,
                     "_present_when": _present_when, "_holds": _holds, "_order": _order_checked,
                     "_records_order": _records_order, "_records_currency": _records_currency,
                     "_mixed": _mixed, "_codes": _codes, "_Money": Money, "_Dec": Decimal,
                     "_DATE": _DATE.match, "_fromiso": date.fromisoformat, "ClaimError": ClaimError,
                     "__builtins__": {"type": type, "dict": dict, "str": str, "int": int, "len": len,
                                      "list": list, "tuple": tuple, "enumerate": enumerate,
                                      "ValueError": ValueError}}
        self.source = "\n".join(lines) + "\n"
        self._code = marshal.loads(code) if code is not None else compile(self.source, "<claim validator>", "exec")
        exec(self._code, namespace)  # noqa: S102 - our own generated source
        return namespace["validate"]

    def _constant(self, value: Any) -> str:
        self._constants.append(value)
        return f"K[{len(self._constants) - 1}]"

    def _emit_object(self, node: _Object, var: str, lines: list[str], indent: str) -> None:
        prefix = node.path + "." if node.path else ""
        for name, child in node.children.items():
            if child is None:                   # the envelope's `product`, read by the book
                continue
            if type(child) is _Object:
                self._counter += 1
                obj = f"o{self._counter}"
                lines.append(f"{indent}{obj} = {var}.get({name!r})")
                lines.append(f"{indent}if {obj} is None:")
                if child.required and not child.optional:
                    lines.append(f"{indent}    raise _missing({child.path!r})")
                else:
                    absent = self._absent_lines(child)
                    lines += [f"{indent}    {line}" for line in absent] or [f"{indent}    pass"]
                lines += [f"{indent}elif type({obj}) is not dict:",
                          f"{indent}    raise _not_dict({child.path!r}, {obj})",
                          f"{indent}else:",
                          f"{indent}    keys = {self._constant(frozenset(child.children))}",
                          f"{indent}    if not {obj}.keys() <= keys:",
                          f"{indent}        for key in {obj}:",
                          f"{indent}            if key not in keys:",
                          f"{indent}                raise _unknown(keys, {child.path + '.'!r}, key)"]
                if child.optional:
                    lines.append(f"{indent}    V[{child.path!r}] = {obj}")
                self._emit_object(child, obj, lines, indent + "    ")
                continue
            spec, convert = child
            path = prefix + name
            lines.append(f"{indent}v = {var}.get({name!r})")
            lines.append(f"{indent}if v is None:")
            if spec.has_default:
                lines.append(f"{indent}    V[{path!r}] = {self._constant(spec.default)}")
            elif spec.required and spec.required_when is None and spec.present_when is None:
                lines.append(f"{indent}    raise _missing({path!r})")
            else:
                lines.append(f"{indent}    V[{path!r}] = None")
            converter = self._constant(convert)
            if spec.type == "date" and self.fast:
                lines += [f"{indent}elif type(v) is str and _DATE(v):",
                          f"{indent}    try:",
                          f"{indent}        V[{path!r}] = _fromiso(v)",
                          f"{indent}    except ValueError:",
                          f"{indent}        V[{path!r}] = {converter}(v, {path!r})"]
            elif spec.type == "records" and self._vouchable(spec):
                vouch = self._records_function(spec)
                lines += [f"{indent}else:",
                          f"{indent}    w = {vouch}(v, {path!r})",
                          f"{indent}    V[{path!r}] = w if w is not None else {converter}(v, {path!r})"]
                continue
            else:
                fast = self._fast(spec, "v", repr(path))
                if fast is not None:
                    test, value = fast
                    lines += [f"{indent}elif {test}:",
                              f"{indent}    V[{path!r}] = {value}"]
            lines += [f"{indent}else:",
                      f"{indent}    V[{path!r}] = {converter}(v, {path!r})"]

    # The fast tests below only ever accept: a value they do not vouch for goes to the field's
    # converter, which accepts it or raises the first problem with its message. So a fast test
    # must accept nothing the converter refuses, and give exactly the converter's value.
    def _fast(self, spec: FieldSpec, v: str, path: str) -> tuple[str, str] | None:
        """(a test on the raw value `v`, the value it converts to) for a field of a common type;
        `path` is the Python expression of the field's path (an amount carries it)."""
        kind = spec.type
        if not self.fast:
            return None
        if kind == "bool":
            return f"{v} is True or {v} is False", v
        if kind in ("code", "event", "country"):
            return f"type({v}) is str and {v} in {self._constant(spec.values if kind != 'country' else COUNTRIES)}", v
        if kind == "integer":
            low = spec.minimum if spec.minimum is not None else -MAX_AMOUNT
            high = spec.maximum if spec.maximum is not None else MAX_AMOUNT
            return f"type({v}) is int and {self._constant(low)} <= {v} <= {self._constant(high)}", v
        if kind == "text":
            test = f"type({v}) is str and len({v}) <= {MAX_TEXT}"
            if spec.pattern is not None:
                test += f" and {self._constant(spec.pattern.fullmatch)}({v}) is not None"
            return test, v
        if kind == "list":
            low = spec.min_items if spec.min_items is not None else 0
            high = spec.max_items if spec.max_items is not None else -1
            return (f"type({v}) is list and _codes({v}, {self._constant(spec.values)}, {low}, {high}, {spec.unique})",
                    f"tuple({v})")
        if kind == "money":
            if self._amounts is None:
                self._amounts = self._constant(_amount_patterns(self.currencies))
            amounts = self._amounts
            return (f"type({v}) is dict and len({v}) == 2 and type(c := {v}.get('currency')) is str"
                    f" and (ok := {amounts}.get(c)) is not None and type(a := {v}.get('amount')) is str"
                    " and ok(a) is not None", f"_Money(_Dec(a), c, {path})")
        return None

    def _vouchable(self, spec: FieldSpec) -> bool:
        """A list of records whose elements the generated code checks (none of them lists of records)."""
        return self.fast and all(item.type != "records" for item in spec.items)

    def _records_function(self, spec: FieldSpec) -> str:
        """A function that vouches for a list of records: the tuple of the elements' records, or
        None for anything it does not accept (the field's converter then says what is wrong)."""
        self._counter += 1
        name = f"_r{self._counter}"
        lines = [f"def {name}(raw, path):"]
        count = ["type(raw) is not list"]
        if spec.min_items is not None:
            count.append(f"len(raw) < {spec.min_items}")
        if spec.max_items is not None:
            count.append(f"len(raw) > {spec.max_items}")
        names = self._constant(frozenset(item.path for item in spec.items))
        lines += [f"    if {' or '.join(count)}:",
                  "        return None",
                  "    out = []",
                  "    for i, e in enumerate(raw):",
                  f"        if type(e) is not dict or not e.keys() <= {names}:",
                  "            return None",
                  "        r = {}"]
        for item in spec.items:
            key = repr(item.path)
            where = f"f'{{path}}[{{i}}].{item.path}'"
            lines.append(f"        x = e.get({key})")
            lines.append("        if x is None:")
            if item.has_default:
                lines.append(f"            r[{key}] = {self._constant(item.default)}")
            elif item.required:
                lines.append("            return None")
            else:
                lines.append(f"            r[{key}] = None")
            if item.type == "date":
                lines += ["        elif type(x) is str and _DATE(x):",
                          "            try:",
                          f"                r[{key}] = _fromiso(x)",
                          "            except ValueError:",
                          "                return None",
                          "        else:",
                          "            return None"]
                continue
            fast = self._fast(item, "x", where)
            if fast is not None:
                test, value = fast
                lines += [f"        elif {test}:",
                          f"            r[{key}] = {value}",
                          "        else:",
                          "            return None"]
            else:                               # a type with no fast test: its converter, quietly
                convert = self._constant(_Converters(self.currencies).make(item))
                lines += ["        else:",
                          "            try:",
                          f"                r[{key}] = {convert}(x, {where})",
                          "            except ClaimError:",
                          "                return None"]
        for item in spec.items:                  # date orders between the fields of one element
            for reference, later in ((item.not_before, False), (item.not_after, True)):
                if _sibling(reference):
                    lines += [f"        a = r[{item.path!r}]",
                              f"        b = r.get({reference!r})",
                              f"        if a is not None and b is not None and a {'>' if later else '<'} b:",
                              "            return None"]
        lines += ["        out.append(r)",
                  "    return tuple(out)"]
        self._functions += lines
        return name

    def _order_lines(self, spec: FieldSpec) -> list[str]:
        """A claim field's not_before / not_after, compared here; `_order` says what is wrong."""
        checks = [(reference, later) for reference, later in ((spec.not_before, False), (spec.not_after, True))
                  if reference is not None and not _sibling(reference)]
        if not checks:
            return []
        if not self.fast:
            return [f"    _order({self._constant(spec)}, V[{spec.path!r}], V, {spec.path!r}, {self._constant(self._personal)})"]
        lines = [f"    a = V[{spec.path!r}]",
                 "    if a is not None:"]
        for reference, later in checks:
            lines += [f"        b = V.get({reference!r})",
                      f"        if b is not None and a {'>' if later else '<'} b:",
                      f"            _order({self._constant(spec)}, a, V, {spec.path!r}, {self._constant(self._personal)})"]
        return lines

    def _records_order_lines(self, spec: FieldSpec) -> list[str]:
        """Item fields whose date order names a claim field, compared here; `_records_order`
        finds the first that is wrong and says so."""
        checks = [(item, reference, later) for item in spec.items
                  for reference, later in ((item.not_before, False), (item.not_after, True))
                  if reference is not None and not _sibling(reference)]
        if not self._vouchable(spec) or not checks:
            return [f"    _records_order({self._constant(spec)}, V)"]
        lines = [f"    for r in V[{spec.path!r}] or ():"]
        for item, reference, later in checks:
            lines += [f"        a = r[{item.path!r}]",
                      f"        b = V.get({reference!r})",
                      f"        if a is not None and b is not None and a {'>' if later else '<'} b:",
                      f"            _records_order({self._constant(spec)}, V)"]
        return lines

    def _records_currency_lines(self, spec: FieldSpec) -> list[str]:
        """All money in one claim in one currency, the amounts of a list of records included;
        on a mismatch `_records_currency` names the first amount that differs."""
        if not self._vouchable(spec):
            return [f"    currency = _records_currency({self._constant(spec)}, V[{spec.path!r}], currency)"]
        lines = ["    first = currency",
                 f"    for r in V[{spec.path!r}] or ():"]
        for item in spec.items:
            if item.type == "money":
                lines += [f"        m = r[{item.path!r}]",
                          "        if m is not None:",
                          "            if currency is None:",
                          "                currency = m.currency",
                          "            elif m.currency != currency:",
                          f"                currency = _records_currency({self._constant(spec)}, V[{spec.path!r}], first)"]
        return lines

    def _absent_lines(self, node: _Object) -> list[str]:
        lines = []
        if node.optional:
            lines.append(f"V[{node.path!r}] = None")
        for child in node.children.values():
            if type(child) is _Object:
                lines += self._absent_lines(child)
            elif child is not None:
                spec = child[0]
                value = self._constant(spec.default) if spec.has_default else "None"
                lines.append(f"V[{spec.path!r}] = {value}")
        return lines

    def _unknown_error(self, keys, prefix: str, key) -> ClaimError:
        path = prefix + str(key)             # the path names the field exactly; the message, readably
        known = [prefix + name for name in keys if name != "product"]
        hint = suggest(path, known or self.paths) if len(path) <= 100 else ""
        return ClaimError(E.CLAIM_UNKNOWN_FIELD, f"unknown field '{clip(path)}'{hint} (the product does not read it)",
                          path)


def _not_object(claim) -> ClaimError:
    return ClaimError(E.CLAIM_NOT_OBJECT, f"a claim must be an object, not {_kind(claim)}", None)


def _missing(path: str) -> ClaimError:
    return ClaimError(E.CLAIM_MISSING_FIELD, f"{path} is required", path)


def _not_dict(path: str, value) -> ClaimError:
    return ClaimError(E.CLAIM_TYPE, f"{path} must be an object, not {_kind(value)}", path)


def _required_when(spec: FieldSpec) -> ClaimError:
    return ClaimError(E.CLAIM_MISSING_FIELD, f"{spec.path} is required when {spec.required_when_text}", spec.path)


def _present_when(spec: FieldSpec, values: dict) -> ClaimError:
    if values[spec.path] is None:
        return ClaimError(E.CLAIM_MISSING_FIELD, f"{spec.path} is required when {spec.present_when_text}", spec.path)
    return ClaimError(E.CLAIM_UNEXPECTED_FIELD, f"{spec.path} is given, but only applies when "
                      f"{spec.present_when_text}; it is not read otherwise", spec.path)


def _holds(condition, values: dict, currency: str | None, spec: FieldSpec) -> bool:
    """A required_when (or present_when) condition; one that reads a field the claim leaves out
    does not hold. One that compares the claim's money with an amount in another currency is the
    claim's currency mismatch: no exchange rate is applied."""
    try:
        return bool(condition.function(values, _NO_DEFINITIONS, [], currency))
    except EvaluationError:
        return False
    except CurrencyMismatch as error:
        path = next((path for path, value in values.items() if isinstance(value, Money)), None)
        option = "required_when" if spec.required_when is condition else "present_when"
        raise ClaimError(E.CLAIM_CURRENCY_MISMATCH, f"{path} is in {currency}, but the {option} of {spec.path} "
                         f"uses an amount in {error.right.currency} ({error.right}); no exchange rate is applied",
                         path or None) from None


def _order_checked(spec: FieldSpec, value, values: dict, path: str, personal: frozenset) -> None:
    """A claim field's `not_before` / `not_after`; personal dates are never shown."""
    hidden = spec.pii or spec.not_before in personal or spec.not_after in personal
    _check_order(replace(spec, pii=True) if hidden and not spec.pii else spec, value, values, path)


def _absolute_orders(spec: FieldSpec) -> bool:
    return any((item.not_before and not _sibling(item.not_before)) or (item.not_after and not _sibling(item.not_after))
               or (item.type == "records" and _absolute_orders(item)) for item in spec.items)


def _records_order(spec: FieldSpec, values: dict, records=None, path: str | None = None) -> None:
    """Item fields whose date order names a claim field (an article bought no later than the loss)."""
    path = path or spec.path
    for index, record in enumerate(records if records is not None else values[spec.path] or ()):
        where = f"{path}[{index}]"
        for item in spec.items:
            if item.type == "records":
                _records_order(item, values, record.get(item.path) or (), f"{where}.{item.path}")
                continue
            _check_order(item, record.get(item.path), values, f"{where}.{item.path}")


def _has_money(spec: FieldSpec) -> bool:
    return any(item.type == "money" or (item.type == "records" and _has_money(item)) for item in spec.items)


def _records_currency(spec: FieldSpec, records, currency: str | None, path: str | None = None) -> str | None:
    """All money in one claim is in one currency, the amounts in its lists of records included."""
    path = path or spec.path
    for index, record in enumerate(records or ()):
        for item in spec.items:
            value = record.get(item.path)
            if value is None:
                continue
            if item.type == "records":
                currency = _records_currency(item, value, currency, f"{path}[{index}].{item.path}")
            elif item.type == "money":
                if currency is None:
                    currency = value.currency
                elif value.currency != currency:
                    raise _mixed(f"{path}[{index}].{item.path}", value, currency)
    return currency


def _mixed(path: str, money: Money, currency: str) -> ClaimError:
    return ClaimError(E.CLAIM_MIXED_CURRENCY, f"{path} is in {money.currency}, but the claim's other amounts are "
                      f"in {currency}: all money in one claim must be in one currency", path)


_NO_DEFINITIONS: dict = {}                 # the `D` a condition sees: it may read fields only
