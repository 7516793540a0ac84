"""`policyconf test`: example claims with the decisions they must get, and coverage in insurance terms.

A test file lives beside its product (`products/accidental-damage.tests.yaml`): a base claim
and cases, each a patch onto the base and the decision expected.  Coverage counts what the
cases exercised: rules that applied, events claimed, documents found missing, bands and table
rows used.

A test file is checked like a product: its schema, then what its expectations name (the rules,
clauses, documents, benefit sections and settlement kinds of the product), each problem at its
line with a suggestion.  The runner selects cases (`select`, for `-k`), stops at the first
failure (`first_failure`, for `-x`), and rewrites the expectations of failing cases in place
(`update`, for `--update`: engine.rewrite).
"""
from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Callable, Iterable

from .. import schemas
from ..dsl.errors import suggest

from . import errors as E
from . import schema as product_schema
from .errors import ClaimError, Problem, ProductError
from .inheritance import merge_patch
from .loader import TEST_SUFFIXES
from .product_book import ProductBook, load_products
from .rewrite import RewriteError, rewrite
from .yaml_reader import Document, load_document, load_file

TEST_SCHEMA = schemas.load("tests.schema.json")
_VALIDATOR = product_schema.shipped_validator(TEST_SCHEMA)
COMPARED = ("outcome", "settlement", "payout", "excess", "depreciation", "reasons", "clauses",
            "missing_documents", "benefits", "error", "path")
LINE_KEYS = ("benefit", "outcome", "payout", "excess", "reasons", "clauses")
DECISION_KEYS = ("outcome", "settlement", "payout", "excess", "depreciation", "reasons", "clauses",
                 "missing_documents", "benefits")
_MONEY = re.compile(r"(-?[0-9]+(?:\.[0-9]+)?) ([A-Z]{3})\Z")


@dataclass
class CaseResult:
    file: str
    line: int
    name: str
    product: str
    expected: dict
    actual: dict
    trace: tuple[str, ...] = ()
    index: int = 0                    # the case's place in its file's `cases`
    updated: bool = False             # it failed, and --update rewrote its expectations

    @property
    def differences(self) -> list[str]:
        return [key for key in self.expected if not _matches(key, self.expected[key], self.actual.get(key))]

    @property
    def passed(self) -> bool:
        return not self.differences

    @property
    def failed(self) -> bool:
        return not self.passed and not self.updated


@dataclass(frozen=True)
class Change:
    """One expectation rewritten by --update."""
    file: str
    case: str
    line: int
    what: str
    old: object
    new: object

    def text(self) -> str:
        return f"case '{self.case}' (line {self.line}): {self.what} {_show(self.old)} -> {_show(self.new)}"


@dataclass
class Coverage:
    """For one product: every item that could be exercised, and those that were."""
    product: str
    items: dict[str, set] = field(default_factory=dict)        # kind -> all items
    hit: dict[str, set] = field(default_factory=dict)          # kind -> items exercised
    unreachable: dict[str, str] = field(default_factory=dict)  # item text -> why no claim can reach it
    inherited: dict[str, str] = field(default_factory=dict)    # item text -> the base whose test file says so
    untested: bool = False                                      # the product has no test file: 0 %

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
        if self.untested:
            return Decimal("0.0")
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
    changes: list[Change] = field(default_factory=list)      # what --update rewrote
    deselected: int = 0                                      # cases -k left out
    stopped: bool = False                                    # -x stopped at the first failure

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if r.failed)

    @property
    def updated(self) -> int:
        return sum(1 for r in self.results if r.updated)

    def coverage_percent(self) -> Decimal:
        total = sum(c.total for c in self.coverage.values())
        covered = sum(c.covered for c in self.coverage.values() if not c.untested)
        return Decimal(100) if not total else (Decimal(covered) * 100 / total).quantize(Decimal("0.1"))


def suite_claims(path: str) -> list[dict]:
    """The claims of a test file's cases that expect a decision (not an error): realistic claims."""
    suite = load_file(path).data
    base = {**(suite.get("base") or {}), "product": suite["product"]}
    return [merge_patch(base, case.get("claim") or {}) for case in suite["cases"] if "error" not in case["expect"]]


