"""`policyconf serve`: the evaluator as an HTTP service, for services not written in Python.

    policyconf serve [--products DIR] [--host 127.0.0.1] [--port 8080] [--reload-interval 1.0] [--settle 1.0]
                     [--header-timeout 10] [--body-timeout 20] [--body-memory 512]

An ASGI application (`create_app`) served by uvicorn. JSON in and out as in the contract
(../shared/spec/contract.md): a claim in, the decision document or the error object out.

    POST /v1/products/{product_id}/evaluate   one claim             200 decision | 4xx error object
    POST /v1/evaluate/batch                   {"claims": [...]}     200 {"results": [...]}, in order
    GET  /v1/products                         ids and versions (version, effective_from, digest)
    GET  /healthz                             liveness: 200 while the process runs
    GET  /readyz                              readiness: 200 once products are loaded, 503 before or
                                              while the last load failed
    GET  /openapi.json                        the OpenAPI 3.1 document of all of the above

Status codes: 200 a decision (whatever the outcome); 400 a body that is not JSON
(`claim.unreadable`, a claim holding text UTF-8 cannot carry included); 404 an unknown product
(`claim.unknown-product`) or path (`request.not-found`); 405 a method the path does not take
(`request.method`, with `Allow`); 408 a request whose headers or body did not arrive in time
(`request.timeout`; the connection is then closed); 413 a body over its limit, in bytes or in the
memory it would take once parsed (`request.too-large`); 415 a body that says it is not JSON (`request.media-type`);
422 invalid input: the claim's own error object, a claim whose `product` differs from the path
(`claim.product-mismatch`), a batch that is not `{"claims": [...]}` of at most 10,000 claims
(`request.invalid`); 503 no products loaded yet (`service.not-ready`), or the memory set aside
for request bodies in use (`service.busy`), each with `Retry-After`.
Every error body is the contract's error object, `{"claim_id", "error": {"code", "message", "path"}}`.

The event loop only moves bytes: parsing bodies, deciding claims, writing decisions and loading
products run in a pool of worker threads (`WORKERS`), so that /healthz and /readyz answer at once
while a slow claim, a long batch or a reload is being worked on.

Memory is bounded whatever the clients send: every request body is charged, as it arrives, what
it will take once parsed (an upper bound counted from its bytes before any parsing: `BodyCost`),
and all bodies together may hold `body_memory` bytes. A body that would not fit alone is 413;
one that does not fit beside the others now is 503 with `Retry-After`, its bytes read and dropped.

Time is bounded too: a request's headers must arrive within `header_timeout` seconds of its first
byte (or of the connection), its body within `body_timeout` seconds of its headers, else it is
answered 408 and its connection closed (`http_protocol` adds the first to uvicorn, which has no
such timeout; the application keeps the second). uvicorn's own limits do the rest: a kept-alive
connection idle for `KEEP_ALIVE` seconds is closed, headers over `MAX_HEADERS` bytes are a 400,
and past `MAX_CONNECTIONS` connections at once it answers 503 itself.

Reloading: a background task polls the product files every `reload_interval` seconds (the
files the loader reads: names and a SHA-256 of their content). A change is loaded, in a worker
thread, once the files have read the same for `settle` seconds (a file saved in two writes is not
loaded between them), and used only if they still read the same after the load. A load that
succeeds replaces the product book with one reference assignment; a request takes the reference
once, when it starts, so it is decided by one whole book, old or new, never a half-loaded one. A
load that fails keeps the last good book, which is still served, but /readyz answers 503 with its
problems (also logged to stderr) until a load succeeds; the next change of the files is tried.

Why no web framework: seven fixed routes, a bounded body reader and a JSON writer that keeps
decimals exact are about as much code as configuring a framework to do the same, and uvicorn
(with h11, click) is then the only dependency.
"""
from __future__ import annotations

import asyncio
import copy
import functools
import hashlib
import json
import logging
import os
import re
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from .. import schemas
from . import errors as E
from .loader import product_files
from .product_book import ProductBook, claim_id_of, load_products
from .claim_reader import decide_claim, lone_surrogate, may_hold_surrogates, parse_json
from .errors import ClaimError, ProductError
from .jsonio import dumps

log = logging.getLogger("policyconf.serve")

