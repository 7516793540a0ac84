"""The product file's JSON Schema stage: every violation, at its position, with a suggestion."""
from __future__ import annotations

import difflib
import re
from datetime import date
from functools import lru_cache

import jsonschema
from jsonschema import validators

from .. import schemas

from . import errors as E
from .errors import Problem

@lru_cache(maxsize=None)
def _whole(pattern: str) -> re.Pattern:
    """A schema pattern matched against the whole text: in Python, `$` also matches before a
    final newline (`"late\n"` would pass `^[a-z-]+$`), so it is read as the end of the text."""
    return re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") and not pattern.endswith(r"\$") else pattern)


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not _whole(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _kept_ref(cache: dict):
    """`$ref` as jsonschema's own keyword does it (look the reference up, then check the instance
    against what it names, with the resolver found there), each lookup made once and kept in
    `cache`: a product file checks a few hundred references, looked up (a JSON pointer walked
    through the schema) for every one, a third of the time the check took. Each shipped schema's
    validator has a cache of its own, kept by the resolver's base URI and the reference, which is
    what a lookup depends on within one of our schemas (no `$dynamicRef`); a reference that does
    not resolve fails as jsonschema's own does."""
    def kept(validator, ref, instance, schema):
        resolver = validator._resolver
        key = (resolver._base_uri, ref)
        found = cache.get(key)
        if found is None:
            try:
                found = resolver.lookup(ref)
            except Exception:            # noqa: BLE001 - jsonschema's own error, from its own keyword
                yield from validator._validate_reference(ref=ref, instance=instance)
                return
            cache[key] = found
        yield from validator.descend(instance, found.contents, resolver=found.resolver)
    return kept


# Draft 2020-12, with `pattern` (and so `propertyNames` patterns) matching names whole.
Validator = validators.extend(jsonschema.Draft202012Validator, {"pattern": _pattern})
_KEEPS_REFS = hasattr(getattr(Validator({}), "_resolver", None), "_base_uri")


def shipped_validator(schema: dict):
    """The validator of one of the package's own schemas: `Validator`, its `$ref` lookups kept
    (by a validator class of its own, so no two schemas share them), when jsonschema and
    referencing work as `_kept_ref` reads them; else `Validator` itself."""
    if not _KEEPS_REFS:
        return Validator(schema)
    return validators.extend(Validator, {"$ref": _kept_ref({})})(schema)


PRODUCT_SCHEMA = schemas.load("product.schema.json")
_VALIDATOR = shipped_validator(PRODUCT_SCHEMA)


def without_required(node):
    """The schema with its nested `required` lists removed (the top-level one is kept by the caller)."""
    if isinstance(node, dict):
        return {k: without_required(v) for k, v in node.items() if k != "required"}
    if isinstance(node, list):
        return [without_required(v) for v in node]
    return node


# A product that `extends` another is a patch: its nested keys may be partial.  The merged
# result is then checked against the full schema.  The patch schema is a file of its own so that
# editors can use it (derived products name it in their modeline); a test keeps it in step.
PATCH_SCHEMA = schemas.load("product-patch.schema.json")
_PATCH_VALIDATOR = shipped_validator(PATCH_SCHEMA)


def _kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)) or type(value).__name__ == "Decimal":
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _closest_key(key, allowed: list[str]) -> list[str]:
    """The key meant: one the typed key starts with or abbreviates (`minimum` for `min`), else the
    closest spelling."""
    if isinstance(key, str):
        prefixed = [name for name in allowed if len(name) >= 3 and (key.startswith(name) or name.startswith(key))]
        if prefixed:
            return [min(prefixed, key=lambda name: abs(len(name) - len(key)))]
    return difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)


def _leaves(error):
    """The most specific errors: for anyOf/oneOf, those of the branch that got furthest."""
    if error.context:
        best = max(error.context, key=lambda e: (len(e.absolute_path), -len(list(e.context or ()))))
        deepest = [e for e in error.context if len(e.absolute_path) == len(best.absolute_path)
                   and e.validator not in ("type", "anyOf")] or [best]
        for sub in deepest[:1]:
            yield from _leaves(sub)
        return
    yield error


