"""Product data (schema-valid, `extends` already merged) to a compiled `Product`.

Loading a product is a named, ordered list of stages (`STAGES`), as OPA's compiler is:

    events → fields → tables → bands → parse → check → fold → build → compile

The first four declare what expressions may name (the event catalogue, the claim fields, the
tables and band schedules, whose values are constants). Then every expression of the product,
wherever it stands (definitions, rules, documents, referrals, settlement, invariants,
`required_when`), is a `Site`, and goes through the language's own stages: parsed once,
checked against the scope its use allows (definitions first, in the order of their
dependencies, so each is checked once and its type is known to those that use it), folded.
`build` assembles the immutable `Product` (its rules, documents, settlement, in order), and
`compile` writes the product's one module from it and the folded expressions
(`engine.codegen`: each definition a function, `decide` and `invariants` straight-line code).

Problems are collected (all of them) with the position of the offending text in its YAML
file, inside the expression when the problem is inside it.
"""
from __future__ import annotations

import linecache
import re

import re2
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from ..dsl import ast
from ..dsl import types as t
from ..dsl import typed as T
from ..dsl.ast import walk
from ..dsl.checker import FieldInfo, Scope, check, suggest
from ..dsl.compiler import compile_expression
from ..dsl.errors import CURRENCY, CYCLE, TOO_DEEP, ExpressionError
from ..dsl.fold import fold
from ..dsl.iso import COUNTRIES, MINOR_UNITS
from ..dsl.parser import parse
from ..dsl.values import Band, BandSchedule, LookupTable, Money

from . import errors as E
from . import lint
from .claim_validator import ClaimValidator
from .codegen import ProductCode
from .decision import OUTCOMES
from .errors import ClaimError, Problem
from .model import (Benefits, DocumentRule, FieldSpec, Group, Invariant, Product, Rule, Section, Settlement,
                    Step)

IMPLICIT_FIELDS = {"policy.id": {"type": "text", "optional": True},
                   "claim.id": {"type": "text", "optional": True}}
_FIELD_TYPES = {
    "text": t.Text("text"), "date": t.DATE, "datetime": t.DATETIME, "bool": t.BOOL, "integer": t.INTEGER,
    "decimal": t.NUMBER, "money": t.Money(None), "object": t.OBJECT,
}
STAGES = ("events", "fields", "tables", "bands", "parse", "check", "fold", "build", "compile")

# What each use of an expression may read (see `Builder.scopes`).
FIELDS_ONLY, RULES, INVARIANTS, CONSTANT = "fields", "rules", "invariants", "constant"


