"""What changed between two sets of products, in the words of the product file.

`diff(old, new)` compares the product data the loader builds (`Loaded.data`: a derived product
with its base merged in), not the text: a comment or a reordered key is no change, and a
derived product shows what it inherits from a changed base (marked `inherited from BASE` when
the base's own diff has the same change). Each change is a `Change`: the product and version,
the section of the file (`tables`, `eligibility`, `benefits.medical`, ...), a stable `kind`
(below), the path in the product data, the old and new values, and a line for a person:

    tables
      excess_by_country.default: 50.00 EUR → 60.00 EUR
    events
      operational_error moved from covered to not covered

Kinds: `product-added`, `product-removed`, `version-added`, `version-removed`; `changed`,
`added`, `removed` (anything without a kind of its own: the name, the currencies, a
definition's option); `field-added`, `field-removed`, `field-made-optional`,
`field-made-required`, `field-changed`, `values-added`, `values-removed`; `definition-added`,
`definition-removed`, `definition-changed`; `table-added`, `table-removed`, `row-added`,
`row-removed`, `number-changed`; `bands-added`, `bands-removed`, `band-changed` (a band's
value), `bands-moved` (their boundaries); `event-added`, `event-removed`, `event-moved`
(between covered and not covered), `event-changed`; `rule-added`, `rule-removed`,
`rule-changed` (condition, clause, message, ...); `section-added`, `section-removed` (benefit
sections); `settlement-changed`, `step-added`, `step-removed`, `step-changed`.

Versions are paired by their `version`; when a side has one unpaired version left, so has the
other, they are paired too (a file against its next version). A version only the new side has
is compared with the old side's version in effect on its first day.
"""
from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Iterator

from .loader import Loaded

RULE_SECTIONS = ("eligibility", "exclusions", "conditions", "referrals", "documents", "invariants")
IDENTITY = ("name", "version", "effective_from", "effective_until", "version_date", "extends", "wording",
            "currencies")
ORDER = ("product", "fields", "definitions", "tables", "bands", "eligibility", "events", "exclusions",
         "conditions", "documents", "referrals", "benefits", "settlement", "invariants")
_ATTRIBUTE = {"when": "condition", "unless": "unless", "circumstance": "circumstance", "clause": "clause",
              "message": "message", "document": "document", "provided": "provided when", "holds": "holds",
              "description": "description", "sections": "condition"}
_STEP_KINDS = ("amount", "limit", "excess", "adjust", "each")


@dataclass(frozen=True)
class Change:
    product: str
    version: str | None          # the new side's version (the old side's, for what was removed)
    section: str                 # where in the file: tables, eligibility, benefits.medical, ...
    kind: str                    # a stable code (see the module's doc)
    path: str                    # the dotted path in the product data
    old: Any                     # the old value, as data (None when added)
    new: Any                     # the new value (None when removed)
    text: str                    # a line for a person
    against: str | None = None   # the old side's version, when it is not `version`
    inherited: str | None = None  # the base product this change comes from

    def to_dict(self) -> dict:
        return {key: _plain(value) for key, value in asdict(self).items()}


def _plain(value):
    """Product data as JSON can hold it: Decimals and dates as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (Decimal, date)):
        return str(value)
    return value


def show(value) -> str:
    """A value of product data as the file would write it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return str(value)


EXPRESSIONS = frozenset({"when", "unless", "holds", "provided", "required_when", "present_when", "value", "payout",
                         "excess", "kind", "depreciation", "amount", "limit", "adjust", "each", "of", "claimed"})


def _quote(value, key: str | None = None) -> str:
    """An expression (by its key) in backquotes, a sentence in quotes, other values as written."""
    if isinstance(value, str):
        if key in EXPRESSIONS and " " in value:
            return f"`{value}`"
        if " " in value:
            return f'"{value}"'
    return show(value)


@dataclass
class DiffReport:
    old: str
    new: str
    changes: list[Change]
    products: list[str]              # every product id on either side, sorted
    unchanged: list[str]             # those with no change

    def to_dict(self) -> dict:
        return {"old": self.old, "new": self.new, "changed": bool(self.changes), "products": self.products,
                "unchanged": self.unchanged, "changes": [change.to_dict() for change in self.changes]}


