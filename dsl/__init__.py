"""policyconf.dsl: the expression language of product files.

Stages (`dsl.pipeline.STAGES`): `parse` (text to parse tree), `check` (names resolved against a
`Scope`, every node typed: `dsl.typed`), `fold` (constants computed at load), `compile` (a
Python function over the claim's values). `dsl.presence` is a pass over typed ASTs that finds
reads of values that may be absent with nothing to guarantee them. Run-time values (`Money`, `Duration`, tables, band
schedules) are in `dsl.values`; the operations compiled code calls in `dsl.runtime`.
"""
from __future__ import annotations

import importlib

# What each public name is imported from, at its first use (PEP 562): reading a cached product,
# or running compiled code, needs neither the parser (Lark) nor the checker.
_FROM = {"parse": "parser", "check": "checker", "Scope": "checker", "FieldInfo": "checker", "fold": "fold",
         "compile_expression": "compiler", "Compiled": "compiler", "run": "pipeline", "STAGES": "pipeline",
         "ExpressionError": "errors", "EvaluationError": "errors"}


def __getattr__(name: str):
    module = _FROM.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = ["parse", "check", "fold", "compile_expression", "run", "STAGES", "Scope", "FieldInfo", "Compiled",
           "ExpressionError", "EvaluationError"]
