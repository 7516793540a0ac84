"""The one JSON writer (engine/jsonio.py): byte for byte what each face and the decision log wrote
with its own `json.dumps` before there was one, and exact for what JSON has no type for."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal

from conftest import EXAMPLES
from policyconf.engine.audit import canonical_json, record_line
from policyconf.engine.jsonio import dumps, json_value


def _old_default(value):
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def _documents(book) -> list:
    claims = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(EXAMPLES.glob("*.json"))]
    bad = dict(claims[0], product="accidental-damag")
    return [book.decide(claim) for claim in claims] + [book.decide(bad), {"amount": Decimal("189.10"), "ü": "é"}]


def test_one_line_as_the_batch_and_the_service_wrote(book):
    for document in _documents(book):
        assert dumps(document) == json.dumps(document, ensure_ascii=False, separators=(",", ":"),
                                             default=_old_default)


def test_indented_as_the_command_lines_json_format_wrote(book):
    documents = _documents(book)
    assert dumps(documents, indent=2) == json.dumps(documents, ensure_ascii=False, indent=2, default=_old_default)


def test_canonical_and_log_lines_as_the_decision_log_wrote():
    claim = {"b": Decimal("1.50"), "a": [date(2025, 1, 2)], "é": None}
    assert canonical_json(claim) == b'{"a":["2025-01-02"],"b":"1.50","\xc3\xa9":null}'
    record = {"time": "2026-11-21T08:40:00Z", "claim_id": "CLM-77", "outcome": "approved"}
    assert record_line(record) == '{"time":"2026-11-21T08:40:00Z","claim_id":"CLM-77","outcome":"approved"}\n'


def test_what_json_has_no_type_for():
    assert json_value(Decimal("0.10")) == "0.10"
    assert json_value(Decimal("1E+3")) == "1E+3"                     # as written, never a float
    assert json_value(date(2025, 2, 28)) == "2025-02-28"
    assert json_value(datetime(2025, 7, 1, 10, 0, tzinfo=timezone.utc)) == "2025-07-01T10:00:00+00:00"
    assert json_value(frozenset({"x"})) == "frozenset({'x'})"         # a log never fails on a claim's value
    assert dumps({"rate": Decimal("0.125")}) == '{"rate":"0.125"}'
