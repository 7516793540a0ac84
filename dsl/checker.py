"""Name resolution and type checking, done once when a product loads.

`Scope` says what an expression may read: the claim fields a product declares,
its definitions, tables, band schedules and event groups.  `check` returns
the type of an expression and the problems found (all of them, not the first),
and leaves, for the compiler, what each name resolved to.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import date
from typing import Callable

from . import ast
from . import types as t
from .errors import (CURRENCY, CYCLE, TYPE, UNKNOWN_CODE, UNKNOWN_FIELD, UNKNOWN_FUNCTION,
                     UNKNOWN_NAME, BAD_LITERAL, ExpressionError)
from .iso import COUNTRIES, MINOR_UNITS

CLAIM_ROOTS = ("policy", "item", "claim")
FUNCTIONS = ("abs", "days_between", "has", "len", "max", "min", "months_between", "round")
KEYWORDS = frozenset({"if", "then", "else", "and", "or", "not", "in", "true", "false"})


def suggest(name: str, candidates) -> str:
    """' (did you mean "x"?)' or ''."""
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


@dataclass(frozen=True)
class FieldInfo:
    type: t.Type
    may_be_absent: bool = False     # optional without a default: has() applies


@dataclass
class Scope:
    """What expressions of one product may name.  Built by the product loader."""
    fields: dict[str, FieldInfo] = field(default_factory=dict)
    tables: dict[str, t.Type] = field(default_factory=dict)        # Table or Bands types
    event_groups: dict[str, frozenset[str]] = field(default_factory=dict)
    # the decision's values (`decision.payout`...), readable by invariants only
    decision: dict[str, t.Type] = field(default_factory=dict)
    # name -> callable returning the definition's type (it checks the definition once)
    definitions: dict[str, Callable[[], t.Type]] = field(default_factory=dict)

    def names(self) -> list[str]:
        return sorted(set(self.tables) | set(self.definitions))


@dataclass
class Resolution:
    """What the checker learnt, for the compiler: keyed by id() of AST nodes."""
    kinds: dict[int, str] = field(default_factory=dict)        # Path: field/definition/table/events
    types: dict[int, t.Type] = field(default_factory=dict)
    dates: dict[int, date] = field(default_factory=dict)
    zero_money: set[int] = field(default_factory=set)          # literal 0 used as money
    definitions_used: set[str] = field(default_factory=set)
    fields_used: set[str] = field(default_factory=set)


class Checker:
    def __init__(self, scope: Scope):
        self.scope = scope
        self.problems: list[ExpressionError] = []
        self.resolution = Resolution()

    # -- entry points -------------------------------------------------------
    def check(self, node: ast.Node, expect: t.Type | None = None, what: str = "expression") -> t.Type:
        if isinstance(expect, t.Money) and _is_zero(node):
            self.resolution.zero_money.add(id(node))
            return expect
        result = self._check(node)
        if expect is not None and result != t.ERROR and not _fits(result, expect):
            self._error(TYPE, f"{what} must be {_a(expect)}, not {_a(result)}", node)
        return result

    # -- helpers ------------------------------------------------------------
    def _error(self, code: str, message: str, node: ast.Node) -> t.Type:
        self.problems.append(ExpressionError(code, message, node.line, node.column))
        return t.ERROR

    def _check(self, node: ast.Node) -> t.Type:
        method = getattr(self, "_" + type(node).__name__)
        result = method(node)
        self.resolution.types[id(node)] = result
        return result

    # -- literals -----------------------------------------------------------
    def _Number(self, node: ast.Number) -> t.Type:
        return t.INTEGER if isinstance(node.value, int) else t.NUMBER

    def _Percent(self, node: ast.Percent) -> t.Type:
        return t.NUMBER

    def _MoneyLit(self, node: ast.MoneyLit) -> t.Type:
        if node.currency not in MINOR_UNITS:
            return self._error(CURRENCY, f"'{node.currency}' is not an ISO 4217 currency code", node)
        places = MINOR_UNITS[node.currency]
        if -node.amount.as_tuple().exponent > places:
            return self._error(BAD_LITERAL, f"{node.amount} {node.currency} has more decimals than "
                                            f"{node.currency} has ({places})", node)
        return t.Money(node.currency)

    def _DurationLit(self, node: ast.DurationLit) -> t.Type:
        return t.DURATION

    def _DateLit(self, node: ast.DateLit) -> t.Type:
        try:
            self.resolution.dates[id(node)] = date.fromisoformat(node.text)
        except ValueError:
            return self._error(BAD_LITERAL, f"{node.text} is not a calendar date", node)
        return t.DATE

    def _String(self, node: ast.String) -> t.Type:
        return t.Text("text", frozenset([node.value]))

    def _Bool(self, node: ast.Bool) -> t.Type:
        return t.BOOL

    def _ListExpr(self, node: ast.ListExpr) -> t.Type:
        if not node.items:
            return t.ListOf(t.ERROR)
        item_types = [self._check(item) for item in node.items]
        result = item_types[0]
        for item, item_type in zip(node.items[1:], item_types[1:]):
            joined = t.unify(result, item_type)
            if joined is None:
                return self._error(TYPE, f"a list cannot mix {result} and {item_type}", item)
            result = joined
        return t.ListOf(result)

    # -- names --------------------------------------------------------------
    def _Path(self, node: ast.Path) -> t.Type:
        dotted = node.dotted
        root = node.parts[0]
        if root in CLAIM_ROOTS:
            info = self.scope.fields.get(dotted)
            if info is None:
                return self._error(UNKNOWN_FIELD, f"unknown claim field '{dotted}'"
                                   + suggest(dotted, self.scope.fields), node)
            if info.type == t.OBJECT:
                return self._error(TYPE, f"'{dotted}' is an object; read one of its fields, "
                                         f"or test it with has({dotted})", node)
            self.resolution.kinds[id(node)] = "field"
            self.resolution.fields_used.add(dotted)
            return info.type
        if root == "decision" and self.scope.decision:
            name = ".".join(node.parts[1:])
            if name not in self.scope.decision:
                return self._error(UNKNOWN_NAME, f"unknown decision value '{name}'"
                                   + suggest(name, self.scope.decision)
                                   + f" (decision values: {', '.join(sorted(self.scope.decision))})", node)
            self.resolution.kinds[id(node)] = "decision"
            return self.scope.decision[name]
        if root == "events":
            group = ".".join(node.parts[1:])
            if group not in self.scope.event_groups:
                return self._error(UNKNOWN_NAME, f"unknown event group '{group}'"
                                   + suggest(group, self.scope.event_groups), node)
            self.resolution.kinds[id(node)] = "events"
            return t.ListOf(t.Text("event", self.scope.event_groups[group]))
        if len(node.parts) > 1:
            return self._error(UNKNOWN_NAME, f"unknown name '{dotted}': only claim fields "
                               "(policy., item., claim.) and events. have parts", node)
        if root in self.scope.tables:
            self.resolution.kinds[id(node)] = "table"
            return self.scope.tables[root]
        if root in self.scope.definitions:
            self.resolution.kinds[id(node)] = "definition"
            self.resolution.definitions_used.add(root)
            try:
                return self.scope.definitions[root]()
            except _Cycle as cycle:
                return self._error(CYCLE, f"'{root}' depends on itself ({cycle})", node)
        if root in FUNCTIONS:
            return self._error(TYPE, f"'{root}' is a function; call it: {root}(...)", node)
        return self._error(UNKNOWN_NAME, f"unknown name '{root}'" + suggest(root, self.scope.names()), node)

    def _Call(self, node: ast.Call) -> t.Type:
        name = node.name
        if name not in FUNCTIONS:
            return self._error(UNKNOWN_FUNCTION, f"unknown function '{name}'" + suggest(name, FUNCTIONS)
                               + f" (functions: {', '.join(FUNCTIONS)})", node)
        if name == "has":
            return self._has(node)
        arg_types = [self._check(arg) for arg in node.args]
        if t.ERROR in arg_types:
            return t.ERROR
        if name in ("min", "max"):
            if not arg_types:
                return self._error(TYPE, f"{name}() needs at least one value", node)
            return self._same_kind(node, list(node.args), arg_types, f"{name}()")
        if name == "abs":
            if len(arg_types) != 1 or not (t.is_numeric(arg_types[0]) or isinstance(arg_types[0], t.Money)):
                return self._error(TYPE, "abs() takes one number or amount", node)
            return arg_types[0]
        if name in ("days_between", "months_between"):
            if len(arg_types) != 2 or any(a != t.DATE for a in arg_types):
                got = ", ".join(str(a) for a in arg_types)
                return self._error(TYPE, f"{name}() takes two dates (from, to), not ({got})", node)
            return t.INTEGER
        if name == "len":
            if len(arg_types) != 1 or not isinstance(arg_types[0], t.ListOf):
                return self._error(TYPE, "len() takes one list", node)
            return t.INTEGER
        if name == "round":
            if len(arg_types) == 1 and isinstance(arg_types[0], t.Money):
                return arg_types[0]
            if len(arg_types) == 2 and t.is_numeric(arg_types[0]) and arg_types[1] == t.INTEGER \
                    and isinstance(node.args[1], ast.Number):
                return t.NUMBER
            return self._error(TYPE, "round() takes an amount (rounded half-up to its currency's minor unit) "
                                     "or a number and a whole number of places, e.g. round(rate, 2)", node)
        raise AssertionError(name)  # pragma: no cover

    def _has(self, node: ast.Call) -> t.Type:
        if len(node.args) != 1 or not isinstance(node.args[0], ast.Path) or \
                node.args[0].parts[0] not in CLAIM_ROOTS:
            return self._error(TYPE, "has() takes one claim field, e.g. has(claim.replacement)", node)
        path = node.args[0]
        info = self.scope.fields.get(path.dotted)
        if info is None:
            return self._error(UNKNOWN_FIELD, f"unknown claim field '{path.dotted}'"
                               + suggest(path.dotted, self.scope.fields), path)
        if not info.may_be_absent:
            return self._error(TYPE, f"'{path.dotted}' is always present (it is required or has a "
                                     "default): has() would always be true", path)
        self.resolution.kinds[id(path)] = "field"
        self.resolution.fields_used.add(path.dotted)
        return t.BOOL

    def _same_kind(self, node, args, arg_types, what) -> t.Type:
        """min/max and if/else branches: one kind of value; a literal 0 can be money."""
        money = [a for a in arg_types if isinstance(a, t.Money)]
        result = None
        for arg, arg_type in zip(args, arg_types):
            if money and _is_zero(arg):
                self.resolution.zero_money.add(id(arg))
                continue
            joined = arg_type if result is None else t.unify(result, arg_type)
            if joined is None:
                if isinstance(result, t.Money) and isinstance(arg_type, t.Money):
                    return self._error(CURRENCY, f"{what} mixes {result.currency} and {arg_type.currency}", arg)
                return self._error(TYPE, f"{what} mixes {result} and {arg_type}", arg)
            result = joined
        if result is None:          # only zeros
            result = money[0]
        if not (t.is_numeric(result) or isinstance(result, t.Money) or result in (t.DATE, t.DURATION)) \
                and what != "if/else":
            return self._error(TYPE, f"{what} compares numbers, amounts or dates, not {result}", node)
        return result

    def _Index(self, node: ast.Index) -> t.Type:
        target = self._check(node.target)
        key = self._check(node.key)
        if t.ERROR in (target, key):
            return t.ERROR
        if isinstance(target, t.Table):
            if not isinstance(key, t.Text):
                return self._error(TYPE, f"this table is looked up by {target.key}, not {key}", node.key)
            return target.value
        if isinstance(target, t.Bands):
            if not t.is_numeric(key):
                return self._error(TYPE, f"a band schedule is looked up by a number, not {key}", node.key)
            return target.value
        return self._error(TYPE, f"only tables and band schedules can be looked up with [...], not {target}",
                           node.target)

    # -- operators ----------------------------------------------------------
    def _Unary(self, node: ast.Unary) -> t.Type:
        operand = self._check(node.operand)
        if operand == t.ERROR:
            return t.ERROR
        if node.op == "not":
            if operand != t.BOOL:
                return self._error(TYPE, f"'not' needs a condition (bool), not {operand}", node)
            return t.BOOL
        if t.is_numeric(operand) or isinstance(operand, t.Money):
            return operand
        return self._error(TYPE, f"cannot negate {_a(operand)}", node)

    def _IfThenElse(self, node: ast.IfThenElse) -> t.Type:
        condition = self._check(node.condition)
        then = self._check(node.then)
        otherwise = self._check(node.otherwise)
        if condition != t.ERROR and condition != t.BOOL:
            self._error(TYPE, f"the condition after 'if' must be a bool, not {condition}", node.condition)
        if t.ERROR in (then, otherwise):
            return t.ERROR
        return self._same_kind(node, [node.then, node.otherwise], [then, otherwise], "if/else")

    def _Binary(self, node: ast.Binary) -> t.Type:
        op = node.op
        left = self._check(node.left)
        right = self._check(node.right)
        if t.ERROR in (left, right):
            return t.ERROR
        symbol = ast.OPERATOR_TEXT[op]
        if op in ("and", "or"):
            for side, side_type in ((node.left, left), (node.right, right)):
                if side_type != t.BOOL:
                    return self._error(TYPE, f"'{symbol}' joins conditions (bool), not {side_type}", side)
            return t.BOOL
        if op in ("in", "not_in"):
            return self._membership(node, left, right, symbol)
        if op in ("eq", "ne", "lt", "le", "gt", "ge"):
            return self._comparison(node, left, right, symbol)
        return self._arithmetic(node, op, left, right, symbol)

    def _membership(self, node, left, right, symbol) -> t.Type:
        if not isinstance(right, t.ListOf):
            return self._error(TYPE, f"'{symbol}' needs a list on its right, not {right}", node.right)
        if right.item == t.ERROR:
            return t.BOOL
        if t.unify(left, right.item) is None:
            return self._error(TYPE, f"cannot look for {_a(left)} in a {right}", node)
        self._check_codes(node.left, left, right.item)
        self._check_codes(node.right, right.item, left)
        return t.BOOL

    def _comparison(self, node, left, right, symbol) -> t.Type:
        if isinstance(left, t.Money) and isinstance(right, t.Money):
            if left.currency and right.currency and left.currency != right.currency:
                return self._error(CURRENCY, f"cannot compare {left.currency} with {right.currency}", node)
            return t.BOOL
        if isinstance(left, t.Money) and _is_zero(node.right):
            self.resolution.zero_money.add(id(node.right))
            return t.BOOL
        if isinstance(right, t.Money) and _is_zero(node.left):
            self.resolution.zero_money.add(id(node.left))
            return t.BOOL
        joined = t.unify(left, right)
        if joined is None:
            return self._error(TYPE, f"cannot compare {_a(left)} with {_a(right)}", node)
        if symbol not in ("==", "!=") and not (t.is_numeric(joined) or joined in (t.DATE,)):
            return self._error(TYPE, f"'{symbol}' orders numbers, amounts and dates, not {joined}", node)
        if isinstance(joined, t.ListOf) or joined == t.BOOL and symbol not in ("==", "!="):
            return self._error(TYPE, f"cannot compare with '{symbol}' here", node)
        self._check_codes(node.right, right, left)
        self._check_codes(node.left, left, right)
        return t.BOOL

    def _check_codes(self, literal_node, literal_type, field_type) -> None:
        """A string literal compared with a coded field must be one of its codes."""
        if not isinstance(field_type, t.Text) or field_type.kind == "text" or field_type.values is None:
            return
        nodes = literal_node.items if isinstance(literal_node, ast.ListExpr) else [literal_node]
        for item in nodes:
            if not isinstance(item, ast.String):
                continue
            value = item.value
            if value in field_type.values:
                continue
            if field_type.kind == "event" and value in field_type.groups:
                self._error(UNKNOWN_CODE, f"'{value}' is a group of events, never a claim's event; "
                                          f"use 'claim.event in events.{value}'", item)
            elif field_type.kind == "country" and value not in COUNTRIES:
                self._error(UNKNOWN_CODE, f"'{value}' is not an ISO 3166-1 country code", item)
            elif field_type.kind != "country":
                self._error(UNKNOWN_CODE, f"'{value}' is not {_a(field_type.kind)} this product knows"
                            + suggest(value, field_type.values), item)

    def _arithmetic(self, node, op, left, right, symbol) -> t.Type:
        money_l, money_r = isinstance(left, t.Money), isinstance(right, t.Money)
        if op in ("add", "sub"):
            if t.is_numeric(left) and t.is_numeric(right):
                return t.INTEGER if left == right == t.INTEGER else t.NUMBER
            if money_l and money_r:
                joined = t.unify(left, right)
                if joined is None:
                    return self._error(CURRENCY, f"cannot {'add' if op == 'add' else 'subtract'} "
                                                 f"{right.currency} {'to' if op == 'add' else 'from'} "
                                                 f"{left.currency}", node)
                return joined
            if left == t.DATE and right == t.DURATION:
                return t.DATE
            if op == "add" and left == t.DURATION and right == t.DATE:
                return t.DATE
            if op == "sub" and left == t.DATE and right == t.DATE:
                return self._error(TYPE, "subtracting dates is ambiguous: use days_between(from, to) "
                                         "or months_between(from, to)", node)
        if op == "mul":
            if t.is_numeric(left) and t.is_numeric(right):
                return t.INTEGER if left == right == t.INTEGER else t.NUMBER
            if money_l and t.is_numeric(right):
                return left
            if t.is_numeric(left) and money_r:
                return right
            if money_l and money_r:
                return self._error(TYPE, "cannot multiply an amount by an amount", node)
        if op == "div":
            if t.is_numeric(left) and t.is_numeric(right):
                return t.NUMBER
            if money_l and t.is_numeric(right):
                return left
            if money_l and money_r:
                if left.currency and right.currency and left.currency != right.currency:
                    return self._error(CURRENCY, f"cannot divide {left.currency} by {right.currency}", node)
                return t.NUMBER
        return self._error(TYPE, f"cannot use '{symbol}' on {_a(left)} and {_a(right)}", node)


class _Cycle(Exception):
    pass


def _is_zero(node: ast.Node) -> bool:
    return isinstance(node, ast.Number) and node.value == 0


def _fits(actual: t.Type, expected: t.Type) -> bool:
    if actual == expected:
        return True
    if expected == t.NUMBER and actual == t.INTEGER:
        return True
    if isinstance(expected, t.Money) and isinstance(actual, t.Money):
        return expected.currency is None or actual.currency in (None, expected.currency)
    if isinstance(expected, t.Text) and isinstance(actual, t.Text):
        return True
    return False


def _a(type_: t.Type) -> str:
    name = str(type_)
    return ("an " if name[0] in "aeiou" else "a ") + name


def check_expression(node: ast.Node, scope: Scope, expect: t.Type | None = None,
                     what: str = "expression") -> tuple[t.Type, Resolution, list[ExpressionError]]:
    checker = Checker(scope)
    result = checker.check(node, expect, what)
    return result, checker.resolution, checker.problems


__all__ = ["Scope", "FieldInfo", "Resolution", "check_expression", "suggest", "CLAIM_ROOTS",
           "FUNCTIONS", "KEYWORDS", "_Cycle"]
