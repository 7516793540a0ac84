"""The HTTP service under hostile or heavy load (the issue "Reliability and privacy, round two",
item 12, and lone surrogates): each test starts `policyconf serve` in its own process
(tests/serving.py) and talks to it over real HTTP on 127.0.0.1, raw sockets where a client must
misbehave.

12. Deciding never blocks the event loop: /healthz answers within 100 ms while a slow batch and
    a slow claim are decided.
 -  A claim holding a lone surrogate (`"X\\ud800"`, which JSON text can carry and UTF-8 cannot)
    is a 400 for one claim, and that claim's error object inside a whole, valid batch answer.
"""
from __future__ import annotations

import json
import statistics
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("uvicorn", reason="policyconf serve needs the serve extra (uvicorn)")

from conftest import PRODUCTS  # noqa: E402
from serving import copy_products, evaluate_path, example, start_server  # noqa: E402,F401

MiB = 1024 * 1024


# -- 12. a slow batch, a slow claim, and /healthz meanwhile ------------------------------------------
def slow_products(target: Path) -> Path:
    """accidental-damage with a list of earlier payments and a definition quadratic in its length:
    a claim with 3,000 payments takes about a second to decide, one with 1,000 about 0.1 s."""
    target.mkdir(parents=True, exist_ok=True)
    text = (PRODUCTS / "accidental-damage.yaml").read_text(encoding="utf-8")
    for section, addition in [
        ("fields", "  claim.history:\n    type: list\n    default: []\n    max_items: 5000\n"
                   "    items:\n      paid: {type: integer, min: 0}\n"),
        ("definitions", "  outpaid: count(a in claim.history where count(b in claim.history where b.paid > a.paid) > 0)\n"),
        ("eligibility", "  history-check:\n    clause: C\n    message: never applies\n    when: outpaid > 100000\n"),
    ]:
        assert text.count(f"\n{section}:\n") == 1
        text = text.replace(f"\n{section}:\n", f"\n{section}:\n{addition}", 1)
    (target / "accidental-damage.yaml").write_text(text, encoding="utf-8")
    return target


def slow_claim(number: int, payments: int) -> dict:
    claim = example("ad-approved-repair")
    claim["claim"]["id"] = f"SLOW-{number}"
    claim["claim"]["history"] = [{"paid": n} for n in range(payments)]
    return claim


def test_healthz_answers_within_100_ms_while_a_slow_batch_and_a_slow_claim_are_decided(tmp_path, start_server):
    server = start_server(slow_products(tmp_path / "products"))
    server.wait_ready()
    answers = {}

    def batch():
        answers["batch"] = server.call("POST", "/v1/evaluate/batch",
                                       {"claims": [slow_claim(n, 1000) for n in range(30)]})

    def one():
        answers["claim"] = server.call("POST", evaluate_path("accidental-damage"), slow_claim(99, 3000))

    workers = [threading.Thread(target=batch), threading.Thread(target=one)]
    for worker in workers:
        worker.start()
    time.sleep(0.3)                                 # both bodies are in and being decided
    latencies = []
    while all(worker.is_alive() for worker in workers) and len(latencies) < 20:
        started = time.perf_counter()
        status, _, body = server.call("GET", "/healthz")
        latencies.append(time.perf_counter() - started)
        assert (status, body) == (200, {"status": "ok"})
        time.sleep(0.05)
    for worker in workers:
        worker.join()
    status, _, body = answers["batch"]
    assert status == 200 and [r["claim_id"] for r in body["results"]] == [f"SLOW-{n}" for n in range(30)]
    assert {r["outcome"] for r in body["results"]} == {"approved"}
    status, _, body = answers["claim"]
    assert (status, body["claim_id"], body["outcome"]) == (200, "SLOW-99", "approved")
    assert len(latencies) >= 5, f"/healthz was answered {len(latencies)} times while both were decided: {latencies}"
    assert statistics.median(latencies) < 0.1, latencies


# -- lone surrogates --------------------------------------------------------------------------------------
def test_a_claim_with_a_lone_surrogate_is_400_not_500(tmp_path, start_server):
    server = start_server(copy_products(tmp_path / "products"))
    server.wait_ready()
    text = json.dumps(example("ad-approved-repair"))
    assert text.count('"AD-REPAIR"') == 1
    status, _, answer = server.call("POST", evaluate_path("accidental-damage"),
                                    text.replace('"AD-REPAIR"', '"X\\ud800"').encode())
    assert status == 400
    assert answer["claim_id"] is None and answer["error"]["code"] == "claim.unreadable", answer
    assert "surrogate" in answer["error"]["message"]


def test_a_lone_surrogate_in_a_batch_is_that_claims_error_object_in_a_whole_answer(tmp_path, start_server):
    server = start_server(copy_products(tmp_path / "products"))
    server.wait_ready()
    claims = []
    for number in range(301):
        claim = example("ad-approved-repair")
        claim["claim"]["id"] = f"C{number}"
        claims.append(claim)
    text = json.dumps({"claims": claims}).replace('"C150"', '"X\\ud800"')
    status, _, answer = server.call("POST", "/v1/evaluate/batch", text.encode())   # valid JSON, or call fails
    assert status == 200 and len(answer["results"]) == 301
    bad = answer["results"][150]
    assert bad["claim_id"] is None and bad["error"]["code"] == "claim.unreadable", bad
    assert [r["claim_id"] for r in answer["results"][:150]] == [f"C{n}" for n in range(150)]
    assert [r["claim_id"] for r in answer["results"][151:]] == [f"C{n}" for n in range(151, 301)]
    assert {r.get("outcome") for i, r in enumerate(answer["results"]) if i != 150} == {"approved"}
