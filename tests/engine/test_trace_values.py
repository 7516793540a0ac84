"""A claim's object shown in the trace (a rule reading `claim.replacement`) reads as the rest of the
trace does, never as a Python dict repr: money as "405000.00 CNY" whether the claim wrote the
amount as a string or a number (no `Decimal('...')`), true/false/null, personal fields inside it
masked."""
from __future__ import annotations

from decimal import Decimal

from policyconf.engine.trace import PERSONAL, object_text, show


def test_an_object_reads_as_the_rest_of_the_trace():
    written = {"brand": "Audi", "msrp": {"amount": "405000.00", "currency": "CNY"}, "new": True, "note": None,
               "extras": ["b", "a"], "fees": {"amount": Decimal("1500.00"), "currency": "CNY"}}
    assert object_text(written, "claim.replacement", frozenset()) == (
        "{brand: Audi, msrp: 405000.00 CNY, new: true, note: null, extras: [a, b], fees: 1500.00 CNY}")
    assert show(written) == object_text(written, "", frozenset())
    assert "Decimal(" not in show(written) and "'" not in show(written)


def test_a_personal_field_inside_an_object_is_masked_at_any_depth():
    holder = {"name": "Ana Pop", "born": "1990-01-02", "address": {"city": "Cluj", "street": "Str. Lunga 1"}}
    pii = frozenset({"policy.holder.born", "policy.holder.address.street"})
    text = object_text(holder, "policy.holder", pii)
    assert text == f"{{name: Ana Pop, born: {PERSONAL}, address: {{city: Cluj, street: {PERSONAL}}}}}"
    assert "1990" not in text and "Lunga" not in text


def test_an_object_that_only_looks_like_money_is_an_object():
    assert show({"amount": {"x": 1}, "currency": "EUR"}) == "{amount: {x: 1}, currency: EUR}"
    assert show({"amount": "1.00", "currency": "EUR", "extra": 1}) == "{amount: 1.00, currency: EUR, extra: 1}"
