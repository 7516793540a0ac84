"""Name resolution and type checking, once, when a product loads: the parse tree to a typed AST.

A `Scope` says what one use of an expression may read, explicitly: the claim fields a product
declares, and, where the use allows them, its definitions (with their types, already checked),
its tables and band schedules, its event groups, and the decision's values. A `required_when`
condition gets a scope of claim fields only, so naming a definition there is a load error at
its position, by construction, not a surprise when a claim is decided.

`check` returns the typed AST (`dsl.typed`: every node with its type, every name resolved)
and every problem found, not only the first. It never calls back into its caller.
"""
from __future__ import annotations

from dataclasses import dataclass, field
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Mapping

from . import ast
from . import typed as T
from . import types as t
from .errors import suggest  # noqa: F401 - where it was first, kept for its users
from .errors import (CURRENCY, TYPE, UNKNOWN_CODE, UNKNOWN_FIELD, UNKNOWN_FUNCTION, UNKNOWN_NAME, BAD_LITERAL,
                     ExpressionError)
from .iso import COUNTRIES, MINOR_UNITS
from .values import Duration, Money

CLAIM_ROOTS = ("policy", "item", "claim")
FUNCTIONS = ("abs", "all", "any", "ceil", "count", "date_of", "days_between", "floor", "has", "hours_between", "len",
             "max", "min", "minutes_between", "months_between", "round", "sum", "weeks_between", "years_between")
KEYWORDS = frozenset({"if", "then", "else", "and", "or", "not", "in", "true", "false", "where", "for", "between"})
_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})\Z")
_ORDERED = (t.DATE, t.DATETIME, t.TIMESPAN)


@dataclass(frozen=True)
class FieldInfo:
    type: t.Type
    may_be_absent: bool = False     # optional without a default: has() applies


@dataclass(frozen=True)
class Scope:
    """What one use of an expression may read.

    `reads` describes the use for messages ("a required_when condition reads claim fields
    only"); `elsewhere` names what the product has that this use may not read (name -> what it
    is), so that the message says why a name that exists is refused here.
    """
    fields: Mapping[str, FieldInfo] = field(default_factory=dict)
    definitions: Mapping[str, t.Type] = field(default_factory=dict)
    tables: Mapping[str, t.Type] = field(default_factory=dict)        # Table or Bands types
    event_groups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    decision: Mapping[str, t.Type] = field(default_factory=dict)      # `decision.payout`...
    locals: Mapping[str, t.Type] = field(default_factory=dict)        # names a use is given (`amount`)
    reads: str = ""
    elsewhere: Mapping[str, str] = field(default_factory=dict)

    def names(self) -> list[str]:
        return sorted(set(self.tables) | set(self.definitions) | set(self.locals))


def check(node: ast.Node, scope: Scope, expect: t.Type | None = None,
          what: str = "expression") -> tuple[T.Expr | None, list[ExpressionError]]:
    """The typed AST of `node` (None when there are problems) and every problem found."""
    checker = _Checker(scope)
    typed = checker.check(node, expect, what)
    if checker.problems or any(sub.type == t.ERROR for sub in T.walk(typed)):
        return None, checker.problems       # with no problems: it reads what failed elsewhere (reported there)
    return typed, []


