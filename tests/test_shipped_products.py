"""The shipped products (products/) and example claims (examples/), pinned by their own tests only.

This is the one test module that decides claims against products/ and examples/: the engine's
tests run on frozen copies (tests/fixtures; the editor tests only open the shipped files whole). A product manager who changes a number in a product sees that
product's own cases fail here, as `policyconf test` shows them, and nothing else:

* `policyconf test products/ --coverage --fail-under 100`: every case of every
  products/*.tests.yaml passes, and together they exercise every rule, event, document, band and
  table row;
* `policyconf validate products/`: no error and no warning;
* every examples/*.json gets the outcome its name states (`ad-approved-repair.json`: approved,
  `sp-declined.json`: declined), and together they show every outcome each product can give,
  which is what `make demo` prints.
"""
from __future__ import annotations

import io
import json
import pathlib
import re

import pytest

from policyconf import load_products
from policyconf.engine import cli
from policyconf.engine.decision import OUTCOMES

ROOT = pathlib.Path(__file__).resolve().parent.parent
PRODUCTS = ROOT / "products"
EXAMPLES = ROOT / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(list(argv), stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def shipped():
    return load_products(str(PRODUCTS))


def test_the_product_test_cases_pass_with_full_coverage():
    status, out, err = run("test", str(PRODUCTS), "--coverage", "--fail-under", "100")
    assert status == 0, out + err
    assert out.splitlines()[-1].endswith(" passed, 0 failed"), out


@pytest.mark.parametrize("path", sorted(PRODUCTS.glob("*.tests.yaml")), ids=lambda p: p.stem)
def test_every_case_that_states_its_reasons_states_their_clauses(path):
    """A clause is part of a decision: the suites pin it wherever they pin the reasons (whose
    being right `policyconf test` checks above)."""
    from policyconf.engine.yaml_reader import load_file
    unpinned = []
    for case in load_file(str(path)).data["cases"]:
        expect = case["expect"]
        if "reasons" in expect and "clauses" not in expect:
            unpinned.append(case["name"])
        unpinned += [f"{case['name']}: {line['benefit']}" for line in expect.get("benefits") or ()
                     if line.get("reasons") and "clauses" not in line]
    assert not unpinned


def test_the_products_are_valid_without_a_warning():
    status, out, err = run("validate", str(PRODUCTS))
    assert status == 0, out + err
    assert re.fullmatch(r"ok: \d+ products? \(\d+ versions?\) valid in \S+\n", out), out


def expected_outcome(path: pathlib.Path) -> str:
    """The outcome a file's name states: the first of its dash-separated words that is an outcome."""
    stated = [word for word in path.stem.split("-") if word in OUTCOMES]
    assert stated, f"{path.name}: the name states no outcome (one of {', '.join(OUTCOMES)})"
    return stated[0]


def test_there_are_examples():
    assert EXAMPLE_FILES, "examples/ holds example claims"


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_each_example_gets_the_outcome_its_name_states(shipped, path):
    decision = shipped.decide(json.loads(path.read_text(encoding="utf-8")))
    assert "error" not in decision, decision["error"]
    assert decision["outcome"] == expected_outcome(path), "\n".join(decision["trace"])


def test_the_examples_show_every_outcome_of_every_product(shipped):
    """What `make demo` shows: each product's every possible outcome has an example."""
    seen: dict[str, set[str]] = {}
    for path in EXAMPLE_FILES:
        product = json.loads(path.read_text(encoding="utf-8"))["product"]
        seen.setdefault(product, set()).add(expected_outcome(path))
    for product_id in shipped.ids:
        possible = {"approved"}
        for version in shipped.versions(product_id):
            sections = version.benefits.sections if version.benefits else ()
            possible |= {"declined"} if version.declining or any(s.refusals for s in sections) else set()
            possible |= {"pending"} if version.all_documents() else set()
            possible |= {"referred"} if version.referrals or any(s.referrals for s in sections) else set()
        assert seen.get(product_id) == possible, product_id


def test_the_command_line_decides_every_example():
    status, out, err = run("evaluate", "--products", str(PRODUCTS), "--format", "jsonl",
                           *(str(path) for path in EXAMPLE_FILES))
    assert status == 0, err
    assert [json.loads(line)["outcome"] for line in out.splitlines()] == [expected_outcome(p) for p in EXAMPLE_FILES]
