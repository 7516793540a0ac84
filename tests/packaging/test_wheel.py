"""The installed package: one import name, `policyconf`, with its data files inside.

Builds the wheel from this checkout, installs it into a fresh virtual environment outside the
repository, and checks what a service that depends on policyconf would see: `import policyconf`
works from any directory, `engine`, `dsl` and `schemas` are not top-level modules (a service's
own `schemas.py` cannot collide with them), the grammar with its parser tables (which load), the
JSON Schemas and the OpenAPI document are in the wheel, and the `policyconf` command answers
`--version`.
"""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import sysconfig
import venv
import zipfile

import pytest

import policyconf

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--disable-pip-version-check",
                    "-w", str(out), str(ROOT)], check=True, capture_output=True, text=True)
    wheels = list(out.glob("policyconf-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> pathlib.Path:
    """A fresh venv with the wheel installed; its dependencies come from this test run's environment."""
    env_dir = tmp_path_factory.mktemp("venv") / "fresh"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "--no-deps", "--quiet", "--disable-pip-version-check",
                    str(wheel)], check=True, capture_output=True, text=True)
    # pyyaml, lark and jsonschema from the environment running the tests, as a plain path (no .pth
    # files of that environment run, so its editable install of this checkout is not visible)
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    pathlib.Path(site, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return env_dir


def _run(env_dir: pathlib.Path, code: str, cwd: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run([env_dir / "bin" / "python", "-c", code], cwd=cwd, capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})


def test_the_wheel_holds_one_top_level_package_with_its_data_files(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith((".dist-info", ".data"))}
    assert top == {"policyconf"}
    for data in ("policyconf/dsl/grammar.lark", "policyconf/dsl/grammar.tables",
                 "policyconf/schemas/product.schema.json", "policyconf/schemas/product-patch.schema.json", "policyconf/schemas/tests.schema.json",
                 "policyconf/schemas/openapi.json", "policyconf/spark.py", "policyconf/engine/spark.py"):
        assert data in names, data
    assert not any(name.startswith(("policyconf/tests/", "policyconf/benchmarks/", "policyconf/fuzz/"))
                   for name in names)


def test_import_policyconf_works_outside_the_repository_and_nothing_else_is_top_level(installed, tmp_path):
    # a service with its own schemas.py and engine.py, as services have
    (tmp_path / "schemas.py").write_text("SERVICE = True\n")
    (tmp_path / "engine.py").write_text("SERVICE = True\n")
    products = ROOT / "tests" / "fixtures" / "products"
    result = _run(installed, f"""
import importlib.util, json
import policyconf
from policyconf import load_products, ProductBook, Decision, Money, ClaimError, ProductError
import schemas, engine
assert schemas.SERVICE and engine.SERVICE            # the service's own modules, not ours
assert importlib.util.find_spec("dsl") is None
book = load_products({str(products)!r})
assert isinstance(book, ProductBook)
print(json.dumps(sorted(policyconf.__all__), separators=(",", ":")), policyconf.__file__)
""", tmp_path)
    assert result.returncode == 0, result.stderr
    names, location = result.stdout.split()
    assert {"load_products", "ProductBook", "Decision", "Money", "ClaimError", "ProductError"} <= set(json.loads(names))
    assert str(ROOT) not in location and "site-packages" in location


def test_the_installed_parser_loads_its_shipped_tables(installed, tmp_path):
    result = _run(installed, """
from policyconf.dsl import parser
assert parser._loaded(parser._shipped()) is not None, "the shipped parser tables do not load"
parser._built = None                                  # a parse that built the tables would fail
print(parser.parse("claim.repair_cost * 2"), parser.__file__)
""", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "site-packages" in result.stdout


def test_import_engine_no_longer_resolves(installed, tmp_path):
    result = _run(installed, "import engine", tmp_path)
    assert result.returncode != 0 and "No module named 'engine'" in result.stderr


def test_the_command_reports_its_version(installed, tmp_path):
    result = subprocess.run([installed / "bin" / "policyconf", "--version"], cwd=tmp_path, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"policyconf {policyconf.__version__}"
