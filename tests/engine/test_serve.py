"""`policyconf serve` over real HTTP on 127.0.0.1: every endpoint and status code, hot reload,
readiness, the load-test script, and schemathesis against the served OpenAPI document.

Each server is `python -m policyconf.engine.cli serve` in its own process (tests/serving.py), on a
port found free just before, serving a copy of the fixture products (tests/fixtures/products,
frozen copies of the seed products) in a temporary directory; it is always stopped at the end.
"""
from __future__ import annotations

import copy
import http.client
import json
import socket
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("uvicorn", reason="policyconf serve needs the serve extra (uvicorn)")

from conftest import EXAMPLES, PRODUCTS, ROOT  # noqa: E402
from policyconf.engine.cli import main  # noqa: E402
from serving import JSON, Server, copy_products, evaluate_path, example  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One server for the read-only tests of this module, with its own copy of the fixture products."""
    base = tmp_path_factory.mktemp("serve")
    running = Server(copy_products(base / "products"), base / "server.log")
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


# -- evaluate -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.json")))
def test_every_example_claim_gets_the_decision_of_the_library(server, book, name):
    claim = example(name)
    status, _, decision = server.call("POST", evaluate_path(claim["product"]), claim)
    assert status == 200
    assert decision == book.decide(copy.deepcopy(claim))


def test_the_product_comes_from_the_path_when_the_claim_leaves_it_out(server, book):
    claim = example("sp-approved-repair")
    expected = book.decide(copy.deepcopy(claim))
    del claim["product"]
    status, _, decision = server.call("POST", evaluate_path("screen-protection"), claim)
    assert (status, decision) == (200, expected)


def test_a_claim_naming_another_product_than_the_path_is_422(server):
    claim = example("ad-approved-repair")
    status, _, body = server.call("POST", evaluate_path("screen-protection"), claim)
    assert status == 422
    assert body == {"claim_id": "AD-REPAIR", "error": {
        "code": "claim.product-mismatch", "path": "product",
        "message": "the claim names product 'accidental-damage' but was sent to "
                   "/v1/products/screen-protection/evaluate"}}


def test_invalid_input_is_422_with_the_error_object_of_the_library(server, book):
    claim = example("ad-approved-repair")
    claim["claim"]["repair_cots"] = {"amount": "1.00", "currency": "EUR"}
    status, _, body = server.call("POST", evaluate_path("accidental-damage"), claim)
    assert status == 422
    assert body == book.decide(copy.deepcopy(claim))
    assert body["claim_id"] == "AD-REPAIR" and body["error"]["code"] == "claim.unknown-field"
    assert body["error"]["path"] == "claim.repair_cots"


def test_json_that_is_not_an_object_is_422(server):
    status, _, body = server.call("POST", evaluate_path("accidental-damage"), [1, 2])
    assert (status, body["error"]["code"]) == (422, "claim.not-an-object")


def test_numbers_are_read_as_exact_decimals(server):
    # 189.000000000000000001 is 189.0 as a float; read exactly it has more decimals than EUR has.
    body = json.dumps(example("ad-approved-repair")).replace('"189.00"', "189.000000000000000001").encode()
    status, _, result = server.call("POST", evaluate_path("accidental-damage"), body)
    assert (status, result["error"]["code"], result["error"]["path"]) == (422, "claim.amount", "claim.repair_cost")
    body = json.dumps(example("ad-approved-repair")).replace('"189.00"', "189.5").encode()
    status, _, result = server.call("POST", evaluate_path("accidental-damage"), body)
    assert (status, result["payout"]) == (200, {"amount": "139.50", "currency": "EUR"})


def test_an_unknown_product_is_404(server):
    status, _, body = server.call("POST", evaluate_path("no-such-plan"), example("ad-approved-repair"))
    assert status == 404
    assert body["claim_id"] is None
    assert body["error"]["code"] == "claim.unknown-product" and body["error"]["path"] == "product"
    assert "accidental-damage" in body["error"]["message"]


@pytest.mark.parametrize("raw, detail", [
    (b'{"policy": ', "invalid JSON at line 1"),
    (b"", "invalid JSON"),
    (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
    (b'{"a": NaN}', "NaN"),
    (b'{"a": "\xff"}', "not UTF-8"),
    (b"[" * 100_000, "nested too deeply"),
])
def test_a_body_that_is_not_json_is_400(server, raw, detail):
    status, _, body = server.call("POST", evaluate_path("accidental-damage"), raw)
    assert status == 400
    assert body["error"]["code"] == "claim.unreadable" and body["error"]["path"] is None
    assert detail in body["error"]["message"]


def test_a_body_over_one_mebibyte_is_413(server):
    claim = example("ad-approved-repair")
    claim["padding"] = "x" * (1024 * 1024)
    status, headers, body = server.call("POST", evaluate_path("accidental-damage"), claim)
    assert (status, body["error"]["code"]) == (413, "request.too-large")
    # without Content-Length (chunked), the limit holds as the body arrives
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        chunks = (b"[" + b" " * 65536 for _ in range(20))
        connection.request("POST", evaluate_path("accidental-damage"), chunks, JSON, encode_chunked=True)
        response = connection.getresponse()
        assert response.status == 413 and json.loads(response.read())["error"]["code"] == "request.too-large"
    finally:
        connection.close()
    # a Content-Length far over the limit is refused before any of the body is read
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"POST /v1/products/accidental-damage/evaluate HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 413 ")


def test_a_body_declared_as_another_media_type_is_415(server):
    status, _, body = server.call("POST", evaluate_path("accidental-damage"), b"policy=1",
                                  {"Content-Type": "application/x-www-form-urlencoded"})
    assert (status, body["error"]["code"]) == (415, "request.media-type")
    status, _, _ = server.call("POST", evaluate_path("accidental-damage"), example("ad-approved-repair"),
                               {"Content-Type": "application/json; charset=utf-8"})
    assert status == 200


def test_unknown_paths_are_404_and_other_methods_405_with_allow(server):
    status, _, body = server.call("GET", "/v1/nothing")
    assert (status, body["error"]["code"]) == (404, "request.not-found")
    status, headers, body = server.call("GET", evaluate_path("accidental-damage"))
    assert (status, headers["allow"], body["error"]["code"]) == (405, "POST", "request.method")
    status, headers, _ = server.call("DELETE", "/readyz")
    assert (status, headers["allow"]) == (405, "GET")


# -- batch -------------------------------------------------------------------------------------
def test_a_batch_keeps_order_and_a_bad_claim_stops_nothing(server, book):
    invalid = example("ad-approved-repair")
    invalid["claim"]["event"] = "meteor"
    claims = [example("ad-approved-repair"), example("bmw-declined"), 5, invalid,
              {"product": "no-such-plan"}, example("sp-pending")]
    status, _, body = server.call("POST", "/v1/evaluate/batch", {"claims": claims})
    assert status == 200
    assert body == {"results": [book.decide(copy.deepcopy(c)) for c in claims]}
    assert [r.get("outcome") or r["error"]["code"] for r in body["results"]] == [
        "approved", "declined", "claim.not-an-object", "claim.unknown-code", "claim.unknown-product", "pending"]


def test_a_long_batch_is_decided_in_order(server):
    claims = []
    for number in range(1234):              # several slices of the streamed answer
        claim = example("sp-referred" if number % 3 else "ad-declined")
        claim["claim"]["id"] = f"C{number}"
        claims.append(claim)
    status, _, body = server.call("POST", "/v1/evaluate/batch", {"claims": claims})
    assert status == 200
    assert [r["claim_id"] for r in body["results"]] == [f"C{n}" for n in range(1234)]
    assert {r["outcome"] for r in body["results"]} == {"referred", "declined"}


@pytest.mark.parametrize("document, status, code", [
    ({"claims": []}, 200, None),
    ({"claim": []}, 422, "request.invalid"),
    ({"claims": {}}, 422, "request.invalid"),
    ([], 422, "request.invalid"),
    ({"claims": [], "extra": 1}, 422, "request.invalid"),
    ({"claims": [None] * 10_001}, 422, "request.invalid"),
    (b"{", 400, "claim.unreadable"),
])
def test_batch_envelope(server, document, status, code):
    got, _, body = server.call("POST", "/v1/evaluate/batch", document)
    assert got == status
    assert body == {"results": []} if code is None else body["error"]["code"] == code


# -- products, health, readiness, the OpenAPI document ----------------------------------------------
def test_products_lists_ids_and_versions_with_digests(server, book):
    status, _, body = server.call("GET", "/v1/products")
    assert status == 200
    assert [p["id"] for p in body["products"]] == book.ids
    for product in body["products"]:
        assert product["versions"] == [
            {"version": v.version, "effective_from": v.effective_from.isoformat(),
             "effective_until": v.effective_until and v.effective_until.isoformat(), "digest": v.digest}
            for v in book.versions(product["id"])]


def test_health_and_readiness(server, book):
    status, _, body = server.call("GET", "/healthz")
    assert (status, body) == (200, {"status": "ok"})
    status, _, body = server.call("GET", "/readyz")
    assert status == 200
    assert body["status"] == "ready" and body["reload_error"] is None and body["loaded_at"]
    assert {(p["id"], p["digest"]) for p in body["products"]} == {
        (v.id, v.digest) for pid in book.ids for v in book.versions(pid)}


def test_the_openapi_document_describes_every_endpoint(server):
    status, _, document = server.call("GET", "/openapi.json")
    assert status == 200 and document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {"/v1/products/{product_id}/evaluate", "/v1/evaluate/batch", "/v1/products",
                                      "/healthz", "/readyz", "/openapi.json"}
    evaluate = document["paths"]["/v1/products/{product_id}/evaluate"]["post"]["responses"]
    assert set(evaluate) == {"200", "400", "404", "413", "415", "422", "503"}


# -- reloading --------------------------------------------------------------------------------------
def _payout(server: Server, claim: dict) -> str:
    status, _, body = server.call("POST", evaluate_path(claim["product"]), claim)
    assert status == 200, body
    return body["payout"]["amount"]


def _digests(server: Server) -> dict:
    return {p["id"]: p["digest"] for p in server.call("GET", "/readyz")[2]["products"]}


def test_products_are_reloaded_when_their_files_change_and_a_bad_reload_keeps_the_last_good(tmp_path, start_server):
    products = copy_products(tmp_path / "products")
    server = start_server(products)
    server.wait_ready()
    claim = example("ad-approved-repair")                  # repair 189.00 EUR less the excess
    assert _payout(server, claim) == "139.00"
    before = _digests(server)

    # requests keep coming while the products are replaced: each sees the old book or the new one
    answers, stop = [], threading.Event()

    def hammer():
        while not stop.is_set():
            status, _, body = server.call("POST", evaluate_path("accidental-damage"), claim)
            answers.append((status, body.get("payout", {}).get("amount")))

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        product = products / "accidental-damage.yaml"
        text = product.read_text(encoding="utf-8")
        assert text.count("default: 50.00 EUR") == 1
        product.write_text(text.replace("default: 50.00 EUR", "default: 60.00 EUR"), encoding="utf-8")
        server.wait_until(lambda: _payout(server, claim) == "129.00", what="the new excess to apply")
        time.sleep(0.2)
    finally:
        stop.set()
        thread.join()
    assert answers and set(answers) <= {(200, "139.00"), (200, "129.00")}
    after = _digests(server)
    assert after["accidental-damage"] != before["accidental-damage"]
    assert after["screen-protection"] != before["screen-protection"]        # it extends accidental-damage
    assert after["bmw-total-loss"] == before["bmw-total-loss"]
    assert server.call("GET", "/readyz")[2]["reload_error"] is None

    # a broken edit: a new excess and a misspelt field; nothing of it is applied
    text = product.read_text(encoding="utf-8")
    assert text.count("policy.holder.age < 18") == 1
    product.write_text(text.replace("default: 60.00 EUR", "default: 70.00 EUR")
                       .replace("policy.holder.age < 18", "policy.holder.agee < 18"), encoding="utf-8")
    status, _, ready = server.wait_until(lambda: (r := server.call("GET", "/readyz"))[2]["reload_error"] and r,
                                         what="/readyz to report the failed reload")
    # not ready while the last load failed (the last good products are still served, and listed)
    assert status == 503 and ready["status"] == "not-ready" and ready["products"]
    problems = ready["reload_error"]["problems"]
    assert any(p["code"] == "expr.unknown-field" and p["file"].endswith("accidental-damage.yaml")
               and p["severity"] == "error" for p in problems), problems
    # each problem once: the base's at its own line, screen-protection (which extends it) not checked
    assert sorted((p["file"].rsplit("/", 1)[-1], p["code"]) for p in problems) == [
        ("accidental-damage.yaml", "expr.unknown-field"), ("screen-protection.yaml", "ref.base-has-errors")], problems
    assert _digests(server) == after
    assert _payout(server, claim) == "129.00"                 # still the last good products
    assert "expr.unknown-field" in server.output()             # and the problem was logged

    # a broken new file is refused the same way
    (products / "zz-draft.yaml").write_text("id: [\n", encoding="utf-8")
    product.write_text(text.replace("default: 60.00 EUR", "default: 70.00 EUR"), encoding="utf-8")
    server.wait_until(lambda: any(p["file"].endswith("zz-draft.yaml") for p in
                                  (server.call("GET", "/readyz")[2]["reload_error"] or {}).get("problems", [])),
                      what="/readyz to report the broken new file")
    assert _payout(server, claim) == "129.00"

    # fixed: the next load succeeds and the problem is gone
    (products / "zz-draft.yaml").unlink()
    server.wait_until(lambda: _payout(server, claim) == "119.00", what="the fixed products to load")
    status, _, ready = server.call("GET", "/readyz")
    assert (status, ready["status"], ready["reload_error"]) == (200, "ready", None)


def test_not_ready_until_products_load(tmp_path, start_server):
    products = tmp_path / "products"
    products.mkdir()
    (products / "draft.yaml").write_text("id: [\n", encoding="utf-8")
    server = start_server(products)
    server.wait_until(lambda: server.call("GET", "/healthz")[0] == 200, what="/healthz")
    status, _, body = server.wait_until(lambda: (r := server.call("GET", "/readyz"))[2]["reload_error"] and r,
                                        what="the first load to fail")
    assert status == 503 and body["status"] == "not-ready" and body["products"] == [] and body["loaded_at"] is None
    assert body["reload_error"]["problems"][0]["code"] == "yaml.syntax"
    status, headers, body = server.call("POST", evaluate_path("accidental-damage"), example("ad-approved-repair"))
    assert (status, body["error"]["code"], headers["retry-after"]) == (503, "service.not-ready", "1")
    assert server.call("GET", "/v1/products")[0] == 503
    assert server.call("POST", "/v1/evaluate/batch", {"claims": []})[0] == 503
    assert server.call("GET", "/healthz")[0] == 200           # alive all along

    copy_products(products)
    (products / "draft.yaml").unlink()
    server.wait_ready()
    assert _payout(server, example("ad-approved-repair")) == "139.00"


def test_serve_refuses_a_missing_directory(tmp_path, capsys):
    assert main(["serve", "--products", str(tmp_path / "nowhere")]) == 2
    assert "no such directory" in capsys.readouterr().err


# -- the load test and schemathesis, each a second process -----------------------------------------------
def test_the_load_test_script_runs(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "load.py"), "--requests", "200",
                             "--duration", "20", "--concurrency", "4", "--json",
                             "--products", str(PRODUCTS), "--claims", str(EXAMPLES)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["requests"] == 200 and report["failures"] == 0 and report["statuses"] == {"200": 200}
    assert 0 < report["p50_ms"] <= report["p90_ms"] <= report["p99_ms"] <= report["max_ms"]
    assert report["requests_per_second"] > 0


def test_schemathesis_finds_nothing_against_the_served_openapi_document(server, tmp_path):
    pytest.importorskip("schemathesis")
    # Every check but positive_data_acceptance: a claim is a free-form object in the document
    # (which fields it takes is declared by its product, beyond JSON Schema), so a schema-valid
    # body is mostly invalid input (422), as the document says.
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json",
               "--checks", "all", "--exclude-checks", "positive_data_acceptance",
               "--max-examples", "50", "--seed", "1", "--workers", "1", "--request-timeout", "10",
               "--no-color"]
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Operations:       5 selected / 5 total" in result.stdout
