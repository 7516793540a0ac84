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


# -- test files are checked like products ---------------------------------------------------------
def test_money_compares_by_value(workspace):
    (workspace / "ad.tests.yaml").write_text(SUITE.replace("payout: 139.00 EUR", "payout: 139 EUR, excess: 50.0 EUR")
                                             .replace("outcome: approved, reasons: []",
                                                      "outcome: declined, payout: 0 EUR, depreciation: null"))
    status, out, _ = run_cli(str(workspace))
    assert status == 0, out
    assert out.splitlines()[-1] == "2 passed, 0 failed"


def test_a_payout_that_is_not_an_amount_is_a_schema_error_at_its_line(workspace):
    (workspace / "ad.tests.yaml").write_text(SUITE.replace("payout: 139.00 EUR", "payout: 139.00EUR"))
    status, out, _ = run_cli(str(workspace))
    assert status == 1
    assert ("ad.tests.yaml:9:41: error: schema.value: cases.0.expect.payout: '139.00EUR' is not valid "
            "(an amount and its currency, e.g. 129.00 EUR)\n"
            "        expect: {outcome: approved, payout: 139.00EUR}\n"
            "                                            ^\n") in out


def test_a_misspelt_reason_is_a_problem_at_its_line_with_a_suggestion(workspace):
    (workspace / "ad.tests.yaml").write_text(SUITE + """\
  - name: late
    claim: {item: {purchased: 2025-01-03}}
    expect: {outcome: declined, reasons: [late-enrolement]}
""")
    status, out, _ = run_cli(str(workspace))
    assert status == 1
    assert out.startswith(
        f"{workspace}/ad.tests.yaml:15:43: error: ref.unknown-rule: no rule 'late-enrolement' in accidental-damage; "
        "did you mean 'late-enrolment'?\n"
        "        expect: {outcome: declined, reasons: [late-enrolement]}\n"
        "                                              ^\n")
    assert out.splitlines()[-1] == "1 passed, 1 failed, 1 error"        # the case is not run: one report


@pytest.mark.parametrize("expect, message", [
    ("{outcome: pending, missing_documents: [proof_of_purchse]}",
     "ref.unknown-document: no document 'proof_of_purchse' in accidental-damage; did you mean 'proof_of_purchase'?"),
    ("{outcome: approved, settlement: repiar}",
     "ref.unknown-settlement-kind: 'repiar' is not a settlement kind of accidental-damage (repair, replacement); "
     "did you mean 'repair'?"),
    ('{outcome: declined, clauses: ["B, H.2"]}',
     "ref.unknown-clause: no rule of accidental-damage has the clause 'B, H.2'; did you mean 'B, H.1'?"),
    ("{outcome: approved, benefits: [{benefit: medical}]}",
     "ref.unknown-benefit: accidental-damage has no benefit sections"),
])
def test_documents_kinds_clauses_and_sections_named_must_be_the_products(workspace, expect, message):
    (workspace / "ad.tests.yaml").write_text(SUITE.replace("{outcome: approved, payout: 139.00 EUR}", expect))
    status, out, _ = run_cli(str(workspace))
    assert status == 1
    assert "ad.tests.yaml:9:" in out.splitlines()[0] and out.splitlines()[0].endswith(f": error: {message}"), out


def test_schema_errors_of_a_test_file_show_the_line_and_a_caret(workspace):
    (workspace / "ad.tests.yaml").write_text(SUITE.replace("  - name: repair\n", "  - nmae: repair\n"))
    status, out, _ = run_cli(str(workspace))
    assert status == 1
    assert (f"{workspace}/ad.tests.yaml:8:5: error: schema.missing-key: missing key 'name' in cases.0\n"
            "      - nmae: repair\n"
            "        ^\n") in out
    (workspace / "ad.tests.yaml").write_text("- just a list\n")
    status, out, _ = run_cli(str(workspace))
    assert out.startswith(f"{workspace}/ad.tests.yaml:1:1: error: schema.type: a test file must be a mapping of keys "
                          "(product, base, cases, ...)\n    - just a list\n    ^\n")
    (workspace / "ad.tests.yaml").write_text("cases: [{name: x, expect: {outcome: approved}}]\n")
    assert "missing key 'product' in the test file" in run_cli(str(workspace))[1]