def find_test_files(paths: Iterable[str]) -> list[str]:
    """The test files of `paths`: a folder's *.tests.yaml, a test file itself, and for a product
    file its own test file beside it (`policyconf test products/accidental-damage.yaml`)."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            files += [os.path.join(path, name) for name in sorted(os.listdir(path)) if name.endswith(TEST_SUFFIXES)]
        else:
            files.append(own_test_file(path) or path)
    return files


def own_test_file(path: str) -> str | None:
    """`path` when it is a test file; for a product file (*.yaml, *.yml), its test file beside it
    when there is one; None for a product file without one."""
    if path.endswith(TEST_SUFFIXES) or not path.endswith((".yaml", ".yml")):
        return path
    stem = path[:path.rfind(".")]
    return next((stem + suffix for suffix in TEST_SUFFIXES if os.path.isfile(stem + suffix)), None)


def suite_file_beside(path: str) -> str:
    """The name a product file's test file would have."""
    return path[:path.rfind(".")] + TEST_SUFFIXES[0]


def untested_product(path: str) -> bool:
    """Whether `path`, named to `policyconf test`, is a product file with no test file beside it
    (a test file under another name, with its `cases`, is run as one)."""
    if own_test_file(path) is not None:
        return False
    try:
        data = load_file(path).data
    except ProductError:
        return False                     # not readable: the runner reports why, at its line
    return isinstance(data, dict) and "cases" not in data and bool({"id", "extends", "fields"} & set(data))


# -- selecting cases (-k) ----------------------------------------------------------------------
def selector(pattern: str) -> Callable[[Iterable[str]], bool]:
    """pytest's -k: `pattern` is a substring of the case's name, file or product (any case); words
    may be combined with `and`, `or`, `not` and parentheses (`-k "excess and not day 184"`).
    Words next to each other are one phrase (`-k "day 184"`). Raises ValueError for a bad pattern."""
    tokens = re.findall(r"[()]|[^\s()]+", pattern)
    position = 0

    def peek():
        return tokens[position] if position < len(tokens) else None

    def take():
        nonlocal position
        position += 1
        return tokens[position - 1]

    def either():
        left = both()
        while peek() == "or":
            take()
            right = both()
            left = (lambda a, b: lambda texts: a(texts) or b(texts))(left, right)
        return left

    def both():
        left = negation()
        while peek() == "and":
            take()
            right = negation()
            left = (lambda a, b: lambda texts: a(texts) and b(texts))(left, right)
        return left

    def negation():
        token = peek()
        if token == "not":
            take()
            inner = negation()
            return lambda texts: not inner(texts)
        if token == "(":
            take()
            inner = either()
            if peek() != ")":
                raise ValueError(f"-k {pattern!r}: a '(' is not closed")
            take()
            return inner
        words = []
        while peek() is not None and peek() not in ("and", "or", "not", "(", ")"):
            words.append(take())
        if not words:
            raise ValueError(f"-k {pattern!r}: expected a word {'after ' + repr(token) if token else 'at the end'}"
                             if token != ")" else f"-k {pattern!r}: a ')' without its '('")
        phrase = " ".join(words).lower()
        return lambda texts: any(phrase in text.lower() for text in texts)

    if not tokens:
        return lambda texts: True
    chosen = either()
    if position < len(tokens):
        raise ValueError(f"-k {pattern!r}: unexpected {tokens[position]!r}")
    return chosen


# -- comparing ---------------------------------------------------------------------------------
def _money(text):
    """(amount, currency) of `129.00 EUR`, or None."""
    match = _MONEY.match(text) if isinstance(text, str) else None
    return (Decimal(match.group(1)), match.group(2)) if match else None


def _decimal(text):
    try:
        return Decimal(text) if isinstance(text, str) else None
    except InvalidOperation:
        return None


def _matches(key: str, expected, actual) -> bool:
    """Money and rates compare by value (`129 EUR` is `129.00 EUR`); benefit lines line by line, each
    on the keys it gives; everything else exactly."""
    if key in ("payout", "excess"):
        left, right = _money(expected), _money(actual)
        return left == right if left is not None and right is not None else expected == actual
    if key == "depreciation":
        left, right = _decimal(expected), _decimal(actual)
        return left == right if left is not None and right is not None else expected == actual
    if key != "benefits" or not isinstance(expected, list) or not isinstance(actual, list):
        return expected == actual
    return len(expected) == len(actual) and all(
        all(_matches(name, line.get(name), got.get(name)) for name in line) for line, got in zip(expected, actual))


