"""Loading product files: the first stages of a product, for every file of a folder at once.

    read YAML with positions → JSON Schema → version chains → `extends` (a merge patch over the
    base version) → build (`engine.build`: parse, check, fold and compile every expression)

Every problem of every file is collected, sorted by position, and returned (`load`) for
`policyconf validate`; `load_products` (in `engine.product_book`) raises them as one
`ProductError`.
"""
from __future__ import annotations

import hashlib
import marshal
import os
import pickle
import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Callable, Iterable, Mapping

from . import cache
from . import errors as E
from .codegen import GeneratedCode
from .errors import Problem, ProductError
from .inheritance import Source, merge_patch, override_problems, unchanged, without
from .model import Product
from .yaml_reader import Document, decode, load_document, read_text

PRODUCT_SUFFIXES = (".yaml", ".yml")
TEST_SUFFIXES = (".tests.yaml", ".tests.yml")
_IDENTITY = ("id", "name", "version", "effective_from", "effective_until", "extends", "wording")
_ID_LINE = re.compile(r"^id:[ \t]*[\"']?([^\s\"'#]+)", re.M)   # a top-level `id: ...`, for a file that did not load


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
    done: bool = False          # resolved (built, or failed): each version is resolved once
    failed: bool = False        # it has errors of its own (or its base has): products extending it are not checked


@dataclass
class Loaded:
    """What loading found: the products built and every problem (warnings included)."""
    products: dict[str, tuple[Product, ...]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # bases read from a derived product's folder to build it, not named themselves: id -> files
    bases: dict[str, tuple[str, ...]] = field(default_factory=dict)
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
    return _load(files, read_text, problems, ", ".join(paths) or ".", beside=True)


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
    return _load(files, read, [], ", ".join(sorted(texts)) or "(no files)", beside=False)


def _load(files: list[str], read: Callable[[str], str], problems: list[Problem], where: str,
          beside: bool) -> Loaded:
    """`beside`: read the bases of derived products from their folders on disk (files only).

    What these files load to is kept in the cache (engine.cache), keyed by the text of every file
    it could read: the files themselves and, for `beside`, every product file of their folders.
    A second load of the same texts reads it back instead of building again (the same products,
    the same problems); any file that cannot be read, or problems found before, and it is built."""
    texts: dict[str, str] = {}
    key = None if problems else _key(files, read, beside, where, texts)
    entry = cache.entry("products", key) if key is not None else None
    if entry is not None:
        found = _thawed(cache.read(entry))
        if found is not None:
            return found
        read = _remembered(read, texts)
    loaded = _built(files, read, problems, where, beside)
    if entry is not None:
        cache.write(entry, _frozen(loaded))
    return loaded


def _use_grammar_cache() -> None:
    """The expression parser's tables in the cache too (imported here, not at the top: a load the
    cache answers needs neither the parser nor the schema nor the builder)."""
    from ..dsl import parser
    entry = ("grammar", parser.GRAMMAR_DIGEST)
    parser.use_store(lambda: cache.read(cache.entry(*entry)), lambda tables: cache.write(cache.entry(*entry), tables))


def _key(files: list[str], read: Callable[[str], str], beside: bool, where: str,
         texts: dict[str, str]) -> str | None:
    """The cache key of loading `files`: a hash of every text the load could read (None: one
    cannot be read, so the load reports it, and nothing is cached)."""
    if cache.directory() is None:
        return None
    digest = hashlib.sha256(f"{beside}\0{where}\0".encode("utf-8", "surrogatepass"))
    names = list(files)
    if beside:
        folders = sorted({os.path.dirname(file) or "." for file in files})
        names += [file for file in product_files(folders) if file not in files]
    for i, name in enumerate(names):
        try:
            text = read(name) if i < len(files) else read_text(name)
        except (ProductError, OSError, KeyError):
            return None
        if i < len(files):
            texts[name] = text
        digest.update(f"{i < len(files)}\0{name}\0{len(text)}\0".encode("utf-8", "surrogatepass"))
        digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:32]


def _remembered(read: Callable[[str], str], texts: dict[str, str]) -> Callable[[str], str]:
    def again(file: str) -> str:
        text = texts.get(file)
        return read(file) if text is None else text
    return again


def _frozen(loaded: Loaded) -> bytes:
    """A load as bytes for the cache: each product without its generated functions, with what they
    are made from (the marshalled code object, its constants, its source)."""
    products = {product_id: tuple((replace(product, code=None), marshal.dumps(product.code.parts[0]),
                                   *product.code.parts[1:], product.code.source) for product in chain)
                for product_id, chain in loaded.products.items()}
    return pickle.dumps((products, loaded.problems, loaded.bases, loaded.data), protocol=pickle.HIGHEST_PROTOCOL)