@dataclass
class Site:
    """One expression of the product, on its way through the stages."""
    path: tuple                     # where it stands in the product data
    text: str
    reads: str                      # FIELDS_ONLY, RULES, INVARIANTS or CONSTANT
    expect: t.Type | None
    what: str                       # how messages name it ("`when`", "the payout")
    locals: tuple = ()              # (name, its type, or the Site of the list it is an element of)
    tree: ast.Node | None = None
    typed: T.Expr | None = None
    failed: bool = False

    @property
    def type(self) -> t.Type:
        return self.typed.type if self.typed is not None and not self.failed else t.ERROR

    @property
    def uses(self) -> tuple[str, ...]:
        """The claim fields, then the definitions, it reads (for the trace)."""
        return T.fields_read(self.typed) + T.definitions_read(self.typed)

    @property
    def is_constant(self) -> bool:
        return isinstance(self.typed, T.Const)


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
        self.fields: dict[str, FieldInfo] = {}               # what expressions may read, by path
        self.event_groups: dict[str, frozenset[str]] = {}
        self.table_types: dict[str, t.Type] = {}
        self.named: dict[str, Any] = {}                      # tables and band schedules, by name
        self.definition_types: dict[str, t.Type] = {}
        self.sites: dict[tuple, Site] = {}
        self._cycles_reported: set[str] = set()
        self._rank = 0                                       # rules and documents, in the order built
        self.personal: frozenset[str] = frozenset()          # what is personal data (after check)
        self.currencies = frozenset(data.get("currencies") or ())
        self.literals: set[str] = set()
        # name -> (path of its value, the value: an expression or a list of text, shown in traces
        # although computed from personal data: `pii: false`)
        self.definitions: dict[str, tuple[tuple, Any, bool]] = {}
        for name, value in (data.get("definitions") or {}).items():
            if isinstance(value, dict):
                self.definitions[name] = (("definitions", name, "value"), value["value"], value.get("pii") is False)
            elif value is not None:
                self.definitions[name] = (("definitions", name), value, False)

    # -- problems -------------------------------------------------------------
    def problem(self, path: tuple, code: str, message: str, key: bool = False, severity: str = "error",
                offset: tuple[int, int] | None = None) -> None:
        self.problems.append(self.source.problem(path, code, message, key=key, severity=severity, offset=offset))

    def expression_problem(self, site: Site, error: ExpressionError) -> None:
        site.failed = True
        self.problem(site.path, error.code, error.message, offset=(error.line, error.column))

    # -- the stages -----------------------------------------------------------
    def build(self) -> Product | None:
        data = self.data
        currencies = self.currencies
        for i, code in enumerate(data.get("currencies") or ()):
            if code not in MINOR_UNITS:
                self.problem(("currencies", i), E.SCHEMA_VALUE, f"'{code}' is not an ISO 4217 currency code")
        events = self.build_events()                                  # events
        declared = self.build_fields(events)                          # fields
        self.build_tables(currencies)                                 # tables
        self.build_bands()                                            # bands
        self.collect_sites(declared)                                  # parse
        self.check_sites()                                            # check
        self.personal = self.personal_names(declared)
        for site in self.sites.values():                              # fold
            self.fold_site(site)
        declining = self.build_declining(events)                      # build
        benefits = self.build_benefits()
        documents = self.build_documents()
        referrals = self.build_rules("referrals", "referrals")
        settlement = self.build_settlement(benefits)
        invariants = self.build_invariants()
        self.check_rule_ids()
        fields = self.finish_fields(declared, events)
        version_date = self.check_version_date(declared)
        self.check_unguarded_reads(declared)
        self.check_rates(declared)
        self.check_bounds(declared)
        self.check_band_order()
        self.check_table_currencies()
        if not currencies:
            self.problem(("id",), E.SCHEMA_MISSING_KEY, "the product declares no `currencies`")
        if any(p.severity == "error" for p in self.problems):
            return None
        self.register_source()
        validator = ClaimValidator(fields, currencies)
        effective_until = data.get("effective_until")
        product = Product(
            id=data["id"], name=data["name"], version=str(data["version"]),
            effective_from=date.fromisoformat(data["effective_from"]),
            effective_until=date.fromisoformat(effective_until) if effective_until else None,
            file=self.source.file_of(()), currencies=currencies, fields=fields,
            declining=tuple(declining),
            documents=tuple(documents), referrals=tuple(referrals), settlement=settlement,
            validator=validator, extends=data.get("extends"), digest=self.digest,
            pii=frozenset(spec.path for spec in fields if spec.pii),
            private_definitions=frozenset(name for name in self.personal if name in self.definitions),
            tables=dict(self.named), invariants=tuple(invariants), literals=frozenset(self.literals),
            zeros={code: Money(Decimal(0), code).rounded() for code in currencies if code in MINOR_UNITS},
            version_date=version_date, benefits=benefits, settlement_kinds=self.settlement_kinds())
        return self.compile(product)                                  # compile

    def compile(self, product: Product) -> Product:
        """The product's one generated module (engine.codegen), compiled once."""
        code = ProductCode(product, self)
        code.generate()
        return replace(product, code=code.compile())

    # -- the checks that catch the mistakes that cost money (engine.lint) ---------------
    def check_unguarded_reads(self, declared: dict[str, dict]) -> None:
        """A field that may be absent, read where nothing guarantees it is there (flow typing)."""
        lint.unguarded_reads(self, declared)

    def check_rates(self, declared: dict[str, dict]) -> None:
        """Depreciation rates, shares, co-payments and rates in bands and tables between 0 and 1."""
        lint.rates(self, declared)

    def check_bounds(self, declared: dict[str, dict]) -> None:
        """`min` above `max`, and bounds no value can meet."""
        lint.bounds(self, declared)

    def check_band_order(self) -> None:
        """A band schedule that is not monotonic, at the band that breaks the order."""
        lint.band_order(self)

    def check_table_currencies(self) -> None:
        """A row whose currency is not its country's, unless the table declares it by design."""
        lint.table_currencies(self)

    def settlement_kinds(self) -> frozenset[str]:
        site = self.sites.get(("settlement", "kind"))
        return site.type.values if site is not None and isinstance(site.type, t.Text) and site.type.values else \
            frozenset()

    def check_version_date(self, declared: dict[str, dict]) -> str | None:
        """The date field that chooses the version: declared by the product, as a date every claim gives.

        None when the product names none and does not declare policy.purchased: it then has one
        version for every claim (a product with several versions must have a version date: the
        loader checks that on the chain)."""
        path = self.data.get("version_date")
        named = path is not None
        path = path or "policy.purchased"
        spec = declared.get(path)
        if spec is not None and spec.get("type") == "date":
            if "default" in spec or _may_be_absent(spec):
                self.problem(("version_date",) if named else ("fields", path), E.REF_UNKNOWN_FIELD,
                             f"{path} chooses the product's version, so every claim must give it: it may not be "
                             "optional or have a default", key=not named)
            return path
        if named:
            dates = [p for p, s in declared.items() if s.get("type") == "date"]
            what = "a date field of this product" if spec is None else f"a date field (it is a {spec['type']} field)"
            self.problem(("version_date",), E.REF_UNKNOWN_FIELD, f"version_date names '{path}', which is not "
                         f"{what}" + suggest(path, dates))
        return None

    # -- expressions: sites, scopes and the language's stages ---------------------
    def scope(self, reads: str, what: str = "required_when", locals: dict | None = None) -> Scope:
        """What an expression may read, by its use: explicit, so a name a use may not read is a
        load error at its position (a `required_when` naming a definition, say)."""
        definitions = {name: type_ for name, type_ in self.definition_types.items()}
        everything = {**{name: "a definition" for name in self._definition_names()},
                      **{name: "a table" for name in self.table_types}}
        if reads == FIELDS_ONLY:
            return Scope(fields=self.fields, reads=f"a {what} condition reads claim fields only",
                         elsewhere={**everything, "events": "the event catalogue", "decision": "the decision"})
        if reads == CONSTANT:
            return Scope(reads="this value is a constant (e.g. 375.00 DKK or 10%)",
                         elsewhere={**everything, **{path: "a claim field" for path in self.fields},
                                    "events": "the event catalogue", "decision": "the decision"})
        scope = Scope(fields=self.fields, definitions=definitions, tables=self.table_types,
                      event_groups=self.event_groups, locals=locals or {})
        if reads == INVARIANTS:
            return replace(scope, decision=DECISION_VALUES)
        return replace(scope, elsewhere={"decision": "the decision: only invariants read it"})

    def site(self, path: tuple, value: Any, reads: str, expect: t.Type | None, what: str,
             locals: tuple = ()) -> Site:
        """Declare the expression at `path` (stage parse: it is parsed here, once)."""
        text = value if isinstance(value, str) else (self.source.raw(path) or _text(value))
        site = Site(path, text, reads, expect, what, locals)
        self.sites[path] = site
        try:
            site.tree = parse(text)
        except ExpressionError as error:
            self.expression_problem(site, error)
            return site
        for sub in walk(site.tree):
            if isinstance(sub, ast.String):
                self.literals.add(sub.value)
            elif isinstance(sub, ast.MoneyLit) and self.currencies and sub.currency in MINOR_UNITS \
                    and sub.currency not in self.currencies:
                self.expression_problem(site, ExpressionError(
                    CURRENCY, f"{sub.currency} is not among the product's currencies "
                    f"({', '.join(sorted(self.currencies))})", sub.line, sub.column))
        return site

    def check_site(self, site: Site) -> None:
        if site.tree is None:
            return
        names = {}
        for name, source in site.locals:
            if isinstance(source, Site):              # an element of the list that site computes
                source = source.type.item if isinstance(source.type, t.ListOf) else t.ERROR
            names[name] = source
        try:
            typed, problems = check(site.tree, self.scope(site.reads, site.what, names), site.expect, site.what)
        except RecursionError:
            self.expression_problem(site, ExpressionError(TOO_DEEP, "expression nested too deeply"))
            return
        for error in problems:
            self.expression_problem(site, error)
        if typed is None:
            site.failed = True          # its problems are reported here, or where what it reads went wrong
        elif not site.failed:
            site.typed = typed

    def fold_site(self, site: Site) -> None:
        if site.typed is None or site.failed:
            return
        try:
            site.typed = fold(site.typed)
        except ExpressionError as error:
            self.expression_problem(site, error)
        except RecursionError:
            self.expression_problem(site, ExpressionError(TOO_DEEP, "expression nested too deeply"))

    def usable(self, path: tuple) -> Site | None:
        """The site at `path`, checked and folded, or None (absent, or its problems reported)."""
        site = self.sites.get(path)
        return site if site is not None and site.typed is not None and not site.failed else None

    def condition(self, path: tuple):
        """A field's `required_when` or `present_when`, compiled on its own for the claim validator
        (`dsl.compiler`, the emitter products use), or None after reporting why it cannot be."""
        site = self.usable(path)
        if site is None:
            return None
        file = self.source.file_of(site.path)
        span = self.source.span(site.path)

        def locate(line: int, column: int) -> tuple[str, int, int]:
            return self.source.position(site.path, (line, column))
        try:
            return compile_expression(site.typed, self.named, file, span.line, locate, (), self.personal)
        except ExpressionError as error:
            self.expression_problem(site, error)
            return None

    def constant(self, path: tuple, value: Any, what: str) -> tuple[Any, t.Type] | None:
        """A constant (a table row, a band's value): parsed, checked and folded now, in its stage."""
        site = self.site(path, value, CONSTANT, None, what)
        self.check_site(site)
        self.fold_site(site)
        del self.sites[path]
        if site.failed or site.typed is None:
            return None
        assert isinstance(site.typed, T.Const)       # a constant scope names nothing: it folds whole
        return site.typed.value, site.typed.type

    def register_source(self) -> None:
        """The product's text in `linecache`, so a traceback through its compiled code shows its lines."""
        for document in self.source.all_documents():
            linecache.cache[document.file] = (len(document.text), None, document.text.splitlines(True),
                                              document.file)

    # -- parse: every expression of the product becomes a site ----------------------
    def collect_sites(self, declared: dict[str, dict]) -> None:
        for path, spec in declared.items():
            for option in ("required_when", "present_when"):
                if option in spec:
                    self.site(("fields", path, option), spec[option], FIELDS_ONLY, t.BOOL, option)
        for name, (path, value, _) in self.definitions.items():
            if isinstance(value, list) or name in self.named:
                continue
            self.site(path, value, RULES, None, f"'{name}'")
        for section, base in RULE_SECTIONS:
            for rule_id, spec in (self._get(base + (section,)) or {}).items():
                if spec is None:
                    continue
                where = base + (section, rule_id)
                for key in ("when", "unless"):
                    if key in spec:
                        self.site(where + (key,), spec[key], RULES, t.BOOL, f"`{key}`")
        for doc_id, spec in (self.data.get("documents") or {}).items():
            if spec is None:
                continue
            for key in ("when", "provided"):
                if key in spec:
                    self.site(("documents", doc_id, key), spec[key], RULES, t.BOOL, f"`{key}`")
        benefits = self.data.get("benefits")
        if benefits is not None:
            for rule_id, spec in (benefits.get("refusals") or {}).items():
                for section, condition in ((spec or {}).get("sections") or {}).items():
                    self.site(("benefits", "refusals", rule_id, "sections", section), condition, RULES, t.BOOL,
                              f"the condition for {section}")
            for section_id, section in (benefits.get("sections") or {}).items():
                if section is None:
                    continue
                base = ("benefits", "sections", section_id)
                for part in ("refusals", "referrals"):
                    for rule_id, spec in (section.get(part) or {}).items():
                        for key in ("when", "unless"):
                            if spec is not None and key in spec:
                                self.site(base + (part, rule_id, key), spec[key], RULES, t.BOOL, f"`{key}`")
                for doc_id, spec in (section.get("documents") or {}).items():
                    for key in ("when", "provided"):
                        if spec is not None and key in spec:
                            self.site(base + ("documents", doc_id, key), spec[key], RULES, t.BOOL, f"`{key}`")
                self.collect_settlement(section.get("settlement") or {}, base + ("settlement",), section=True)
        settlement = self.data.get("settlement")
        if settlement is not None:
            kind = settlement["kind"]
            if isinstance(kind, str) and re.fullmatch(r"[a-z][a-z0-9_]*", kind) \
                    and kind not in self.definitions:
                kind = f'"{kind}"'                  # a plain word: `kind: repair`
            self.site(("settlement", "kind"), kind, RULES, t.Text("code"), "the settlement kind")
            self.collect_settlement(settlement, ("settlement",))
        for invariant_id, spec in (self.data.get("invariants") or {}).items():
            if spec is not None:
                self.site(("invariants", invariant_id, "holds"), spec["holds"], INVARIANTS, t.BOOL, "`holds`")

    def collect_settlement(self, spec: dict, where: tuple, section: bool = False) -> None:
        """A settlement's expressions: a formula (payout, excess, depreciation) or steps."""
        for name, what, expect in (("payout", "the payout", t.Money(None)), ("excess", "the excess", t.Money(None)),
                                   ("depreciation", "the depreciation rate", t.NUMBER)):
            if name in spec:
                self.site(where + (name,), spec[name], RULES, expect, what)
        if "steps" in spec:
            self.collect_steps(spec["steps"], where + ("steps",), ())

    def collect_steps(self, steps: list, where: tuple, outer: tuple) -> None:
        """Each step's expressions read `amount` (the amount so far) and, inside an `each`, the element."""
        amount = (("amount", t.Money(None)),)
        for index, step in enumerate(steps):
            path = where + (index,)
            kinds = [kind for kind in STEP_KINDS if kind in step]
            if len(kinds) != 1:
                self.problem(path, E.PRODUCT_SETTLEMENT, "a step is exactly one of `amount`, `limit`, `excess`, "
                             "`adjust` or `each`" + (f", not {' and '.join(f'`{k}`' for k in kinds)} together"
                                                     if kinds else ""))
                continue
            kind = kinds[0]
            if kind == "each":
                site = self.site(path + ("each",), step["each"], RULES, None, "`each`", outer)
                element = _each_binding(site)
                if element is None:
                    if not site.failed:
                        self.expression_problem(site, ExpressionError(
                            E.PRODUCT_SETTLEMENT, "`each` is `name in list`, e.g. `article in claim.baggage.items`"))
                    continue
                inner = outer + ((element, site),)
                self.collect_steps(step.get("steps") or [], path + ("steps",), inner)
                for number, group in enumerate(step.get("groups") or []):
                    self.site(path + ("groups", number, "of"), group["of"], RULES, t.BOOL, "`of`", inner)
                    self.site(path + ("groups", number, "limit"), group["limit"], RULES, t.Money(None),
                              "the group's limit", outer + amount)
            else:
                self.site(path + (kind,), step[kind], RULES, t.Money(None), f"the step's `{kind}`", outer + amount)
            if "when" in step:
                self.site(path + ("when",), step["when"], RULES, t.BOOL, "`when`", outer + amount)

    # -- check: definitions first, in the order of their dependencies ---------------
    def _definition_names(self) -> list[str]:
        return [name for name in self.definitions if name not in self.named]

    def definition_site(self, name: str) -> Site | None:
        return self.sites.get(self.definitions[name][0])

    def check_sites(self) -> None:
        """Type-check every site; definitions first, each after the definitions it reads.

        The order is computed from the parse trees, without recursion: a chain of definitions
        (d2: d1 + 1, d3: d2 + 1, ...) is checked link by link, and one longer than
        MAX_DEFINITION_DEPTH is refused, since evaluating it would recurse that deep. A cycle is
        reported once, where it closes; what depends on a definition that failed fails silently.
        """
        names = self._definition_names()
        for name in names:
            value = self.definitions[name][1]
            if isinstance(value, list):
                constant = frozenset(str(v) for v in value)
                self.literals.update(constant)
                self.definition_types[name] = t.ListOf(t.Text("code", constant))
        known = set(names)
        depends: dict[str, list[str]] = {}
        for name in names:
            site = self.definition_site(name)
            tree = site.tree if site is not None else None
            depends[name] = [] if tree is None else list(dict.fromkeys(
                sub.parts[0] for sub in walk(tree)
                if isinstance(sub, ast.Path) and len(sub.parts) == 1 and sub.parts[0] in known))
        order, depth, cyclic = _topological(names, depends)
        for name in cyclic:
            self.definition_types.setdefault(name, t.ERROR)
        self._report_cycles(cyclic, depends)
        for name in order:
            if name in self.definition_types:              # a list of codes
                continue
            site = self.definition_site(name)
            if depth[name] > MAX_DEFINITION_DEPTH:
                self.problem(site.path, TOO_DEEP, f"'{name}' is the end of a chain of {depth[name]} "
                             f"definitions, each built on the one before; at most {MAX_DEFINITION_DEPTH} are allowed")
                site.failed = True
                self.definition_types[name] = t.ERROR
                continue
            self.check_site(site)
            self.definition_types[name] = site.type
        for site in self.sites.values():
            if site.path[0] != "definitions":
                self.check_site(site)

    def _report_cycles(self, cyclic: list[str], depends: dict[str, list[str]]) -> None:
        """Each cycle once, at the reference that closes it: 'a' depends on itself (a -> b -> a).

        Every definition left out of the order reads one that is left out too, so following
        those reads from any of them runs into a cycle."""
        left = set(cyclic)
        handled: set[str] = set()
        for start in cyclic:
            if start in handled:
                continue
            path = [start]
            while True:
                following = next(dep for dep in depends[path[-1]] if dep in left)
                if following in path:
                    cycle = path[path.index(following):] + [following]
                    break
                path.append(following)
            handled.update(path)
            if cycle[0] in self._cycles_reported:
                continue
            self._cycles_reported.update(cycle)
            site = self.definition_site(cycle[-2])
            node = next(sub for sub in walk(site.tree) if isinstance(sub, ast.Path) and sub.parts == (cycle[-1],))
            self.expression_problem(site, ExpressionError(
                CYCLE, f"'{cycle[0]}' depends on itself ({' -> '.join(cycle)})", node.line, node.column))

    def definition_reads(self) -> dict[str, tuple[str, ...]]:
        reads = {}
        for name in self._definition_names():
            site = self.definition_site(name)
            if site is not None and site.typed is not None and not site.failed:
                reads[name] = site.uses
        return reads

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
        self.event_groups = {"covered": frozenset(lists["covered"]),
                             "not_covered": frozenset(lists["not_covered"]), **all_groups}
        return {"leaves": frozenset(leaves), "groups": frozenset(groups),
                "not_covered": frozenset(lists["not_covered"]), "rule": events.get("rule")}

    # fields -------------------------------------------------------------------
    def build_fields(self, events) -> dict[str, dict]:
        """Declare the claim fields: what expressions may read, with their types."""
        declared = dict(IMPLICIT_FIELDS)
        declared.update({path: spec for path, spec in (self.data.get("fields") or {}).items() if spec is not None})
        objects = {path for path, spec in declared.items() if spec.get("type") == "object"}
        conditional_objects = {path for path in objects if _may_be_absent(declared[path])}
        for path, spec in declared.items():
            kind = spec["type"]
            where = ("fields", path)
            under_optional = any(path.startswith(obj + ".") for obj in conditional_objects)
            for other in declared:
                if other != path and other.startswith(path + ".") and kind != "object":
                    hint = ("declare its elements' fields under `items:`" if kind == "list"
                            else f"declare '{path}' as `type: object`")
                    self.problem(where, E.PRODUCT_FIELD, f"'{path}' is a {kind} field, but '{other}' is declared "
                                 f"below it; {hint}", key=True)
                    break
            self.check_field_options(where, spec, events)
            if kind == "object":
                if "default" in spec:
                    self.problem(where, E.PRODUCT_FIELD, "an object field takes `optional`, `required_when` or "
                                 "`present_when`, not a default", key=True)
                continue
            may_be_absent = (_may_be_absent(spec) or under_optional) and "default" not in spec
            self.fields[path] = FieldInfo(self.field_type(path, spec, events), may_be_absent)
        for obj in objects:
            self.fields[obj] = FieldInfo(t.OBJECT, _may_be_absent(declared[obj]))
        return declared

    def check_field_options(self, where: tuple, spec: dict, events, item: bool = False) -> None:
        """The options a field's type takes, and only those."""
        kind = spec["type"]
        records = kind == "list" and "items" in spec
        if kind == "code" and not spec.get("values"):
            self.problem(where, E.SCHEMA_MISSING_KEY, "a code field needs `values`", key=True)
        if kind == "list" and not spec.get("values") and not records:
            self.problem(where, E.SCHEMA_MISSING_KEY, "a list field needs `values` (a list of codes) or `items` "
                         "(a list of records: the fields of each element)", key=True)
        if records and "values" in spec:
            self.problem(where + ("values",), E.PRODUCT_FIELD, "a list has `values` (codes) or `items` (records), "
                         "not both", key=True)
        if kind == "event" and (events is None or item):
            self.problem(where, E.PRODUCT_FIELD, "an event field needs an `events` catalogue"
                         + (" (and is a claim field, not an item field)" if item else ""), key=True)
        if "pattern" in spec and kind != "text":
            self.problem(where + ("pattern",), E.PRODUCT_FIELD, "`pattern` applies to text fields only", key=True)
        for bound in ("min", "max"):
            if bound in spec and kind not in ("integer", "decimal"):
                self.problem(where + (bound,), E.PRODUCT_FIELD,
                             f"`{bound}` applies to integer and decimal fields only", key=True)
            elif bound in spec and not _in_range(spec[bound]):
                self.problem(where + (bound,), E.PRODUCT_FIELD,
                             f"`{bound}` is out of range (at most {_RANGE_TEXT} either way)")
        for option in ("min_items", "max_items", "unique"):
            if option in spec and kind != "list":
                self.problem(where + (option,), E.PRODUCT_FIELD, f"`{option}` applies to list fields only", key=True)
        if "unique" in spec and records:
            self.problem(where + ("unique",), E.PRODUCT_FIELD, "`unique` applies to a list of codes", key=True)
        if "items" in spec and kind != "list":
            self.problem(where + ("items",), E.PRODUCT_FIELD, "`items` (the fields of each element) applies to a "
                         "list field: write `type: list`", key=True)
        if "values" in spec and kind not in ("code", "list"):
            self.problem(where + ("values",), E.PRODUCT_FIELD, "`values` applies to code and list fields only",
                         key=True)
        for order in ("not_before", "not_after"):
            if order in spec and kind not in ("date", "datetime"):
                self.problem(where + (order,), E.PRODUCT_FIELD, f"`{order}` applies to date and date-time fields "
                             "only", key=True)
        if item:
            for option in ("required_when", "present_when"):
                if option in spec:
                    self.problem(where + (option,), E.PRODUCT_FIELD, f"`{option}` applies to claim fields, not to "
                                 "the item fields of a list", key=True)
        if records:
            for name, sub in (spec.get("items") or {}).items():
                if sub is not None:
                    self.check_field_options(where + ("items", name), sub, events, item=True)

    def field_type(self, path: str, spec: dict, events) -> t.Type:
        kind = spec["type"]
        if kind == "event" and events is not None:
            return t.Text("event", events["leaves"], events["groups"])
        if kind == "country":
            return t.Text("country", COUNTRIES)
        if kind == "code":
            return t.Text("code", frozenset(spec.get("values") or ()))
        if kind == "list" and "items" in spec:
            items = tuple((name, self.field_type(f"{path}.{name}", sub, events), _may_be_absent(sub)
                           and "default" not in sub)
                          for name, sub in (spec.get("items") or {}).items() if sub is not None)
            return t.ListOf(t.Record(path, items))
        if kind == "list":
            return t.ListOf(t.Text("code", frozenset(spec.get("values") or ())))
        return _FIELD_TYPES.get(kind, t.ERROR)

    def finish_fields(self, declared: dict[str, dict], events: dict | None) -> tuple[FieldSpec, ...]:
        """The fields' specifications for the claim validator (conditions compiled, defaults converted)."""
        specs: list[FieldSpec] = []
        dates = [p for p, s in declared.items() if s.get("type") in ("date", "datetime")]
        for path, spec in declared.items():
            specs.append(self.field_spec(path, spec, ("fields", path), events, declared, dates))
        return tuple(specs)

    def field_spec(self, path: str, spec: dict, where: tuple, events, declared: dict, dates: list[str],
                   siblings: dict | None = None) -> FieldSpec:
        kind = spec["type"]
        leaves = events["leaves"] if events else None
        groups = events["groups"] if events else frozenset()
        pattern = None
        if "pattern" in spec:
            pattern, error = compile_pattern(spec["pattern"])
            if error is not None:
                self.problem(where + ("pattern",), E.PRODUCT_FIELD, f"invalid regular expression: {error} (patterns "
                             "are matched by RE2, in time linear in the text: no backreferences or lookarounds)")
        conditions = {}
        for option in ("required_when", "present_when"):
            if option in spec:
                function = self.condition(where + (option,))
                if function is not None:
                    conditions[option] = (function, _text(spec[option]))
        for order in ("not_before", "not_after"):
            other_path = spec.get(order)
            if other_path is None or kind not in ("date", "datetime"):
                continue
            if siblings is not None and "." not in other_path:
                other = siblings.get(other_path)
                candidates = [name for name, sub in siblings.items() if sub and sub.get("type") == kind]
            else:
                other = declared.get(other_path)
                candidates = [p for p in dates if declared[p].get("type") == kind]
            if other is None or other.get("type") != kind:
                what = "date" if kind == "date" else "date-time"
                scope = "an item field of the same element or a claim field" if siblings is not None else \
                    "a field of this product"
                self.problem(where + (order,), E.REF_UNKNOWN_FIELD,
                             f"{order} names '{other_path}', which is not a {what} {scope}"
                             + suggest(other_path, candidates))
        values = spec.get("values")
        if kind == "event":
            values, kind_groups = leaves or frozenset(), groups
        else:
            kind_groups = frozenset()
        items: tuple[FieldSpec, ...] = ()
        records = kind == "list" and "items" in spec
        if records:
            members = {name: sub for name, sub in (spec.get("items") or {}).items() if sub is not None}
            items = tuple(self.field_spec(name, sub, where + ("items", name), events, declared, dates, members)
                          for name, sub in members.items())
        field_spec = FieldSpec(
            path=path, type="records" if records else kind,
            required=not (spec.get("optional") or "default" in spec),
            values=frozenset(values) if values is not None else None, groups=kind_groups,
            # a bound out of range is reported (check_field_options) and left out here
            minimum=spec["min"] if _in_range(spec.get("min")) else None,
            maximum=spec["max"] if _in_range(spec.get("max")) else None, pattern=pattern,
            required_when=conditions.get("required_when", (None, None))[0],
            required_when_text=conditions.get("required_when", (None, None))[1],
            present_when=conditions.get("present_when", (None, None))[0],
            present_when_text=conditions.get("present_when", (None, None))[1],
            not_before=spec.get("not_before"), not_after=spec.get("not_after"),
            pii=bool(spec.get("pii")), description=spec.get("description"), items=items,
            min_items=spec.get("min_items"), max_items=spec.get("max_items"), unique=bool(spec.get("unique")))
        if "default" in spec and kind != "object":
            raw = spec["default"]
            try:
                default = ClaimValidator((), frozenset(MINOR_UNITS)).convert_default(field_spec, raw)
            except ClaimError as error:
                self.problem(where + ("default",), E.PRODUCT_FIELD, f"default: {error.message}")
                default = None
            field_spec = replace(field_spec, default=default, has_default=True)
        return field_spec

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
                found = self.constant(path, value, "a table value")
                if found is None:
                    continue
                constant, type_ = found
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
                    default = constant
                else:
                    rows[key] = constant
            key_type = t.Text("country", COUNTRIES) if key_kind == "country" else t.Text("code")
            self.table_types[name] = t.Table(key_type, value_type or t.ERROR)
            self.named[name] = LookupTable(name, table.get("clause"), rows, default, "default" in table)

    def build_bands(self) -> None:
        for name, schedule in (self.data.get("bands") or {}).items():
            if schedule is None:
                continue
            if name in self.named:
                self.problem(("bands", name), E.PRODUCT_BANDS, f"'{name}' is already a table", key=True)
                continue
            where = ("bands", name)
            unit = schedule["unit"]
            bands, key_type, value_type = [], None, None
            previous = None                       # (the previous band's end, whether it is included)
            rows = schedule["bands"]
            for i, band in enumerate(rows):
                path = where + ("bands", i)
                bounds = self.band_bounds(path, band)
                if bounds is None:
                    continue
                (low, low_type), high_bound, inclusive = bounds
                high, high_type = high_bound if high_bound is not None else (None, None)
                joined = self.band_key(path, key_type, low_type, high_type)
                if joined is None:
                    continue
                key_type = joined
                if high is not None and (high < low or (high == low and not inclusive)):
                    self.problem(path + ("to" if inclusive else "below",), E.PRODUCT_BANDS,
                                 f"band ends ({_bound(high)}) before it starts ({_bound(low)})")
                if high is None and i != len(rows) - 1:
                    self.problem(path, E.PRODUCT_BANDS, "only the last band may leave out `to`")
                if previous is not None:
                    self.band_seam(path, unit, previous, low, key_type)
                previous = (high, inclusive) if high is not None else None
                found = self.constant(path + ("value",), band["value"], "a band value")
                if found is None:
                    continue
                constant, type_ = found
                value_type = type_ if value_type is None else (t.unify(value_type, type_) or value_type)
                bands.append(_band(low, high, inclusive, constant, key_type))
            self.table_types[name] = t.Bands(value_type or t.ERROR, key_type or t.NUMBER)
            self.named[name] = BandSchedule(name, schedule.get("clause"), unit, tuple(bands))

    def band_bounds(self, path: tuple, band: dict):
        """((low, type), (high, type) or None, high included?), or None after reporting a problem."""
        if "to" in band and "below" in band:
            self.problem(path + ("below",), E.PRODUCT_BANDS, "a band ends with `to` (included) or `below` "
                         "(excluded), not both", key=True)
            return None
        found = []
        for key in ("from", "to", "below"):
            if key not in band:
                found.append(None)
                continue
            raw = band[key]
            if isinstance(raw, (int, Decimal)) and not isinstance(raw, bool):
                if not _in_range(raw):
                    self.problem(path + (key,), E.PRODUCT_BANDS,
                                 f"`{key}` is out of range (at most {_RANGE_TEXT} either way)")
                    return None
                found.append((raw, t.INTEGER if isinstance(raw, int) else t.NUMBER))
                continue
            constant = self.constant(path + (key,), raw, f"a band's `{key}`")
            if constant is None:
                return None
            value, type_ = constant
            if not (t.is_numeric(type_) or isinstance(type_, t.Money)):
                self.problem(path + (key,), E.PRODUCT_BANDS, f"a band's `{key}` is a number or an amount, not "
                             f"{type_}")
                return None
            if isinstance(value, Money) and not _in_range(value.amount):
                self.problem(path + (key,), E.PRODUCT_BANDS,
                             f"`{key}` is out of range (at most {_RANGE_TEXT} either way)")
                return None
            found.append((value, type_))
        low, to, below = found
        return low, to if to is not None else below, below is None

    def band_key(self, path: tuple, key_type, *types) -> t.Type | None:
        """The kind of value a schedule's bands are of: whole numbers, decimals or amounts of one currency."""
        for type_ in types:
            if type_ is None:
                continue
            if key_type is None:
                key_type = type_
                continue
            if isinstance(key_type, t.Money) != isinstance(type_, t.Money) or \
                    (isinstance(type_, t.Money) and type_.currency != key_type.currency):
                self.problem(path, E.PRODUCT_BANDS, f"the bands of one schedule are of one kind: {key_type} and "
                             f"{type_}")
                return None
            key_type = t.unify(key_type, type_) or key_type
        return key_type

    def band_seam(self, path: tuple, unit: str, previous: tuple, low, key_type: t.Type) -> None:
        """Where one band ends and the next starts: no gap, no overlap, at the resolution of the key
        (a whole number; a minor unit of the currency; a decimal has none, so it takes `below`)."""
        end, included = previous
        if included:
            step = 1 if key_type == t.INTEGER else _minor_unit(end) if isinstance(end, Money) else None
            if step is None:                                      # decimals: `to` cannot meet `from`
                if low == end:
                    self.problem(path + ("from",), E.PRODUCT_BANDS, f"bands overlap: {unit} {_bound(low)} is in "
                                 "two bands")
                elif low > end:
                    self.problem(path + ("from",), E.PRODUCT_BANDS, f"gap between bands: no band covers {unit} "
                                 f"between {_bound(end)} and {_bound(low)}; end the band before with "
                                 f"`below: {_bound(low)}`")
                else:
                    self.problem(path + ("from",), E.PRODUCT_BANDS, f"bands overlap: {unit} {_bound(low)} to "
                                 f"{_bound(end)} are in two bands")
                return
            after = end + step
        else:
            after, step = end, None
        if low > after:
            if key_type == t.INTEGER:
                gap = f"{after}" if low == after + 1 else f"{after} to {low - 1}"
                self.problem(path + ("from",), E.PRODUCT_BANDS,
                             f"gap between bands: {unit} {gap} fall{'s' if low == after + 1 else ''} in no band")
            else:
                self.problem(path + ("from",), E.PRODUCT_BANDS, f"gap between bands: no band covers {unit} from "
                             f"{_bound(after)} to under {_bound(low)}")
        elif low < after:
            shown_end = end if included else None
            if key_type == t.INTEGER and shown_end is not None:
                self.problem(path + ("from",), E.PRODUCT_BANDS, f"bands overlap: {unit} {low} to {shown_end} "
                             "are in two bands")
            else:
                self.problem(path + ("from",), E.PRODUCT_BANDS, f"bands overlap: {unit} from {_bound(low)} to "
                             f"{'under ' if not included else ''}{_bound(after if not included else end)} are in "
                             "two bands")

    def personal_names(self, declared: dict[str, dict]) -> frozenset[str]:
        """What is personal data: the fields declared `pii: true` (item fields as
        `claim.people[].born`), and the definitions computed from them, directly or through other
        definitions, masked wherever a value is shown. A definition declared `pii: false` is
        shown, and what it feeds is not masked for it."""
        names = set()

        def declare(path: str, spec: dict) -> None:
            if spec.get("pii"):
                names.add(path)
            for name, sub in (spec.get("items") or {}).items():
                if sub is not None:
                    declare(f"{path}[].{name}", sub)
        for path, spec in declared.items():
            declare(path, spec)
        public = {name for name, (_, _, shown) in self.definitions.items() if shown}
        computed = {name: self.definition_site(name).typed for name in self._definition_names()
                    if self.definition_site(name) is not None and self.definition_site(name).typed is not None}
        changed = True
        while changed:
            changed = False
            for name, typed in computed.items():
                if name not in names and name not in public and T.reads_any(typed, names):
                    names.add(name)
                    changed = True
        return frozenset(names)

    # rules ----------------------------------------------------------------------
    def build_rules(self, section: str, kind: str, base: tuple = ()) -> list[Rule]:
        rules: list[Rule] = []
        for rule_id, spec in (self._get(base + (section,)) or {}).items():
            if spec is None:
                continue
            where = base + (section, rule_id)
            reads: list[str] = []
            if "circumstance" in spec:
                code = spec["circumstance"]
                circumstances = self.fields.get("claim.circumstances")
                if circumstances is None or not isinstance(circumstances.type, t.ListOf):
                    self.problem(where + ("circumstance",), E.REF_UNKNOWN_FIELD,
                                 "`circumstance` needs a `claim.circumstances` list field")
                elif code not in (circumstances.type.item.values or ()):
                    self.problem(where + ("circumstance",), E.PRODUCT_RULE,
                                 f"'{code}' is not a value of claim.circumstances"
                                 + suggest(code, circumstances.type.item.values or ()))
                else:
                    reads.append("claim.circumstances")
            if "when" in spec:
                site = self.usable(where + ("when",))
                if site is not None:
                    reads.extend(site.uses)
                    if site.is_constant:
                        never = site.typed.value is False
                        self.problem(where + ("when",), E.PRODUCT_RULE_CONSTANT,
                                     f"rule '{rule_id}' can never apply: its condition is always false" if never
                                     else f"rule '{rule_id}' applies to every claim: its condition is always true",
                                     severity="warning")
            elif "circumstance" not in spec:
                self.problem(where, E.SCHEMA_MISSING_KEY, "a rule needs `when` (or, for an exclusion, "
                             "`circumstance`)", key=True)
                continue
            if "unless" in spec:
                site = self.usable(where + ("unless",))
                reads.extend(site.uses if site is not None else ())
            when_text = " and ".join(filter(None, [
                f'"{spec["circumstance"]}" in claim.circumstances' if "circumstance" in spec else None,
                _text(spec["when"]) if "when" in spec else None]))
            if "unless" in spec:
                when_text += f" unless {_text(spec['unless'])}"
            rules.append(Rule(rule_id, kind, spec["clause"], spec["message"], when_text,
                              tuple(dict.fromkeys(reads)), self.position(where + ("when",), where), self.next_rank(),
                              where, spec.get("circumstance")))
        return rules

    def next_rank(self) -> int:
        self._rank += 1
        return self._rank

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
            if "claim.event" not in self.fields:
                self.problem(("events",), E.REF_UNKNOWN_FIELD, "an event catalogue needs a `claim.event` field "
                             "(type: event)", key=True)
            rules.append(Rule(rule["id"], "events", rule["clause"], rule["message"],
                              "claim.event in events.not_covered", ("claim.event",),
                              self.position(("events", "rule")), self.next_rank(), ("events", "rule")))
        rules += self.build_rules("exclusions", "exclusions")
        rules += self.build_rules("conditions", "conditions")
        return rules

    def build_invariants(self) -> list[Invariant]:
        """Invariants read the claim, the definitions and the decision (`decision.payout`...)."""
        invariants = []
        for invariant_id, spec in (self.data.get("invariants") or {}).items():
            if spec is None:
                continue
            where = ("invariants", invariant_id)
            site = self.usable(where + ("holds",))
            if site is None:
                continue
            if site.is_constant:
                self.problem(where + ("holds",), E.PRODUCT_RULE_CONSTANT,
                             f"invariant '{invariant_id}' is always {'true' if site.typed.value else 'false'}",
                             severity="warning")
            invariants.append(Invariant(invariant_id, spec["message"], spec.get("clause"),
                                        _text(spec["holds"]), self.position(where + ("holds",)), where + ("holds",)))
        return invariants

    def check_rule_ids(self) -> None:
        """A rule id is the reason code in decisions: it must name one rule only."""
        seen: dict[str, tuple] = {}
        places = [(("events", "rule", "id"), (self._get(("events", "rule")) or {}).get("id"))]
        sections = [(section,) for section in ("eligibility", "exclusions", "conditions")] + [("benefits", "refusals")]
        for name in (self._get(("benefits", "sections")) or {}):
            sections += [("benefits", "sections", name, "refusals"), ("benefits", "sections", name, "referrals")]
        sections += [("referrals",), ("settlement", "adjustments")]
        for path in sections:
            for rule_id in (self._get(path) or {}):
                places.append((path + (rule_id,), rule_id))
        for path, rule_id in self._step_reasons():
            places.append((path, rule_id))
        for path, rule_id in places:
            if rule_id is None:
                continue
            if rule_id in seen:
                first = seen[rule_id]
                line = self.source.span(first, key=first[-1] not in ("id", "reason")).line
                self.problem(path, E.PRODUCT_DUPLICATE_RULE, f"rule id '{rule_id}' is already used "
                             f"(in {first[0]}, line {line}); reasons would be ambiguous",
                             key=path[-1] not in ("id", "reason"))
            else:
                seen[rule_id] = path

    def _step_reasons(self) -> list[tuple[tuple, str]]:
        """(path of the `reason` key, its id) for every step and group of every settlement."""
        found = []

        def walk(steps, where):
            for index, step in enumerate(steps or []):
                if not isinstance(step, dict):
                    continue
                if "reason" in step:
                    found.append((where + (index, "reason"), step["reason"]))
                walk(step.get("steps"), where + (index, "steps"))
                for number, group in enumerate(step.get("groups") or []):
                    if "reason" in group:
                        found.append((where + (index, "groups", number, "reason"), group["reason"]))
        walk((self._get(("settlement",)) or {}).get("steps"), ("settlement", "steps"))
        for name, section in (self._get(("benefits", "sections")) or {}).items():
            walk(((section or {}).get("settlement") or {}).get("steps"), ("benefits", "sections", name, "settlement",
                                                                          "steps"))
        return found

    def build_documents(self, base: tuple = ()) -> list[DocumentRule]:
        documents: list[DocumentRule] = []
        listed = self.fields.get("claim.documents")
        codes = listed.type.item.values if listed and isinstance(listed.type, t.ListOf) else None
        for doc_id, spec in (self._get(base + ("documents",)) or {}).items():
            if spec is None:
                continue
            where = base + ("documents", doc_id)
            code = spec["document"]
            if "provided" in spec:
                if self.usable(where + ("provided",)) is None:
                    continue
            else:
                if codes is None:
                    self.problem(where, E.REF_UNKNOWN_FIELD, "a document without `provided` needs a "
                                 "`claim.documents` list field", key=True)
                    continue
                if code not in codes:
                    self.problem(where + ("document",), E.PRODUCT_RULE, f"'{code}' is not a value of "
                                 "claim.documents" + suggest(code, codes))
                    continue
            message = spec.get("message") or f"Document needed: {code}."
            documents.append(DocumentRule(doc_id, code, spec["clause"], message,
                                          self.position(where + ("when",), where), self.next_rank(), where))
        return documents

    def build_settlement(self, benefits: Benefits | None) -> Settlement | None:
        spec = self.data.get("settlement")
        if spec is None:
            self.problem(("id",), E.SCHEMA_MISSING_KEY, "the product has no `settlement`")
            return None
        where = ("settlement",)
        kind = kind_site = self.usable(where + ("kind",))
        if kind_site is not None:
            kinds = kind_site.type.values if isinstance(kind_site.type, t.Text) else None
            if kinds is None:
                self.problem(where + ("kind",), E.PRODUCT_SETTLEMENT, "the settlement kind is a word the product "
                             "names (`cash`), or a choice between such words (`if repair then \"repair\" else "
                             "\"replacement\"`), not a value the claim gives")
                kind = None
            else:
                for word in sorted(kinds):
                    if not re.fullmatch(r"[a-z][a-z0-9_]*", word):
                        self.problem(where + ("kind",), E.PRODUCT_SETTLEMENT, f"'{word}' is not a settlement kind: "
                                     "lower-case words joined by _, e.g. vehicle_replacement")
                        kind = None
        if benefits is not None:
            for part in ("payout", "excess", "depreciation", "steps"):
                if part in spec:
                    self.problem(where + (part,), E.PRODUCT_SETTLEMENT, f"a product with benefit sections pays the "
                                 f"sum of its sections: its settlement has a `kind`, not `{part}` (each section has "
                                 "its own settlement)", key=True)
            adjustments = self.build_rules("adjustments", "adjustments", base=where)
            if kind is None:
                return None
            return Settlement(False, tuple(adjustments), {"kind": self.position(where + ("kind",))}, path=where)
        settlement = self.settlement_of(spec, where)
        if settlement is None or kind is None:
            return None
        return replace(settlement, positions={**settlement.positions, "kind": self.position(where + ("kind",))})

    def settlement_of(self, spec: dict, where: tuple) -> Settlement | None:
        """A formula (`payout` and `excess`, and the decision's `depreciation`) or `steps`."""
        has_steps, formula = "steps" in spec, [part for part in ("payout", "excess") if part in spec]
        if has_steps and formula:
            self.problem(where + (formula[0],), E.PRODUCT_SETTLEMENT, "a settlement is `steps` or a formula "
                         "(`payout` and `excess`), not both", key=True)
            return None
        if not has_steps and len(formula) != 2:
            missing = [part for part in ("payout", "excess") if part not in spec]
            self.problem(where, E.SCHEMA_MISSING_KEY, f"the settlement needs `steps`, or a formula: "
                         f"{' and '.join(f'`{part}`' for part in missing)} missing", key=bool(where))
            return None
        adjustments = self.build_rules("adjustments", "adjustments", base=where)
        positions = {name: self.position(where + (name,)) for name in ("payout", "excess", "depreciation")
                     if name in spec}
        depreciation = "depreciation" in spec
        if depreciation and self.usable(where + ("depreciation",)) is None:
            return None
        if has_steps:
            steps = self.build_steps(spec["steps"], where + ("steps",))
            if steps is None:
                return None
            if steps and steps[0].kind not in ("amount", "each"):
                self.problem(where + ("steps", 0), E.PRODUCT_SETTLEMENT, "the first step sets the amount: "
                             "`- amount: ...` (or `- each: ...`, the sum over a list)")
                return None
            personal = any(T.reads_any(site.typed, self.personal) for path, site in self.sites.items()
                           if path[:len(where) + 1] == where + ("steps",) and site.typed is not None)
            return Settlement(depreciation, tuple(adjustments), positions, steps, personal, where)
        if any(self.usable(where + (name,)) is None for name in ("payout", "excess")):
            return None
        return Settlement(depreciation, tuple(adjustments), positions, path=where)

    def build_steps(self, steps: list, where: tuple) -> tuple[Step, ...] | None:
        built = []
        failed = False
        for index, spec in enumerate(steps):
            path = where + (index,)
            kinds = [kind for kind in STEP_KINDS if kind in spec]
            if len(kinds) != 1:
                failed = True                       # reported when its expressions were collected
                continue
            kind = kinds[0]
            reason = self.step_reason(path, spec, kind)
            when = "when" in spec
            if when and self.usable(path + ("when",)) is None:
                failed = True
                continue
            for option in ("steps", "groups"):
                if option in spec and kind != "each":
                    self.problem(path + (option,), E.PRODUCT_SETTLEMENT, f"`{option}` belongs to an `each` step",
                                 key=True)
                    failed = True
            if kind == "each":
                items = site = self.usable(path + ("each",))
                if site is not None and not isinstance(site.type, t.ListOf):
                    self.problem(path + ("each",), E.PRODUCT_SETTLEMENT, f"`each` goes over a list, not {site.type}")
                    failed = True
                    continue
                inner = self.build_steps(spec.get("steps") or [], path + ("steps",))
                if not spec.get("steps"):
                    self.problem(path, E.SCHEMA_MISSING_KEY, "an `each` step needs `steps`: the amount of every "
                                 "element", key=True)
                groups = []
                for number, group in enumerate(spec.get("groups") or []):
                    of = self.usable(path + ("groups", number, "of"))
                    cap = self.usable(path + ("groups", number, "limit"))
                    group_reason = self.step_reason(path + ("groups", number), group, "limit")
                    if of is None or cap is None:
                        failed = True
                        continue
                    groups.append(Group(group_reason, _text(group["limit"]),
                                        self.position(path + ("groups", number, "limit")), path + ("groups", number)))
                if items is None or inner is None or not spec.get("steps"):
                    failed = True
                    continue
                if inner[0].kind not in ("amount", "each"):
                    self.problem(path + ("steps", 0), E.PRODUCT_SETTLEMENT, "the first step of an element sets its "
                                 "amount: `- amount: ...`")
                    failed = True
                    continue
                built.append(Step("each", when, reason, _text(spec["each"]), self.position(path + ("each",)),
                                  _text(spec["each"]), inner, tuple(groups), path))
                continue
            if self.usable(path + (kind,)) is None:
                failed = True
                continue
            built.append(Step(kind, when, reason, _text(spec[kind]), self.position(path + (kind,)), path=path))
        return None if failed else tuple(built)

    def step_reason(self, path: tuple, spec: dict, kind: str) -> Rule | None:
        """The reason a limit or an adjustment gives (when it lowers, or changes, the amount)."""
        if "reason" not in spec:
            for key in ("clause", "message"):
                if key in spec:
                    self.problem(path + (key,), E.PRODUCT_SETTLEMENT, f"`{key}` belongs to a step's `reason`",
                                 key=True)
            return None
        if kind not in ("limit", "adjust"):
            self.problem(path + ("reason",), E.PRODUCT_SETTLEMENT, f"an `{kind}` step gives no reason; limits and "
                         "adjustments do", key=True)
            return None
        missing = [key for key in ("clause", "message") if key not in spec]
        if missing:
            self.problem(path, E.SCHEMA_MISSING_KEY, f"the reason '{spec['reason']}' needs "
                         f"{' and '.join(f'`{key}`' for key in missing)}", key=True)
            return None
        section = "limits" if kind == "limit" else "adjustments"
        return Rule(spec["reason"], section, spec["clause"], spec["message"], _text(spec[kind]) if kind in spec
                    else "", (), self.position(path + (kind,), path), self.next_rank())

    def build_benefits(self) -> Benefits | None:
        spec = self.data.get("benefits")
        if spec is None:
            return None
        claimed = spec["claimed"]
        field = self.fields.get(claimed)
        sections = {name: section for name, section in (spec.get("sections") or {}).items() if section is not None}
        if field is None or not isinstance(field.type, t.ListOf) or not isinstance(field.type.item, t.Text) \
                or field.type.item.values is None:
            self.problem(("benefits", "claimed"), E.REF_UNKNOWN_FIELD, f"`claimed` names '{claimed}', which is not a "
                         "list-of-codes field of this product (the sections a claim asks for)"
                         + suggest(claimed, [p for p, f in self.fields.items() if isinstance(f.type, t.ListOf)]))
        else:
            codes = field.type.item.values
            for name in sections:
                if name not in codes:
                    self.problem(("benefits", "sections", name), E.PRODUCT_RULE, f"section '{name}' is not a value of "
                                 f"{claimed}" + suggest(name, codes), key=True)
            for code in sorted(codes - set(sections)):
                self.problem(("benefits", "claimed"), E.PRODUCT_RULE, f"{claimed} may name '{code}', which is not a "
                             "section here")
        shared: dict[str, list[Rule]] = {name: [] for name in sections}
        for rule_id, rule in (spec.get("refusals") or {}).items():
            if rule is None:
                continue
            rank = self.next_rank()
            for name in (rule.get("sections") or {}):
                path = ("benefits", "refusals", rule_id, "sections", name)
                if name not in sections:
                    self.problem(path, E.PRODUCT_RULE, f"no section '{name}'" + suggest(name, sections), key=True)
                    continue
                site = self.usable(path)
                if site is None:
                    continue
                shared[name].append(Rule(rule_id, "refusals", rule["clause"], rule["message"],
                                         _text(rule["sections"][name]), site.uses, self.position(path), rank, path))
        built = []
        for name, section in sections.items():
            base = ("benefits", "sections", name)
            refusals = shared[name] + self.build_rules("refusals", "refusals", base=base)
            documents = self.build_documents(base)
            referrals = self.build_rules("referrals", "referrals", base=base)
            settlement = self.settlement_of(section.get("settlement") or {}, base + ("settlement",))
            if settlement is None:
                continue
            built.append(Section(name, section.get("name") or name, section.get("clause"), tuple(refusals),
                                 tuple(documents), tuple(referrals), settlement))
        return Benefits(claimed, spec.get("declined_when", "every-section-refused"), tuple(built))

    def position(self, path: tuple, fallback: tuple | None = None) -> tuple[str, int, int]:
        """(file, line, column) of the value at `path` (or, when it is not given, of `fallback`'s key)."""
        if path in self.sites or fallback is None:
            span = self.source.span(path)
            return self.source.file_of(path), span.line, span.column
        span = self.source.span(fallback, key=True)
        return self.source.file_of(fallback), span.line, span.column


