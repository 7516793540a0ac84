"""`extends`: a derived product is its base with a JSON Merge Patch (RFC 7386) applied, and
every merged value still knows the file and position it came from (`Source`), so a problem in
an inherited rule is reported at the base's line, and one in an override at the derived file's.
"""
from __future__ import annotations

import copy
from typing import Any, Iterable

from ..dsl.errors import suggest
from . import errors as E
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


# What an entry of a mapping is, by the path of the mapping, for messages.
_ENTRIES = {("eligibility",): "eligibility rule", ("exclusions",): "exclusion", ("conditions",): "condition",
            ("referrals",): "referral", ("documents",): "document requirement", ("invariants",): "invariant",
            ("fields",): "field", ("definitions",): "definition", ("tables",): "table",
            ("bands",): "band schedule", ("settlement", "adjustments"): "adjustment",
            ("benefits", "refusals"): "shared refusal", ("benefits", "sections"): "benefit section"}
_SECTION_PARTS = {"refusals": "refusal", "documents": "document requirement", "referrals": "referral"}


def _entry(parent: tuple) -> str | None:
    """How a message names an entry of the mapping at `parent` (None: a key of it)."""
    if parent in _ENTRIES:
        return _ENTRIES[parent]
    if len(parent) == 4 and parent[:2] == ("benefits", "sections") and parent[3] in _SECTION_PARTS:
        return f"{_SECTION_PARTS[parent[3]]} of section {parent[2]}"
    if len(parent) == 3 and parent[0] == "tables" and parent[2] == "rows":
        return f"row of table {parent[1]}"
    return None


def _events(tree: Any) -> int:
    """The events (leaves) of an event group."""
    if not isinstance(tree, dict):
        return 1
    return sum(_events(value) for value in tree.values() if value is not None)


def override_problems(base: Any, patch: Any, base_id: str,
                      missing: dict[tuple, list[str]]) -> list[tuple[tuple, str, str]]:
    """What a derived product's patch gets wrong about its base: (path, code, message) each.

    * an event group replaced by one event (`liquid: liquid damage` for the base's group of three);
    * `null` for a key the base does not have: it removes nothing (a misspelt id);
    * a partial entry (`missing` lists the keys the merged product lacks, by path) under an id the
      base does not have: an override of a rule that is not there, not a new rule.
    """
    found: list[tuple[tuple, str, str]] = []

    def walk(base_value, patch_value, path):
        base_map = base_value if isinstance(base_value, dict) else {}
        events = path[:1] == ("events",) and len(path) >= 2 and path[1] in ("covered", "not_covered")
        for key, value in patch_value.items():
            here = path + (key,)
            if value is None:
                if key not in base_map:
                    prefix = "".join(f"{p}." for p in path[2:]) if events else ""
                    found.append((here, E.REF_UNKNOWN_OVERRIDE, _unknown(base_id, path, key, base_map, events)
                                  + suggest(prefix + str(key), [prefix + str(k) for k in base_map])))
                continue
            if key in base_map:
                if isinstance(value, dict):
                    walk(base_map[key], value, here)
                elif events and isinstance(base_map[key], dict):
                    code = ".".join(str(p) for p in here[2:])
                    count = _events(base_map[key])
                    found.append((here, E.REF_REPLACES_GROUP, f"this replaces the group {code} ({count} "
                                  f"event{'s' if count != 1 else ''}) with one event; write `{key}: {{...}}` to "
                                  "change its events"))
                continue
            if isinstance(value, dict) and here in missing:
                what = _entry(path) or f"key '{key}' in {'.'.join(str(p) for p in path)}"
                name = what if _entry(path) is None else f"{what} '{key}'"
                needs = ", ".join(f"`{k}`" for k in missing[here])
                found.append((here, E.REF_UNKNOWN_OVERRIDE, f"no {name} in {base_id}"
                              + suggest(str(key), [str(k) for k in base_map])
                              + f" (a new one would need {needs} too)"))

    if isinstance(base, dict) and isinstance(patch, dict):
        walk(base, patch, ())
    return found


def _unknown(base_id: str, parent: tuple, key, base_map: dict, events: bool) -> str:
    if events:
        code = ".".join(str(p) for p in parent[2:] + (key,))
        return f"{base_id} has no event or event group '{code}' to remove"
    what = _entry(parent)
    if what is not None:
        return f"{base_id} has no {what} '{key}'"
    return f"{base_id} has no key '{key}' in {'.'.join(str(p) for p in parent) or 'the product'} to remove"


def without(patch: dict, paths: Iterable[tuple]) -> dict:
    """The patch without the entries at `paths`."""
    result = copy.deepcopy(patch)
    for path in paths:
        node = result
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return result


def unchanged(base: Any, patch: Any, path: tuple = ()) -> Iterable[tuple]:
    """Paths where a patch sets what the base already has."""
    if isinstance(patch, dict) and isinstance(base, dict):
        for key, value in patch.items():
            if key in base and value is not None:
                yield from unchanged(base[key], value, path + (key,))
    elif path and patch == base:
        yield path


__all__ = ["Source", "merge_patch", "override_problems", "unchanged", "without"]
