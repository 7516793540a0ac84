"""Properties of the engine itself, on generated inputs (hypothesis)."""
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import PRODUCTS
from policyconf.dsl.errors import ExpressionError
from policyconf.dsl.parser import parse
from policyconf import load_products
from policyconf.engine.tester import suite_claims
from policyconf.engine.verify import claims

BOOK = load_products(str(PRODUCTS))
TOKENS = st.sampled_from(["claim.x", "item.price", "(", ")", "[", "]", ",", "+", "-", "*", "/", "==", "<=", "and",
                          "or", "not", "in", "if", "then", "else", "12", "0.5", "10%", "50.00 EUR", "6 days",
                          "2024-02-29", '"a"', "true", "min", "has", ".", "%", "EUR", "days", " "])


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=80), st.lists(TOKENS, max_size=25).map(" ".join)))
def test_the_parser_raises_only_its_own_error(text):
    try:
        parse(text)
    except ExpressionError:
        pass


def _strategy(product_id):
    product = BOOK.product(product_id)
    return claims(product, suite_claims(str(PRODUCTS / f"{product_id}.tests.yaml")))


CLAIMS = st.one_of(*[_strategy(product_id) for product_id in BOOK.ids])


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(CLAIMS)
def test_evaluation_is_deterministic(claim):
    first = json.dumps(BOOK.decide(claim), sort_keys=True, default=str)
    again = json.dumps(BOOK.decide(json.loads(json.dumps(claim))), sort_keys=True, default=str)
    assert first == again


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(CLAIMS)
def test_only_an_approved_claim_pays(claim):
    result = BOOK.decide(claim)
    if "error" in result:
        assert set(result["error"]) == {"code", "message", "path"}
        return
    if result["outcome"] == "approved":
        assert result["settlement"] is not None and not result["payout"]["amount"].startswith("-")
    else:
        assert result["payout"]["amount"].strip("0.") == "" and result["excess"]["amount"].strip("0.") == ""
        assert result["settlement"] is None and result["depreciation"] is None
    if result["outcome"] == "declined":
        assert result["reasons"] and not result["missing_documents"]
