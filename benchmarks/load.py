"""Load test for `policyconf serve`: a second process sends claims over HTTP and times each answer.

    python benchmarks/load.py [--url http://127.0.0.1:8080] [--requests 5000] [--duration 30]
                              [--concurrency 8] [--products products/] [--claims examples/] [--json]

Without --url, it starts `policyconf serve` on a free loopback port (products from --products),
waits until /readyz answers 200, runs the load, and stops the server. The example claims of
examples/ (or --claims) are sent round-robin to POST /v1/products/{product}/evaluate, one claim a request,
over `--concurrency` keep-alive connections (one thread each, http.client). The run stops at
`--requests` requests or after `--duration` seconds, whichever comes first; a short warm-up
(not counted) comes before it. Every answer must be a 200 with the decision of its claim.

Prints requests per second and the latency percentiles (p50, p90, p99, max: nearest rank over
every request, in milliseconds), with the machine's cores and load average. On one machine the
server and this process share the cores: the figures are those of the pair, not of the server
alone.
"""
from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
WARMUP = 100                          # requests before timing starts (not counted)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url}/readyz did not answer 200 within {timeout:.0f} s")
        time.sleep(0.05)


def start_server(products: str, reload_interval: float = 1.0) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "policyconf.engine.cli", "serve", "--products", products,
                                "--host", "127.0.0.1", "--port", str(port), "--reload-interval", str(reload_interval)],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process, f"http://127.0.0.1:{port}"


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def load_claims(directory: Path = EXAMPLES) -> list[tuple[str, bytes]]:
    """(path, body) for each example claim."""
    requests = []
    for path in sorted(directory.glob("*.json")):
        claim = json.loads(path.read_text(encoding="utf-8"))
        requests.append((f"/v1/products/{claim['product']}/evaluate", json.dumps(claim).encode("utf-8")))
    if not requests:
        raise SystemExit(f"no example claims in {directory}")
    return requests


def percentile(ordered: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def run(url: str, requests: int, duration: float, concurrency: int, claims_dir: Path = EXAMPLES) -> dict:
    parsed = urllib.parse.urlsplit(url)
    claims = load_claims(claims_dir)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    failures: list[str] = []
    lock = threading.Lock()
    counter = iter(range(requests))            # next() on a range iterator is atomic under the GIL
    start_gate = threading.Barrier(concurrency + 1)
    stop_at = [math.inf]

    def worker() -> None:
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
        mine: list[float] = []
        seen: dict[int, int] = {}
        for number in range(max(1, WARMUP // concurrency)):      # warm-up: connection open, caches warm
            path, body = claims[number % len(claims)]
            try:
                connection.request("POST", path, body, {"Content-Type": "application/json"})
                connection.getresponse().read()
            except (OSError, http.client.HTTPException):
                connection.close()
        start_gate.wait()
        try:
            for number in counter:
                path, body = claims[number % len(claims)]
                begin = time.perf_counter()
                if begin > stop_at[0]:
                    break
                try:
                    connection.request("POST", path, body, {"Content-Type": "application/json"})
                    response = connection.getresponse()
                    payload = response.read()
                except (OSError, http.client.HTTPException) as error:
                    connection.close()
                    with lock:
                        failures.append(f"{path}: {type(error).__name__}: {error}")
                    continue
                elapsed = time.perf_counter() - begin
                seen[response.status] = seen.get(response.status, 0) + 1
                if response.status != 200 or b'"outcome"' not in payload:
                    with lock:
                        failures.append(f"{path}: {response.status} {payload[:200]!r}")
                mine.append(elapsed)
        finally:
            connection.close()
            with lock:
                latencies.extend(mine)
                for status, count in seen.items():
                    statuses[status] = statuses.get(status, 0) + count

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    start_gate.wait()
    began = time.perf_counter()
    stop_at[0] = began + duration
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    ordered = sorted(latencies)
    ms = lambda seconds: round(seconds * 1000, 2)  # noqa: E731
    return {
        "url": url, "requests": len(ordered), "concurrency": concurrency, "seconds": round(wall, 2),
        "requests_per_second": round(len(ordered) / wall, 1) if wall else 0.0,
        "p50_ms": ms(percentile(ordered, 50)) if ordered else None,
        "p90_ms": ms(percentile(ordered, 90)) if ordered else None,
        "p99_ms": ms(percentile(ordered, 99)) if ordered else None,
        "max_ms": ms(ordered[-1]) if ordered else None,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "failures": len(failures), "first_failures": failures[:5],
        "cores": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server (default: start one on a free loopback port)")
    parser.add_argument("--products", default=str(ROOT / "products"), help="products for the server started here")
    parser.add_argument("--claims", type=Path, default=EXAMPLES, help="folder of claims to send (default: examples/)")
    parser.add_argument("--requests", type=int, default=5000, help="requests to time (default: 5000)")
    parser.add_argument("--duration", type=float, default=30.0, help="at most this many seconds (default: 30)")
    parser.add_argument("--concurrency", type=int, default=8, help="connections, one thread each (default: 8)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.duration <= 0 or args.concurrency < 1:
        parser.error("--requests, --duration and --concurrency must be positive")

    process = None
    url = args.url.rstrip("/") if args.url else None
    try:
        if url is None:
            process, url = start_server(args.products)
            wait_ready(url, 30, process)
        else:
            wait_ready(url, 10)
        result = run(url, args.requests, args.duration, args.concurrency, args.claims)
        result["server"] = "started here" if process else "given"
    finally:
        if process is not None:
            stop_server(process)

    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['requests']:,} requests in {result['seconds']} s over {result['concurrency']} connections "
              f"to {url}: {result['requests_per_second']:,} requests/s")
        print(f"latency ms: p50 {result['p50_ms']}  p90 {result['p90_ms']}  p99 {result['p99_ms']}  "
              f"max {result['max_ms']}")
        print(f"statuses: {result['statuses']}; failures: {result['failures']}")
        for failure in result["first_failures"]:
            print(f"  {failure}")
        print(f"machine: {result['cores']} cores, load average {result['load_average']} (after the run), "
              f"Python {result['python']}; the server and this client share the machine")
    return 1 if result["failures"] or not result["requests"] else 0


if __name__ == "__main__":
    sys.exit(main())
