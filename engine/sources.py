"""Where a set of products comes from: a file, a folder, or either of them at a git revision.

    products/                      the folder's product files (*.yaml, not *.tests.yaml)
    products/accidental-damage.yaml
    products@v1.2                  the folder as the tag v1.2 has it
    products@HEAD~1                ... as the commit before HEAD has it

A revision is read with `git ls-tree` and `git cat-file` in the repository that holds the path:
the work tree is never touched (no checkout, no stash). What comes back is the product files'
text by name, which `engine.loader.load_texts` loads as `load` loads files; the names of files
read from a revision are `REV:path` (`HEAD~1:products/accidental-damage.yaml`), so a problem in
one says which revision it is in. The same texts are what `policyconf.spark` sends to executors.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from typing import Mapping

from .loader import PRODUCT_SUFFIXES, TEST_SUFFIXES, Loaded, load_texts, product_files
from .product_book import ProductBook
from .errors import ProductError


class SourceError(Exception):
    """A product source that cannot be read: no such path, not a git repository, an unknown revision."""


@dataclass(frozen=True)
class ProductSource:
    """Product files by name, with their text (bytes, as read), and what they were named by."""
    label: str                                  # as given: `products@HEAD~1`
    texts: Mapping[str, bytes]

    @property
    def digest(self) -> str:
        """SHA-256 over the files' names and contents: equal digests, equal products."""
        sha = hashlib.sha256()
        for name in sorted(self.texts):
            text = self.texts[name]
            sha.update(name.encode("utf-8") + b"\0" + hashlib.sha256(text).digest())
        return sha.hexdigest()

    @property
    def content_digest(self) -> str:
        """SHA-256 over the contents alone, by each file's base name: the same products read from
        a folder and from a revision have the same content digest."""
        sha = hashlib.sha256()
        for name in sorted(self.texts, key=_base):
            sha.update(_base(name).encode("utf-8") + b"\0" + hashlib.sha256(self.texts[name]).digest())
        return sha.hexdigest()

    def load(self) -> Loaded:
        return load_texts(self.texts)

    def book(self) -> ProductBook:
        """The products, loaded and compiled (raises `ProductError` with every problem)."""
        loaded = self.load()
        if loaded.errors:
            raise ProductError(loaded.problems)
        return ProductBook(loaded.products, tuple(loaded.problems))


def _base(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def split_revision(spec: str) -> tuple[str, str | None]:
    """`products@HEAD~1` -> ("products", "HEAD~1"); a path that exists as written has no revision."""
    if os.path.exists(spec) or "@" not in spec:
        return spec, None
    path, _, revision = spec.rpartition("@")
    if not revision:
        raise SourceError(f"{spec}: no revision after @")
    return path or ".", revision


def read_source(spec: str) -> ProductSource:
    """The product files `spec` names (see the module's doc). Raises `SourceError`."""
    path, revision = split_revision(spec)
    if revision is None:
        if not os.path.exists(path):
            raise SourceError(f"{path}: no such file or directory")
        texts = {}
        for file in product_files([path]):
            try:
                with open(file, "rb") as handle:
                    texts[file] = handle.read()
            except OSError as error:
                raise SourceError(f"{file}: {error.strerror}") from None
        return ProductSource(spec, texts)
    return ProductSource(spec, _revision_texts(path, revision))


def _git(arguments: list[str], cwd: str, stdin: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(["git", *arguments], cwd=cwd, input=stdin, capture_output=True, check=False)
    except FileNotFoundError:
        raise SourceError("git is not installed: a revision (path@REV) needs it") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SourceError(message[-1] if message else f"git {' '.join(arguments)} failed")
    return done.stdout


def _revision_texts(path: str, revision: str) -> dict[str, bytes]:
    """The product files at `path` as `revision` has them, read from the object store."""
    here = os.path.dirname(os.path.abspath(path)) if not os.path.isdir(path) else os.path.abspath(path)
    while not os.path.isdir(here):                  # a folder deleted since: ask from its parent
        here = os.path.dirname(here)
    top = _git(["rev-parse", "--show-toplevel"], here).decode().strip()
    relative = os.path.relpath(os.path.abspath(path), top).replace(os.sep, "/")
    if relative.startswith(".."):
        raise SourceError(f"{path}: outside the git repository at {top}")
    relative = "" if relative == "." else relative
    try:
        commit = _git(["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"], top).decode().strip()
    except SourceError:
        raise SourceError(f"{path}@{revision}: unknown revision '{revision}' in the git repository at {top}") from None
    kind = _git(["cat-file", "-t", f"{commit}:{relative}"], top).decode().strip() if relative else "tree"
    shown = relative or "."
    if kind == "blob":
        names = {f"{revision}:{relative}": f"{commit}:{relative}"}
    elif kind == "tree":
        names = {}
        listing = _git(["ls-tree", "-z", f"{commit}:{relative}" if relative else commit], top)
        for entry in listing.split(b"\0"):
            if not entry:
                continue
            meta, _, name = entry.decode("utf-8", "surrogateescape").partition("\t")
            if meta.split()[1] != "blob" or not name.endswith(PRODUCT_SUFFIXES) or name.endswith(TEST_SUFFIXES):
                continue
            full = f"{relative}/{name}" if relative else name
            names[f"{revision}:{full}"] = f"{commit}:{full}"
    else:  # pragma: no cover - a submodule
        raise SourceError(f"{shown}@{revision}: not a file or folder ({kind})")
    return {name: _blob(top, object_name) for name, object_name in names.items()}


def _blob(top: str, object_name: str) -> bytes:
    return _git(["cat-file", "blob", object_name], top)


__all__ = ["ProductSource", "SourceError", "read_source", "split_revision"]