# The three limits are written out in schemas/openapi.json as well (tests/engine/test_openapi.py
# checks that the document states these numbers).
MAX_BODY = 1024 * 1024                  # bytes: one claim
MAX_BATCH_BODY = 16 * 1024 * 1024       # bytes: a batch (the command line's limit for a claim file)
MAX_BATCH_CLAIMS = 10_000               # claims in one batch
BATCH_SLICE = 100                       # claims of a batch decided and written by one worker call
DRAIN = 4 * 1024 * 1024                 # bytes over a limit read and dropped before the 413
BODY_MEMORY = 512 * 1024 * 1024         # bytes all request bodies may hold at once, raw and parsed (--body-memory)
RETRY_AFTER = (b"retry-after", b"1")    # seconds, on every 503
HEADER_TIMEOUT = 10.0                   # seconds for a request's headers to arrive (--header-timeout)
BODY_TIMEOUT = 20.0                     # seconds for its body to arrive after them (--body-timeout): 16 MiB at 0.8 MB/s
KEEP_ALIVE = 5                          # seconds a kept-alive connection may stay idle (uvicorn's timeout_keep_alive)
MAX_HEADERS = 16 * 1024                 # bytes of request line and headers (h11's limit, uvicorn's 400 past it)
MAX_CONNECTIONS = 1000                  # connections and requests at once (uvicorn's limit_concurrency, 503 past it)
SETTLE = 1.0                            # seconds product files must read the same before they are loaded (--settle)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))        # the cores this process may run on
    except AttributeError:                          # not on Linux
        return os.cpu_count() or 1


# Worker threads for parsing, deciding, writing and loading: the event loop only moves bytes.
# The GIL lets one thread compute at a time, so threads add no speed; a few more than the cores
# keep one slow claim from holding up the others (the sizing of asyncio's default executor).
WORKERS = min(32, _cores() + 4)

# Codes of the HTTP layer live with every other stable code, in engine.errors.
from .errors import (CLAIM_PRODUCT_MISMATCH, REQUEST_INVALID, REQUEST_MEDIA_TYPE, REQUEST_METHOD,  # noqa: E402
                     REQUEST_NOT_FOUND, REQUEST_TIMEOUT, REQUEST_TOO_LARGE, SERVICE_BUSY, SERVICE_INTERNAL,
                     SERVICE_NOT_READY)


# -- the loaded products and the watcher that replaces them -------------------------------
@dataclass(frozen=True)
class Snapshot:
    """One successfully loaded product book, and what /readyz and /v1/products say about it."""
    book: ProductBook
    loaded_at: str
    products: list = field(default_factory=list)      # [{"id", "name", "versions": [...]}]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _describe(book: ProductBook) -> list:
    return [{"id": product_id,
             "name": book.versions(product_id)[-1].name,
             "versions": [{"version": p.version,
                           "effective_from": p.effective_from.isoformat(),
                           "effective_until": p.effective_until.isoformat() if p.effective_until else None,
                           "digest": p.digest} for p in book.versions(product_id)]}
            for product_id in book.ids]


def fingerprint(directory: str) -> tuple:
    """What the loader would read: each product file's name and a SHA-256 of its bytes.

    Content, not mtimes: a file rewritten twice within one mtime tick, or copied with its
    mtime kept, still counts as changed; and a `touch` alone reloads nothing. The product
    directory is small (the loader reads all of it anyway), so hashing it each poll is cheap.
    """
    if not os.path.isdir(directory):
        return (("<no such directory>", directory),)
    entries = []
    for path in product_files([directory]):
        try:
            with open(path, "rb") as handle:
                entries.append((os.path.basename(path), hashlib.sha256(handle.read()).hexdigest()))
        except OSError as error:      # removed or unreadable between listing and reading
            entries.append((os.path.basename(path), f"<{error.strerror}>"))
    return tuple(entries)