# -- comparing two loaded sets of products -------------------------------------------------------
def diff(old: Loaded, new: Loaded, old_label: str = "old", new_label: str = "new") -> DiffReport:
    """Every change from `old` to `new`, product by product, in the order of the file's sections."""
    changes: list[Change] = []
    ids = sorted(set(old.data) | set(new.data))
    by_product: dict[str, list[Change]] = {}
    for product_id in ids:
        found = list(_product(product_id, old.data.get(product_id, ()), new.data.get(product_id, ())))
        by_product[product_id] = found
    for product_id in ids:
        found = by_product[product_id]
        base = _base_of(new.products.get(product_id) or old.products.get(product_id) or ())
        if base in by_product:
            inherited = {(c.section, c.kind, c.path, show(c.old), show(c.new)) for c in by_product[base]}
            found = [Change(**{**asdict(c), "inherited": base})
                     if (c.section, c.kind, c.path, show(c.old), show(c.new)) in inherited else c for c in found]
        changes.extend(found)
    unchanged = [product_id for product_id in ids if not by_product[product_id]]
    return DiffReport(old_label, new_label, changes, ids, unchanged)


def _base_of(chain) -> str | None:
    """The product a (compiled) product extends, or None."""
    return chain[-1].extends if chain else None


def _product(product_id: str, old: tuple, new: tuple) -> Iterator[Change]:
    if not old:
        for data in new:
            yield Change(product_id, data.get("version"), "product", "product-added", "", None, data.get("version"),
                         f"product {product_id} added (version {data.get('version')}, effective from "
                         f"{data.get('effective_from')})")
        return
    if not new:
        for data in old:
            yield Change(product_id, data.get("version"), "product", "product-removed", "", data.get("version"), None,
                         f"product {product_id} removed (version {data.get('version')})")
        return
    old_left = {data.get("version"): data for data in old}
    pairs = []
    new_left = []
    for data in new:
        if data.get("version") in old_left:
            pairs.append((old_left.pop(data.get("version")), data))
        else:
            new_left.append(data)
    if len(new_left) == 1 and len(old_left) == 1:
        pairs.append((old_left.popitem()[1], new_left.pop()))
    for data in new_left:
        version = data.get("version")
        yield Change(product_id, version, "product", "version-added", "", None, version,
                     f"version {version} added (effective from {data.get('effective_from')})")
        before = [o for o in old if str(o.get("effective_from")) <= str(data.get("effective_from"))]
        if before:
            pairs.append((before[-1], data))
    for version, data in old_left.items():
        yield Change(product_id, version, "product", "version-removed", "", version, None,
                     f"version {version} removed (it took effect on {data.get('effective_from')})")
    pairs.sort(key=lambda pair: str(pair[1].get("effective_from")))
    for before, after in pairs:
        version, against = after.get("version"), before.get("version")
        context = _Context(product_id, version, against if against != version else None)
        yield from _compare(context, before, after)


class _Context:
    """Makes the changes of one pair of versions."""

    def __init__(self, product: str, version: str | None, against: str | None):
        self.product, self.version, self.against = product, version, against

    def change(self, section, kind, path, old, new, text) -> Change:
        return Change(self.product, self.version, section, kind, path, old, new, text, self.against)


def _compare(c: _Context, old: dict, new: dict) -> Iterator[Change]:
    for key in IDENTITY:
        if key in ("version",) and c.against is None:
            continue
        if old.get(key) != new.get(key):
            yield from _value(c, "product", key, old.get(key), new.get(key))
    yield from _fields(c, "fields", "", old.get("fields") or {}, new.get("fields") or {})
    yield from _definitions(c, old.get("definitions") or {}, new.get("definitions") or {})
    yield from _tables(c, old.get("tables") or {}, new.get("tables") or {})
    yield from _bands(c, old.get("bands") or {}, new.get("bands") or {})
    for section in ("eligibility",):
        yield from _rules(c, section, section, old.get(section) or {}, new.get(section) or {})
    yield from _events(c, old.get("events") or {}, new.get("events") or {})
    for section in ("exclusions", "conditions", "documents", "referrals"):
        yield from _rules(c, section, section, old.get(section) or {}, new.get(section) or {})
    yield from _benefits(c, old.get("benefits") or {}, new.get("benefits") or {})
    yield from _settlement(c, "settlement", "settlement", old.get("settlement") or {}, new.get("settlement") or {})
    yield from _rules(c, "invariants", "invariants", old.get("invariants") or {}, new.get("invariants") or {},
                      noun="invariant")
    known = set(IDENTITY) | set(ORDER) | {"id"}
    for key in sorted((set(old) | set(new)) - known):
        if old.get(key) != new.get(key):
            yield from _value(c, key, key, old.get(key), new.get(key))


