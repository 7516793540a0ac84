"""Text to AST.  The only module that knows about Lark.

Lark errors are caught here, at one boundary, and re-raised as
`ExpressionError` with a position and a message written for a product manager.
"""
from __future__ import annotations

import hashlib
import io
import pathlib
import pickle
import re
import sys
import threading
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Callable

import lark
from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from . import ast
from .errors import SYNTAX, TOO_DEEP, BAD_LITERAL, ExpressionError

MAX_LENGTH = 20_000         # characters in one expression
MAX_DEPTH = 64              # nested brackets in one expression
MAX_NUMBER_DIGITS = 30      # digits in one number literal

_GRAMMAR = resources.files(__package__).joinpath("grammar.lark").read_text(encoding="utf-8")
GRAMMAR_DIGEST = hashlib.sha256(_GRAMMAR.encode("utf-8")).hexdigest()[:16]
_OPTIONS = {"parser": "lalr", "propagate_positions": True, "maybe_placeholders": False}

# The parser's LALR tables ship with the package, made from grammar.lark by `python -m
# policyconf.dsl.parser --write-tables` (tests/dsl/test_parser_tables.py fails when they are not
# current), so that even a process with no cache does not build them (about 45 ms). Each copy of
# the tables, shipped or cached, starts with a line naming what it was made from: the grammar
# with the parser's options, and Lark's version. Tables made from anything else are never
# loaded: they are built again.
TABLES_FILE = "grammar.tables"
TABLES_KEY = hashlib.sha256(f"{_GRAMMAR}\0{sorted(_OPTIONS.items())}".encode("utf-8")).hexdigest()[:16]
_HEADER = f"policyconf parser tables {TABLES_KEY} lark {lark.__version__}\n".encode("ascii")

_PARSER: Lark | None = None
_STORE: tuple[Callable[[], bytes | None], Callable[[bytes], None]] | None = None
_LOCK = threading.Lock()


def use_store(read: Callable[[], bytes | None], write: Callable[[bytes], None]) -> None:
    """Keep the parser's tables (Lark's `save`) where `read` and `write` say, for when the shipped
    ones do not match this grammar or this Lark: built once (about 70 ms), read back by the next
    process in a few milliseconds. The engine gives its cache (engine.cache, keyed by
    GRAMMAR_DIGEST); without one the tables are built at the first parse. Tables that cannot be
    read back are built again."""
    global _STORE
    _STORE = (read, write)


def _parser() -> Lark:
    """The LALR parser, made at the first parse (importing the language does no I/O). It keeps
    no state between calls."""
    global _PARSER
    if _PARSER is None:
        with _LOCK:
            if _PARSER is None:
                _PARSER = _made()
    return _PARSER


def _made() -> Lark:
    loaded = _loaded(_shipped())
    if loaded is not None:
        return loaded
    loaded = _loaded(_STORE[0]() if _STORE is not None else None)
    if loaded is not None:
        return loaded
    built = _built()
    if _STORE is not None:
        _STORE[1](tables(built))
    return built


def _built() -> Lark:
    return Lark(_GRAMMAR, **_OPTIONS)


def tables(parser: Lark) -> bytes:
    """A parser's tables as bytes (Lark's `save`), after the line that says what they were made from."""
    saved = io.BytesIO()
    parser.save(saved)
    return _HEADER + saved.getvalue()


def _shipped() -> bytes | None:
    try:
        return resources.files(__package__).joinpath(TABLES_FILE).read_bytes()
    except OSError:
        return None


class _PlainData(pickle.Unpickler):
    """Lark's `save` is a pickle of plain data (dicts, lists, strings, numbers): anything else in
    it, a class or a function to call, is refused."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"parser tables name {module}.{name}")


def _loaded(saved: bytes | None) -> Lark | None:
    """The parser from saved tables, or None: none, made from another grammar or for another Lark,
    or damaged. They are read with pickle, as Lark saves them, and only ever come from our own
    shipped file or from the user's own cache (engine.cache), and even then only as plain data."""
    if not saved or not saved.startswith(_HEADER):
        return None
    try:
        return Lark.load(_PlainData(io.BytesIO(memoryview(saved)[len(_HEADER):])).load())
    except Exception:                    # noqa: BLE001 - damaged: build them
        return None


def write_tables(path: pathlib.Path | None = None) -> pathlib.Path:
    """Write the shipped tables (dsl/grammar.tables) from grammar.lark: run after changing the
    grammar, or the parser's options."""
    target = path or pathlib.Path(__file__).with_name(TABLES_FILE)
    data = tables(_built())
    if _loaded(data) is None:
        raise RuntimeError("the tables written do not load back")
    target.write_bytes(data)
    return target

