"""`policyconf test --mutate`: how good are a product's tests?

Mutation testing of a product's own test file. Each *mutant* is the product with one small change
a product manager could make by mistake: a number one more or one less, or doubled; `<` for `<=`;
`or` for `and`; a rule, a document requirement, a settlement step or an `unless` deleted; an event
moved between covered and not covered; a table row, a band's value or a band edge changed; a
field's default or bound changed; a required field made optional. The change is made on the
product's data as read from YAML (its positions kept), never on its text: expressions are changed
token by token through the language's own grammar, then the product is built again from the
changed data (engine.loader's stages: schema, merge over the base, build), reusing every other
product already loaded.

A mutant is *killed* when `policyconf validate` rejects it (caught by validate) or a case of the
test file fails against it (caught by the tests, engine.tester's runner); otherwise it *survived*:
no case pins what changed. A survivor that decides every case and every one of a few hundred
generated claims (the generator of `policyconf verify`, seeded with the cases) exactly as the
product does is *possibly equivalent*: no claim we found tells the two apart, so it is left out of
the score (and listed, for a person to judge).

Mutants of a derived product (`extends:`) are the changes to what its own file says; what it
inherits is mutated, and judged, with its base's test file.
"""
from __future__ import annotations

import calendar
import multiprocessing
import os
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Callable, Iterable

from lark import Lark, Token, Tree

from ..dsl import parser as dsl_parser

from . import errors as E
from . import schema
from . import build as build_module
from . import tester
from .build import STEP_KINDS, Builder
from .errors import ClaimError, Problem
from .inheritance import merge_patch
from .jsonio import dumps
from .loader import _read, _resolve, _Version, product_files
from .product_book import ProductBook
from .yaml_reader import Document, load_file

# The language's grammar keeping every token (operators and keywords too), with positions.
_TOKENS = Lark(dsl_parser._GRAMMAR, parser="lalr", propagate_positions=True, maybe_placeholders=False,
               keep_all_tokens=True)

GENERATED_CLAIMS = 300           # generated claims that try to tell a survivor from the product
_SWAP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "and": "or", "or": "and"}
_RULES = ("eligibility", "exclusions", "conditions", "referrals")
_SECTION_RULES = ("refusals", "documents", "referrals")


@dataclass(frozen=True)
class Mutant:
    """One change to a product file's data: where, in insurance words, and the edits to make.

    `edits`: ("set", path, value) or ("del", path), applied in order to the file's data."""
    product: str
    file: str
    line: int
    column: int
    kind: str          # number, comparison, logic, rule, unless, step, event, document, table, band,
                       # default, bound, required
    what: str          # "late-enrolment: 6 became 7"
    edits: tuple
    # What claims near the change look like, to tell it apart: the numbers it moves (old and
    # new), their unit ("days", "months", "years", "money", "percent" or None: any), the field
    # it changes.
    numbers: tuple = ()
    unit: str | None = None
    field: str | None = None

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Verdict:
    status: str        # "validate" (killed: the product does not load), "tests" (killed: a case fails),
                       # "survived", "equivalent" (possibly: no claim found tells it apart)
    detail: str = ""   # the load error, the failing case, or the claim that tells it apart


@dataclass
class ProductScore:
    product: str
    files: tuple[str, ...]
    test_file: str
    mutants: list[tuple[Mutant, Verdict]] = field(default_factory=list)
    claims: int = 0                     # generated claims tried on each survivor
    seconds: float = 0.0

    def _count(self, *statuses: str) -> int:
        return sum(1 for _, verdict in self.mutants if verdict.status in statuses)

    @property
    def by_validate(self) -> int:
        return self._count("validate")

    @property
    def by_tests(self) -> int:
        return self._count("tests")

    @property
    def killed(self) -> int:
        return self._count("validate", "tests")

    @property
    def equivalent(self) -> int:
        return self._count("equivalent")

    @property
    def counted(self) -> int:
        """The mutants the score counts: all but the possibly equivalent ones."""
        return len(self.mutants) - self.equivalent

    @property
    def score(self) -> Decimal:
        if not self.counted:
            return Decimal("100.0")
        return (Decimal(self.killed) * 100 / self.counted).quantize(Decimal("0.1"))

    def survivors(self) -> list[tuple[Mutant, Verdict]]:
        return [(m, v) for m, v in self.mutants if v.status == "survived"]

    def equivalents(self) -> list[tuple[Mutant, Verdict]]:
        return [(m, v) for m, v in self.mutants if v.status == "equivalent"]


@dataclass
class MutationRun:
    products: list[ProductScore] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    failing: list[tester.CaseResult] = field(default_factory=list)   # cases failing on the product itself
    seconds: float = 0.0
    jobs: int = 1

    @property
    def mutants(self) -> int:
        return sum(len(p.mutants) for p in self.products)

    @property
    def killed(self) -> int:
        return sum(p.killed for p in self.products)

    @property
    def counted(self) -> int:
        return sum(p.counted for p in self.products)

    @property
    def equivalent(self) -> int:
        return sum(p.equivalent for p in self.products)

    @property
    def score(self) -> Decimal:
        return Decimal("100.0") if not self.counted else (Decimal(self.killed) * 100 / self.counted).quantize(Decimal("0.1"))

    def under(self, fail_under: Decimal | None) -> list[ProductScore]:
        """The products whose score is under the gate."""
        return [] if fail_under is None else [p for p in self.products if p.score < fail_under]


