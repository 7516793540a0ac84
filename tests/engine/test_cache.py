"""The cache (engine.cache): compiled products and the parser's tables, read back by a later load.

A load the cache answers must give exactly what building gives (products that decide every claim
alike, the same problems); the cache is never trusted across engine versions, never read from a
folder that others may write to, and a damaged entry is built again.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from policyconf import load
from policyconf.engine import build, cache
from policyconf.dsl import parser

ROOT = pathlib.Path(__file__).resolve().parents[2]
PRODUCTS = ROOT / "tests" / "fixtures" / "products"
CLAIMS = ROOT / "tests" / "fixtures" / "claims"
BY_DESIGN = ROOT / "tests" / "corpus" / "table-currency-by-design"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A cache of this test's own, empty."""
    where = tmp_path / "cache"
    monkeypatch.setenv("POLICYCONF_CACHE_DIR", str(where))
    return where


def _entries(where: pathlib.Path, kind: str = "products") -> list[pathlib.Path]:
    return sorted(where.glob(f"{kind}-*")) if where.exists() else []


def _no_building(monkeypatch):
    def refuse(self, *args, **kwargs):
        raise AssertionError("built, though the cache has this load")
    monkeypatch.setattr(build.Builder, "build", refuse)


def _decisions(loaded) -> list[dict]:
    from policyconf import ProductBook
    book = ProductBook(loaded.products)
    return [book.decide(json.loads(path.read_text())) for path in sorted(CLAIMS.glob("*.json"))]


def test_a_second_load_reads_the_cache_and_decides_every_claim_alike(folder, monkeypatch):
    first = load([str(PRODUCTS)])
    assert not first.errors and len(_entries(folder)) == 1
    _no_building(monkeypatch)
    second = load([str(PRODUCTS)])
    assert sorted(second.products) == sorted(first.products) == ["accidental-damage", "bmw-total-loss",
                                                                  "screen-protection"]
    assert second.problems == first.problems
    assert second.data == first.data
    assert second.bases == first.bases
    decided = _decisions(second)
    assert decided == _decisions(first)
    assert {d.get("outcome") for d in decided} >= {"approved", "declined", "pending", "referred"}
    # the cached product's generated code is the same source, run from the same code object
    for product_id, chain in first.products.items():
        assert [p.code.source for p in second.products[product_id]] == [p.code.source for p in chain]


def test_problems_come_back_from_the_cache_too(folder, monkeypatch):
    first = load([str(BY_DESIGN)])
    assert [(p.code, p.line) for p in first.problems] == [("product.table", 30), ("ref.base-has-errors", 5)]
    _no_building(monkeypatch)
    assert load([str(BY_DESIGN)]).problems == first.problems


def test_an_edited_file_is_built_again(folder, tmp_path, monkeypatch):
    products = tmp_path / "products"
    shutil.copytree(PRODUCTS, products)
    load([str(products)])
    file = products / "accidental-damage.yaml"
    file.write_text(file.read_text().replace("\nname: Accidental Damage", "\nname: Edited Accidental Damage", 1))
    again = load([str(products)])
    assert len(_entries(folder)) == 2
    assert again.products["accidental-damage"][0].name.startswith("Edited Accidental Damage")


def test_a_changed_base_beside_a_derived_product_is_built_again(folder, tmp_path):
    """`validate screen-protection.yaml` reads its base from the folder: the key has the base's text."""
    products = tmp_path / "products"
    shutil.copytree(PRODUCTS, products)
    derived = str(products / "screen-protection.yaml")
    before = load([derived])
    base = products / "accidental-damage.yaml"
    base.write_text(base.read_text().replace("effective_from:", "# a comment\neffective_from:", 1))
    after = load([derived])
    assert len(_entries(folder)) == 2
    # built again from the new base: its digest covers the base's text
    assert after.products["screen-protection"][0].digest != before.products["screen-protection"][0].digest


def test_problems_of_a_broken_file_are_the_same_from_the_cache(folder, tmp_path, monkeypatch):
    (tmp_path / "broken.yaml").write_text("id: broken\nname: Broken\nversion: \"1\"\neffective_from: 2024-13-01\n")
    first = load([str(tmp_path / "broken.yaml")])
    assert first.errors and first.errors[0].line == 4
    _no_building(monkeypatch)
    assert load([str(tmp_path / "broken.yaml")]).problems == first.problems


def test_off_keeps_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("POLICYCONF_CACHE_DIR", "off")
    assert cache.directory() is None and cache.entry("products", "x") is None
    assert not load([str(PRODUCTS)]).errors


def test_a_folder_others_may_write_to_is_never_used(tmp_path, monkeypatch):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)
    monkeypatch.setenv("POLICYCONF_CACHE_DIR", str(shared))
    assert cache.directory() is None
    load([str(PRODUCTS)])
    assert list(shared.iterdir()) == []


