"""Faces over the library, never under it (STYLE.md 12), read from the source with `ast`.

The faces are the command line (`engine/cli.py`), the batch workers (`engine/batch.py`), the
HTTP service (`engine/serve.py`) and Spark (`engine/spark.py`, `policyconf.spark`). Every other
module is the library: it never imports a face, even lazily inside a function, so that a service
embedding policyconf never loads argparse plumbing and a helper two faces share is in the
library, where both can reach it. Of the faces,
only the command line imports the others (it starts them: `evaluate` runs batches, `serve`
serves); batches and the service never import the command line.

And the helpers the faces share exist once: one reader of a claim's id, one "decision or error
object", one JSON writer, one list of outcomes.
"""
from __future__ import annotations

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = "policyconf"
FACES = {f"{PACKAGE}.engine.cli", f"{PACKAGE}.engine.batch", f"{PACKAGE}.engine.serve", f"{PACKAGE}.engine.spark"}


def _modules() -> dict[str, pathlib.Path]:
    """Every module of the installed package by its name, read from the repository's folders."""
    modules = {PACKAGE: ROOT / "__init__.py"}
    for folder in ("engine", "dsl", "schemas"):
        for path in sorted((ROOT / folder).glob("*.py")):
            name = f"{PACKAGE}.{folder}" if path.stem == "__init__" else f"{PACKAGE}.{folder}.{path.stem}"
            modules[name] = path
    return modules


MODULES = _modules()
TREES = {name: ast.parse(path.read_text(encoding="utf-8"), str(path)) for name, path in MODULES.items()}
LIBRARY = sorted(set(MODULES) - FACES)


def _package_of(name: str) -> str:
    return name if MODULES[name].stem == "__init__" else name.rpartition(".")[0]


def imports(name: str) -> set[str]:
    """The package's modules that `name` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(TREES[name]):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(name)
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)     # `from . import batch`
    return {module for module in found if module in MODULES}


def test_the_module_list_is_the_package():
    assert FACES <= set(MODULES)
    assert {f"{PACKAGE}.engine.claim_reader", f"{PACKAGE}.engine.jsonio", f"{PACKAGE}.engine.product_book"} <= set(LIBRARY)


def test_imports_are_read_including_the_lazy_ones():
    """The reader is not vacuous: it sees cli's lazy import of serve and the faces' use of the reader."""
    assert f"{PACKAGE}.engine.serve" in imports(f"{PACKAGE}.engine.cli")      # inside main()
    assert f"{PACKAGE}.engine.batch" in imports(f"{PACKAGE}.engine.cli")      # `from . import batch`
    for face in FACES:
        assert f"{PACKAGE}.engine.claim_reader" in imports(face), face
    assert f"{PACKAGE}.dsl.values" in imports(PACKAGE)                         # `from .dsl.values import`


@pytest.mark.parametrize("module", LIBRARY)
def test_no_library_module_imports_a_face(module):
    assert not imports(module) & FACES, f"{module} imports {sorted(imports(module) & FACES)}"


@pytest.mark.parametrize("face", sorted(FACES - {f"{PACKAGE}.engine.cli"}))
def test_batches_and_the_service_import_no_other_face(face):
    assert not imports(face) & (FACES - {face}), f"{face} imports {sorted(imports(face) & FACES)}"


def _functions(name: str) -> set[str]:
    return {node.name for node in ast.walk(TREES[name]) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _calls(name: str, owner: str, attribute: str) -> bool:
    """Whether module `name` calls `owner.attribute(...)` (e.g. json.dumps)."""
    return any(isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == attribute
               and isinstance(node.func.value, ast.Name) and node.func.value.id == owner
               for node in ast.walk(TREES[name]))


def test_one_reader_of_a_claims_id():
    defining = [name for name in MODULES if _functions(name) & {"claim_id", "_claim_id", "claim_id_of"}]
    assert defining == [f"{PACKAGE}.engine.product_book"]


def test_one_decision_or_error_object():
    """Only the library's `decide_claim` turns what `book.decide` cannot (a claim nested too deeply) into
    an error object; the faces call it rather than catching RecursionError around `decide` themselves."""
    calling = [name for name in MODULES if _calls(name, "book", "decide")]
    assert calling == [f"{PACKAGE}.engine.claim_reader"]
    assert "decide_claim" in _functions(f"{PACKAGE}.engine.claim_reader")


def test_one_json_writer():
    writing = [name for name in MODULES if _calls(name, "json", "dumps")]
    assert writing == [f"{PACKAGE}.engine.jsonio"]


def test_one_list_of_outcomes():
    """Outside `engine.decision.OUTCOMES`, no module spells out the four outcomes as a collection."""
    outcomes = {"approved", "declined", "pending", "referred"}
    listing = []
    for name, tree in TREES.items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                values = {element.value for element in node.elts if isinstance(element, ast.Constant)}
                if values == outcomes:
                    listing.append(name)
    assert listing == [f"{PACKAGE}.engine.decision"]
