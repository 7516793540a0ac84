"""The OpenAPI document (schemas/openapi.json) is data, maintained as a file: these tests keep it in
step with the engine it describes, so that a new outcome, settlement kind, error code or limit
cannot be added to the code and forgotten in the document (or the other way round).
"""
from __future__ import annotations

import json
import re

from conftest import PRODUCTS, ROOT
from policyconf import load
from policyconf import schemas
from policyconf.engine import errors as E
from policyconf.engine import serve
from policyconf.engine.decision import OUTCOMES
from policyconf.engine.jsonio import dumps

DOCUMENT = schemas.load("openapi.json")
COMPONENTS = DOCUMENT["components"]["schemas"]
PATHS = DOCUMENT["paths"]


def description(path: str, status: str) -> str:
    [operation] = PATHS[path].values()
    return operation["responses"][status]["description"]


def numbers_in(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text)]


def test_the_service_serves_the_file():
    app = serve.create_app(PRODUCTS)
    assert app._openapi == dumps(DOCUMENT).encode("utf-8")
    assert DOCUMENT["openapi"].startswith("3.1")


def test_the_outcome_enum_is_the_engines_list_of_outcomes():
    assert tuple(COMPONENTS["Decision"]["properties"]["outcome"]["enum"]) == OUTCOMES


def test_the_settlement_is_any_kind_a_product_names_or_null():
    # Products name their own kinds (cash, reimbursement, ...): the document takes any word the
    # engine would accept as one, and every kind of the shipped and fixture products is such a word.
    schema = COMPONENTS["Decision"]["properties"]["settlement"]
    assert schema["type"] == ["string", "null"]
    kinds = set()
    for folder in (PRODUCTS, ROOT / "products"):
        for chain in load(str(folder)).products.values():
            for product in chain:
                kinds |= product.settlement_kinds
    assert {"repair", "replacement", "vehicle_replacement", "cash", "reimbursement"} <= kinds
    assert all(re.fullmatch(schema["pattern"], kind) for kind in kinds)


def test_a_benefit_line_is_approved_or_declined():
    line = COMPONENTS["BenefitLine"]
    assert line["properties"]["outcome"]["enum"] == ["approved", "declined"]
    assert set(line["required"]) == {"benefit", "outcome", "payout", "excess", "reasons"}
    assert COMPONENTS["Decision"]["properties"]["benefits"]["items"] == {"$ref": "#/components/schemas/BenefitLine"}


def test_the_error_codes_are_exactly_those_of_engine_errors():
    """Every code a response can carry: a claim's (claim.*, evaluation.error), the HTTP layer's
    (request.*) and the service's (service.*); product-file codes never reach a response body."""
    defined = [value for name, value in vars(E).items() if name.isupper() and isinstance(value, str)
               and value.split(".")[0] in ("claim", "request", "service", "evaluation")]
    code = COMPONENTS["ErrorObject"]["properties"]["error"]["properties"]["code"]
    assert len(code["enum"]) == len(set(code["enum"]))
    assert sorted(code["enum"]) == sorted(defined)
    assert E.EVALUATION_ERROR in code["enum"] and E.SERVICE_INTERNAL in code["enum"]


def test_the_limits_written_in_the_document_are_the_services():
    claims = COMPONENTS["BatchRequest"]["properties"]["claims"]
    assert claims["maxItems"] == serve.MAX_BATCH_CLAIMS
    assert numbers_in(description("/v1/products/{product_id}/evaluate", "413")) == [serve.MAX_BODY]
    assert numbers_in(description("/v1/evaluate/batch", "413")) == [serve.MAX_BATCH_BODY]
    assert numbers_in(description("/v1/evaluate/batch", "422")) == [serve.MAX_BATCH_CLAIMS]


def test_readiness_is_503_after_a_failed_reload_as_the_document_says():
    readyz = PATHS["/readyz"]["get"]
    assert set(readyz["responses"]) == {"200", "503"}
    assert "reload failed" in readyz["responses"]["503"]["description"]
    assert "reload that fails" in readyz["description"] and "still served" in readyz["description"]
    assert "/readyz is 503" in COMPONENTS["Readiness"]["properties"]["reload_error"]["oneOf"][1]["description"]


def test_every_reference_resolves():
    text = json.dumps(DOCUMENT)
    for name in re.findall(r'"#/components/schemas/([^"]+)"', text):
        assert name in COMPONENTS, name


def test_the_example_claim_is_decided(book):
    """The request example is a claim of the (fixture) accidental-damage product, not an error."""
    operation = PATHS["/v1/products/{product_id}/evaluate"]["post"]
    example = operation["requestBody"]["content"]["application/json"]["example"]
    decision = book.decide(example)
    assert "error" not in decision, decision
    assert decision["outcome"] in OUTCOMES


def test_the_document_gives_the_version_of_the_package():
    import policyconf
    from policyconf import schemas
    assert schemas.load("openapi.json")["info"]["version"] == policyconf.__version__
