"""What the two hand-written reference functions share: the checks of a claim's values.

The references (handwritten_ad.py, handwritten_bmw.py) are what a careful Python engineer would
write by hand for one product, with no engine: plain dicts in, plain dicts out, `Decimal` money,
no trace. They check a claim exactly as the engine does (types, required fields, codes, dates,
money with its currency and decimals, bounds, patterns; the same error codes and paths, the first
problem found in the same order), so that timing them beside policyconf compares like with like.
tests/test_benchmark_references.py checks them against the engine claim for claim.

Only the ISO reference data (currencies with their minor units, country codes) comes from
policyconf; every check and every rule is written out here and in the two references.
"""
from __future__ import annotations

import re
from datetime import date
from decimal import Context, Decimal, InvalidOperation, DivisionByZero, Overflow, ROUND_HALF_EVEN, ROUND_HALF_UP

from policyconf.dsl.iso import COUNTRIES, MINOR_UNITS

__all__ = ["COUNTRIES", "MINOR_UNITS", "CONTEXT", "Rejected", "check_keys", "obj", "text", "code", "country",
           "boolean", "integer", "share", "day", "money", "codes", "rounded", "claim_id_of", "add_months",
           "months_between"]

# The arithmetic of a decision: 28 digits, traps on what cannot be computed; whatever the caller's
# decimal context is.
CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN, Emin=-999999, Emax=999999,
                  traps=[InvalidOperation, DivisionByZero, Overflow])
MAX = Decimal(10) ** 15                     # no claim is about a quadrillion
MAX_TEXT = 10_000
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z").match
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z").match
_fromiso = date.fromisoformat
_CENT = {code: Decimal(1).scaleb(-places) for code, places in MINOR_UNITS.items()}


