"""The corpus of broken products: one per failure mode, each with the exact report it must give.

`tests/corpus/<case>/` holds the product file(s), a README saying what is wrong, and
`expected.txt`, the golden output of `policyconf validate tests/corpus/<case>`.  To accept a
deliberate change of wording: `POLICYCONF_UPDATE_GOLDEN=1 make test`, then review the diff.
"""
import io
import os

import pytest

from conftest import FIXTURES, ROOT
from policyconf.engine import cli

CORPUS = ROOT / "tests" / "corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


@pytest.mark.parametrize("case", CASES)
def test_validate_reports_exactly_the_golden_output(case, monkeypatch):
    monkeypatch.chdir(ROOT)
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(["validate", f"tests/corpus/{case}"], stdout=out, stderr=err)
    golden = CORPUS / case / "expected.txt"
    if os.environ.get("POLICYCONF_UPDATE_GOLDEN"):
        golden.write_text(out.getvalue(), encoding="utf-8")
    expected = golden.read_text(encoding="utf-8")
    assert out.getvalue() == expected
    assert status == (1 if ": error: " in expected else 0)
    assert (CORPUS / case / "README").read_text().strip()


def test_every_failure_mode_of_the_issue_has_a_case():
    wanted = {"yaml-syntax", "yaml-duplicate-key", "yaml-tab", "yaml-alias-bomb", "schema-unknown-key",
              "schema-missing-key", "schema-wrong-type", "expr-syntax", "expr-unknown-field",
              "expr-unknown-function", "expr-money-plus-date", "expr-currency-mismatch",
              "ref-unknown-event-group", "ref-unknown-table", "ref-unknown-product", "ref-extends-cycle",
              "seed-operational-error-both", "seed-depreciation-over-731", "band-overlap", "band-not-monotonic",
              "table-currency-country", "rule-duplicate-id", "rule-never-applies", "override-changes-nothing",
              "version-gap", "version-overlap",
              # lists, aggregates and bands of amounts
              "band-money-gap", "band-decimal-to", "expr-sum-mixed-currencies", "expr-unknown-item-field",
              # the mistakes that cost money
              "expr-unguarded", "expr-unguarded-event", "table-currency-by-design", "band-not-monotonic-middle",
              "rate-bare-number", "rate-out-of-range", "field-bounds", "header-date-invalid",
              "extends-wrong-override"}
    assert wanted <= set(CASES)


def test_the_fixture_products_have_no_problem_at_all(monkeypatch):
    monkeypatch.chdir(FIXTURES)
    out = io.StringIO()
    assert cli.main(["validate", "products"], stdout=out, stderr=io.StringIO()) == 0
    assert out.getvalue() == "ok: 3 products (3 versions) valid in products\n"
