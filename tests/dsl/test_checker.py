"""Type checking and name resolution at load: every problem, with its position."""
import pytest

from policyconf.dsl import types as t
from policyconf.dsl import typed as T
from policyconf.dsl.checker import FieldInfo, Scope, check as check_tree
from policyconf.dsl.iso import COUNTRIES
from policyconf.dsl.parser import parse

EVENTS = frozenset({"drop", "liquid.splash", "liquid.immersion", "theft.robbery"})


def scope(**extra) -> Scope:
    base = dict(
        fields={
            "claim.repair_cost": FieldInfo(t.Money(None), may_be_absent=True),
            "item.price": FieldInfo(t.Money(None)),
            "item.purchased": FieldInfo(t.DATE),
            "claim.reported": FieldInfo(t.DATE),
            "policy.holder.age": FieldInfo(t.INTEGER),
            "policy.holder.residence": FieldInfo(t.Text("country", COUNTRIES)),
            "claim.event": FieldInfo(t.Text("event", EVENTS, frozenset({"liquid", "theft"}))),
            "claim.circumstances": FieldInfo(t.ListOf(t.Text("code", frozenset({"modified", "misuse"})))),
            "claim.repairable": FieldInfo(t.BOOL),
            "claim.replacement": FieldInfo(t.OBJECT, may_be_absent=True),
            "claim.negligence_share": FieldInfo(t.NUMBER),
        },
        tables={"excess": t.Table(t.Text("country", COUNTRIES), t.Money(None)), "rates": t.Bands(t.NUMBER)},
        event_groups={"covered": frozenset({"drop", "liquid.splash"}), "liquid": frozenset({"liquid.splash"})},
        definitions={"days_owned": t.INTEGER, "eur_fee": t.Money("EUR")})
    return Scope(**{**base, **extra})


def check(text, expect=None, **extra):
    typed, problems = check_tree(parse(text), scope(**extra), expect)
    return (typed.type if typed is not None else None), [(p.code, p.message, p.line, p.column) for p in problems]


@pytest.mark.parametrize("text, expected", [
    ("claim.repair_cost - 50.00 EUR", t.Money("EUR")),
    ("item.price * (1 - 10%)", t.Money(None)),
    ("item.price / 2", t.Money(None)),
    ("item.price / claim.repair_cost", t.NUMBER),
    ("days_owned + 1", t.INTEGER),
    ("days_owned / 2", t.NUMBER),
    ("item.purchased + 12 months", t.DATE),
    ("days_between(item.purchased, claim.reported)", t.INTEGER),
    ("months_between(item.purchased, claim.reported) >= 12", t.BOOL),
    ("min(claim.repair_cost, item.price)", t.Money(None)),
    ("max(0, item.price - claim.repair_cost)", t.Money(None)),
    ("if claim.repairable then claim.repair_cost else 0", t.Money(None)),
    ("excess[policy.holder.residence]", t.Money(None)),
    ("rates[days_owned]", t.NUMBER),
    ('"misuse" in claim.circumstances', t.BOOL),
    ("claim.event in events.covered", t.BOOL),
    ("has(claim.replacement)", t.BOOL),
    ("len(claim.circumstances) > 0", t.BOOL),
    ("abs(claim.negligence_share - 1)", t.NUMBER),
])
def test_types(text, expected):
    result, problems = check(text)
    assert problems == []
    assert result == expected