# -- the product data, path by path (copying only what a change touches) ----------------------
def _get(data, path):
    for part in path:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def _edited(data, edit):
    op, path = edit[0], edit[1]
    if not path:
        return data
    head, rest = path[0], path[1:]
    if isinstance(data, dict):
        copy = dict(data)
        if not rest:
            if op == "del":
                copy.pop(head, None)
            else:
                copy[head] = edit[2]
        else:
            copy[head] = _edited(data.get(head) if isinstance(data.get(head), (dict, list)) else {}, (op, rest, *edit[2:]))
        return copy
    if isinstance(data, list):
        copy = list(data)
        if not rest:
            if op == "del":
                del copy[head]
            else:
                copy[head] = edit[2]
        else:
            copy[head] = _edited(data[head], (op, rest, *edit[2:]))
        return copy
    return data


def apply(data, edits: Iterable[tuple]):
    """The data with the edits made, the original untouched."""
    for edit in edits:
        data = _edited(data, edit)
    return data


# -- making the mutants ----------------------------------------------------------------------
def _owner(path: tuple, data: dict) -> str:
    """How a report names the thing at `path` (a rule's id, a definition, a step...)."""
    top = path[0] if path else ""
    if top in _RULES + ("documents",) and len(path) >= 2:
        return str(path[1])
    if top == "definitions" and len(path) >= 2:
        return str(path[1])
    if top == "fields" and len(path) >= 2:
        return f"field {path[1]}" + (f" {path[3]}" if len(path) >= 4 and path[2] == "items" else "")
    if top == "tables" and len(path) >= 2:
        if len(path) >= 4 and path[2] == "rows":
            return f"{path[1]}[{path[3]}]"
        return f"{path[1]}[default]" if path[2:3] == ("default",) else str(path[1])
    if top == "bands" and len(path) >= 4:
        band = _get(data, path[:4]) or {}
        return f"{path[1]} band from {band.get('from')}"
    if top == "benefits" and len(path) >= 3:
        if path[1] == "refusals":
            return f"{path[2]}" + (f" ({path[4]})" if len(path) >= 5 else "")
        if path[1] == "sections" and len(path) >= 5 and path[3] in _SECTION_RULES:
            return str(path[4])
        if path[1] == "sections" and len(path) >= 4 and path[3] == "settlement":
            return f"section {path[2]}, " + _step_name(path[4:], _get(data, path[:4]) or {})
        return ".".join(str(p) for p in path)
    if top == "settlement":
        return "settlement, " + _step_name(path[1:], _get(data, ("settlement",)) or {})
    return ".".join(str(p) for p in path)


def _step_name(path: tuple, settlement: dict) -> str:
    """`step 3 (gross-negligence)`, `step 2 (excess)`, or the settlement's key (`kind`)."""
    if path[:1] != ("steps",) or len(path) < 2:
        return str(path[0]) if path else "settlement"
    names, steps = [], settlement.get("steps") or []
    rest = path
    while rest[:1] == ("steps",) and len(rest) >= 2 and isinstance(rest[1], int):
        step = steps[rest[1]] if rest[1] < len(steps) else {}
        kind = next((k for k in STEP_KINDS if k in step), "step")
        names.append(f"step {rest[1] + 1} ({step.get('reason') or kind})")
        steps, rest = step.get("steps") or [], rest[2:]
    if rest[:1] == ("groups",) and len(rest) >= 2:
        names.append(f"group {rest[1] + 1}")
    return ", ".join(names) or "settlement"


def _tokens(tree) -> list[Token]:
    return [token for token in tree.scan_values(lambda v: isinstance(v, Token))]


def _span_text(text: str, tree) -> str:
    tokens = _tokens(tree) if isinstance(tree, Tree) else [tree]
    start = min(t.start_pos for t in tokens)
    end = max(t.end_pos for t in tokens)
    return text[start:end]


def _shown(old: str, new: str) -> str:
    """`old` became `new`, in backquotes, shortened around the change when long."""
    if len(old) > 60:
        start = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), 0)
        old_end, new_end = len(old), len(new)
        while old_end > start and new_end > start and old[old_end - 1] == new[new_end - 1]:
            old_end, new_end = old_end - 1, new_end - 1
        left, right_old, right_new = max(0, start - 20), min(len(old), old_end + 20), min(len(new), new_end + 20)
        old = ("..." if left else "") + old[left:right_old] + ("..." if right_old < len(old) else "")
        new = ("..." if left else "") + new[left:right_new] + ("..." if right_new < len(new) else "")
    return f"`{old}` became `{new}`"


def _numbers(token: Token, suffix: Token | None) -> list[str]:
    """A number's mutants: one more, one less (a whole unit of money; the last digit of a fraction), doubled."""
    value = Decimal(token.value)
    if suffix is not None and suffix.type == "CURRENCY" or "." not in token.value:
        step = Decimal(1)
    else:
        step = Decimal(1).scaleb(value.as_tuple().exponent)
    results = []
    for new in (value + step, value - step, value * 2):
        if new == value:
            continue
        text = str(new.quantize(Decimal(1).scaleb(value.as_tuple().exponent))) if "." in token.value else str(int(new))
        if text not in results and text != token.value:
            results.append(text)
    return results


_UNITS = {"minute": None, "hour": None, "day": "days", "week": "weeks", "month": "months", "year": "years"}


