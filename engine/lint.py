"""The checks of a built product that catch the mistakes that cost money (`Builder.check_*`).

Each runs once every expression has been checked and folded, over the product's data and its
typed ASTs, and reports through the builder (`Builder.problem`), at the offending key or inside
the offending expression:

* `unguarded_reads`: a field that may be absent, read where nothing guarantees it is there
  (`expr.unguarded`), by flow typing (`dsl.presence`) with what each use of an expression
  guarantees: the stage of the decision it is evaluated in (a document's `provided` once its
  `when` holds, the settlement once every document is there, a benefit section only when it is
  claimed...).
* `rates`: depreciation rates, shares, co-payments and the band and table values used as rates,
  between 0 and 1; a bare number among percentages (`product.rate`).
* `bounds`: `min` above `max`, bounds no value can meet (`product.bounds`).
* `band_order`: a schedule whose values are not monotonic, at the band that breaks the order.
* `table_currencies`: a row whose currency is not its country's, unless the table says it is by
  design (`currencies_by_design`).
"""
from __future__ import annotations

import os
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..dsl import ast
from ..dsl import typed as T
from ..dsl.errors import suggest
from ..dsl.errors import UNGUARDED
from ..dsl.iso import COUNTRY_CURRENCY
from ..dsl.parser import parse
from ..dsl.presence import Presence, Unguarded, equals, has, membership, negate, premises
from ..dsl.values import BandSchedule, LookupTable, Money

from . import errors as E

if TYPE_CHECKING:
    from .build import Builder

_DECLINING = ("eligibility", "exclusions", "conditions")
_RANGE = Decimal(10) ** 15
_RATE_NAME = re.compile(r"(^|_)(rate|rates|depreciation|share|shares|wear)(_|$)")


# -- unguarded reads ------------------------------------------------------------------------
def unguarded_reads(builder: "Builder", declared: dict[str, dict]) -> None:
    definitions = {name: builder.definition_site(name).typed for name in builder._definition_names()
                   if builder.definition_site(name) is not None and builder.definition_site(name).typed is not None
                   and not builder.definition_site(name).failed}
    try:
        presence = Presence(_presence_rules(builder, declared), definitions)
        stages = _Stages(builder, presence)
    except RecursionError:                  # nested too deeply to walk: reported as such, or refused earlier
        return
    for path, site in builder.sites.items():
        if site.typed is None or site.failed or path[0] == "definitions":
            continue
        try:
            known = stages.known(path)
            if known is None:
                continue
            facts, extra = known
            found = presence.unguarded(site.typed, facts, extra)
        except RecursionError:
            continue
        _report_unguarded(builder, declared, site, found)
    _event_read(builder, declared)


def _event_read(builder: "Builder", declared: dict[str, dict]) -> None:
    """The event catalogue's rule reads `claim.event` for every claim, before anything is known:
    with no event it would never decline, so a claim that names none would go on to be paid."""
    rule = (builder.data.get("events") or {}).get("rule")
    info = builder.fields.get("claim.event")
    if not isinstance(rule, dict) or info is None or not info.may_be_absent:
        return
    spec = declared.get("claim.event") or {}
    option = next((key for key in ("optional", "required_when", "present_when") if key in spec), None)
    why, _ = _why(declared, Unguarded("claim.event", "claim.event", 1, 1))     # a read outside any expression
    line = builder.source.span(("events", "rule"), key=True).line
    builder.problem(("fields", "claim.event") + ((option,) if option else ()), UNGUARDED,
                    f"claim.event may be absent ({why}), but the event catalogue's rule '{rule.get('id')}' "
                    f"(line {line}) reads it for every claim: a claim that names no event would never be declined "
                    f"as not covered. Make claim.event required", key=option is not None)


