"""`policyconf test --mutate`: mutation testing of a product's own test file.

A small product (`gadget`) and a product built on it (`gadget-plus`), with test files whose
survivors are known exactly: the 30-day deadline is tested at 40 days only (its edge is not
pinned), the 500.00 EUR limit is never reached by a case, and a second limit of 2,000.00 EUR can
never bind (the 500.00 limit comes first): its mutants are equivalent. Then the shipped products
must reach the gate, product by product (what `make test` runs for CI).
"""
import io
import re
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from policyconf.engine import cli, mutate
from policyconf.engine.yaml_reader import load_document

ROOT = Path(__file__).resolve().parents[2]

GADGET = """\
id: gadget
name: Gadget cover
version: "2025-01-01"
effective_from: 2025-01-01
currencies: [EUR]

fields:
  policy.purchased: {type: date}
  claim.event: {type: event}
  claim.occurred: {type: date}
  claim.cost: {type: money}

eligibility:
  late-claim:
    clause: "1"
    message: The damage happened more than 30 days after the policy was bought.
    when: days_between(policy.purchased, claim.occurred) > 30

events:
  rule: {id: event-not-covered, clause: "2", message: The event is not insured.}
  covered:
    drop: a drop
  not_covered:
    theft: theft

settlement:
  kind: repair
  steps:
    - amount: claim.cost
    - limit: 500.00 EUR
      reason: item-limit
      clause: "3"
      message: A repair is paid up to 500.00 EUR.
    - limit: 2000.00 EUR
    - excess: 50.00 EUR
"""

GADGET_TESTS = """\
product: gadget
base:
  policy: {purchased: 2025-01-01}
  claim: {event: drop, occurred: 2025-01-10, cost: {amount: "200.00", currency: EUR}}
cases:
  - name: a drop pays the cost less the excess
    expect: {outcome: approved, payout: 150.00 EUR}
  - name: a theft is not covered
    claim: {claim: {event: theft}}
    expect: {outcome: declined, reasons: [event-not-covered]}
  - name: damage 40 days after the purchase is too late
    claim: {claim: {occurred: 2025-02-10}}
    expect: {outcome: declined, reasons: [late-claim]}
"""

PLUS = """\
id: gadget-plus
name: Gadget cover plus
version: "2025-01-01"
effective_from: 2025-01-01
extends: gadget

eligibility:
  late-claim:
    when: days_between(policy.purchased, claim.occurred) > 60
"""

PLUS_TESTS = """\
product: gadget-plus
base:
  policy: {purchased: 2025-01-01}
  claim: {event: drop, occurred: 2025-01-10, cost: {amount: "200.00", currency: EUR}}
cases:
  - name: damage 40 days after the purchase is in time
    claim: {claim: {occurred: 2025-02-10}}
    expect: {outcome: approved, payout: 150.00 EUR}
  - name: damage 70 days after the purchase is too late
    claim: {claim: {occurred: 2025-03-12}}
    expect: {outcome: declined, reasons: [late-claim]}
"""

DEADLINE = "late-claim: `days_between(policy.purchased, claim.occurred) > 30` became " \
           "`days_between(policy.purchased, claim.occurred) >= 30`"

# (line, column, what) of each survivor of gadget, in the file's order
SURVIVORS = [
    (17, 58, DEADLINE),
    (17, 60, "late-claim: `30` became `31`"),
    (17, 60, "late-claim: `30` became `29`"),
    (30, 7, "settlement, step 2 (item-limit): the step `limit: 500.00 EUR` deleted"),
    (30, 14, "settlement, step 2 (item-limit): `500.00 EUR` became `501.00 EUR`"),
    (30, 14, "settlement, step 2 (item-limit): `500.00 EUR` became `499.00 EUR`"),
    (30, 14, "settlement, step 2 (item-limit): `500.00 EUR` became `1000.00 EUR`"),
]
EQUIVALENT = [
    (34, 7, "settlement, step 3 (limit): the step `limit: 2000.00 EUR` deleted"),
    (34, 14, "settlement, step 3 (limit): `2000.00 EUR` became `2001.00 EUR`"),
    (34, 14, "settlement, step 3 (limit): `2000.00 EUR` became `1999.00 EUR`"),
    (34, 14, "settlement, step 3 (limit): `2000.00 EUR` became `4000.00 EUR`"),
]


