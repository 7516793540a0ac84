"""Hostile product files and claims, round two: what an attack on the loader broke.

Each case states the exact outcome: a coded problem at its line (never a traceback), a claim's
error object, or a decision, in bounded time. Where time matters, the command runs in a process
limited to 1 GiB and 10 s of CPU (`run_limited`); that bounds a hang, it measures nothing.
"""
from __future__ import annotations

import json
import textwrap
import time

import pytest

from policyconf import load, load_products
from policyconf.engine.claim_reader import read_claims
from test_hostile_products import MINIMAL, assert_problem, position, replace, run_limited

VIN_PRODUCT = """\
id: car
name: Car cover
version: "2024-01-01"
effective_from: 2024-01-01
currencies: [EUR]
fields:
  item.vin: {type: text, pattern: "PATTERN", pii: true}
  item.price: {type: money}
settlement:
  kind: repair
  payout: item.price
  excess: 0.00 EUR
"""


# -- 7. a pattern is matched in linear time, whatever it is ----------------------------------
def test_a_catastrophic_pattern_is_matched_in_linear_time(tmp_path):
    # `(a+)+$` against 31 a's and a b took 33 s with Python's backtracking `re`
    (tmp_path / "car.yaml").write_text(VIN_PRODUCT.replace("PATTERN", "(a+)+$"), encoding="utf-8")
    book = load_products(str(tmp_path))
    claim = {"product": "car", "item": {"vin": "a" * 31 + "b", "price": {"amount": "1.00", "currency": "EUR"}}}
    started = time.monotonic()
    result = book.decide(claim)
    assert result["error"]["code"] == "claim.pattern"
    assert time.monotonic() - started < 5          # a guard against a hang, not a timing of RE2
    claim["item"]["vin"] = "a" * 9_999                # the longest text a claim may hold
    assert book.decide(claim)["outcome"] == "approved"


@pytest.mark.parametrize("pattern, fragment", [
    (r"(a)\\1", "invalid escape sequence"),
    ("(?=a)a", "invalid perl operator"),
    ("[a-", "missing ]"),
])
def test_a_pattern_re2_cannot_match_in_linear_time_is_a_load_error(tmp_path, pattern, fragment):
    content = VIN_PRODUCT.replace("PATTERN", pattern)
    error = assert_problem(tmp_path, content, "product.field", 7, 35, "invalid regular expression", limited=False)
    assert fragment in error["message"] and "RE2" in error["message"]


# -- 8. very long integers are read in linear time --------------------------------------------
def test_a_yaml_claim_with_a_400000_digit_integer_is_refused_at_once(tmp_path):
    products = tmp_path / "products"
    products.mkdir()
    (products / "gadget.yaml").write_text(MINIMAL, encoding="utf-8")
    claim = tmp_path / "claim.yaml"
    claim.write_text("product: gadget\nitem: {price: {amount: '1.00', currency: EUR}}\n"
                     "claim: {repair_cost: {amount: '20.00', currency: EUR}, n: " + "7" * 400_000 + "}\n")
    proc = run_limited("evaluate", "--products", str(products), "--format", "jsonl", str(claim))
    assert proc.returncode == 1, proc.stderr
    error = json.loads(proc.stdout)["error"]
    assert (error["code"], error["path"]) == ("claim.range", "claim.n")
    assert "400,000 digits" in error["message"] and len(error["message"]) < 200


def test_a_9_mb_integer_in_a_product_file_is_a_problem_in_bounded_time(tmp_path):
    content = replace(MINIMAL, "claim.n: {type: integer, min: 0, default: 0}",
                      "claim.n: {type: integer, min: " + "9" * 9_000_000 + ", default: 0}")
    error = assert_problem(tmp_path, content, "product.field", *position(content, "9999"), "out of range",
                           single=False)
    assert len(error["message"]) < 300


def test_a_5000_digit_min_with_a_default_is_one_problem_and_a_short_message(tmp_path):
    content = replace(MINIMAL, "claim.n: {type: integer, min: 0, default: 0}",
                      "claim.n: {type: integer, min: " + "9" * 5000 + ", default: 7}")
    found = _problems(tmp_path, content)
    assert [(code, message) for _, _, code, message in found] == [
        ("product.field", "`min` is out of range (at most 10^15 either way)")]


# -- 9. coded problems at their line, never a crash --------------------------------------------
@pytest.mark.parametrize("header, value", [
    ("effective_from", "2024-02-30"), ("effective_from", "2024-13-01"), ("effective_from", "0000-01-01"),
    ("effective_until", "2025-02-29"),
])
def test_an_impossible_header_date_is_a_problem(tmp_path, header, value):
    content = MINIMAL.replace("effective_from: 2024-01-01", f"effective_from: {value}") if header == "effective_from" \
        else MINIMAL.replace("effective_from: 2024-01-01", f"effective_from: 2024-01-01\neffective_until: {value}")
    assert_problem(tmp_path, content, "schema.value", *position(content, value), f"{header}: {value} is not a "
                   "calendar date", limited=False)


@pytest.mark.parametrize("expression, fragment", [
    ("2024-01-01 + 99999 years", "is outside the calendar"),
    ("2024-01-01 - 2025 years", "is outside the calendar"),
])
def test_a_folded_date_past_the_calendar_is_a_problem(tmp_path, expression, fragment):
    content = replace(MINIMAL, "  gross: claim.repair_cost\n",
                      f"  gross: claim.repair_cost\n  far: {expression}\n")
    assert_problem(tmp_path, content, "expr.out-of-range", *position(content, expression), fragment, limited=False)


def test_a_yaml_merge_key_with_a_list_as_key_is_a_problem(tmp_path):
    content = MINIMAL + "extra:\n  <<: {? [a, b] : 1}\n"
    assert_problem(tmp_path, content, "yaml.syntax", *position(content, "[a, b]"),
                   "a key must be a plain value", limited=False)


def test_a_yaml_claim_with_a_merge_key_with_a_list_as_key_is_unreadable(tmp_path):
    claim = tmp_path / "claim.yaml"
    claim.write_text("product: gadget\n<<: {? [a, b] : 1}\n", encoding="utf-8")
    [item] = list(read_claims(str(claim), None))
    assert item.error.code == "claim.unreadable" and "a key must be a plain value" in item.error.message


# -- 10. names match whole --------------------------------------------------------------------
@pytest.mark.parametrize("old, new, fragment", [
    ("  claim.repair_cost: {type: money}", '  "claim.x\\n": {type: money}\n  claim.repair_cost: {type: money}',
     "a claim field path"),
    ("id: gadget", 'id: "gadget\\n"', "lower-case words joined by hyphens"),
])
def test_a_name_with_a_trailing_newline_is_refused(tmp_path, old, new, fragment):
    content = replace(MINIMAL, old, new)
    found = _problems(tmp_path, content)
    assert any(code == "schema.value" and fragment in message for _, _, code, message in found), found


def test_a_rule_id_with_a_trailing_newline_is_refused(tmp_path):
    content = MINIMAL + textwrap.dedent('''\
        eligibility:
          "late\\n":
            clause: C
            message: Late.
            when: claim.n > 1
        ''')
    found = _problems(tmp_path, content)
    assert any(code == "schema.value" and "late-enrolment" in message for _, _, code, message in found), found


def _problems(tmp_path, content: str) -> list[tuple]:
    folder = tmp_path / "products"
    folder.mkdir(exist_ok=True)
    (folder / "gadget.yaml").write_text(content, encoding="utf-8")
    return [(p.line, p.column, p.code, p.message) for p in load(str(folder)).errors]
