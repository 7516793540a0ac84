"""Writing JSON: the one encoder for decisions, error objects, decision-log records and claims.

Every face writes through it (the command line's json and jsonl formats, the batch workers, the
HTTP service) and so does the decision log, so a decision reads the same wherever it is
written: UTF-8 as it is (no \\u escapes), and what JSON has no type for written exactly:

* a `Decimal` as its digits, in a string (`"189.10"`): never a float, never rounded;
* a date or date-time as ISO 8601;
* anything else as its `str()`: a claim handed to the decision log by an embedding service may
  hold any Python value, and logging it must never fail the decision.
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def json_value(value: Any) -> Any:
    """What JSON cannot say itself, as it is written (the `default` hook of `json.dumps`)."""
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


# One encoder made once: json.dumps with options builds a new encoder at every call, and the
# compact form is written once per claim of a batch.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=json_value).encode


def dumps(value: Any, *, indent: int | None = None, sort_keys: bool = False) -> str:
    """`value` as JSON: one line with no spaces (a jsonl line, an HTTP body, a log record), or
    indented for a person (`indent=2`); `sort_keys` for canonical JSON."""
    if indent is None and not sort_keys:
        return _COMPACT(value)
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(value, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys,
                      default=json_value)


__all__ = ["dumps", "json_value"]
