"""Compiled expressions: exact Decimal semantics, folding, and nothing but allowed names."""
from datetime import date
from decimal import Decimal

import pytest

from policyconf.dsl import types as t
from policyconf.dsl import typed as T
from policyconf.dsl.checker import FieldInfo, Scope, check
from policyconf.dsl.compiler import compile_expression
from policyconf.dsl.fold import fold
from policyconf.dsl.errors import ExpressionError
from policyconf.dsl.parser import parse
from policyconf.dsl.values import Band, BandSchedule, CurrencyMismatch, LookupTable, Money


def run(text, values=None, fields=None, currency=None):
    """Parse, check, fold and compile `text`; run it; return (compiled, result, what lookups used)."""
    scope = Scope(fields={path: FieldInfo(type_) for path, type_ in (fields or {}).items()},
                  tables={"excess": t.Table(t.Text("country"), t.Money(None)), "rates": t.Bands(t.NUMBER)})
    named = {"excess": LookupTable("excess", "E.3", {"DK": Money(Decimal("375.00"), "DKK")},
                                   Money(Decimal("50.00"), "EUR"), True),
             "rates": BandSchedule("rates", "F.2", "days", (Band((0, 183, Decimal(0), True, "0-183")),
                                                           Band((184, None, Decimal("0.1"), True, "184 and more"))))}
    typed, problems = check(parse(text), scope)
    assert problems == []
    compiled = compile_expression(fold(typed), named)
    trace = []
    result = compiled.evaluate(values or {}, currency, trace=trace)
    return compiled, result, [(table.name, key, row, value) for table, key, row, value, _ in trace]


def value(text, values=None, fields=None):
    return run(text, values, fields)[1]


def test_decimal_arithmetic_is_exact():
    assert value("0.1 + 0.2") == Decimal("0.3")
    assert value("1 / 4 * 4") == 1
    assert value("1 / 3") == Decimal("0.3333333333333333333333333333")
    assert value("7 / 2") == Decimal("3.5")          # integers divide as decimals, never float


def test_money_arithmetic():
    price = Money(Decimal("1099.00"), "EUR", "item.price")
    result = value("item.price * (1 - 10%) - 50.00 EUR", {"item.price": price}, {"item.price": t.Money(None)})
    assert isinstance(result, Money)
    assert (result.amount, result.currency) == (Decimal("939.1000"), "EUR")


def test_currency_mismatch_at_run_time():
    price = Money(Decimal("10.00"), "DKK", "item.price")
    with pytest.raises(CurrencyMismatch):
        value("item.price - 50.00 EUR", {"item.price": price}, {"item.price": t.Money(None)})


def test_zero_takes_the_currency_it_meets():
    price = Money(Decimal("10.00"), "CNY", "x")
    result = value("max(0, item.price - 20.00 CNY)", {"item.price": price}, {"item.price": t.Money(None)})
    assert (result.amount, result.currency) == (Decimal("0"), "CNY")


def test_calendar_arithmetic_clamps_month_ends():
    fields = {"item.purchased": t.DATE}
    assert value("item.purchased + 1 month", {"item.purchased": date(2024, 1, 31)}, fields) == date(2024, 2, 29)
    assert value("item.purchased + 1 year", {"item.purchased": date(2024, 2, 29)}, fields) == date(2025, 2, 28)
    assert value("item.purchased - 6 days", {"item.purchased": date(2024, 3, 1)}, fields) == date(2024, 2, 24)
    assert value("months_between(2022-01-31, 2025-02-28)") == 37
    assert value("months_between(2022-01-31, 2025-02-27)") == 36
    assert value("days_between(2024-01-01, 2024-12-31)") == 365


def test_lookups_say_what_they_used():
    country = {"claim.c": t.Text("country")}
    _, result, used = run("excess[claim.c]", {"claim.c": "DK"}, country, currency="DKK")
    assert result.currency == "DKK" and used == [("excess", "DK", "DK", Money(Decimal("375.00"), "DKK"))]
    _, result, used = run("excess[claim.c]", {"claim.c": "RO"}, country, currency="EUR")
    assert result.currency == "EUR" and used[0][2] is None            # the default row
    with pytest.raises(CurrencyMismatch):                             # a row in another currency than the claim's
        run("excess[claim.c]", {"claim.c": "DK"}, country, currency="EUR")
    _, result, used = run("rates[claim.n]", {"claim.n": 184}, {"claim.n": t.INTEGER})
    assert result == Decimal("0.1") and used[0][:2] == ("rates", 184) and used[0][2].label == "184 and more"


def test_constant_expressions_are_folded_at_load():
    compiled, result, _ = run("(1 + 2) * 10%")
    assert compiled.is_constant and compiled.constant == Decimal("0.3")
    assert "K[" in compiled.source and "+" not in compiled.source


def test_constant_division_by_zero_is_a_load_error():
    typed, problems = check(parse("1 + 2 / (3 - 3)"), Scope())
    assert problems == []
    with pytest.raises(ExpressionError) as raised:
        fold(typed)
    assert raised.value.code == "expr.division-by-zero"
    assert raised.value.column == 5


def test_folding_is_a_pass_over_the_typed_ast():
    typed, _ = check(parse("if 1 > 2 then claim.n else claim.n * (2 + 3)"),
                     Scope(fields={"claim.n": FieldInfo(t.INTEGER)}))
    folded = fold(typed)
    # the known condition keeps one branch; 2 + 3 is computed; the field is left to each claim
    assert isinstance(folded, T.Binary) and folded.op == "mul"
    assert isinstance(folded.left, T.FieldRef) and folded.right == T.Const(1, 39, t.INTEGER, 5)


def test_short_circuit_keeps_absent_fields_unread():
    fields = {"claim.repairable": t.BOOL, "claim.repair_cost": t.Money(None)}
    result = value("claim.repairable and claim.repair_cost > 0",
                   {"claim.repairable": False, "claim.repair_cost": None}, fields)
    assert result is False


def test_generated_code_has_no_builtins_but_a_few_pure_ones():
    compiled, _, _ = run("1 + 1")
    assert set(compiled.function.__globals__["__builtins__"]) == {"enumerate", "min", "max", "bool", "len", "tuple"}
    from policyconf.dsl import runtime
    allowed = set(runtime.NAMESPACE) | {"K"}
    assert set(compiled.function.__globals__) <= allowed
    assert all(name.startswith("_") for name in runtime.NAMESPACE)
    # the only Python builtins reachable are these pure ones, under our names
    builtins = {value for value in runtime.FUNCTIONS.values() if type(value).__name__ == "builtin_function_or_method"}
    assert {f.__name__ for f in builtins} <= {"abs", "len", "all", "any", "floor", "ceil"}


def test_strings_from_the_file_never_enter_the_source():
    compiled, result, _ = run("'__import__(\"os\")' == 'x'")
    assert "__import__" not in compiled.source
    assert result is False


def test_round_half_up():
    price = Money(Decimal("0.009"), "EUR", "x")
    assert value("round(item.price)", {"item.price": price}, {"item.price": t.Money(None)}).amount == Decimal("0.01")
    assert value("round(2.345, 2)") == Decimal("2.35")
    assert value("round(2.5, 0)") == Decimal("3")