def _thawed(data: bytes | None) -> Loaded | None:
    """A load read back from the cache, or None (no entry, or one that does not read back)."""
    if not data:
        return None
    try:
        products, problems, bases, versions = pickle.loads(data)  # noqa: S301 - our own cache (engine.cache)
        built = {product_id: tuple(replace(product, code=GeneratedCode(product, marshal.loads(code), K, AT, info,
                                                                       source))
                                   for product, code, K, AT, info, source in chain)
                 for product_id, chain in products.items()}
    except Exception:                   # noqa: BLE001 - an entry of another build, or damaged: build again
        return None
    return Loaded(products=built, problems=problems, bases=bases, data=versions)


def _built(files: list[str], read: Callable[[str], str], problems: list[Problem], where: str,
           beside: bool) -> Loaded:
    _use_grammar_cache()
    versions: dict[str, list[_Version]] = {}
    failed: dict[str, str] = {}          # product id -> a file of it that did not load (YAML, schema)
    for file in files:
        version = _read(file, problems, failed=failed, read=read)
        if version is not None:
            versions.setdefault(version.data["id"], []).append(version)
    bases = _bases_beside(files, versions, problems) if beside else set()
    if not files and not problems:
        problems.append(Problem(where, 1, 1, E.PRODUCT_NONE, "no product files (*.yaml) found"))

    for product_id, chain in versions.items():
        chain.sort(key=lambda v: v.effective_from)
        problems.extend(_check_chain(product_id, chain))
    for chain in versions.values():
        for version in chain:
            _resolve(version, versions, failed, problems, [])
    loaded = Loaded(problems=problems, bases={base_id: tuple(v.document.file for v in versions[base_id])
                                              for base_id in sorted(bases)})
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
            if product_id not in bases:
                loaded.products[product_id] = built
                loaded.data[product_id] = tuple(v.merged for v in chain)
    loaded.problems = _unique(loaded.problems)
    return loaded


def _read(file: str, problems: list[Problem], wanted: str | None = None,
          failed: dict[str, str] | None = None, read: Callable[[str], str] = read_text) -> _Version | None:
    """A product file read and checked against the schema, or None after noting its problems (and,
    in `failed`, its product id: what extends it is then not checked). `wanted`: an id; a file of
    another product (or one that cannot be read) is then passed over without a word."""
    failed = {} if failed is None else failed
    text = None
    try:
        text = read(file)
        document = load_document(text, file)
    except ProductError as error:
        if wanted is None:
            problems.extend(error.problems)
            failed.setdefault(_id_of_broken(file, text), file)
        return None
    data = document.data
    if wanted is not None and (not isinstance(data, dict) or data.get("id") != wanted):
        return None
    if not isinstance(data, dict):
        failed.setdefault(_id_of_broken(file, text), file)
        problems.append(Problem(file, 1, 1, E.SCHEMA_TYPE, "a product file must be a mapping of keys "
                                f"(id, name, version, ...), not {type(data).__name__ if data is not None else 'empty'}",
                                source_line=document.line_text(1)))
        return None
    from . import schema
    found = schema.check(data, document, patch="extends" in data)
    problems.extend(found)
    if found:
        failed.setdefault(data["id"] if isinstance(data.get("id"), str) else _id_of_broken(file, text), file)
        return None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return _Version(document, data, digest, date.fromisoformat(data["effective_from"]))


def _id_of_broken(file: str, text: str | None) -> str:
    """The product id of a file that did not load: its top-level `id:` line, else its file name."""
    found = _ID_LINE.search(text) if text else None
    if found:
        return found.group(1)
    name = os.path.basename(file)
    return name.rsplit(".", 1)[0]


def _bases_beside(files: list[str], versions: dict[str, list[_Version]], problems: list[Problem]) -> set[str]:
    """The bases of derived products named without them (`validate products/screen-protection.yaml`),
    read from the derived product's own folder: every version of each (and their own bases, in
    turn). They are loaded to build what extends them, and their problems reported, but they are
    not among the products loaded. Returns their ids."""
    read = {os.path.abspath(file) for file in files}
    found: set[str] = set()
    while True:
        wanted = sorted({(version.data["extends"], os.path.dirname(version.document.file) or ".")
                         for chain in versions.values() for version in chain
                         if version.data.get("extends") and version.data["extends"] not in versions})
        added = False
        for base_id, folder in wanted:
            if base_id in versions:
                continue
            for file in product_files([folder]):
                if os.path.abspath(file) in read:
                    continue
                version = _read(file, problems, wanted=base_id)
                if version is not None:
                    read.add(os.path.abspath(file))
                    versions.setdefault(base_id, []).append(version)
                    found.add(base_id)
                    added = True
        if not added:
            return found


