"""The HTTP service under hostile or heavy load (the issue "Reliability and privacy, round two",
items 12-14, and lone surrogates): each test starts `policyconf serve` in its own process
(tests/serving.py) and talks to it over real HTTP on 127.0.0.1, raw sockets where a client must
misbehave.

12. Deciding never blocks the event loop: /healthz answers within 100 ms (the median of the
    probes) while a slow batch, or a slow claim, is decided.
13. Memory stays bounded: many big batch bodies at once get 503 (service.busy, Retry-After) rather
    than being parsed all together, the server's resident memory stays under a bound, and it
    answers afterwards; a batch that would take more than the memory for bodies once parsed is
    413 before it is parsed. The bound counted before parsing holds for every shape of JSON.
14. A request whose headers or body do not arrive in time is answered 408 (request.timeout) and
    its connection closed: headers sent byte by byte, a body that stops midway, a body that
    trickles, a connection that sends nothing, fifty slow clients at once; a kept-alive
    connection used for whole requests is not cut.
 -  A claim holding a lone surrogate (`"X\\ud800"`, which JSON text can carry and UTF-8 cannot)
    is a 400 for one claim, and that claim's error object inside a whole, valid batch answer.
"""
from __future__ import annotations

import json
import re
import selectors
import socket
import statistics
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("uvicorn", reason="policyconf serve needs the serve extra (uvicorn)")

from conftest import PRODUCTS  # noqa: E402
from policyconf import load_products  # noqa: E402
from policyconf.engine import serve  # noqa: E402
from policyconf.engine.claim_reader import parse_json  # noqa: E402
from serving import copy_products, evaluate_path, example  # noqa: E402

MiB = 1024 * 1024


# -- 12. a slow batch, a slow claim, and /healthz meanwhile ------------------------------------------
def slow_products(target: Path) -> Path:
    """accidental-damage with a list of earlier payments and a definition quadratic in its length:
    a claim with 4,000 payments takes about 1 s to decide, one with 1,000 about 0.1 s (on the project
    machine, 2 December 2026: the slow claim must leave time for several probes however fast the
    engine gets, so it is sized with room)."""
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


def probe_healthz_while(server, request) -> tuple[list, tuple]:
    """Send `request()` from a thread and time /healthz meanwhile, up to 20 times, a probe every
    50 ms; (the probes' seconds, what the request got)."""
    answer = []
    worker = threading.Thread(target=lambda: answer.append(request()))
    worker.start()
    time.sleep(0.2)                                 # the body is in and being decided
    latencies = []
    while worker.is_alive() and len(latencies) < 20:
        started = time.perf_counter()
        status, _, body = server.call("GET", "/healthz")
        latencies.append(time.perf_counter() - started)
        assert (status, body) == (200, {"status": "ok"})
        time.sleep(0.05)
    worker.join()
    return latencies, answer[0]


@pytest.mark.parametrize("what", ["a slow batch", "a slow claim"])
def test_healthz_answers_within_100_ms_while_slow_claims_are_decided(tmp_path, start_server, what):
    server = start_server(slow_products(tmp_path / "products"))
    server.wait_ready()
    if what == "a slow batch":                      # 15 claims of 0.1 s each
        latencies, (status, _, body) = probe_healthz_while(server, lambda: server.call(
            "POST", "/v1/evaluate/batch", {"claims": [slow_claim(n, 1000) for n in range(15)]}))
        assert status == 200 and [r["claim_id"] for r in body["results"]] == [f"SLOW-{n}" for n in range(15)]
        assert {r["outcome"] for r in body["results"]} == {"approved"}
    else:                                           # one claim of about 1 s
        latencies, (status, _, body) = probe_healthz_while(server, lambda: server.call(
            "POST", evaluate_path("accidental-damage"), slow_claim(99, 4000)))
        assert (status, body["claim_id"], body["outcome"]) == (200, "SLOW-99", "approved")
    # before, the event loop decided them: one probe waited for all of it (3 s for the batch)
    assert len(latencies) >= 5, f"/healthz was answered {len(latencies)} times meanwhile: {latencies}"
    assert statistics.median(latencies) < 0.1, latencies


