"""The typed (and folded) AST to Python source text, for a product's one generated function.

Amounts are plain `Decimal`s in the claim's currency at run time: the checker knows the currency
of every amount, so the only checks left for a claim are where an amount the product fixes in a
currency (a literal `50.00 EUR`, a table row) meets the claim's money: `cur` is the claim's
currency, and such an amount is `K[i] if cur == 'EUR' else _mismatch(...)`. A table whose rows are
in several currencies is checked row by row (`_amount`). Money read from the claim (a validated
`Money`, all of one currency) is read as its `.amount`.

The source uses only names of ours: `V` (the claim's values by path), `D` (the cache of the
product's definitions, by index), `T` (the trace), `cur`, `K` (constants), `_`-prefixed run-time
operations (`dsl.runtime`), and the identifiers the caller maps names to (definitions, locals).
Text from a product file never enters it: literals are constants, paths are `repr()` keys.
"""
from __future__ import annotations

from typing import Any, Callable

from . import typed as T
from . import types as t
from .values import Money

IF, OR, AND, NOT, COMPARE, SUM, PRODUCT, NEG, ATOM = range(9)
_PRECEDENCE = {"or": OR, "and": AND, "eq": COMPARE, "ne": COMPARE, "lt": COMPARE, "le": COMPARE,
               "gt": COMPARE, "ge": COMPARE, "in": COMPARE, "not_in": COMPARE, "add": SUM, "sub": SUM,
               "mul": PRODUCT, "div": PRODUCT}
_OPS = {"add": "+", "sub": "-", "mul": "*", "eq": "==", "ne": "!=", "lt": "<", "le": "<=",
        "gt": ">", "ge": ">=", "in": "in", "not_in": "not in", "and": "and", "or": "or"}
_TAKES_POSITION = frozenset({"min_of", "max_of"})


class Code:
    __slots__ = ("text", "prec")

    def __init__(self, text: str, prec: int = ATOM):
        self.text = text
        self.prec = prec

    def at(self, prec: int) -> str:
        """The text, in parentheses if it binds less tightly than `prec` needs."""
        return self.text if self.prec >= prec else f"({self.text})"