def _money_text(money: dict | None) -> str | None:
    return None if money is None else f"{money['amount']} {money['currency']}"


def _actual(result: dict) -> dict:
    if "error" in result:
        return {"error": result["error"]["code"], "path": result["error"]["path"]}
    actual = {"outcome": result["outcome"], "settlement": result["settlement"],
              "payout": _money_text(result["payout"]), "excess": _money_text(result["excess"]),
              "depreciation": result["depreciation"], "reasons": [r["code"] for r in result["reasons"]],
              "clauses": [r["clause"] for r in result["reasons"]],
              "missing_documents": result["missing_documents"]}
    if "benefits" in result:
        actual["benefits"] = [{"benefit": line["benefit"], "outcome": line["outcome"],
                               "payout": _money_text(line["payout"]), "excess": _money_text(line["excess"]),
                               "reasons": [r["code"] for r in line["reasons"]],
                               "clauses": [r["clause"] for r in line["reasons"]]} for line in result["benefits"]]
    return actual


def _text(value):
    if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list):
        return [_text(item) for item in value]
    if isinstance(value, dict):
        return {key: _text(item) for key, item in value.items()}
    return value


def _expected(expect: dict) -> dict:
    return {key: _text(expect[key]) for key in COMPARED if key in expect}


# -- checking a test file ----------------------------------------------------------------------
def _with_source(problem: Problem, document: Document | None) -> Problem:
    if problem.source_line is None and document is not None:
        return dataclasses.replace(problem, source_line=document.line_text(problem.line))
    return problem


def _check_document(document: Document) -> list[Problem]:
    problems, seen = [], set()
    for top in _VALIDATOR.iter_errors(document.data):
        for error in product_schema._leaves(top):
            for problem in product_schema._describe(error, tuple(error.absolute_path), document,
                                                    whole="the test file"):
                key = (problem.line, problem.column, problem.code, problem.message)
                if key not in seen:
                    seen.add(key)
                    problems.append(_with_source(problem, document))
    return sorted(problems)


@dataclass(frozen=True)
class _Names:
    """What a product's decisions can name, over all its versions."""
    product: str
    rules: frozenset
    clauses: frozenset
    documents: frozenset
    benefits: frozenset
    kinds: frozenset

    @classmethod
    def of(cls, product_id: str, versions) -> "_Names":
        rules = [rule for version in versions for rule in version.rules()]
        return cls(product_id, frozenset(r.id for r in rules), frozenset(r.clause for r in rules if r.clause),
                   frozenset(d.document for version in versions for d in version.all_documents()),
                   frozenset(s.id for version in versions if version.benefits for s in version.benefits.sections),
                   frozenset(kind for version in versions for kind in version.settlement_kinds))


def _check_references(document: Document, index: int, expect: dict, names: _Names) -> list[Problem]:
    """The rules, clauses, documents, benefit sections and settlement kind an expectation names
    must be the product's: a misspelt reason would otherwise only show as a failing case."""
    problems = []
    at = ("cases", index, "expect")
    product = names.product

    def check(path, value, known, what):
        if isinstance(value, str) and value not in known:
            problems.append(document.problem(path, *what(value, suggest(value, sorted(known)))))

    def rules(path, values):
        for i, value in enumerate(values or ()):
            check(path + (i,), value, names.rules,
                  lambda v, hint: (E.REF_UNKNOWN_RULE, f"no rule '{v}' in {product}{hint}"))

    def clauses(path, values):
        for i, value in enumerate(values or ()):
            check(path + (i,), value, names.clauses,
                  lambda v, hint: (E.REF_UNKNOWN_CLAUSE, f"no rule of {product} has the clause '{v}'{hint}"))

    rules(at + ("reasons",), expect.get("reasons"))
    clauses(at + ("clauses",), expect.get("clauses"))
    for i, value in enumerate(expect.get("missing_documents") or ()):
        check(at + ("missing_documents", i), value, names.documents,
              lambda v, hint: (E.REF_UNKNOWN_DOCUMENT, f"no document '{v}' in {product}{hint}"))
    if names.kinds and expect.get("settlement") is not None:
        check(at + ("settlement",), expect["settlement"], names.kinds,
              lambda v, hint: (E.REF_UNKNOWN_KIND, f"'{v}' is not a settlement kind of {product} "
                               f"({', '.join(sorted(names.kinds))}){hint}"))
    for i, line in enumerate(expect.get("benefits") or ()):
        check(at + ("benefits", i, "benefit"), line.get("benefit"), names.benefits,
              lambda v, hint: (E.REF_UNKNOWN_BENEFIT, f"no benefit section '{v}' in {product}{hint}"
                               if names.benefits else f"{product} has no benefit sections"))
        rules(at + ("benefits", i, "reasons"), line.get("reasons"))
        clauses(at + ("benefits", i, "clauses"), line.get("clauses"))
    return problems