# -- 13. many big bodies at once -------------------------------------------------------------------
def resident(pid: int, field: str = "VmRSS") -> int:
    """The process's resident memory (VmRSS) or its peak (VmHWM), in bytes."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.M).group(1)) * 1024


def heavy_batch(size: int) -> bytes:
    """A batch of about `size` bytes whose claims are mostly empty lists: about 22 bytes in memory
    for every byte of JSON once parsed (each claim is then invalid input, decided at once)."""
    claim = '{"product":"accidental-damage","claim":{"id":"HEAVY","padding":[' + ",".join(["[]"] * 2000) + "]}}"
    return ('{"claims":[' + ",".join([claim] * (size // len(claim))) + "]}").encode()


SHAPES = {                                          # 1 MiB of JSON each, by what it holds
    "claims": lambda n: json.dumps({"claims": [example("bmw-approved-used")] * (n // 1300)}),
    "empty objects": lambda n: "[" + ",".join(["{}"] * (n // 3)) + "]",
    "empty lists": lambda n: "[" + ",".join(["[]"] * (n // 3)) + "]",
    "nested lists": lambda n: "[" + ",".join(["[[]]"] * (n // 5)) + "]",
    "decimals": lambda n: "[" + ",".join(["1.5"] * (n // 4)) + "]",
    "exponents": lambda n: "[" + ",".join(["1e5"] * (n // 4)) + "]",
    "integers": lambda n: "[" + ",".join(["1000"] * (n // 5)) + "]",
    "short strings": lambda n: "[" + ",".join(['"ab"'] * (n // 5)) + "]",
    "one long string": lambda n: json.dumps(["x" * n]),
    "distinct keys": lambda n: "{" + ",".join(f'"k{i}":1' for i in range(n // 10)) + "}",
    "small objects": lambda n: "[" + ",".join(['{"a":1.5,"b":2.5}'] * (n // 18)) + "]",
    "wide characters": lambda n: json.dumps(["a" * 100] * (n // 104) + ["\U0001F600"], ensure_ascii=False),
    "two-byte characters": lambda n: json.dumps(["\u00e9\u4e2d" * 10] * (n // 60), ensure_ascii=False),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_cost_counted_before_parsing_bounds_what_parsing_takes(shape):
    body = SHAPES[shape](MiB).encode("utf-8")
    chunks = [body[i:i + 65536] for i in range(0, len(body), 65536)]
    cost = serve.BodyCost()
    for chunk in chunks:
        cost.add(chunk)
    tracemalloc.start()
    try:
        joined = b"".join(chunks)
        del chunks
        text = joined.decode("utf-8")
        value = parse_json(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del value, text
    took = peak + 65536 * 2                     # the chunks before tracing began, about one in flight
    assert took < cost.total < 12 * took, (took, cost.total)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc")
def test_many_big_batches_at_once_get_503_with_retry_after_and_memory_stays_bounded(tmp_path, start_server):
    server = start_server(copy_products(tmp_path / "products"))
    server.wait_ready()
    body = heavy_batch(2 * MiB)                     # about 45 MiB once parsed; 32 of them about 1.5 GB
    idle = resident(server.process.pid)
    answers, samples = [], []
    senders = [threading.Thread(target=lambda: answers.append(server.call("POST", "/v1/evaluate/batch", body)))
               for _ in range(32)]
    for sender in senders:
        sender.start()
    while any(sender.is_alive() for sender in senders):
        samples.append(resident(server.process.pid))
        time.sleep(0.02)
    for sender in senders:
        sender.join()
    peak = max(samples + [resident(server.process.pid, "VmHWM")])
    statuses = Counter(status for status, _, _ in answers)
    assert set(statuses) <= {200, 503} and statuses[200] >= 1 and statuses[503] >= 1, statuses
    for status, headers, answer in answers:
        if status == 503:
            assert headers["retry-after"] == "1" and answer["error"]["code"] == "service.busy", (headers, answer)
        else:
            assert len(answer["results"]) == len(json.loads(body)["claims"])
    # the bodies' memory is bounded by BODY_MEMORY, whatever the number of requests; before, 24 of
    # these took the server to 984 MiB
    assert peak - idle < serve.BODY_MEMORY, f"the server's resident memory went from {idle / MiB:.0f} MiB " \
                                            f"to {peak / MiB:.0f} MiB"
    # and it keeps answering, with the memory the batches held given back
    assert server.call("GET", "/healthz")[0] == 200
    claim = example("ad-approved-repair")
    assert server.call("POST", evaluate_path("accidental-damage"), claim)[2]["payout"]["amount"] == "139.00"
    status, _, answer = server.call("POST", "/v1/evaluate/batch", body)
    assert status == 200 and answer["results"][0]["claim_id"] == "HEAVY" and "error" in answer["results"][0]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc")
def test_a_batch_too_big_once_parsed_is_413_before_it_is_parsed(tmp_path, start_server):
    # 16 MiB of {} (under the body limit): 430 MB parsed, refused before parsing
    server = start_server(copy_products(tmp_path / "products"))
    server.wait_ready()
    before = resident(server.process.pid, "VmHWM")
    body = b'{"claims":[' + b",".join([b"{}"] * ((16 * MiB - 20) // 3)) + b"]}"
    status, headers, answer = server.call("POST", "/v1/evaluate/batch", body)
    assert (status, answer["error"]["code"]) == (413, "request.too-large")
    assert "parsed" in answer["error"]["message"]
    assert resident(server.process.pid, "VmHWM") - before < 100 * MiB
    assert server.call("GET", "/healthz")[0] == 200


# -- 14. half-sent requests ---------------------------------------------------------------------------
HEADER_TIMEOUT, BODY_TIMEOUT = 1.0, 2.0
BATCH_HEAD = (b"POST /v1/evaluate/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              b"Content-Length: 1000\r\n\r\n")


@pytest.fixture
def quick_timeouts(tmp_path, start_server):
    """A server whose timeouts are a second for headers and two for a body (10 s and 20 s by default)."""
    server = start_server(copy_products(tmp_path / "products"), header_timeout=HEADER_TIMEOUT,
                          body_timeout=BODY_TIMEOUT)
    server.wait_ready()
    return server


def trickle(port: int, data: bytes, first: bytes = b"", every: float = 0.1, limit: float = 8.0):
    """Send `first` at once, then `data` a byte every `every` seconds until the server answers or
    closes; return (seconds from the first byte until the connection was closed, what it answered)."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setblocking(False)
        started = time.monotonic()
        sock.sendall(first)
        received, position = b"", 0
        while time.monotonic() - started < limit:
            readable = selectors.select.select([sock], [], [], every)[0]
            if readable:
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:        # closed by the server as a byte was on its way
                    chunk = b""
                if not chunk:
                    return time.monotonic() - started, received
                received += chunk
            elif position < len(data):
                try:
                    sock.send(data[position:position + 1])
                except OSError:                     # closed by the server: read what it said
                    continue
                position += 1
        return None, received