def _presence_rules(builder: "Builder", declared: dict[str, dict]) -> list[tuple]:
    """What makes each field that may be absent present: its `required_when` or `present_when`
    condition (and its optional objects'), or, for a field of an optional object, the object."""
    objects = [path for path, spec in declared.items() if spec.get("type") == "object" and _conditional(spec)]
    rules = []
    for path, info in builder.fields.items():
        spec = declared.get(path)
        if not info.may_be_absent or spec is None:
            continue
        outer = frozenset(has(obj) for obj in objects if path.startswith(obj + "."))
        own = [option for option in ("required_when", "present_when") if option in spec]
        for option in own:
            site = builder.sites.get(("fields", path, option))
            if site is not None and site.typed is not None and not site.failed:
                for premise in premises(site.typed):
                    rules.append((premise | outer, frozenset([has(path)])))
        if not own and not spec.get("optional") and outer:
            rules.append((outer, frozenset([has(path)])))
    return rules


def _conditional(spec: dict) -> bool:
    return bool(spec.get("optional") or "required_when" in spec or "present_when" in spec)


class _Stages:
    """What each use of an expression guarantees: (facts known true, rules that hold there), from
    the order the engine decides a claim in (`engine.evaluate`): every declining rule (and the
    sections' refusals) first; then, when none declines, the documents; when none is missing, the
    referrals; when none holds, the settlement. Invariants know the settlement's facts on the right
    of `decision.outcome != "approved" or ...`."""

    def __init__(self, builder: "Builder", presence: Presence):
        self.builder = builder
        self.presence = presence
        data = builder.data
        self.benefits = data.get("benefits") or None
        self.sections = {name: section for name, section in ((self.benefits or {}).get("sections") or {}).items()
                         if section is not None}
        self.not_declined = frozenset().union(*(self.rule_false((part, rule_id), spec)
                                                for part in _DECLINING
                                                for rule_id, spec in (data.get(part) or {}).items() if spec))
        facts, rules = self.documents(())
        self.complete = (self.not_declined | facts, rules)
        referred = frozenset().union(*(self.rule_false(("referrals", rule_id), spec)
                                       for rule_id, spec in (data.get("referrals") or {}).items() if spec))
        self.not_referred = referred
        self.settle = (self.complete[0] | referred, self.complete[1])
        self._section_cache: dict[str, dict[str, tuple]] = {}

    # -- facts of conditions ---------------------------------------------------------
    def typed(self, path: tuple) -> T.Expr | None:
        site = self.builder.sites.get(path)
        return site.typed if site is not None and site.typed is not None and not site.failed else None

    def holds(self, path: tuple, value: bool = True) -> frozenset:
        node = self.typed(path)
        return self.presence.facts_when(node, value) if node is not None else frozenset()

    def rule_true(self, where: tuple, spec: dict) -> frozenset:
        """What is known where a rule's `unless` is evaluated: its circumstance and `when` hold."""
        facts = frozenset([membership(spec["circumstance"], "claim.circumstances")]) \
            if "circumstance" in spec else frozenset()
        return facts | self.holds(where + ("when",)) if "when" in spec else facts

    def rule_false(self, where: tuple, spec: dict) -> frozenset:
        """What is known once a rule did not apply (only a rule of one condition says anything)."""
        if "unless" in spec:
            return frozenset()
        if "when" in spec and "circumstance" not in spec:
            return self.holds(where + ("when",), False)
        if "circumstance" in spec and "when" not in spec:
            return frozenset([negate(membership(spec["circumstance"], "claim.circumstances"))])
        return frozenset()

    def rule_site(self, where: tuple, spec: dict, key: str) -> frozenset:
        """What a rule's own `when` (its circumstance holds) or `unless` (the rest holds) knows."""
        if key == "unless":
            return self.rule_true(where, spec)
        return frozenset([membership(spec["circumstance"], "claim.circumstances")]) \
            if "circumstance" in spec else frozenset()

    def documents(self, base: tuple) -> tuple[frozenset, tuple]:
        """What is known once no document of `base` is missing: each one's `provided` (or its code in
        claim.documents), and for one needed only `when`, a rule: its `when` makes it provided."""
        facts, rules = set(), []
        for doc_id, spec in (self.builder._get(base + ("documents",)) or {}).items():
            if not spec:
                continue
            where = base + ("documents", doc_id)
            if "provided" in spec:
                provided = self.holds(where + ("provided",))
            else:
                provided = frozenset([membership(spec["document"], "claim.documents")])
            if "when" in spec:
                node = self.typed(where + ("when",))
                if node is not None:
                    rules += [(premise, provided) for premise in self.presence.premises(node)]
            else:
                facts |= provided
        return frozenset(facts), tuple(rules)

    # -- benefit sections ---------------------------------------------------------------
    def section(self, name: str) -> dict[str, tuple]:
        """Per stage of one section: claimed (its refusals), open (its documents), complete (its
        referrals), settle (its settlement)."""
        if name in self._section_cache:
            return self._section_cache[name]
        claimed = frozenset([membership(name, self.benefits["claimed"])]) if self.benefits else frozenset()
        base = ("benefits", "sections", name)
        section = self.sections.get(name) or {}
        refused = set()
        for rule_id, spec in (section.get("refusals") or {}).items():
            if spec:
                refused |= self.rule_false(base + ("refusals", rule_id), spec)
        for rule_id, spec in ((self.benefits or {}).get("refusals") or {}).items():
            if spec and name in (spec.get("sections") or {}):
                refused |= self.holds(("benefits", "refusals", rule_id, "sections", name), False)
        open_ = self.not_declined | claimed | refused
        facts, rules = self.documents(base)
        complete = (self.complete[0] | open_ | facts, self.complete[1] + rules)
        referred = set()
        for rule_id, spec in (section.get("referrals") or {}).items():
            if spec:
                referred |= self.rule_false(base + ("referrals", rule_id), spec)
        stages = {"claimed": (claimed, ()), "open": (open_, ()), "complete": complete,
                  "settle": (complete[0] | self.not_referred | referred, complete[1])}
        self._section_cache[name] = stages
        return stages

    # -- a site ----------------------------------------------------------------------------
    def known(self, path: tuple) -> tuple[frozenset, tuple] | None:
        head = path[0]
        if head == "fields":
            return frozenset(), ()
        if head in _DECLINING:
            spec = self.builder._get(path[:2]) or {}
            return self.rule_site(path[:2], spec, path[-1]), ()
        if head == "referrals":
            spec = self.builder._get(path[:2]) or {}
            return self.complete[0] | self.rule_site(path[:2], spec, path[-1]), self.complete[1]
        if head == "documents":
            return self._document(path, self.not_declined), ()
        if head == "invariants":
            approved = equals(("decision", "outcome"), ("const", "approved"))
            return frozenset(), ((frozenset([approved]), self.settle[0]),)
        if head == "settlement":
            return self._settlement(path, ("settlement",), self.settle)
        if head == "benefits" and path[1] == "refusals":
            return self.section(path[4])["claimed"]
        if head == "benefits" and path[1] == "sections":
            stages = self.section(path[2])
            part = path[3]
            if part == "refusals":
                spec = self.builder._get(path[:5]) or {}
                return stages["claimed"][0] | self.rule_site(path[:5], spec, path[-1]), ()
            if part == "documents":
                return self._document(path, stages["open"][0]), ()
            if part == "referrals":
                spec = self.builder._get(path[:5]) or {}
                facts, rules = stages["complete"]
                return facts | self.rule_site(path[:5], spec, path[-1]), rules
            if part == "settlement":
                return self._settlement(path, path[:4], stages["settle"])
        return None

    def _document(self, path: tuple, before: frozenset) -> frozenset:
        if path[-1] == "provided":
            return before | self.holds(path[:-1] + ("when",))
        return before

    def _settlement(self, path: tuple, root: tuple, stage: tuple) -> tuple[frozenset, tuple]:
        facts, rules = stage
        rest = path[len(root):]
        if rest[:1] == ("adjustments",):
            spec = self.builder._get(root + rest[:2]) or {}
            return facts | self.rule_site(root + rest[:2], spec, rest[-1]), rules
        steps = (self.builder._get(root) or {}).get("steps") or []
        at = root
        while rest[:1] == ("steps",) and len(rest) >= 3 and isinstance(rest[1], int) and rest[1] < len(steps):
            step = steps[rest[1]] or {}
            at = at + rest[:2]
            rest = rest[2:]
            if rest != ("when",) and "when" in step:
                facts = facts | self.holds(at + ("when",))
            steps = step.get("steps") or []
        return facts, rules