class Products:
    """The current snapshot, swapped whole; the last reload problem; the polling task."""

    def __init__(self, directory: str, interval: float, executor: Executor | None = None, settle: float = SETTLE):
        self.directory = directory
        self.interval = interval
        self.settle = settle                        # seconds the files must read the same before a load
        self.executor = executor                    # None: asyncio's default executor
        self.current: Snapshot | None = None        # replaced by one assignment, never mutated
        self.error: dict | None = None              # the last failed load, until one succeeds
        self._seen: tuple | None = None             # fingerprint of the last load attempted
        self._pending: tuple | None = None          # (fingerprint, since when) of files changed since, settling
        self._task: asyncio.Task | None = None
        self._lock: asyncio.Lock | None = None
        self._stopped = False

    def start(self) -> None:
        if self._task is None and not self._stopped:
            self._task = asyncio.get_running_loop().create_task(self._watch(), name="policyconf-reload")

    async def stop(self) -> None:
        self._stopped = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _watch(self) -> None:
        while True:
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception:                         # never let the watcher die
                log.exception("checking the products in %s failed", self.directory)
            await asyncio.sleep(self.interval)

    async def check(self) -> bool:
        """Load the products if their files changed since the last attempt and have stayed the same
        for `settle` seconds since; True if a new book is in use.

        A file saved in two writes (an editor, a copy, a deploy) reads half-written in between, and
        its first half may be a valid product by itself: one without its eligibility rules, say.
        Such a reading is never loaded unless it stays unchanged for the settling time; and a load
        whose files changed while it read them is not used (it may hold some of each), nor reported
        as failed: the files are loaded again once they have settled.
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            seen = await self._in_worker(fingerprint, self.directory)
            if seen == self._seen:
                self._pending = None
                return False
            now = time.monotonic()
            if self._pending is None or self._pending[0] != seen:
                self._pending = (seen, now)         # changed (again): the settling time starts now
            if now - self._pending[1] < self.settle:
                return False
            started = time.perf_counter()
            book, problems = None, None
            try:
                book = await self._in_worker(load_products, self.directory)
            except ProductError as error:
                problems = error.problems
            except Exception as error:              # a bug in the loader: keep serving the last good book
                log.exception("loading %s failed", self.directory)
                problems = [E.Problem(self.directory, 1, 1, SERVICE_INTERNAL, f"{type(error).__name__}: {error}")]
            self._pending = None
            if await self._in_worker(fingerprint, self.directory) != seen:
                return False                        # changed while it was read: settle, then load again
            self._seen = seen
            if book is None:
                self._failed(problems)
                return False
            snapshot = Snapshot(book, _now(), _describe(book))
            first = self.current is None
            self.current = snapshot                   # the swap: one reference assignment
            self.error = None
            log.info("%s %d product%s from %s in %.0f ms: %s", "loaded" if first else "reloaded",
                     len(book.ids), "" if len(book.ids) == 1 else "s", self.directory,
                     (time.perf_counter() - started) * 1000,
                     ", ".join(f"{p['id']} {v['version']} ({v['digest'][:12]})"
                               for p in snapshot.products for v in p["versions"]))
            for warning in book.warnings:
                log.warning("%s", warning.format(with_source=False))
            return True

    def _in_worker(self, function, *args) -> Awaitable:
        return asyncio.get_running_loop().run_in_executor(self.executor, functools.partial(function, *args))

    def _failed(self, problems: list) -> None:
        errors = [p for p in problems if p.severity == "error"] or list(problems)
        self.error = {"at": _now(), "directory": self.directory,
                      "problems": [p.to_dict() for p in problems]}
        kept = "keeping the products loaded at " + self.current.loaded_at if self.current else \
            "no products loaded yet"
        log.error("loading %s failed (%d error%s); %s:\n%s", self.directory, len(errors),
                  "" if len(errors) == 1 else "s", kept,
                  "\n".join("  " + p.format(with_source=False) for p in problems))


# -- memory for request bodies -------------------------------------------------------------------
_UCS4 = re.compile(rb"[\xf0-\xf4]")            # the first byte of a character past U+FFFF
_UCS2 = re.compile(rb"[\xc4-\xef]")            # the first byte of a character U+0100 to U+FFFF


class BodyCost:
    """An upper bound of the memory a JSON body takes until it is parsed, counted from its bytes
    chunk by chunk as they arrive, before any of it is parsed.

    Parsed, JSON takes far more than its text: 16 MiB of `{},{},...` is 5.6 million dicts,
    430 MB. What it takes follows from what the text holds: every object or array (`{`, `[`) is
    one container (an empty dict 64 bytes, a list 56), every value after a `,` or a `:` at most
    one more object and its reference (a Decimal, 104 bytes, is the largest scalar; a key's dict
    entry), and the characters of the text are held at most four times (the chunks and the
    bytes joined from them, the decoded text, the parsed strings), each as wide as the widest
    character decoded (Python stores 1, 2 or 4 bytes a character). Characters inside strings are
    counted as if they were structure: an overcount, never an undercount. Measured against
    tracemalloc on every shape of JSON (tests/security/test_http_limits.py), the bound is 1.2 to
    11 times what parsing takes; a realistic batch's, about 2.3 times (16 MiB of claims: 260 MiB).
    """
    __slots__ = ("raw", "containers", "values", "width")
    CONTAINER = 80
    VALUE = 128
    BASE = 64 * 1024

    def __init__(self):
        self.raw = self.containers = self.values = 0
        self.width = 1

    def add(self, chunk: bytes) -> int:
        """Count one more chunk of the body; the bound for all of it so far."""
        self.raw += len(chunk)
        self.containers += chunk.count(b"{") + chunk.count(b"[")
        self.values += chunk.count(b",") + chunk.count(b":")
        if self.width < 4 and not chunk.isascii():
            if _UCS4.search(chunk):
                self.width = 4
            elif self.width < 2 and _UCS2.search(chunk):
                self.width = 2
        return self.total

    @property
    def total(self) -> int:
        return (self.BASE + self.raw * (2 + 2 * self.width) + self.CONTAINER * self.containers
                + self.VALUE * self.values)


class BodyMemory:
    """The memory request bodies hold, each charged its `BodyCost` as it arrives: `limit` bytes in
    all. Used on the event loop only (no lock): charged as a body is read, given back when the
    request is answered."""

    def __init__(self, limit: int):
        self.limit = limit
        self.held = 0

    def hold(self) -> "Hold":
        return Hold(self)


class Hold:
    """What one request's body holds of the `BodyMemory`; given back when the request is done
    (`with memory.hold() as hold:`)."""
    __slots__ = ("memory", "amount")

    def __init__(self, memory: BodyMemory):
        self.memory = memory
        self.amount = 0

    def grow_to(self, amount: int) -> bool:
        """Hold `amount` bytes in all, if the memory has them; False (holding what it held) if not."""
        extra = amount - self.amount
        if extra <= 0:
            return True
        if self.memory.held + extra > self.memory.limit:
            return False
        self.memory.held += extra
        self.amount = amount
        return True

    def release(self) -> None:
        self.memory.held -= self.amount
        self.amount = 0

    def __enter__(self) -> "Hold":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


# -- HTTP plumbing ---------------------------------------------------------------------------
class HTTPError(Exception):
    """An error response: the status and the contract's error object."""

    def __init__(self, status: int, code: str, message: str, path: str | None = None,
                 claim_id: str | None = None, headers: list | None = None):
        super().__init__(message)
        self.status = status
        self.body = {"claim_id": claim_id, "error": {"code": code, "message": message, "path": path}}
        self.headers = headers or []