def _value(c: _Context, section: str, path: str, old, new, what: str | None = None) -> Iterator[Change]:
    """A value that changed (or was added, or removed): one change, or one per changed key."""
    what = what or path
    if isinstance(old, dict) and isinstance(new, dict):
        for key in _keys(old, new):
            if old.get(key) != new.get(key):
                yield from _value(c, section, f"{path}.{key}", old.get(key), new.get(key), f"{what}.{key}")
        return
    key = path.rsplit(".", 1)[-1]
    if old is None:
        yield c.change(section, "added", path, None, new, f"{what} added: {_quote(new, key)}")
    elif new is None:
        yield c.change(section, "removed", path, old, None, f"{what} removed (was {_quote(old, key)})")
    else:
        yield c.change(section, "changed", path, old, new, f"{what}: {_quote(old, key)} → {_quote(new, key)}")


def _keys(old: dict, new: dict) -> list:
    """Keys of both, the new side's order first, then those removed."""
    return list(new) + [key for key in old if key not in new]


# -- fields ---------------------------------------------------------------------------------------------
def _required(spec: dict) -> bool:
    return not (spec.get("optional") or "default" in spec or spec.get("required_when") or spec.get("present_when"))


def _field_kind(spec: dict) -> str:
    kind = str(spec.get("type", "?"))
    if spec.get("values"):
        kind += ": " + ", ".join(str(v) for v in spec["values"])
    return kind


def _fields(c: _Context, section: str, prefix: str, old: dict, new: dict) -> Iterator[Change]:
    for name in _keys(old, new):
        before, after = old.get(name), new.get(name)
        path = f"{prefix}{name}"
        if before == after:
            continue
        if before is None:
            optional = "" if _required(after) else ", optional"
            yield c.change(section, "field-added", f"fields.{path}", None, after,
                           f"field {path} added ({_field_kind(after)}{optional})")
            continue
        if after is None:
            yield c.change(section, "field-removed", f"fields.{path}", before, None, f"field {path} removed")
            continue
        if not isinstance(before, dict) or not isinstance(after, dict):
            yield from _value(c, section, f"fields.{path}", before, after, f"field {path}")
            continue
        if _required(before) and not _required(after):
            how = ("default " + show(after["default"])) if "default" in after else \
                (f"required only when `{after['required_when']}`" if after.get("required_when") else
                 f"given when `{after['present_when']}`" if after.get("present_when") else "optional")
            yield c.change(section, "field-made-optional", f"fields.{path}", before, after,
                           f"field {path} made optional ({how})")
        elif not _required(before) and _required(after):
            yield c.change(section, "field-made-required", f"fields.{path}", before, after,
                           f"field {path} made required")
        for key in _keys(before, after):
            was, now = before.get(key), after.get(key)
            if was == now or key in ("optional",):
                continue
            if key == "items" and isinstance(was, dict) and isinstance(now, dict):
                yield from _fields(c, section, f"{path}[].", was, now)
                continue
            if key in ("default", "required_when", "present_when") and (was is None) != (now is None):
                continue                                # said by made optional / made required
            if key == "values" and isinstance(was, list) and isinstance(now, list):
                added = [v for v in now if v not in was]
                removed = [v for v in was if v not in now]
                if added:
                    yield c.change(section, "values-added", f"fields.{path}.values", was, now,
                                   f"field {path}: values added: {', '.join(map(str, added))}")
                if removed:
                    yield c.change(section, "values-removed", f"fields.{path}.values", was, now,
                                   f"field {path}: values removed: {', '.join(map(str, removed))}")
                if not added and not removed:
                    yield c.change(section, "field-changed", f"fields.{path}.values", was, now,
                                   f"field {path}: values reordered")
                continue
            what = {"min": "minimum", "max": "maximum"}.get(key, key)
            if was is None:
                text = f"field {path}: {what} {_quote(now, key)} added"
            elif now is None:
                text = f"field {path}: {what} {_quote(was, key)} removed"
            else:
                text = f"field {path}: {what} {_quote(was, key)} → {_quote(now, key)}"
            yield c.change(section, "field-changed", f"fields.{path}.{key}", was, now, text)