def _report_unguarded(builder: "Builder", declared: dict, site, found) -> None:
    """One problem per read, or per use of a definition (naming each field it reads unguarded)."""
    uses: dict[tuple, list] = {}
    for read in found:
        if not read.through:
            why, guard = _why(declared, read)
            builder.problem(site.path, UNGUARDED, f"{read.path} may be absent ({why}) and nothing here guarantees "
                            f"it: guard the read, e.g. `{guard} and ...` or `if {guard} then ... else ...`",
                            offset=(read.line, read.column))
            continue
        uses.setdefault((read.line, read.column, read.through[0]), []).append(read)
    file = builder.source.file_of(site.path)
    for (line, column, name), reads in uses.items():
        shown = []
        for read in reads[:3]:
            inner = builder.definition_site(read.through[-1])
            where = builder.source.position(inner.path, read.at) if inner is not None and read.at else None
            at = "" if where is None else f" (line {where[1]})" if where[0] == file else \
                f" ({os.path.basename(where[0])}:{where[1]})"
            shown.append(f"{read.path}{at}")
        if len(reads) > 3:
            listed = f"{', '.join(shown)} and {len(reads) - 3} more"
        else:
            listed = " and ".join([", ".join(shown[:-1]), shown[-1]]) if len(shown) > 1 else shown[0]
        chain = reads[0].through
        via = f", through {', '.join(repr(d) for d in chain[1:])}" if len(chain) > 1 else ""
        one = len(reads) == 1
        why, guard = _why(declared, reads[0])
        builder.problem(site.path, UNGUARDED,
                        f"'{name}' reads {listed}{via}: {'it' if one else 'they'} may be absent ({why}) and nothing "
                        f"guarantees {'it' if one else 'them'} where '{name}' is used here; guard this use, e.g. "
                        f"`{guard} and ...`, or the read{'' if one else 's'} in '{chain[-1]}'", offset=(line, column))