def _own_suite(path: str, product_id: str, cache: dict) -> dict | None:
    if path not in cache:
        try:
            document = load_file(path)
        except ProductError:
            document = None
        cache[path] = document.data if document is not None and isinstance(document.data, dict) else None
    suite = cache[path]
    return suite if suite is not None and suite.get("product") == product_id else None


def _inherited_unreachable(product_id: str, book: ProductBook, folders: list[str], suites: dict,
                           cache: dict) -> list[tuple[str, str, str]]:
    """(item, why, base) of the `unreachable:` lists of the test files of the product's bases."""
    found, seen = [], {product_id}
    current = product_id
    while current in book.ids:
        base = next((v.extends for v in book.versions(current) if v.extends), None)
        if base is None or base in seen:
            break
        seen.add(base)
        suite = suites.get(base)
        for folder in folders:
            for suffix in TEST_SUFFIXES:
                if suite is None:
                    suite = _own_suite(os.path.join(folder, base + suffix), base, cache)
        for entry in (suite or {}).get("unreachable") or ():
            if isinstance(entry, dict) and isinstance(entry.get("item"), str) and isinstance(entry.get("why"), str):
                found.append((entry["item"], entry["why"], base))
        current = base
    return found


# -- running -----------------------------------------------------------------------------------
def run(paths: Iterable[str], products: str | None = None, *, select: Callable | None = None,
        first_failure: bool = False, update: bool = False) -> SuiteRun:
    """Run every test file under `paths` against the products in `products` (default: the file's folder).

    `select(texts)`: whether to run a case, given its name, file and product (for -k);
    `first_failure`: stop at the first failing case or problem (-x); `update`: rewrite the
    expectations of failing cases in their file (--update)."""
    paths = list(paths)
    run_result = SuiteRun()
    books: dict[str, ProductBook | None] = {}
    files = find_test_files(paths)
    documents: dict[str, Document] = {}
    suites: dict[str, dict] = {}                 # product id -> its test file's data
    tested: set[str] = set()                     # product ids that have a test file
    for file in files:
        name = os.path.basename(file)
        tested.add(next((name[:-len(s)] for s in TEST_SUFFIXES if name.endswith(s)), name))
        try:
            document = load_file(file)
        except ProductError as error:
            run_result.problems.extend(error.problems)
            continue
        if not isinstance(document.data, dict):
            run_result.problems.append(Problem(file, 1, 1, E.SCHEMA_TYPE, "a test file must be a mapping of keys "
                                               "(product, base, cases, ...)", source_line=document.line_text(1)))
            continue
        if isinstance(document.data.get("product"), str):
            tested.add(document.data["product"])
        problems = _check_document(document)
        if problems:
            run_result.problems.extend(problems)
            continue
        documents[file] = document
        suites.setdefault(document.data["product"], document.data)
    cache: dict = {}
    for file, document in documents.items():
        if run_result.stopped or (first_failure and run_result.problems):
            run_result.stopped = True
            break
        folder = products or os.path.dirname(file) or "."
        book = _book(folder, books, run_result)
        if book is None:
            continue
        _run_file(file, document, folder, book, suites, cache, run_result, select, first_failure, update)
    if not run_result.stopped:
        for path in paths:
            if os.path.isdir(path) and find_test_files([path]):
                _untested(products or path, books, tested, run_result)
    run_result.problems.sort()
    return run_result