def _unique(problems: list[Problem]) -> list[Problem]:
    """Sorted, each once: a problem in a base product's file is found again in every product that
    extends it (the derived product is built from the base's text)."""
    seen = {}
    for problem in problems:
        seen.setdefault((problem.file, problem.line, problem.column, problem.severity, problem.code,
                         problem.message), problem)
    return sorted(seen.values())


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


def _resolve(version: _Version, versions: dict[str, list[_Version]], failed: dict[str, str],
             problems: list[Problem], resolving: list[_Version]) -> None:
    """Merge `extends`, then build.  Bases are resolved first, each version once.

    A cycle is reported at the `extends` of each product in it; a product whose base has errors
    is not checked (one problem, at its `extends`), so that the base's problems are reported once,
    at the base's lines, never again through every product that extends it.
    """
    from ..dsl.errors import suggest
    from . import schema
    from .build import Builder
    if version.done:
        return
    data = version.data
    base_id = data.get("extends")
    overrides: list = []
    if base_id is None:
        version.merged, version.source = data, Source(version.document)
    else:
        if version.resolving:
            for member in resolving[next(i for i, v in enumerate(resolving) if v is version):]:
                member.done = member.failed = True
                problems.append(member.document.problem(
                    ("extends",), E.REF_EXTENDS_CYCLE,
                    f"'{member.data['id']}' extends itself (through '{member.data['extends']}')"))
            return
        if base_id in failed:
            version.done = version.failed = True
            problems.append(version.document.problem(("extends",), E.REF_BASE_HAS_ERRORS,
                                                     f"not checked: its base {base_id} has errors"))
            return
        chain = versions.get(base_id)
        if not chain:
            version.done = version.failed = True
            problems.append(version.document.problem(("extends",), E.REF_UNKNOWN_PRODUCT,
                                                     f"extends unknown product '{base_id}'"
                                                     + suggest(base_id, versions)))
            return
        base = version_on(chain, version.effective_from)
        if base is None:
            version.done = version.failed = True
            problems.append(version.document.problem(
                ("extends",), E.REF_UNKNOWN_PRODUCT, f"no version of '{base_id}' is in effect on "
                f"{version.effective_from}"))
            return
        version.resolving = True
        resolving.append(version)
        try:
            _resolve(base, versions, failed, problems, resolving)
        finally:
            version.resolving = False
            resolving.pop()
        if version.done:                # a cycle through this version was reported
            return
        version.done = True
        if base.failed:
            version.failed = True
            problems.append(version.document.problem(("extends",), E.REF_BASE_HAS_ERRORS,
                                                     f"not checked: its base {base_id} has errors"))
            return
        patch = {k: v for k, v in data.items() if k not in ("extends",)}
        inherited = {k: v for k, v in base.merged.items() if k not in _IDENTITY}
        for path in unchanged(inherited, patch):
            problems.append(version.document.problem(
                path, E.PRODUCT_REDUNDANT_OVERRIDE, f"this changes nothing: {base_id} already has the same "
                f"value at {'.'.join(str(p) for p in path)}", severity="warning"))
        overrides = override_problems(inherited, patch, base_id, schema.missing_keys(merge_patch(inherited, patch)))
        for path, code, message in overrides:
            problems.append(version.document.problem(path, code, message, key=True))
        # an override of an id the base does not have is reported as that, not as its missing keys
        patch = without(patch, [path for path, code, _ in overrides if code == E.REF_UNKNOWN_OVERRIDE])
        version.merged = {**merge_patch(inherited, patch), "extends": base_id}   # the product says what it extends
        version.source = base.source.derive(inherited, patch, version.document)
        found = schema.check(version.merged, version.source)
        if found:
            problems.extend(found)
            version.failed = True
            return
        version.digest = hashlib.sha256((base.digest + version.digest).encode()).hexdigest()
    version.done = True
    builder = Builder(version.merged, version.source, version.digest)
    product = builder.build()
    problems.extend(builder.problems)
    version.failed = bool(overrides) or any(p.severity == "error" for p in builder.problems)
    version.product = None if overrides else product


def version_on(chain, day: date):
    """The version of a chain in effect on `day` (the latest that starts on or before it), or None."""
    candidates = [v for v in chain if v.effective_from <= day]
    return candidates[-1] if candidates else None


__all__ = ["load", "load_texts", "Loaded", "product_files", "version_on", "PRODUCT_SUFFIXES", "TEST_SUFFIXES"]