def _why(declared: dict, read) -> tuple[str, str]:
    """(why the value may be absent, the guard to suggest)."""
    path = read.path
    if "[]." in path:
        return "an optional item field", f"has({read.subject})"
    spec = declared.get(path) or {}
    reasons, guard = [], None
    for option, phrase in (("required_when", "is required only when"), ("present_when", "is given only when")):
        if option in spec:
            condition = _text(spec[option])
            reasons.append(f"it {phrase} {condition}")
            guard = guard or (f"({condition})" if re.search(r"\b(or|if)\b", condition) else condition)
    if spec.get("optional"):
        reasons.append("it is optional")
        guard = f"has({path})"
    objects = [obj for obj in declared if path.startswith(obj + ".") and declared[obj].get("type") == "object"
               and _conditional(declared[obj])]
    for obj in sorted(objects, key=len):
        spec = declared[obj]
        if spec.get("optional"):
            reasons.append(f"{obj} is optional")
        for option, phrase in (("required_when", "is required only when"), ("present_when", "is given only when")):
            if option in spec:
                reasons.append(f"{obj} {phrase} {_text(spec[option])}")
    if objects:         # its own has() guarantees its objects too; a condition of its own does not
        guard = f"has({path})" if guard is not None else f"has({max(objects, key=len)})"
    return "; ".join(reasons) or "it may be left out", guard


def _text(value: Any) -> str:
    return "true" if value is True else "false" if value is False else str(value)


