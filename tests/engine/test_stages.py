"""The seams between stages: explicit scopes, positions of run-time errors, the decimal context.

A `required_when` that reads a definition or a table is a load error at its position (it once
loaded and then made `book.decide` raise a bare KeyError); a computation that fails for a claim
names the rule, the product file, and the line and column of what failed; a traceback through a
product's compiled code shows the product file's line; a bug is a bug, not a claim's error; and
the caller's decimal context does not change a decision.
"""
from __future__ import annotations

import decimal
import linecache
import threading
import traceback

import pytest

from policyconf import ClaimError, load, load_products
from policyconf.engine.build import STAGES
from policyconf.dsl.pipeline import STAGES as LANGUAGE_STAGES


PRODUCT = """\
id: gadget
name: Gadget cover
version: "2024-01-01"
effective_from: 2024-01-01
currencies: [EUR]
fields:
  item.price: {type: money}
  claim.count: {type: integer, min: 0}
  claim.repairable: {type: bool}
  claim.repair_cost:
    type: money
    required_when: REQUIRED_WHEN
definitions:
  share: 100 / claim.count
tables:
  fee:
    key: code
    rows: {a: 1.00 EUR}
    default: 2.00 EUR
eligibility:
  too-many:
    clause: C
    message: Too many.
    when: share > 1000
settlement:
  kind: repair
  payout: item.price
  excess: 0.00 EUR
  depreciation: 0
"""


def write(tmp_path, text: str) -> str:
    (tmp_path / "gadget.yaml").write_text(text, encoding="utf-8")
    return str(tmp_path)


def claim(count: int) -> dict:
    return {"product": "gadget", "item": {"price": {"amount": "100.00", "currency": "EUR"}},
            "claim": {"count": count, "repairable": False}}


def test_the_stages_are_named_and_in_order():
    assert STAGES == ("events", "fields", "tables", "bands", "parse", "check", "fold", "compile", "build")
    assert [name for name, _ in LANGUAGE_STAGES] == ["parse", "check", "fold", "compile"]


@pytest.mark.parametrize("condition, column, message", [
    ("claim.repairable and share > 1", 20, "a required_when condition reads claim fields only; 'share' is a definition"),
    ('fee["a"] > 0', 20, "a required_when condition reads claim fields only; 'fee' is a table"),
])
def test_required_when_reads_claim_fields_only(tmp_path, condition, column, message):
    found = load(write(tmp_path, PRODUCT.replace("REQUIRED_WHEN", condition)))
    assert [(p.line, p.code, p.message) for p in found.errors] == [(12, "expr.unknown-name", message)]
    offset = condition.index("share") if "share" in condition else 0
    assert found.errors[0].column == column + offset


def test_a_required_when_on_fields_still_works(tmp_path):
    book = load_products(write(tmp_path, PRODUCT.replace("REQUIRED_WHEN", "claim.repairable")))
    with pytest.raises(ClaimError) as raised:
        book.evaluate({**claim(4), "claim": {"count": 4, "repairable": True}})
    assert (raised.value.code, raised.value.path) == ("claim.missing-field", "claim.repair_cost")


def test_an_evaluation_error_names_the_rule_the_file_the_line_and_the_column(tmp_path):
    folder = write(tmp_path, PRODUCT.replace("REQUIRED_WHEN", "claim.repairable"))
    book = load_products(folder)
    assert book.evaluate(claim(4)).outcome == "approved"
    result = book.decide(claim(0))
    # the rule that was being decided, and the division (in the definition it read) that failed
    assert result["error"] == {"code": "evaluation.error", "path": None,
                               "message": f"rule too-many ({folder}/gadget.yaml:14:10): division by zero"}


def test_a_traceback_through_a_product_shows_the_yaml_line(tmp_path):
    folder = write(tmp_path, PRODUCT.replace("REQUIRED_WHEN", "claim.repairable"))
    product = load_products(folder).versions("gadget")[0]
    file = f"{folder}/gadget.yaml"
    # Called with a value no claim can carry (a validated count is an integer): Python's own
    # TypeError, which a bug would raise, passes through, and its traceback points into the product.
    values = {"item.price": None, "claim.count": "4", "claim.repairable": False, "claim.repair_cost": None,
              "policy.id": None, "claim.id": None}
    with pytest.raises(TypeError) as raised:
        product.code.decide(values, "EUR", None)
    frames = [frame for frame in traceback.extract_tb(raised.value.__traceback__) if frame.filename == file]
    # the rule that read the definition, then the definition: each at its line in the product file
    assert [frame.lineno for frame in frames] == [24, 14]
    assert [frame.line for frame in frames] == ["when: share > 1000", "share: 100 / claim.count"]
    assert linecache.getline(file, 14).strip() == "share: 100 / claim.count"


def test_a_bug_is_not_a_claims_evaluation_error(tmp_path, monkeypatch):
    folder = write(tmp_path, PRODUCT.replace("REQUIRED_WHEN", "claim.repairable"))
    book = load_products(folder)

    def broken(left, right, where=None):
        raise KeyError("a bug in the engine")
    monkeypatch.setitem(book.versions("gadget")[0].code.decide.__globals__, "_div", broken)
    with pytest.raises(KeyError):
        book.decide(claim(4))


@pytest.mark.parametrize("precision", [6, 3])
def test_a_decision_does_not_depend_on_the_callers_decimal_context(book, bmw_claim, precision):
    expected = book.decide(bmw_claim())
    assert expected["outcome"] == "approved" and expected["payout"]["amount"] == "84036.28"
    result: dict = {}

    def caller():
        context = decimal.getcontext()
        context.prec = precision
        context.rounding = decimal.ROUND_DOWN
        context.traps[decimal.Inexact] = True
        result["decision"] = book.decide(bmw_claim())
        result["context"] = (decimal.getcontext().prec, decimal.getcontext().rounding)
    thread = threading.Thread(target=caller)
    thread.start()
    thread.join()
    assert result["decision"] == expected
    assert result["context"] == (precision, decimal.ROUND_DOWN)      # and the caller's context is left alone
