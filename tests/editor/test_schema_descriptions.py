"""Every key an author can write has hover text: a "description" in the JSON Schema.

Editors that use the YAML language server show a key's schema description on hover and next to
each completion. This walks both schemas (no node needed) and lists every key without one:

- every entry of every `properties` needs a description, its own or its `$ref` target's
  (followed through chains of local `$ref`s);
- the schema of keys the author names (`additionalProperties` / `patternProperties` objects: rule
  ids, table names, field paths, event codes...) needs one as well: its own, its `$ref` target's,
  or, for an `anyOf`/`oneOf`, one in every branch except `{"type": "null"}` (the merge patch's
  "remove this").
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

SCHEMAS = Path(__file__).resolve().parent.parent.parent / "schemas"
SCHEMA_FILES = ["product.schema.json", "tests.schema.json"]

# Keywords whose value is a schema, a list of schemas, or a mapping of name -> schema.
_ONE = ("additionalProperties", "items", "contains", "not", "if", "then", "else",
        "propertyNames", "unevaluatedProperties", "unevaluatedItems", "contentSchema")
_LIST = ("anyOf", "oneOf", "allOf", "prefixItems")
_MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")


def _pointer(root: dict, ref: str):
    assert ref.startswith("#"), f"only local $refs are expected, got {ref}"
    node = root
    for part in filter(None, ref[1:].split("/")):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _described(root: dict, schema, seen=()) -> bool:
    """The schema has a description, itself or through its $ref chain."""
    if not isinstance(schema, dict):
        return False
    if isinstance(schema.get("description"), str) and schema["description"].strip():
        return True
    ref = schema.get("$ref")
    if ref and ref not in seen:
        return _described(root, _pointer(root, ref), (*seen, ref))
    return False


def _is_null(schema) -> bool:
    return isinstance(schema, dict) and schema == {"type": "null"}


def _named_key_described(root: dict, schema) -> bool:
    if _described(root, schema):
        return True
    for keyword in ("anyOf", "oneOf"):
        branches = [b for b in schema.get(keyword, []) if not _is_null(b)]
        if branches and all(_described(root, b) for b in branches):
            return True
    return False


def _walk(root: dict, schema, path: str):
    """Yield (path, subschema, kind) for every subschema; kind says how it is reached."""
    if not isinstance(schema, dict):
        return
    for keyword in _ONE:
        if isinstance(schema.get(keyword), dict):
            kind = "named" if keyword == "additionalProperties" else "schema"
            yield f"{path}/{keyword}", schema[keyword], kind
            yield from _walk(root, schema[keyword], f"{path}/{keyword}")
    for keyword in _LIST:
        for i, sub in enumerate(schema.get(keyword, []) if isinstance(schema.get(keyword), list) else []):
            yield f"{path}/{keyword}/{i}", sub, "schema"
            yield from _walk(root, sub, f"{path}/{keyword}/{i}")
    for keyword in _MAP:
        for name, sub in (schema.get(keyword) or {}).items():
            kind = {"properties": "property", "patternProperties": "named"}.get(keyword, "schema")
            yield f"{path}/{keyword}/{name}", sub, kind
            yield from _walk(root, sub, f"{path}/{keyword}/{name}")


def missing_descriptions(schema: dict) -> list[str]:
    missing = []
    for path, sub, kind in _walk(schema, schema, "#"):
        if kind == "property" and not _described(schema, sub):
            missing.append(f"{path} (a key)")
        elif kind == "named" and not _named_key_described(schema, sub):
            missing.append(f"{path} (keys the author names)")
    return missing


@pytest.mark.parametrize("name", SCHEMA_FILES)
def test_every_key_has_a_description(name):
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    assert isinstance(schema.get("description"), str), f"{name}: the document itself has no description"
    missing = missing_descriptions(schema)
    assert not missing, f"{name}: no description (hover text) for:\n  " + "\n  ".join(missing)


def test_the_walker_finds_a_missing_description():
    schema = {
        "description": "d",
        "properties": {
            "ok": {"description": "x", "type": "string"},
            "via_ref": {"$ref": "#/$defs/described"},
            "via_bare_ref": {"$ref": "#/$defs/bare"},
            "nested": {"description": "x", "properties": {"deep": {"type": "integer"}}},
            "map": {"description": "x", "additionalProperties": {"anyOf": [{"$ref": "#/$defs/described"},
                                                                          {"type": "null"}]}},
            "bad_map": {"description": "x", "additionalProperties": {"anyOf": [{"type": "string"},
                                                                              {"type": "null"}]}},
        },
        "$defs": {"described": {"description": "y"}, "bare": {"type": "string"}},
    }
    assert missing_descriptions(schema) == [
        "#/properties/via_bare_ref (a key)",
        "#/properties/nested/properties/deep (a key)",
        "#/properties/bad_map/additionalProperties (keys the author names)",
    ]