# -- rates and percentages ---------------------------------------------------------------------
def rates(builder: "Builder", declared: dict[str, dict]) -> None:
    """Depreciation rates, shares, co-payments and band and table values used as rates are between
    0 and 1; a bare number among percentages (`value: 10` among `10%`) is a mistake."""
    used = _rate_uses(builder)
    for name, schedule in (builder.data.get("bands") or {}).items():
        if not schedule or not isinstance(builder.named.get(name), BandSchedule):
            continue
        values = [(("bands", name, "bands", i, "value"), band.get("value"))
                  for i, band in enumerate(schedule.get("bands") or []) if isinstance(band, dict)]
        if len(values) != len(builder.named[name].bands):        # a band failed: reported where it did
            continue
        _schedule_rates(builder, name, values, used)
    for name, table in (builder.data.get("tables") or {}).items():
        if not table or not isinstance(builder.named.get(name), LookupTable):
            continue
        values = [(("tables", name, "rows", key), value) for key, value in (table.get("rows") or {}).items()
                  if value is not None]
        if "default" in table:
            values.append((("tables", name, "default"), table["default"]))
        _schedule_rates(builder, name, values, used)
    shares = _shares(declared)
    for path, site in builder.sites.items():
        if site.typed is None or site.failed:
            continue
        if path[-1] == "depreciation" and "settlement" in path:
            _constant_rate(builder, site, site.typed, "a depreciation rate")
        if path[-1] == "adjust":
            _co_payment(builder, site)
        if shares:
            _share_comparisons(builder, site, shares)
    _share_fields(builder, declared, shares)


def _percent_written(value: Any) -> bool | None:
    """True for a value written as a percentage (`10%`), False for a bare number, None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        return False
    if not isinstance(value, str):
        return None
    try:
        tree = parse(value)
    except Exception:                    # reported where the value was built
        return None
    if isinstance(tree, ast.Percent):
        return True
    if isinstance(tree, ast.Number):
        return False
    return None


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    return Decimal(value)


def _percent(value: Decimal) -> str:
    shown = (value * 100).normalize()
    return f"{shown:f} %"


def _schedule_rates(builder: "Builder", name: str, values: list[tuple[tuple, Any]], used: dict[str, str]) -> None:
    """A schedule's values: a bare number among percentages, and a rate outside 0..1."""
    constants = builder.named[name]
    written = [(path, raw, _percent_written(raw), _schedule_value(constants, path)) for path, raw in values]
    percentages = _mixed(written)
    why = used.get(name) or ("its name says it is a rate" if _RATE_NAME.search(name) else None)
    for path, raw, kind, value in written:
        number = _number(value)
        if number is None:
            continue
        if percentages and kind is False and number > 1:
            builder.problem(path, E.PRODUCT_RATE, f"{_plain(raw)} means {_percent(number)}; write {_plain(raw)}% "
                            f"(the other values of '{name}' are percentages)")
        elif why and not 0 <= number <= 1:
            hint = f"; write {_plain(raw)}%" if kind is False and number > 1 and number == int(number) else ""
            builder.problem(path, E.PRODUCT_RATE, f"'{name}' is a rate ({why}): its values are between 0 % and "
                            f"100 %, not {_percent(number)}{hint}")


def _mixed(written) -> bool:
    """Whether some of a schedule's values are written as percentages (`10%`)."""
    return any(kind is True for _, _, kind, _ in written)


def _bare_among_percentages(schedule: dict, built: BandSchedule) -> bool:
    """Whether a band's value is a bare number over 1 among percentages (reported as a rate)."""
    rows = [band for band in schedule.get("bands") or [] if isinstance(band, dict)]
    kinds = [_percent_written(band.get("value")) for band in rows]
    return True in kinds and any(kind is False and (_number(band[2]) or 0) > 1
                                 for kind, band in zip(kinds, built.bands))


def _schedule_value(constants, path: tuple):
    """The value built for the row or band at `path`."""
    if isinstance(constants, BandSchedule):
        return constants.bands[path[3]][2]
    if path[2] == "default":
        return constants.default if constants.has_default else None
    return constants.rows.get(path[3])