@pytest.mark.parametrize("text, code, fragment, column", [
    ("claim.repair_cots > 0", "expr.unknown-field", "did you mean 'claim.repair_cost'", 1),
    ("day_owned > 1", "expr.unknown-name", "did you mean 'days_owned'", 1),
    ("mn(1, 2)", "expr.unknown-function", "did you mean 'min'", 1),
    ("item.price + item.purchased", "expr.type", "cannot use '+' on a money and a date", 1),
    ("eur_fee > 10.00 DKK", "expr.currency", "cannot compare EUR with DKK", 1),
    ("eur_fee + 10.00 DKK", "expr.currency", "cannot add DKK to EUR", 1),
    ("min(eur_fee, 1.00 GBP)", "expr.currency", "mixes EUR and GBP", 14),
    ("item.price * item.price", "expr.type", "cannot multiply an amount by an amount", 1),
    ("claim.reported - item.purchased", "expr.type", "use days_between", 1),
    ("policy.holder.age and claim.repairable", "expr.type", "'and' joins conditions", 1),
    ("not days_owned", "expr.type", "'not' needs a condition", 1),
    ("if days_owned then 1 else 2", "expr.type", "must be a bool", 4),
    ('claim.event == "liquid"', "expr.unknown-code", "is a group of events", 16),
    ('claim.event == "drpo"', "expr.unknown-code", "did you mean 'drop'", 16),
    ('policy.holder.residence == "UK"', "expr.unknown-code", "not an ISO 3166-1 country code", 28),
    ('"misuse2" in claim.circumstances', "expr.unknown-code", "did you mean 'misuse'", 1),
    ("has(item.price)", "expr.type", "always present", 5),
    ("claim.replacement", "expr.type", "is an object", 1),
    ("excess[days_owned]", "expr.type", "looked up by country", 8),
    ("days_owned[1]", "expr.type", "only tables and band schedules", 1),
    ("2025-02-30 > item.purchased", "expr.literal", "not a calendar date", 1),
    ("12.345 EUR", "expr.literal", "more decimals than EUR has", 1),
    ("1 XYZ", "expr.currency", "not an ISO 4217 currency code", 1),
    ("days_between(item.purchased)", "expr.type", "takes two dates", 1),
    ("events.liquid2", "expr.unknown-name", "did you mean 'liquid'", 1),
    ("[1, \"a\"]", "expr.type", "cannot mix", 5),
    ("days_owned < item.purchased", "expr.type", "cannot compare an integer with a date", 1),
])
def test_errors(text, code, fragment, column):
    _, problems = check(text)
    assert problems, text
    got_code, message, line, got_column = problems[0]
    assert got_code == code
    assert fragment in message
    assert got_column == column


def test_every_problem_is_reported_not_just_the_first():
    _, problems = check("foo > 1 and bar(2) and claim.nope")
    assert [p[0] for p in problems] == ["expr.unknown-name", "expr.unknown-function", "expr.unknown-field"]


def test_expected_type():
    _, problems = check("days_owned + 1", expect=t.BOOL)
    assert problems and "must be a bool, not an integer" in problems[0][1]


def test_zero_fits_any_money():
    _, problems = check("0", expect=t.Money(None))
    assert problems == []


def test_the_checker_returns_a_typed_ast_with_every_name_resolved():
    typed, problems = check_tree(parse("days_owned > 1 and excess[policy.holder.residence] > 0"), scope())
    assert problems == []
    kinds = {type(node).__name__ for node in T.walk(typed)}
    assert {"DefinitionRef", "FieldRef", "Lookup", "Binary", "Const"} <= kinds
    assert all(node.type != t.ERROR for node in T.walk(typed))
    lookup = next(node for node in T.walk(typed) if isinstance(node, T.Lookup))
    assert (lookup.table, lookup.type) == ("excess", t.Money(None))


def test_a_scope_says_what_a_use_may_read():
    # a required_when condition reads claim fields only: a definition there is refused, and why
    fields_only = Scope(fields=scope().fields, reads="a required_when condition reads claim fields only",
                        elsewhere={"days_owned": "a definition", "excess": "a table"})
    typed, problems = check_tree(parse("claim.repairable and days_owned > 3"), fields_only)
    assert typed is None
    assert [(p.code, p.message, p.column) for p in problems] == [
        ("expr.unknown-name", "a required_when condition reads claim fields only; 'days_owned' is a definition", 22)]
    _, problems = check_tree(parse("excess[policy.holder.residence] > 0"), fields_only)
    assert problems and "'excess' is a table" in problems[0].message


def test_decision_values_are_for_invariants_only():
    _, problems = check("decision.payout > 0")
    assert problems and "only be read by invariants" in problems[0][1]
    result, problems = check("decision.payout > 0", decision={"payout": t.Money(None)})
    assert problems == [] and result == t.BOOL


def test_reading_what_failed_elsewhere_is_silent():
    typed, problems = check_tree(parse("broken + 1"), scope(definitions={"broken": t.ERROR}))
    assert typed is None and problems == []