def _unit(suffix: Token | None) -> str | None:
    if suffix is None:
        return None
    if suffix.type == "CURRENCY":
        return "money"
    if suffix.type == "UNIT":
        return _UNITS[suffix.value.rstrip("s")] or "time"
    return "percent"


def expression_mutants(text: str) -> list[tuple[str, str, tuple[int, int], str, tuple, str | None]]:
    """(mutated text, what changed, (line, column) in the text, kind, numbers, unit) for each mutant
    of an expression: `numbers` and `unit` say which claims come near what changed."""
    try:
        tree = _TOKENS.parse(text)
    except Exception:                   # not an expression the language reads: nothing to mutate
        return []
    found = []

    def replaced(token: Token, new: str) -> str:
        return text[:token.start_pos] + new + text[token.end_pos:]

    def add(new_text: str, what: str, token: Token, kind: str, numbers: tuple, unit: str | None) -> None:
        try:
            dsl_parser.parse(new_text)
        except Exception:
            return
        found.append((new_text, what, (token.line, token.column), kind, numbers, unit))

    for sub in tree.iter_subtrees_topdown():
        if sub.data in ("lt", "le", "gt", "ge", "and_", "or_"):
            operator = sub.children[1]
            new_text = replaced(operator, _SWAP[operator.value])
            whole = _span_text(text, sub)
            start = min(t.start_pos for t in _tokens(sub))
            new_whole = new_text[start:start + len(whole) + len(new_text) - len(text)]
            literals = [(t, sub_tree) for sub_tree in sub.iter_subtrees()
                        if sub_tree.data in ("number", "percent", "money", "duration")
                        for t in sub_tree.children[:1]]
            unit = next((_unit(tree.children[1] if len(tree.children) > 1 else None) for _, tree in literals), None)
            add(new_text, _shown(whole, new_whole), operator,
                "comparison" if sub.data in ("lt", "le", "gt", "ge") else "logic",
                tuple(Decimal(t.value) for t, _ in literals) + (Decimal(0),), unit)
        elif sub.data in ("number", "percent", "money", "duration"):
            number = sub.children[0]
            suffix = sub.children[1] if len(sub.children) > 1 else None
            old = text[number.start_pos:(suffix.end_pos if suffix is not None else number.end_pos)]
            for new in _numbers(number, suffix):
                new_text = replaced(number, new)
                add(new_text, _shown(old, new + old[len(number.value):]), number, "number",
                    (Decimal(number.value), Decimal(new)), _unit(suffix))
    return found


def _expression_text(value) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal, str)):
        return str(value)
    return None