def _json_bytes(value: Any) -> bytes:
    """`value` as the UTF-8 bytes of its JSON, whatever text it holds.

    A JSON string may carry a lone surrogate (`"\\ud800"`), which is no character and has no
    UTF-8: an error message that quotes such text is written with the surrogate escaped, as
    JSON allows (`\\ud800`), rather than failing the response. (A decision is never written so:
    see `_result_bytes`.)
    """
    # A surrogate only ever stands inside a JSON string, where `\\ud800` is its escape.
    return dumps(value).encode("utf-8", "backslashreplace")


def _unencodable(error: UnicodeEncodeError) -> dict:
    return ClaimError(E.CLAIM_UNREADABLE, "the claim holds text that is not Unicode: a lone surrogate "
                      f"(U+{ord(error.object[error.start]):04X}) in a string", None).to_dict()


def _result_bytes(result: dict) -> tuple[bytes, bool]:
    """A decision or a claim's error object as UTF-8 JSON, and whether it could be written as it is.

    A claim may hold a lone surrogate (`"id": "X\\ud800"`): JSON text can say it, UTF-8 cannot,
    and neither can any decision worth the name. Such a claim gets, in place of its result, the
    error object saying so: the writer never fails, so a batch's answer is never cut short.
    """
    try:
        return dumps(result).encode("utf-8"), True
    except UnicodeEncodeError as error:
        return dumps(_unencodable(error)).encode("utf-8"), False


async def _respond(send, status: int, value: Any, headers: list | None = None) -> None:
    await _respond_bytes(send, status, _json_bytes(value), headers)


async def _respond_bytes(send, status: int, body: bytes, headers: list | None = None) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())] + (headers or [])})
    await send({"type": "http.response.body", "body": body})


