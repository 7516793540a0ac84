"""The decision log: one JSON line per decision, with no personal data in it.

Each record says what was decided and under which rules, and lets an auditor match it to the
stored claim without the log holding the claim:

    {"time": "2026-11-21T08:40:00.123456Z", "product": "accidental-damage",
     "version": "2024-01-01", "product_digest": "sha256:9f2c...", "claim_id": "CLM-77",
     "input_hash": "hmac-sha256:4b1e...", "outcome": "approved",
     "payout": {"amount": "139.00", "currency": "EUR"}, "reasons": []}

An invalid claim's record has `"error": CODE` (and its path) in place of the outcome.

`input_hash` is a hash of the claim exactly as received, in canonical JSON (keys sorted, no
spaces, UTF-8, numbers as written): to check that a log line belongs to a stored claim, an
auditor recomputes `canonical_hash(stored_claim, key)` and compares. With a `key` (recommended,
kept by the insurer, not in the log) it is an HMAC-SHA256: nobody without the key can test
guesses of a claim's contents (a VIN, a phone number) against the log. Without a key it is a
plain SHA-256, which matches just as well but lets anyone who can guess a whole claim confirm
the guess.

Field values never appear in a record: only the product, the claim's id, the outcome, the
payout and the reason codes. Fields declared `pii: true` are also masked in the decision's
trace and left out of error messages.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from datetime import datetime, timezone
from typing import Any, Callable, TextIO

from .jsonio import dumps

Record = dict


def canonical_json(claim: Any) -> bytes:
    """The claim as canonical JSON bytes: keys sorted, no spaces, UTF-8, numbers as written."""
    return dumps(claim, sort_keys=True).encode("utf-8")


def canonical_hash(claim: Any, key: bytes | None = None) -> str:
    """The `input_hash` of a claim: HMAC-SHA256 with `key`, else SHA-256, of its canonical JSON."""
    data = canonical_json(claim)
    if key:
        return "hmac-sha256:" + hmac.new(key, data, hashlib.sha256).hexdigest()
    return "sha256:" + hashlib.sha256(data).hexdigest()


def record_line(record: Record) -> str:
    """A record as one line of JSON."""
    return dumps(record) + "\n"


class AuditLog:
    """Writes one record per decision to `sink`: a callable taking the record (a dict).

    Use `AuditLog.to_stream(file)` for JSON lines, `AuditLog.to_logger(logger)` for `logging`.
    Safe to share between threads.
    """

    def __init__(self, sink: Callable[[Record], None], key: bytes | None = None,
                 clock: Callable[[], datetime] | None = None):
        self.sink = sink
        self.key = key
        self.clock = clock or (lambda: datetime.now(timezone.utc))

    @classmethod
    def to_stream(cls, stream: TextIO, key: bytes | None = None) -> "AuditLog":
        lock = threading.Lock()

        def write(record: Record) -> None:
            line = record_line(record)
            with lock:
                stream.write(line)
                stream.flush()
        return cls(write, key)

    @classmethod
    def to_logger(cls, logger: logging.Logger, key: bytes | None = None) -> "AuditLog":
        def write(record: Record) -> None:
            logger.info(dumps(record))
        return cls(write, key)

    def record(self, claim: Any, result, product=None) -> Record:
        """The record for one claim and its `Decision` (or `ClaimError`)."""
        time = self.clock().isoformat().replace("+00:00", "Z")
        record: Record = {"time": time,
                          "product": product.id if product is not None else _product_of(claim),
                          "version": product.version if product is not None else None,
                          "product_digest": f"sha256:{product.digest}" if product is not None else None,
                          "claim_id": result.claim_id,
                          "input_hash": canonical_hash(claim, self.key)}
        if hasattr(result, "code"):            # a ClaimError
            record["error"] = result.code
            record["path"] = result.path
        else:
            record["outcome"] = result.outcome
            record["payout"] = result.payout.to_dict()
            record["reasons"] = [reason["code"] for reason in result.reasons]
        return record

    def write(self, claim: Any, result, product=None) -> None:
        self.sink(self.record(claim, result, product))


def _product_of(claim: Any) -> str | None:
    product = claim.get("product") if isinstance(claim, dict) else None
    return product if isinstance(product, str) and len(product) <= 100 else None