@pytest.mark.parametrize("value", ["101", "-1", "abc", "nan", "Infinity"])
def test_fail_under_is_a_percentage(workspace, value, capsys):
    (workspace / "ad.tests.yaml").write_text(SUITE)
    status, out, _ = run_cli(str(workspace), "--fail-under", value)
    assert status == 2 and not out
    err = capsys.readouterr().err                     # argparse's usage error
    assert f"argument --fail-under: must be a percentage from 0 to 100, not '{value}'" in err


def test_fail_under_takes_0_and_100(workspace):
    (workspace / "ad.tests.yaml").write_text(SUITE.replace("age: 17", "age: 34").replace(
        "outcome: approved, reasons: []", "outcome: approved"))
    assert run_cli(str(workspace), "--fail-under", "0")[0] == 0
    assert run_cli(str(workspace), "--fail-under", "100")[0] == 1


def test_a_product_without_a_test_file_counts_as_0_percent(tmp_path):
    for name in ("accidental-damage.yaml", "accidental-damage.tests.yaml", "bmw-total-loss.yaml"):
        shutil.copy(PRODUCTS / name, tmp_path)
    status, out, _ = run_cli(str(tmp_path), "--coverage", "--fail-under", "100")
    assert status == 1
    assert "  bmw-total-loss 2019-11-30: no test file: 0.0%\n" in out
    assert "is under --fail-under 100%" in out
    # a test file named on its own is run for its product only
    assert run_cli(str(tmp_path / "accidental-damage.tests.yaml"), "--fail-under", "100")[0] == 0


def test_a_derived_products_tests_inherit_the_unreachable_items_of_its_bases_tests(tmp_path):
    for name in ("accidental-damage.yaml", "accidental-damage.tests.yaml", "screen-protection.yaml"):
        shutil.copy(PRODUCTS / name, tmp_path)
    suite = (PRODUCTS / "screen-protection.tests.yaml").read_text(encoding="utf-8")
    start = suite.index("unreachable:")
    (tmp_path / "screen-protection.tests.yaml").write_text(suite[:start] + suite[suite.index("cases:"):],
                                                           encoding="utf-8")
    status, out, _ = run_cli(str(tmp_path / "screen-protection.tests.yaml"), "--coverage", "--fail-under", "100")
    assert status == 0, out
    assert ("    unreachable, left out: excess_by_country[NO]: residents of Romania only (C) "
            "(from accidental-damage's tests)\n") in out
    assert run_cli(str(tmp_path), "--fail-under", "100")[0] == 0


# -- clauses ----------------------------------------------------------------------------------------
CLAUSES = SUITE + """\
  - name: late and underage
    claim: {item: {purchased: 2025-01-03}, policy: {holder: {age: 17}}}
    expect: {outcome: declined, reasons: [late-enrolment, holder-underage], clauses: ["B, H.1", C]}
"""


def test_clauses_are_compared_in_order(workspace):
    (workspace / "ad.tests.yaml").write_text(CLAUSES.replace("outcome: approved, reasons: []",
                                                             "outcome: declined, clauses: [C]"))
    assert run_cli(str(workspace))[0] == 0
    (workspace / "ad.tests.yaml").write_text(CLAUSES.replace('["B, H.1", C]', '[C, "B, H.1"]'))
    status, out, _ = run_cli(str(workspace))
    assert status == 1
    assert '≠ clauses  [C, "B, H.1"]' in out and '["B, H.1", C]' in out


def test_clauses_of_benefit_lines(tmp_path):
    from test_lists_steps_sections import TRIP, TRIP_CLAIM
    (tmp_path / "trip.yaml").write_text(TRIP, encoding="utf-8")
    base = {k: v for k, v in TRIP_CLAIM.items() if k != "product"}
    suite = {"product": "trip", "base": base, "cases": [
        {"name": "a whim", "claim": {"claim": {"cancel": {"reason": "whim"}}},
         "expect": {"benefits": [{"benefit": "cancel", "outcome": "declined", "reasons": ["whim"], "clauses": ["2.1"]},
                                 {"benefit": "medical"}, {"benefit": "delay"}]}}]}
    import json
    (tmp_path / "trip.tests.yaml").write_text(json.dumps(suite), encoding="utf-8")
    assert run_cli(str(tmp_path))[0] == 0
    (tmp_path / "trip.tests.yaml").write_text(json.dumps(suite).replace('"2.1"', '"4.1"'), encoding="utf-8")
    status, out, _ = run_cli(str(tmp_path))
    assert status == 1 and "FAILED" in out
    (tmp_path / "trip.tests.yaml").write_text(json.dumps(suite).replace('"medical"', '"medicla"'), encoding="utf-8")
    assert "no benefit section 'medicla' in trip; did you mean 'medical'?" in run_cli(str(tmp_path))[1]