def _header(scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _check_media_type(scope) -> None:
    value = _header(scope, b"content-type")
    if value is None:
        return                                       # no Content-Type: read the body as JSON
    media = value.split(b";", 1)[0].strip().lower()
    if media != b"application/json" and not (media.startswith(b"application/") and media.endswith(b"+json")):
        raise HTTPError(415, REQUEST_MEDIA_TYPE, f"the body must be JSON (Content-Type: application/json), "
                        f"not {media.decode('latin-1') or 'empty'}")


async def _read_body(scope, receive, limit: int, hold: Hold, timeout: float) -> bytes:
    """The request body, charged to `hold` as it arrives (`BodyCost`); refused with 413 when it
    exceeds `limit` bytes or would take more than all the memory for bodies once parsed, with 503
    (`service.busy`) when that memory is in use by other requests, with 408 (and the connection
    closed) when all of it has not arrived `timeout` seconds after the headers. The deadline is
    for the whole body, not for each read: a client sending a byte a second never waits long for
    one read, and is cut all the same.

    What is over the limit, or refused, is read and dropped (up to DRAIN bytes over the limit)
    before the answer goes out: closing a connection with unread data in it resets it, and a
    client still sending its body would see the reset instead of the answer. A body larger still
    is refused at once, and its connection closed.
    """
    close = (b"connection", b"close")
    too_large = HTTPError(413, REQUEST_TOO_LARGE, f"the body is larger than {limit} bytes", headers=[close])
    declared = _header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + DRAIN:
        raise too_large
    try:
        async with asyncio.timeout(timeout):
            return await _receive_body(receive, limit, hold, too_large)
    except TimeoutError:
        raise HTTPError(408, REQUEST_TIMEOUT, f"the request's body did not arrive within {timeout:g} s",
                        headers=[(b"connection", b"close")]) from None


async def _receive_body(receive, limit: int, hold: Hold, too_large: HTTPError) -> bytes:
    """`_read_body` without its deadline: the chunks as they come, charged and kept, or dropped."""
    close = (b"connection", b"close")
    cost = BodyCost()
    chunks, size, refusal = [], 0, None
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionAbortedError("client disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        more = message.get("more_body", False)
        if refusal is None:
            if size > limit:
                refusal = too_large
            else:
                needed = cost.add(chunk)
                if needed > hold.memory.limit:
                    refusal = HTTPError(413, REQUEST_TOO_LARGE, f"the body would take more than {hold.memory.limit} "
                                        "bytes of memory once parsed", headers=[close])
                elif not hold.grow_to(needed):
                    refusal = HTTPError(503, SERVICE_BUSY, "the service is busy: the request bodies it holds use "
                                        "all the memory set aside for them; retry later", headers=[RETRY_AFTER])
            if refusal is None:
                chunks.append(chunk)
            else:
                chunks.clear()
                hold.release()
        if refusal is not None:
            if not more:
                raise refusal
            if size > limit + DRAIN:                 # stop reading: the connection cannot be kept
                if close not in refusal.headers:
                    refusal.headers.append(close)
                raise refusal
        elif not more:
            return b"".join(chunks)


def _parse(body: bytes, lone_surrogates: bool = False) -> Any:
    """The body as JSON with exact decimals (the library's claim reader): 400 if it is not JSON
    (or holds a lone surrogate, unless `lone_surrogates`). Runs in a worker thread."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise HTTPError(400, E.CLAIM_UNREADABLE, f"the body is not UTF-8 (byte {error.start})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return parse_json(text, lone_surrogates=lone_surrogates)
    except json.JSONDecodeError as error:
        raise HTTPError(400, E.CLAIM_UNREADABLE,
                        f"invalid JSON at line {error.lineno}, column {error.colno}: {error.msg}") from None
    except RecursionError:
        raise HTTPError(400, E.CLAIM_UNREADABLE, "invalid JSON: nested too deeply") from None
    except ValueError as error:                  # NaN, Infinity, a duplicate key
        raise HTTPError(400, E.CLAIM_UNREADABLE, f"invalid JSON: {error}") from None


def _decide(book: ProductBook, claim: Any) -> dict:
    """One claim of a batch: the decision or the error object, whatever goes wrong.

    Beyond the library's `decide_claim`, the service's own rule: a bug in the engine is this
    claim's error object (and a line in the service's log), and the rest of the batch is decided.
    """
    if type(claim) is _Unreadable:
        return claim.error
    try:
        return decide_claim(book, claim)
    except Exception:                        # a bug: this claim gets an error object, the batch goes on
        log.exception("deciding a claim of a batch failed")
        return ClaimError(SERVICE_INTERNAL, "internal error while deciding this claim (logged by the service)",
                          None, claim_id_of(claim)).to_dict()


def _evaluate_one(book: ProductBook, product_id: str, body: bytes) -> tuple[int, bytes]:
    """POST /v1/products/{id}/evaluate, in a worker thread: the status and the body of the answer."""
    claim = _parse(body)
    if type(claim) is dict:
        named = claim.get("product")
        if named is None:                           # absent (or null): the path names the product
            claim["product"] = product_id
        elif named != product_id:
            shown = named if type(named) is str else type(named).__name__
            raise HTTPError(422, CLAIM_PRODUCT_MISMATCH, f"the claim names product '{shown}' but was sent "
                            f"to /v1/products/{product_id}/evaluate", "product", claim_id_of(claim))
    result = decide_claim(book, claim)
    written, whole = _result_bytes(result)
    error = result.get("error") if whole else {"code": E.CLAIM_UNREADABLE}
    if error is None:
        return 200, written
    # nested too deeply to decide is unreadable, as JSON that deep is; so is text UTF-8 cannot carry
    return (400 if error["code"] == E.CLAIM_UNREADABLE else 422), written


def _batch_claims(body: bytes) -> list:
    """The claims of a POST /v1/evaluate/batch body, in a worker thread (400 or 422 if it is none).
    A claim holding a lone surrogate is replaced by its error object (`_Unreadable`): one claim's
    text never refuses the batch."""
    document = _parse(body, lone_surrogates=True)
    if type(document) is not dict or type(document.get("claims")) is not list:
        raise HTTPError(422, REQUEST_INVALID, 'the body must be an object {"claims": [claim, ...]}', "claims")
    extra = sorted(set(document) - {"claims"})
    if extra:
        raise HTTPError(422, REQUEST_INVALID, f"unknown key '{extra[0]}': the body is "
                        '{"claims": [claim, ...]}', extra[0])
    claims = document["claims"]
    if len(claims) > MAX_BATCH_CLAIMS:
        raise HTTPError(422, REQUEST_INVALID, f"{len(claims)} claims in one batch; at most "
                        f"{MAX_BATCH_CLAIMS}", "claims")
    if may_hold_surrogates(body.decode("utf-8", "replace")):
        for i, claim in enumerate(claims):
            error = lone_surrogate(claim)
            if error is not None:
                claims[i] = _Unreadable(ClaimError(E.CLAIM_UNREADABLE, str(error), None).to_dict())
    return claims


class _Unreadable:
    """A claim of a batch that could not be read: its error object stands in its place."""
    __slots__ = ("error",)

    def __init__(self, error: dict):
        self.error = error


def _batch_slice(book: ProductBook, claims: list, start: int) -> bytes:
    """Claims `start` to `start + BATCH_SLICE` of a batch decided and written, in a worker thread:
    their results joined by commas. Each claim's result is written on its own, so that one that
    cannot be written becomes its error object and the others are untouched."""
    return b",".join(_result_bytes(_decide(book, claim))[0] for claim in claims[start:start + BATCH_SLICE])


# -- the HTTP protocol: uvicorn's, with a deadline for headers ---------------------------------------
def http_protocol(header_timeout: float) -> type:
    """uvicorn's h11 protocol with a deadline for each request's headers: `header_timeout` seconds
    from the connection, or from the first byte of a request on a kept-alive connection; past it,
    a 408 (`request.timeout`) and the connection closed.

    uvicorn has no such timeout: its `timeout_keep_alive` counts only the idle time between two
    requests and is reset by every byte received, so a client sending its headers a byte at a time
    held its connection as long as it liked (uvicorn's --timeout-request-start was proposed,
    uvicorn pull request #1685, closed unmerged). Hypercorn's `read_timeout` bounds each read, not the
    request, which the same client defeats. The deadline is armed and disarmed around uvicorn's own
    handling of the bytes; everything else is uvicorn's.
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    late = _json_bytes(HTTPError(408, REQUEST_TIMEOUT, f"the request's headers did not arrive within "
                                 f"{header_timeout:g} s").body)

    class HeaderDeadlineProtocol(H11Protocol):
        _headers_due: asyncio.TimerHandle | None = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._headers_due is None and self.conn.their_state is h11.IDLE:
                self._arm()                           # the first bytes of the next request
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:  # the headers are in (or the request was refused)
                self._disarm()

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._headers_due = self.loop.call_later(header_timeout, self._headers_late)

        def _disarm(self) -> None:
            if self._headers_due is not None:
                self._headers_due.cancel()
                self._headers_due = None

        def _headers_late(self) -> None:
            self._headers_due = None
            if self.transport.is_closing():
                return
            if self.conn.our_state is h11.IDLE and self.conn.their_state is h11.IDLE:
                headers = [(b"content-type", b"application/json"), (b"content-length", str(len(late)).encode()),
                           (b"connection", b"close")]
                try:
                    for event in (h11.Response(status_code=408, headers=headers, reason=b"Request Timeout"),
                                  h11.Data(data=late), h11.EndOfMessage()):
                        self.transport.write(self.conn.send(event))
                except h11.LocalProtocolError:
                    pass
            self.transport.close()

    return HeaderDeadlineProtocol


# -- the application ---------------------------------------------------------------------------
Handler = Callable[..., Awaitable[None]]
_EVALUATE = re.compile(r"/v1/products/([^/]+)/evaluate")


class App:
    """The ASGI application (HTTP and lifespan)."""

    def __init__(self, products_dir: str, reload_interval: float = 1.0, body_memory: int = BODY_MEMORY,
                 body_timeout: float = BODY_TIMEOUT, settle: float = SETTLE):
        self.memory = BodyMemory(body_memory)
        self.body_timeout = body_timeout
        # made at once, its threads when first needed; shut down with the application (lifespan)
        self.executor = ThreadPoolExecutor(WORKERS, thread_name_prefix="policyconf-worker")
        self.products = Products(products_dir, reload_interval, self.executor, settle)
        self.routes: dict[str, dict[str, Handler]] = {
            "/healthz": {"GET": self.healthz},
            "/readyz": {"GET": self.readyz},
            "/openapi.json": {"GET": self.openapi},
            "/v1/products": {"GET": self.list_products},
            "/v1/evaluate/batch": {"POST": self.evaluate_batch},
        }
        # The OpenAPI document is data (schemas/openapi.json), kept in step with this module and
        # engine.errors by tests/engine/test_openapi.py.
        self._openapi = _json_bytes(schemas.load("openapi.json"))

    async def __call__(self, scope, receive, send) -> None:
        kind = scope["type"]
        if kind == "http":
            self.products.start()             # no-op once started (by lifespan, or by the first request)
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.products.start()         # the first load runs in the background: /healthz answers at once
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.products.stop()
                self.executor.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope, receive, send) -> None:
        path, method = scope["path"], scope["method"]
        started = False

        async def tracked_send(message):
            nonlocal started
            started = True
            await send(message)

        try:
            methods, args = self.routes.get(path), ()
            if methods is None:
                match = _EVALUATE.fullmatch(path)
                if match is None:
                    raise HTTPError(404, REQUEST_NOT_FOUND, f"no such path: {path}")
                methods, args = {"POST": self.evaluate}, (match.group(1),)
            handler = methods.get(method)
            if handler is None:
                allow = ", ".join(sorted(methods))
                raise HTTPError(405, REQUEST_METHOD, f"{path} takes {allow}, not {method}",
                                headers=[(b"allow", allow.encode())])
            await handler(scope, receive, tracked_send, *args)
        except HTTPError as error:
            if not started:
                await _respond(send, error.status, error.body, error.headers)
        except ConnectionAbortedError:
            pass
        except Exception:
            log.exception("%s %s failed", method, path)
            if not started:
                await _respond(send, 500, HTTPError(500, SERVICE_INTERNAL, "internal error (logged by the service)").body)

    def _snapshot(self) -> Snapshot:
        snapshot = self.products.current          # read once: the whole request uses this book
        if snapshot is None:
            raise HTTPError(503, SERVICE_NOT_READY, "no products loaded yet"
                            + (" (the last load failed: see /readyz)" if self.products.error else ""),
                            headers=[(b"retry-after", b"1")])
        return snapshot

    # -- endpoints --
    async def healthz(self, scope, receive, send) -> None:
        await _respond(send, 200, {"status": "ok"})

    async def readyz(self, scope, receive, send) -> None:
        # 503 until a load succeeds, and after one that failed (the last good products, still served,
        # are listed with the problems): a deployment that broke the products is not ready
        snapshot, error = self.products.current, self.products.error
        ready = snapshot is not None and error is None
        body = {"status": "ready" if ready else "not-ready",
                "loaded_at": snapshot.loaded_at if snapshot else None,
                "products": [{"id": p["id"], "version": v["version"], "digest": v["digest"]}
                             for p in (snapshot.products if snapshot else []) for v in p["versions"]],
                "reload_error": error}
        await _respond(send, 200 if ready else 503, body)

    async def openapi(self, scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(self._openapi)).encode())]})
        await send({"type": "http.response.body", "body": self._openapi})

    async def list_products(self, scope, receive, send) -> None:
        await _respond(send, 200, {"products": self._snapshot().products})

    def _work(self, function, *args) -> Awaitable:
        """`function(*args)` in a worker thread; the event loop goes on meanwhile."""
        return asyncio.get_running_loop().run_in_executor(self.executor, functools.partial(function, *args))

    async def evaluate(self, scope, receive, send, product_id: str) -> None:
        _check_media_type(scope)
        with self.memory.hold() as hold:            # given back once answered
            body = await _read_body(scope, receive, MAX_BODY, hold, self.body_timeout)
            book = self._snapshot().book
            try:
                book.versions(product_id)
            except KeyError:
                raise HTTPError(404, E.CLAIM_UNKNOWN_PRODUCT, f"unknown product '{product_id}' "
                                f"(products: {', '.join(book.ids)})", "product") from None
            # In a worker, though a claim of the seed products costs 20-50 µs: a product's claim may take
            # far longer (thousands of rules, a query over a long list), and the event loop must not wait.
            status, answer = await self._work(_evaluate_one, book, product_id, body)
            await _respond_bytes(send, status, answer)

    async def evaluate_batch(self, scope, receive, send) -> None:
        _check_media_type(scope)
        with self.memory.hold() as hold:            # given back once the last result is written
            body = await _read_body(scope, receive, MAX_BATCH_BODY, hold, self.body_timeout)
            claims = await self._work(_batch_claims, body)
            del body
            await self._stream_results(send, claims)

    async def _stream_results(self, send, claims: list) -> None:
        book = self._snapshot().book                # one book for the whole batch
        # Streamed: the status is known before the first claim is decided (a bad claim is an error
        # object in its place, never an error status), so results are written as they are decided,
        # a slice at a time, each slice in a worker.
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        separator = b'{"results":['
        for start in range(0, len(claims), BATCH_SLICE):
            part = await self._work(_batch_slice, book, claims, start)
            await send({"type": "http.response.body", "body": separator + part, "more_body": True})
            separator = b","
        await send({"type": "http.response.body", "body": (b'{"results":[' if separator != b"," else b"") + b"]}"})


