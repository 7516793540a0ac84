"""The shortcuts of dsl.values against what they stand for: months_between against the largest n
with start + n months <= end (found month by month), a date moved by days against shift, a band
schedule's table of whole keys against looking band by band."""
from __future__ import annotations

import random
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from policyconf.dsl.errors import EvaluationError
from policyconf.dsl.values import Band, BandSchedule, Duration, _band_of, add_months, months_between, shift

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
# months_between as it was written before its shortcut (from the months apart, step by step) is
# the hand-written references' own, independent of the engine: the reference here too
from handwritten_base import add_months as _months_later  # noqa: E402
from handwritten_base import months_between as _months_by_stepping  # noqa: E402


def _days(seed: int) -> list[date]:
    r = random.Random(seed)
    ends = [date(y, m, d) for y in (1900, 2000, 2023, 2024) for m in range(1, 13) for d in (1, 27, 28, 29, 30, 31)
            if d <= (date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)).day]
    return ends + [date.fromordinal(r.randrange(date(1, 1, 1).toordinal(), date(9999, 12, 31).toordinal()))
                   for _ in range(300)] + [date(1, 1, 1), date(9999, 12, 31)]


def test_months_between_is_what_stepping_month_by_month_finds():
    days = _days(1)
    for start in days:
        for end in days[::3]:
            assert months_between(start, end) == _months_by_stepping(start, end), (start, end)


def test_add_months_is_the_calendar_month_with_its_day_clamped():
    for start in _days(3):
        for months in (0, 1, 2, 11, 12, 13, 25, -1, -12, -13, 1200, -1200):
            try:
                expected = _months_later(start, months)
            except ValueError:                  # before year 1 or after 9999
                continue
            assert add_months(start, months) == expected, (start, months)


@pytest.mark.parametrize("days", [0, 1, 14, -14, 180, 3_000_000, -3_000_000, 10 ** 9])
def test_a_date_moved_by_days_is_what_shift_gives(days):
    for day in _days(2)[::5]:
        for sign, duration in ((1, Duration(days=days)), (-1, Duration(days=days, seconds=5))):
            try:
                expected = shift(day, 0, sign * days, sign * duration.seconds)
            except EvaluationError as error:
                with pytest.raises(EvaluationError) as raised:
                    day + duration if sign == 1 else day - duration
                assert raised.value.message == error.message
            else:
                assert (day + duration if sign == 1 else day - duration) == expected


def test_a_band_schedule_of_whole_numbers_finds_as_band_by_band():
    bands = (Band((0, 11, "a", True, "0-11")), Band((12, 24, "b", False, "12-23")), Band((24, None, "c", True, "24+")))
    schedule = BandSchedule("wear", "4", "months", bands)
    assert schedule.whole is not None
    for key in range(-5, 100):
        found = _band_of(bands, key)
        if found is None:
            with pytest.raises(EvaluationError):
                schedule.find(key)
        else:
            assert schedule.find(key) == found
    # a whole key given as a decimal, and bands of decimals, are looked for band by band
    assert schedule.find(Decimal("12.0")) == (bands[1][2], bands[1])
    assert BandSchedule("rate", None, "number", (Band((Decimal("0.5"), None, "a", True, "0.5+")),)).whole is None
