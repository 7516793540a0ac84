"""A product's queries are functions of its generated module, their conditions inline
(engine.codegen.ProductCode.query_function); they decide as `dsl.runtime.select` with lambdas does:
the same decisions, traces and errors, for queries over queries, queries inside a query's
condition and queries reading an `each` step's element."""
from __future__ import annotations

import copy
import itertools

import pytest

from policyconf import ClaimError, load_products
from policyconf.engine import codegen

PRODUCT = """\
id: queries
name: Queries
version: "2025-01-01"
effective_from: 2025-01-01
currencies: [GBP]
fields:
  claim.occurred: {type: date}
  claim.parts:
    type: list
    min_items: 1
    max_items: 5
    items:
      cost: {type: money}
      kind: {type: code, values: [screen, battery, other]}
      note: {type: text, optional: true}
  policy.claims_history:
    type: list
    default: []
    items:
      event: {type: code, values: [theft, loss, damage]}
      occurred: {type: date}
      paid: {type: money}
      shares: {type: integer}
definitions:
  this_year: h in policy.claims_history where h.occurred > claim.occurred - 12 months
  damage_this_year: h in this_year where h.event == "damage"
  paid_this_year: sum(h.paid for h in damage_this_year)
  per_share: sum(h.paid / h.shares for h in this_year where h.event != "theft")
  noted: count(p in claim.parts where has(p.note) and p.note == "cracked")
  costlier_than_a_payment: any(p in claim.parts where any(h in this_year where h.paid < p.cost))
  every_part_costly: all(p in claim.parts where p.cost > 50.00 GBP)
eligibility:
  two-damages:
    clause: "1"
    message: Two damages this year.
    when: count(h in damage_this_year where h.paid > 0) >= 2 and costlier_than_a_payment
settlement:
  kind: cash
  steps:
    - each: part in claim.parts
      steps:
        - amount: part.cost
        - limit: max(0, 400.00 GBP - sum(h.paid for h in this_year where h.paid > part.cost))
          reason: part-limit
          clause: "2"
          message: A part is paid up to what is left.
    - limit: max(0, 2000.00 GBP - paid_this_year - per_share)
      reason: year-limit
      clause: "3"
      message: At most 2,000.00 GBP a year.
    - adjust: amount * 90%
      when: noted > 0 or not every_part_costly
      reason: share
      clause: "4"
      message: Cracked parts are paid at 90 %.
"""


def gbp(amount: str) -> dict:
    return {"amount": amount, "currency": "GBP"}


def claims():
    """Claims that go every way: none, some and all elements counted, an empty history, a share of
    0 (division by zero inside a query's projection), notes given or not."""
    costs = ("30.00", "120.00", "450.00")
    histories = [
        [],
        [{"event": "damage", "occurred": "2025-03-01", "paid": gbp("100.00"), "shares": 1}],
        [{"event": "damage", "occurred": "2025-03-01", "paid": gbp("100.00"), "shares": 2},
         {"event": "theft", "occurred": "2024-01-01", "paid": gbp("900.00"), "shares": 1},
         {"event": "damage", "occurred": "2025-05-01", "paid": gbp("500.00"), "shares": 3},
         {"event": "loss", "occurred": "2025-01-10", "paid": gbp("60.00"), "shares": 1}],
        [{"event": "loss", "occurred": "2025-04-01", "paid": gbp("60.00"), "shares": 0}],
    ]
    number = 0
    for history, (first, second), note in itertools.product(histories, itertools.product(costs, repeat=2),
                                                             (None, "cracked", "fine")):
        parts = [{"cost": gbp(first), "kind": "screen"}, {"cost": gbp(second), "kind": "other"}]
        if note is not None:
            parts[1]["note"] = note
        number += 1
        yield {"product": "queries", "claim": {"id": f"Q-{number}", "occurred": "2025-06-01", "parts": parts},
               "policy": {"claims_history": copy.deepcopy(history)}}


def outputs(book) -> list[str]:
    found = []
    for document in claims():
        try:
            found.append(book.evaluate(document).to_json())
        except ClaimError as error:
            found.append(repr(error.to_dict()))
    return found


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("POLICYCONF_CACHE_DIR", "off")       # each load builds its own module
    (tmp_path / "queries.yaml").write_text(PRODUCT, encoding="utf-8")
    return str(tmp_path)


def test_query_functions_decide_as_select_with_lambdas(folder, monkeypatch):
    inline = load_products(folder)
    assert "def _q0(" in inline.versions("queries")[-1].code.source
    monkeypatch.setattr(codegen.ProductCode, "inline_queries", False)
    lambdas = load_products(folder)
    assert "def _q0(" not in lambdas.versions("queries")[-1].code.source
    mine, theirs = outputs(inline), outputs(lambdas)
    assert mine == theirs
    assert any("division by zero" in text for text in mine)
    assert any('"outcome":"declined"' in text for text in mine) and any('"outcome":"approved"' in text for text in mine)