def answered_408(received: bytes, detail: str) -> None:
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), received[:300]
    assert b"connection: close" in head.lower()
    answer = json.loads(body)
    assert answer["error"]["code"] == "request.timeout" and detail in answer["error"]["message"], answer


def test_headers_sent_byte_by_byte_are_cut_at_the_header_timeout(quick_timeouts):
    held, received = trickle(quick_timeouts.port, BATCH_HEAD)
    assert held is not None, "the server still held the connection after 8 s"
    assert HEADER_TIMEOUT - 0.2 < held < HEADER_TIMEOUT + 1.5, held
    answered_408(received, "headers")


def test_a_connection_that_sends_nothing_is_closed_at_the_header_timeout(quick_timeouts):
    held, received = trickle(quick_timeouts.port, b"")
    assert held is not None and held < HEADER_TIMEOUT + 1.5, held
    answered_408(received, "headers")


def test_a_body_that_stops_midway_is_cut_at_the_body_timeout(quick_timeouts):
    held, received = trickle(quick_timeouts.port, b"", first=BATCH_HEAD + b'{"claims": [' + b" " * 400)
    assert held is not None, "the server still held the connection after 8 s"
    assert BODY_TIMEOUT - 0.2 < held < BODY_TIMEOUT + 1.5, held
    answered_408(received, "body")


def test_a_body_that_trickles_is_cut_at_the_body_timeout(quick_timeouts):
    # a byte every 0.1 s: no single read waits long, the whole body is late all the same
    held, received = trickle(quick_timeouts.port, b" " * 1000, first=BATCH_HEAD)
    assert held is not None, "the server still held the connection after 8 s"
    assert BODY_TIMEOUT - 0.2 < held < BODY_TIMEOUT + 1.5, held
    answered_408(received, "body")


def test_fifty_slow_clients_at_once_are_all_cut_and_others_are_served_meanwhile(quick_timeouts):
    results = []
    clients = [threading.Thread(target=lambda: results.append(trickle(quick_timeouts.port, BATCH_HEAD)))
               for _ in range(50)]
    for client in clients:
        client.start()
    time.sleep(0.3)
    claim = example("ad-approved-repair")
    assert quick_timeouts.call("POST", evaluate_path("accidental-damage"), claim)[0] == 200
    for client in clients:
        client.join()
    held = sorted(seconds for seconds, _ in results if seconds is not None)
    assert len(held) == 50, f"{50 - len(held)} of 50 slow clients still held their connection after 8 s"
    assert held[-1] < HEADER_TIMEOUT + 2.0, held


def test_a_whole_request_on_a_kept_alive_connection_is_not_cut(quick_timeouts):
    # the deadlines are per request: a connection used for several requests, idle between them
    # for less than uvicorn's keep-alive timeout, is not cut by the header deadline
    import http.client
    connection = http.client.HTTPConnection("127.0.0.1", quick_timeouts.port, timeout=10)
    try:
        for _ in range(3):
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            assert (response.status, json.loads(response.read())) == (200, {"status": "ok"})
            time.sleep(HEADER_TIMEOUT * 0.8)
    finally:
        connection.close()


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


def test_a_lone_surrogate_in_a_field_no_decision_echoes_refuses_that_claim_of_a_batch_too():
    # a text the decision never shows (the claim would be decided, and its surrogate pass unseen)
    claims = [example("ad-approved-repair"), example("ad-approved-repair")]
    claims[1]["policy"]["id"] = "P-1"
    text = json.dumps({"claims": claims}).replace('"P-1"', '"P\\udfff"')
    read = serve._batch_claims(text.encode())
    answer = json.loads(b"[" + serve._batch_slice(load_products(str(PRODUCTS)), read, 0) + b"]")
    assert answer[0]["outcome"] == "approved"
    assert answer[1]["error"]["code"] == "claim.unreadable" and "surrogate" in answer[1]["error"]["message"]
