"""Product data (schema-valid, `extends` already merged) to a compiled `Product`.

The stages after the schema: fields → events → tables and bands → definitions
→ rules → documents → settlement.  Every expression is parsed, checked and
compiled here, once.  Problems are collected (all of them) with the position
of the offending text in its YAML file, inside the expression when the
problem is inside it.
"""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from ..dsl import types as t
from ..dsl.checker import Checker, FieldInfo, Scope, _Cycle, suggest
from ..dsl.compiler import compile_expression
from ..dsl import ast
from ..dsl.ast import walk
from ..dsl.errors import CURRENCY, TOO_DEEP, ExpressionError
from ..dsl.iso import COUNTRIES, COUNTRY_CURRENCY, MINOR_UNITS
from ..dsl.parser import parse
from ..dsl.values import BandSchedule, LookupTable, Money

from . import errors as E
from .claims import ClaimValidator
from .errors import ClaimError, Problem
from .model import DocumentRule, FieldSpec, Invariant, Product, Rule, Settlement

SETTLEMENT_KINDS = frozenset({"repair", "replacement", "vehicle_replacement"})
IMPLICIT_FIELDS = {"policy.id": {"type": "text", "optional": True},
                   "claim.id": {"type": "text", "optional": True}}
_FIELD_TYPES = {
    "text": t.Text("text"), "date": t.DATE, "bool": t.BOOL, "integer": t.INTEGER,
    "decimal": t.NUMBER, "money": t.Money(None), "object": t.OBJECT,
}


def _text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