def create_app(products_dir: str, *, reload_interval: float = 1.0, body_memory: int = BODY_MEMORY,
               body_timeout: float = BODY_TIMEOUT, settle: float = SETTLE) -> App:
    """The ASGI application serving the products in `products_dir`, reloaded when their files change
    (and have then stayed the same for `settle` seconds); request bodies hold at most `body_memory`
    bytes at once, raw and parsed, and must arrive within `body_timeout` seconds of their headers."""
    return App(os.fspath(products_dir), reload_interval, body_memory, body_timeout, settle)


# -- the command -------------------------------------------------------------------------------
def serve_command(args, stderr) -> int:
    """`policyconf serve`: run the application under uvicorn until interrupted."""
    try:
        import uvicorn
        from uvicorn.config import LOGGING_CONFIG
    except ImportError:
        stderr.write("policyconf: serve needs uvicorn: pip install 'policyconf[serve]'\n")
        return 2
    if not os.path.isdir(args.products):
        stderr.write(f"policyconf: {args.products}: no such directory\n")
        return 2
    if not args.reload_interval > 0:
        stderr.write("policyconf: --reload-interval must be more than 0 seconds\n")
        return 2
    for option, value, unit in [("--body-memory", args.body_memory, "MiB"),
                                ("--header-timeout", args.header_timeout, "seconds"),
                                ("--body-timeout", args.body_timeout, "seconds")]:
        if not value > 0:
            stderr.write(f"policyconf: {option} must be more than 0 {unit}\n")
            return 2
    if not args.settle >= 0:
        stderr.write("policyconf: --settle must be 0 seconds or more\n")
        return 2
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["policyconf"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    try:
        app = create_app(args.products, reload_interval=args.reload_interval,
                         body_memory=args.body_memory * 1024 * 1024, body_timeout=args.body_timeout,
                         settle=args.settle)
        uvicorn.run(app, host=args.host, port=args.port, log_config=config, access_log=False, lifespan="on",
                    timeout_graceful_shutdown=10, http=http_protocol(args.header_timeout),
                    timeout_keep_alive=KEEP_ALIVE, h11_max_incomplete_event_size=MAX_HEADERS,
                    limit_concurrency=MAX_CONNECTIONS)
    except SystemExit as exit:              # uvicorn exits when it cannot start (the port is taken, ...)
        return 2 if exit.code else 0
    return 0
