"""The language over lists of records and over time: queries, aggregates, date-times, time spans.

Each expression is taken through every stage (parse, check, fold, compile) and run on values as
the claim validator makes them: records are dicts of item values, money is `Money`, date-times
are aware `datetime`s.
"""
from datetime import date, datetime
from decimal import Decimal

import pytest

from policyconf.dsl import types as t
from policyconf.dsl.checker import FieldInfo, Scope
from policyconf.dsl.pipeline import run
from policyconf.dsl.runtime import CONTEXT, Selected
from policyconf.dsl.values import Duration, Money

HISTORY = t.Record("policy.claims_history", (("condition", t.Text("text"), False), ("treatment_date", t.DATE, False),
                                            ("paid", t.Money(None), False), ("note", t.Text("text"), True)))
SCOPE = Scope(fields={
    "policy.claims_history": FieldInfo(t.ListOf(HISTORY)),
    "claim.condition": FieldInfo(t.Text("text")),
    "policy.start": FieldInfo(t.DATE), "policy.end": FieldInfo(t.DATE),
    "claim.scheduled": FieldInfo(t.DATETIME), "claim.actual": FieldInfo(t.DATETIME),
    "claim.tags": FieldInfo(t.ListOf(t.Text("code", frozenset({"a", "b", "c"})))),
    "claim.count": FieldInfo(t.INTEGER),
})


def gbp(amount: str) -> Money:
    return Money(Decimal(amount), "GBP", "x")


def entry(condition, day, paid, note=None):
    return {"condition": condition, "treatment_date": day, "paid": gbp(paid), "note": note}


VALUES = {
    "policy.claims_history": (entry("otitis", date(2025, 4, 2), "300.00"),
                              entry("otitis", date(2024, 6, 2), "900.00", "last year"),
                              entry("fracture", date(2025, 5, 20), "2500.00")),
    "claim.condition": "otitis", "policy.start": date(2025, 3, 1), "policy.end": date(2026, 2, 28),
    "claim.scheduled": datetime.fromisoformat("2025-07-01T09:00:00+01:00"),
    "claim.actual": datetime.fromisoformat("2025-07-02T21:30:00+01:00"),
    "claim.tags": ("a", "c"), "claim.count": 7,
}


def value(text, values=VALUES):
    compiled, problems = run(text, SCOPE)
    assert problems == [], [(p.code, p.message) for p in problems]
    trace = []
    import decimal
    with decimal.localcontext(CONTEXT):
        return compiled.evaluate(values, trace=trace), trace


def problems(text):
    compiled, found = run(text, SCOPE)
    assert compiled is None
    return [(p.code, p.message, p.column) for p in found]


@pytest.mark.parametrize("text, expected", [
    ("count(h in policy.claims_history where h.condition == claim.condition)", 2),
    ("count(policy.claims_history)", 3),
    ("len(policy.claims_history)", 3),
    ("sum(h.paid for h in policy.claims_history where h.treatment_date between policy.start and policy.end)",
     gbp("2800.00")),
    ("sum(h.paid for h in policy.claims_history where h.condition == 'nothing')", Money(Decimal(0), None)),
    ("any(h in policy.claims_history where h.paid > 2000.00 GBP)", True),
    ("all(h in policy.claims_history where h.paid > 2000.00 GBP)", False),
    ("all(h in policy.claims_history where h.paid > 0)", True),
    ("any(h.paid > 2000.00 GBP for h in policy.claims_history)", True),
    ("max(h.paid for h in policy.claims_history)", gbp("2500.00")),
    ("min(h.treatment_date for h in policy.claims_history)", date(2024, 6, 2)),
    ("count(h in policy.claims_history where has(h.note))", 1),
    ("count(h in (h in policy.claims_history where h.paid > 500.00 GBP) where h.condition == 'otitis')", 1),
    ("sum([1, 2, 3])", 6),
    ('"c" in claim.tags', True),
])
def test_aggregates(text, expected):
    result, _ = value(text)
    assert result == expected and type(result) is type(expected)


def test_a_query_tells_which_elements_counted():
    _, noted = value("sum(h.paid for h in policy.claims_history where h.condition == claim.condition)")
    [selected] = noted
    assert isinstance(selected, Selected)
    what, where, indexes, total = selected
    assert (what, indexes, total) == ("policy.claims_history", (0, 1), 3)