def test_the_schema_describes_clauses():
    expect = testing.TEST_SCHEMA["properties"]["cases"]["items"]["properties"]["expect"]["properties"]
    assert expect["clauses"]["type"] == "array" and "clause" in expect["clauses"]["description"]
    assert "clauses" in expect["benefits"]["items"]["properties"]


# -- the runner: -k, -x, --update, colour, github ------------------------------------------------
MANY = SUITE.replace("outcome: approved, reasons: []", "outcome: declined, reasons: [holder-underage]") + """\
  - name: Excess of a cheap repair
    claim: {claim: {repair_cost: {amount: "30.00", currency: EUR}}}
    expect: {outcome: approved, payout: 0.00 EUR, excess: 30.00 EUR}
  - name: excess of a repair at day 184
    claim: {claim: {occurred: 2025-07-10, reported: 2025-07-11}}
    expect: {outcome: approved, payout: 139.00 EUR, excess: 50.00 EUR}
"""


@pytest.mark.parametrize("pattern, ran", [
    ("excess", 2),                         # a substring of the name, in any case
    ("EXCESS", 2),
    ("day 184", 1),                        # words next to each other are one phrase
    ("excess and not day 184", 1),
    ("repair or underage", 4),
    ("not (repair or underage)", 0),
    ("ad.tests", 4),                       # the file
    ("accidental", 4),                     # the product
    ("", 4),
])
def test_k_selects_cases_by_name_file_or_product(workspace, pattern, ran):
    (workspace / "ad.tests.yaml").write_text(MANY)
    status, out, _ = run_cli(str(workspace), "-k", pattern)
    assert status == 0, out
    summary = f"{ran} passed, 0 failed" + (f", {4 - ran} deselected" if ran < 4 else "")
    assert out.splitlines()[-1] == summary


@pytest.mark.parametrize("pattern", ["a and", "(a", "a)", "not"])
def test_a_bad_k_pattern_is_a_usage_error(workspace, pattern):
    (workspace / "ad.tests.yaml").write_text(MANY)
    status, _, err = run_cli(str(workspace), "-k", pattern)
    assert status == 2 and err.startswith(f"policyconf: -k {pattern!r}: ")


def test_x_stops_at_the_first_failure(workspace):
    (workspace / "ad.tests.yaml").write_text(MANY.replace("payout: 0.00 EUR", "payout: 1.00 EUR").replace(
        "payout: 139.00 EUR, excess: 50.00 EUR", "payout: 2.00 EUR"))
    status, out, _ = run_cli(str(workspace), "-x")
    assert status == 1
    assert f"{workspace}/ad.tests.yaml ..F\n" in out
    assert out.count("FAILED") == 1 and "stopped at the first failure (-x)" in out
    assert out.splitlines()[-1] == "2 passed, 1 failed"
    assert run_cli(str(workspace))[1].splitlines()[-1] == "2 passed, 2 failed"


UPDATABLE = """\
# the cases of a product manager
product: accidental-damage
base:
  policy: {purchased: 2025-01-10, start: 2025-01-10, end: 2027-01-09, holder: {age: 34, residence: RO}}
  item: {kind: mobile_phone, purchased: 2025-01-08, price: {amount: "899.00", currency: EUR}, purchased_in: RO}
  claim: {event: drop, occurred: 2025-06-01, reported: 2025-06-03, repairable: true,
          repair_cost: {amount: "189.00", currency: EUR}, documents: [photo, proof_of_purchase]}
cases:
  - name: repair
    expect: {outcome: approved, payout: 140.00 EUR,   excess: 50 EUR}   # the excess is E.3's
  - name: underage
    claim: {policy: {holder: {age: 17}}}
    expect:
      outcome: approved        # before the age limit
      reasons:
        - none-yet
      # the clause of C
      clauses: []

  - name: late
    claim: {item: {purchased: 2025-01-03}}
    expect: {outcome: declined, reasons: [late-enrolment], clauses: ['H.1']}
  - name: misspelt field
    claim: {claim: {repair_cots: {amount: "1.00", currency: EUR}}}
    expect: {outcome: approved}
  - name: day 184
    claim: {claim: {repairable: false, repair_cost: null, occurred: 2025-07-10, reported: 2025-07-11}}
    expect: {depreciation: "0.1", payout: 759.10 EUR}
"""

