"""The typed (and folded) AST to a Python function, once, at load.

Each expression becomes the source of `lambda V, D: ...` over three names: `V` (the claim's
validated field values, by dotted path), `D` (the evaluation environment: the product's
definitions, computed on first use, and where lookups report what they used; see
`dsl.runtime.Environment`) and `K` (this expression's constants). Text from a product file
never enters the source: literals go to `K`, and the only names written into it are field
paths and definition names as `repr()` string keys. The source is compiled against a namespace
that holds only the run-time operations (`dsl.runtime`) and no builtins.

The code object is compiled with the product file's name and the expression's line in it, so
a traceback through a product's code points at the YAML line (the engine registers the file's
text in `linecache`); operations that can fail for a claim (a division, a lookup, reading an
optional field) are given the position of their sub-expression in the file, which the
`EvaluationError` they raise carries.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from . import runtime
from . import typed as T
from .errors import TOO_DEEP, ExpressionError

Locate = Callable[[int, int], tuple]          # (line, column) in the expression -> (file, line, column)

_NAMESPACE = {
    "__builtins__": {},
    "_lookup": runtime.lookup,
    "_given": runtime.given,
    "_div": runtime.divide,
    "_select": runtime.select,
    **{f"_{name}": function for name, function in runtime.FUNCTIONS.items()},
}
_TAKES_POSITION = frozenset({"min_of", "max_of"})      # may fail for a claim: given where they stand

_OPS = {"add": "+", "sub": "-", "mul": "*", "eq": "==", "ne": "!=", "lt": "<", "le": "<=",
        "gt": ">", "ge": ">=", "in": "in", "not_in": "not in", "and": "and", "or": "or"}


@dataclass(frozen=True)
class Compiled:
    """One compiled expression: `function(V, D)` and, when it is constant, its value."""
    function: Callable[[dict, Any], Any]
    source: str
    is_constant: bool
    constant: Any = None
    reads: tuple[str, ...] = ()           # claim fields, then definitions, it reads (for the trace)


# Python's operator precedence, lowest first: the source gets parentheses only where they are
# needed, so a flat chain of 300 terms is 300 terms, not 300 nested parentheses (Python's parser
# allows 200).
IF, OR, AND, NOT, COMPARE, SUM, PRODUCT, NEG, ATOM = range(9)
_PRECEDENCE = {"or": OR, "and": AND, "eq": COMPARE, "ne": COMPARE, "lt": COMPARE, "le": COMPARE,
               "gt": COMPARE, "ge": COMPARE, "in": COMPARE, "not_in": COMPARE, "add": SUM, "sub": SUM,
               "mul": PRODUCT, "div": PRODUCT}


class _Code:
    __slots__ = ("text", "prec")

    def __init__(self, text: str, prec: int = ATOM):
        self.text = text
        self.prec = prec

    def at(self, prec: int) -> str:
        """The text, in parentheses if it binds less tightly than `prec` needs."""
        return self.text if self.prec >= prec else f"({self.text})"


class _Emitter:
    def __init__(self, tables: dict[str, Any], locate: Locate | None, params: tuple[str, ...],
                 personal: frozenset[str]):
        self.tables = tables
        self.personal = personal
        self.locate = locate or (lambda line, column: None)
        self.K: list[Any] = []
        # names bound in the expression, by the identifier the source uses for them: never the
        # name from the file (`_a0` for what the caller passes, `_e0`, `_e1`... for query elements)
        self.names: dict[str, str] = {name: f"_a{i}" for i, name in enumerate(params)}
        self.depth = 0

    def constant(self, value: Any) -> str:
        self.K.append(value)
        return f"K[{len(self.K) - 1}]"

    def where(self, node: T.Expr) -> str:
        return self.constant(self.locate(node.line, node.column))

    def emit(self, node: T.Expr) -> _Code:
        return getattr(self, "_" + type(node).__name__)(node)

    def _Const(self, node: T.Const) -> _Code:
        if node.value is True or node.value is False:
            return _Code("True" if node.value else "False")
        return _Code(self.constant(node.value))

    def _FieldRef(self, node: T.FieldRef) -> _Code:
        if node.may_be_absent:
            return _Code(f"_given(V[{node.path!r}], {node.path!r}, {self.where(node)})")
        return _Code(f"V[{node.path!r}]")

    def _Has(self, node: T.Has) -> _Code:
        return _Code(f"V[{node.path!r}] is not None", COMPARE)

    def _DefinitionRef(self, node: T.DefinitionRef) -> _Code:
        return _Code(f"D[{node.name!r}]")

    def _Local(self, node: T.Local) -> _Code:
        return _Code(self.names[node.name])

    def _Member(self, node: T.Member) -> _Code:
        read = f"{self.emit(node.target).text}[{node.name!r}]"
        if node.may_be_absent:
            return _Code(f"_given({read}, {T.member_path(node)!r}, {self.where(node)})")
        return _Code(read)


    def _HasMember(self, node: T.HasMember) -> _Code:
        return _Code(f"{self.emit(node.target).text}[{node.name!r}] is not None", COMPARE)

    def _Query(self, node: T.Query) -> _Code:
        source = self.emit(node.source).text
        what = node.source.path if isinstance(node.source, T.FieldRef) else \
            node.source.name if isinstance(node.source, (T.DefinitionRef, T.Local)) else "the list"
        info = self.constant((what, self.locate(node.line, node.column)))
        element = f"_e{self.depth}"
        outer = self.names.get(node.name)
        self.names[node.name] = element
        self.depth += 1
        try:
            keep = f"lambda {element}: {self.emit(node.where).text}" if node.where is not None else "None"
            project = f"lambda {element}: {self.emit(node.project).text}" if node.project is not None else "None"
        finally:
            self.depth -= 1
            if outer is None:
                del self.names[node.name]
            else:
                self.names[node.name] = outer
        return _Code(f"_select({info}, {source}, D, {keep}, {project})")

    def _Between(self, node: T.Between) -> _Code:
        value, low, high = (self.emit(part).at(SUM) for part in (node.value, node.low, node.high))
        return _Code(f"{low} <= {value} <= {high}", COMPARE)

    def _DecisionRef(self, node: T.DecisionRef) -> _Code:
        return _Code(f"D[{'decision.' + node.name!r}]")

    def _Lookup(self, node: T.Lookup) -> _Code:
        table = self.constant(self.tables[node.table])
        personal = ", True" if T.reads_any(node.key, self.personal) else ""
        return _Code(f"_lookup({table}, {self.emit(node.key).text}, D, {self.where(node)}{personal})")

    def _ListOf(self, node: T.ListOf) -> _Code:
        return _Code("(" + "".join(self.emit(item).text + ", " for item in node.items) + ")")

    def _Call(self, node: T.Call) -> _Code:
        args = [self.emit(arg).text for arg in node.args]
        if node.function in _TAKES_POSITION:
            args.append(self.where(node))
        return _Code(f"_{node.function}({', '.join(args)})")

    def _Unary(self, node: T.Unary) -> _Code:
        operand = self.emit(node.operand)
        if node.op == "not":
            return _Code(f"not {operand.at(NOT)}", NOT)
        return _Code(f"-{operand.at(NEG)}", NEG)

    def _Choice(self, node: T.Choice) -> _Code:
        condition, then, otherwise = self.emit(node.condition), self.emit(node.then), self.emit(node.otherwise)
        return _Code(f"{then.at(OR)} if {condition.at(OR)} else {otherwise.at(IF)}", IF)

    def _Binary(self, node: T.Binary) -> _Code:
        left, right = self.emit(node.left), self.emit(node.right)
        if node.op == "div":
            return _Code(f"_div({left.text}, {right.text}, {self.where(node)})")
        prec = _PRECEDENCE[node.op]
        # left-associative; comparisons do not chain in Python's sense, so both sides bind tighter
        left_text = left.at(prec + 1 if prec == COMPARE else prec)
        return _Code(f"{left_text} {_OPS[node.op]} {right.at(prec + 1)}", prec)


def compile_expression(node: T.Expr, tables: dict[str, Any], filename: str = "<expression>", line: int = 1,
                       locate: Locate | None = None, params: tuple[str, ...] = (),
                       personal: frozenset[str] = frozenset()) -> Compiled:
    """Compile a checked, folded expression; `tables` holds the product's tables and bands by name.

    `filename` and `line` place the code in the product file (for tracebacks); `locate` maps a
    position inside the expression to one in the file (for evaluation errors); `params` names the
    values the caller passes after `V` and `D` (a settlement step's `amount`, say); `personal` names
    what is personal data (fields, definitions computed from them, item fields), so that a lookup
    keyed by it never shows its key.
    """
    emitter = _Emitter(tables, locate, params, personal)
    code = emitter.emit(node)
    source = f"lambda V, D{''.join(f', _a{i}' for i in range(len(params)))}: {code.text}"
    constants = tuple(emitter.K)
    namespace = dict(_NAMESPACE, K=constants)
    try:
        function = eval(compile("\n" * (max(line, 1) - 1) + source, filename, "eval"), namespace)  # noqa: S307 - our own generated source
    except (RecursionError, MemoryError, SyntaxError):
        raise ExpressionError(TOO_DEEP, "expression too complex to compile (nested too deeply)",
                              node.line, node.column) from None
    reads = T.fields_read(node) + T.definitions_read(node)
    if isinstance(node, T.Const):
        return Compiled(function, source, True, node.value, reads)
    return Compiled(function, source, False, reads=reads)


__all__ = ["Compiled", "compile_expression"]