def check(data, document, patch: bool = False) -> list[Problem]:
    """Validate product data against the schema; `document` gives positions.

    `patch`: the data is a product that extends another; only what it gives is checked.
    """
    problems: list[Problem] = []
    seen = set()
    validator = _PATCH_VALIDATOR if patch else _VALIDATOR
    for top in validator.iter_errors(data):
        for error in _leaves(top):
            path = tuple(error.absolute_path)
            for problem in _describe(error, path, document):
                key = (problem.line, problem.column, problem.code, problem.message)
                if key not in seen:
                    seen.add(key)
                    problems.append(problem)
    if not problems:
        problems.extend(_calendar_dates(data, document))
    return problems


def missing_keys(data) -> dict[tuple, list[str]]:
    """Where the full product schema finds mappings without keys they need: path -> the keys
    missing (for a derived product: an override of an id its base does not have)."""
    found: dict[tuple, list[str]] = {}

    def visit(error):
        if error.validator == "required":
            missing = [k for k in error.validator_value if isinstance(error.instance, dict) and k not in error.instance]
            keys = found.setdefault(tuple(error.absolute_path), [])
            keys.extend(k for k in missing if k not in keys)
        for sub in error.context or ():
            visit(sub)
    for error in _VALIDATOR.iter_errors(data):
        visit(error)
    return found


def _calendar_dates(data, document) -> list[Problem]:
    """The header's dates are real ones (the schema only sees their shape: 2024-02-30 has it)."""
    found = []
    for key in ("effective_from", "effective_until"):
        value = data.get(key)
        if isinstance(value, str):
            try:
                date.fromisoformat(value)
            except ValueError:
                found.append(document.problem((key,), E.SCHEMA_VALUE, f"{key}: {value} is not a calendar date"))
    return found


def _describe(error, path, document, whole: str = "the product"):
    validator = error.validator
    where = ".".join(str(p) for p in path) or whole
    if validator == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        for key in error.instance:
            if key in allowed:
                continue
            hint = _closest_key(key, allowed)
            message = f"unknown key '{key}' in {where}"
            message += f"; did you mean '{hint[0]}'?" if hint else f" (allowed: {', '.join(allowed)})"
            yield document.problem(path + (key,), E.SCHEMA_UNKNOWN_KEY, message, key=True)
        return
    if validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        for key in missing:
            yield document.problem(path, E.SCHEMA_MISSING_KEY, f"missing key '{key}' in {where}", key=bool(path))
        return
    if validator == "propertyNames" or "propertyNames" in error.absolute_schema_path:
        key = error.instance
        yield document.problem(path + (key,), E.SCHEMA_VALUE,
                               f"'{key}' is not a valid name here ({_pattern_hint(error)})", key=True)
        return
    if validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        yield document.problem(path, E.SCHEMA_TYPE, f"{where} must be {_article(expected)}, "
                               f"not {_kind(error.instance)}")
        return
    if validator == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        hint = difflib.get_close_matches(str(error.instance), [str(v) for v in error.validator_value], n=1)
        yield document.problem(path, E.SCHEMA_VALUE, f"{where}: '{error.instance}' is not one of {allowed}"
                               + (f"; did you mean '{hint[0]}'?" if hint else ""))
        return
    if validator == "pattern":
        yield document.problem(path, E.SCHEMA_VALUE, f"{where}: '{error.instance}' is not valid "
                               f"({_pattern_hint(error)})")
        return
    yield document.problem(path, E.SCHEMA_VALUE, f"{where}: {error.message}")


def _pattern_hint(error) -> str:
    pattern = error.validator_value if error.validator == "pattern" else error.schema.get("pattern", "")
    if isinstance(error.validator_value, dict):
        pattern = error.validator_value.get("pattern", "")
    hints = {
        "^[a-z][a-z0-9]*(-[a-z0-9]+)*$": "lower-case words joined by hyphens, e.g. late-enrolment",
        "^[a-z_][a-zA-Z0-9_]*$": "a name: letters, digits and _, starting lower-case",
        "^[0-9]{4}-[0-9]{2}-[0-9]{2}$": "a date, YYYY-MM-DD",
        "^[A-Z]{3}$": "an ISO 4217 currency code, e.g. EUR",
        "^[0-9]+(\\.[0-9]+)? [A-Z]{3}$": "an amount and its currency, e.g. 129.00 EUR",
    }
    for key, text in hints.items():
        if key == pattern:
            return text
    if pattern.startswith("^(policy|item|claim)"):
        return "a claim field path starting with policy., item. or claim."
    return f"expected to match {pattern}"


def _article(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word
