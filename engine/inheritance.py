"""`extends`: a derived product is its base with a JSON Merge Patch (RFC 7386) applied, and
every merged value still knows the file and position it came from (`Source`), so a problem in
an inherited rule is reported at the base's line, and one in an override at the derived file's.
"""
from __future__ import annotations

import copy
from typing import Any, Iterable

from .errors import Problem
from .yaml_reader import Document, Span


class Source:
    """Maps a path in (merged) product data to the file and position it came from."""

    def __init__(self, document: Document):
        self.main = document                                  # the product's own file
        self.documents: dict[tuple, Document] = {(): document}  # path prefix -> file it came from

    def _document(self, path) -> tuple[Document, tuple]:
        path = tuple(path)
        for length in range(len(path), -1, -1):
            document = self.documents.get(path[:length])
            if document is not None:
                return document, path
        return self.main, path  # pragma: no cover - () is always there

    def problem(self, path, code, message, key=False, severity="error", offset=None) -> Problem:
        document, path = self._document(path)
        return document.problem(path, code, message, key=key, severity=severity, offset=offset)

    def span(self, path, key: bool = False) -> Span:
        document, path = self._document(path)
        return document.span(path, key)

    def raw(self, path) -> str | None:
        document, path = self._document(path)
        return document.raw(path)

    def file_of(self, path) -> str:
        return self.main.file if not path else self._document(path)[0].file

    def position(self, path, offset: tuple[int, int]) -> tuple[str, int, int]:
        """(file, line, column) of a position inside the expression at `path`."""
        document, path = self._document(path)
        return (document.file, *document.position(path, offset))

    def all_documents(self) -> list[Document]:
        """Every file the product's data came from (its own, and its bases')."""
        return list({id(d): d for d in [self.main, *self.documents.values()]}.values())

    def derive(self, base: dict, patch: dict, document: Document) -> "Source":
        """The source of `base + patch`: the paths the patch sets come from `document`."""
        merged = Source(document)
        merged.documents = dict(self.documents)

        def mark(value, path, base_value):
            if isinstance(value, dict) and value and isinstance(base_value, dict):
                for key, sub in value.items():
                    mark(sub, path + (key,), base_value.get(key))
                return
            for existing in [p for p in merged.documents if p[:len(path)] == path and len(p) > len(path)]:
                del merged.documents[existing]
            merged.documents[path] = document

        for key, value in patch.items():
            mark(value, (key,), base.get(key))
        return merged


def merge_patch(base: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch: mappings merge key by key, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def unchanged(base: Any, patch: Any, path: tuple = ()) -> Iterable[tuple]:
    """Paths where a patch sets what the base already has."""
    if isinstance(patch, dict) and isinstance(base, dict):
        for key, value in patch.items():
            if key in base and value is not None:
                yield from unchanged(base[key], value, path + (key,))
    elif path and patch == base:
        yield path


__all__ = ["Source", "merge_patch", "unchanged"]