# -- definitions, tables, bands ------------------------------------------------------------------------
def _definitions(c: _Context, old: dict, new: dict) -> Iterator[Change]:
    for name in _keys(old, new):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        path = f"definitions.{name}"
        if before is None:
            yield c.change("definitions", "definition-added", path, None, after,
                           f"definition {name} added: {_quote(_definition_value(after), 'value')}")
        elif after is None:
            yield c.change("definitions", "definition-removed", path, before, None, f"definition {name} removed")
        elif _definition_value(before) != _definition_value(after):
            yield c.change("definitions", "definition-changed", path, before, after,
                           f"definition {name}: {_quote(_definition_value(before), 'value')} → "
                           f"{_quote(_definition_value(after), 'value')}")
        else:
            yield from _value(c, "definitions", path, before, after, f"definition {name}")


def _definition_value(definition):
    return definition.get("value") if isinstance(definition, dict) else definition


def _tables(c: _Context, old: dict, new: dict) -> Iterator[Change]:
    for name in _keys(old, new):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        path = f"tables.{name}"
        if before is None:
            yield c.change("tables", "table-added", path, None, after, f"table {name} added")
            continue
        if after is None:
            yield c.change("tables", "table-removed", path, before, None, f"table {name} removed")
            continue
        rows_before, rows_after = before.get("rows") or {}, after.get("rows") or {}
        for key in _keys(rows_before, rows_after):
            was, now = rows_before.get(key), rows_after.get(key)
            if was == now:
                continue
            if was is None:
                yield c.change("tables", "row-added", f"{path}.rows.{key}", None, now, f"{name}.{key} added: {show(now)}")
            elif now is None:
                yield c.change("tables", "row-removed", f"{path}.rows.{key}", was, None,
                               f"{name}.{key} removed (was {show(was)}; the default row applies)"
                               if "default" in after else f"{name}.{key} removed (was {show(was)})")
            else:
                yield c.change("tables", "number-changed", f"{path}.rows.{key}", was, now,
                               f"{name}.{key}: {show(was)} → {show(now)}")
        if before.get("default") != after.get("default"):
            was, now = before.get("default"), after.get("default")
            kind = "number-changed" if was is not None and now is not None else ("added" if was is None else "removed")
            text = f"{name}.default: {show(was)} → {show(now)}" if kind == "number-changed" else \
                (f"{name}.default added: {show(now)}" if was is None else f"{name}.default removed (was {show(was)})")
            yield c.change("tables", kind, f"{path}.default", was, now, text)
        for key in _keys(before, after):
            if key not in ("rows", "default") and before.get(key) != after.get(key):
                yield from _value(c, "tables", f"{path}.{key}", before.get(key), after.get(key), f"{name}.{key}")


def band_label(band: dict, unit: str | None = None) -> str:
    """A band as a person reads it: `184–365 days: 10%`, `300.00 GBP to under 700.00 GBP`, `731 and more`."""
    low = band.get("from")
    if band.get("to") is not None:
        span = f"{low}–{band['to']}"
    elif band.get("below") is not None:
        span = f"{low} to under {band['below']}"
    else:
        span = f"{low} and more"
    if unit and unit != "amount":
        span += f" {unit}"
    return span


def _bands(c: _Context, old: dict, new: dict) -> Iterator[Change]:
    for name in _keys(old, new):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        path = f"bands.{name}"
        if before is None:
            yield c.change("bands", "bands-added", path, None, after, f"bands {name} added")
            continue
        if after is None:
            yield c.change("bands", "bands-removed", path, before, None, f"bands {name} removed")
            continue
        unit = after.get("unit")
        was, now = before.get("bands") or [], after.get("bands") or []
        bounds = [[(b.get("from"), b.get("to"), b.get("below")) for b in bands] for bands in (was, now)]
        if bounds[0] == bounds[1]:
            for index, (x, y) in enumerate(zip(was, now)):
                if x.get("value") != y.get("value"):
                    yield c.change("bands", "band-changed", f"{path}.bands.{index}.value", x.get("value"),
                                   y.get("value"), f"{name}: band {band_label(y, unit)}: {show(x.get('value'))} → "
                                   f"{show(y.get('value'))}")
                for key in _keys(x, y):
                    if key != "value" and x.get(key) != y.get(key):
                        yield from _value(c, "bands", f"{path}.bands.{index}.{key}", x.get(key), y.get(key),
                                          f"{name}: band {band_label(y, unit)} {key}")
        elif was != now:
            shown = [", ".join(f"{band_label(b, unit)}: {show(b.get('value'))}" for b in bands) for bands in (was, now)]
            yield c.change("bands", "bands-moved", f"{path}.bands", was, now,
                           f"{name}: bands moved: {shown[0]} → {shown[1]}")
        for key in _keys(before, after):
            if key != "bands" and before.get(key) != after.get(key):
                yield from _value(c, "bands", f"{path}.{key}", before.get(key), after.get(key), f"{name}.{key}")


