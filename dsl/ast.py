"""AST of the expression language.

Every node keeps the position (1-based line and column, inside the expression
text) of its first character, so the checker can point at it.  Nodes are
immutable; the Lark tree never leaves `dsl.parser`.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Node:
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Number(Node):
    value: Decimal | int          # int for a literal without a fraction


@dataclass(frozen=True, slots=True)
class Percent(Node):
    value: Decimal                # 10% is Decimal("0.10")
    text: str


@dataclass(frozen=True, slots=True)
class MoneyLit(Node):
    amount: Decimal
    currency: str


@dataclass(frozen=True, slots=True)
class DurationLit(Node):
    count: int
    unit: str                     # "minutes", "hours", "days" or "months" (weeks are 7 days, years 12 months)
    text: str


@dataclass(frozen=True, slots=True)
class DateTimeLit(Node):
    text: str                     # ISO 8601 with a UTC offset; checked by the checker


@dataclass(frozen=True, slots=True)
class DateLit(Node):
    text: str                     # checked (and turned into a date) by the checker


@dataclass(frozen=True, slots=True)
class String(Node):
    value: str


@dataclass(frozen=True, slots=True)
class Bool(Node):
    value: bool


@dataclass(frozen=True, slots=True)
class ListExpr(Node):
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Path(Node):
    parts: tuple[str, ...]

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Index(Node):
    target: Node
    key: Node


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str                       # "neg" or "not"
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str                       # add sub mul div eq ne lt le gt ge in not_in and or
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Between(Node):
    """`value between low and high`: both ends included."""
    value: Node
    low: Node
    high: Node


@dataclass(frozen=True, slots=True)
class Query(Node):
    """Over the elements of a list, each bound to `name`: those meeting `where` (all of them when
    it is None), or the value of `project` for each of them."""
    name: str
    source: Node
    where: Node | None
    project: Node | None


@dataclass(frozen=True, slots=True)
class IfThenElse(Node):
    condition: Node
    then: Node
    otherwise: Node


OPERATOR_TEXT = {
    "add": "+", "sub": "-", "mul": "*", "div": "/",
    "eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
    "in": "in", "not_in": "not in", "and": "and", "or": "or",
    "neg": "-", "not": "not",
}


def walk(node: Node):
    """Yield node and every node below it, depth first."""
    yield node
    if isinstance(node, ListExpr):
        for item in node.items:
            yield from walk(item)
    elif isinstance(node, Call):
        for arg in node.args:
            yield from walk(arg)
    elif isinstance(node, Index):
        yield from walk(node.target)
        yield from walk(node.key)
    elif isinstance(node, Unary):
        yield from walk(node.operand)
    elif isinstance(node, Binary):
        yield from walk(node.left)
        yield from walk(node.right)
    elif isinstance(node, IfThenElse):
        yield from walk(node.condition)
        yield from walk(node.then)
        yield from walk(node.otherwise)
    elif isinstance(node, Between):
        yield from walk(node.value)
        yield from walk(node.low)
        yield from walk(node.high)
    elif isinstance(node, Query):
        yield from walk(node.source)
        for part in (node.where, node.project):
            if part is not None:
                yield from walk(part)
