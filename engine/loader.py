"""Loading product files: the first stages of a product, for every file of a folder at once.

    read YAML with positions → JSON Schema → version chains → `extends` (a merge patch over the
    base version) → build (`engine.build`: parse, check, fold and compile every expression)

Every problem of every file is collected, sorted by position, and returned (`load`) for
`policyconf validate`; `load_products` (in `engine.product_book`) raises them as one
`ProductError`.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import date
from typing import Callable, Iterable, Mapping

from ..dsl.checker import suggest

from . import errors as E
from . import schema
from .build import Builder
from .errors import Problem, ProductError
from .inheritance import Source, merge_patch, unchanged
from .model import Product
from .yaml_reader import Document, decode, load_document, read_text

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
    # The product data each version was built from, beside `products` (a derived product's with
    # its base merged in): what `engine.diff` compares.
    data: dict[str, tuple[dict, ...]] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def load(paths: Iterable[str] | str) -> Loaded:
    """Load products, collecting problems instead of raising (for `policyconf validate`)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [os.fspath(paths)]
    problems: list[Problem] = []
    files = product_files(paths)
    for path in paths:
        if not os.path.exists(path):
            problems.append(Problem(path, 1, 1, E.FILE_UNREADABLE, "no such file or directory"))
    return _load(files, read_text, problems, ", ".join(paths) or ".")


def load_texts(texts: Mapping[str, str | bytes]) -> Loaded:
    """Load products from their text, by file name (`{"products/a.yaml": "id: a ..."}`): what
    `load` does with files, for product files that are not on disk (a git revision's, or those a
    Spark executor was sent). Bytes are decoded as a file's are; names that are not product files
    (`*.tests.yaml`) are left out."""
    def read(file: str) -> str:
        text = texts[file]
        return decode(text, file) if isinstance(text, (bytes, bytearray)) else text

    files = [name for name in sorted(texts)
             if name.endswith(PRODUCT_SUFFIXES) and not name.endswith(TEST_SUFFIXES)]
    return _load(files, read, [], ", ".join(sorted(texts)) or "(no files)")


def _load(files: list[str], read: Callable[[str], str], problems: list[Problem], where: str) -> Loaded:
    versions: dict[str, list[_Version]] = {}
    for file in files:
        try:
            text = read(file)
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
        problems.append(Problem(where, 1, 1, E.PRODUCT_NONE, "no product files (*.yaml) found"))

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
            loaded.data[product_id] = tuple(v.merged for v in chain)
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
        base = version_on(chain, version.effective_from)
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
        patch = dict(data)               # `extends` stays: the built product says what it extends
        inherited = {k: v for k, v in base.merged.items() if k not in _IDENTITY}
        for path in unchanged(inherited, patch):
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


def version_on(chain, day: date):
    """The version of a chain in effect on `day` (the latest that starts on or before it), or None."""
    candidates = [v for v in chain if v.effective_from <= day]
    return candidates[-1] if candidates else None


__all__ = ["load", "load_texts", "Loaded", "product_files", "version_on", "PRODUCT_SUFFIXES", "TEST_SUFFIXES"]
