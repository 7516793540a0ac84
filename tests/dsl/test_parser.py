"""The grammar and the AST builder: precedence, literals, positions, syntax errors."""
from decimal import Decimal

import pytest

from policyconf.dsl import ast
from policyconf.dsl.errors import ExpressionError
from policyconf.dsl.parser import MAX_DEPTH, parse


def test_precedence_multiplication_before_addition():
    node = parse("a + b * c")
    assert isinstance(node, ast.Binary) and node.op == "add"
    assert isinstance(node.right, ast.Binary) and node.right.op == "mul"


def test_precedence_comparison_before_and_before_or():
    node = parse("a < 1 or b and not c")
    assert node.op == "or"
    assert node.left.op == "lt"
    assert node.right.op == "and"
    assert isinstance(node.right.right, ast.Unary) and node.right.right.op == "not"


def test_if_then_else_is_lowest():
    node = parse("if a then 1 else 2 + 3")
    assert isinstance(node, ast.IfThenElse)
    assert node.otherwise.op == "add"


@pytest.mark.parametrize("text, expected", [
    ("12", ast.Number(1, 1, 12)),
    ("12.50", ast.Number(1, 1, Decimal("12.50"))),
    ("10%", ast.Percent(1, 1, Decimal("0.1"), "10%")),
    ("0.6%", ast.Percent(1, 1, Decimal("0.006"), "0.6%")),
    ("50.00 EUR", ast.MoneyLit(1, 1, Decimal("50.00"), "EUR")),
    ("6 days", ast.DurationLit(1, 1, 6, "days", "6 days")),
    ("1 day", ast.DurationLit(1, 1, 1, "days", "1 days")),
    ("12 months", ast.DurationLit(1, 1, 12, "months", "12 months")),
    ("2 years", ast.DurationLit(1, 1, 24, "months", "2 years")),
    ("2024-01-31", ast.DateLit(1, 1, "2024-01-31")),
    ('"vandalism"', ast.String(1, 1, "vandalism")),
    ("'vandalism'", ast.String(1, 1, "vandalism")),
    ("true", ast.Bool(1, 1, True)),
    ("false", ast.Bool(1, 1, False)),
])
def test_literals(text, expected):
    assert parse(text) == expected


def test_numbers_are_never_float():
    node = parse("0.1 + 0.2")
    assert type(node.left.value) is Decimal and type(node.right.value) is Decimal


def test_paths_calls_index_and_lists():
    node = parse('min(claim.repair_cost, excess_by_country[policy.holder.residence]) in ["a", "b"]')
    assert node.op == "in"
    call = node.left
    assert isinstance(call, ast.Call) and call.name == "min"
    assert call.args[0] == ast.Path(1, 5, ("claim", "repair_cost"))
    index = call.args[1]
    assert isinstance(index, ast.Index) and index.target == ast.Path(1, 24, ("excess_by_country",))
    assert isinstance(node.right, ast.ListExpr) and len(node.right.items) == 2


def test_not_in():
    node = parse("item.use not in ['private', 'company']")
    assert node.op == "not_in"


def test_keywords_are_not_names_but_prefixes_are():
    node = parse("iffy and notable or inside")
    assert node.left.left == ast.Path(1, 1, ("iffy",))
    assert node.right == ast.Path(1, 21, ("inside",))


def test_unit_words_are_names_where_a_name_is_expected():
    assert parse("days > 1").left == ast.Path(1, 1, ("days",))
    assert parse("days_owned").parts == ("days_owned",)


def test_positions_are_one_based_line_and_column():
    node = parse("a and\n  b == 1")
    assert node.right.line == 2 and node.right.column == 3


@pytest.mark.parametrize("text, message, line, column", [
    ("a = 1", "write '==' to compare", 1, 3),
    ("min(a b)", "missing ',' or ')'", 1, 7),
    ("a +", "expression ends too early; expected a value", 1, 4),
    ("if a then b", "expected 'else'", 1, 12),
    ("(((1)", "expected ')'", 1, 6),
    ("a and\n  b ==", "ends too early", 2, 7),
    ('"abc', "a string must end on the same line", 1, 1),
    ("then a", "'if' must come first", 1, 1),
    ("1.5 days", "whole number of days", 1, 1),
    ("", "empty expression", 1, 1),
    ("a # b", "unexpected character '#'", 1, 3),
])
def test_syntax_errors(text, message, line, column):
    with pytest.raises(ExpressionError) as raised:
        parse(text)
    error = raised.value
    assert error.code in ("expr.syntax", "expr.literal")
    assert message in error.message
    assert (error.line, error.column) == (line, column)


def test_deep_nesting_is_refused_before_parsing():
    with pytest.raises(ExpressionError) as raised:
        parse("(" * 5_000 + "1" + ")" * 5_000)
    assert raised.value.code == "expr.too-deep"
    assert raised.value.column == MAX_DEPTH + 1


def test_long_numbers_are_refused():
    with pytest.raises(ExpressionError) as raised:
        parse("1" * 50)
    assert raised.value.code == "expr.literal"


def test_parser_raises_only_its_own_error():
    for text in ["@", "1 +* 2", "[1,", "a..b", "f(,)", "EUR", "1 EUR EUR", "\x00", "' '' '"]:
        with pytest.raises(ExpressionError):
            parse(text)
