"""Shared fixtures: the engine's fixture product book and builders for valid claims of each product.

The engine's tests decide claims against frozen copies of the three seed products and their
example claims (tests/fixtures/products, tests/fixtures/claims), never against the shipped
products/ and examples/: a product manager who changes a number in products/ sees that
product's own test cases fail (tests/test_shipped_products.py), not a hundred engine tests.

A builder returns a fresh, valid claim; keyword arguments override fields by dotted path
(`**{"policy.holder.age": 17}`), and the value `DELETE` removes a field.
"""
from __future__ import annotations

import atexit
import copy
import json
import os
import pathlib
import shutil
import tempfile

import pytest

# The tests keep the engine's cache (engine.cache: parser tables, compiled products) in a folder
# of their own, made new for each run: never the user's, and every run starts cold (the first load
# of a set of files builds it, the next ones read it back; tests/engine/test_cache.py checks both
# give the same products).
if "POLICYCONF_CACHE_DIR" not in os.environ:
    os.environ["POLICYCONF_CACHE_DIR"] = tempfile.mkdtemp(prefix="policyconf-test-cache-")
    atexit.register(shutil.rmtree, os.environ["POLICYCONF_CACHE_DIR"], True)

from policyconf import load_products

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
PRODUCTS = FIXTURES / "products"          # frozen copies of products/ (and their *.tests.yaml)
EXAMPLES = FIXTURES / "claims"            # frozen copies of examples/*.json
DELETE = object()


class _CheckoutIsNotATestPackage:
    """Collects the repository's root as a plain folder, not as a Python package.

    The root holds `__init__.py` (it installs as `policyconf`), so pytest would otherwise import
    it on its own, under the checkout's folder name, before the first test: as a second copy of
    the package named `main` or `policyconf`, or, in a checkout whose name is not a Python name
    (`policyconf-dev`, a worktree `wt-faces`), not at all (a relative import with no parent
    package), and every test errors. The tests import the installed `policyconf` instead.
    """

    @pytest.hookimpl(tryfirst=True)
    def pytest_collect_directory(self, path, parent):
        if path.resolve() == ROOT:
            return pytest.Dir.from_parent(parent, path=path)
        return None


def pytest_configure(config):
    # A plugin, not a hook of this file: a conftest's hooks apply only under its own folder.
    config.pluginmanager.register(_CheckoutIsNotATestPackage(), "policyconf-checkout-root")


def money(amount: str, currency: str = "EUR") -> dict:
    return {"amount": amount, "currency": currency}


def _override(claim: dict, changes: dict) -> dict:
    claim = copy.deepcopy(claim)
    for path, value in changes.items():
        node = claim
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if value is DELETE:
            node.pop(parts[-1], None)
        else:
            node[parts[-1]] = value
    return claim


def _example(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def book():
    return load_products(str(PRODUCTS))


@pytest.fixture
def ad_claim():
    """An approved accidental-damage repair claim (the contract's example)."""
    base = _example("ad-approved-repair")
    return lambda **changes: _override(base, changes)


@pytest.fixture
def sp_claim():
    """An approved screen-protection repair claim."""
    base = _example("sp-approved-repair")
    return lambda **changes: _override(base, changes)


@pytest.fixture
def bmw_claim():
    """An approved bmw-total-loss claim, variant new (worked example 4)."""
    base = _example("bmw-approved-new")
    return lambda **changes: _override(base, changes)


@pytest.fixture
def bmw_used_claim():
    """An approved bmw-total-loss claim, variant used (worked example 5)."""
    base = _example("bmw-approved-used")
    return lambda **changes: _override(base, changes)


# a server in a process for one test (tests/serving.py); a fixture, so it lives here
@pytest.fixture
def start_server(tmp_path):
    """Start servers for one test; each is stopped when the test ends, whatever happened."""
    from serving import Server
    servers = []

    def start(products, **options) -> "Server":
        server = Server(products, tmp_path / f"server-{len(servers)}.log", **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
