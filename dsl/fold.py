"""Constant folding: a pass over the typed AST, at load.

A sub-expression whose operands are all known at load is replaced by its value (`Const`),
computed by the very functions compiled code calls (`dsl.runtime`), so a folded value and a
computed one can never differ. `if` with a known condition keeps only its branch; `and`/`or`
with a known left side keep what Python's short-circuit would evaluate. Table and band lookups
are never folded: the engine records which row a claim used.

A constant that cannot be computed (`1 / (2 - 2)`, `2024-01-01 + 99999 years`), or a division by
a constant zero whatever the dividend, is a load error at its position: every claim would fail.
"""
from __future__ import annotations

from decimal import Decimal, DecimalException, localcontext

from . import typed as T
from .errors import DIVISION_BY_ZERO, OUT_OF_RANGE, EvaluationError, ExpressionError
from .runtime import CONTEXT, FUNCTIONS, OPERATORS, between, divide
from .values import Money


def fold(node: T.Expr) -> T.Expr:
    """`node` with its constant sub-expressions folded. Raises `ExpressionError`."""
    with localcontext(CONTEXT):
        return _fold(node)


def is_constant(node: T.Expr) -> bool:
    return isinstance(node, T.Const)


def _fold(node: T.Expr) -> T.Expr:
    if isinstance(node, T.Lookup):
        key = _fold(node.key)
        return node if key is node.key else T.Lookup(node.line, node.column, node.type, node.table, key)
    if isinstance(node, T.ListOf):
        items = tuple(_fold(item) for item in node.items)
        if all(isinstance(item, T.Const) for item in items):
            values = [item.value for item in items]
            try:
                value = frozenset(values)
            except TypeError:               # amounts are not hashable
                value = tuple(values)
            return T.Const(node.line, node.column, node.type, value)
        return T.ListOf(node.line, node.column, node.type, items)
    if isinstance(node, T.Call):
        args = tuple(_fold(arg) for arg in node.args)
        if all(isinstance(arg, T.Const) for arg in args):
            return _computed(node, FUNCTIONS[node.function], *(arg.value for arg in args))
        return T.Call(node.line, node.column, node.type, node.function, args)
    if isinstance(node, T.Unary):
        operand = _fold(node.operand)
        if isinstance(operand, T.Const):
            return _computed(node, OPERATORS[node.op], operand.value)
        return T.Unary(node.line, node.column, node.type, node.op, operand)
    if isinstance(node, T.Binary):
        return _binary(node)
    if isinstance(node, T.Choice):
        condition = _fold(node.condition)
        if isinstance(condition, T.Const):
            return _fold(node.then if condition.value else node.otherwise)
        return T.Choice(node.line, node.column, node.type, condition, _fold(node.then), _fold(node.otherwise))
    if isinstance(node, T.Between):
        parts = [_fold(part) for part in (node.value, node.low, node.high)]
        if all(isinstance(part, T.Const) for part in parts):
            return _computed(node, between, *(part.value for part in parts))
        return T.Between(node.line, node.column, node.type, *parts)
    if isinstance(node, T.Query):               # never folded whole: the trace shows what it chose
        return T.Query(node.line, node.column, node.type, node.name, _fold(node.source),
                       None if node.where is None else _fold(node.where),
                       None if node.project is None else _fold(node.project))
    # Const, FieldRef, Has, DefinitionRef, DecisionRef, Local, Member, HasMember: nothing to fold
    return node


def _binary(node: T.Binary) -> T.Expr:
    left = _fold(node.left)
    if node.op in ("and", "or") and isinstance(left, T.Const):
        decided = (left.value is False) if node.op == "and" else (left.value is True)
        return left if decided else _fold(node.right)
    right = _fold(node.right)
    if node.op == "div" and isinstance(right, T.Const) and _is_zero(right.value):
        raise ExpressionError(DIVISION_BY_ZERO, "division by zero", node.line, node.column)
    if isinstance(left, T.Const) and isinstance(right, T.Const):
        operation = divide if node.op == "div" else _logic(node.op) or OPERATORS[node.op]
        return _computed(node, operation, left.value, right.value)
    return T.Binary(node.line, node.column, node.type, node.op, left, right)


def _logic(op: str):
    if op == "and":
        return lambda a, b: a and b
    if op == "or":
        return lambda a, b: a or b
    return None


def _computed(node: T.Expr, operation, *values) -> T.Const:
    try:
        value = operation(*values)
    except EvaluationError as error:
        code = DIVISION_BY_ZERO if error.kind == "division-by-zero" else OUT_OF_RANGE
        raise ExpressionError(code, error.message, node.line, node.column) from None
    except DecimalException as error:
        if _divides_by_zero(error):
            raise ExpressionError(DIVISION_BY_ZERO, "division by zero", node.line, node.column) from None
        raise ExpressionError(OUT_OF_RANGE, f"this cannot be computed ({type(error).__name__})",
                              node.line, node.column) from None
    return T.Const(node.line, node.column, node.type, value)


def _is_zero(value) -> bool:
    if isinstance(value, Money):
        value = value.amount
    return not isinstance(value, bool) and isinstance(value, (int, Decimal)) and value == 0


def _divides_by_zero(error: Exception) -> bool:
    """0/0 is decimal's InvalidOperation([DivisionUndefined]); x/0 is DivisionByZero."""
    causes = error.args[0] if error.args and isinstance(error.args[0], list) else []
    return isinstance(error, ZeroDivisionError) or \
        any(getattr(cause, "__name__", "") in ("DivisionByZero", "DivisionUndefined") for cause in causes)


__all__ = ["fold", "is_constant"]