def run_document(file: str, document: Document, book: ProductBook, suites: dict, run_result: SuiteRun, *,
                 select: Callable | None = None, first_failure: bool = False) -> None:
    """Run the cases of a test file already read and checked (`document`) against `book`, adding
    the results to `run_result`: what `policyconf test --mutate` (engine.mutate) runs against each
    mutant. `suites`: product id -> test file data, for what bases' test files leave out."""
    _run_file(file, document, os.path.dirname(file) or ".", book, suites, {}, run_result, select, first_failure,
              False)


def _book(folder: str, books: dict, run_result: SuiteRun) -> ProductBook | None:
    if folder not in books:
        try:
            books[folder] = load_products(folder)
        except ProductError as error:
            run_result.problems.extend(error.problems)
            books[folder] = None
    return books[folder]


def _untested(folder: str, books: dict, tested: set, run_result: SuiteRun) -> None:
    """A product of the folder without a test file counts, at 0 %."""
    book = _book(folder, books, run_result)
    for product_id in book.ids if book is not None else ():
        if product_id in tested:
            continue
        for version in book.versions(product_id):
            name = f"{product_id} {version.version}"
            if name not in run_result.coverage:
                coverage = Coverage.of(version)
                coverage.product, coverage.untested = name, True
                run_result.coverage[name] = coverage


def _run_file(file, document, folder, book, suites, cache, run_result, select, first_failure, update) -> None:
    suite = document.data
    product_id = suite["product"]
    if product_id not in book.ids:
        run_result.problems.append(document.problem(("product",), E.REF_UNKNOWN_PRODUCT,
                                                    f"no product '{product_id}' in {folder}"
                                                    + suggest(product_id, book.ids)))
        return
    versions = book.versions(product_id)
    for version in versions:
        name = f"{product_id} {version.version}"
        if name not in run_result.coverage:
            coverage = Coverage.of(version)
            coverage.product = name
            run_result.coverage[name] = coverage
    coverages = [run_result.coverage[f"{product_id} {v.version}"] for v in versions]
    for item, why, base in _inherited_unreachable(product_id, book, [os.path.dirname(file) or ".", folder],
                                                  suites, cache):
        for coverage in coverages:
            if item in coverage.names():
                coverage.unreachable[item] = why
                coverage.inherited[item] = base
    for index, entry in enumerate(suite.get("unreachable") or ()):
        for coverage in coverages:
            if entry["item"] not in coverage.names():
                run_result.problems.append(document.problem(
                    ("unreachable", index, "item"), E.REF_UNKNOWN_ITEM,
                    f"'{entry['item']}' is not an item of {product_id}'s coverage"
                    + suggest(entry["item"], sorted(coverage.names()))))
                break
            coverage.unreachable[entry["item"]] = entry["why"]
            coverage.inherited.pop(entry["item"], None)
    names = _Names.of(product_id, versions)
    base = {**(suite.get("base") or {}), "product": product_id}
    results = []
    unresolved: dict[int, list[Problem]] = {}      # --update: problems of cases rewriting may resolve
    for index, case in enumerate(suite["cases"]):
        if select is not None and not select((case["name"], file, product_id)):
            run_result.deselected += 1
            continue
        problems = _check_references(document, index, case["expect"], names)
        if problems and not update:          # --update runs the case, and rewrites what it names
            run_result.problems.extend(problems)
            if first_failure:
                run_result.stopped = True
                break
            continue
        claim = merge_patch(base, case.get("claim") or {})
        hits: set = set()
        trace: tuple[str, ...] = ()
        try:
            decision = book.evaluate(claim, hits=hits)
            result = decision.to_dict()
            trace = decision.trace
            version = next(v for v in versions if v.version == decision.product_version)
            run_result.coverage[f"{product_id} {version.version}"].record(hits)
        except ClaimError as error:
            result = error.to_dict()
        span = document.span(("cases", index))
        outcome = CaseResult(file, span.line, case["name"], product_id, _expected(case["expect"]),
                             _actual(result), trace, index)
        results.append(outcome)
        run_result.results.append(outcome)
        if problems:
            unresolved[index] = problems
        if first_failure and not outcome.passed and not update:
            run_result.stopped = True
            break
    if update:
        _update(document, [r for r in results if not r.passed], run_result)
        for result in results:
            if not result.updated:
                run_result.problems.extend(unresolved.get(result.index, ()))
        if first_failure and any(r.failed for r in results):
            run_result.stopped = True


