"""Runtime values of the expression language: money, durations, calendar arithmetic.

Money is a `Decimal` amount with an ISO 4217 currency.  Arithmetic between two
amounts in different currencies raises `CurrencyMismatch`: no exchange rate is
ever guessed.  A zero written without a currency (`max(0, gap)`) takes the
currency of the amount it meets.  Rounding happens once, at the end
(`Money.rounded`), half-up to the currency's minor unit.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from .errors import EvaluationError
from .iso import MINOR_UNITS


class CurrencyMismatch(Exception):
    """Two amounts in different currencies met in one computation."""

    def __init__(self, left: "Money", right: "Money"):
        super().__init__(f"{left} and {right} are in different currencies")
        self.left = left
        self.right = right


class Money:
    """An amount of money.  `source` is the claim field it came from, if any."""

    __slots__ = ("amount", "currency", "source")

    def __init__(self, amount: Decimal, currency: str | None, source: str | None = None):
        self.amount = amount
        self.currency = currency
        self.source = source

    def _currency_with(self, other: "Money") -> str | None:
        if self.currency == other.currency or other.currency is None:
            return self.currency
        if self.currency is None:
            return other.currency
        raise CurrencyMismatch(self, other)

    def _source_with(self, other: "Money") -> str | None:
        return self.source or other.source

    def __add__(self, other):
        if isinstance(other, Money):
            return Money(self.amount + other.amount, self._currency_with(other), self._source_with(other))
        return NotImplemented

    def __sub__(self, other):
        if isinstance(other, Money):
            return Money(self.amount - other.amount, self._currency_with(other), self._source_with(other))
        return NotImplemented

    def __mul__(self, other):
        if isinstance(other, (Decimal, int)) and not isinstance(other, bool):
            return Money(self.amount * other, self.currency, self.source)
        return NotImplemented

    __rmul__ = __mul__

    def __truediv__(self, other):
        if isinstance(other, Money):
            self._currency_with(other)
            return self.amount / other.amount
        if isinstance(other, (Decimal, int)) and not isinstance(other, bool):
            return Money(self.amount / other, self.currency, self.source)
        return NotImplemented

    def __neg__(self):
        return Money(-self.amount, self.currency, self.source)

    def __abs__(self):
        return Money(abs(self.amount), self.currency, self.source)

    def _compare(self, other) -> tuple[Decimal, Decimal]:
        if not isinstance(other, Money):
            raise TypeError(f"cannot compare money with {type(other).__name__}")
        self._currency_with(other)
        return self.amount, other.amount

    def __eq__(self, other):
        if not isinstance(other, Money):
            return NotImplemented
        a, b = self._compare(other)
        return a == b

    def __ne__(self, other):
        if not isinstance(other, Money):
            return NotImplemented
        a, b = self._compare(other)
        return a != b

    def __lt__(self, other):
        a, b = self._compare(other)
        return a < b

    def __le__(self, other):
        a, b = self._compare(other)
        return a <= b

    def __gt__(self, other):
        a, b = self._compare(other)
        return a > b

    def __ge__(self, other):
        a, b = self._compare(other)
        return a >= b

    __hash__ = None  # mutable-looking equality across currencies: not a dict key

    def rounded(self, currency: str | None = None) -> "Money":
        """Half-up to the minor unit of the currency (this one, or `currency` for a bare zero)."""
        code = self.currency or currency
        places = MINOR_UNITS.get(code, 2)
        quantum = Decimal(1).scaleb(-places)
        return Money(self.amount.quantize(quantum, rounding=ROUND_HALF_UP), code, self.source)

    def to_dict(self) -> dict:
        return {"amount": str(self.amount), "currency": self.currency}

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}" if self.currency else f"{self.amount}"

    def __repr__(self) -> str:
        return f"Money({str(self.amount)!r}, {self.currency!r})"


class Duration:
    """A duration: whole calendar months, then days (`12 months`, `6 days`, `2 years`), or an exact
    time span in seconds (`12 hours`, `30 minutes`, one date-time minus another).

    Calendar durations move dates (a month keeps the day of the month, clamped to the month's
    end); time spans move date-times and compare with each other, and one divided by another is
    a number (`floor(delay / 12 hours)`: the full 12 hours in a delay). The type checker keeps
    the two apart: a date has no time of day to move by hours.
    """

    __slots__ = ("months", "days", "seconds")

    def __init__(self, months: int = 0, days: int = 0, seconds: Decimal | int = 0):
        self.months = months
        self.days = days
        self.seconds = seconds

    def __radd__(self, other):
        if type(other) is date and not self.months:       # the commonest: a date and days (`+ 14 days`)
            try:
                return other + timedelta(self.days)
            except OverflowError:
                pass                                      # shift says so
        if isinstance(other, (date, datetime)):
            return shift(other, self.months, self.days, self.seconds)
        return NotImplemented

    def __rsub__(self, other):
        if type(other) is date and not self.months:
            try:
                return other + timedelta(-self.days)
            except OverflowError:
                pass
        if isinstance(other, (date, datetime)):
            return shift(other, -self.months, -self.days, -self.seconds)
        return NotImplemented

    # time spans ------------------------------------------------------------------------------
    def __add__(self, other):
        if isinstance(other, Duration):
            return Duration(self.months + other.months, self.days + other.days, self.seconds + other.seconds)
        return NotImplemented

    def __sub__(self, other):
        if isinstance(other, Duration):
            return Duration(self.months - other.months, self.days - other.days, self.seconds - other.seconds)
        return NotImplemented

    def __mul__(self, other):
        if isinstance(other, (int, Decimal)) and not isinstance(other, bool):
            return Duration(self.months, self.days, self.seconds * other)
        return NotImplemented

    __rmul__ = __mul__

    def __truediv__(self, other):
        if isinstance(other, Duration):
            return Decimal(self.seconds) / Decimal(other.seconds)
        if isinstance(other, (int, Decimal)) and not isinstance(other, bool):
            return Duration(self.months, self.days, Decimal(self.seconds) / other)
        return NotImplemented

    def __neg__(self):
        return Duration(-self.months, -self.days, -self.seconds)

    def __lt__(self, other):
        return self.seconds < other.seconds

    def __le__(self, other):
        return self.seconds <= other.seconds

    def __gt__(self, other):
        return self.seconds > other.seconds

    def __ge__(self, other):
        return self.seconds >= other.seconds

    def __eq__(self, other):
        return isinstance(other, Duration) and \
            (self.months, self.days, self.seconds) == (other.months, other.days, other.seconds)

    def __hash__(self):
        return hash((self.months, self.days, self.seconds))

    def __str__(self) -> str:
        parts = []
        if self.months:
            parts.append(f"{self.months} months")
        if self.days:
            parts.append(f"{self.days} days")
        if self.seconds:
            sign, seconds = ("-", -self.seconds) if self.seconds < 0 else ("", self.seconds)
            hours, rest = divmod(seconds, 3600)
            minutes, seconds = divmod(rest, 60)
            span = [f"{hours} hours" if hours else "", f"{minutes} minutes" if minutes else "",
                    f"{seconds} seconds" if seconds else ""]
            parts.append(sign + " ".join(p for p in span if p))
        return " ".join(parts) or "0 days"

    __repr__ = __str__


def elapsed(start: datetime, end: datetime) -> Duration:
    """The exact time span from `start` to `end` (negative when `end` is earlier), in seconds."""
    delta = end - start
    seconds = delta.days * 86400 + delta.seconds
    if delta.microseconds:
        return Duration(seconds=seconds + Decimal(delta.microseconds) / 1_000_000)
    return Duration(seconds=seconds)


def shift(day, months: int, days: int, seconds=0):
    """`day` (a date or a date-time) moved by whole calendar months, then days, then seconds; past
    the calendar (year 1 to 9999) is an `EvaluationError`, the claim's, not a crash."""
    try:
        if isinstance(day, datetime):
            moved = datetime.combine(add_months(day.date(), months), day.timetz()) if months else day
            whole = int(seconds)
            return moved + timedelta(days=days, seconds=whole,
                                     microseconds=int((Decimal(seconds) - whole) * 1_000_000))
        return add_months(day, months) + timedelta(days=days)
    except (OverflowError, ValueError):
        raise EvaluationError(f"a date moved by {Duration(months, days, seconds)} is outside the calendar "
                              "(years 1 to 9999)", "out-of-range") from None