UPDATED = """\
# the cases of a product manager
product: accidental-damage
base:
  policy: {purchased: 2025-01-10, start: 2025-01-10, end: 2027-01-09, holder: {age: 34, residence: RO}}
  item: {kind: mobile_phone, purchased: 2025-01-08, price: {amount: "899.00", currency: EUR}, purchased_in: RO}
  claim: {event: drop, occurred: 2025-06-01, reported: 2025-06-03, repairable: true,
          repair_cost: {amount: "189.00", currency: EUR}, documents: [photo, proof_of_purchase]}
cases:
  - name: repair
    expect: {outcome: approved, payout: 139.00 EUR,   excess: 50 EUR}   # the excess is E.3's
  - name: underage
    claim: {policy: {holder: {age: 17}}}
    expect:
      outcome: declined        # before the age limit
      reasons: [holder-underage]
      # the clause of C
      clauses: [C]

  - name: late
    claim: {item: {purchased: 2025-01-03}}
    expect: {outcome: declined, reasons: [late-enrolment], clauses: ["B, H.1"]}
  - name: misspelt field
    claim: {claim: {repair_cots: {amount: "1.00", currency: EUR}}}
    expect: {error: claim.unknown-field, path: claim.repair_cots}
  - name: day 184
    claim: {claim: {repairable: false, repair_cost: null, occurred: 2025-07-10, reported: 2025-07-11}}
    expect: {depreciation: "0.1", payout: 759.10 EUR}
"""


def test_update_rewrites_the_changed_values_in_place_and_keeps_the_rest(workspace):
    file = workspace / "ad.tests.yaml"
    file.write_text(UPDATABLE, encoding="utf-8")
    status, out, _ = run_cli(str(workspace), "--update")
    assert status == 0, out
    assert file.read_text(encoding="utf-8") == UPDATED
    assert f"{workspace}/ad.tests.yaml UUUU.\n" in out
    assert out.split(f"updated {workspace}/ad.tests.yaml\n")[1].splitlines()[:7] == [
        "  case 'repair' (line 10): payout 140.00 EUR -> 139.00 EUR",
        "  case 'underage' (line 14): outcome approved -> declined",
        "  case 'underage' (line 15): reasons [none-yet] -> [holder-underage]",
        "  case 'underage' (line 17): clauses [] -> [C]",
        "  case 'late' (line 21): clauses [H.1] -> [\"B, H.1\"]",
        "  case 'misspelt field' (line 24): expect {outcome: approved} -> "
        "{error: claim.unknown-field, path: claim.repair_cots}",
        "1 passed, 0 failed, 4 updated"]       # "0.1" is 0.10 and 50 EUR is 50.00 EUR: by value, not rewritten
    assert "FAILED" not in out
    assert run_cli(str(workspace))[1].splitlines()[-1] == "5 passed, 0 failed"


def test_update_turns_an_expected_error_into_the_decision(workspace):
    file = workspace / "ad.tests.yaml"
    file.write_text(SUITE.replace("expect: {outcome: approved, payout: 139.00 EUR}",
                                  "expect: {error: claim.unknown-field, path: claim.x}"))
    assert run_cli(str(workspace), "--update")[0] == 0
    assert "    expect: {outcome: approved, payout: 139.00 EUR}\n" in file.read_text()
    assert "    expect: {outcome: declined, reasons: [holder-underage]}\n" in file.read_text()