STEP_KINDS = ("amount", "limit", "excess", "adjust", "each")


def _each_binding(site: Site) -> str | None:
    """`article in claim.baggage.items`: the element's name; the site then computes the list."""
    tree = site.tree
    if isinstance(tree, ast.Binary) and tree.op == "in" and isinstance(tree.left, ast.Path) \
            and len(tree.left.parts) == 1:
        site.tree = tree.right
        return tree.left.parts[0]
    return None


# Where rules stand in the product data: (section, path of the mapping that holds it).
RULE_SECTIONS = (("eligibility", ()), ("exclusions", ()), ("conditions", ()), ("referrals", ()),
                 ("adjustments", ("settlement",)))

DECISION_VALUES = {
    "outcome": t.Text("code", frozenset(OUTCOMES)),
    "payout": t.Money(None),
    "excess": t.Money(None),
    "depreciation": t.NUMBER,
}


MAX_DEFINITION_DEPTH = 200
_RANGE = Decimal(10) ** 15
_RANGE_TEXT = "10^15"


def compile_pattern(pattern: str):
    """(the compiled pattern, None) or (None, why not). RE2 matches in time linear in the text,
    whatever the pattern: `(a+)+$` cannot hold a claim (or the HTTP service) for seconds, as
    Python's backtracking `re` did."""
    options = re2.Options()
    options.log_errors = False
    options.max_mem = 8 << 20
    try:
        return re2.compile(pattern, options), None
    except re2.error as error:
        message = error.args[0] if error.args else str(error)
        return None, message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)