class _Checker:
    def __init__(self, scope: Scope):
        self.scope = scope
        self.problems: list[ExpressionError] = []
        self.locals: dict[str, t.Type] = dict(scope.locals)       # grows and shrinks with queries

    # -- entry point ------------------------------------------------------------
    def check(self, node: ast.Node, expect: t.Type | None, what: str) -> T.Expr:
        if isinstance(expect, t.Money) and _is_zero(node):
            return _zero_money(node, expect)
        result = self._check(node)
        if expect is not None and result.type != t.ERROR and not _fits(result.type, expect):
            self._error(TYPE, f"{what} must be {_a(expect)}, not {_a(result.type)}", node)
        return result

    # -- helpers ----------------------------------------------------------------
    def _error(self, code: str, message: str, node: ast.Node) -> T.Expr:
        self.problems.append(ExpressionError(code, message, node.line, node.column))
        return T.Const(node.line, node.column, t.ERROR, None)

    def _check(self, node: ast.Node) -> T.Expr:
        return getattr(self, "_" + type(node).__name__)(node)

    # -- literals ---------------------------------------------------------------
    def _Number(self, node: ast.Number) -> T.Expr:
        return T.Const(node.line, node.column, t.INTEGER if isinstance(node.value, int) else t.NUMBER, node.value)

    def _Percent(self, node: ast.Percent) -> T.Expr:
        return T.Const(node.line, node.column, t.NUMBER, node.value)

    def _MoneyLit(self, node: ast.MoneyLit) -> T.Expr:
        if node.currency not in MINOR_UNITS:
            return self._error(CURRENCY, f"'{node.currency}' is not an ISO 4217 currency code", node)
        places = MINOR_UNITS[node.currency]
        if -node.amount.as_tuple().exponent > places:
            return self._error(BAD_LITERAL, f"{node.amount} {node.currency} has more decimals than "
                                            f"{node.currency} has ({places})", node)
        return T.Const(node.line, node.column, t.Money(node.currency), Money(node.amount, node.currency))

    def _DurationLit(self, node: ast.DurationLit) -> T.Expr:
        if node.unit == "months":
            return T.Const(node.line, node.column, t.DURATION, Duration(months=node.count))
        if node.unit == "days":
            return T.Const(node.line, node.column, t.DURATION, Duration(days=node.count))
        seconds = node.count * (3600 if node.unit == "hours" else 60)
        return T.Const(node.line, node.column, t.TIMESPAN, Duration(seconds=seconds))

    def _DateTimeLit(self, node: ast.DateTimeLit) -> T.Expr:
        try:
            value = datetime.fromisoformat(node.text) if _DATETIME.match(node.text) else None
        except ValueError:
            value = None
        if value is None or value.utcoffset() is None:
            return self._error(BAD_LITERAL, f"{node.text} is not a date-time with a UTC offset", node)
        return T.Const(node.line, node.column, t.DATETIME, value)

    def _DateLit(self, node: ast.DateLit) -> T.Expr:
        try:
            value = date.fromisoformat(node.text)
        except ValueError:
            return self._error(BAD_LITERAL, f"{node.text} is not a calendar date", node)
        return T.Const(node.line, node.column, t.DATE, value)

    def _String(self, node: ast.String) -> T.Expr:
        return T.Const(node.line, node.column, t.Text("text", frozenset([node.value])), node.value)

    def _Bool(self, node: ast.Bool) -> T.Expr:
        return T.Const(node.line, node.column, t.BOOL, node.value)

    def _ListExpr(self, node: ast.ListExpr) -> T.Expr:
        if not node.items:
            return T.ListOf(node.line, node.column, t.ListOf(t.ERROR), ())
        items = [self._check(item) for item in node.items]
        result = items[0].type
        for source, item in zip(node.items[1:], items[1:]):
            joined = t.unify(result, item.type)
            if joined is None:
                if isinstance(result, t.Money) and isinstance(item.type, t.Money):
                    return self._error(CURRENCY, f"a list cannot mix amounts in {result.currency} and "
                                                 f"{item.type.currency}: no exchange rate is applied", source)
                return self._error(TYPE, f"a list cannot mix {result} and {item.type}", source)
            result = joined
        return T.ListOf(node.line, node.column, t.ListOf(result), tuple(items))

    # -- names ------------------------------------------------------------------
    def _refused(self, name: str, node: ast.Node) -> T.Expr | None:
        """A name the product has but this use may not read: say so, and why."""
        kind = self.scope.elsewhere.get(name)
        if kind is None:
            return None
        return self._error(UNKNOWN_NAME, f"{self.scope.reads or 'this expression'}; '{name}' is {kind}", node)

    def _Path(self, node: ast.Path) -> T.Expr:
        dotted = node.dotted
        root = node.parts[0]
        if root in self.locals:
            return self._members(node, T.Local(node.line, node.column, self.locals[root], root), node.parts[1:])
        if root in CLAIM_ROOTS:
            info = self.scope.fields.get(dotted)
            if info is None:
                return self._error(UNKNOWN_FIELD, f"unknown claim field '{dotted}'"
                                   + suggest(dotted, self.scope.fields), node)
            if info.type == t.OBJECT:
                return self._error(TYPE, f"'{dotted}' is an object; read one of its fields, "
                                         f"or test it with has({dotted})", node)
            return T.FieldRef(node.line, node.column, info.type, dotted, info.may_be_absent)
        if root == "decision" and len(node.parts) > 1:
            name = ".".join(node.parts[1:])
            if not self.scope.decision:
                return self._refused("decision", node) or self._error(
                    UNKNOWN_NAME, "decision values (decision.payout, ...) can only be read by invariants", node)
            if name not in self.scope.decision:
                return self._error(UNKNOWN_NAME, f"unknown decision value '{name}'"
                                   + suggest(name, self.scope.decision)
                                   + f" (decision values: {', '.join(sorted(self.scope.decision))})", node)
            return T.DecisionRef(node.line, node.column, self.scope.decision[name], name)
        if root == "events" and len(node.parts) > 1:
            group = ".".join(node.parts[1:])
            if group not in self.scope.event_groups:
                return self._refused("events", node) or self._error(
                    UNKNOWN_NAME, f"unknown event group '{group}'" + suggest(group, self.scope.event_groups), node)
            members = self.scope.event_groups[group]
            return T.Const(node.line, node.column, t.ListOf(t.Text("event", members)), members)
        if len(node.parts) > 1:
            return self._error(UNKNOWN_NAME, f"unknown name '{dotted}': only claim fields "
                               "(policy., item., claim.) and events. have parts", node)
        if root in self.scope.tables:
            return self._error(TYPE, f"'{root}' is a table: look a row up with {root}[key]", node)
        if root in self.scope.definitions:
            return T.DefinitionRef(node.line, node.column, self.scope.definitions[root], root)
        if root in FUNCTIONS:
            return self._error(TYPE, f"'{root}' is a function; call it: {root}(...)", node)
        return self._refused(root, node) or self._error(
            UNKNOWN_NAME, f"unknown name '{root}'" + suggest(root, self.scope.names()), node)

    def _members(self, node: ast.Node, target: T.Expr, parts: tuple[str, ...]) -> T.Expr:
        """`h.paid`: item fields of a record, one part at a time."""
        for part in parts:
            if not isinstance(target.type, t.Record):
                return self._error(TYPE, f"{_a(target.type)} has no fields ('{part}' asked for)", node)
            found = target.type.field(part)
            if found is None:
                return self._error(UNKNOWN_FIELD, f"{target.type.path} has no item field '{part}'"
                                   + suggest(part, target.type.names())
                                   + f" (its item fields: {', '.join(target.type.names())})", node)
            type_, may_be_absent = found
            target = T.Member(node.line, node.column, type_, target, part, may_be_absent)
        return target

    def _Query(self, node: ast.Query) -> T.Expr:
        source = self._check(node.source)
        if source.type == t.ERROR:
            return source
        if not isinstance(source.type, t.ListOf):
            return self._error(TYPE, f"'{node.name} in ...' needs a list, not {source.type}", node.source)
        if source.type.item == t.ERROR:
            return self._error(TYPE, f"'{node.name} in []': the list is empty, there is nothing to go over",
                               node.source)
        taken = self._taken(node.name)
        if taken:
            return self._error(UNKNOWN_NAME, f"'{node.name}' is already {taken}: name the elements otherwise", node)
        self.locals[node.name] = source.type.item
        try:
            where = project = None
            if node.where is not None:
                where = self._check(node.where)
                if where.type not in (t.BOOL, t.ERROR):
                    return self._error(TYPE, f"the condition after 'where' must be a bool, not {where.type}",
                                       node.where)
            if node.project is not None:
                project = self._check(node.project)
        finally:
            del self.locals[node.name]
        if t.ERROR in (getattr(where, "type", None), getattr(project, "type", None)):
            return T.Const(node.line, node.column, t.ERROR, None)
        item = project.type if project is not None else source.type.item
        return T.Query(node.line, node.column, t.ListOf(item), node.name, source, where, project)

    def _taken(self, name: str) -> str | None:
        """What a name a query binds would hide, if anything."""
        if name in self.locals:
            return "bound here"
        if name in CLAIM_ROOTS or name in ("events", "decision"):
            return "the start of a field path"
        if name in self.scope.definitions:
            return "a definition"
        if name in self.scope.tables:
            return "a table"
        if name in FUNCTIONS:
            return "a function"
        return None

    def _Between(self, node: ast.Between) -> T.Expr:
        value, low, high = self._check(node.value), self._check(node.low), self._check(node.high)
        if t.ERROR in (value.type, low.type, high.type):
            return T.Const(node.line, node.column, t.ERROR, None)
        checked = []
        for side, source in ((low, node.low), (high, node.high)):
            if isinstance(value.type, t.Money) and _is_zero(source):
                side = _zero_money(source, value.type)
            elif not self._orderable_with(value.type, side.type, node, "between"):
                return T.Const(node.line, node.column, t.ERROR, None)
            checked.append(side)
        return T.Between(node.line, node.column, t.BOOL, value, *checked)

    def _orderable_with(self, left: t.Type, right: t.Type, node: ast.Node, symbol: str) -> bool:
        if isinstance(left, t.Money) and isinstance(right, t.Money):
            if left.currency and right.currency and left.currency != right.currency:
                self._error(CURRENCY, f"cannot compare {left.currency} with {right.currency}", node)
                return False
            return True
        joined = t.unify(left, right)
        if joined is None or not (t.is_numeric(joined) or joined in _ORDERED):
            if {left, right} == {t.DATE, t.DATETIME}:
                self._error(TYPE, "cannot compare a date with a date-time: compare date_of(the date-time) "
                                  "with the date", node)
            else:
                self._error(TYPE, f"'{symbol}' orders numbers, amounts, dates, date-times and time spans, "
                                  f"not {_a(left)} and {_a(right)}", node)
            return False
        return True

    def _Call(self, node: ast.Call) -> T.Expr:
        name = node.name
        if name not in FUNCTIONS:
            return self._error(UNKNOWN_FUNCTION, f"unknown function '{name}'" + suggest(name, FUNCTIONS)
                               + f" (functions: {', '.join(FUNCTIONS)})", node)
        if name == "has":
            return self._has(node)
        if name in ("any", "all") and len(node.args) == 1 and isinstance(node.args[0], ast.Query) \
                and node.args[0].project is None and node.args[0].where is not None:
            return self._quantifier(node, name)
        args = [self._check(arg) for arg in node.args]
        arg_types = [arg.type for arg in args]
        if t.ERROR in arg_types:
            return T.Const(node.line, node.column, t.ERROR, None)
        call = lambda type_, arguments=tuple(args): T.Call(node.line, node.column, type_, name, tuple(arguments))
        if name in AGGREGATES and len(args) == 1 and isinstance(arg_types[0], t.ListOf):
            return self._aggregate(node, name, args[0])
        if name in ("count", "sum", "any", "all"):
            return self._error(TYPE, f"{name}() takes one list, e.g. {AGGREGATES[name]}", node)
        if name in ("floor", "ceil"):
            if len(args) != 1 or not t.is_numeric(arg_types[0]):
                return self._error(TYPE, f"{name}() takes one number, e.g. {name}(delay / 12 hours)", node)
            return call(t.INTEGER)
        if name == "date_of":
            if len(args) != 1 or arg_types[0] != t.DATETIME:
                return self._error(TYPE, "date_of() takes one date-time: its calendar date, in its own offset",
                                   node)
            return call(t.DATE)
        if name in ("years_between", "weeks_between"):
            if len(args) != 2 or any(a != t.DATE for a in arg_types):
                got = ", ".join(str(a) for a in arg_types)
                return self._error(TYPE, f"{name}() takes two dates (from, to), not ({got})", node)
            return call(t.INTEGER)
        if name in ("hours_between", "minutes_between"):
            if len(args) != 2 or any(a != t.DATETIME for a in arg_types):
                got = ", ".join(str(a) for a in arg_types)
                return self._error(TYPE, f"{name}() takes two date-times (from, to), not ({got})", node)
            return call(t.INTEGER)
        if name in ("min", "max"):
            if not args:
                return self._error(TYPE, f"{name}() needs at least one value", node)
            joined = self._same_kind(node, list(node.args), args, f"{name}()")
            if joined is None:
                return T.Const(node.line, node.column, t.ERROR, None)
            kind, items = joined
            if len(items) == 1:
                return items[0]
            return call(kind, items)
        if name == "abs":
            if len(args) != 1 or not (t.is_numeric(arg_types[0]) or isinstance(arg_types[0], t.Money)):
                return self._error(TYPE, "abs() takes one number or amount", node)
            return call(arg_types[0])
        if name in ("days_between", "months_between"):
            if len(args) != 2 or any(a != t.DATE for a in arg_types):
                got = ", ".join(str(a) for a in arg_types)
                hint = " (date_of(x) is a date-time's date)" if t.DATETIME in arg_types else ""
                return self._error(TYPE, f"{name}() takes two dates (from, to), not ({got}){hint}", node)
            return call(t.INTEGER)
        if name == "len":
            if len(args) != 1 or not isinstance(arg_types[0], t.ListOf):
                return self._error(TYPE, "len() takes one list", node)
            return call(t.INTEGER)
        if name == "round":
            if len(args) == 1 and isinstance(arg_types[0], t.Money):
                return call(arg_types[0])
            if len(args) == 2 and t.is_numeric(arg_types[0]) and arg_types[1] == t.INTEGER \
                    and isinstance(node.args[1], ast.Number):
                return call(t.NUMBER)
            return self._error(TYPE, "round() takes an amount (rounded half-up to its currency's minor unit) "
                                     "or a number and a whole number of places, e.g. round(rate, 2)", node)
        raise AssertionError(name)  # pragma: no cover

    def _quantifier(self, node: ast.Call, name: str) -> T.Expr:
        """`any(x in list where c)`: some element meets c; `all(x in list where c)`: every one does."""
        query = self._check(node.args[0])
        if query.type == t.ERROR:
            return query
        return T.Call(node.line, node.column, t.BOOL, "exists" if name == "any" else "every", (query,))

    def _aggregate(self, node: ast.Call, name: str, values: T.Expr) -> T.Expr:
        item = values.type.item
        function = {"min": "min_of", "max": "max_of", "len": "count"}.get(name, name)
        call = lambda type_, extra=(): T.Call(node.line, node.column, type_, function, (values, *extra))
        if name in ("count", "len"):
            return call(t.INTEGER)
        if item == t.ERROR:                      # []
            return self._error(TYPE, f"{name}() of an empty list", node)
        if name in ("any", "all"):
            if item != t.BOOL:
                return self._error(TYPE, f"{name}() takes conditions (a list of bools), not a {values.type}; "
                                         f"write {name}(x in list where condition)", node)
            return call(t.BOOL)
        if name == "sum":
            if not (t.is_numeric(item) or isinstance(item, t.Money) or item == t.TIMESPAN):
                return self._error(TYPE, f"sum() adds numbers, amounts or time spans, not {item}", node)
            zero = Money(Decimal(0), item.currency) if isinstance(item, t.Money) else \
                Duration() if item == t.TIMESPAN else 0
            return call(item, (T.Const(node.line, node.column, item, zero),))
        if not (t.is_numeric(item) or isinstance(item, t.Money) or item in _ORDERED):       # min, max
            return self._error(TYPE, f"{name}() compares numbers, amounts, dates or time spans, not {item}", node)
        return call(item)

    def _has(self, node: ast.Call) -> T.Expr:
        if len(node.args) == 1 and isinstance(node.args[0], ast.Path) and node.args[0].parts[0] in self.locals \
                and len(node.args[0].parts) > 1:
            return self._has_member(node, node.args[0])
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
        return T.Has(node.line, node.column, t.BOOL, path.dotted)

    def _has_member(self, node: ast.Call, path: ast.Path) -> T.Expr:
        owner = self._members(path, T.Local(path.line, path.column, self.locals[path.parts[0]], path.parts[0]),
                              path.parts[1:-1])
        if owner.type == t.ERROR:
            return owner
        member = self._members(path, owner, path.parts[-1:])
        if member.type == t.ERROR:
            return member
        if not member.may_be_absent:
            return self._error(TYPE, f"'{path.dotted}' is always present (it is required or has a default): "
                                     "has() would always be true", path)
        return T.HasMember(node.line, node.column, t.BOOL, owner, path.parts[-1])

    def _same_kind(self, node: ast.Node, sources: list, args: list[T.Expr],
                   what: str) -> tuple[t.Type, tuple[T.Expr, ...]] | None:
        """min/max and if/else branches: one kind of value; a literal 0 can be money.

        Returns the kind the values share and the values (a zero among amounts made money), or
        None after reporting why they do not fit together.
        """
        money = [a.type for a in args if isinstance(a.type, t.Money)]
        result = None
        items = []
        for source, arg in zip(sources, args):
            if money and _is_zero(source):
                items.append(_zero_money(source, money[0]))
                continue
            items.append(arg)
            joined = arg.type if result is None else t.unify(result, arg.type)
            if joined is None:
                if isinstance(result, t.Money) and isinstance(arg.type, t.Money):
                    self._error(CURRENCY, f"{what} mixes {result.currency} and {arg.type.currency}", source)
                else:
                    self._error(TYPE, f"{what} mixes {result} and {arg.type}", source)
                return None
            result = joined
        if result is None:          # only zeros
            result = money[0]
        if not (t.is_numeric(result) or isinstance(result, t.Money) or result in _ORDERED) \
                and what != "if/else":
            self._error(TYPE, f"{what} compares numbers, amounts or dates, not {result}", node)
            return None
        return result, tuple(items)

    def _Index(self, node: ast.Index) -> T.Expr:
        target = node.target
        if not (isinstance(target, ast.Path) and len(target.parts) == 1 and target.parts[0] in self.scope.tables):
            checked = self._check(target)
            if checked.type == t.ERROR:
                return checked
            return self._error(TYPE, f"only tables and band schedules can be looked up with [...], "
                                     f"not {checked.type}", target)
        name = target.parts[0]
        table = self.scope.tables[name]
        key = self._check(node.key)
        if key.type == t.ERROR or table == t.ERROR:
            return T.Const(node.line, node.column, t.ERROR, None)
        if isinstance(table, t.Table):
            if not isinstance(key.type, t.Text):
                return self._error(TYPE, f"this table is looked up by {table.key}, not {key.type}", node.key)
            return T.Lookup(node.line, node.column, table.value, name, key)
        if isinstance(table, t.Bands):
            if isinstance(table.key, t.Money):
                if not isinstance(key.type, t.Money):
                    return self._error(TYPE, f"'{name}' has bands of amounts: look it up by an amount, "
                                             f"not {_a(key.type)}", node.key)
                if key.type.currency and table.key.currency and key.type.currency != table.key.currency:
                    return self._error(CURRENCY, f"'{name}' has bands in {table.key.currency}, not "
                                                 f"{key.type.currency}", node.key)
            elif not t.is_numeric(key.type):
                return self._error(TYPE, f"a band schedule is looked up by a number, not {key.type}", node.key)
            return T.Lookup(node.line, node.column, table.value, name, key)
        return self._error(TYPE, f"'{name}' cannot be looked up", target)  # pragma: no cover

    # -- operators --------------------------------------------------------------
    def _Unary(self, node: ast.Unary) -> T.Expr:
        operand = self._check(node.operand)
        if operand.type == t.ERROR:
            return operand
        if node.op == "not":
            if operand.type != t.BOOL:
                return self._error(TYPE, f"'not' needs a condition (bool), not {operand.type}", node)
            return T.Unary(node.line, node.column, t.BOOL, "not", operand)
        if t.is_numeric(operand.type) or isinstance(operand.type, t.Money):
            return T.Unary(node.line, node.column, operand.type, "neg", operand)
        return self._error(TYPE, f"cannot negate {_a(operand.type)}", node)

    def _IfThenElse(self, node: ast.IfThenElse) -> T.Expr:
        condition = self._check(node.condition)
        then = self._check(node.then)
        otherwise = self._check(node.otherwise)
        if condition.type != t.ERROR and condition.type != t.BOOL:
            self._error(TYPE, f"the condition after 'if' must be a bool, not {condition.type}", node.condition)
        if t.ERROR in (then.type, otherwise.type, condition.type):
            return T.Const(node.line, node.column, t.ERROR, None)
        branches = self._same_kind(node, [node.then, node.otherwise], [then, otherwise], "if/else")
        if branches is None:
            return T.Const(node.line, node.column, t.ERROR, None)
        kind, (then, otherwise) = branches
        return T.Choice(node.line, node.column, kind, condition, then, otherwise)

    def _Binary(self, node: ast.Binary) -> T.Expr:
        op = node.op
        left = self._check(node.left)
        right = self._check(node.right)
        if t.ERROR in (left.type, right.type):
            return T.Const(node.line, node.column, t.ERROR, None)
        symbol = ast.OPERATOR_TEXT[op]
        if op in ("and", "or"):
            for side, checked in ((node.left, left), (node.right, right)):
                if checked.type != t.BOOL:
                    return self._error(TYPE, f"'{symbol}' joins conditions (bool), not {checked.type}", side)
            return T.Binary(node.line, node.column, t.BOOL, op, left, right)
        if op in ("in", "not_in"):
            return self._membership(node, left, right, symbol)
        if op in ("eq", "ne", "lt", "le", "gt", "ge"):
            return self._comparison(node, left, right, symbol)
        return self._arithmetic(node, op, left, right, symbol)

    def _membership(self, node, left, right, symbol) -> T.Expr:
        if not isinstance(right.type, t.ListOf):
            return self._error(TYPE, f"'{symbol}' needs a list on its right, not {right.type}", node.right)
        result = T.Binary(node.line, node.column, t.BOOL, node.op, left, right)
        if right.type.item == t.ERROR:          # the empty list
            return result
        if t.unify(left.type, right.type.item) is None:
            return self._error(TYPE, f"cannot look for {_a(left.type)} in a {right.type}", node)
        self._check_codes(node.left, left.type, right.type.item)
        self._check_codes(node.right, right.type.item, left.type)
        return result

    def _comparison(self, node, left, right, symbol) -> T.Expr:
        def compared(left, right):
            return T.Binary(node.line, node.column, t.BOOL, node.op, left, right)
        if isinstance(left.type, t.Money) and isinstance(right.type, t.Money):
            if left.type.currency and right.type.currency and left.type.currency != right.type.currency:
                return self._error(CURRENCY, f"cannot compare {left.type.currency} with {right.type.currency}", node)
            return compared(left, right)
        if isinstance(left.type, t.Money) and _is_zero(node.right):
            return compared(left, _zero_money(node.right, left.type))
        if isinstance(right.type, t.Money) and _is_zero(node.left):
            return compared(_zero_money(node.left, right.type), right)
        joined = t.unify(left.type, right.type)
        if joined is None:
            if {left.type, right.type} == {t.DATE, t.DATETIME}:
                return self._error(TYPE, "cannot compare a date with a date-time: compare date_of(the date-time) "
                                         "with the date", node)
            return self._error(TYPE, f"cannot compare {_a(left.type)} with {_a(right.type)}", node)
        if symbol not in ("==", "!=") and not (t.is_numeric(joined) or joined in _ORDERED):
            return self._error(TYPE, f"'{symbol}' orders numbers, amounts, dates, date-times and time spans, "
                                     f"not {joined}", node)
        if isinstance(joined, (t.ListOf, t.Record)) or joined == t.BOOL and symbol not in ("==", "!="):
            return self._error(TYPE, f"cannot compare with '{symbol}' here", node)
        self._check_codes(node.right, right.type, left.type)
        self._check_codes(node.left, left.type, right.type)
        return compared(left, right)

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

    def _arithmetic(self, node, op, left, right, symbol) -> T.Expr:
        lt, rt = left.type, right.type
        money_l, money_r = isinstance(lt, t.Money), isinstance(rt, t.Money)

        def result(type_):
            return T.Binary(node.line, node.column, type_, op, left, right)
        if op in ("add", "sub"):
            if t.is_numeric(lt) and t.is_numeric(rt):
                return result(t.INTEGER if lt == rt == t.INTEGER else t.NUMBER)
            if money_l and money_r:
                joined = t.unify(lt, rt)
                if joined is None:
                    return self._error(CURRENCY, f"cannot {'add' if op == 'add' else 'subtract'} "
                                                 f"{rt.currency} {'to' if op == 'add' else 'from'} "
                                                 f"{lt.currency}", node)
                return result(joined)
            if lt == t.DATE and rt == t.DURATION:
                return result(t.DATE)
            if op == "add" and lt == t.DURATION and rt == t.DATE:
                return result(t.DATE)
            if op == "sub" and lt == t.DATE and rt == t.DATE:
                return self._error(TYPE, "subtracting dates is ambiguous: use days_between(from, to) "
                                         "or months_between(from, to)", node)
            if lt == t.DATETIME and rt in (t.DURATION, t.TIMESPAN):
                return result(t.DATETIME)
            if op == "add" and lt in (t.DURATION, t.TIMESPAN) and rt == t.DATETIME:
                return result(t.DATETIME)
            if op == "sub" and lt == rt == t.DATETIME:          # the time span from right to left
                return T.Call(node.line, node.column, t.TIMESPAN, "elapsed", (right, left))
            if lt == rt == t.TIMESPAN:
                return result(t.TIMESPAN)
            if t.DATE in (lt, rt) and t.TIMESPAN in (lt, rt):
                return self._error(TYPE, "a date has no time of day to move by hours or minutes: add days, "
                                         "or use a date-time", node)
        if op == "mul":
            if t.is_numeric(lt) and t.is_numeric(rt):
                return result(t.INTEGER if lt == rt == t.INTEGER else t.NUMBER)
            if (lt == t.TIMESPAN and t.is_numeric(rt)) or (t.is_numeric(lt) and rt == t.TIMESPAN):
                return result(t.TIMESPAN)
            if money_l and t.is_numeric(rt):
                return result(lt)
            if t.is_numeric(lt) and money_r:
                return result(rt)
            if money_l and money_r:
                return self._error(TYPE, "cannot multiply an amount by an amount", node)
        if op == "div":
            if t.is_numeric(lt) and t.is_numeric(rt):
                return result(t.NUMBER)
            if lt == t.TIMESPAN and rt == t.TIMESPAN:
                return result(t.NUMBER)
            if lt == t.TIMESPAN and t.is_numeric(rt):
                return result(t.TIMESPAN)
            if money_l and t.is_numeric(rt):
                return result(lt)
            if money_l and money_r:
                if lt.currency and rt.currency and lt.currency != rt.currency:
                    return self._error(CURRENCY, f"cannot divide {lt.currency} by {rt.currency}", node)
                return result(t.NUMBER)
        return self._error(TYPE, f"cannot use '{symbol}' on {_a(lt)} and {_a(rt)}", node)


# Aggregates over one list, with an example each for messages.
AGGREGATES = {"count": "count(h in policy.claims_history where h.paid > 0)",
              "len": "len(claim.documents)",
              "sum": "sum(h.paid for h in policy.claims_history)",
              "any": "any(a in claim.baggage.items where a.price >= 250.00 GBP)",
              "all": "all(a in claim.baggage.items where a.category == \"other\")",
              "min": "min(a.price for a in claim.baggage.items)",
              "max": "max(a.price for a in claim.baggage.items)"}


def _is_zero(node: ast.Node) -> bool:
    return isinstance(node, ast.Number) and node.value == 0


def _zero_money(node: ast.Node, like: t.Money) -> T.Const:
    """A bare 0 where an amount is meant: an amount of zero in the currency of what it meets."""
    return T.Const(node.line, node.column, t.Money(like.currency), Money(Decimal(0), None))


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


__all__ = ["Scope", "FieldInfo", "check", "suggest", "CLAIM_ROOTS", "FUNCTIONS", "KEYWORDS"]