class Emitter:
    """Writes expressions of one product into one module's source.

    `constant(value)` gives the source of a constant (the module keeps them); `definition(name)`
    the source that reads a definition's value for this claim; `locate(node)` where a node is
    written, as a constant, for the errors a claim can cause; `personal` what is personal data.
    `query(source, element, keep, project, info, where, outside)`, when given, writes a query as a
    function of the module with its condition and projection inline (`keep`, `project`: source
    text over `element`, or None; `outside`: the local names the text may read) and gives the
    source that calls it; without it, a query is `_select` with lambdas.
    """

    def __init__(self, constant: Callable[[Any], str], definition: Callable[[str], str],
                 locate: Callable[[T.Expr], str], tables: dict[str, Any], personal: frozenset[str] = frozenset(),
                 decision: Callable[[str], str] | None = None, query: Callable[..., str] | None = None):
        self.constant = constant
        self.definition = definition
        self.locate = locate
        self.tables = tables
        self.personal = personal
        self.decision = decision
        self.query = query
        self.names: dict[str, str] = {}          # local name -> identifier
        self.depth = 0

    def emit(self, node: T.Expr) -> Code:
        return getattr(self, "_" + type(node).__name__)(node)

    def text(self, node: T.Expr) -> str:
        return self.emit(node).text

    # -- constants ----------------------------------------------------------------
    def _fixed(self, amount: Money, node: T.Expr) -> Code:
        """An amount the product fixes in a currency, where it meets the claim's money."""
        if amount.currency is None or amount.amount == 0:
            return Code(self.constant(amount.amount))
        k = self.constant(amount.amount)
        return Code(f"({k} if cur == {amount.currency!r} else _mismatch(cur, {self.constant(amount)}, "
                    f"{self.locate(node)}))")

    def _Const(self, node: T.Const) -> Code:
        value = node.value
        if value is True or value is False:
            return Code("True" if value else "False")
        if isinstance(value, Money):
            return self._fixed(value, node)
        if isinstance(value, tuple) and any(isinstance(v, Money) for v in value):
            return Code("(" + "".join(self._fixed(v, node).text + ", " for v in value) + ")")
        return Code(self.constant(value))

    # -- names ----------------------------------------------------------------------
    def _money(self, text: str, type_: t.Type) -> str:
        return f"{text}.amount" if isinstance(type_, t.Money) else text

    def _FieldRef(self, node: T.FieldRef) -> Code:
        read = f"V[{node.path!r}]"
        if node.may_be_absent:
            read = f"_given({read}, {node.path!r}, {self.locate(node)})"
        return Code(self._money(read, node.type))

    def _Has(self, node: T.Has) -> Code:
        return Code(f"V[{node.path!r}] is not None", COMPARE)

    def _DefinitionRef(self, node: T.DefinitionRef) -> Code:
        return Code(self.definition(node.name))

    def _DecisionRef(self, node: T.DecisionRef) -> Code:
        return Code(self.decision(node.name))

    def _Local(self, node: T.Local) -> Code:
        return Code(self.names[node.name])

    def _Member(self, node: T.Member) -> Code:
        read = f"{self.emit(node.target).text}[{node.name!r}]"
        if node.may_be_absent:
            read = f"_given({read}, {T.member_path(node)!r}, {self.locate(node)})"
        return Code(self._money(read, node.type))

    def _HasMember(self, node: T.HasMember) -> Code:
        return Code(f"{self.emit(node.target).text}[{node.name!r}] is not None", COMPARE)

    def _Lookup(self, node: T.Lookup) -> Code:
        table = self.tables[node.table]
        key_type = node.key.type
        key = self.text(node.key)
        if isinstance(key_type, t.Money):                # bands of amounts compare amounts with currencies
            key = f"_M({key}, cur)"
        personal = "True" if T.reads_any(node.key, self.personal) else "False"
        read = f"_lookup({self.constant(table)}, {key}, T, {self.locate(node)}, {personal})"
        if isinstance(node.type, t.Money):
            read = f"_amount({read}, cur, {self.locate(node)})"
        return Code(read)

    def _Query(self, node: T.Query) -> Code:
        source = self.text(node.source)
        what = node.source.path if isinstance(node.source, T.FieldRef) else \
            node.source.name if isinstance(node.source, (T.DefinitionRef, T.Local)) else "the list"
        info = self.constant((what, None))
        where = self.locate(node)
        element = f"_e{self.depth}"
        outer = self.names.get(node.name)
        self.names[node.name] = element
        self.depth += 1
        try:
            keep = self.text(node.where) if node.where is not None else None
            project = self.text(node.project) if node.project is not None else None
        finally:
            self.depth -= 1
            if outer is None:
                del self.names[node.name]
            else:
                self.names[node.name] = outer
        if self.query is not None:          # a function of the module, its condition inline: no call per element
            outside = [name for name in self.names.values() if name != element]
            return Code(self.query(source, element, keep, project, info, where, outside))
        keep = f"lambda {element}: {keep}" if keep is not None else "None"
        project = f"lambda {element}: {project}" if project is not None else "None"
        return Code(f"_select({info}, {where}, {source}, T, {keep}, {project})")

    def _ListOf(self, node: T.ListOf) -> Code:
        return Code("(" + "".join(self.text(item) + ", " for item in node.items) + ")")

    # -- operations -----------------------------------------------------------------
    def _Call(self, node: T.Call) -> Code:
        args = [self.text(arg) for arg in node.args]
        if node.function == "round" and len(args) == 1:          # an amount, to the claim currency's minor unit
            return Code(f"_round_amount({args[0]}, cur)")
        if node.function in _TAKES_POSITION:
            args.append(self.locate(node))
        return Code(f"_{node.function}({', '.join(args)})")

    def _Unary(self, node: T.Unary) -> Code:
        operand = self.emit(node.operand)
        if node.op == "not":
            return Code(f"not {operand.at(NOT)}", NOT)
        return Code(f"-{operand.at(NEG)}", NEG)

    def _Choice(self, node: T.Choice) -> Code:
        condition, then, otherwise = self.emit(node.condition), self.emit(node.then), self.emit(node.otherwise)
        return Code(f"{then.at(OR)} if {condition.at(OR)} else {otherwise.at(IF)}", IF)

    def _Between(self, node: T.Between) -> Code:
        value, low, high = (self.emit(part).at(SUM) for part in (node.value, node.low, node.high))
        return Code(f"{low} <= {value} <= {high}", COMPARE)

    def _Binary(self, node: T.Binary) -> Code:
        left, right = self.emit(node.left), self.emit(node.right)
        if node.op == "div":
            return Code(f"_div({left.text}, {right.text}, {self.locate(node)})")
        prec = _PRECEDENCE[node.op]
        left_text = left.at(prec + 1 if prec == COMPARE else prec)
        return Code(f"{left_text} {_OPS[node.op]} {right.at(prec + 1)}", prec)


__all__ = ["Emitter", "Code"]
