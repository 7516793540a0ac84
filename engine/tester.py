"""`policyconf test`: example claims with the decisions they must get, and coverage in insurance terms.

A test file lives beside its product (`products/accidental-damage.tests.yaml`): a base claim
and cases, each a patch onto the base and the decision expected.  Coverage counts what the
cases exercised: rules that applied, events claimed, documents found missing, bands and table
rows used.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable


from .. import schemas

from . import schema as product_schema
from .inheritance import merge_patch
from .loader import TEST_SUFFIXES
from .product_book import ProductBook, load_products
from .errors import ClaimError, Problem, ProductError
from .yaml_reader import Document, load_file

TEST_SCHEMA = schemas.load("tests.schema.json")
_VALIDATOR = product_schema.Validator(TEST_SCHEMA)
COMPARED = ("outcome", "settlement", "payout", "excess", "depreciation", "reasons", "missing_documents",
            "benefits", "error", "path")


@dataclass
class CaseResult:
    file: str
    line: int
    name: str
    product: str
    expected: dict
    actual: dict
    trace: tuple[str, ...] = ()

    @property
    def differences(self) -> list[str]:
        return [key for key in self.expected if not _matches(key, self.expected[key], self.actual.get(key))]

    @property
    def passed(self) -> bool:
        return not self.differences


@dataclass
class Coverage:
    """For one product: every item that could be exercised, and those that were."""
    product: str
    items: dict[str, set] = field(default_factory=dict)        # kind -> all items
    hit: dict[str, set] = field(default_factory=dict)          # kind -> items exercised
    unreachable: dict[str, str] = field(default_factory=dict)  # item text -> why no claim can reach it

    KINDS = ("rules", "events", "documents", "bands", "table rows")

    @classmethod
    def of(cls, product) -> "Coverage":
        from ..dsl.values import BandSchedule
        coverage = cls(product.id)
        coverage.items = {
            "rules": {rule.id for rule in product.rules()},
            "events": set(product.events()),
            "documents": {document.id for document in product.all_documents()},
            "bands": {(name, low) for name, obj in product.tables.items() if isinstance(obj, BandSchedule)
                      for low, *_ in obj.bands},
            "table rows": {(name, key) for name, obj in product.tables.items() if not isinstance(obj, BandSchedule)
                           for key in [*obj.rows, *([None] if obj.has_default else [])]},
        }
        coverage.hit = {kind: set() for kind in cls.KINDS}
        return coverage

    def record(self, hits: set) -> None:
        for what in hits:
            kind = {"rule": "rules", "event": "events", "document": "documents", "band": "bands",
                    "table": "table rows"}.get(what[0])
            if kind is None:
                continue
            item = what[1] if len(what) == 2 else (what[1], what[2])
            if item in self.items[kind]:
                self.hit[kind].add(item)

    def _counted(self, kind: str) -> set:
        return {item for item in self.items[kind] if _item_text(kind, item) not in self.unreachable}

    def names(self) -> set[str]:
        return {_item_text(kind, item) for kind in self.KINDS for item in self.items[kind]}

    @property
    def total(self) -> int:
        return sum(len(self._counted(kind)) for kind in self.KINDS)

    @property
    def covered(self) -> int:
        return sum(len(self.hit[kind] & self._counted(kind)) for kind in self.KINDS)

    @property
    def percent(self) -> Decimal:
        if not self.total:
            return Decimal(100)
        return (Decimal(self.covered) * 100 / self.total).quantize(Decimal("0.1"))

    def missing(self) -> dict[str, list[str]]:
        result = {}
        for kind in self.KINDS:
            left = self._counted(kind) - self.hit[kind]
            if left:
                result[kind] = sorted(_item_text(kind, item) for item in left)
        return result


def _item_text(kind: str, item) -> str:
    if kind == "bands":
        return f"{item[0]} band from {item[1]}"
    if kind == "table rows":
        return f"{item[0]}[{item[1] if item[1] is not None else 'default'}]"
    return str(item)


@dataclass
class SuiteRun:
    results: list[CaseResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    coverage: dict[str, Coverage] = field(default_factory=dict)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    @property
    def failed(self) -> int:
        return len(self.results) - self.passed

    def coverage_percent(self) -> Decimal:
        total = sum(c.total for c in self.coverage.values())
        covered = sum(c.covered for c in self.coverage.values())
        return Decimal(100) if not total else (Decimal(covered) * 100 / total).quantize(Decimal("0.1"))


def suite_claims(path: str) -> list[dict]:
    """The claims of a test file's cases that expect a decision (not an error): realistic claims."""
    suite = load_file(path).data
    base = {**(suite.get("base") or {}), "product": suite["product"]}
    return [merge_patch(base, case.get("claim") or {}) for case in suite["cases"] if "error" not in case["expect"]]


def find_test_files(paths: Iterable[str]) -> list[str]:
    files = []
    for path in paths:
        if os.path.isdir(path):
            files += [os.path.join(path, name) for name in sorted(os.listdir(path)) if name.endswith(TEST_SUFFIXES)]
        else:
            files.append(path)
    return files


def _matches(key: str, expected, actual) -> bool:
    """Benefit lines compare line by line, each on the keys it gives; everything else exactly."""
    if key != "benefits" or not isinstance(expected, list) or not isinstance(actual, list):
        return expected == actual
    return len(expected) == len(actual) and all(
        all(line.get(name) == got.get(name) for name in line) for line, got in zip(expected, actual))


def _money_text(money: dict | None) -> str | None:
    return None if money is None else f"{money['amount']} {money['currency']}"