def add_months(day: date, months: int) -> date:
    """`day` plus whole calendar months, the day of the month clamped to the month's end.

    2024-01-31 + 1 month = 2024-02-29.
    """
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    month += 1
    if day.day <= 28:                                   # every month has it
        return date(year, month, day.day)
    return date(year, month, min(day.day, _last_day(year, month)))


_DAYS_IN_MONTH = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _last_day(year: int, month: int) -> int:
    if month != 2:
        return _DAYS_IN_MONTH[month]
    return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28


def months_between(start: date, end: date) -> int:
    """Whole calendar months from `start` to `end`: the largest n with start + n months <= end.

    2022-01-31 to 2025-02-28 is 37; to 2025-02-27 is 36.  Negative when end < start.
    """
    n = (end.year - start.year) * 12 + (end.month - start.month)
    if n > 0:
        # start + n months is in end's month, on start's day clamped to the month's end: after
        # end only when end's day is before start's and not the last of its month (then n - 1,
        # a month earlier, is before end)
        day = end.day
        if day >= start.day or day == _last_day(end.year, end.month):
            return n
        return n - 1
    if n == 0:
        return 0
    while add_months(start, n) > end:
        n -= 1
    while add_months(start, n + 1) <= end:
        n += 1
    return n


def days_between(start: date, end: date) -> int:
    """Days from `start` to `end` (negative when end is earlier)."""
    return (end - start).days


