"""Rewriting values of a YAML file in place, for `policyconf test --update`.

Snapshot tools (jest, syrupy) rewrite a whole snapshot file; a test file here is written by a
person, with comments, an order and a layout of its own. So only the values that change are
touched: each is replaced at its exact span in the text, as the YAML reader recorded it
(`Document.values`), and everything else of the file stays byte for byte as it was.

A new value is written in flow style (`[late-enrolment, commercial-use]`, `{benefit: medical}`),
a scalar keeps its quotes when it had them, and text that YAML would read as something else
(`"0.10"`, `"B, H.1"`, `null` as text) is quoted. The result is read back before it is kept:
if the file does not give the intended values, nothing is rewritten.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable

from .errors import ProductError
from .jsonio import dumps
from .yaml_reader import _FALSE, _FLOAT, _INT, _NULL, _TRUE, Document, load_document

_INDICATORS = set("-?:,[]{}#&*!|>'\"%@`")


class RewriteError(Exception):
    """The file could not be rewritten so that it reads back as intended."""


def plain_safe(text: str) -> bool:
    """Whether `text` can be written as a plain scalar, in a flow collection too, and read back as text."""
    if not text or text != text.strip() or text[0] in _INDICATORS or text[-1] == ":":
        return False
    if any(c in text for c in ",[]{}\n\r\t") or ": " in text or " #" in text or not text.isprintable():
        return False
    return not (text in _NULL or text in _TRUE or text in _FALSE or _INT.match(text) or _FLOAT.match(text))


def flow(value: Any, quote: str | None = None) -> str:
    """`value` as YAML flow text; `quote` (`"` or `'`): the quotes a scalar had."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, str):
        if quote == "'" and value.isprintable():
            return "'" + value.replace("'", "''") + "'"
        if quote == '"' or not plain_safe(value):
            return dumps(value)          # a JSON string is a YAML double-quoted one
        return value
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(flow(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{flow(str(key))}: {flow(item)}" for key, item in value.items()) + "}"
    raise TypeError(f"cannot write {type(value).__name__} as YAML")  # pragma: no cover


def extent(document: Document, path: tuple) -> tuple[int, int]:
    """(start, end) of the value at `path` in the text: a scalar or flow collection exactly, a block
    collection from its first item to the end of its last (its trailing comments and blank lines
    are not part of it)."""
    path = tuple(path)
    span = document.values[path]
    value = document.value_at(path)
    start = span.index
    if isinstance(value, (dict, list)) and value and document.text[start:start + 1] not in ("[", "{"):
        last = list(value)[-1] if isinstance(value, dict) else len(value) - 1
        return start, extent(document, path + (last,))[1]
    return start, span.end_index


def rewrite(document: Document, changes: Iterable[tuple[tuple, Any]]) -> str:
    """The document's text with the value at each path replaced; raises RewriteError unless the new
    text reads back with exactly those values."""
    text = document.text
    edits = []
    changes = list(changes)
    for path, value in changes:
        start, end = extent(document, path)
        span = document.values[tuple(path)]
        quote = span.style if span.style in ('"', "'") else None
        new = flow(value, quote if isinstance(value, str) else None)
        if span.style in ("|", ">") and text[start:end].endswith("\n"):
            new += "\n"
        if start == end and start > 0 and text[start - 1] == ":":
            new = " " + new
        key = document.keys.get(tuple(path))
        if key is not None and isinstance(document.value_at(path), (dict, list)) and \
                text[key.end_index:start].strip() == ":" and "\n" in text[key.end_index:start]:
            start, new = key.end_index + 1, " " + new      # a block list or mapping: the flow one after its key
        edits.append((start, end, new))
    edits.sort()
    for (_, end, _), (start, _, _) in zip(edits, edits[1:]):
        if start < end:
            raise RewriteError("two changes overlap")
    for start, end, new in reversed(edits):
        text = text[:start] + new + text[end:]
    try:
        again = load_document(text, document.file)
    except ProductError as error:
        raise RewriteError(f"the rewritten file does not read back: {error}") from None
    for path, value in changes:
        if again.value_at(tuple(path)) != value:
            raise RewriteError(f"the rewritten file does not read back {flow(value)} at "
                               f"{'.'.join(str(p) for p in path)}")
    return text


__all__ = ["rewrite", "extent", "flow", "plain_safe", "RewriteError"]