# -- --update ----------------------------------------------------------------------------------
def _new_expectations(document: Document, result: CaseResult) -> list[tuple[tuple, object, object, str]]:
    """(path, old, new, what) for each value of the case's `expect` that must change."""
    at = ("cases", result.index, "expect")
    expect = document.value_at(at)
    actual = result.actual
    decision = "error" not in actual
    if any(key in result.expected for key in ("error", "path")) == decision:
        # a decision where an error was expected, or the other way round: the whole expectation
        if decision:
            keys = [k for k in DECISION_KEYS if k in result.expected] or \
                ["outcome", "payout", *(["reasons", "clauses"] if actual["reasons"] else [])]
            new = {key: actual[key] for key in ["outcome", *keys] if key in actual}
            new = dict(sorted(new.items(), key=lambda item: DECISION_KEYS.index(item[0])))
        else:
            new = {"error": actual["error"], "path": actual["path"]}
        return [(at, expect, new, "expect")]
    changes = []
    for key in result.differences:
        got = actual.get(key)
        if key == "benefits" and isinstance(got, list) and isinstance(expect.get(key), list) \
                and len(got) == len(expect[key]):
            for i, (line, actual_line) in enumerate(zip(expect[key], got)):
                for name in line:
                    if not _matches(name, _text(line[name]), actual_line.get(name)):
                        changes.append((at + (key, i, name), line[name], actual_line.get(name),
                                        f"benefits[{i}].{name}"))
            continue
        if key == "benefits" and isinstance(got, list):
            keys = [k for k in LINE_KEYS if any(k in line for line in expect.get(key) or ())] or list(LINE_KEYS)
            got = [{name: line[name] for name in LINE_KEYS if name in keys or name == "benefit"} for line in got]
        if got is None and key == "benefits":
            return []                   # no benefit lines to write down: the case stays failed
        changes.append((at + (key,), expect.get(key), got, key))
    return changes