class _Maker:
    """The mutants of one product file's data (`data`: what the file says; `merged`: the product,
    its base's data merged in, for a derived product; `sites`: the paths of its expressions)."""

    def __init__(self, product_id: str, document: Document, data: dict, sites: Iterable[tuple]):
        self.product_id = product_id
        self.document = document
        self.data = data
        self.sites = [path for path in sites if _get(data, path) is not None]
        self.mutants: list[Mutant] = []

    def add(self, path: tuple, kind: str, what: str, edits: tuple, key: bool = False,
            offset: tuple[int, int] | None = None, numbers: tuple = (), unit: str | None = None,
            field: str | None = None) -> None:
        if offset is not None:
            line, column = self.document.position(path, offset)
        else:
            span = self.document.span(path, key)
            line, column = span.line, span.column
        self.mutants.append(Mutant(self.product_id, self.document.file, line, column, kind, what, edits,
                                   tuple(Decimal(n) for n in numbers), unit, field))

    def make(self) -> list[Mutant]:
        data = self.data
        constants = [path for path in self._constants()]
        for path in sorted(set(self.sites) | set(constants), key=lambda p: self.document.span(p).index):
            if path[:1] == ("invariants",):
                continue                  # invariants decide nothing: `policyconf verify` checks them
            text = _expression_text(_get(data, path))
            if text is None:
                continue
            owner = _owner(path, data)
            for new_text, what, offset, kind, numbers, unit in expression_mutants(text):
                kind = "table" if path[0] == "tables" else "band" if path[0] == "bands" else kind
                self.add(path, kind, f"{owner}: {what}", (("set", path, new_text),),
                         offset=offset if isinstance(_get(data, path), str) else None, numbers=numbers, unit=unit,
                         field=path[1] if path[0] == "fields" else None)
            if path[-1] == "unless":
                self.add(path, "unless", f"{owner}: its `unless: {text}` removed", (("del", path),), key=True)
        self._rules()
        self._steps()
        self._events()
        self._bands()
        self._fields()
        return self.mutants

    def _constants(self):
        for name, table in (self.data.get("tables") or {}).items():
            if not isinstance(table, dict):
                continue
            for key in (table.get("rows") or {}):
                if (table.get("rows") or {})[key] is not None:
                    yield ("tables", name, "rows", key)
            if table.get("default") is not None:
                yield ("tables", name, "default")
        for name, bands in (self.data.get("bands") or {}).items():
            for i, band in enumerate((bands or {}).get("bands") or ()):
                if isinstance(band, dict) and "value" in band:
                    yield ("bands", name, "bands", i, "value")

    def _rules(self) -> None:
        data = self.data
        for section in _RULES + ("documents",):
            for rule_id, spec in (data.get(section) or {}).items():
                if isinstance(spec, dict) and not self._override(spec):
                    kind = "document" if section == "documents" else "rule"
                    what = f"the document requirement {rule_id} removed" if section == "documents" \
                        else f"the rule {rule_id} deleted"
                    self.add((section, rule_id), kind, what, (("del", (section, rule_id)),), key=True)
        benefits = data.get("benefits") or {}
        for rule_id, spec in (benefits.get("refusals") or {}).items():
            for section, condition in ((spec or {}).get("sections") or {}).items():
                if condition is not None:
                    path = ("benefits", "refusals", rule_id, "sections", section)
                    self.add(path, "rule", f"the refusal {rule_id} deleted for section {section}",
                             (("del", path),), key=True)
        for section_id, section in (benefits.get("sections") or {}).items():
            for part in _SECTION_RULES:
                for rule_id, spec in ((section or {}).get(part) or {}).items():
                    if isinstance(spec, dict) and not self._override(spec):
                        path = ("benefits", "sections", section_id, part, rule_id)
                        what = (f"the document requirement {rule_id} of section {section_id} removed"
                                if part == "documents" else f"the rule {rule_id} of section {section_id} deleted")
                        self.add(path, "document" if part == "documents" else "rule", what,
                                 (("del", path),), key=True)

    def _override(self, spec: dict) -> bool:
        """A derived product's partial override of a base rule: deleting it restores the base's."""
        return "extends" in self.data and "message" not in spec

    def _steps(self) -> None:
        places = [("settlement",)] + [("benefits", "sections", s, "settlement")
                                      for s in ((self.data.get("benefits") or {}).get("sections") or {})]

        def walk(steps, path):
            for i, step in enumerate(steps or ()):
                if not isinstance(step, dict):
                    continue
                here = path + (i,)
                kind = next((k for k in STEP_KINDS if k in step), None)
                if kind is None:
                    continue
                if kind != "amount" or len(steps) > 1 and i > 0:
                    self.add(here, "step", f"{_owner(here + (kind,), self.data)}: the step `{kind}: "
                             f"{_expression_text(step[kind])}` deleted", (("del", here),))
                if "when" in step:
                    self.add(here + ("when",), "step", f"{_owner(here + (kind,), self.data)}: its "
                             f"`when: {step['when']}` removed (the step always applies)",
                             (("del", here + ("when",)),), key=True)
                if kind == "each":
                    walk(step.get("steps"), here + ("steps",))

        for place in places:
            settlement = _get(self.data, place)
            if isinstance(settlement, dict):
                walk(settlement.get("steps"), place + ("steps",))

    def _events(self) -> None:
        events = self.data.get("events") or {}
        sides = {"covered": "not_covered", "not_covered": "covered"}
        words = {"covered": "covered", "not_covered": "not covered"}

        def walk(tree, side, path):
            for key, value in (tree or {}).items():
                here = path + (key,)
                if isinstance(value, dict):
                    walk(value, side, here)
                elif isinstance(value, str):
                    other = ("events", sides[side]) + here
                    code = ".".join(str(p) for p in here)
                    self.add(("events", side) + here, "event", f"the event {code} moved from {words[side]} to "
                             f"{words[sides[side]]}", (("del", ("events", side) + here), ("set", other, value)),
                             key=True)

        for side in sides:
            walk(events.get(side), side, ())

    def _bands(self) -> None:
        for name, spec in (self.data.get("bands") or {}).items():
            bands = (spec or {}).get("bands") or []
            unit = (spec or {}).get("unit") or ""
            for i, band in enumerate(bands):
                if not isinstance(band, dict):
                    continue
                path = ("bands", name, "bands", i)
                low = band.get("from")
                if i == 0 and isinstance(low, int) and not isinstance(low, bool):
                    for new in (low + 1, low - 1):
                        self.add(path + ("from",), "band", f"{name}: the first band starts at {new} instead of "
                                 f"{low}" + (f" ({unit})" if unit else ""), (("set", path + ("from",), new),),
                                 numbers=(low, new), unit=unit or None)
                nxt = bands[i + 1] if i + 1 < len(bands) else None
                high = band.get("to")
                if isinstance(high, int) and not isinstance(high, bool) and isinstance(nxt, dict) \
                        and nxt.get("from") == high + 1:
                    for delta in (1, -1):
                        self.add(path + ("to",), "band", f"{name}: the edge between the bands {low}-{high} and "
                                 f"{high + 1}- moved by {'+' if delta > 0 else '-'}{_count(1, unit) if unit else 1} "
                                 f"(to {high + delta}, from {high + 1 + delta})",
                                 (("set", path + ("to",), high + delta),
                                  ("set", ("bands", name, "bands", i + 1, "from"), high + 1 + delta)),
                                 numbers=(high, high + 1, high + delta, high + 1 + delta), unit=unit or None)
                elif isinstance(high, int) and not isinstance(high, bool) and nxt is None:
                    for new in (high + 1, high - 1):
                        self.add(path + ("to",), "band", f"{name}: the last band ends at {new} instead of {high}",
                                 (("set", path + ("to",), new),), numbers=(high, new, high + 1), unit=unit or None)

    def _fields(self) -> None:
        for name, spec in (self.data.get("fields") or {}).items():
            self._field(("fields", name), spec)
            for item, sub in ((spec or {}).get("items") or {}).items() if isinstance(spec, dict) else ():
                self._field(("fields", name, "items", item), sub)

    def _field(self, path: tuple, spec) -> None:
        if not isinstance(spec, dict):
            return
        owner = _owner(path + ("type",), self.data)
        conditional = any(k in spec for k in ("default", "optional", "required_when", "present_when"))
        if not conditional and spec.get("type") not in (None, "object"):
            self.add(path, "required", f"{owner} made optional (it was required)",
                     (("set", path + ("optional",), True),), key=True, field=_field_name(path))
        default = spec.get("default")
        if isinstance(default, bool):
            self.add(path + ("default",), "default", f"{owner}: default {str(default).lower()} became "
                     f"{str(not default).lower()}", (("set", path + ("default",), not default),),
                     field=_field_name(path))
        elif isinstance(default, (int, Decimal)):
            for new in _plain_numbers(default):
                self.add(path + ("default",), "default", f"{owner}: default {default} became {new}",
                         (("set", path + ("default",), new),), field=_field_name(path), numbers=(default, new))
        for bound in ("min", "max", "min_items"):
            value = spec.get(bound)
            if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
                for new in _plain_numbers(value, double=False):
                    if bound == "min_items" and new < 0:
                        continue
                    self.add(path + (bound,), "bound", f"{owner}: {bound} {value} became {new}",
                             (("set", path + (bound,), new),), field=_field_name(path), numbers=(value, new))


