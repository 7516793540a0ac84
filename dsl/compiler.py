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
from decimal import ROUND_HALF_UP, Decimal, DecimalException
from typing import Any, Callable

from . import ast
from . import types as t
from .checker import Resolution
from .errors import DIVISION_BY_ZERO, TOO_DEEP, ExpressionError
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


def _round(value, places=None):
    """Half-up: an amount to its currency's minor unit, a number to `places` decimals."""
    if isinstance(value, Money):
        return value.rounded()
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


_NAMESPACE = {
    "__builtins__": {},
    "round": _round,
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


# Python's operator precedence, lowest first: the source gets parentheses only where they are
# needed, so a flat chain of 300 terms is 300 terms, not 300 nested parentheses (Python's parser
# allows 200).
IF, OR, AND, NOT, COMPARE, SUM, PRODUCT, NEG, ATOM = range(9)
_PRECEDENCE = {"or": OR, "and": AND, "eq": COMPARE, "ne": COMPARE, "lt": COMPARE, "le": COMPARE,
               "gt": COMPARE, "ge": COMPARE, "in": COMPARE, "not_in": COMPARE, "add": SUM, "sub": SUM,
               "mul": PRODUCT, "div": PRODUCT}


class _Code:
    __slots__ = ("text", "const", "prec", "index")

    def __init__(self, text: str, const: bool, prec: int = ATOM, index: int | None = None):
        self.text = text
        self.const = const
        self.prec = prec
        self.index = index          # K[index] when the code is exactly one constant

    def at(self, prec: int) -> str:
        """The text, in parentheses if it binds less tightly than `prec` needs."""
        return self.text if self.prec >= prec else f"({self.text})"


class Compiler:
    def __init__(self, resolution: Resolution, constants: dict[str, Any]):
        self.resolution = resolution
        self.named = constants         # tables, band schedules, event groups by name
        self.K: list[Any] = []

    def constant(self, value: Any) -> _Code:
        self.K.append(value)
        return _Code(f"K[{len(self.K) - 1}]", True, ATOM, len(self.K) - 1)

    def emit(self, node: ast.Node) -> _Code:
        if id(node) in self.resolution.zero_money:
            return self.constant(Money(Decimal(0), None))
        code = getattr(self, "_" + type(node).__name__)(node)
        if code.const and code.index is None and code.text not in ("True", "False"):
            code = self.constant(self._fold(node, code))
        return code

    def _fold(self, node: ast.Node, code: _Code) -> Any:
        function = eval(compile(f"lambda K: {code.text}", "<constant>", "eval"), _NAMESPACE)  # noqa: S307 - our own generated source
        try:
            return function(self.K)
        except (ZeroDivisionError, DecimalException) as error:
            if is_division_by_zero(error):
                raise ExpressionError(DIVISION_BY_ZERO, "division by zero", node.line, node.column) from None
            raise ExpressionError(DIVISION_BY_ZERO, f"invalid arithmetic: {type(error).__name__}",
                                  node.line, node.column) from None

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
            values = [self.K[item.index] if item.index is not None else item.text == "True"
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
            return _Code(f"V[{node.args[0].dotted!r}] is not None", False, COMPARE)
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
            return _Code(f"not {operand.at(NOT)}", operand.const, NOT)
        return _Code(f"-{operand.at(NEG)}", operand.const, NEG)

    def _IfThenElse(self, node):
        condition, then, otherwise = self.emit(node.condition), self.emit(node.then), self.emit(node.otherwise)
        return _Code(f"{then.at(OR)} if {condition.at(OR)} else {otherwise.at(IF)}",
                     condition.const and then.const and otherwise.const, IF)

    def _Binary(self, node):
        left, right = self.emit(node.left), self.emit(node.right)
        const = left.const and right.const
        prec = _PRECEDENCE[node.op]
        # left-associative; comparisons do not chain in Python's sense, so both sides bind tighter
        left_text = left.at(prec + 1 if prec == COMPARE else prec)
        right_text = right.at(prec + 1)
        if node.op == "div":
            if self._constant_zero(right):
                raise ExpressionError(DIVISION_BY_ZERO, "division by zero", node.line, node.column)
            left_type = self.resolution.types.get(id(node.left))
            if t.is_numeric(left_type):
                return _Code(f"_D({left.text}) / {right_text}", const, PRODUCT)
            return _Code(f"{left_text} / {right_text}", const, PRODUCT)
        return _Code(f"{left_text} {_OPS[node.op]} {right_text}", const, prec)

    def _constant_zero(self, code: _Code) -> bool:
        """A divisor that is a constant zero: a load error whatever the dividend."""
        if code.index is None:
            return False
        value = self.K[code.index]
        if isinstance(value, Money):
            value = value.amount
        return isinstance(value, (int, Decimal)) and not isinstance(value, bool) and value == 0


def is_division_by_zero(error: Exception) -> bool:
    """0/0 is decimal's InvalidOperation([DivisionUndefined]); x/0 is DivisionByZero: both divide by zero."""
    if isinstance(error, ZeroDivisionError):
        return True
    return any(getattr(cause, "__name__", "") in ("DivisionByZero", "DivisionUndefined")
               for cause in (error.args[0] if error.args and isinstance(error.args[0], list) else []))


def compile_expression(node: ast.Node, resolution: Resolution, constants: dict[str, Any],
                       filename: str = "<expression>") -> Compiled:
    """Compile a checked expression.  Raises `ExpressionError` for a constant division by zero."""
    compiler = Compiler(resolution, constants)
    code = compiler.emit(node)
    source = f"lambda V, D: {code.text}"
    namespace = dict(_NAMESPACE, K=tuple(compiler.K))
    try:
        function = eval(compile(source, filename, "eval"), namespace)  # noqa: S307 - our own generated source
    except (RecursionError, MemoryError, SyntaxError):
        raise ExpressionError(TOO_DEEP, "expression too complex to compile (nested too deeply)",
                              node.line, node.column) from None
    reads = tuple(sorted(resolution.fields_used)) + tuple(sorted(resolution.definitions_used))
    if code.const:
        value = compiler.K[code.index] if code.index is not None else code.text == "True"
        return Compiled(function, source, True, value, reads)
    return Compiled(function, source, False, reads=reads)