# -- rules and events -----------------------------------------------------------------------------------
def _rules(c: _Context, section: str, path: str, old: dict, new: dict, noun: str = "rule") -> Iterator[Change]:
    noun = "document" if section.endswith("documents") else noun
    for rule_id in _keys(old, new):
        before, after = old.get(rule_id), new.get(rule_id)
        if before == after:
            continue
        where = f"{path}.{rule_id}"
        if before is None:
            yield c.change(section, "rule-added", where, None, after, f"{noun} {rule_id}{_clause(after)} added"
                           f"{_rule_summary(after)}")
            continue
        if after is None:
            yield c.change(section, "rule-removed", where, before, None, f"{noun} {rule_id}{_clause(before)} removed")
            continue
        if not isinstance(before, dict) or not isinstance(after, dict):
            yield from _value(c, section, where, before, after, f"{noun} {rule_id}")
            continue
        for key in _keys(before, after):
            was, now = before.get(key), after.get(key)
            if was == now:
                continue
            if key == "sections" and isinstance(was, dict) and isinstance(now, dict):   # a shared refusal
                for name in _keys(was, now):
                    if was.get(name) != now.get(name):
                        yield c.change(section, "rule-changed", f"{where}.sections.{name}", was.get(name),
                                       now.get(name), f"{noun} {rule_id}: condition for {name}: "
                                       f"{_quote(was.get(name), 'when') if name in was else '(none)'} → "
                                       f"{_quote(now.get(name), 'when') if name in now else '(none)'}")
                continue
            what = _ATTRIBUTE.get(key, key)
            if was is None:
                text = f"{noun} {rule_id}: {what} {_quote(now, key)} added"
            elif now is None:
                text = f"{noun} {rule_id}: {what} {_quote(was, key)} removed"
            else:
                text = f"{noun} {rule_id}: {what} {_quote(was, key)} → {_quote(now, key)}"
            yield c.change(section, "rule-changed", f"{where}.{key}", was, now, text)


def _clause(rule) -> str:
    return f" ({rule['clause']})" if isinstance(rule, dict) and rule.get("clause") else ""


def _rule_summary(rule) -> str:
    if not isinstance(rule, dict):
        return ""
    parts = []
    if rule.get("circumstance"):
        parts.append(f"circumstance {rule['circumstance']}")
    if rule.get("when"):
        parts.append(f"when `{rule['when']}`")
    if rule.get("document"):
        parts.append(f"document {rule['document']}")
    if rule.get("holds"):
        parts.append(f"holds `{rule['holds']}`")
    if rule.get("sections"):
        parts.append("for " + ", ".join(rule["sections"]))
    return ": " + ", ".join(parts) if parts else ""


def _event_leaves(tree, status: str, prefix: str = "", found=None) -> dict:
    """{event path: (covered or not covered, its description, is a group)} of an event tree."""
    found = {} if found is None else found
    for name, value in (tree or {}).items():
        path = f"{prefix}{name}"
        if isinstance(value, dict):
            found[path] = (status, None, True)
            _event_leaves(value, status, f"{path}.", found)
        else:
            found[path] = (status, value, False)
    return found


