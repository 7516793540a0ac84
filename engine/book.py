"""Loading a directory of products into a `ProductBook`, and evaluating claims with it.

Stages, each named: read and parse YAML (positions kept) → JSON Schema →
resolve `extends` (JSON Merge Patch over the base version) → build (fields,
events, tables, bands, definitions, rules, settlement: every expression
parsed, checked and compiled) → version chains.  Every problem of every file
is collected and raised at the end as one `ProductError`.

A `ProductBook` is immutable after loading: share it between threads.
"""
from __future__ import annotations

import copy
import hashlib
import os
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable

from ..dsl.checker import suggest

from . import errors as E
from . import schema
from .build import Builder
from .claims import clip, parse_date
from .decision import Decision
from .errors import ClaimError, Problem, ProductError
from .evaluate import decide
from .model import Product
from .source import Document, Span, load_document, read_text

PRODUCT_SUFFIXES = (".yaml", ".yml")
TEST_SUFFIXES = (".tests.yaml", ".tests.yml")
_IDENTITY = ("id", "name", "version", "effective_from", "effective_until", "extends", "wording")


def product_files(paths: Iterable[str]) -> list[str]:
    """The product files named by `paths`: files as given, directories' *.yaml (not *.tests.yaml)."""
    files: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                full = os.path.join(path, name)
                if name.endswith(PRODUCT_SUFFIXES) and not name.endswith(TEST_SUFFIXES) and os.path.isfile(full):
                    files.append(full)
        elif os.path.exists(path):
            files.append(path)
    return files


class Source:
    """Maps a path in (merged) product data to the file and position it came from."""

    def __init__(self, document: Document):
        self.main = document                                  # the product's own file
        self.documents: dict[tuple, Document] = {(): document}  # path prefix -> file it came from

    def _document(self, path) -> tuple[Document, tuple]:
        path = tuple(path)
        for length in range(len(path), -1, -1):
            document = self.documents.get(path[:length])
            if document is not None:
                return document, path
        return self.main, path  # pragma: no cover - () is always there

    def problem(self, path, code, message, key=False, severity="error", offset=None) -> Problem:
        document, path = self._document(path)
        return document.problem(path, code, message, key=key, severity=severity, offset=offset)

    def span(self, path, key: bool = False) -> Span:
        document, path = self._document(path)
        return document.span(path, key)

    def raw(self, path) -> str | None:
        document, path = self._document(path)
        return document.raw(path)

    def file_of(self, path) -> str:
        return self.main.file if not path else self._document(path)[0].file

    def position(self, path, offset: tuple[int, int]) -> tuple[str, int, int]:
        """(file, line, column) of a position inside the expression at `path`."""
        document, path = self._document(path)
        return (document.file, *document.position(path, offset))

    def all_documents(self) -> list[Document]:
        """Every file the product's data came from (its own, and its bases')."""
        return list({id(d): d for d in [self.main, *self.documents.values()]}.values())

    def derive(self, base: dict, patch: dict, document: Document) -> "Source":
        """The source of `base + patch`: the paths the patch sets come from `document`."""
        merged = Source(document)
        merged.documents = dict(self.documents)

        def mark(value, path, base_value):
            if isinstance(value, dict) and value and isinstance(base_value, dict):
                for key, sub in value.items():
                    mark(sub, path + (key,), base_value.get(key))
                return
            for existing in [p for p in merged.documents if p[:len(path)] == path and len(p) > len(path)]:
                del merged.documents[existing]
            merged.documents[path] = document

        for key, value in patch.items():
            mark(value, (key,), base.get(key))
        return merged