def test_an_entry_others_may_write_to_is_not_read(folder, monkeypatch):
    load([str(PRODUCTS)])
    [entry] = _entries(folder)
    os.chmod(entry, 0o666)
    assert cache.read(entry) is None


def test_entries_of_another_engine_are_not_read(folder, monkeypatch):
    load([str(PRODUCTS)])
    monkeypatch.setattr(cache, "stamp", lambda: "another-version")
    calls = []
    original = build.Builder.build

    def counted(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)
    monkeypatch.setattr(build.Builder, "build", counted)
    assert not load([str(PRODUCTS)]).errors
    assert calls, "an entry written by another engine version was trusted"
    assert len(_entries(folder)) == 2


def test_a_damaged_entry_is_built_again(folder, monkeypatch):
    load([str(PRODUCTS)])
    [entry] = _entries(folder)
    entry.write_bytes(entry.read_bytes()[:100])
    again = load([str(PRODUCTS)])
    assert not again.errors and _decisions(again)
    assert len(entry.read_bytes()) > 100                   # written again, whole


def test_the_stamp_changes_with_the_sources(monkeypatch, tmp_path):
    cache.stamp.cache_clear()
    try:
        first = cache.stamp()
        monkeypatch.setattr(cache, "_PACKAGE", tmp_path)
        (tmp_path / "engine").mkdir()
        (tmp_path / "engine" / "x.py").write_text("x = 1\n")
        cache.stamp.cache_clear()
        assert cache.stamp() != first
    finally:
        monkeypatch.undo()
        cache.stamp.cache_clear()


def test_the_parser_tables_are_read_back_not_built(monkeypatch):
    saved = {}
    monkeypatch.setattr(parser, "_PARSER", None)
    monkeypatch.setattr(parser, "_shipped", lambda: None)     # as when the shipped tables are not this Lark's
    parser.use_store(lambda: saved.get("tables"), lambda tables: saved.__setitem__("tables", tables))
    try:
        built = parser.parse("claim.repair_cost * 2")
        assert saved["tables"]
        monkeypatch.setattr(parser, "_PARSER", None)

        def no_build(*args, **kwargs):
            raise AssertionError("tables built again")
        monkeypatch.setattr(parser, "Lark", type("NoLark", (), {"__init__": no_build, "load": parser.Lark.load}))
        assert parser.parse("claim.repair_cost * 2") == built
    finally:
        monkeypatch.undo()
        parser._PARSER = None


def test_damaged_parser_tables_are_built_again(monkeypatch):
    monkeypatch.setattr(parser, "_PARSER", None)
    monkeypatch.setattr(parser, "_shipped", lambda: None)
    written = []
    parser.use_store(lambda: b"not tables", written.append)
    try:
        assert parser.parse("1 + 2") is not None
        assert written and written[0] != b"not tables"
    finally:
        monkeypatch.undo()
        parser._PARSER = None


def test_validate_says_the_same_with_and_without_the_cache(tmp_path):
    products = tmp_path / "products"
    shutil.copytree(BY_DESIGN, products)
    (products / "broken.yaml").write_text("id: broken\nname: x\n")
    outputs = []
    for where in ("off", str(tmp_path / "cache"), str(tmp_path / "cache")):
        run = subprocess.run([sys.executable, "-m", "policyconf.engine.cli", "validate", str(products)],
                             capture_output=True, text=True, env=dict(os.environ, POLICYCONF_CACHE_DIR=where))
        outputs.append((run.returncode, run.stdout, run.stderr))
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0][0] == 1 and "broken.yaml" in outputs[0][1] + outputs[0][2]
    assert _entries(tmp_path / "cache")
    # the parser's tables are cached only when the shipped ones are not for this grammar and this Lark
    assert bool(_entries(tmp_path / "cache", "grammar")) == (parser._loaded(parser._shipped()) is None)


def test_validate_from_a_warm_cache_imports_no_parser_schema_batch_or_log_modules(folder):
    """What makes a warm `validate` cheap: a hit reads no YAML schema and parses no expression, and
    `validate` reads no claims and writes no log, so none of their modules is imported."""
    program = ("import sys\n"
               "from policyconf.engine.cli import main\n"
               f"status = main(['validate', {str(PRODUCTS)!r}])\n"
               "heavy = ['lark', 'jsonschema', 'policyconf.engine.build', 'policyconf.engine.schema',\n"
               "         'policyconf.dsl.parser', 'policyconf.engine.batch', 'policyconf.engine.claim_reader',\n"
               "         'policyconf.engine.audit', 'msgspec', 'concurrent.futures', 'importlib.metadata']\n"
               "print(status, sorted(name for name in heavy if name in sys.modules))\n")
    env = {**os.environ, "POLICYCONF_CACHE_DIR": str(folder)}
    first = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True)
    assert first.stdout.splitlines()[-1].startswith("0 ['jsonschema', 'lark'")       # cold: built
    warm = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, check=True)
    assert warm.stdout.splitlines()[-1] == "0 []", warm.stdout
