"""Errors of the expression language.

An `ExpressionError` is a value-like exception: a stable code, a message and a
position (1-based line and column inside the expression text).  The product
loader moves the position into the YAML file.
"""
from __future__ import annotations

import difflib


class ExpressionError(Exception):
    """A problem in one expression: syntax, an unknown name, a type error."""

    def __init__(self, code: str, message: str, line: int = 1, column: int = 1):
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line
        self.column = column

    def __repr__(self) -> str:
        return f"ExpressionError({self.code!r}, {self.message!r}, {self.line}, {self.column})"


# Stable codes.  Keep in step with the table in README.md.
SYNTAX = "expr.syntax"
TOO_DEEP = "expr.too-deep"
UNKNOWN_NAME = "expr.unknown-name"
UNKNOWN_FIELD = "expr.unknown-field"
UNKNOWN_FUNCTION = "expr.unknown-function"
TYPE = "expr.type"
CURRENCY = "expr.currency"
BAD_LITERAL = "expr.literal"
UNKNOWN_CODE = "expr.unknown-code"
CYCLE = "expr.cycle"
DIVISION_BY_ZERO = "expr.division-by-zero"
OUT_OF_RANGE = "expr.out-of-range"
UNGUARDED = "expr.unguarded"


class EvaluationError(Exception):
    """A computation that cannot be done for this claim: a division by zero, a date past the
    calendar, a band the value falls in none of, a table row that is missing.

    Raised by the language's own run-time operations (`dsl.runtime`, `dsl.values`), and only
    for a reason the claim's values cause: the engine turns it into the claim's
    `evaluation.error`, naming the rule and its position. `where` is the position of the
    sub-expression that failed, when the operation knows it (file, line, column); `kind` is
    `division-by-zero`, `out-of-range` or `lookup`.
    """

    def __init__(self, message: str, kind: str = "out-of-range", where: tuple | None = None):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.where = where


def suggest(name: str, candidates) -> str:
    """"; did you mean 'x'?" or ''. The closest spelling; failing that, a name the typed one
    contains or is contained in (`amount_paid` for `paid`)."""
    candidates = list(candidates)
    match = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if not match and len(name) >= 3:
        match = sorted((c for c in candidates if len(c) >= 3 and (c in name or name in c)),
                       key=lambda c: abs(len(c) - len(name)))[:1]
    return f"; did you mean '{match[0]}'?" if match else ""