def merge_patch(base: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch: mappings merge key by key, null removes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _unchanged(base: Any, patch: Any, path: tuple = ()) -> Iterable[tuple]:
    """Paths where a patch sets what the base already has."""
    if isinstance(patch, dict) and isinstance(base, dict):
        for key, value in patch.items():
            if key in base and value is not None:
                yield from _unchanged(base[key], value, path + (key,))
    elif path and patch == base:
        yield path


@dataclass
class _Version:
    document: Document
    data: dict
    digest: str
    effective_from: date | None = None
    merged: dict | None = None
    source: Source | None = None
    product: Product | None = None
    resolving: bool = False


@dataclass
class Loaded:
    """What loading found: the products built and every problem (warnings included)."""
    products: dict[str, tuple[Product, ...]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def load(paths: Iterable[str] | str) -> Loaded:
    """Load products, collecting problems instead of raising (for `policyconf validate`)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [os.fspath(paths)]
    problems: list[Problem] = []
    versions: dict[str, list[_Version]] = {}
    files = product_files(paths)
    for path in paths:
        if not os.path.exists(path):
            problems.append(Problem(path, 1, 1, E.FILE_UNREADABLE, "no such file or directory"))
    for file in files:
        try:
            text = read_text(file)
            document = load_document(text, file)
        except ProductError as error:
            problems.extend(error.problems)
            continue
        data = document.data
        if not isinstance(data, dict):
            problems.append(Problem(file, 1, 1, E.SCHEMA_TYPE, "a product file must be a mapping of keys "
                                    f"(id, name, version, ...), not {type(data).__name__ if data is not None else 'empty'}",
                                    source_line=document.line_text(1)))
            continue
        found = schema.check(data, document, patch="extends" in data)
        problems.extend(found)
        if found:
            continue
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        version = _Version(document, data, digest, date.fromisoformat(data["effective_from"]))
        versions.setdefault(data["id"], []).append(version)
    if not files and not problems:
        problems.append(Problem(", ".join(paths) or ".", 1, 1, E.PRODUCT_NONE, "no product files (*.yaml) found"))

    for product_id, chain in versions.items():
        chain.sort(key=lambda v: v.effective_from)
        problems.extend(_check_chain(product_id, chain))
    for chain in versions.values():
        for version in chain:
            _resolve(version, versions, problems)
    loaded = Loaded(problems=problems)
    for product_id, chain in versions.items():
        built = tuple(v.product for v in chain if v.product is not None)
        if built and len(built) == len(chain):
            dates = {p.version_date for p in built}
            if len(built) > 1 and None in dates:
                version = next(v for v in chain if v.product.version_date is None)
                loaded.problems.append(version.document.problem(
                    ("effective_from",), E.REF_UNKNOWN_FIELD, f"'{product_id}' has {len(built)} versions, chosen by "
                    "policy.purchased, which this version does not declare as a date field; declare it, or name "
                    "the date field that chooses the version with `version_date`", key=True))
                continue
            if len(dates) > 1:
                version = next(v for v in chain if v.product.version_date != built[0].version_date)
                loaded.problems.append(version.document.problem(
                    ("version_date",), E.REF_UNKNOWN_FIELD, f"the versions of '{product_id}' are chosen by "
                    f"different dates ({', '.join(sorted(str(d) for d in dates))}); one product has one version "
                    "date"))
                continue
            loaded.products[product_id] = built
    loaded.problems.sort()
    return loaded


def _check_chain(product_id: str, chain: list[_Version]) -> list[Problem]:
    problems = []
    for previous, version in zip(chain, chain[1:]):
        where = ("effective_from",)
        if version.effective_from == previous.effective_from:
            problems.append(version.document.problem(
                where, E.PRODUCT_DUPLICATE, f"two versions of '{product_id}' take effect on "
                f"{version.effective_from} (the other is {previous.document.file})"))
            continue
        until = previous.data.get("effective_until")
        if until is not None:
            until = date.fromisoformat(until)
            if until >= version.effective_from:
                problems.append(version.document.problem(
                    where, E.PRODUCT_DUPLICATE, f"versions overlap: {previous.document.file} runs until {until}, "
                    f"this version starts {version.effective_from}"))
            elif (version.effective_from - until).days > 1:
                problems.append(version.document.problem(
                    where, E.PRODUCT_DUPLICATE, f"gap between versions: {previous.document.file} ends {until}, "
                    f"this version starts {version.effective_from}; policies bought in between have no version"))
    return problems


def _resolve(version: _Version, versions: dict[str, list[_Version]], problems: list[Problem]) -> None:
    """Merge `extends`, then build.  Bases are resolved first; cycles are reported."""
    if version.product is not None or version.merged is not None:
        return
    data = version.data
    base_id = data.get("extends")
    if base_id is None:
        version.merged, version.source = data, Source(version.document)
    else:
        if version.resolving:
            problems.append(version.document.problem(("extends",), E.REF_EXTENDS_CYCLE,
                                                     f"'{data['id']}' extends itself (through '{base_id}')"))
            return
        chain = versions.get(base_id)
        if not chain:
            problems.append(version.document.problem(("extends",), E.REF_UNKNOWN_PRODUCT,
                                                     f"extends unknown product '{base_id}'"
                                                     + suggest(base_id, versions)))
            return
        base = _version_on(chain, version.effective_from)
        if base is None:
            problems.append(version.document.problem(
                ("extends",), E.REF_UNKNOWN_PRODUCT, f"no version of '{base_id}' is in effect on "
                f"{version.effective_from}"))
            return
        version.resolving = True
        try:
            _resolve(base, versions, problems)
        finally:
            version.resolving = False
        if base.merged is None:         # the base failed, or the cycle was reported
            return
        patch = {k: v for k, v in data.items() if k not in ("extends",)}
        inherited = {k: v for k, v in base.merged.items() if k not in _IDENTITY}
        for path in _unchanged(inherited, patch):
            problems.append(version.document.problem(
                path, E.PRODUCT_REDUNDANT_OVERRIDE, f"this changes nothing: {base_id} already has the same "
                f"value at {'.'.join(str(p) for p in path)}", severity="warning"))
        version.merged = merge_patch(inherited, patch)
        version.source = base.source.derive(inherited, patch, version.document)
        found = schema.check(version.merged, version.source)
        if found:
            problems.extend(found)
            return
        version.digest = hashlib.sha256((base.digest + version.digest).encode()).hexdigest()
    builder = Builder(version.merged, version.source, version.digest)
    product = builder.build()
    problems.extend(builder.problems)
    version.product = product


def _version_on(chain, day: date):
    candidates = [v for v in chain if v.effective_from <= day]
    return candidates[-1] if candidates else None


class ProductBook:
    """Every loaded product, by id and version.  Immutable; thread-safe; no I/O after loading."""

    def __init__(self, products: dict[str, tuple[Product, ...]], warnings: tuple[Problem, ...] = (),
                 audit=None):
        self._products = {pid: tuple(sorted(chain, key=lambda p: p.effective_from))
                          for pid, chain in products.items()}
        self.warnings = tuple(warnings)
        self.audit = audit            # an engine.audit.AuditLog: one record per decision, or None

    def with_audit(self, audit) -> "ProductBook":
        """The same products, writing every decision to `audit` (an `engine.audit.AuditLog`)."""
        book = ProductBook.__new__(ProductBook)
        book._products, book.warnings, book.audit = self._products, self.warnings, audit
        return book

    @property
    def ids(self) -> list[str]:
        return sorted(self._products)

    def versions(self, product_id: str) -> tuple[Product, ...]:
        return self._products[product_id]

    def product(self, product_id: str, purchased: date | None = None) -> Product:
        """The version of `product_id` in effect for a policy bought on `purchased` (default: the latest)."""
        chain = self._products[product_id]
        if purchased is None:
            return chain[-1]
        version = _version_on(chain, purchased)
        if version is None or (version.effective_until and purchased > version.effective_until):
            raise LookupError(purchased)
        return version

    def evaluate(self, claim: Any, *, hits: set | None = None) -> Decision:
        """Decide one claim.  Raises `ClaimError` (the contract's error object) for invalid input.

        `hits`: a set to collect what the claim exercised (rules, documents, events, bands,
        table rows), for test coverage.
        """
        claim_id = _claim_id(claim)
        product = None
        try:
            product = self._select(claim)
            values, currency = product.validator.validate(claim)
            decision = decide(product, values, currency, claim_id, hits)
        except ClaimError as error:
            error.claim_id = claim_id
            if self.audit is not None:
                self.audit.write(claim, error, product)
            raise
        if self.audit is not None:
            self.audit.write(claim, decision, product)
        return decision

    def decide(self, claim: Any) -> dict:
        """The decision document, or the error object for invalid input: never raises for bad input."""
        try:
            return self.evaluate(claim).to_dict()
        except ClaimError as error:
            return error.to_dict()

    def _select(self, claim: Any) -> Product:
        if type(claim) is not dict:
            raise ClaimError(E.CLAIM_NOT_OBJECT, "a claim must be an object", None)
        product_id = claim.get("product")
        if product_id is None:
            raise ClaimError(E.CLAIM_MISSING_FIELD, "product is required: the id of the product claimed under "
                             f"({', '.join(self.ids)})", "product")
        if type(product_id) is not str or product_id not in self._products:
            hint = suggest(product_id, self._products) if type(product_id) is str and len(product_id) <= 100 else ""
            raise ClaimError(E.CLAIM_UNKNOWN_PRODUCT, f"unknown product '{clip(product_id)}'{hint}"
                             f" (products: {', '.join(self.ids)})", "product")
        chain = self._products[product_id]
        path = chain[-1].version_date               # the same in every version (checked at load)
        raw = _at(claim, path) if path is not None else None
        if raw is None:
            return chain[-1]                # the validator reports the missing date
        day = parse_date(raw, path)
        version = _version_on(chain, day)
        if version is None:
            raise ClaimError(E.CLAIM_NO_VERSION, f"{path} {day} is before the first version of "
                             f"{product_id} ({chain[0].effective_from})", path)
        if version.effective_until and day > version.effective_until:
            raise ClaimError(E.CLAIM_NO_VERSION, f"no version of {product_id} is in effect on {day} "
                             f"(version {version.version} ended {version.effective_until})", path)
        return version


def _at(claim: dict, path: str):
    """The raw value at a dotted path of a claim document, or None."""
    value: Any = claim
    for part in path.split("."):
        if type(value) is not dict:
            return None
        value = value.get(part)
    return value


def _claim_id(claim: Any) -> str | None:
    if type(claim) is dict:
        inner = claim.get("claim")
        if type(inner) is dict and type(inner.get("id")) is str:
            return inner["id"]
    return None


def load_products(paths: Iterable[str] | str, *, audit=None) -> ProductBook:
    """Parse, validate and compile every product once.  Raises `ProductError` with every problem found.

    `audit`: an `engine.audit.AuditLog`; every decision (and every rejected claim) is written to it.
    """
    loaded = load(paths)
    if loaded.errors:
        raise ProductError(loaded.problems)
    return ProductBook(loaded.products, tuple(loaded.problems), audit)
