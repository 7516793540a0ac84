"""The language's stages, named and in order, as OPA's compiler lists its own:

    parse → check → fold → compile

`parse` turns text into the parse tree (`dsl.ast`; the only stage that knows Lark); `check`
resolves names against a `Scope` and types every node (`dsl.typed`); `fold` computes what is
known at load; `compile` writes the Python function. Each stage only reads the previous one's
result. A product runs the stages over all its expressions at once (`engine.build`), so that
definitions are checked before what reads them; `run` takes one expression through them all.
"""
from __future__ import annotations

from typing import Any

from . import types as t
from .checker import Scope, check
from .compiler import Compiled, compile_expression
from .errors import TOO_DEEP, ExpressionError
from .fold import fold
from .parser import parse

STAGES = (("parse", parse), ("check", check), ("fold", fold), ("compile", compile_expression))


def run(text: str, scope: Scope, expect: t.Type | None = None, what: str = "expression",
        tables: dict[str, Any] | None = None, filename: str = "<expression>") -> tuple[Compiled | None,
                                                                                     list[ExpressionError]]:
    """One expression through every stage: the compiled expression, or None and every problem found."""
    try:
        tree = parse(text)
        typed, problems = check(tree, scope, expect, what)
        if typed is None:
            return None, problems
        return compile_expression(fold(typed), tables or {}, filename), []
    except ExpressionError as error:
        return None, [error]
    except RecursionError:
        return None, [ExpressionError(TOO_DEEP, "expression nested too deeply")]


__all__ = ["STAGES", "run"]