def _events(c: _Context, old: dict, new: dict) -> Iterator[Change]:
    before = {**_event_leaves(old.get("covered"), "covered"), **_event_leaves(old.get("not_covered"), "not covered")}
    after = {**_event_leaves(new.get("covered"), "covered"), **_event_leaves(new.get("not_covered"), "not covered")}
    for event in _keys(before, after):
        was, now = before.get(event), after.get(event)
        if was == now:
            continue
        path = f"events.{event}"
        noun = "event group" if (now or was)[2] else "event"
        if was is None:
            yield c.change("events", "event-added", path, None, now[0], f"{noun} {event} added ({now[0]})")
        elif now is None:
            yield c.change("events", "event-removed", path, was[0], None, f"{noun} {event} removed (was {was[0]})")
        elif was[0] != now[0]:
            yield c.change("events", "event-moved", path, was[0], now[0], f"{event} moved from {was[0]} to {now[0]}")
        elif was[1] != now[1]:
            yield c.change("events", "event-changed", path, was[1], now[1],
                           f"event {event}: description {_quote(was[1])} → {_quote(now[1])}")
    if old.get("rule") != new.get("rule"):
        rule_before, rule_after = old.get("rule") or {}, new.get("rule") or {}
        if rule_before.get("id") != rule_after.get("id"):
            yield from _value(c, "events", "events.rule.id", rule_before.get("id"), rule_after.get("id"),
                              "the not-covered rule's id")
        rid = rule_after.get("id") or rule_before.get("id")
        yield from _rules(c, "events", "events.rule", {rid: {k: v for k, v in rule_before.items() if k != "id"}},
                          {rid: {k: v for k, v in rule_after.items() if k != "id"}})


# -- benefit sections and settlement ----------------------------------------------------------------------
def _benefits(c: _Context, old: dict, new: dict) -> Iterator[Change]:
    if old == new:
        return
    for key in ("claimed", "declined_when"):
        if old.get(key) != new.get(key):
            yield from _value(c, "benefits", f"benefits.{key}", old.get(key), new.get(key))
    yield from _rules(c, "benefits", "benefits.refusals", old.get("refusals") or {}, new.get("refusals") or {},
                      noun="shared refusal")
    sections_before, sections_after = old.get("sections") or {}, new.get("sections") or {}
    for name in _keys(sections_before, sections_after):
        was, now = sections_before.get(name), sections_after.get(name)
        if was == now:
            continue
        section = f"benefits.{name}"
        if was is None:
            yield c.change(section, "section-added", section, None, now,
                           f"benefit section {name} added{' (' + now['name'] + ')' if now.get('name') else ''}")
            continue
        if now is None:
            yield c.change(section, "section-removed", section, was, None, f"benefit section {name} removed")
            continue
        for key in ("name", "clause"):
            if was.get(key) != now.get(key):
                yield from _value(c, section, f"{section}.{key}", was.get(key), now.get(key), f"section {name} {key}")
        for key, noun in (("refusals", "refusal"), ("documents", "document"), ("referrals", "referral")):
            yield from _rules(c, section, f"{section}.{key}", was.get(key) or {}, now.get(key) or {}, noun=noun)
        yield from _settlement(c, section, f"{section}.settlement", was.get("settlement") or {},
                               now.get("settlement") or {})
        for key in _keys(was, now):
            if key not in ("name", "clause", "refusals", "documents", "referrals", "settlement") \
                    and was.get(key) != now.get(key):
                yield from _value(c, section, f"{section}.{key}", was.get(key), now.get(key))


def _step_name(step, index: int) -> str:
    if not isinstance(step, dict):
        return f"step {index + 1}"
    kind = next((k for k in _STEP_KINDS if k in step), "step")
    reason = f" {step['reason']}" if step.get("reason") else ""
    return f"step {index + 1} ({kind}{reason}: {step.get(kind)})" if kind != "step" else f"step {index + 1}"


def _settlement(c: _Context, section: str, path: str, old: dict, new: dict) -> Iterator[Change]:
    if old == new:
        return
    for key in ("kind", "payout", "excess", "depreciation"):
        if old.get(key) != new.get(key):
            was, now = old.get(key), new.get(key)
            text = f"settlement {key}: {_quote(was, key)} → {_quote(now, key)}" if was is not None and now is not None \
                else (f"settlement {key} added: {_quote(now, key)}" if was is None
                      else f"settlement {key} removed (was {_quote(was, key)})")
            yield c.change(section, "settlement-changed", f"{path}.{key}", was, now, text)
    yield from _steps(c, section, f"{path}.steps", old.get("steps") or [], new.get("steps") or [], "settlement ")
    yield from _rules(c, section, f"{path}.adjustments", old.get("adjustments") or {}, new.get("adjustments") or {},
                      noun="adjustment")
    for key in _keys(old, new):
        if key not in ("kind", "payout", "excess", "depreciation", "steps", "adjustments") and old.get(key) != new.get(key):
            yield from _value(c, section, f"{path}.{key}", old.get(key), new.get(key), f"settlement {key}")