def _rate_uses(builder: "Builder") -> dict[str, str]:
    """Schedules used as rates, and how: as the depreciation, or taken from 1 (`1 - wear[...]`)."""
    used: dict[str, str] = {}
    bodies = {name: builder.definition_site(name).typed for name in builder._definition_names()
              if builder.definition_site(name) is not None and builder.definition_site(name).typed is not None}

    def lookup_of(node, depth=0):
        if isinstance(node, T.Lookup):
            return node.table
        if isinstance(node, T.DefinitionRef) and node.name in bodies and depth < 50:
            return lookup_of(bodies[node.name], depth + 1)
        return None

    for path, site in builder.sites.items():
        if site.typed is None or site.failed:
            continue
        if path[-1] == "depreciation" and "settlement" in path:
            table = lookup_of(site.typed)
            if table is not None:
                used.setdefault(table, "the settlement's depreciation")
        for node in T.walk(site.typed):
            if isinstance(node, T.Binary) and node.op == "sub" and isinstance(node.left, T.Const) \
                    and node.left.value == 1 and not isinstance(node.left.value, bool):
                table = lookup_of(node.right)
                if table is not None:
                    used.setdefault(table, f"the product computes `1 - {table}[...]`")
    return used


def _constant_rate(builder: "Builder", site, node: T.Expr, what: str) -> None:
    value = _constant_number(builder, node)
    if value is None or 0 <= value <= 1:
        return
    hint = f"; write {value}%" if value > 1 and value == int(value) else ""
    builder.problem(site.path, E.PRODUCT_RATE, f"{what} is between 0 % and 100 %, not {_percent(Decimal(value))}"
                    f"{hint}", offset=(node.line, node.column))


def _constant_number(builder: "Builder", node: T.Expr, depth: int = 0):
    if isinstance(node, T.Const) and not isinstance(node.value, bool) and isinstance(node.value, (int, Decimal)):
        return node.value
    if isinstance(node, T.DefinitionRef) and depth < 50:
        site = builder.definition_site(node.name) if node.name in builder.definitions else None
        if site is not None and site.typed is not None:
            return _constant_number(builder, site.typed, depth + 1)
    return None


def _co_payment(builder: "Builder", site) -> None:
    """`adjust: amount * X`: X is what is paid of the amount, between 0 and 1."""
    node = site.typed
    if not (isinstance(node, T.Binary) and node.op == "mul"):
        return
    for this, other in ((node.left, node.right), (node.right, node.left)):
        if isinstance(this, T.Local) and this.name == "amount":
            value = _constant_number(builder, other)
            if value is not None and not 0 <= value <= 1:
                hint = f"; write {value}%" if value > 1 and value == int(value) else ""
                builder.problem(site.path, E.PRODUCT_RATE, f"an adjustment `amount * X` pays the share X of the "
                                f"amount, between 0 % and 100 %, not {_percent(Decimal(value))}{hint}",
                                offset=(other.line, other.column))


def _shares(declared: dict[str, dict]) -> set[str]:
    """Decimal fields that are shares: named *_share, or bounded to 0..1."""
    found = set()
    for path, spec in declared.items():
        if spec.get("type") != "decimal":
            continue
        low, high = _number(spec.get("min")), _number(spec.get("max"))
        if path.rsplit(".", 1)[-1].endswith("_share") or (low is not None and high is not None
                                                         and 0 <= low and high <= 1):
            found.add(path)
    return found


def _share_fields(builder: "Builder", declared: dict[str, dict], shares: set[str]) -> None:
    """A share's bounds and default are between 0 and 1 (a default outside the field's own bounds
    is reported where the default is converted)."""
    for path in sorted(shares):
        spec = declared[path]
        low, high = _number(spec.get("min")), _number(spec.get("max"))
        for key in ("min", "max", "default"):
            value = _number(spec.get(key))
            if key == "default" and value is not None and ((low is not None and value < low)
                                                            or (high is not None and value > high)):
                continue
            if value is not None and not 0 <= value <= 1:
                hint = f"; write {value / 100}" if value > 1 and value <= 100 else ""
                builder.problem(("fields", path, key), E.PRODUCT_RATE, f"{path} is a share, between 0 and 1 "
                                f"(0.25 is a quarter): `{key}: {_plain(spec[key])}` is {_percent(value)}{hint}")