def _actual(result: dict) -> dict:
    if "error" in result:
        return {"error": result["error"]["code"], "path": result["error"]["path"]}
    actual = {"outcome": result["outcome"], "settlement": result["settlement"],
              "payout": _money_text(result["payout"]), "excess": _money_text(result["excess"]),
              "depreciation": result["depreciation"], "reasons": [r["code"] for r in result["reasons"]],
              "missing_documents": result["missing_documents"]}
    if "benefits" in result:
        actual["benefits"] = [{"benefit": line["benefit"], "outcome": line["outcome"],
                               "payout": _money_text(line["payout"]), "excess": _money_text(line["excess"]),
                               "reasons": [r["code"] for r in line["reasons"]]} for line in result["benefits"]]
    return actual


def _expected(expect: dict) -> dict:
    expected = {}
    for key in COMPARED:
        if key in expect:
            value = expect[key]
            expected[key] = str(value) if isinstance(value, Decimal) else value
    return expected


def _check_document(document: Document) -> list[Problem]:
    problems = []
    for error in _VALIDATOR.iter_errors(document.data):
        problems.extend(product_schema._describe(error, tuple(error.absolute_path), document))
    return problems


def run(paths: Iterable[str], products: str | None = None) -> SuiteRun:
    """Run every test file under `paths` against the products in `products` (default: the file's folder)."""
    run_result = SuiteRun()
    books: dict[str, ProductBook | None] = {}
    for file in find_test_files(paths):
        try:
            document = load_file(file)
        except ProductError as error:
            run_result.problems.extend(error.problems)
            continue
        if not isinstance(document.data, dict):
            run_result.problems.append(Problem(file, 1, 1, "schema.type", "a test file must be a mapping"))
            continue
        problems = _check_document(document)
        if problems:
            run_result.problems.extend(problems)
            continue
        folder = products or os.path.dirname(file) or "."
        if folder not in books:
            try:
                books[folder] = load_products(folder)
            except ProductError as error:
                run_result.problems.extend(error.problems)
                books[folder] = None
        book = books[folder]
        if book is None:
            continue
        suite = document.data
        product_id = suite["product"]
        if product_id not in book.ids:
            run_result.problems.append(document.problem(("product",), "ref.unknown-product",
                                                        f"no product '{product_id}' in {folder}"))
            continue
        for version in book.versions(product_id):
            coverage = run_result.coverage.get(f"{product_id} {version.version}")
            if coverage is None:
                coverage = Coverage.of(version)
                coverage.product = f"{product_id} {version.version}"
                run_result.coverage[coverage.product] = coverage
        for index, entry in enumerate(suite.get("unreachable") or ()):
            for version in book.versions(product_id):
                coverage = run_result.coverage[f"{product_id} {version.version}"]
                if entry["item"] not in coverage.names():
                    run_result.problems.append(document.problem(
                        ("unreachable", index, "item"), "ref.unknown-item",
                        f"'{entry['item']}' is not an item of {product_id}'s coverage"))
                else:
                    coverage.unreachable[entry["item"]] = entry["why"]
        base = {**(suite.get("base") or {}), "product": product_id}
        for index, case in enumerate(suite["cases"]):
            claim = merge_patch(base, case.get("claim") or {})
            hits: set = set()
            trace: tuple[str, ...] = ()
            try:
                decision = book.evaluate(claim, hits=hits)
                result = decision.to_dict()
                trace = decision.trace
                version = next(v for v in book.versions(product_id) if v.version == decision.product_version)
                run_result.coverage[f"{product_id} {version.version}"].record(hits)
            except ClaimError as error:
                result = error.to_dict()
            span = document.span(("cases", index))
            run_result.results.append(CaseResult(file, span.line, case["name"], product_id,
                                                 _expected(case["expect"]), _actual(result), trace))
    return run_result


def _show(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) if not isinstance(v, str) else v for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    return "null" if value is None else str(value)


def report(run_result: SuiteRun, coverage: bool = False, write=print) -> None:
    """A pytest-like report: a line per file, the failures side by side, coverage, the summary line."""
    for problem in run_result.problems:
        write(problem.format())
    by_file: dict[str, list[CaseResult]] = {}
    for result in run_result.results:
        by_file.setdefault(result.file, []).append(result)
    for file, results in by_file.items():
        write(f"{file} " + "".join("." if r.passed else "F" for r in results))
    for result in run_result.results:
        if result.passed:
            continue
        write("")
        write(f"FAILED {result.file}:{result.line}: {result.name}")
        width = max(len(k) for k in result.expected)
        write(f"  {'':{width}}  {'expected':32}  actual")
        for key in result.expected:
            marker = "  " if key not in result.differences else "≠ "
            write(f"{marker}{key:{width}}  {_show(result.expected[key]):32}  {_show(result.actual.get(key))}")
        if result.trace:
            write("  trace:")
            for step in result.trace:
                write(f"    {step}")
    if coverage and run_result.coverage:
        write("")
        write("coverage (what the cases exercised)")
        for cov in run_result.coverage.values():
            parts = "  ".join(f"{kind} {len(cov.hit[kind] & cov._counted(kind))}/{len(cov._counted(kind))}"
                              for kind in Coverage.KINDS)
            write(f"  {cov.product}: {parts}  {cov.percent}%")
            for kind, items in cov.missing().items():
                write(f"    not exercised, {kind}: {', '.join(items)}")
            for item, why in sorted(cov.unreachable.items()):
                write(f"    unreachable, left out: {item}: {why}")
        write(f"  total: {run_result.coverage_percent()}%")
    summary = f"{run_result.passed} passed, {run_result.failed} failed"
    if run_result.problems:
        summary += f", {len(run_result.problems)} error{'s' if len(run_result.problems) != 1 else ''}"
    write(summary)
