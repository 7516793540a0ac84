"""Flow typing for values that may be absent: which reads of them nothing guards.

A claim field that may be absent (optional, required or given only under a condition, or under
an optional object) is read through `runtime.given`, which fails for a claim without it: that
claim's `evaluation.error`. This pass finds, at load, every such read that nothing guarantees,
from the typed AST alone, in the order compiled code evaluates it:

* the right of `a and b` is evaluated only when `a` holds, the right of `a or b` only when `a`
  does not, the `then` of `if c then a else b` only when `c` holds and the `else` only when it
  does not, the projection of a query only for the elements its `where` keeps;
* what is known true at a point is a set of *facts*: `has(path)`, a condition (`claim.repairable`,
  `"medical" in claim.sections`) or its negation, each a structural key of the typed AST
  (positions and types dropped, so the same condition written twice is the same fact);
* `Presence` holds the product's *rules*: a set of facts that makes a field present
  (`claim.repairable` makes `claim.repair_cost` present when it is `required_when:
  claim.repairable`; `has(claim.replacement)` makes its fields present). `has(a.b.c)` makes
  `a.b` and `a` present too.

A definition is computed where it is first read (and kept for the rest of the claim), so its
reads happen at its uses: `unguarded` reads a definition's reads as happening at each use,
with what is known there and what the definition itself knows at the read. A definition that
reads an optional field is fine when every use of it is guarded; each unguarded use is reported
at the use, naming the definition (and the chain of definitions) and the read.

Nothing here looks names up or reports problems: the caller (the product builder) gives what
each use of an expression guarantees and words the messages.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from . import typed as T

Fact = tuple

_SYMMETRIC = frozenset({"eq", "add", "mul", "and", "or"})
_MAX_PREMISES = 16


def _value(value):
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


def fact(node: T.Expr, cache: dict | None = None) -> Fact:
    """The structural key of an expression: the same condition written twice is the same fact.
    `a != b` is the negation of `a == b`, `x not in l` of `x in l`, `not c` of `c`, and `c == true`
    is `c`. `cache` (by node identity, holding the node) spares recomputing shared subtrees."""
    if cache is None:
        cache = {}
    found = cache.get(id(node))
    if found is not None:
        return found[1]
    key = _fact(node, cache)
    cache[id(node)] = (node, key)
    return key


def _fact(node: T.Expr, cache: dict) -> Fact:
    sub = lambda n: fact(n, cache)          # noqa: E731
    if isinstance(node, T.Const):
        return ("const", _value(node.value))
    if isinstance(node, T.FieldRef):
        return ("field", node.path)
    if isinstance(node, T.Has):
        return has(node.path)
    if isinstance(node, T.DefinitionRef):
        return ("definition", node.name)
    if isinstance(node, T.DecisionRef):
        return ("decision", node.name)
    if isinstance(node, T.Local):
        return ("local", node.name)
    if isinstance(node, T.Member):
        return ("member", sub(node.target), node.name)
    if isinstance(node, T.HasMember):
        return ("has", sub(node.target), node.name)
    if isinstance(node, T.Unary):
        return negate(sub(node.operand)) if node.op == "not" else ("neg", sub(node.operand))
    if isinstance(node, T.Binary):
        op = node.op
        if op in ("eq", "ne"):
            flag = _bool_side(node)
            if flag is not None:
                other, value = flag
                positive = value if op == "eq" else not value
                return sub(other) if positive else negate(sub(other))
        if op == "ne":
            return negate(_pair("eq", sub(node.left), sub(node.right)))
        if op == "not_in":
            return negate(("in", sub(node.left), sub(node.right)))
        return _pair(op, sub(node.left), sub(node.right))
    if isinstance(node, T.Choice):
        return ("if", sub(node.condition), sub(node.then), sub(node.otherwise))
    if isinstance(node, T.Between):
        return ("between", sub(node.value), sub(node.low), sub(node.high))
    if isinstance(node, T.Lookup):
        return ("lookup", node.table, sub(node.key))
    if isinstance(node, T.Call):
        return ("call", node.function, *(sub(arg) for arg in node.args))
    if isinstance(node, T.ListOf):
        return ("list", *(sub(item) for item in node.items))
    if isinstance(node, T.Query):
        return ("query", node.name, sub(node.source), None if node.where is None else sub(node.where),
                None if node.project is None else sub(node.project))
    return (type(node).__name__, node.line, node.column)  # pragma: no cover - every node is listed


def _pair(op: str, left: Fact, right: Fact) -> Fact:
    sides = (left, right)
    if op in _SYMMETRIC:
        sides = tuple(sorted(sides, key=repr))
    return (op, *sides)


def _bool_side(node: T.Binary):
    """(the other side, the bool) of `c == true`, `false != c`..., or None."""
    for this, other in ((node.right, node.left), (node.left, node.right)):
        if isinstance(this, T.Const) and isinstance(this.value, bool):
            return other, this.value
    return None


def equals(left: Fact, right: Fact) -> Fact:
    """The fact `left == right`, of two facts (`decision.outcome == "approved"`)."""
    return _pair("eq", left, right)


def negate(key: Fact) -> Fact:
    return key[1] if key[0] == "not" else ("not", key)


def has(path: str) -> Fact:
    """The fact that a claim field (or object) is present."""
    return ("has", path)


def has_member(target: T.Expr, name: str, cache: dict | None = None) -> Fact:
    """The fact that an item field of an element (`has(part.note)`) is present."""
    return ("has", fact(target, cache), name)


def membership(code: str, path: str) -> Fact:
    """The fact `"code" in path` (a circumstance, a document given, a section claimed)."""
    return ("in", ("const", code), ("field", path))


def facts_when(node: T.Expr, value: bool, definitions: Mapping[str, T.Expr] | None = None,
               cache: dict | None = None) -> frozenset[Fact]:
    """What is known once `node` (a condition) is known to be `value`."""
    definitions = definitions or {}
    cache = {} if cache is None else cache
    found: set[Fact] = set()
    stack = [(node, value)]
    seen = set()
    while stack:
        node, value = stack.pop()
        if isinstance(node, T.Const):
            continue
        if isinstance(node, T.DefinitionRef):
            if (node.name, value) in seen:
                continue
            seen.add((node.name, value))
        key = fact(node, cache)
        found.add(key if value else negate(key))
        if isinstance(node, T.Unary) and node.op == "not":
            stack.append((node.operand, not value))
        elif isinstance(node, T.Binary) and node.op == ("and" if value else "or"):
            stack.extend(((node.left, value), (node.right, value)))
        elif isinstance(node, T.Binary) and node.op in ("eq", "ne") and _bool_side(node) is not None:
            other, flag = _bool_side(node)
            stack.append((other, value == (flag if node.op == "eq" else not flag)))
        elif isinstance(node, T.DefinitionRef) and node.name in definitions:
            stack.append((definitions[node.name], value))
    return frozenset(found)


def premises(node: T.Expr, definitions: Mapping[str, T.Expr] | None = None,
             cache: dict | None = None) -> list[frozenset[Fact]]:
    """Sets of facts, each of which makes `node` true: the condition itself; for `a or b`, those of
    a and those of b; for `a and b`, each one of a's with one of b's (at most 16 in all)."""
    definitions = definitions or {}
    cache = {} if cache is None else cache
    own = [frozenset([fact(node, cache)])]
    if isinstance(node, T.Binary) and node.op == "or":
        found = own + premises(node.left, definitions, cache) + premises(node.right, definitions, cache)
    elif isinstance(node, T.Binary) and node.op == "and":
        left, right = premises(node.left, definitions, cache), premises(node.right, definitions, cache)
        found = own + [a | b for a in left for b in right]
    elif isinstance(node, T.DefinitionRef) and node.name in definitions:
        found = own + premises(definitions[node.name], definitions, cache)
    else:
        found = own
    return list(dict.fromkeys(found))[:_MAX_PREMISES]


@dataclass(frozen=True)
class Unguarded:
    """A read of a value that may be absent, with nothing to guarantee it is present.

    `line`, `column`: where in the expression (the read itself, or the use of the definition that
    reads it). `through`: the definitions it is read through, the one used here first; `at`: the
    read's position in the last of them. `subject`: what `has()` takes to guard it (the field's
    path, or `part.note` for an item field)."""
    path: str
    subject: str
    line: int
    column: int
    through: tuple[str, ...] = ()
    at: tuple[int, int] | None = None


@dataclass(frozen=True)
class _Read:
    needs: Fact
    path: str
    subject: str
    facts: frozenset
    line: int
    column: int
    through: tuple[str, ...] = ()
    at: tuple[int, int] | None = None


Rule = tuple          # (premise: frozenset of facts, conclusion: frozenset of facts)


class Presence:
    """What makes values present (`rules`), and the definitions' typed ASTs, for one product.

    Built once per product at load; `unguarded` is asked for each use of an expression."""

    def __init__(self, rules: Iterable[Rule] = (), definitions: Mapping[str, T.Expr] | None = None):
        self.rules = tuple(rules)
        self.definitions = dict(definitions or {})
        self._closures: dict = {}
        self._facts: dict = {}                              # fact() by node identity
        self._summaries: dict[str, tuple[_Read, ...]] = {}
        for name in _in_dependency_order(self.definitions):
            reads = self._reads(self.definitions[name], frozenset())
            self._summaries[name] = tuple(self._pruned(reads))

    def closure(self, facts: frozenset, extra: tuple = ()) -> frozenset:
        """`facts` and everything the rules (the product's and `extra`) make of them."""
        key = (facts, extra)
        if key in self._closures:
            return self._closures[key]
        found = set(facts)
        rules = self.rules + extra
        changed = True
        while changed:
            changed = False
            for item in list(found):
                if item[0] == "has" and isinstance(item[1], str):
                    parts = item[1].split(".")
                    for length in range(1, len(parts)):
                        parent = has(".".join(parts[:length]))
                        if parent not in found:
                            found.add(parent)
            for premise, conclusion in rules:
                if premise <= found and not conclusion <= found:
                    found |= conclusion
                    changed = True
        result = frozenset(found)
        self._closures[key] = result
        return result

    def unguarded(self, node: T.Expr, known: Iterable[Fact] = (), extra: tuple = ()) -> list[Unguarded]:
        """The reads in `node` of values that may be absent that nothing guarantees, given what is
        `known` where it is evaluated (and `extra` rules that hold there). Raises RecursionError for
        an expression nested too deeply to walk."""
        found, seen = [], set()
        for read in self._reads(node, frozenset(known)):
            if read.needs in self.closure(read.facts, extra):
                continue
            key = (read.path, read.line, read.column)
            if key in seen:
                continue
            seen.add(key)
            found.append(Unguarded(read.path, read.subject, read.line, read.column, read.through, read.at))
        return found

    def fact(self, node: T.Expr) -> Fact:
        return fact(node, self._facts)

    def facts_when(self, node: T.Expr, value: bool = True) -> frozenset[Fact]:
        return facts_when(node, value, self.definitions, self._facts)

    def premises(self, node: T.Expr) -> list[frozenset[Fact]]:
        return premises(node, self.definitions, self._facts)

    # -- the walk -----------------------------------------------------------------
    def _pruned(self, reads: list[_Read]) -> list[_Read]:
        """A definition's reads, less those it guards itself, each once."""
        kept, seen = [], set()
        for read in reads:
            if read.needs in self.closure(read.facts):
                continue
            key = (read.needs, read.facts, read.through[-1:], read.at or (read.line, read.column))
            if key not in seen:
                seen.add(key)
                kept.append(read)
        return kept

    def _reads(self, node: T.Expr, facts: frozenset) -> list[_Read]:
        out: list[_Read] = []
        self._walk(node, facts, out)
        return out

    def _walk(self, node: T.Expr, facts: frozenset, out: list) -> None:
        if isinstance(node, T.FieldRef):
            if node.may_be_absent:
                out.append(_Read(has(node.path), node.path, node.path, facts, node.line, node.column))
            return
        if isinstance(node, T.Member):
            self._walk(node.target, facts, out)
            if node.may_be_absent:
                subject = f"{node.target.name}.{node.name}" if isinstance(node.target, T.Local) else node.name
                out.append(_Read(has_member(node.target, node.name, self._facts), T.member_path(node), subject, facts,
                                 node.line, node.column))
            return
        if isinstance(node, T.Has):
            return
        if isinstance(node, T.DefinitionRef):
            for read in self._summaries.get(node.name, ()):
                out.append(_Read(read.needs, read.path, read.subject, facts | read.facts, node.line, node.column,
                                 (node.name, *read.through), read.at or (read.line, read.column)))
            return
        if isinstance(node, T.Binary) and node.op in ("and", "or"):
            self._walk(node.left, facts, out)
            self._walk(node.right, facts | self.facts_when(node.left, node.op == "and"), out)
            return
        if isinstance(node, T.Choice):
            self._walk(node.condition, facts, out)
            self._walk(node.then, facts | self.facts_when(node.condition, True), out)
            self._walk(node.otherwise, facts | self.facts_when(node.condition, False), out)
            return
        if isinstance(node, T.Query):
            self._walk(node.source, facts, out)
            if node.where is not None:
                self._walk(node.where, facts, out)
            if node.project is not None:
                kept = facts | self.facts_when(node.where, True) if node.where is not None else facts
                self._walk(node.project, kept, out)
            return
        for child in node.children():
            self._walk(child, facts, out)


def _in_dependency_order(definitions: Mapping[str, T.Expr]) -> list[str]:
    """Each definition after those it reads (Kahn's algorithm; a cycle cannot reach here: the
    checker refuses it, and a definition that failed has no typed AST)."""
    depends = {name: [d for d in T.definitions_read(body) if d in definitions and d != name]
               for name, body in definitions.items()}
    waiting = {name: len(deps) for name, deps in depends.items()}
    users: dict[str, list[str]] = {name: [] for name in definitions}
    for name, deps in depends.items():
        for dep in deps:
            users[dep].append(name)
    ready = [name for name, count in waiting.items() if count == 0]
    order = []
    while ready:
        name = ready.pop()
        order.append(name)
        for user in users[name]:
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
    return order


__all__ = ["Presence", "Unguarded", "equals", "fact", "facts_when", "has", "has_member", "membership", "negate", "premises"]