def _share_comparisons(builder: "Builder", site, shares: set[str]) -> None:
    """`claim.negligence_share > 50`: a share compared with a number outside 0..1."""
    for node in T.walk(site.typed):
        if isinstance(node, T.Binary) and node.op in ("eq", "ne", "lt", "le", "gt", "ge"):
            pairs = ((node.left, node.right), (node.right, node.left))
        elif isinstance(node, T.Between):
            pairs = ((node.value, node.low), (node.value, node.high))
        else:
            continue
        for share, other in pairs:
            if isinstance(share, T.FieldRef) and share.path in shares and isinstance(other, T.Const):
                value = _number(other.value)
                if value is not None and not 0 <= value <= 1:
                    hint = f"; write {value}%" if value > 1 and value == int(value) else ""
                    builder.problem(site.path, E.PRODUCT_RATE, f"{share.path} is a share, between 0 and 1: "
                                    f"{other.value} means {_percent(value)}{hint}", offset=(other.line, other.column))


# -- bounds -----------------------------------------------------------------------------------------
def bounds(builder: "Builder", declared: dict[str, dict]) -> None:
    """Bounds some value can meet: `min` not above `max`, a whole number between an integer field's
    bounds, `min_items` not above `max_items` (a default outside the bounds is reported where the
    default is converted)."""
    for path, spec in declared.items():
        _field_bounds(builder, ("fields", path), spec)


def _bound(value) -> Decimal | None:
    """A bound as a Decimal, or None when there is none or it is out of range (reported already)."""
    number = _number(value)
    return number if number is not None and number.is_finite() and number.copy_abs() < _RANGE else None


def _field_bounds(builder: "Builder", where: tuple, spec: dict) -> None:
    kind = spec.get("type")
    if kind in ("integer", "decimal"):
        low, high = _bound(spec.get("min")), _bound(spec.get("max"))
        if low is not None and high is not None and low > high:
            builder.problem(where + ("max",), E.PRODUCT_BOUNDS, f"max {_plain(spec['max'])} is below min "
                            f"{_plain(spec['min'])}: no value can meet both")
        elif kind == "integer" and low is not None and high is not None \
                and low.to_integral_value(rounding="ROUND_CEILING") > high.to_integral_value(rounding="ROUND_FLOOR"):
            builder.problem(where + ("min",), E.PRODUCT_BOUNDS, f"no whole number is between min {_plain(spec['min'])} "
                            f"and max {_plain(spec['max'])}: no value of this integer field can meet them")
    if kind == "list":
        low, high = spec.get("min_items"), spec.get("max_items")
        if isinstance(low, int) and isinstance(high, int) and not isinstance(low, bool) and low > high:
            builder.problem(where + ("max_items",), E.PRODUCT_BOUNDS, f"max_items {high} is below min_items {low}: "
                            "no list can meet both")
        for name, sub in (spec.get("items") or {}).items():
            if isinstance(sub, dict):
                _field_bounds(builder, where + ("items", name), sub)