class Builder:
    """Builds one product version.  `source` maps a data path to its file position."""

    def __init__(self, data: dict, source, digest: str = ""):
        self.data = data
        self.source = source
        self.digest = digest
        self.problems: list[Problem] = []
        self.scope = Scope()
        self.named: dict[str, Any] = {}          # runtime objects: tables, bands, event groups
        self.definition_types: dict[str, t.Type] = {}
        self.definition_functions: dict[str, Any] = {}
        self.definition_reads: dict[str, tuple[str, ...]] = {}
        self._checking: list[str] = []
        self.fields: dict[str, FieldSpec] = {}
        self.currencies = frozenset(data.get("currencies") or ())
        self.literals: set[str] = set()

    # -- problems -------------------------------------------------------------
    def problem(self, path: tuple, code: str, message: str, key: bool = False, severity: str = "error",
                offset: tuple[int, int] | None = None) -> None:
        self.problems.append(self.source.problem(path, code, message, key=key, severity=severity, offset=offset))

    # -- expressions ----------------------------------------------------------
    def expression(self, path: tuple, value: Any, expect: t.Type | None, what: str):
        """Parse, check and compile the expression at `path`.  Returns (Compiled, type) or (None, ERROR)."""
        text = value if isinstance(value, str) else (self.source.raw(path) or _text(value))
        try:
            node = parse(text)
        except ExpressionError as error:
            self.problem(path, error.code, error.message, offset=(error.line, error.column))
            return None, t.ERROR
        checker = Checker(self.scope)
        try:
            result = checker.check(node, expect, what)
        except RecursionError:
            self.problem(path, TOO_DEEP, "expression nested too deeply", offset=(1, 1))
            return None, t.ERROR
        for sub in walk(node):
            if isinstance(sub, ast.String):
                self.literals.add(sub.value)
        if self.currencies:
            for sub in walk(node):
                if isinstance(sub, ast.MoneyLit) and sub.currency in MINOR_UNITS \
                        and sub.currency not in self.currencies:
                    checker.problems.append(ExpressionError(
                        CURRENCY, f"{sub.currency} is not among the product's currencies "
                        f"({', '.join(sorted(self.currencies))})", sub.line, sub.column))
        for error in checker.problems:
            self.problem(path, error.code, error.message, offset=(error.line, error.column))
        if checker.problems:
            return None, t.ERROR
        try:
            compiled = compile_expression(node, checker.resolution, self.named, self._filename(path))
        except ExpressionError as error:
            self.problem(path, error.code, error.message, offset=(error.line, error.column))
            return None, t.ERROR
        return compiled, result

    def _filename(self, path: tuple) -> str:
        span = self.source.span(path)
        return f"{self.source.file_of(path)}:{span.line}"

    # -- stages ---------------------------------------------------------------
    def build(self) -> Product | None:
        data = self.data
        currencies = self.currencies
        for i, code in enumerate(data.get("currencies") or ()):
            if code not in MINOR_UNITS:
                self.problem(("currencies", i), E.SCHEMA_VALUE, f"'{code}' is not an ISO 4217 currency code")
        events = self.build_events()
        field_specs = self.build_fields(events)
        self.build_tables(currencies)
        self.build_bands()
        self.declare_definitions()
        self.check_definitions_in_order()
        declining = self.build_declining(events)
        documents = self.build_documents()
        referrals = self.build_rules("referrals", "referrals")
        settlement = self.build_settlement()
        invariants = self.build_invariants()
        self.check_rule_ids()
        self.check_definitions()
        fields = self.finish_fields(field_specs, events)
        if not currencies:
            self.problem(("id",), E.SCHEMA_MISSING_KEY, "the product declares no `currencies`")
        if any(p.severity == "error" for p in self.problems):
            return None
        validator = ClaimValidator(fields, currencies)
        effective_until = data.get("effective_until")
        return Product(
            id=data["id"], name=data["name"], version=str(data["version"]),
            effective_from=date.fromisoformat(data["effective_from"]),
            effective_until=date.fromisoformat(effective_until) if effective_until else None,
            file=self.source.file_of(()), currencies=currencies, fields=fields,
            definitions=dict(self.definition_functions), declining=tuple(declining),
            documents=tuple(documents), referrals=tuple(referrals), settlement=settlement,
            validator=validator, extends=data.get("extends"), digest=self.digest,
            pii=frozenset(spec.path for spec in fields if spec.pii),
            private_definitions=self._private_definitions(fields),
            tables={name: obj for name, obj in self.named.items() if isinstance(obj, (LookupTable, BandSchedule))},
            invariants=tuple(invariants), literals=frozenset(self.literals),
            zeros={code: Money(Decimal(0), code).rounded() for code in currencies if code in MINOR_UNITS})

    # events -------------------------------------------------------------------
    def build_events(self) -> dict | None:
        events = self.data.get("events")
        if not events:
            return None
        leaves: dict[str, tuple] = {}        # code -> path of its label
        lists: dict[str, set[str]] = {"covered": set(), "not_covered": set()}
        groups: dict[str, set[str]] = {}

        def walk(tree: dict, prefix: str, path: tuple, which: str) -> set[str]:
            found: set[str] = set()
            for name, value in tree.items():
                if value is None:
                    continue
                code = prefix + name
                here = path + (name,)
                if isinstance(value, dict):
                    members = walk(value, code + ".", here, which)
                    if not members:
                        self.problem(here, E.PRODUCT_EVENTS, f"event group '{code}' has no events", key=True)
                    groups.setdefault(code, set()).update(members)
                    found |= members
                    continue
                if code in leaves:
                    first = leaves[code]
                    self.problem(here, E.PRODUCT_EVENTS, f"event '{code}' is listed both as covered and as "
                                 f"not covered (also at line {self.source.span(first, key=True).line})", key=True)
                leaves[code] = here
                found.add(code)
            return found

        for which in ("covered", "not_covered"):
            tree = events.get(which) or {}
            lists[which] = walk(tree, "", ("events", which), which)
        for group in groups:
            if group in leaves:
                self.problem(("events",), E.PRODUCT_EVENTS, f"'{group}' is both an event and a group of events")
        all_groups = {name: frozenset(members) for name, members in groups.items()}
        self.scope.event_groups = {"covered": frozenset(lists["covered"]),
                                   "not_covered": frozenset(lists["not_covered"]), **all_groups}
        for name, members in self.scope.event_groups.items():
            self.named["events." + name] = members
        return {"leaves": frozenset(leaves), "groups": frozenset(groups),
                "not_covered": frozenset(lists["not_covered"]), "rule": events.get("rule")}

    # fields -------------------------------------------------------------------
    def build_fields(self, events) -> dict[str, dict]:
        declared = dict(IMPLICIT_FIELDS)
        declared.update({path: spec for path, spec in (self.data.get("fields") or {}).items() if spec is not None})
        objects = {path for path, spec in declared.items() if spec.get("type") == "object"}
        optional_objects = {path for path in objects if declared[path].get("optional")}
        for path, spec in declared.items():
            kind = spec["type"]
            where = ("fields", path)
            under_optional = any(path.startswith(obj + ".") for obj in optional_objects)
            for other in declared:
                if other != path and other.startswith(path + ".") and kind != "object":
                    self.problem(where, E.PRODUCT_FIELD, f"'{path}' is a {kind} field, but '{other}' is declared "
                                 f"below it; declare '{path}' as `type: object`", key=True)
                    break
            if kind in ("code", "list") and not spec.get("values"):
                self.problem(where, E.SCHEMA_MISSING_KEY, f"a {kind} field needs `values`", key=True)
            if kind == "event" and events is None:
                self.problem(where, E.PRODUCT_FIELD, "an event field needs an `events` catalogue", key=True)
            if "pattern" in spec and kind != "text":
                self.problem(where + ("pattern",), E.PRODUCT_FIELD, "`pattern` applies to text fields only", key=True)
            for bound in ("min", "max"):
                if bound in spec and kind not in ("integer", "decimal"):
                    self.problem(where + (bound,), E.PRODUCT_FIELD,
                                 f"`{bound}` applies to integer and decimal fields only", key=True)
                elif bound in spec and not _in_range(spec[bound]):
                    self.problem(where + (bound,), E.PRODUCT_FIELD,
                                 f"`{bound}` is out of range (at most {_RANGE_TEXT} either way)")
            if "values" in spec and kind not in ("code", "list"):
                self.problem(where + ("values",), E.PRODUCT_FIELD, "`values` applies to code and list fields only",
                             key=True)
            if kind == "object" and ("default" in spec or "required_when" in spec):
                self.problem(where, E.PRODUCT_FIELD, "an object field takes only `optional`", key=True)
            may_be_absent = bool(spec.get("optional") or "required_when" in spec or under_optional) \
                and "default" not in spec
            if kind == "event" and events is not None:
                type_ = t.Text("event", events["leaves"], events["groups"])
            elif kind == "country":
                type_ = t.Text("country", COUNTRIES)
            elif kind == "code":
                type_ = t.Text("code", frozenset(spec.get("values") or ()))
            elif kind == "list":
                type_ = t.ListOf(t.Text("code", frozenset(spec.get("values") or ())))
            else:
                type_ = _FIELD_TYPES[kind]
            self.scope.fields[path] = FieldInfo(type_, may_be_absent)
        for obj in objects:
            self.scope.fields[obj] = FieldInfo(t.OBJECT, bool(declared[obj].get("optional")))
        return declared

    def finish_fields(self, declared: dict[str, dict], events: dict | None) -> tuple[FieldSpec, ...]:
        specs: list[FieldSpec] = []
        leaves = events["leaves"] if events else None
        groups = events["groups"] if events else frozenset()
        for path, spec in declared.items():
            kind = spec["type"]
            where = ("fields", path)
            pattern = None
            if "pattern" in spec:
                try:
                    pattern = re.compile(spec["pattern"])
                except re.error as error:
                    self.problem(where + ("pattern",), E.PRODUCT_FIELD, f"invalid regular expression: {error}")
            required_when = required_when_text = None
            if "required_when" in spec:
                compiled, _ = self.expression(where + ("required_when",), spec["required_when"], t.BOOL,
                                              "required_when")
                if compiled is not None:
                    required_when, required_when_text = compiled.function, _text(spec["required_when"])
            not_before = spec.get("not_before")
            if not_before is not None:
                other = declared.get(not_before)
                if other is None or other.get("type") != "date" or kind != "date":
                    self.problem(where + ("not_before",), E.REF_UNKNOWN_FIELD,
                                 f"not_before names '{not_before}', which is not a date field of this product"
                                 + suggest(not_before, [p for p, s in declared.items() if s.get("type") == "date"]))
                    not_before = None
            values = spec.get("values")
            if kind == "event":
                values, kind_groups = leaves or frozenset(), groups
            else:
                kind_groups = frozenset()
            field_spec = FieldSpec(
                path=path, type=kind,
                required=not (spec.get("optional") or "default" in spec),
                values=frozenset(values) if values is not None else None, groups=kind_groups,
                minimum=spec.get("min"), maximum=spec.get("max"), pattern=pattern,
                required_when=required_when, required_when_text=required_when_text,
                not_before=not_before, pii=bool(spec.get("pii")), description=spec.get("description"))
            if "default" in spec and kind != "object":
                raw = spec["default"]
                try:
                    default = ClaimValidator((), frozenset(MINOR_UNITS)).convert_default(field_spec, raw)
                except ClaimError as error:
                    self.problem(where + ("default",), E.PRODUCT_FIELD, f"default: {error.message}")
                    default = None
                field_spec = replace(field_spec, default=default, has_default=True)
            specs.append(field_spec)
        return tuple(specs)

    # tables and bands -----------------------------------------------------------
    def build_tables(self, currencies: frozenset[str]) -> None:
        for name, table in (self.data.get("tables") or {}).items():
            if table is None:
                continue
            where = ("tables", name)
            key_kind = table["key"]
            rows: dict[str, Any] = {}
            value_type: t.Type | None = None
            entries = [(key, value, where + ("rows", key)) for key, value in (table.get("rows") or {}).items()
                       if value is not None]
            if "default" in table:
                entries.append((None, table["default"], where + ("default",)))
            default = None
            for key, value, path in entries:
                if key is not None and key_kind == "country" and key not in COUNTRIES:
                    self.problem(path, E.PRODUCT_TABLE, f"'{key}' is not an ISO 3166-1 country code", key=True)
                compiled, type_ = self.expression(path, value, None, "a table value")
                if compiled is None:
                    continue
                if not compiled.is_constant:
                    self.problem(path, E.PRODUCT_TABLE, "a table value must be a constant (e.g. 375.00 DKK)")
                    continue
                if key is not None and key_kind == "country" and isinstance(type_, t.Money):
                    local = COUNTRY_CURRENCY.get(key)
                    if local and local != type_.currency:
                        self.problem(path, E.PRODUCT_TABLE, f"the row for {key} is in {type_.currency}, but "
                                     f"{key} uses {local}", severity="warning")
                if isinstance(type_, t.Money) and isinstance(value_type, t.Money):
                    joined = t.Money(type_.currency if type_.currency == value_type.currency else None)
                else:
                    joined = type_ if value_type is None else t.unify(value_type, type_)
                if joined is None:
                    self.problem(path, E.PRODUCT_TABLE, f"rows of one table must be of one kind: {value_type} "
                                 f"and {type_}")
                    continue
                value_type = joined
                if key is None:
                    default = compiled.constant
                else:
                    rows[key] = compiled.constant
            key_type = t.Text("country", COUNTRIES) if key_kind == "country" else t.Text("code")
            self.scope.tables[name] = t.Table(key_type, value_type or t.ERROR)
            self.named[name] = LookupTable(name, table.get("clause"), rows, default, "default" in table)

    def build_bands(self) -> None:
        for name, schedule in (self.data.get("bands") or {}).items():
            if schedule is None:
                continue
            if name in self.named:
                self.problem(("bands", name), E.PRODUCT_BANDS, f"'{name}' is already a table", key=True)
                continue
            where = ("bands", name)
            bands = []
            value_type: t.Type | None = None
            previous_high: int | None = None
            rows = schedule["bands"]
            for i, band in enumerate(rows):
                path = where + ("bands", i)
                low, high = band["from"], band.get("to")
                out = [key for key in ("from", "to") if key in band and not _in_range(band[key])]
                for key in out:
                    self.problem(path + (key,), E.PRODUCT_BANDS,
                                 f"`{key}` is out of range (at most {_RANGE_TEXT} either way)")
                if out:
                    continue
                if high is not None and high < low:
                    self.problem(path + ("to",), E.PRODUCT_BANDS, f"band ends ({high}) before it starts ({low})")
                if high is None and i != len(rows) - 1:
                    self.problem(path, E.PRODUCT_BANDS, "only the last band may leave out `to`")
                if i > 0 and previous_high is not None:
                    if low > previous_high + 1:
                        gap = (f"{previous_high + 1}" if low == previous_high + 2
                               else f"{previous_high + 1} to {low - 1}")
                        self.problem(path + ("from",), E.PRODUCT_BANDS,
                                     f"gap between bands: {schedule['unit']} {gap} fall{'s' if low == previous_high + 2 else ''} "
                                     "in no band")
                    elif low <= previous_high:
                        self.problem(path + ("from",), E.PRODUCT_BANDS,
                                     f"bands overlap: {schedule['unit']} {low} to {min(previous_high, high or previous_high)} "
                                     "are in two bands")
                previous_high = high
                compiled, type_ = self.expression(path + ("value",), band["value"], None, "a band value")
                if compiled is None:
                    continue
                if not compiled.is_constant:
                    self.problem(path + ("value",), E.PRODUCT_BANDS, "a band value must be a constant (e.g. 10%)")
                    continue
                value_type = type_ if value_type is None else (t.unify(value_type, type_) or value_type)
                bands.append((low, high, compiled.constant))
            numbers = [value for _, _, value in bands if isinstance(value, (int, Decimal))]
            if len(numbers) == len(bands) == len(rows):
                for i in range(1, len(numbers)):
                    if numbers[i] < numbers[i - 1] and numbers != sorted(numbers, reverse=True):
                        self.problem(where + ("bands", i, "value"), E.PRODUCT_BANDS,
                                     f"not monotonic: {numbers[i]} after {numbers[i - 1]}, while the other "
                                     "bands increase", severity="warning")
            self.scope.tables[name] = t.Bands(value_type or t.ERROR)
            self.named[name] = BandSchedule(name, schedule.get("clause"), schedule["unit"], tuple(bands))

    # definitions --------------------------------------------------------------
    def declare_definitions(self) -> None:
        for name, value in (self.data.get("definitions") or {}).items():
            if value is None:
                continue
            if name in self.named or name in self.scope.tables:
                self.problem(("definitions", name), E.PRODUCT_RULE, f"'{name}' is already a table or band schedule",
                             key=True)
                continue
            self.scope.definitions[name] = (lambda n=name: self._definition_type(n))

    def check_definitions_in_order(self) -> None:
        """Type-check the definitions dependencies first, without recursion.

        A chain of definitions (d2: d1 + 1, d3: d2 + 1, ...) is checked link by link; one longer
        than MAX_DEFINITION_DEPTH is refused, since evaluating it would recurse that deep.
        Definitions in a cycle are left to the lazy check, which names the cycle.
        """
        names = list(self.scope.definitions)
        depends: dict[str, set[str]] = {}
        for name in names:
            value = self.data["definitions"][name]
            depends[name] = set()
            if isinstance(value, list):
                continue
            text = value if isinstance(value, str) else (self.source.raw(("definitions", name)) or _text(value))
            try:
                node = parse(text)
            except ExpressionError:
                continue                     # reported when the definition itself is checked
            depends[name] = {sub.parts[0] for sub in walk(node) if isinstance(sub, ast.Path)
                             and len(sub.parts) == 1 and sub.parts[0] in self.scope.definitions}
        waiting = {name: len(deps) for name, deps in depends.items()}
        users: dict[str, list[str]] = {name: [] for name in names}
        for name, deps in depends.items():
            for dep in deps:
                users[dep].append(name)
        ready = [name for name in names if waiting[name] == 0]
        depth = {name: 1 for name in ready}
        order = []
        while ready:
            name = ready.pop()
            order.append(name)
            for user in users[name]:
                depth[user] = max(depth.get(user, 1), depth[name] + 1)
                waiting[user] -= 1
                if waiting[user] == 0:
                    ready.append(user)
        for name in order:
            if depth[name] > MAX_DEFINITION_DEPTH:
                self.problem(("definitions", name), TOO_DEEP, f"'{name}' is the end of a chain of {depth[name]} "
                             f"definitions, each built on the one before; at most {MAX_DEFINITION_DEPTH} are allowed")
                self.definition_types[name] = t.ERROR
                continue
            self._definition_type(name)

    def _definition_type(self, name: str) -> t.Type:
        if name in self.definition_types:
            return self.definition_types[name]
        if name in self._checking:
            cycle = self._checking[self._checking.index(name):] + [name]
            raise _Cycle(" -> ".join(cycle))
        self._checking.append(name)
        try:
            value = self.data["definitions"][name]
            if isinstance(value, list):
                constant = frozenset(str(v) for v in value)
                self.literals.update(constant)
                type_: t.Type = t.ListOf(t.Text("code", constant))
                self.definition_functions[name] = lambda V, D, c=constant: c
            else:
                compiled, type_ = self.expression(("definitions", name), value, None, f"'{name}'")
                if compiled is not None:
                    self.definition_functions[name] = compiled.function
                    self.definition_reads[name] = compiled.reads
        finally:
            self._checking.pop()
        self.definition_types[name] = type_
        return type_

    def _private_definitions(self, fields) -> frozenset[str]:
        """Definitions computed from personal data (directly or through other definitions)."""
        private = {spec.path for spec in fields if spec.pii}
        changed = True
        while changed:
            changed = False
            for name, reads in self.definition_reads.items():
                if name not in private and private.intersection(reads):
                    private.add(name)
                    changed = True
        return frozenset(name for name in private if name in self.definition_reads)

    def check_definitions(self) -> None:
        for name in self.scope.definitions:
            try:
                self._definition_type(name)
            except _Cycle as cycle:
                self.problem(("definitions", name), E.PRODUCT_RULE, f"'{name}' depends on itself ({cycle})")

    # rules ----------------------------------------------------------------------
    def build_rules(self, section: str, kind: str, base: tuple = ()) -> list[Rule]:
        rules: list[Rule] = []
        for rule_id, spec in (self._get(base + (section,)) or {}).items():
            if spec is None:
                continue
            where = base + (section, rule_id)
            conditions = []
            reads: list[str] = []
            if "circumstance" in spec:
                code = spec["circumstance"]
                circumstances = self.scope.fields.get("claim.circumstances")
                if circumstances is None or not isinstance(circumstances.type, t.ListOf):
                    self.problem(where + ("circumstance",), E.REF_UNKNOWN_FIELD,
                                 "`circumstance` needs a `claim.circumstances` list field")
                elif code not in (circumstances.type.item.values or ()):
                    self.problem(where + ("circumstance",), E.PRODUCT_RULE,
                                 f"'{code}' is not a value of claim.circumstances"
                                 + suggest(code, circumstances.type.item.values or ()))
                else:
                    conditions.append(lambda V, D, c=code: c in V["claim.circumstances"])
                    reads.append("claim.circumstances")
            if "when" in spec:
                compiled, _ = self.expression(where + ("when",), spec["when"], t.BOOL, "`when`")
                if compiled is not None:
                    conditions.append(compiled.function)
                    reads.extend(compiled.reads)
                    if compiled.is_constant:
                        never = compiled.constant is False
                        self.problem(where + ("when",), E.PRODUCT_RULE_CONSTANT,
                                     f"rule '{rule_id}' can never apply: its condition is always false" if never
                                     else f"rule '{rule_id}' applies to every claim: its condition is always true",
                                     severity="warning")
            elif "circumstance" not in spec:
                self.problem(where, E.SCHEMA_MISSING_KEY, "a rule needs `when` (or, for an exclusion, "
                             "`circumstance`)", key=True)
                continue
            unless = None
            if "unless" in spec:
                compiled, _ = self.expression(where + ("unless",), spec["unless"], t.BOOL, "`unless`")
                unless = compiled.function if compiled is not None else None
                reads.extend(compiled.reads if compiled is not None else ())
            test = _combine(conditions, unless)
            when_text = " and ".join(filter(None, [
                f'"{spec["circumstance"]}" in claim.circumstances' if "circumstance" in spec else None,
                _text(spec["when"]) if "when" in spec else None]))
            if "unless" in spec:
                when_text += f" unless {_text(spec['unless'])}"
            rules.append(Rule(rule_id, kind, spec["clause"], spec["message"], test, when_text,
                              tuple(dict.fromkeys(reads))))
        return rules

    def _get(self, path: tuple):
        value: Any = self.data
        for part in path:
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    def build_declining(self, events) -> list[Rule]:
        rules = self.build_rules("eligibility", "eligibility")
        if events is not None and events.get("rule"):
            rule = events["rule"]
            not_covered = events["not_covered"]
            if "claim.event" not in self.scope.fields:
                self.problem(("events",), E.REF_UNKNOWN_FIELD, "an event catalogue needs a `claim.event` field "
                             "(type: event)", key=True)
            rules.append(Rule(rule["id"], "events", rule["clause"], rule["message"],
                              lambda V, D, n=not_covered: V["claim.event"] in n,
                              "claim.event in events.not_covered", ("claim.event",)))
        rules += self.build_rules("exclusions", "exclusions")
        rules += self.build_rules("conditions", "conditions")
        return rules

    def build_invariants(self) -> list[Invariant]:
        """Invariants read the claim, the definitions and the decision (`decision.payout`...)."""
        invariants = []
        self.scope.decision = dict(DECISION_VALUES)
        try:
            for invariant_id, spec in (self.data.get("invariants") or {}).items():
                if spec is None:
                    continue
                where = ("invariants", invariant_id)
                compiled, _ = self.expression(where + ("holds",), spec["holds"], t.BOOL, "`holds`")
                if compiled is None:
                    continue
                if compiled.is_constant:
                    self.problem(where + ("holds",), E.PRODUCT_RULE_CONSTANT,
                                 f"invariant '{invariant_id}' is always {'true' if compiled.constant else 'false'}",
                                 severity="warning")
                invariants.append(Invariant(invariant_id, spec["message"], spec.get("clause"), compiled.function,
                                            _text(spec["holds"])))
        finally:
            self.scope.decision = {}
        return invariants

    def check_rule_ids(self) -> None:
        """A rule id is the reason code in decisions: it must name one rule only."""
        seen: dict[str, tuple] = {}
        places = [(("events", "rule", "id"), (self._get(("events", "rule")) or {}).get("id"))]
        for section in ("eligibility", "exclusions", "conditions", "referrals", ("settlement", "adjustments")):
            path = section if isinstance(section, tuple) else (section,)
            for rule_id in (self._get(path) or {}):
                places.append((path + (rule_id,), rule_id))
        for path, rule_id in places:
            if rule_id is None:
                continue
            if rule_id in seen:
                first = seen[rule_id]
                line = self.source.span(first, key=first[-1] != "id").line
                self.problem(path, E.PRODUCT_DUPLICATE_RULE, f"rule id '{rule_id}' is already used "
                             f"(in {first[0]}, line {line}); reasons would be ambiguous",
                             key=path[-1] != "id")
            else:
                seen[rule_id] = path

    def build_documents(self) -> list[DocumentRule]:
        documents: list[DocumentRule] = []
        listed = self.scope.fields.get("claim.documents")
        codes = listed.type.item.values if listed and isinstance(listed.type, t.ListOf) else None
        for doc_id, spec in (self.data.get("documents") or {}).items():
            if spec is None:
                continue
            where = ("documents", doc_id)
            code = spec["document"]
            applies = None
            if "when" in spec:
                compiled, _ = self.expression(where + ("when",), spec["when"], t.BOOL, "`when`")
                applies = compiled.function if compiled is not None else None
            if "provided" in spec:
                compiled, _ = self.expression(where + ("provided",), spec["provided"], t.BOOL, "`provided`")
                if compiled is None:
                    continue
                provided = compiled.function
            else:
                if codes is None:
                    self.problem(where, E.REF_UNKNOWN_FIELD, "a document without `provided` needs a "
                                 "`claim.documents` list field", key=True)
                    continue
                if code not in codes:
                    self.problem(where + ("document",), E.PRODUCT_RULE, f"'{code}' is not a value of "
                                 "claim.documents" + suggest(code, codes))
                    continue
                provided = (lambda V, D, c=code: c in V["claim.documents"])
            message = spec.get("message") or f"Document needed: {code}."
            documents.append(DocumentRule(doc_id, code, spec["clause"], message, applies, provided))
        return documents

    def build_settlement(self) -> Settlement | None:
        spec = self.data.get("settlement")
        if spec is None:
            self.problem(("id",), E.SCHEMA_MISSING_KEY, "the product has no `settlement`")
            return None
        where = ("settlement",)
        kind_text = spec["kind"]
        if kind_text in SETTLEMENT_KINDS:       # a plain word: `kind: repair`
            kind_text = f'"{kind_text}"'
        kind, kind_type = self.expression(where + ("kind",), kind_text, t.Text("code"), "the settlement kind")
        if kind is not None and isinstance(kind_type, t.Text):
            unknown = (kind_type.values or frozenset(["?"])) - SETTLEMENT_KINDS
            if unknown:
                self.problem(where + ("kind",), E.PRODUCT_SETTLEMENT, "the settlement kind must be one of "
                             f"{', '.join(sorted(SETTLEMENT_KINDS))}, not {', '.join(sorted(unknown))}")
        payout, _ = self.expression(where + ("payout",), spec["payout"], t.Money(None), "the payout")
        excess, _ = self.expression(where + ("excess",), spec["excess"], t.Money(None), "the excess")
        depreciation, _ = self.expression(where + ("depreciation",), spec["depreciation"], t.NUMBER,
                                          "the depreciation rate")
        adjustments = self.build_rules("adjustments", "adjustments", base=where)
        if None in (kind, payout, excess, depreciation):
            return None
        return Settlement(kind.function, payout.function, excess.function, depreciation.function,
                          tuple(adjustments))


DECISION_VALUES = {
    "outcome": t.Text("code", frozenset({"approved", "declined", "pending", "referred"})),
    "payout": t.Money(None),
    "excess": t.Money(None),
    "depreciation": t.NUMBER,
}


MAX_DEFINITION_DEPTH = 200
_RANGE = Decimal(10) ** 15
_RANGE_TEXT = "10^15"


def _in_range(value) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool) and abs(value) < _RANGE


def _combine(conditions, unless):
    if len(conditions) == 1 and unless is None:
        return conditions[0]
    if unless is None:
        return lambda V, D: all(c(V, D) for c in conditions)
    return lambda V, D: all(c(V, D) for c in conditions) and not unless(V, D)


__all__ = ["Builder", "SETTLEMENT_KINDS"]
