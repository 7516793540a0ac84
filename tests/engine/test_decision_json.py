"""The decision document written directly (`Decision.to_json`) is, to the byte, what the batch and
the service wrote before: `jsonio.dumps(decision.to_dict())`, the compact `json.dumps` with
ensure_ascii=False. Checked on every golden claim's decision (tests/engine/golden), and on
strings that JSON must escape."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from golden import make  # noqa: E402 - tests/engine/golden/make.py
from policyconf import load_products
from policyconf.dsl.values import Money
from policyconf.engine.decision import Decision
from policyconf.engine.errors import ClaimError
from policyconf.engine.jsonio import dumps


def _old(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str)


@pytest.mark.parametrize("name", ["products", "fixtures"])
def test_every_golden_decision_is_written_as_dumps_wrote_it(name):
    book = load_products(str(dict((n, p) for n, p, _ in make.folders())[name]))
    decided = 0
    for _, claim, _ in make.read(name):
        try:
            decision = book.evaluate(claim)
        except ClaimError:
            continue
        fresh = book.evaluate(claim)                 # its trace not rendered yet: to_json renders it
        text = fresh.to_json()
        assert text == dumps(decision.to_dict()) == _old(decision.to_dict())
        assert fresh.to_dict() == decision.to_dict()
        decided += 1
    assert decided > (400 if name == "fixtures" else 900)


def test_strings_json_must_escape_and_what_is_not_a_string():
    odd = 'a "quoted" \\ back\nslash\t\x00\x1f\x7f é \u2028 \U0001f600'
    decision = Decision(odd, "p", "2024-01-01", "declined", None, Money(Decimal("0.00"), "EUR"),
                        Money(Decimal("0.000"), None), Decimal("0.125"),
                        ({"code": odd, "clause": None, "message": "m"}, {"code": "x", "clause": "1", "n": 3}),
                        (odd, "b"), [(lambda text: text, odd)],
                        ({"benefit": "b", "outcome": "approved", "payout": {"amount": "1.00", "currency": "EUR"},
                          "excess": {"amount": "0.00", "currency": "EUR"}, "reasons": [{"code": odd}]},))
    assert decision.to_json() == dumps(decision.to_dict()) == _old(decision.to_dict())
    assert json.loads(decision.to_json())["trace"] == [odd]
    none = Decision(None, "p", "v", "approved", "repair", Money(Decimal("1.10"), "EUR"),
                    Money(Decimal("0.00"), "EUR"), None, (), (), [])
    assert none.to_json() == ('{"claim_id":null,"product":"p","product_version":"v","outcome":"approved",'
                              '"settlement":"repair","payout":{"amount":"1.10","currency":"EUR"},'
                              '"excess":{"amount":"0.00","currency":"EUR"},"depreciation":null,"reasons":[],'
                              '"missing_documents":[],"trace":[]}')
