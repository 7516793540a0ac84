"""Money, durations and calendar arithmetic."""
from datetime import date
from decimal import Decimal

import pytest

from policyconf.dsl.values import CurrencyMismatch, Duration, Money, add_months, days_between, months_between


def eur(amount):
    return Money(Decimal(amount), "EUR")


@pytest.mark.parametrize("amount, currency, expected", [
    ("139.005", "EUR", "139.01"),     # half-up, not half-even
    ("139.015", "EUR", "139.02"),
    ("2.5", "JPY", "3"),
    ("1.0005", "KWD", "1.001"),
    ("751.28", "EUR", "751.28"),
])
def test_rounding_half_up_to_minor_unit(amount, currency, expected):
    assert str(Money(Decimal(amount), currency).rounded().amount) == expected


def test_currencies_never_mix():
    with pytest.raises(CurrencyMismatch):
        eur("1") + Money(Decimal("1"), "DKK")
    with pytest.raises(CurrencyMismatch):
        eur("1") < Money(Decimal("1"), "DKK")


def test_bare_zero_adopts_currency():
    zero = Money(Decimal(0), None)
    assert (zero + eur("5")).currency == "EUR"
    assert max(zero, eur("-5")) is zero
    assert zero.rounded("CNY").to_dict() == {"amount": "0.00", "currency": "CNY"}


def test_money_is_not_a_number():
    with pytest.raises(TypeError):
        eur("1") + 1
    with pytest.raises(TypeError):
        eur("1") * eur("1")


@pytest.mark.parametrize("start, months, expected", [
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2023, 1, 31), 1, date(2023, 2, 28)),
    (date(2024, 2, 29), 12, date(2025, 2, 28)),
    (date(2024, 3, 31), -1, date(2024, 2, 29)),
    (date(2024, 12, 15), 1, date(2025, 1, 15)),
])
def test_add_months(start, months, expected):
    assert add_months(start, months) == expected


@pytest.mark.parametrize("start, end, expected", [
    (date(2022, 1, 31), date(2025, 2, 28), 37),
    (date(2022, 1, 31), date(2025, 2, 27), 36),
    (date(2023, 5, 20), date(2025, 8, 19), 26),
    (date(2023, 5, 20), date(2025, 8, 20), 27),
    (date(2024, 1, 31), date(2024, 2, 29), 1),
    (date(2024, 1, 31), date(2024, 1, 31), 0),
    (date(2024, 3, 1), date(2024, 2, 1), -1),
])
def test_months_between(start, end, expected):
    assert months_between(start, end) == expected


def test_months_between_agrees_with_add_months():
    start = date(2020, 1, 31)
    for offset in range(0, 900, 7):
        end = date.fromordinal(start.toordinal() + offset)
        n = months_between(start, end)
        assert add_months(start, n) <= end < add_months(start, n + 1)


def test_durations():
    assert date(2024, 1, 31) + Duration(months=1) == date(2024, 2, 29)
    assert date(2024, 1, 1) + Duration(days=6) == date(2024, 1, 7)
    assert date(2024, 3, 31) - Duration(months=1) == date(2024, 2, 29)
    assert days_between(date(2025, 1, 8), date(2025, 1, 10)) == 2
