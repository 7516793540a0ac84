"""The generated module of a product: its invariants, and its source.

What the generated `decide` decides is pinned by the golden decisions
(`test_golden_decisions.py`: the interpreter's documents, which it matched claim for claim until
the interpreter was removed); this checks the rest of the module.
"""
from __future__ import annotations

from decimal import localcontext

from policyconf.dsl.runtime import CONTEXT
from policyconf.engine import verify


def test_the_invariants_hold_for_a_decided_claim(book, ad_claim):
    product = book.versions("accidental-damage")[-1]
    values, currency = product.validator.validate(ad_claim())
    decision = book.evaluate(ad_claim())
    with localcontext(CONTEXT):
        broken = product.code.invariants(values, currency, verify.decision_values(decision))
    assert broken == []


def test_the_source_holds_no_text_of_the_product_file(book):
    for product_id in book.ids:
        for product in book.versions(product_id):
            source = product.code.source
            for rule in product.rules():
                assert rule.message not in source
            assert "eval(" not in source and "exec(" not in source and "import" not in source