# -- the order of a band schedule ------------------------------------------------------------------
def band_order(builder: "Builder") -> None:
    """A schedule whose values go up and down: a warning at the band that breaks the order of the
    others (the fewest bands whose removal leaves the rest monotonic; of those, the latest)."""
    for name, schedule in (builder.data.get("bands") or {}).items():
        built = builder.named.get(name)
        if not schedule or not isinstance(built, BandSchedule):
            continue
        rows = schedule.get("bands") or []
        numbers = [band[2] for band in built.bands if isinstance(band[2], (int, Decimal))
                   and not isinstance(band[2], bool)]
        if not (len(numbers) == len(built.bands) == len(rows)) or len(numbers) < 3:
            continue
        if numbers == sorted(numbers) or numbers == sorted(numbers, reverse=True) \
                or _bare_among_percentages(schedule, built):
            continue
        rising = _longest(numbers, True)
        falling = _longest(numbers, False)
        if len(rising) != len(falling):
            up = len(rising) > len(falling)
        else:
            up = numbers[-1] >= numbers[0]
        kept = set(rising if up else falling)
        trend = "increase" if up else "decrease"
        for i in range(len(numbers)):
            if i in kept:
                continue
            shown = lambda j: _plain(rows[j].get("value")) if isinstance(rows[j], dict) else str(numbers[j])  # noqa: E731
            before = [shown(j) for j in sorted(kept) if j < i][-1:]
            after = [shown(j) for j in sorted(kept) if j > i][:1]
            if before and after:
                text = f"{shown(i)} between {before[0]} and {after[0]}"
            elif before:
                text = f"{shown(i)} after {before[0]}"
            else:
                text = f"{shown(i)} before {after[0]}"
            builder.problem(("bands", name, "bands", i, "value"), E.PRODUCT_BANDS,
                            f"not monotonic: {text}, while the other bands {trend}", severity="warning")


def _longest(values: list, rising: bool) -> list[int]:
    """The indexes of a longest monotonic subsequence, the earliest such (so that, when several
    bands could be the odd one out, the later is)."""
    n = len(values)
    fits = (lambda a, b: a <= b) if rising else (lambda a, b: a >= b)
    length = [1] * n                     # the longest subsequence starting at i
    for i in range(n - 1, -1, -1):
        for j in range(i + 1, n):
            if fits(values[i], values[j]) and length[j] + 1 > length[i]:
                length[i] = length[j] + 1
    best = max(length)
    chosen, last = [], None
    for i in range(n):
        if length[i] == best - len(chosen) and (last is None or fits(values[last], values[i])):
            chosen.append(i)
            last = i
            if len(chosen) == best:
                break
    return chosen


def _plain(raw: Any) -> str:
    return str(raw).strip()


# -- table rows' currencies -----------------------------------------------------------------------
def table_currencies(builder: "Builder") -> None:
    """A row of a table by country in another currency than its country's is an error, unless the
    table lists the country in `currencies_by_design` (the wording's choice: the excess for Romania
    in EUR). A country listed without a row of its own takes the default row: the default row is
    not checked (it stands for every country without a row), but saying which countries it serves
    in another currency documents the wording."""
    for name, table in (builder.data.get("tables") or {}).items():
        built = builder.named.get(name)
        if not table or not isinstance(built, LookupTable):
            continue
        where = ("tables", name)
        by_design = table.get("currencies_by_design") or []
        if by_design and table.get("key") != "country":
            builder.problem(where + ("currencies_by_design",), E.PRODUCT_TABLE, "`currencies_by_design` lists "
                            "countries, for a table keyed by country", key=True)
            continue
        for index, country in enumerate(by_design):
            if country not in built.rows and not built.has_default:
                builder.problem(where + ("currencies_by_design", index), E.PRODUCT_TABLE,
                                f"'{country}' has no row in {name}, and {name} has no default row"
                                + suggest(country, built.rows))
                continue
            row = "row" if country in built.rows else "default row"
            value = built.rows[country] if country in built.rows else built.default
            if isinstance(value, Money) and COUNTRY_CURRENCY.get(country) == value.currency:
                builder.problem(where + ("currencies_by_design", index), E.PRODUCT_TABLE,
                                f"the {row} for {country} is in {value.currency}, {country}'s own currency: nothing "
                                "to declare", severity="warning")
        if table.get("key") != "country":
            continue
        for key, value in built.rows.items():
            if not isinstance(value, Money) or key in by_design:
                continue
            local = COUNTRY_CURRENCY.get(key)
            if local and local != value.currency:
                builder.problem(where + ("rows", key), E.PRODUCT_TABLE,
                                f"the row for {key} is in {value.currency}, but {key} uses {local}; if the wording "
                                f"means it, say so: `currencies_by_design: [{key}]`")


__all__ = ["unguarded_reads", "rates", "bounds", "band_order", "table_currencies"]
