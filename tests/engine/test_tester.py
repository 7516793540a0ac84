"""`policyconf test`: the runner, its report, coverage in insurance terms, and the gate.

Run on the engine's fixture products (tests/fixtures/products, frozen copies of the seed
products and their suites); the shipped suites are run by tests/test_shipped_products.py.
"""
import io
import shutil
import textwrap

import pytest

from conftest import PRODUCTS
from policyconf.engine import cli, tester as testing


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(["test", *argv], stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def test_the_fixture_suites_pass_with_full_coverage():
    status, out, _ = run_cli(str(PRODUCTS), "--coverage", "--fail-under", "100")
    assert status == 0, out
    assert out.splitlines()[-1].endswith(" passed, 0 failed")
    assert "total: 100.0%" in out


@pytest.fixture
def workspace(tmp_path):
    shutil.copy(PRODUCTS / "accidental-damage.yaml", tmp_path)
    return tmp_path


SUITE = """\
product: accidental-damage
base:
  policy: {purchased: 2025-01-10, start: 2025-01-10, end: 2027-01-09, holder: {age: 34, residence: RO}}
  item: {kind: mobile_phone, purchased: 2025-01-08, price: {amount: "899.00", currency: EUR}, purchased_in: RO}
  claim: {event: drop, occurred: 2025-06-01, reported: 2025-06-03, repairable: true,
          repair_cost: {amount: "189.00", currency: EUR}, documents: [photo, proof_of_purchase]}
cases:
  - name: repair
    expect: {outcome: approved, payout: 139.00 EUR}
  - name: underage, expected wrongly
    claim: {policy: {holder: {age: 17}}}
    expect: {outcome: approved, reasons: []}
"""


def test_failure_shows_expected_and_actual_side_by_side_with_the_trace(workspace):
    (workspace / "ad.tests.yaml").write_text(SUITE)
    status, out, _ = run_cli(str(workspace))
    assert status == 1
    assert f"{workspace}/ad.tests.yaml .F" in out
    assert f"FAILED {workspace}/ad.tests.yaml:10: underage, expected wrongly" in out
    assert "≠ outcome  approved" in out and "declined" in out
    assert "holder-underage (C) applies: policy.holder.age < 18 (with policy.holder.age = 17)" in out
    assert out.splitlines()[-1] == "1 passed, 1 failed"


def test_coverage_names_what_no_case_exercised_and_the_gate_fails(workspace):
    (workspace / "ad.tests.yaml").write_text(SUITE.replace("age: 17", "age: 34").replace(
        "outcome: approved, reasons: []", "outcome: approved"))
    status, out, _ = run_cli(str(workspace), "--fail-under", "100")
    assert status == 1
    assert "not exercised, rules: cleanable, commercial-use, counterfeit" in out
    assert "not exercised, events: battery, breakdown" in out
    assert "not exercised, documents: photo, police-report, proof-of-purchase" in out
    assert "not exercised, bands: depreciation_by_age band from 184" in out
    assert "not exercised, table rows: excess_by_country[DK]" in out
    assert "is under --fail-under 100%" in out


def test_the_gate_passes_at_the_level_reached(workspace):
    (workspace / "ad.tests.yaml").write_text(SUITE.replace("age: 17", "age: 34").replace(
        "outcome: approved, reasons: []", "outcome: approved"))
    status, out, _ = run_cli(str(workspace), "--fail-under", "4")
    assert status == 0, out


def test_invalid_test_file_is_reported_with_position(workspace):
    (workspace / "ad.tests.yaml").write_text(SUITE.replace("expect: {outcome: approved, payout", "expcet: {outcome: approved, payout"))
    status, out, _ = run_cli(str(workspace))
    assert status == 1
    assert "ad.tests.yaml:9:5: error: schema.unknown-key: unknown key 'expcet'" in out


def test_unreachable_items_must_exist(workspace):
    (workspace / "ad.tests.yaml").write_text(SUITE + textwrap.dedent("""\
        unreachable:
          - {item: "excess_by_country[XX]", why: no such row}
        """))
    status, out, _ = run_cli(str(workspace))
    assert status == 1
    assert "ref.unknown-item: 'excess_by_country[XX]' is not an item" in out


def test_no_test_files(tmp_path):
    status, _, err = run_cli(str(tmp_path))
    assert status == 1 and "no test files" in err


def test_coverage_counts_items_of_every_kind(book):
    coverage = testing.Coverage.of(book.product("bmw-total-loss"))
    assert len(coverage.items["rules"]) == 25
    assert len(coverage.items["documents"]) == 8
    assert coverage.items["events"] == {"total_loss", "constructive_total_loss", "partial_damage"}