def _field_name(path: tuple) -> str:
    """`fields.claim.baggage.items` -> its path; an item field of a list of records: `list[].item`."""
    return path[1] if len(path) == 2 else f"{path[1]}[].{path[3]}"


def _plain_numbers(value, double: bool = True) -> list:
    step = 1 if isinstance(value, int) else Decimal(1).scaleb(value.as_tuple().exponent)
    news = [value + step, value - step] + ([value * 2] if double and value else [])
    found = []
    for new in news:
        if new != value and new not in found:
            found.append(new)
    return found


# -- loading the products once, and each mutant ---------------------------------------------
@dataclass
class _Folder:
    """The product files of a folder, resolved once: every version by id."""
    versions: dict[str, list[_Version]]
    problems: list[Problem]

    @classmethod
    def load(cls, folder: str) -> "_Folder":
        problems: list[Problem] = []
        versions: dict[str, list[_Version]] = {}
        failed: dict[str, str] = {}
        for file in product_files([folder]):
            version = _read(file, problems, failed=failed)
            if version is not None:
                versions.setdefault(version.data["id"], []).append(version)
        for chain in versions.values():
            chain.sort(key=lambda v: v.effective_from)
        for chain in versions.values():
            for version in chain:
                _resolve(version, versions, failed, problems, [])
        return cls(versions, problems)

    def products(self) -> dict:
        return {pid: tuple(v.product for v in chain) for pid, chain in self.versions.items()
                if all(v.product is not None for v in chain)}

    def build(self, product_id: str, index: int, data: dict, expression_only: bool = False) -> tuple[Any, list[Problem]]:
        """The version `index` of `product_id` built from `data` in place of its file's: (product or
        None, its errors). Every other version and product is the one already loaded.
        `expression_only`: the data differs from the file's only in the text of an expression,
        which the schema reads as any text: its check is left out."""
        original = self.versions[product_id][index]
        if not expression_only:
            problems = schema.check(data, original.document, patch="extends" in data)
            if problems:
                return None, problems
        version = _Version(original.document, data, original.digest, original.effective_from)
        versions = dict(self.versions)
        versions[product_id] = [version if i == index else v for i, v in enumerate(self.versions[product_id])]
        found: list[Problem] = []
        _resolve(version, versions, {}, found, [])
        errors = [p for p in found if p.severity == "error"]
        return (version.product if not errors else None), errors


def _sites(version: _Version) -> list[tuple]:
    """The paths of the expressions of a version, as the builder finds them."""
    builder = Builder(version.merged, version.source, version.digest)
    builder.build()
    return list(builder.sites)


# -- judging a mutant (in a worker) -----------------------------------------------------------
@dataclass
class _Job:
    """What judging the mutants of one product needs; set before the workers start (they inherit it)."""
    folder: _Folder
    product_id: str
    file: str                       # the test file
    document: Document              # the test file
    suites: dict
    select: Callable | None
    claims: list[dict]              # case claims and generated claims, to tell a survivor apart
    expected: list[dict]            # what the product decides for each of `claims`
    mutants: list[Mutant]
    indexes: dict[str, int]         # mutated file -> index of its version in the chain
    book: ProductBook | None = None  # the products as they are
    cases: list[tuple[str, dict]] = field(default_factory=list)   # (name, claim) of cases decided, for probes
    types: dict[str, str] = field(default_factory=dict)           # field path -> type
    known: dict[str, dict] = field(default_factory=dict)          # what the product decides, by claim (a cache)


_JOB: _Job | None = None


def _run_cases(job: _Job, book: ProductBook) -> tester.SuiteRun:
    run_result = tester.SuiteRun()
    tester.run_document(job.file, job.document, book, job.suites, run_result, select=job.select,
                        first_failure=True)
    return run_result


