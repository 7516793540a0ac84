"""YAML with positions: the first stage of loading a product (or a YAML claim).

PyYAML composes the node graph; we build the data ourselves so that

* every value and every mapping key keeps its line and column;
* duplicate keys are errors, not silently the last one;
* plain scalars follow the YAML 1.2 core schema: `NO` (Norway) stays text,
  `yes` stays text, numbers with a fraction become `Decimal`, never float,
  and dates stay text until a field that wants a date reads them;
* tags that would build other objects (`!!python/object`, `!!set`) are refused;
* aliases that expand past a sane size, and nesting too deep, are refused.

The global PyYAML loader is not modified.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from . import errors as E
from .errors import Problem, ProductError

MAX_NODES = 100_000           # values built, aliases counted each time they are used
MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64                # nested mappings and lists: far more than a product needs, far less
                              # than any later stage (schema, builder) can recurse
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)    # libyaml when installed: 50x faster
_FLOW = re.compile(r"[\[\]{}\"'#,]")
_DASHES = re.compile(r"(?:-[ \t]+)+")
_KEY = re.compile(r"(?:[^:#'\"]|:(?! ))*: +")          # `key: ` before a value, outside quotes

_STD = "tag:yaml.org,2002:"
_PLAIN_TAGS = {_STD + name for name in ("str", "int", "float", "bool", "null", "timestamp", "merge", "value")}
_INT = re.compile(r"[-+]?[0-9]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}


@dataclass(frozen=True, slots=True)
class Span:
    """Where a value (or key) stands in the file: 1-based line and column, and its scalar form."""
    line: int
    column: int
    index: int = 0
    end_index: int = 0
    style: str | None = None


class Document:
    """A loaded YAML file: its data and where every part of it stands."""

    def __init__(self, file: str, text: str, data, values: dict, keys: dict):
        self.file = file
        self.text = text
        self.lines = text.splitlines()
        self.data = data
        self.values = values      # path tuple -> Span of the value
        self.keys = keys          # path tuple -> Span of the mapping key

    def line_text(self, line: int) -> str | None:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else None

    def span(self, path: tuple, key: bool = False) -> Span:
        """The span of `path`, or of the nearest enclosing value that has one."""
        table = self.keys if key else self.values
        path = tuple(path)
        while path:
            if path in table:
                return table[path]
            if key and path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get((), Span(1, 1))

    def problem(self, path: tuple, code: str, message: str, key: bool = False,
                severity: str = "error", offset: tuple[int, int] | None = None) -> Problem:
        """A problem at `path` (at its key when `key`), or at a position inside its scalar text."""
        span = self.span(path, key)
        line, column = span.line, span.column
        if offset is not None and not key and tuple(path) in self.values:
            line, column = self.position_in_scalar(span, *offset, value=self.value_at(path))
        return Problem(self.file, line, column, code, message, severity, self.line_text(line))

    def position(self, path: tuple, offset: tuple[int, int]) -> tuple[int, int]:
        """(line, column) in the file of position `offset` inside the scalar at `path`."""
        span = self.span(path)
        if tuple(path) not in self.values:
            return span.line, span.column
        return self.position_in_scalar(span, *offset, value=self.value_at(path))

    def raw(self, path: tuple) -> str | None:
        """The scalar at `path` exactly as written in the file (for a number used as an expression)."""
        span = self.values.get(tuple(path))
        if span is None or span.style is not None:
            return None
        return self.text[span.index:span.end_index]

    def value_at(self, path: tuple):
        value = self.data
        for part in path:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                return None
        return value

    def position_in_scalar(self, span: Span, line: int, column: int, value: str | None = None) -> tuple[int, int]:
        """File position of (line, column) inside the scalar's value text.

        Aligns the value with the source text character by character, so
        plain, quoted, literal (`|`) and folded (`>`) scalars all map, the
        position inside a DSL expression landing on the right file column.
        """
        if not isinstance(value, str):
            value = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        value_lines = value.split("\n")
        offset = sum(len(text) + 1 for text in value_lines[:line - 1]) + column - 1
        source = self.text
        i = span.index
        if span.style in ('"', "'"):
            i += 1
        elif span.style in ("|", ">"):
            i = source.find("\n", i) + 1
        end = max(span.end_index, i)
        for k, char in enumerate(value):
            if k == offset:
                break
            j = i
            while j < end and source[j] != char and not (char in " \n" and source[j] in " \n"):
                j += 1
            i = j + 1 if j < end else i + 1
        while i < end and source[i] in " \n" and span.style in ("|", ">", None) and offset < len(value) \
                and value[offset] not in " \n":
            i += 1
        i = min(i, len(source))
        before = source[:i]
        file_line = before.count("\n") + 1
        file_column = i - (before.rfind("\n") + 1) + 1
        return file_line, file_column


def read_text(path: str) -> str:
    """Read a file as UTF-8 (a BOM is allowed).  Raises ProductError with a position."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as error:
        raise ProductError([Problem(path, 1, 1, E.FILE_UNREADABLE, f"cannot read file: {error.strerror}")]) from None
    return decode(raw, path)