def _update(document: Document, failing: list[CaseResult], run_result: SuiteRun) -> None:
    if not failing:
        return
    planned = [(result, change) for result in failing for change in _new_expectations(document, result)]
    try:
        text = rewrite(document, [(path, new) for _, (path, _, new, _) in planned])
    except RewriteError as error:
        run_result.problems.append(document.problem(("cases", failing[0].index, "expect"), E.TEST_UPDATE,
                                                    f"--update could not rewrite {document.file}: {error}"))
        return
    try:
        with open(document.file, "rb") as handle:
            bom = handle.read(3) == b"\xef\xbb\xbf"
        with open(document.file, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
            handle.write(text)
    except OSError as error:
        run_result.problems.append(Problem(document.file, 1, 1, E.FILE_UNREADABLE,
                                           f"--update could not write the file: {error.strerror}"))
        return
    again = load_document(text, document.file)          # the lines as they are now
    changes = []
    for result, (path, old, new, what) in planned:
        result.updated = True
        changes.append(Change(document.file, result.name, again.span(path).line, what, old, new))
    run_result.changes.extend(sorted(changes, key=lambda change: change.line))


# -- the report --------------------------------------------------------------------------------
def _show(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) if not isinstance(v, str) else (f'"{v}"' if ", " in v else v)
                               for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    return "null" if value is None else str(value)


_COLOURS = {"green": "\x1b[32m", "red": "\x1b[31m", "bold red": "\x1b[1;31m", "yellow": "\x1b[33m"}


def _painter(colour: bool) -> Callable[[str, str], str]:
    if not colour:
        return lambda text, _name: text
    return lambda text, name: f"{_COLOURS[name]}{text}\x1b[0m"


def _summary(run_result: SuiteRun) -> str:
    summary = f"{run_result.passed} passed, {run_result.failed} failed"
    if run_result.updated:
        summary += f", {run_result.updated} updated"
    if run_result.deselected:
        summary += f", {run_result.deselected} deselected"
    if run_result.problems:
        summary += f", {len(run_result.problems)} error{'s' if len(run_result.problems) != 1 else ''}"
    return summary


def _differences_text(result: CaseResult) -> str:
    return "\n".join(f"{key}: expected {_show(result.expected[key])}, actual {_show(result.actual.get(key))}"
                     for key in result.differences)


def under(run_result: SuiteRun, fail_under: Decimal | None) -> bool:
    """Whether coverage is under the --fail-under gate."""
    return fail_under is not None and run_result.coverage_percent() < fail_under


def report(run_result: SuiteRun, coverage: bool = False, write=print, colour: bool = False,
           format: str = "text", fail_under: Decimal | None = None) -> None:
    """A pytest-like report: a line per file, the failures side by side, coverage, the summary line.

    `colour`: ANSI colours (green dots, red F and FAILED headings), for a terminal only.
    `format="github"`: a workflow annotation (`::error file=...`) per problem and per failing case
    in place of the progress lines and the failures."""
    paint = _painter(colour and format == "text")
    if format == "github":
        for problem in run_result.problems:
            write(problem.annotation())
        for result in run_result.results:
            if result.failed:
                write(E.annotation("error", result.file, result.line, _differences_text(result),
                                   title=f"policyconf test: {result.name}"))
    else:
        for problem in run_result.problems:
            write(problem.format())
        by_file: dict[str, list[CaseResult]] = {}
        for result in run_result.results:
            by_file.setdefault(result.file, []).append(result)
        for file, results in by_file.items():
            marks = "".join("." if r.passed else "U" if r.updated else "F" for r in results)
            runs = re.finditer(r"(.)\1*", marks)
            write(f"{file} " + "".join(paint(run.group(), {".": "green", "U": "yellow", "F": "red"}[run.group(1)])
                                       for run in runs))
        for result in run_result.results:
            if not result.failed:
                continue
            write("")
            write(paint(f"FAILED {result.file}:{result.line}: {result.name}", "bold red"))
            width = max(len(k) for k in result.expected)
            write(f"  {'':{width}}  {'expected':32}  actual")
            for key in result.expected:
                marker = "  " if key not in result.differences else paint("≠", "red") + " "
                write(f"{marker}{key:{width}}  {_show(result.expected[key]):32}  {_show(result.actual.get(key))}")
            if result.trace:
                write("  trace:")
                for step in result.trace:
                    write(f"    {step}")
    if run_result.changes:
        write("")
        file = None
        for change in run_result.changes:
            if change.file != file:
                file = change.file
                write(paint(f"updated {file}", "yellow"))
            write(f"  {change.text()}")
    if coverage and run_result.coverage:
        write("")
        write("coverage (what the cases exercised)")
        for cov in run_result.coverage.values():
            if cov.untested:
                write(f"  {cov.product}: no test file: {cov.percent}%")
                continue
            parts = "  ".join(f"{kind} {len(cov.hit[kind] & cov._counted(kind))}/{len(cov._counted(kind))}"
                              for kind in Coverage.KINDS)
            write(f"  {cov.product}: {parts}  {cov.percent}%")
            for kind, items in cov.missing().items():
                write(f"    not exercised, {kind}: {', '.join(items)}")
            for item, why in sorted(cov.unreachable.items()):
                base = cov.inherited.get(item)
                write(f"    unreachable, left out: {item}: {why}" + (f" (from {base}'s tests)" if base else ""))
        write(f"  total: {run_result.coverage_percent()}%")
    if run_result.stopped:
        write("")
        write("stopped at the first failure (-x)")
    if under(run_result, fail_under):
        write(f"coverage {run_result.coverage_percent()}% is under --fail-under {fail_under}%")
    ok = not run_result.failed and not run_result.problems and not under(run_result, fail_under)
    write(paint(_summary(run_result), "green" if ok else "red"))


__all__ = ["run", "run_document", "report", "selector", "suite_claims", "find_test_files", "Coverage", "CaseResult",
           "Change", "SuiteRun"]
