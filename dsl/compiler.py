"""Typed AST to Python, once, at load.

Each expression becomes Python source over three names: `V` (the claim's
validated field values, by dotted path), `D` (the product's definitions,
computed lazily per claim) and `K` (the constants of this expression).  Text
from a product file never enters the source: literals go to `K`, and the only
names written into it are field paths and definition names, which the grammar
restricts to `[a-z_][a-zA-Z0-9_]*` parts.  The source is compiled with
`compile()` against a namespace that holds only the allowed functions and no
builtins.  Constant sub-expressions are folded at load, with the same
semantics as at run time; a constant division by zero is a load error.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, DecimalException
from typing import Any, Callable

from . import ast
from . import types as t
from .checker import Resolution
from .errors import DIVISION_BY_ZERO, ExpressionError
from .values import Duration, Money, days_between, months_between

def _extreme(pick):
    def extreme(*values):
        result = pick(values)
        if type(result) is Money and result.currency is None:    # a bare 0 won: give it the currency
            for value in values:
                if type(value) is Money and value.currency is not None:
                    return Money(result.amount, value.currency, value.source)
        return result
    extreme.__name__ = pick.__name__
    return extreme


_NAMESPACE = {
    "__builtins__": {},
    "_D": Decimal,
    "min": _extreme(min),
    "max": _extreme(max),
    "abs": abs,
    "len": len,
    "_days_between": days_between,
    "_months_between": months_between,
}

_OPS = {"add": "+", "sub": "-", "mul": "*", "eq": "==", "ne": "!=", "lt": "<", "le": "<=",
        "gt": ">", "ge": ">=", "in": "in", "not_in": "not in", "and": "and", "or": "or"}


@dataclass(frozen=True)
class Compiled:
    """One compiled expression: `function(V, D)` and, when it is constant, its value."""
    function: Callable[[dict, Any], Any]
    source: str
    is_constant: bool
    constant: Any = None
    reads: tuple[str, ...] = ()           # claim fields and definitions it reads, for the trace


class _Code:
    __slots__ = ("text", "const")

    def __init__(self, text: str, const: bool):
        self.text = text
        self.const = const


class Compiler:
    def __init__(self, resolution: Resolution, constants: dict[str, Any]):
        self.resolution = resolution
        self.named = constants         # tables, band schedules, event groups by name
        self.K: list[Any] = []

    def constant(self, value: Any) -> _Code:
        self.K.append(value)
        return _Code(f"K[{len(self.K) - 1}]", True)

    def emit(self, node: ast.Node) -> _Code:
        if id(node) in self.resolution.zero_money:
            return self.constant(Money(Decimal(0), None))
        code = getattr(self, "_" + type(node).__name__)(node)
        if code.const and not code.text.startswith("K[") and code.text not in ("True", "False"):
            code = self.constant(self._fold(node, code))
        return code

    def _fold(self, node: ast.Node, code: _Code) -> Any:
        function = eval(compile(f"lambda K: {code.text}", "<constant>", "eval"), _NAMESPACE)  # noqa: S307 - our own generated source
        try:
            return function(self.K)
        except (ZeroDivisionError, DecimalException) as error:
            if isinstance(error, ZeroDivisionError) or "DivisionByZero" in type(error).__name__:
                raise ExpressionError(DIVISION_BY_ZERO, "division by zero", node.line, node.column) from None
            raise ExpressionError(DIVISION_BY_ZERO, f"invalid arithmetic: {error}", node.line, node.column) from None

    # -- literals -----------------------------------------------------------
    def _Number(self, node):
        return self.constant(node.value)

    def _Percent(self, node):
        return self.constant(node.value)

    def _MoneyLit(self, node):
        return self.constant(Money(node.amount, node.currency))

    def _DurationLit(self, node):
        if node.unit == "months":
            return self.constant(Duration(months=node.count))
        return self.constant(Duration(days=node.count))

    def _DateLit(self, node):
        return self.constant(self.resolution.dates[id(node)])

    def _String(self, node):
        return self.constant(node.value)

    def _Bool(self, node):
        return _Code("True" if node.value else "False", True)

    def _ListExpr(self, node):
        items = [self.emit(item) for item in node.items]
        if all(item.const for item in items):
            values = [self.K[int(item.text[2:-1])] if item.text.startswith("K[") else item.text == "True"
                      for item in items]
            try:
                return self.constant(frozenset(values))
            except TypeError:
                return self.constant(tuple(values))
        return _Code("(" + "".join(item.text + ", " for item in items) + ")", False)

    # -- names --------------------------------------------------------------
    def _Path(self, node):
        kind = self.resolution.kinds[id(node)]
        if kind == "field":
            return _Code(f"V[{node.dotted!r}]", False)
        if kind == "definition":
            return _Code(f"D[{node.parts[0]!r}]", False)
        if kind == "decision":
            return _Code(f"D[{node.dotted!r}]", False)
        if kind == "events":
            return self.constant(self.named["events." + ".".join(node.parts[1:])])
        return self.constant(self.named[node.parts[0]])

    def _Call(self, node):
        if node.name == "has":
            return _Code(f"(V[{node.args[0].dotted!r}] is not None)", False)
        args = [self.emit(arg) for arg in node.args]
        const = all(arg.const for arg in args)
        if node.name in ("min", "max") and len(args) == 1:
            return args[0]
        name = {"days_between": "_days_between", "months_between": "_months_between"}.get(node.name, node.name)
        return _Code(f"{name}({', '.join(a.text for a in args)})", const)

    def _Index(self, node):
        target = self.emit(node.target)
        key = self.emit(node.key)
        # a lookup writes to the trace, so it is never folded
        return _Code(f"{target.text}.lookup({key.text}, D)", False)

    # -- operators ----------------------------------------------------------
    def _Unary(self, node):
        operand = self.emit(node.operand)
        if node.op == "not":
            return _Code(f"(not {operand.text})", operand.const)
        return _Code(f"(-{operand.text})", operand.const)

    def _IfThenElse(self, node):
        condition, then, otherwise = self.emit(node.condition), self.emit(node.then), self.emit(node.otherwise)
        return _Code(f"({then.text} if {condition.text} else {otherwise.text})",
                     condition.const and then.const and otherwise.const)

    def _Binary(self, node):
        left, right = self.emit(node.left), self.emit(node.right)
        const = left.const and right.const
        if node.op == "div":
            left_type = self.resolution.types.get(id(node.left))
            if t.is_numeric(left_type):
                return _Code(f"(_D({left.text}) / {right.text})", const)
            return _Code(f"({left.text} / {right.text})", const)
        return _Code(f"({left.text} {_OPS[node.op]} {right.text})", const)


def compile_expression(node: ast.Node, resolution: Resolution, constants: dict[str, Any],
                       filename: str = "<expression>") -> Compiled:
    """Compile a checked expression.  Raises `ExpressionError` for a constant division by zero."""
    compiler = Compiler(resolution, constants)
    code = compiler.emit(node)
    source = f"lambda V, D: {code.text}"
    namespace = dict(_NAMESPACE, K=tuple(compiler.K))
    function = eval(compile(source, filename, "eval"), namespace)  # noqa: S307 - our own generated source
    reads = tuple(sorted(resolution.fields_used)) + tuple(sorted(resolution.definitions_used))
    if code.const:
        value = compiler.K[int(code.text[2:-1])] if code.text.startswith("K[") else code.text == "True"
        return Compiled(function, source, True, value, reads)
    return Compiled(function, source, False, reads=reads)