def test_update_rewrites_benefit_lines_value_by_value(tmp_path):
    from test_lists_steps_sections import TRIP, TRIP_CLAIM
    import json
    (tmp_path / "trip.yaml").write_text(TRIP, encoding="utf-8")
    base = json.dumps({k: v for k, v in TRIP_CLAIM.items() if k != "product"})
    (tmp_path / "trip.tests.yaml").write_text(textwrap.dedent(f"""\
        product: trip
        base: {base}
        cases:
          - name: a whim
            claim: {{claim: {{cancel: {{reason: whim}}}}}}
            expect:
              benefits:
                - {{benefit: cancel, outcome: approved, reasons: []}}
                - {{benefit: medical, payout: 350 GBP}}     # 400.00 less the excess
                - {{benefit: delay}}
          - name: the lines
            expect:
              benefits: [{{benefit: cancel}}, {{benefit: delay}}]
        """), encoding="utf-8")
    status, out, _ = run_cli(str(tmp_path), "--update")
    assert status == 0, out
    text = (tmp_path / "trip.tests.yaml").read_text(encoding="utf-8")
    assert "    - {benefit: cancel, outcome: declined, reasons: [whim]}\n" in text
    assert "    - {benefit: medical, payout: 350 GBP}     # 400.00 less the excess\n" in text
    assert "      benefits: [{benefit: cancel}, {benefit: medical}, {benefit: delay}]\n" in text
    assert "case 'a whim' (line 8): benefits[0].outcome approved -> declined" in out
    assert run_cli(str(tmp_path))[0] == 0


def test_update_only_touches_the_selected_cases(workspace):
    file = workspace / "ad.tests.yaml"
    file.write_text(UPDATABLE, encoding="utf-8")
    assert run_cli(str(workspace), "--update", "-k", "repair")[0] == 0
    assert file.read_text(encoding="utf-8") == UPDATABLE.replace("payout: 140.00 EUR", "payout: 139.00 EUR")


class Terminal(io.StringIO):
    def isatty(self):
        return True


def run_on_terminal(*argv):
    out = Terminal()
    status = cli.main(["test", *argv], stdout=out, stderr=io.StringIO())
    return status, out.getvalue()


def test_colour_on_a_terminal_only_and_never_with_no_color(workspace, monkeypatch):
    (workspace / "ad.tests.yaml").write_text(SUITE)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    _, out = run_on_terminal(str(workspace))
    assert f"{workspace}/ad.tests.yaml \x1b[32m.\x1b[0m\x1b[31mF\x1b[0m\n" in out
    assert f"\x1b[1;31mFAILED {workspace}/ad.tests.yaml:10: underage, expected wrongly\x1b[0m" in out
    assert out.splitlines()[-1] == "\x1b[31m1 passed, 1 failed\x1b[0m"
    assert "\x1b[" not in run_cli(str(workspace))[1]                     # a file or a pipe
    assert "\x1b[" not in run_cli(str(workspace), "--color", "no")[1]
    assert "\x1b[" in run_cli(str(workspace), "--color", "yes")[1]
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in run_on_terminal(str(workspace))[1]
    monkeypatch.setenv("NO_COLOR", "")                                    # set but empty: no effect
    assert "\x1b[" in run_on_terminal(str(workspace))[1]


def test_github_format_prints_an_annotation_per_failing_case(workspace):
    (workspace / "ad.tests.yaml").write_text(SUITE.replace("underage, expected wrongly", '"50% off: underage, wrongly"'))
    status, out, _ = run_cli(str(workspace), "--format", "github")
    assert status == 1
    assert out.splitlines() == [
        f"::error file={workspace}/ad.tests.yaml,line=10,title=policyconf test%3A 50%25 off%3A underage%2C wrongly"
        "::outcome: expected approved, actual declined%0Areasons: expected [], actual [holder-underage]",
        "1 passed, 1 failed"]


def test_github_annotations_escape_properties_and_messages():
    from policyconf.engine.errors import annotation
    assert annotation("error", "a,b:c%.yaml", 3, "50% of\r\nit: a, b", title="x: y, z") == \
        "::error file=a%2Cb%3Ac%25.yaml,line=3,title=x%3A y%2C z::50%25 of%0D%0Ait: a, b"


def test_update_leaves_a_case_it_cannot_write_down_failed(workspace):
    file = workspace / "ad.tests.yaml"
    file.write_text(SUITE.replace("expect: {outcome: approved, payout: 139.00 EUR}",
                                  "expect: {outcome: declined, benefits: [{benefit: medical}]}"))
    status, out, _ = run_cli(str(workspace), "--update")
    assert status == 1
    assert "expect: {outcome: declined, benefits: [{benefit: medical}]}" in file.read_text()
    assert "ref.unknown-benefit: accidental-damage has no benefit sections" in out
    assert out.splitlines()[-1] == "0 passed, 1 failed, 1 updated, 1 error"
