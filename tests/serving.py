"""A `policyconf serve` in its own process, for the tests that talk to it over real HTTP on 127.0.0.1
(tests/engine/test_serve.py, tests/security/test_http_limits.py, tests/security/test_reload_safety.py).

Each server is `python -m policyconf.engine.cli serve` on a port found free just before, serving a
products folder the test gives (usually a copy of the fixture products, tests/fixtures/products,
in a temporary directory); it is always stopped at the end.
"""
from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


from conftest import EXAMPLES, PRODUCTS, ROOT

JSON = {"Content-Type": "application/json"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(port: int, method: str, path: str, body=None, headers: dict | None = None):
    """(status, headers, JSON body) of one request; `body` a dict/list (sent as JSON) or bytes."""
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode("utf-8")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body, {**(JSON if body is not None else {}), **(headers or {})})
        response = connection.getresponse()
        raw = response.read()
        assert response.getheader("content-type") == "application/json", raw[:200]
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(raw)
    finally:
        connection.close()


class Server:
    def __init__(self, products: Path, log: Path, reload_interval: float = 0.1, **options):
        """`options` are more command-line options of serve: settle=0.5 is `--settle 0.5`."""
        self.port = free_port()
        self.products = products
        self.log = log
        self.url = f"http://127.0.0.1:{self.port}"
        self._log_file = open(log, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "policyconf.engine.cli", "serve", "--products", str(products), "--host", "127.0.0.1",
             "--port", str(self.port), "--reload-interval", str(reload_interval),
             *[item for name, value in options.items() for item in ("--" + name.replace("_", "-"), str(value))]],
            cwd=ROOT, stdout=self._log_file, stderr=subprocess.STDOUT)

    def call(self, method: str, path: str, body=None, headers: dict | None = None):
        return call(self.port, method, path, body, headers)

    def wait_until(self, condition, timeout: float = 15.0, what: str = "the condition"):
        """Poll until `condition()` returns something true; return it."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited ({self.process.returncode}):\n{self.output()}")
            try:
                result = condition()
                if result:
                    return result
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; server output:\n{self.output()}")
            time.sleep(0.05)

    def wait_ready(self):
        return self.wait_until(lambda: self.call("GET", "/readyz")[0] == 200, what="/readyz to answer 200")

    def output(self) -> str:
        self._log_file.flush()
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()


def copy_products(target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for path in PRODUCTS.glob("*.yaml"):
        if not path.name.endswith(".tests.yaml"):
            shutil.copy(path, target / path.name)
    return target


def example(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def evaluate_path(product: str) -> str:
    return f"/v1/products/{product}/evaluate"