_TOKEN_TEXT = {
    "RPAR": "')'", "LPAR": "'('", "RSQB": "']'", "LSQB": "'['", "COMMA": "','", "DOT": "'.'",
    "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'", "SLASH": "'/'", "PERCENT": "'%'",
    "EQUAL": "'=='", "NOTEQUAL": "'!='", "LESSTHAN": "'<'", "MORETHAN": "'>'",
    "LESSEQUAL": "'<='", "MOREEQUAL": "'>='", "__ANON_0": "'=='", "__ANON_1": "'!='",
    "__ANON_2": "'<='", "__ANON_3": "'>='",
    "NUMBER": "a number", "STRING": "a string", "NAME": "a name", "DATE": "a date",
    "DATETIME": "a date-time", "CURRENCY": "a currency code",
    "UNIT": "a unit (minutes, hours, days, weeks, months, years)",
    "IF": "'if'", "THEN": "'then'", "ELSE": "'else'", "AND": "'and'", "OR": "'or'",
    "NOT": "'not'", "IN": "'in'", "TRUE": "'true'", "FALSE": "'false'", "WHERE": "'where'",
    "FOR": "'for'", "BETWEEN": "'between'", "$END": "the end",
}


def _describe(expected) -> str:
    names = sorted({_TOKEN_TEXT.get(name, name.lower()) for name in expected})
    operands = {"a number", "a string", "a name", "a date", "'('", "'['", "'-'", "'not'",
                "'if'", "'true'", "'false'"}
    if {"a number", "a name"} <= set(names):
        rest = [n for n in names if n not in operands]
        return "a value" + (", " + ", ".join(rest) if rest else "")
    if len(names) > 8:
        return ", ".join(names[:8]) + ", ..."
    return ", ".join(names)


def _token_text(token: Token) -> str:
    if token.type == "$END":
        return "the end of the expression"
    return repr(str(token))


def parse(text: str) -> ast.Node:
    """Parse one expression.  Raises `ExpressionError` and nothing else."""
    if not isinstance(text, str):
        raise ExpressionError(SYNTAX, "an expression must be text")
    _check_depth(text)
    if len(text) > MAX_LENGTH:
        raise ExpressionError(SYNTAX, f"expression longer than {MAX_LENGTH} characters")
    if not text.strip():
        raise ExpressionError(SYNTAX, "empty expression")
    return _parsed(text)


@lru_cache(maxsize=8192)
def _parsed(text: str) -> ast.Node:
    """The AST of a text already checked for size (its nodes are immutable, so one AST serves every
    product that has the same expression: a derived product's inherited rules, every version of a
    product). An expression that does not parse raises, and is not kept."""
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as error:
        raise _syntax_error(error, text) from None
    try:
        return _ToAst().transform(tree)
    except VisitError as error:
        if isinstance(error.orig_exc, ExpressionError):
            raise error.orig_exc from None
        raise
    except RecursionError:
        raise ExpressionError(TOO_DEEP, "expression nested too deeply") from None


def _check_depth(text: str) -> None:
    depth = 0
    line, column = 1, 0
    quote = None
    for char in text:
        column += 1
        if char == "\n":
            line, column = line + 1, 0
        if quote:
            if char == quote:
                quote = None
            continue
        if char in "\"'":
            quote = char
        elif char in "([":
            depth += 1
            if depth > MAX_DEPTH:
                raise ExpressionError(TOO_DEEP, f"brackets nested more than {MAX_DEPTH} deep", line, column)
        elif char in ")]":
            depth -= 1


def _syntax_error(error: UnexpectedInput, text: str) -> ExpressionError:
    line = getattr(error, "line", None) or 1
    column = getattr(error, "column", None) or 1
    if isinstance(error, UnexpectedCharacters):
        char = text[error.pos_in_stream] if error.pos_in_stream < len(text) else ""
        if char == "T" and re.search(r"\d{4}-\d{2}-\d{2}$", text[:error.pos_in_stream]):
            return ExpressionError(SYNTAX, "a date-time needs its UTC offset, since no time zone is guessed: "
                                   "write 2025-07-01T10:00:00Z or 2025-07-01T12:00:00+02:00", line, column - 10)
        if char == "=":
            hint = "; write '==' to compare"
        elif char in "\"'":
            hint = "; a string must end on the same line with the same quote"
        elif char.isupper():
            hint = "; names start with a lower-case letter (a currency follows a number: 50.00 EUR)"
        else:
            hint = ""
        return ExpressionError(SYNTAX, f"unexpected character {char!r}{hint}", line, column)
    if isinstance(error, UnexpectedEOF) or (isinstance(error, UnexpectedToken) and error.token.type == "$END"):
        lines = text.split("\n")
        line = len(lines)
        column = len(lines[-1].rstrip()) + 1
        expected = getattr(error, "expected", None) or getattr(error, "accepts", None) or ()
        return ExpressionError(SYNTAX, f"expression ends too early; expected {_describe(expected)}", line, column)
    assert isinstance(error, UnexpectedToken)
    token = error.token
    expected = error.accepts or error.expected
    found = _token_text(token)
    if token.type in ("THEN", "ELSE"):
        message = f"unexpected {found}: 'if' must come first (if ... then ... else ...)"
    elif {"THEN"} == set(expected) or {"ELSE"} == set(expected):
        message = f"unexpected {found}; expected {_describe(expected)} (if ... then ... else ...)"
    elif "RPAR" in expected and "COMMA" in expected:
        message = f"unexpected {found}; missing ',' or ')'?"
    else:
        message = f"unexpected {found}; expected {_describe(expected)}"
    return ExpressionError(SYNTAX, message, line, column)