def decode(raw: bytes, path: str) -> str:
    if len(raw) > MAX_BYTES:
        raise ProductError([Problem(path, 1, 1, E.YAML_TOO_LARGE, f"file larger than {MAX_BYTES} bytes")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        line_start = raw.rfind(b"\n", 0, error.start) + 1
        column = len(raw[line_start:error.start].decode("utf-8", "replace")) + 1
        raise ProductError([Problem(path, line, column, E.YAML_ENCODING,
                                    f"not UTF-8: byte 0x{raw[error.start]:02x} cannot be decoded")]) from None
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        column = nul - (text.rfind("\n", 0, nul) + 1) + 1
        raise ProductError([Problem(path, line, column, E.YAML_ENCODING, "NUL byte in a text file")])
    return text


def load_document(text: str, file: str) -> Document:
    """Parse YAML text into a `Document`.  Raises `ProductError` (one problem: YAML stops at its first)."""
    found = _too_large(text)
    if found is not None:
        line, column, message = found
        raise ProductError([Problem(file, line, column, E.YAML_TOO_LARGE, message, source_line=_line(text, line))])
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = error.problem or str(error)
        if "\t" in (_line(text, line) or ""):
            message += " (tabs are not allowed for indentation: use spaces)"
        elif error.context and error.problem:
            context = error.context
            if error.context_mark is not None and error.context_mark is not error.problem_mark:
                context += f" that starts at line {error.context_mark.line + 1}, column {error.context_mark.column + 1}"
            message = f"{error.problem} ({context})"
        raise ProductError([Problem(file, line, column, E.YAML_SYNTAX, message,
                                    source_line=_line(text, line))]) from None
    except yaml.YAMLError as error:
        raise ProductError([Problem(file, 1, 1, E.YAML_SYNTAX, str(error))]) from None
    except RecursionError:
        raise ProductError([Problem(file, 1, 1, E.YAML_TOO_LARGE, "nesting too deep")]) from None
    builder = _Builder(file, text)
    try:
        data = builder.build(node, ()) if node is not None else None
    except _TooLarge:
        raise ProductError(builder.problems) from None
    if builder.problems:
        raise ProductError(builder.problems)
    return Document(file, text, data, builder.values, builder.keys)


def _too_large(text: str) -> tuple[int, int, str] | None:
    """Where the text nests deeper than MAX_DEPTH, or holds more than MAX_NODES values, if it does.

    Checked on the text before parsing, so that no parser, in C or Python, recurses that deep or
    builds that much. Block nesting is judged by indentation (MAX_DEPTH levels of at least four
    columns) and by sequences nested on one line (`- - - 1`); flow nesting by the brackets that
    open a flow collection (a `[` inside a plain scalar, `claim.n in [`, is text). Values are
    counted as lines with a key or a list item, and items of flow collections (aliases are
    counted later, as they expand).
    """
    depth = 0
    values = 0
    too_deep = f"nesting too deep (more than {MAX_DEPTH} levels)"
    too_many = f"the document expands to more than {MAX_NODES} values (aliases included)"
    for number, line in enumerate(text.split("\n"), 1):
        stripped = line.lstrip(" ")
        if not stripped or stripped[0] == "#":
            continue
        start = 0
        if depth == 0:
            values += 1
            if values > MAX_NODES:
                return number, 1, too_many
            indent = len(line) - len(stripped)
            if indent > 4 * MAX_DEPTH:
                return number, indent + 1, too_deep
            dashes = _DASHES.match(stripped)          # "- - - 1": sequences nested on one line
            if dashes and dashes.group().count("-") > MAX_DEPTH:
                return number, indent + 1, too_deep
            value = stripped[dashes.end():] if dashes else stripped
            if value[:1] not in ("[", "{"):
                key = _KEY.match(value)
                if key is None:
                    continue
                value = value[key.end():]
                if value[:1] not in ("[", "{"):
                    continue                              # a scalar: brackets in it are text
            start = len(line) - len(value)
        quote = None
        for match in _FLOW.finditer(line, start):
            char = match.group()
            if quote:
                if char == quote:
                    quote = None
                continue
            if char in "\"'":
                quote = char
                continue
            if char == "#":
                if match.start() == 0 or line[match.start() - 1] in " \t":
                    break
                continue
            if char == ",":
                values += 1
                if values > MAX_NODES:
                    return number, match.start() + 1, too_many
                continue
            if char in "[{":
                depth += 1
                values += 1
                if depth > MAX_DEPTH:
                    return number, match.start() + 1, too_deep
            else:
                depth = max(depth - 1, 0)
                if depth == 0:
                    break                             # the flow collection ended: the rest is text
    return None


def _line(text: str, line: int) -> str | None:
    lines = text.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else None


class _TooLarge(Exception):
    pass


class _Builder:
    def __init__(self, file: str, text: str):
        self.file = file
        self.text = text
        self.values: dict[tuple, Span] = {}
        self.keys: dict[tuple, Span] = {}
        self.problems: list[Problem] = []
        self.count = 0

    def problem(self, node, code: str, message: str) -> None:
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        self.problems.append(Problem(self.file, line, column, code, message, source_line=_line(self.text, line)))

    def span(self, node) -> Span:
        return Span(node.start_mark.line + 1, node.start_mark.column + 1, node.start_mark.index,
                    node.end_mark.index, getattr(node, "style", None) or None)   # libyaml says "" for plain

    def build(self, node, path: tuple):
        if len(path) > MAX_DEPTH:
            self.problem(node, E.YAML_TOO_LARGE, f"nesting too deep (more than {MAX_DEPTH} levels)")
            raise _TooLarge
        self.count += 1
        if self.count > MAX_NODES:
            if self.count == MAX_NODES + 1:
                self.problem(node, E.YAML_TOO_LARGE,
                             f"the document expands to more than {MAX_NODES} values (aliases included)")
            raise _TooLarge
        if path not in self.values:
            self.values[path] = self.span(node)
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, SequenceNode):
            if node.tag != _STD + "seq":
                self.problem(node, E.YAML_TAG, f"tag {node.tag!r} is not allowed")
                return None
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            if node.tag != _STD + "map":
                self.problem(node, E.YAML_TAG, f"tag {node.tag!r} is not allowed")
                return None
            return self.mapping(node, path)
        raise AssertionError(node)  # pragma: no cover

    def mapping(self, node: MappingNode, path: tuple) -> dict:
        result: dict = {}
        merged: list[MappingNode] = []
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _STD + "merge":
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                merged.extend(s for s in sources if isinstance(s, MappingNode))
                continue
            if not isinstance(key_node, ScalarNode):
                self.problem(key_node, E.YAML_SYNTAX, "a key must be a plain value, not a list or mapping")
                continue
            if key_node.tag not in _PLAIN_TAGS:
                self.problem(key_node, E.YAML_TAG, f"tag {key_node.tag!r} is not allowed")
                continue
            key = key_node.value
            if key in result:
                first = self.keys[path + (key,)]
                self.problem(key_node, E.YAML_DUPLICATE_KEY,
                             f"duplicate key '{key}' (first at line {first.line}); the second would replace the first")
                continue
            self.keys[path + (key,)] = self.span(key_node)
            result[key] = self.build(value_node, path + (key,))
        for source in merged:
            for key_node, value_node in source.value:
                if not isinstance(key_node, ScalarNode):
                    self.problem(key_node, E.YAML_SYNTAX, "a key must be a plain value, not a list or mapping")
                    continue
                if key_node.tag not in _PLAIN_TAGS:
                    self.problem(key_node, E.YAML_TAG, f"tag {key_node.tag!r} is not allowed")
                    continue
                key = key_node.value
                if key not in result:
                    self.keys.setdefault(path + (key,), self.span(key_node))
                    result[key] = self.build(value_node, path + (key,))
        return result

    def scalar(self, node: ScalarNode):
        value = node.value
        if node.tag not in _PLAIN_TAGS:
            self.problem(node, E.YAML_TAG, f"tag {node.tag!r} is not allowed")
            return None
        if node.style:                      # quoted or block: always text (plain is None, or "" from libyaml)
            return value
        if value in _NULL:
            return None
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        if _INT.match(value):
            if len(value) > 40:
                # More digits than any bound or claim takes: kept as an exact whole Decimal, which
                # every check then finds out of range. Not int(): converting a long number to int is
                # quadratic (a 400,000-digit one took 7 s), and Python refuses more than 4,300 digits.
                return Decimal(value)
            return int(value)
        if _FLOAT.match(value):
            try:
                return Decimal(value)
            except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
                return value
        return value


def load_file(path: str) -> Document:
    """Read and parse a YAML file."""
    return load_document(read_text(path), path)
