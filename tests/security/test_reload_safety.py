"""Hot reload, safely (the issue "Reliability and privacy, round two", item 15): a product file saved
in two writes is never loaded half-written, and a reload that fails makes /readyz 503 until a
load succeeds, while the last good products are still served.

The danger is real: the first half of a product file can be a valid product by itself. Here it
is accidental-damage with its eligibility rules written last: without them, a claim of a
17-year-old holder is approved.
"""
from __future__ import annotations

import copy
import os
import time

import pytest

pytest.importorskip("uvicorn", reason="policyconf serve needs the serve extra (uvicorn)")

from conftest import PRODUCTS  # noqa: E402
from policyconf import load_products  # noqa: E402
from serving import copy_products, evaluate_path, example  # noqa: E402

SETTLE = 1.5                # the server's --settle in these tests; the pause between two writes is shorter
PAUSE = 0.6


def in_two_parts(excess: str) -> tuple[str, str]:
    """accidental-damage with the excess `excess` and its eligibility section moved to the end of the
    file: (everything before it, which is a valid product alone, and the eligibility section)."""
    text = (PRODUCTS / "accidental-damage.yaml").read_text(encoding="utf-8")
    start, end = text.index("\neligibility:\n"), text.index("\nevents:\n")
    assert text.count("default: 50.00 EUR") == 1
    first = (text[:start] + text[end:]).replace("default: 50.00 EUR", f"default: {excess}")
    return first.rstrip("\n") + "\n\n", text[start:end].lstrip("\n") + "\n"


def minor() -> dict:
    claim = copy.deepcopy(example("ad-approved-repair"))
    claim["policy"]["holder"]["age"] = 17
    return claim


def decide(server, claim: dict) -> dict:
    status, _, decision = server.call("POST", evaluate_path("accidental-damage"), claim)
    assert status == 200, decision
    return decision


def test_the_first_part_alone_is_a_valid_product_that_approves_a_minor(tmp_path):
    first, _ = in_two_parts("60.00 EUR")
    products = copy_products(tmp_path / "products")
    (products / "accidental-damage.yaml").write_text(first, encoding="utf-8")
    decision = load_products(str(products)).decide(minor())
    assert (decision["outcome"], decision["payout"]["amount"]) == ("approved", "129.00")


def test_a_product_saved_in_two_writes_is_loaded_whole_and_a_failed_reload_is_not_ready(tmp_path, start_server):
    products = copy_products(tmp_path / "products")
    server = start_server(products, settle=SETTLE)
    server.wait_ready()
    adult = example("ad-approved-repair")
    assert decide(server, adult)["payout"]["amount"] == "139.00"
    assert decide(server, minor())["outcome"] == "declined"

    # saved in two writes, with a pause between them: meanwhile the old products are served
    first, second = in_two_parts("60.00 EUR")
    product = products / "accidental-damage.yaml"
    with open(product, "w", encoding="utf-8") as handle:
        handle.write(first)
        handle.flush()
        os.fsync(handle.fileno())
        paused = time.monotonic()
        seen = []
        while time.monotonic() - paused < PAUSE:
            seen.append((decide(server, minor())["outcome"], decide(server, adult)["payout"]["amount"]))
            time.sleep(0.05)
        handle.write(second)
    assert len(seen) >= 5 and set(seen) == {("declined", "139.00")}, seen
    # then the new products, whole: the new excess, and the minor still declined
    server.wait_until(lambda: decide(server, adult)["payout"]["amount"] == "129.00", what="the new products")
    assert decide(server, minor())["reasons"][0]["code"] == "holder-underage"
    status, _, ready = server.call("GET", "/readyz")
    assert (status, ready["status"], ready["reload_error"]) == (200, "ready", None)

    # a reload that fails: /readyz is 503 with the problems; the last good products are still served
    text = product.read_text(encoding="utf-8")
    assert text.count("policy.holder.age < 18") == 1
    product.write_text(text.replace("policy.holder.age < 18", "policy.holder.agee < 18"), encoding="utf-8")
    status, _, ready = server.wait_until(lambda: (r := server.call("GET", "/readyz"))[0] == 503 and r,
                                         what="/readyz to answer 503")
    assert ready["status"] == "not-ready" and ready["loaded_at"] and ready["products"]
    assert any(p["code"] == "expr.unknown-field" for p in ready["reload_error"]["problems"]), ready
    assert decide(server, adult)["payout"]["amount"] == "129.00"
    time.sleep(SETTLE)
    assert server.call("GET", "/readyz")[0] == 503                     # until a good load
    assert server.call("GET", "/healthz")[0] == 200                    # alive all along

    # a good load: ready again
    first, second = in_two_parts("70.00 EUR")
    product.write_text(first + second, encoding="utf-8")
    server.wait_until(lambda: server.call("GET", "/readyz")[0] == 200, what="/readyz to answer 200 again")
    assert decide(server, adult)["payout"]["amount"] == "119.00"
    assert server.call("GET", "/readyz")[2]["reload_error"] is None