def _judge(index: int) -> tuple[int, Verdict]:
    job = _JOB
    mutant = job.mutants[index]
    version_index = job.indexes[mutant.file]
    original = job.folder.versions[job.product_id][version_index]
    data = apply(original.data, mutant.edits)
    try:
        text_only = all(edit[0] == "set" and isinstance(edit[2], str) and isinstance(_get(original.data, edit[1]), str)
                        for edit in mutant.edits)
        product, errors = job.folder.build(job.product_id, version_index, data, expression_only=text_only)
    except Exception as error:        # a crash of the loader on the mutant is a bug to see, not a kill
        return index, Verdict("validate", f"the loader failed: {type(error).__name__}: {error}")
    if product is None:
        first = errors[0] if errors else None
        return index, Verdict("validate", f"{first.code}: {first.message}" if first else "does not load")
    chain = list(job.folder.products()[job.product_id])
    chain[version_index] = product
    book = ProductBook({**job.folder.products(), job.product_id: tuple(chain)})
    try:
        run_result = _run_cases(job, book)
    except Exception as error:
        return index, Verdict("tests", f"a case raised {type(error).__name__}: {error}")
    if run_result.problems:
        return index, Verdict("tests", f"{run_result.problems[0].code}: {run_result.problems[0].message}")
    failed = next((r for r in run_result.results if not r.passed), None)
    if failed is not None:
        return index, Verdict("tests", f"case '{failed.name}' fails ({', '.join(failed.differences)})")
    for claim, expected in zip(job.claims, job.expected):
        got = _decided(book, claim)
        if got != expected:
            return index, Verdict("survived", "a generated claim: " + _difference(expected, got))
    tried = 0
    for claim, note in _probes(mutant, job.cases, job.types):
        tried += 1
        key = dumps(claim, sort_keys=True)
        expected = job.known.get(key)
        if expected is None:
            expected = job.known[key] = _decided(job.book, claim)
        got = _decided(book, claim)
        if got != expected:
            return index, Verdict("survived", f"{note}: {_difference(expected, got)}")
    near = f" and none of {tried} claims near the change" if tried else ""
    return index, Verdict("equivalent", f"no case, none of {len(job.claims)} claims (the cases' and generated "
                                        f"ones){near} tell it apart")


def _difference(expected: dict, got: dict) -> str:
    """What the product decides, then what the mutant decides instead."""
    return f"{_brief(expected, got)} on the product, {_brief(got, expected)} on the mutant"


def _brief(decided: dict, other: dict) -> str:
    if "error" in decided:
        return f"error {decided['error']}" + (f" at {decided['path']}" if decided.get("path") else "")
    keys = [key for key in decided if key != "outcome" and decided.get(key) != other.get(key)]
    return ", ".join([str(decided.get("outcome"))] + [f"{key} {tester._show(decided[key])}" for key in keys[:3]])


# -- claims near a change: what tells a mutant of a boundary apart -----------------------------
PROBE_CASES = 24                   # cases whose claims are moved to the boundaries a mutant changes


def _leaves(claim, path: tuple = (), name: str = ""):
    """(address, dotted field name, value) of each field of a claim document; the fields of a list
    of records' elements are `list[].field`."""
    if isinstance(claim, dict) and not ("amount" in claim and "currency" in claim and path):
        for key, value in claim.items():
            yield from _leaves(value, path + (key,), f"{name}.{key}" if name else key)
    elif isinstance(claim, list) and claim and all(isinstance(e, dict) for e in claim):
        for i, element in enumerate(claim):
            for key, value in element.items():
                yield path + (i, key), f"{name}[].{key}", value
    else:
        yield path, name, claim


def _shift(day: date, count: int, unit: str) -> date:
    if unit == "days":
        return day + timedelta(days=count)
    months = day.month - 1 + count * (12 if unit == "years" else 1)
    year, month = day.year + months // 12, months % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _probes(mutant: Mutant, cases: list[tuple[str, dict]], types: dict[str, str]):
    """(claim, what it is) for claims near what the mutant changes: each of a few cases' claims with
    the field it changes left out or set to its numbers, or one date moved to another date plus or
    minus its numbers of days (months, years), or an amount set to them."""
    numbers = [n for n in mutant.numbers if abs(n) <= 100_000]
    whole = sorted({int(v) for n in numbers if n == int(n) for v in (n, n + 1, n - 1)})
    units = {"days": ("days",), "weeks": ("days",), "months": ("months",), "years": ("years",),
             None: ("days", "months", "years")}.get(mutant.unit, ())
    if mutant.unit == "weeks":
        whole = sorted({7 * v for v in whole} | {7 * v + 1 for v in whole} | {7 * v - 1 for v in whole})
    for name, claim in cases:
        leaves = list(_leaves(claim))
        if mutant.field is not None:
            for address, dotted, value in leaves:
                if dotted == mutant.field:
                    yield apply(claim, [("del", address)]), f"case '{name}' without {dotted}"
            if "[]." not in mutant.field and types.get(mutant.field) in ("integer", "decimal"):
                for n in numbers + [n + d for n in numbers for d in (1, -1)]:
                    value = int(n) if types[mutant.field] == "integer" and n == int(n) else str(n)
                    yield _set(claim, mutant.field, value), f"case '{name}' with {mutant.field} {value}"
        dates = [(address, dotted, value) for address, dotted, value in leaves
                 if types.get(dotted) == "date" and isinstance(value, str) and len(value) == 10]
        offsets = sorted({sign * count for count in whole for sign in (1, -1)}, key=lambda o: (abs(o), -o))
        for offset in offsets if units else ():
            for address, dotted, _ in dates:
                for _, other_name, other in dates:
                    if other_name == dotted:
                        continue
                    for unit in units:
                        try:
                            moved = _shift(date.fromisoformat(other), offset, unit).isoformat()
                        except (ValueError, OverflowError):
                            continue
                        yield apply(claim, [("set", address, moved)]), \
                            f"case '{name}' with {dotted} {moved} ({other_name} {'-' if offset < 0 else '+'} " \
                            f"{_count(abs(offset), unit)})"
        if mutant.unit in (None, "money", "percent") and numbers:
            for address, dotted, value in leaves:
                kind = types.get(dotted)
                for n in numbers:
                    if kind == "money" and isinstance(value, dict) and n >= 0:
                        for amount in (n, n + Decimal("0.01"), n - Decimal("0.01")):
                            money = {**value, "amount": str(amount.quantize(Decimal("0.01")))}
                            yield apply(claim, [("set", address, money)]), \
                                f"case '{name}' with {dotted} {money['amount']} {money['currency']}"
                    elif kind == "integer" and n == int(n) and mutant.unit is None:
                        yield apply(claim, [("set", address, int(n))]), f"case '{name}' with {dotted} {int(n)}"
                    elif kind == "decimal":
                        share = n / 100 if mutant.unit == "percent" else n
                        yield apply(claim, [("set", address, str(share))]), f"case '{name}' with {dotted} {share}"