def _number(token: Token) -> Decimal | int:
    text = str(token)
    if len(text.replace(".", "")) > MAX_NUMBER_DIGITS:
        raise ExpressionError(BAD_LITERAL, f"number with more than {MAX_NUMBER_DIGITS} digits",
                              token.line, token.column)
    return Decimal(text) if "." in text else int(text)


def _binding(node: ast.Node, keyword: str, example: str) -> tuple[str, ast.Node]:
    """The `name in list` a query binds its elements with."""
    if isinstance(node, ast.Binary) and node.op == "in" and isinstance(node.left, ast.Path) \
            and len(node.left.parts) == 1:
        return node.left.parts[0], node.right
    where = "before" if keyword == "where" else "after"
    raise ExpressionError(SYNTAX, f"'{keyword}' needs `name in list` {where} it (e.g. {example})",
                          node.line, node.column)


@v_args(meta=True)
class _ToAst(Transformer):
    """One small method per node name of the grammar."""

    def number(self, meta, children):
        return ast.Number(meta.line, meta.column, _number(children[0]))

    def percent(self, meta, children):
        value = Decimal(_number(children[0])) / 100
        return ast.Percent(meta.line, meta.column, value, f"{children[0]}%")

    def money(self, meta, children):
        number, currency = children
        return ast.MoneyLit(meta.line, meta.column, Decimal(_number(number)), str(currency))

    def duration(self, meta, children):
        number, unit = children
        if "." in number:
            raise ExpressionError(BAD_LITERAL, "a duration is a whole number of days (or of minutes, hours, "
                                  "weeks, months, years)", meta.line, meta.column)
        count = _number(number)
        unit = str(unit).rstrip("s")
        text = f"{number} {unit}s"
        if unit == "year":
            return ast.DurationLit(meta.line, meta.column, count * 12, "months", text)
        if unit == "week":
            return ast.DurationLit(meta.line, meta.column, count * 7, "days", text)
        return ast.DurationLit(meta.line, meta.column, count, unit + "s", text)

    def date(self, meta, children):
        return ast.DateLit(meta.line, meta.column, str(children[0]))

    def datetime(self, meta, children):
        return ast.DateTimeLit(meta.line, meta.column, str(children[0]))

    def between(self, meta, children):
        return ast.Between(meta.line, meta.column, *children)

    def where(self, meta, children):
        binding, condition = children
        name, source = _binding(binding, "where", "h in policy.claims_history where h.paid > 0")
        return ast.Query(meta.line, meta.column, name, source, condition, None)

    def for_(self, meta, children):
        project, binding = children
        name, source = _binding(binding, "for", "h.paid for h in policy.claims_history")
        return ast.Query(meta.line, meta.column, name, source, None, project)

    def for_where(self, meta, children):
        project, binding, condition = children
        name, source = _binding(binding, "for", "h.paid for h in policy.claims_history where h.paid > 0")
        return ast.Query(meta.line, meta.column, name, source, condition, project)

    def string(self, meta, children):
        return ast.String(meta.line, meta.column, str(children[0])[1:-1])

    def true(self, meta, children):
        return ast.Bool(meta.line, meta.column, True)

    def false(self, meta, children):
        return ast.Bool(meta.line, meta.column, False)

    def list(self, meta, children):
        return ast.ListExpr(meta.line, meta.column, tuple(children))

    def path(self, meta, children):
        return ast.Path(meta.line, meta.column, tuple(str(c) for c in children))

    def call(self, meta, children):
        name, *args = children
        return ast.Call(meta.line, meta.column, str(name), tuple(args))

    def index(self, meta, children):
        return ast.Index(meta.line, meta.column, children[0], children[1])

    def neg(self, meta, children):
        return ast.Unary(meta.line, meta.column, "neg", children[0])

    def not_(self, meta, children):
        return ast.Unary(meta.line, meta.column, "not", children[0])

    def if_then_else(self, meta, children):
        return ast.IfThenElse(meta.line, meta.column, *children)

    def _binary(op):  # noqa: N805 - builds the methods below
        def method(self, meta, children):
            return ast.Binary(meta.line, meta.column, op, children[0], children[1])
        return method

    add, sub, mul, div = _binary("add"), _binary("sub"), _binary("mul"), _binary("div")
    eq, ne, lt, le, gt, ge = _binary("eq"), _binary("ne"), _binary("lt"), _binary("le"), _binary("gt"), _binary("ge")
    in_, not_in = _binary("in"), _binary("not_in")
    and_, or_ = _binary("and"), _binary("or")
    del _binary


if __name__ == "__main__":
    if sys.argv[1:] != ["--write-tables"]:
        sys.exit("usage: python -m policyconf.dsl.parser --write-tables")
    print(f"wrote {write_tables()}")
