"""One typed (and folded) expression to a Python function, through the emitter products use.

A product compiles all its expressions into one module (`engine.codegen`); this compiles one
expression on its own, with the same emitter (`dsl.emit`) and so the same semantics: for the
claim validator's conditions (`required_when`, `present_when`), and for `dsl.pipeline.run`.

The function is `function(V, D, T, cur, *params)`: `V` the claim's validated values by path (money
as `Money`, all of one currency), `D` the values of the definitions it reads, by name, `T` a list
the trace steps of its lookups and queries are appended to, `cur` the claim's currency. Amounts
are plain `Decimal`s in `cur` inside it: a money expression returns a `Decimal` (`evaluate`
gives it back as `Money`). Text from a product file never enters the source: literals are
constants, field paths and definition names `repr()` keys. The source is compiled against
`dsl.runtime.NAMESPACE` (the run-time operations, and no builtins but a few).

The code object carries the product file's name and the expression's line, so a traceback
through it points at the YAML line; operations that can fail for a claim carry the position of
their sub-expression, which the `EvaluationError` they raise gives.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from . import runtime
from . import typed as T
from . import types as t
from .emit import Emitter
from .errors import TOO_DEEP, ExpressionError
from .values import Money

Locate = Callable[[int, int], tuple]          # (line, column) in the expression -> (file, line, column)


@dataclass(frozen=True)
class Compiled:
    """One compiled expression, its type and, when it is constant, its value."""
    function: Callable[..., Any]          # function(V, D, T, cur, *params)
    source: str
    type: t.Type
    is_constant: bool
    constant: Any = None
    reads: tuple[str, ...] = ()           # claim fields, then definitions, it reads (for the trace)
    currency: str | None = None           # the currency of its first fixed amount (`50.00 EUR`), if any
    constants: tuple = ()                 # what the source's `K[i]` are
    filename: str = "<expression>"
    line: int = 1

    def __reduce__(self):
        """Pickled (in the engine's product cache) as its source and constants, never as code:
        compiled again when read back."""
        return _recompile, (self.source, self.constants, self.filename, self.line, self.type, self.is_constant,
                            self.constant, self.reads, self.currency)

    def evaluate(self, values: dict, currency: str | None = None, definitions: dict | None = None,
                 trace: list | None = None, *params) -> Any:
        """Its value for `values`: money as `Money` in `currency` (by default the currency of the
        first amount among the values, else of its own fixed amounts). `trace` receives what its
        lookups and queries used."""
        if currency is None:
            currency = _first_currency(values.values()) or self.currency
        result = self.function(values, definitions or {}, [] if trace is None else trace, currency, *params)
        if isinstance(self.type, t.Money) and type(result) in (Decimal, int):
            return Money(Decimal(result), currency)
        return result


def _first_currency(values) -> str | None:
    """The currency of the first amount among `values` (in lists of records too)."""
    for value in values:
        if type(value) is Money:
            return value.currency
        if isinstance(value, (list, tuple)):
            found = _first_currency(value)
        elif isinstance(value, dict):
            found = _first_currency(value.values())
        else:
            continue
        if found:
            return found
    return None


def compile_expression(node: T.Expr, tables: dict[str, Any], filename: str = "<expression>", line: int = 1,
                       locate: Locate | None = None, params: tuple[str, ...] = (),
                       personal: frozenset[str] = frozenset()) -> Compiled:
    """Compile a checked, folded expression; `tables` holds the product's tables and bands by name.

    `filename` and `line` place the code in the product file (for tracebacks); `locate` maps a
    position inside the expression to one in the file (for evaluation errors); `params` names the
    values the caller passes after `cur` (a settlement step's `amount`, say); `personal` names what
    is personal data, so that a lookup keyed by it never shows its key.
    """
    constants: list[Any] = []

    def constant(value: Any) -> str:
        constants.append(value)
        return f"K[{len(constants) - 1}]"

    def where(sub: T.Expr) -> str:
        return constant(locate(sub.line, sub.column) if locate is not None else None)

    emitter = Emitter(constant, lambda name: f"D[{name!r}]", where, tables, personal,
                      decision=lambda name: f"D[{'decision.' + name!r}]")
    emitter.names.update({name: f"_a{i}" for i, name in enumerate(params)})
    try:
        text = emitter.text(node)
        source = f"lambda V, D, T, cur{''.join(f', _a{i}' for i in range(len(params)))}: {text}"
        function = _function(source, tuple(constants), filename, line)
    except (RecursionError, MemoryError, SyntaxError):
        raise ExpressionError(TOO_DEEP, "expression too complex to compile (nested too deeply)",
                              node.line, node.column) from None
    reads = T.fields_read(node) + T.definitions_read(node)
    currency = next((value.currency for value in constants if type(value) is Money and value.currency), None)
    if isinstance(node, T.Const):
        return Compiled(function, source, node.type, True, node.value, reads, currency, tuple(constants), filename, line)
    return Compiled(function, source, node.type, False, reads=reads, currency=currency, constants=tuple(constants),
                    filename=filename, line=line)


def _function(source: str, constants: tuple, filename: str, line: int) -> Callable[..., Any]:
    namespace = dict(runtime.NAMESPACE, K=constants)
    return eval(compile("\n" * (max(line, 1) - 1) + source, filename, "eval"), namespace)  # noqa: S307 - our own generated source


def _recompile(source, constants, filename, line, type_, is_constant, constant, reads, currency) -> Compiled:
    return Compiled(_function(source, constants, filename, line), source, type_, is_constant, constant, reads,
                    currency, constants, filename, line)


__all__ = ["Compiled", "compile_expression"]
