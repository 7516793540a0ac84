"""The typed AST: what the checker returns, the folder simplifies and the compiler turns into code.

Every node carries its static type and the position (1-based line and column inside the
expression text) of its first character. Names are resolved: a parse-tree `Path` has become a
`FieldRef`, a `DefinitionRef`, a `Lookup` of a named table, a `Local` (a name an aggregate
binds), a `Member` of a record, or a constant (an event group). Nothing downstream of the
checker looks names up again, and nothing needs a side table keyed by `id(node)`.

Nodes are immutable; `children()` lists the sub-expressions so that passes (folding, the
compiler's bookkeeping, the builder's lint) walk the tree without knowing every node class.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from .types import Type


@dataclass(frozen=True, slots=True)
class Expr:
    line: int
    column: int
    type: Type

    def children(self) -> tuple["Expr", ...]:
        return ()


@dataclass(frozen=True, slots=True)
class Const(Expr):
    """A value known at load: a literal, an event group, or a folded sub-expression."""
    value: Any


@dataclass(frozen=True, slots=True)
class FieldRef(Expr):
    """A claim field, by dotted path. `may_be_absent`: optional without a default (reading it
    when it is absent is that claim's evaluation error; `has()` tells first)."""
    path: str
    may_be_absent: bool = False


@dataclass(frozen=True, slots=True)
class Has(Expr):
    """`has(claim.replacement)`: whether an optional field or group is present."""
    path: str


@dataclass(frozen=True, slots=True)
class DefinitionRef(Expr):
    name: str


@dataclass(frozen=True, slots=True)
class DecisionRef(Expr):
    """A value of the decision (`decision.payout`), readable by invariants only."""
    name: str


@dataclass(frozen=True, slots=True)
class Local(Expr):
    """A name bound here: an element of a query (`h` in `h in policy.claims_history where ...`),
    or a value a settlement step is given (`amount`, the element of an `each`)."""
    name: str


@dataclass(frozen=True, slots=True)
class Member(Expr):
    """An item field of a record (`h.paid`); `may_be_absent` as for a claim field."""
    target: Expr
    name: str
    may_be_absent: bool = False

    def children(self):
        return (self.target,)


@dataclass(frozen=True, slots=True)
class HasMember(Expr):
    """`has(h.note)`: whether an optional item field is present."""
    target: Expr
    name: str

    def children(self):
        return (self.target,)


@dataclass(frozen=True, slots=True)
class Query(Expr):
    """The elements of `source`, each bound to `name`, that meet `where` (all of them when None),
    or the value of `project` for each of those: a list."""
    name: str
    source: Expr
    where: Expr | None
    project: Expr | None

    def children(self):
        return tuple(part for part in (self.source, self.where, self.project) if part is not None)


@dataclass(frozen=True, slots=True)
class Between(Expr):
    """`value between low and high`, both ends included."""
    value: Expr
    low: Expr
    high: Expr

    def children(self):
        return (self.value, self.low, self.high)


@dataclass(frozen=True, slots=True)
class Lookup(Expr):
    """`excess_by_country[key]`: a row of a named table, or the band a number falls in."""
    table: str
    key: Expr

    def children(self):
        return (self.key,)


@dataclass(frozen=True, slots=True)
class Call(Expr):
    """One of the allowed functions, by name (see `dsl.runtime.FUNCTIONS`)."""
    function: str
    args: tuple[Expr, ...]

    def children(self):
        return self.args


@dataclass(frozen=True, slots=True)
class Unary(Expr):
    op: str                        # "neg" or "not"
    operand: Expr

    def children(self):
        return (self.operand,)


@dataclass(frozen=True, slots=True)
class Binary(Expr):
    op: str                        # add sub mul div eq ne lt le gt ge in not_in and or
    left: Expr
    right: Expr

    def children(self):
        return (self.left, self.right)


@dataclass(frozen=True, slots=True)
class Choice(Expr):
    """`if condition then a else b`."""
    condition: Expr
    then: Expr
    otherwise: Expr

    def children(self):
        return (self.condition, self.then, self.otherwise)


@dataclass(frozen=True, slots=True)
class ListOf(Expr):
    """A list written out: `["private", "company"]`."""
    items: tuple[Expr, ...]

    def children(self):
        return self.items


def walk(node: Expr) -> Iterator[Expr]:
    """`node` and every node below it, depth first."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children()))


def fields_read(node: Expr) -> tuple[str, ...]:
    """The claim fields an expression reads, in order of first appearance."""
    return tuple(dict.fromkeys(n.path for n in walk(node) if isinstance(n, (FieldRef, Has))))


def member_path(node: "Member") -> str:
    """How an item field is named where personal data is declared: `claim.people[].born`."""
    owner = node.target.type
    return f"{owner.path}[].{node.name}" if hasattr(owner, "path") else node.name


def reads_any(node: Expr, names) -> bool:
    """Whether the expression reads any of `names` (field paths, definitions, item fields as
    `member_path` names them): for masking what is computed from personal data."""
    for sub in walk(node):
        if isinstance(sub, (FieldRef, Has)) and sub.path in names:
            return True
        if isinstance(sub, DefinitionRef) and sub.name in names:
            return True
        if isinstance(sub, (Member, HasMember)) and member_path(sub) in names:
            return True
    return False


def definitions_read(node: Expr) -> tuple[str, ...]:
    """The definitions an expression reads, in order of first appearance."""
    return tuple(dict.fromkeys(n.name for n in walk(node) if isinstance(n, DefinitionRef)))