def _bound(value) -> str:
    return str(value)


def _minor_unit(amount: Money) -> Money:
    return Money(Decimal(1).scaleb(-MINOR_UNITS.get(amount.currency, 2)), amount.currency)


def _band(low, high, inclusive: bool, value, key_type: t.Type) -> Band:
    """A band as looked up. An amount's `to` covers what is under the next minor unit: 699.99 GBP
    takes 699.995 GBP, computed, as the wording's "300.00 to 699.99" means."""
    if high is None:
        return Band((low, None, value, True, f"{low} and more"))
    if not inclusive:
        return Band((low, high, value, False, f"{low} to under {high}"))
    if isinstance(high, Money):
        return Band((low, high + _minor_unit(high), value, False, f"{low} to {high}"))
    return Band((low, high, value, True, f"{low}-{high}"))


def _may_be_absent(spec: dict) -> bool:
    """Optional, or required only under a condition: a claim may leave the field out."""
    return bool(spec.get("optional") or "required_when" in spec or "present_when" in spec)


def _in_range(value) -> bool:
    """Within 10^15 either way. `copy_abs`, not abs(): abs() rounds in the context, and a number
    of 9 million digits overflows it."""
    if isinstance(value, Decimal):
        return value.is_finite() and value.copy_abs() < _RANGE
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) < _RANGE


def _topological(names: list[str], depends: dict[str, list[str]]) -> tuple[list[str], dict[str, int], list[str]]:
    """Kahn's algorithm: (an order in which each name follows what it depends on, the length of
    the longest chain ending at each, the names left out because they are on or after a cycle)."""
    waiting = {name: len(depends[name]) for name in names}
    users: dict[str, list[str]] = {name: [] for name in names}
    for name in names:
        for dep in depends[name]:
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
    ordered = set(order)
    return order, depth, [name for name in names if name not in ordered]


__all__ = ["Builder", "STAGES"]