def test_a_query_of_a_query_names_the_elements_of_the_claims_list():
    _, noted = value("count(h in (h in policy.claims_history where h.paid > 500.00 GBP) where h.condition == 'otitis')")
    assert [(what, indexes) for what, _, indexes, _ in noted] == [("policy.claims_history", (1, 2)),
                                                                ("policy.claims_history", (1,))]


def test_min_of_no_values_is_the_claims_evaluation_error():
    from policyconf.dsl.errors import EvaluationError
    with pytest.raises(EvaluationError) as raised:
        value("min(h.paid for h in policy.claims_history where h.condition == 'nothing')")
    assert "min() of no values" in raised.value.message


@pytest.mark.parametrize("text, expected", [
    ("claim.actual - claim.scheduled", Duration(seconds=36 * 3600 + 30 * 60)),
    ("floor((claim.actual - claim.scheduled) / 12 hours)", 3),
    ("ceil((claim.actual - claim.scheduled) / 12 hours)", 4),
    ("claim.actual - claim.scheduled >= 36 hours", True),
    ("claim.actual - claim.scheduled < 36 hours + 30 minutes", False),
    ("hours_between(claim.scheduled, claim.actual)", 36),
    ("minutes_between(claim.scheduled, claim.actual)", 36 * 60 + 30),
    ("hours_between(claim.actual, claim.scheduled)", -37),          # whole units, floored
    ("date_of(claim.scheduled)", date(2025, 7, 1)),
    ("date_of(2025-07-01T23:30:00-05:00)", date(2025, 7, 1)),       # in its own offset (UTC: 2 July)
    ("claim.scheduled + 12 hours", datetime.fromisoformat("2025-07-01T21:00:00+01:00")),
    ("claim.scheduled + 1 month", datetime.fromisoformat("2025-08-01T09:00:00+01:00")),
    ("2025-07-01T08:00:00Z == claim.scheduled", True),              # compared as instants, in UTC
    ("2025-07-01T08:00:01Z > claim.scheduled", True),
    ("years_between(1950-05-01, 2025-05-01)", 75),
    ("years_between(1950-05-01, 2025-04-30)", 74),
    ("weeks_between(2025-01-01, 2025-02-26)", 8),
    ("weeks_between(2025-01-01, 2025-02-25)", 7),
    ("claim.count between 7 and 8", True),
    ("claim.count between 8 and 9", False),
    ("policy.start + 2 weeks", date(2025, 3, 15)),
])
def test_time(text, expected):
    result, _ = value(text)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("text, code, fragment, column", [
    ("count(h in policy.claims_history where h.paied > 0)", "expr.unknown-field",
     "policy.claims_history has no item field 'paied'; did you mean 'paid'?", 40),
    ("sum(h.condition for h in policy.claims_history)", "expr.type", "sum() adds numbers, amounts or time spans", 1),
    ("sum([10.00 EUR, 5.00 GBP])", "expr.currency", "cannot mix amounts in EUR and GBP", 17),
    ("any(policy.claims_history)", "expr.type", "any() takes conditions", 1),
    ("count(claim.count)", "expr.type", "count() takes one list", 1),
    ("count(claim in policy.claims_history where claim.paid > 0)", "expr.unknown-name",
     "'claim' is already the start of a field path", 7),
    ("count(h in claim.count where h > 1)", "expr.type", "needs a list", 12),
    ("policy.start + 2 hours", "expr.type", "a date has no time of day", 1),
    ("claim.scheduled > policy.start", "expr.type", "compare date_of(the date-time) with the date", 1),
    ("days_between(claim.scheduled, claim.actual)", "expr.type", "date_of(x) is a date-time's date", 1),
    ("hours_between(policy.start, policy.end)", "expr.type", "takes two date-times", 1),
    ("2025-07-01T10:00:00 == claim.scheduled", "expr.syntax", "a date-time needs its UTC offset", 1),
    ("h.paid > 0 where h", "expr.syntax", "'where' needs `name in list` before it", 1),
    ("has(h.note for h in policy.claims_history)", "expr.type", "has() takes one claim field", 1),
])
def test_mistakes_are_reported_at_load(text, code, fragment, column):
    found = problems(text)
    assert found, text
    got_code, message, got_column = found[0]
    assert (got_code, got_column) == (code, column), found
    assert fragment in message


def test_a_time_span_reads_as_hours_and_minutes():
    assert str(Duration(seconds=35 * 3600 + 59 * 60)) == "35 hours 59 minutes"
    assert str(Duration(months=12)) == "12 months"
    assert str(Duration(days=6)) == "6 days"