class Rejected(Exception):
    """The claim is not valid input: the contract's error object (code, message, path)."""

    def __init__(self, code: str, message: str, path: str | None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.path = path

    def to_dict(self, claim_id: str | None) -> dict:
        return {"claim_id": claim_id, "error": {"code": self.code, "message": self.message, "path": self.path}}


def _type(path: str, what: str) -> Rejected:
    return Rejected("claim.type", f"{path} must be {what}", path)


def claim_id_of(claim) -> str | None:
    inner = claim.get("claim") if type(claim) is dict else None
    return inner["id"] if type(inner) is dict and type(inner.get("id")) is str else None


def check_product(claim, product_id: str, effective: date) -> None:
    """The claim is an object naming `product_id`, bought (policy.purchased) on or after its one
    version's `effective` day: checked first, as the engine chooses the product before the fields."""
    if type(claim) is not dict:
        raise Rejected("claim.not-an-object", "a claim must be an object", None)
    product = claim.get("product")
    if product is None:
        raise Rejected("claim.missing-field", "product is required", "product")
    if product != product_id:
        raise Rejected("claim.unknown-product", "unknown product", "product")
    policy = claim.get("policy")
    if type(policy) is dict and policy.get("purchased") is not None:
        if day(policy["purchased"], "policy.purchased") < effective:
            raise Rejected("claim.no-product-version", f"policy.purchased is before {effective}", "policy.purchased")


def check_keys(value: dict, allowed: frozenset, prefix: str) -> None:
    for key in value:
        if key not in allowed:
            raise Rejected("claim.unknown-field", f"unknown field '{prefix}{key}'", f"{prefix}{key}")


def obj(parent: dict, name: str, path: str, allowed: frozenset, required: bool = True):
    """A nested object (policy, claim.motor...): its unknown keys refused; None when optional and absent."""
    value = parent.get(name)
    if value is None:
        if required:
            raise Rejected("claim.missing-field", f"{path} is required", path)
        return None
    if type(value) is not dict:
        raise _type(path, "an object")
    prefix = path + "."
    for key in value:
        if key not in allowed:
            raise Rejected("claim.unknown-field", f"unknown field '{prefix}{key}'", f"{prefix}{key}")
    return value


def _missing(path: str) -> Rejected:
    return Rejected("claim.missing-field", f"{path} is required", path)


def text(raw, path: str, pattern=None, required: bool = True):
    if raw is None:
        if required:
            raise _missing(path)
        return None
    if type(raw) is not str:
        raise _type(path, "text")
    if len(raw) > MAX_TEXT:
        raise Rejected("claim.range", f"{path} is longer than {MAX_TEXT} characters", path)
    if pattern is not None and not pattern(raw):
        raise Rejected("claim.pattern", f"{path} is not valid", path)
    return raw


def code(raw, path: str, values: frozenset):
    """A code (or an event, or a country) of a fixed list."""
    if type(raw) is str and raw in values:
        return raw
    if raw is None:
        raise _missing(path)
    if type(raw) is not str:
        raise _type(path, "a code")
    raise Rejected("claim.unknown-code", f"{path}: {raw[:60]!r} is not a code this product knows", path)


def country(raw, path: str):
    return code(raw, path, COUNTRIES)


def boolean(raw, path: str, default=None):
    if raw is True or raw is False:
        return raw
    if raw is None:
        if default is None:
            raise _missing(path)
        return default
    raise _type(path, "true or false")


def integer(raw, path: str, low: int | None, high: int | None, default=None):
    if raw is None:
        if default is None:
            raise _missing(path)
        return default
    if type(raw) is not int:                   # a bool is not an integer here
        raise _type(path, "a whole number")
    if (low is not None and raw < low) or (high is not None and raw > high) or abs(raw) > MAX:
        raise Rejected("claim.range", f"{path}: {raw} is out of range", path)
    return raw


def _number(raw, path: str, digits: bool) -> Decimal:
    """A JSON number (int, Decimal, float) or a plain decimal string, exactly."""
    kind = type(raw)
    if kind is str:
        if not _NUMBER(raw):
            raise _type(path, "a number")
        if len(raw.lstrip("-").split(".")[0].lstrip("0")) > 15:
            raise Rejected("claim.range", f"{path} is out of range", path)
        if digits and len(raw) > 40:
            raise _type(path, "a number of at most 40 digits")
        value = Decimal(raw)
    elif kind is Decimal:
        value = raw
        if not value.is_finite():
            raise _type(path, "a number")
    elif kind is int:
        if abs(raw) >= MAX:
            raise Rejected("claim.range", f"{path} is out of range", path)
        value = Decimal(raw)
    elif kind is float:
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise _type(path, "a number")
        value = Decimal(repr(raw))
    else:
        raise _type(path, "a number")
    if value.copy_abs() >= MAX or (digits and len(value.as_tuple().digits) > 40):
        raise Rejected("claim.range", f"{path} is out of range", path)
    return value


def share(raw, path: str, default: Decimal) -> Decimal:
    """A decimal between 0 and 1 (a share, a rate)."""
    if raw is None:
        return default
    value = _number(raw, path, True)
    if value < 0 or value > 1:
        raise Rejected("claim.range", f"{path}: {value} is not between 0 and 1", path)
    return value


def day(raw, path: str) -> date:
    """An ISO calendar date (YYYY-MM-DD), a real one."""
    if type(raw) is str:
        if _DATE(raw):
            try:
                return _fromiso(raw)
            except ValueError:
                pass
        raise Rejected("claim.invalid-date", f"{path}: {raw[:60]!r} is not a date (YYYY-MM-DD)", path)
    if raw is None:
        raise _missing(path)
    if type(raw) is date:
        return raw
    raise _type(path, "a date (YYYY-MM-DD text)")


def money(raw, path: str, currencies: frozenset, required: bool = True):
    """{"amount": "12.50", "currency": "EUR"} -> (Decimal amount, currency), checked: an ISO
    currency the product takes, an amount never negative and with no more decimals than the
    currency has. None when optional and absent."""
    if raw is None:
        if required:
            raise _missing(path)
        return None
    if type(raw) is not dict:
        raise _type(path, 'an amount: {"amount": "12.50", "currency": "EUR"}')
    for key in raw:
        if key != "amount" and key != "currency":
            raise Rejected("claim.unknown-field", f"{path}.{key}: an amount has only 'amount' and 'currency'",
                           f"{path}.{key}")
    amount = raw.get("amount")
    currency = raw.get("currency")
    if amount is None:                          # an amount's error names its field (contract §3)
        raise Rejected("claim.missing-field", f"{path}.amount is required", path)
    if currency is None:
        raise Rejected("claim.missing-field", f"{path}.currency is required", path)
    if type(currency) is not str or currency not in MINOR_UNITS:
        raise Rejected("claim.currency", f"{path}.currency is not an ISO 4217 currency code", path)
    if currency not in currencies:
        raise Rejected("claim.currency", f"{path}.currency: this product takes claims in "
                       f"{', '.join(sorted(currencies))}, not {currency}", path)
    try:
        value = _number(amount, path + ".amount", False)
    except Rejected as error:
        raise Rejected(error.code, error.message, path) from None
    if value.is_signed():                       # negative, or -0
        raise Rejected("claim.amount", f"{path}.amount may not be negative", path)
    if -value.as_tuple().exponent > MINOR_UNITS[currency]:
        raise Rejected("claim.amount", f"{path}.amount has more decimals than {currency} has", path)
    return value, currency


def codes(raw, path: str, values: frozenset) -> tuple:
    """A list of codes of a fixed list (documents, circumstances); absent, empty."""
    if raw is None:
        return ()
    if type(raw) is not list and type(raw) is not tuple:
        raise _type(path, "a list")
    for index, item in enumerate(raw):
        if type(item) is not str or item not in values:
            where = f"{path}[{index}]"
            if type(item) is not str:
                raise _type(where, "a code")
            raise Rejected("claim.unknown-code", f"{where}: {item[:60]!r} is not a code this product knows", where)
    return raw


def rounded(amount: Decimal, currency: str) -> Decimal:
    """Half-up to the currency's minor unit (in our context, whatever the caller's)."""
    return amount.quantize(_CENT[currency], rounding=ROUND_HALF_UP, context=CONTEXT)


_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def add_months(start: date, months: int) -> date:
    """Whole calendar months later, the day clamped to the month's end (Jan 31 + 1 month = Feb 28/29)."""
    year, month = divmod(start.year * 12 + start.month - 1 + months, 12)
    month += 1
    last = _DAYS[month] if month != 2 else (29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28)
    return date(year, month, min(start.day, last))


def months_between(start: date, end: date) -> int:
    """Whole calendar months from start to end: the largest n with start + n months <= end."""
    n = (end.year - start.year) * 12 + end.month - start.month
    if n >= 0:
        while n > 0 and add_months(start, n) > end:
            n -= 1
        return n
    while add_months(start, n) > end:
        n -= 1
    while add_months(start, n + 1) <= end:
        n += 1
    return n