class LookupTable:
    """A product table: rows by key (a country, a code), with an optional default row."""

    __slots__ = ("name", "clause", "rows", "default", "has_default")

    def __init__(self, name: str, clause: str | None, rows: dict, default=None, has_default: bool = False):
        self.name = name
        self.clause = clause
        self.rows = rows
        self.default = default
        self.has_default = has_default

    def find(self, key):
        """(value, the row's key), the key None for the default row. No row and no default: an
        `EvaluationError`."""
        value = self.rows.get(key, _MISSING)
        if value is not _MISSING:
            return value, key
        if not self.has_default:
            raise EvaluationError(self.missing(key), "lookup")
        return self.default, None

    def missing(self, key) -> str:
        """Why a key (None: one not to be shown) finds nothing."""
        shown = "this key" if key is None else repr(key)
        return f"table '{self.name}' has no row for {shown} and no default"


class Band(tuple):
    """One band: (low, high, value, inclusive, label). A key is in it when low <= key and key <= high
    (inclusive) or key < high; `high` None: and more. `label` is how the wording writes the band."""
    __slots__ = ()

    @property
    def low(self):
        return self[0]

    @property
    def label(self) -> str:
        return self[4]


class BandSchedule:
    """Bands of a number, a decimal or an amount, in order, without gaps or overlaps (checked at load)."""

    __slots__ = ("name", "clause", "unit", "bands", "whole")

    def __init__(self, name: str, clause: str | None, unit: str, bands: tuple):
        self.name = name
        self.clause = clause
        self.unit = unit
        self.bands = bands          # (Band, ...)
        self.whole = _whole_keys(bands)

    def find(self, key):
        """(value, the Band) `key` falls in; in none of them, an `EvaluationError`."""
        if type(key) is int and self.whole is not None:
            found = self.whole.get(key)
            if found is not None:
                return found
        found = _band_of(self.bands, key)
        if found is None:
            raise EvaluationError(self.missing(key), "lookup")
        return found

    def missing(self, key) -> str:
        """Why a key (None: one not to be shown) finds no band."""
        shown = "the value" if key is None else f"{key} {self.unit}"
        return f"{shown} falls in no band of '{self.name}'"


def _band_of(bands: tuple, key):
    """(value, the Band) `key` falls in, or None."""
    for band in bands:
        low, high, value, inclusive, _ = band
        if key >= low and (high is None or (key <= high if inclusive else key < high)):
            return value, band
    return None


def _whole_keys(bands: tuple) -> dict | None:
    """Bands of whole numbers (months, days): (value, the Band) of each whole key from the lowest
    bound to one past the highest, found once (a key elsewhere is looked for band by band); None
    for bands of decimals or amounts, or of a wide range."""
    bounds = [band[0] for band in bands] + [band[1] for band in bands if band[1] is not None]
    if not bounds or any(type(bound) is not int for bound in bounds) or max(bounds) - min(bounds) > 2000:
        return None
    found = {}
    for key in range(min(bounds), max(bounds) + 2):
        band = _band_of(bands, key)
        if band is not None:
            found[key] = band
    return found


_MISSING = object()
