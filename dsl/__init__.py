"""policyconf.dsl: the expression language of product files.

Stages (`dsl.pipeline.STAGES`): `parse` (text to parse tree), `check` (names resolved against a
`Scope`, every node typed: `dsl.typed`), `fold` (constants computed at load), `compile` (a
Python function over the claim's values). `dsl.presence` is a pass over typed ASTs that finds
reads of values that may be absent with nothing to guarantee them. Run-time values (`Money`, `Duration`, tables, band
schedules) are in `dsl.values`; the operations compiled code calls in `dsl.runtime`.
"""
from .checker import FieldInfo, Scope, check
from .compiler import Compiled, compile_expression
from .errors import EvaluationError, ExpressionError
from .fold import fold
from .parser import parse
from .pipeline import STAGES, run

__all__ = ["parse", "check", "fold", "compile_expression", "run", "STAGES", "Scope", "FieldInfo", "Compiled",
           "ExpressionError", "EvaluationError"]