@pytest.fixture
def folder(tmp_path):
    for name, text in (("gadget.yaml", GADGET), ("gadget.tests.yaml", GADGET_TESTS),
                       ("gadget-plus.yaml", PLUS), ("gadget-plus.tests.yaml", PLUS_TESTS)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(["test", "--mutate", *argv], stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


def positions(pairs):
    return sorted((m.line, m.column, m.what) for m, _ in pairs)


def test_the_survivors_the_equivalent_mutants_and_the_score(folder):
    result = mutate.run([str(folder / "gadget.tests.yaml")], jobs=1)
    assert not result.problems and not result.failing
    [score] = result.products
    assert score.product == "gadget"
    assert len(score.mutants) == 23
    assert positions(score.survivors()) == sorted(SURVIVORS)
    assert positions(score.equivalents()) == sorted(EQUIVALENT)
    assert (score.by_validate, score.by_tests, score.killed, score.counted) == (4, 8, 12, 19)
    assert score.score == Decimal("63.2")
    killed = {(m.kind, m.what): v.status for m, v in score.mutants if v.status in ("validate", "tests")}
    assert killed == {
        ("required", "field policy.purchased made optional (it was required)"): "validate",
        ("required", "field claim.event made optional (it was required)"): "validate",
        ("required", "field claim.occurred made optional (it was required)"): "validate",
        ("required", "field claim.cost made optional (it was required)"): "validate",
        ("number", "late-claim: `30` became `60`"): "tests",
        ("rule", "the rule late-claim deleted"): "tests",
        ("event", "the event drop moved from covered to not covered"): "tests",
        ("event", "the event theft moved from not covered to covered"): "tests",
        ("number", "settlement, step 4 (excess): `50.00 EUR` became `51.00 EUR`"): "tests",
        ("number", "settlement, step 4 (excess): `50.00 EUR` became `49.00 EUR`"): "tests",
        ("number", "settlement, step 4 (excess): `50.00 EUR` became `100.00 EUR`"): "tests",
        ("step", "settlement, step 4 (excess): the step `excess: 50.00 EUR` deleted"): "tests",
    }
    verdicts = {m.what: v for m, v in score.mutants}
    assert verdicts["late-claim: `30` became `60`"].detail == \
        "case 'damage 40 days after the purchase is too late' fails (outcome, reasons)"
    assert verdicts["field claim.cost made optional (it was required)"].detail.startswith("expr.unguarded: ")
    # how a survivor was told apart: the claim near the edge that a case should pin
    assert verdicts[DEADLINE].detail == (
        "case 'a drop pays the cost less the excess' with claim.occurred 2025-01-31 (policy.purchased + 30 days): "
        "approved, settlement repair, payout 150.00 EUR, excess 50.00 EUR on the product, declined, "
        "settlement null, payout 0.00 EUR, excess 0.00 EUR on the mutant")
    assert re.fullmatch(r"no case, none of \d+ claims \(the cases' and generated ones\) and none of \d+ claims "
                        r"near the change tell it apart", verdicts[EQUIVALENT[1][2]].detail)


def test_two_workers_judge_as_one_does(folder):
    one = mutate.run([str(folder / "gadget.tests.yaml")], jobs=1)
    two = mutate.run([str(folder / "gadget.tests.yaml")], jobs=2)
    assert two.jobs == 2
    assert [(m, v.status) for m, v in one.products[0].mutants] == [(m, v.status) for m, v in two.products[0].mutants]


def test_the_mutants_are_made_on_the_data_and_leave_it_as_it_was(folder):
    document = load_document(GADGET, "gadget.yaml")
    before = repr(document.data)
    result = mutate.run([str(folder / "gadget.tests.yaml")], jobs=1)
    mutant = next(m for m, _ in result.products[0].mutants if m.what == "late-claim: `30` became `31`")
    assert mutant.edits == (("set", ("eligibility", "late-claim", "when"),
                             "days_between(policy.purchased, claim.occurred) > 31"),)
    changed = mutate.apply(document.data, mutant.edits)
    assert changed["eligibility"]["late-claim"]["when"].endswith("> 31")
    assert repr(document.data) == before
    assert changed["events"] is document.data["events"]          # what the change does not touch is shared
    moved = next(m for m, _ in result.products[0].mutants if m.kind == "event" and "theft" in m.what)
    assert mutate.apply(document.data, moved.edits)["events"] == \
        {"rule": document.data["events"]["rule"], "covered": {"drop": "a drop", "theft": "theft"}, "not_covered": {}}


def test_expression_mutants_through_the_grammar():
    # the `and` of `between` is not a logical and: it stays
    found = [(text, what, where, kind) for text, what, where, kind, *_ in
             mutate.expression_mutants("claim.first_signs < policy.inception + 14 days and x between 1 and 2")]
    assert found == [
        # a change in a long expression is shown with 20 characters around it
        ("claim.first_signs < policy.inception + 14 days or x between 1 and 2",
         "`...inception + 14 days and x between 1 and 2` became `...inception + 14 days or x between 1 and 2`",
         (1, 48), "logic"),
        ("claim.first_signs <= policy.inception + 14 days and x between 1 and 2",
         "`claim.first_signs < policy.inception + 14 days` became `claim.first_signs <= policy.inception + 14 days`",
         (1, 19), "comparison"),
        ("claim.first_signs < policy.inception + 15 days and x between 1 and 2", "`14 days` became `15 days`",
         (1, 40), "number"),
        ("claim.first_signs < policy.inception + 13 days and x between 1 and 2", "`14 days` became `13 days`",
         (1, 40), "number"),
        ("claim.first_signs < policy.inception + 28 days and x between 1 and 2", "`14 days` became `28 days`",
         (1, 40), "number"),
        ("claim.first_signs < policy.inception + 14 days and x between 2 and 2", "`1` became `2`", (1, 62), "number"),
        ("claim.first_signs < policy.inception + 14 days and x between 0 and 2", "`1` became `0`", (1, 62), "number"),
        ("claim.first_signs < policy.inception + 14 days and x between 1 and 3", "`2` became `3`", (1, 68), "number"),
        ("claim.first_signs < policy.inception + 14 days and x between 1 and 1", "`2` became `1`", (1, 68), "number"),
        ("claim.first_signs < policy.inception + 14 days and x between 1 and 4", "`2` became `4`", (1, 68), "number"),
    ]
    money = [what for _, what, *_ in mutate.expression_mutants("max(0, 4000.00 GBP - paid) * 0.6%")]
    assert money == ["`0` became `1`", "`0` became `-1`", "`4000.00 GBP` became `4001.00 GBP`",
                     "`4000.00 GBP` became `3999.00 GBP`", "`4000.00 GBP` became `8000.00 GBP`",
                     "`0.6%` became `0.7%`", "`0.6%` became `0.5%`", "`0.6%` became `1.2%`"]
    assert mutate.expression_mutants("The policy was bought more than 6 days after the phone.") == []


def test_a_derived_product_mutates_what_its_own_file_says(folder):
    result = mutate.run([str(folder / "gadget-plus.tests.yaml")], jobs=1)
    [score] = result.products
    assert score.product == "gadget-plus" and score.files == (str(folder / "gadget-plus.yaml"),)
    assert {m.file for m, _ in score.mutants} == {str(folder / "gadget-plus.yaml")}
    assert sorted((m.line, m.column, m.what, v.status) for m, v in score.mutants) == [
        (9, 58, "late-claim: `days_between(policy.purchased, claim.occurred) > 60` became "
                "`days_between(policy.purchased, claim.occurred) >= 60`", "survived"),
        (9, 60, "late-claim: `60` became `120`", "tests"),
        (9, 60, "late-claim: `60` became `59`", "survived"),
        (9, 60, "late-claim: `60` became `61`", "survived"),
    ]
    assert score.score == Decimal("25.0")


def test_the_report_names_each_survivor_at_its_line(folder):
    status, out, err = run_cli(str(folder))
    assert status == 0 and err == ""
    lines = out.splitlines()
    gadget = str(folder / "gadget.yaml")
    assert "gadget: 12 of 19 mutants killed (63.2 %), 4 possibly equivalent" in lines
    assert "gadget-plus: 1 of 4 mutants killed (25.0 %), 0 possibly equivalent" in lines
    start = lines.index("gadget: 12 of 19 mutants killed (63.2 %), 4 possibly equivalent")
    assert lines[start + 1].startswith("  caught by validate 4, by the tests 8, survived 7; ")
    survivors = [line for line in lines[start:] if line.endswith(" — no case fails")]
    assert survivors == [f"  {gadget}:{line}:{column} {what} — no case fails" for line, column, what in SURVIVORS]
    assert f"  {gadget}:17:58 {DEADLINE} — no case fails" in lines
    told = lines[lines.index(f"  {gadget}:17:58 {DEADLINE} — no case fails") + 1]
    assert told.startswith("      told apart by case 'a drop pays the cost less the excess' with claim.occurred "
                           "2025-01-31 (policy.purchased + 30 days): ")
    header = lines.index("  possibly equivalent, not counted (no case, no generated claim and no claim near the "
                         "change tells them apart):")
    assert lines[header + 1:header + 5] == [f"    {gadget}:{line}:{column} {what}" for line, column, what in EQUIVALENT]
    assert re.fullmatch(r"total: 13 of 23 mutants killed \(56\.5 %\), 4 possibly equivalent, 2 products in "
                        r"\d+\.\d s \(\d+ workers?\)", lines[-1])


def test_fail_under_gates_each_product(folder):
    status, out, _ = run_cli(str(folder), "--fail-under", "50")
    assert status == 1
    assert "gadget-plus: 25.0 % is under --fail-under 50 %" in out.splitlines()
    assert not any(line.startswith("gadget: ") and "is under" in line for line in out.splitlines())
    status, _, _ = run_cli(str(folder), "--fail-under", "25")
    assert status == 0
    status, out, _ = run_cli(str(folder / "gadget.tests.yaml"), "--fail-under", "63.2")
    assert status == 0
    status, out, _ = run_cli(str(folder / "gadget.tests.yaml"), "--fail-under", "64")
    assert status == 1 and "gadget: 63.2 % is under --fail-under 64 %" in out


def test_github_annotations_one_per_survivor(folder):
    status, out, _ = run_cli(str(folder / "gadget.tests.yaml"), "--format", "github", "--fail-under", "90")
    assert status == 1
    lines = out.splitlines()
    warnings = [line for line in lines if line.startswith("::warning ")]
    assert len(warnings) == len(SURVIVORS)
    gadget = str(folder / "gadget.yaml").replace(":", "%3A").replace(",", "%2C")
    assert (f"::warning file={gadget},line=17,col=60,title=policyconf test --mutate%3A a mutant survived"
            f"::late-claim: `30` became `31`: no case fails") in warnings
    errors = [line for line in lines if line.startswith("::error ")]
    tests = str(folder / "gadget.tests.yaml").replace(":", "%3A").replace(",", "%2C")
    assert errors == [f"::error file={tests},line=1,title=policyconf test --mutate::gadget: 12 of 19 mutants killed "
                      "(63.2 %25), 4 possibly equivalent: under --fail-under 90 %25"]       # % escaped for GitHub


def test_cases_at_the_edges_kill_the_survivors(folder):
    tests = folder / "gadget.tests.yaml"
    tests.write_text(GADGET_TESTS + textwrap.indent(textwrap.dedent("""\
          - name: damage on day 30 is in time
            claim: {claim: {occurred: 2025-01-31}}
            expect: {outcome: approved}
          - name: damage on day 31 is too late
            claim: {claim: {occurred: 2025-02-01}}
            expect: {outcome: declined, reasons: [late-claim]}
          - name: an expensive repair is paid up to the 500.00 EUR limit
            claim: {claim: {cost: {amount: "500.01", currency: EUR}}}
            expect: {payout: 450.00 EUR, reasons: [item-limit]}
          - name: a repair of exactly 500.00 EUR is paid in full
            claim: {claim: {cost: {amount: "500.00", currency: EUR}}}
            expect: {payout: 450.00 EUR, reasons: []}
          - name: a claim must say what happened
            claim: {claim: {event: null}}
            expect: {error: claim.missing-field, path: claim.event}
        """), "  "), encoding="utf-8")
    status, out, _ = run_cli(str(tests), "--fail-under", "100")
    assert status == 0, out
    assert "gadget: 19 of 19 mutants killed (100.0 %), 4 possibly equivalent" in out.splitlines()
    assert " — no case fails" not in out


def test_k_selects_the_products_and_cases(folder):
    status, out, _ = run_cli(str(folder), "-k", "gadget-plus")
    assert status == 0
    assert [line.split(":")[0] for line in out.splitlines() if " mutants killed " in line
            and not line.startswith("total")] == ["gadget-plus"]
    # without the case at 70 days, nothing pins the deadline at all: `60` became `120` survives too
    status, out, _ = run_cli(str(folder / "gadget-plus.tests.yaml"), "-k", "in time")
    assert "gadget-plus: 0 of 4 mutants killed (0.0 %), 0 possibly equivalent" in out.splitlines()


def test_a_failing_case_stops_mutation_testing_of_its_product(folder):
    tests = folder / "gadget.tests.yaml"
    tests.write_text(GADGET_TESTS.replace("payout: 150.00 EUR", "payout: 151.00 EUR"), encoding="utf-8")
    status, out, _ = run_cli(str(tests))
    assert status == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"FAILED {tests}:6: a drop pays the cost less the excess: payout: expected "
                               "151.00 EUR, actual 150.00 EUR")
    assert "mutation testing needs every case to pass on the product itself: fix the failures first" in lines
    assert lines[-1].startswith("total: 0 of 0 mutants killed (100.0 %), 0 possibly equivalent, 0 products in ")


def test_options_that_do_not_go_with_mutate(folder):
    for option in ("--update", "--coverage", "-x"):
        status, _, err = run_cli(str(folder), option)
        assert status == 2 and err == f"policyconf: {option} does not go with --mutate\n"
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["test", str(folder), "--jobs", "2"], stdout=out, stderr=err) == 2
    assert err.getvalue() == "policyconf: --jobs is for --mutate\n"
    status, _, err = run_cli(str(folder), "--jobs", "0")
    assert status == 2 and err == "policyconf: --jobs must be at least 1\n"


# -- the gate on the shipped products (make test runs it: the CI gate of issue 11) --------------
SHIPPED = sorted(path.name for path in (ROOT / "products").glob("*.tests.yaml"))


@pytest.mark.parametrize("suite", SHIPPED)
def test_the_shipped_suites_kill_95_percent_of_the_mutants(suite):
    status, out, _ = run_cli(str(ROOT / "products" / suite), "--fail-under", "95")
    assert status == 0, out
    assert " — no case fails" not in out, out