def _count(number, unit: str) -> str:
    """`1 day`, `2 days`."""
    return f"{number} {unit[:-1] if abs(number) == 1 and unit.endswith('s') else unit}"


def _set(claim: dict, dotted: str, value) -> dict:
    path = tuple(dotted.split("."))
    for length in range(1, len(path)):
        if not isinstance(_get(claim, path[:length]), dict):
            claim = apply(claim, [("set", path[:length], {})])
    return apply(claim, [("set", path, value)])


def _decided(book: ProductBook, claim: dict) -> dict:
    """What a test case could compare of the decision of `claim` (or its error)."""
    try:
        return tester._actual(book.evaluate(claim).to_dict())
    except ClaimError as error:
        return tester._actual(error.to_dict())
    except Exception as error:          # a mutant that crashes on a claim is told apart by it
        return {"error": f"crashed: {type(error).__name__}"}


def _remembered(parse: Callable) -> Callable:
    """`parse`, remembering the tree of each text: a mutant's expressions are its product's but
    one, parsed once (the trees are immutable)."""
    trees: dict[str, Any] = {}

    def remembered(text):
        tree = trees.get(text) if isinstance(text, str) else None
        if tree is None:
            tree = parse(text)
            if isinstance(text, str):
                trees[text] = tree
        return tree
    return remembered