def _steps(c: _Context, section: str, path: str, old: list, new: list, what: str) -> Iterator[Change]:
    if old == new:
        return
    keys = [[show(step) for step in steps] for steps in (old, new)]
    matcher = difflib.SequenceMatcher(a=keys[0], b=keys[1], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        paired = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for offset in range(paired):
            yield from _step(c, section, path, what, i1 + offset, j1 + offset, old[i1 + offset], new[j1 + offset])
        for index in range(i1 + paired, i2):
            yield c.change(section, "step-removed", f"{path}.{index}", old[index], None,
                           f"{what}{_step_name(old[index], index)} removed")
        for index in range(j1 + paired, j2):
            yield c.change(section, "step-added", f"{path}.{index}", None, new[index],
                           f"{what}{_step_name(new[index], index)} added")


def _step(c: _Context, section, path, what, i, j, was, now) -> Iterator[Change]:
    name = _step_name(now, j)
    if not isinstance(was, dict) or not isinstance(now, dict):
        yield c.change(section, "step-changed", f"{path}.{j}", was, now, f"{what}{name}: {show(was)} → {show(now)}")
        return
    for key in _keys(was, now):
        x, y = was.get(key), now.get(key)
        if x == y:
            continue
        if key == "steps" and isinstance(x, list) and isinstance(y, list):
            yield from _steps(c, section, f"{path}.{j}.steps", x, y, f"{what}{_step_name(now, j)}: ")
            continue
        if key == "groups" and isinstance(x, list) and isinstance(y, list):
            for number in range(max(len(x), len(y))):
                gx = x[number] if number < len(x) else None
                gy = y[number] if number < len(y) else None
                if gx != gy:
                    yield c.change(section, "step-changed", f"{path}.{j}.groups.{number}", gx, gy,
                                   f"{what}{name}: group {number + 1}: {show(gx)} → {show(gy)}")
            continue
        what_key = {"when": "condition"}.get(key, key)
        if key in _STEP_KINDS and x is not None and y is not None:
            text = f"{what}step {j + 1}: {key} {_quote(x, key)} → {_quote(y, key)}"
        elif x is None:
            text = f"{what}{_step_name(was, i)}: {what_key} {_quote(y, key)} added"
        elif y is None:
            text = f"{what}{_step_name(was, i)}: {what_key} {_quote(x, key)} removed"
        else:
            text = f"{what}{_step_name(was, i)}: {what_key} {_quote(x, key)} → {_quote(y, key)}"
        yield c.change(section, "step-changed", f"{path}.{j}.{key}", x, y, text)


# -- for a person -------------------------------------------------------------------------------------
def render_text(report: DiffReport) -> str:
    """The changes grouped by product, version and section, in the order of the file."""
    if not report.changes:
        return f"no changes: {report.old} and {report.new} decide alike ({len(report.products)} products compared)\n"
    lines = []
    groups: dict[tuple, list[Change]] = {}
    for change in report.changes:
        groups.setdefault((change.product, change.version, change.against), []).append(change)
    for (product, version, against), changes in groups.items():
        versions = f"version {version}" if against is None else f"version {version}, against {against}"
        lines.append(f"{product} ({versions})")
        sections: dict[str, list[Change]] = {}
        for change in changes:
            sections.setdefault(change.section, []).append(change)
        for section in sorted(sections, key=_section_order):
            lines.append(f"  {section}")
            for change in sections[section]:
                inherited = f"  (inherited from {change.inherited})" if change.inherited else ""
                lines.append(f"    {change.text}{inherited}")
    products = len({c.product for c in report.changes})
    lines.append("")
    lines.append(f"{len(report.changes)} change{'s' if len(report.changes) != 1 else ''} in {products} "
                 f"product{'s' if products != 1 else ''} ({report.old} → {report.new})"
                 + (f"; unchanged: {', '.join(report.unchanged)}" if report.unchanged else ""))
    return "\n".join(lines) + "\n"


def _section_order(section: str) -> int:
    head = section.split(".")[0]
    return ORDER.index(head) if head in ORDER else len(ORDER)


__all__ = ["Change", "DiffReport", "diff", "render_text", "band_label", "show"]