def _generated(product, examples: list[dict], count: int) -> list[dict]:
    """`count` claims from `policyconf verify`'s generator, seeded with the cases (fixed seed);
    none without hypothesis (`pip install 'policyconf[verify]'`)."""
    if count <= 0:
        return []
    try:
        from hypothesis import HealthCheck, Phase, given, settings
    except ImportError:
        return []

    from .verify import claims as strategy
    drawn: list[dict] = []

    @settings(max_examples=count, database=None, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    @given(strategy(product, examples or None))
    def collect(claim):
        drawn.append(claim)

    collect()
    return drawn


# -- running ----------------------------------------------------------------------------------
def run(paths: Iterable[str], products: str | None = None, *, select: Callable | None = None,
        jobs: int | None = None, claims: int = GENERATED_CLAIMS,
        worker_start: Callable[[int], None] | None = None) -> MutationRun:
    """Mutation testing of every test file under `paths` against its product (in `products`,
    default the test file's folder). `select(texts)`: whether to use a case (and, by its name,
    a product: see tester.run); `jobs`: worker processes (default: one per core); `claims`:
    generated claims tried on each survivor; `worker_start(parent_pid)`: run in each worker as it
    starts (the command line passes engine.batch's `_die_with`, so that workers end with it)."""
    global _JOB
    started = time.perf_counter()
    jobs = max(1, jobs if jobs is not None else (os.cpu_count() or 1))
    result = MutationRun(jobs=jobs)
    folders: dict[str, _Folder] = {}
    for file in tester.find_test_files(list(paths)):
        checked = tester.run([file], products, select=select)
        result.problems.extend(checked.problems)
        failing = [r for r in checked.results if r.failed]
        result.failing.extend(failing)
        if checked.problems or failing or not checked.results:
            continue                  # mutants of a product whose own cases fail (or none ran) say nothing
        document = load_file(file)
        product_id = document.data["product"]
        folder_name = products or os.path.dirname(file) or "."
        if folder_name not in folders:
            folders[folder_name] = _Folder.load(folder_name)
        folder = folders[folder_name]
        if product_id not in folder.products():
            continue
        began = time.perf_counter()
        mutants: list[Mutant] = []
        indexes: dict[str, int] = {}
        for i, version in enumerate(folder.versions[product_id]):
            indexes[version.document.file] = i
            mutants += _Maker(product_id, version.document, version.data, _sites(version)).make()
        book = ProductBook(folder.products())
        examples = [claim for claim in tester.suite_claims(file)]
        chosen = [c for c in _case_claims(document, select)]
        latest = folder.products()[product_id][-1]
        generated = chosen + _generated(latest, examples, claims)
        suites = {product_id: document.data}
        decided = [_decided(book, c) for c in chosen]
        cases = [(case["name"], claim) for case, claim, got in
                 zip(_chosen_cases(document, select), chosen, decided) if "error" not in got]
        step = max(1, len(cases) // PROBE_CASES)
        types = {}
        for spec in latest.fields:
            types[spec.path] = spec.type
            for item in spec.items:
                types[f"{spec.path}[].{item.path}"] = item.type
        _JOB = _Job(folder, product_id, file, document, suites, select, generated,
                    decided + [_decided(book, c) for c in generated[len(chosen):]], mutants, indexes, book,
                    cases[::step][:PROBE_CASES], types)
        score = ProductScore(product_id, tuple(indexes), file)
        verdicts: dict[int, Verdict] = {}
        try:
            build_module.parse = _remembered(dsl_parser.parse)
            if jobs > 1 and len(mutants) > 1:
                context = multiprocessing.get_context("fork")
                with context.Pool(min(jobs, len(mutants)), initializer=worker_start,
                                  initargs=(os.getpid(),) if worker_start else ()) as pool:
                    for index, verdict in pool.imap_unordered(_judge, range(len(mutants)), chunksize=4):
                        verdicts[index] = verdict
            else:
                for index in range(len(mutants)):
                    verdicts[index] = _judge(index)[1]
        finally:
            _JOB = None
            build_module.parse = dsl_parser.parse
        score.mutants = [(mutant, verdicts[i]) for i, mutant in enumerate(mutants)]
        score.claims = len(generated) - len(chosen)
        score.seconds = time.perf_counter() - began
        result.products.append(score)
    result.problems.sort()
    result.seconds = time.perf_counter() - started
    return result


def _chosen_cases(document: Document, select) -> list[dict]:
    suite = document.data
    return [case for case in suite["cases"]
            if select is None or select((case["name"], document.file, suite["product"]))]


def _case_claims(document: Document, select) -> list[dict]:
    suite = document.data
    base = {**(suite.get("base") or {}), "product": suite["product"]}
    return [merge_patch(base, case.get("claim") or {}) for case in _chosen_cases(document, select)]


# -- the report -------------------------------------------------------------------------------
def _percent(value: Decimal) -> str:
    return f"{value} %"


def summary_line(score: ProductScore) -> str:
    line = (f"{score.product}: {score.killed} of {score.counted} mutants killed ({_percent(score.score)})"
            f", {score.equivalent} possibly equivalent")
    return line


def report(run_result: MutationRun, write=print, format: str = "text", fail_under: Decimal | None = None,
           details: bool = True) -> None:
    """Per product its score, then each survivor at its line with what changed; the possibly
    equivalent mutants; `format="github"`: one annotation per survivor (a warning), and an error
    per product under --fail-under."""
    under = run_result.under(fail_under)
    if format == "github":
        for problem in run_result.problems:
            write(problem.annotation())
        for case in run_result.failing:
            write(E.annotation("error", case.file, case.line, tester._differences_text(case),
                               title=f"policyconf test: {case.name}"))
        for score in run_result.products:
            for mutant, verdict in score.survivors():
                write(E.annotation("warning", mutant.file, mutant.line, f"{mutant.what}: no case fails",
                                   title="policyconf test --mutate: a mutant survived", column=mutant.column))
        for score in under:
            write(E.annotation("error", score.test_file, 1, f"{summary_line(score)}: under --fail-under "
                               f"{fail_under} %", title="policyconf test --mutate"))
        write(_total(run_result))
        return
    for problem in run_result.problems:
        write(problem.format())
    for case in run_result.failing:
        write(f"FAILED {case.file}:{case.line}: {case.name}: {tester._differences_text(case)}")
    if run_result.problems or run_result.failing:
        write("mutation testing needs every case to pass on the product itself: fix the failures first")
    for score in run_result.products:
        write("")
        write(summary_line(score))
        write(f"  caught by validate {score.by_validate}, by the tests {score.by_tests}, survived "
              f"{len(score.survivors())}; " + (f"{score.claims} generated claims" if score.claims else
                                               "no generated claims (hypothesis is not installed)")
              + f" and claims near each change tried on each survivor; {score.seconds:.1f} s")
        for mutant, verdict in sorted(score.survivors(), key=lambda mv: (mv[0].file, mv[0].line, mv[0].column)):
            write(f"  {mutant.where} {mutant.what} — no case fails")
            if verdict.detail and details:
                write(f"      told apart by {verdict.detail}")
        if score.equivalents():
            write("  possibly equivalent, not counted (no case, no generated claim and no claim near the change "
                  "tells them apart):")
            for mutant, _ in sorted(score.equivalents(), key=lambda mv: (mv[0].file, mv[0].line, mv[0].column)):
                write(f"    {mutant.where} {mutant.what}")
    write("")
    for score in under:
        write(f"{score.product}: {_percent(score.score)} is under --fail-under {fail_under} %")
    write(_total(run_result))


def _total(run_result: MutationRun) -> str:
    return (f"total: {run_result.killed} of {run_result.counted} mutants killed ({_percent(run_result.score)}), "
            f"{run_result.equivalent} possibly equivalent, {len(run_result.products)} "
            f"product{'s' if len(run_result.products) != 1 else ''} in {run_result.seconds:.1f} s "
            f"({run_result.jobs} worker{'s' if run_result.jobs != 1 else ''})")


def ok(run_result: MutationRun, fail_under: Decimal | None) -> bool:
    return not run_result.problems and not run_result.failing and bool(run_result.products) \
        and not run_result.under(fail_under)


__all__ = ["run", "report", "ok", "Mutant", "Verdict", "ProductScore", "MutationRun", "expression_mutants",
           "apply", "summary_line"]
