"""A lone surrogate (`"\\ud800"`: valid JSON syntax, but half of a UTF-16 pair and no character)
is its claim's error object, `claim.unreadable`, never a crash.

Before the fix, `json.loads` took it into a Python string that no UTF-8 writer can write: the
batch died with UnicodeEncodeError when writing the decision (and with it every line after),
and the decision log could not hash the claim. `parse_json` refuses it, so every face that
reads JSON (the command line, the batch workers, the HTTP service) does.
"""
from __future__ import annotations

import json

import pytest

from conftest import EXAMPLES
from policyconf.engine.claim_reader import LoneSurrogateError, parse_json
from processes import evaluate

GOOD = json.loads((EXAMPLES / "ad-approved-repair.json").read_text(encoding="utf-8"))


def line(claim_id: str) -> str:
    """The approved repair claim as one JSON line, its claim.id written as raw JSON text (escapes kept)."""
    text = json.dumps({**GOOD, "claim": {**GOOD["claim"], "id": "@ID@"}})
    return text.replace('"@ID@"', f'"{claim_id}"')


def key_line() -> str:
    """A claim whose key (in claim) holds a lone surrogate."""
    return line("K").replace('"id": "K"', '"id": "K", "x\\udc00": 1')


# -- parse_json ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, message", [
    ('{"claim": {"id": "X\\ud800"}}', "claim.id holds a lone surrogate (\\ud800), which is not a character"),
    ('{"claim": {"id": "\\udfff"}}', "claim.id holds a lone surrogate (\\udfff), which is not a character"),
    ('{"claim": {"X\\ud800": 1}}', "a key of claim holds a lone surrogate (\\ud800), which is not a character"),
    ('{"\\udc00": 1}', "a key of the claim holds a lone surrogate (\\udc00), which is not a character"),
    ('{"a": ["ok", {"b": "\\ude00\\ud83d"}]}', "a[1].b holds a lone surrogate (\\ude00), which is not a character"),
    ('"\\uD800"', "the claim holds a lone surrogate (\\ud800), which is not a character"),
    ('[{"a": "\\ud83d"}]', "[0].a holds a lone surrogate (\\ud83d), which is not a character"),
], ids=["value", "low-half", "key", "top-level-key", "in-a-list", "a-string", "in-a-document-list"])
def test_parse_json_refuses_a_lone_surrogate(text, message):
    with pytest.raises(LoneSurrogateError) as raised:
        parse_json(text)
    assert str(raised.value) == message
    assert isinstance(raised.value, ValueError)         # what every caller of parse_json already catches


@pytest.mark.parametrize("text, value", [
    ('{"id": "\\ud83d\\ude00"}', {"id": "\U0001F600"}),       # a pair is one character
    ('{"id": "\\\\ud800"}', {"id": "\\ud800"}),               # an escaped backslash, then text
    ('{"id": "\\u00e9\\u20ac"}', {"id": "\u00e9\u20ac"}),
    ('{"id": "\U0001F600"}', {"id": "\U0001F600"}),
])
def test_parse_json_takes_a_pair_and_what_only_looks_like_one(text, value):
    assert parse_json(text) == value


# -- the command line --------------------------------------------------------------------------------
def test_a_lone_surrogate_in_a_jsonl_batch_is_that_lines_error(tmp_path):
    path = tmp_path / "claims.jsonl"
    path.write_text("\n".join([line("FIRST"), line("X\\ud800"), key_line(), line("\\ud83d\\ude00"), line("LAST")])
                    + "\n", encoding="utf-8")
    finished = evaluate(str(path))
    assert finished.status == 1
    results = finished.json_lines()
    assert [r.get("claim_id") for r in results] == ["FIRST", None, None, "\U0001F600", "LAST"]
    assert [r.get("outcome") for r in results] == ["approved", None, None, "approved", "approved"]
    assert results[1]["error"] == {
        "code": "claim.unreadable", "path": None,
        "message": f"{path}:2: claim.id holds a lone surrogate (\\ud800), which is not a character"}
    assert results[2]["error"] == {
        "code": "claim.unreadable", "path": None,
        "message": f"{path}:3: a key of claim holds a lone surrogate (\\udc00), which is not a character"}


def test_a_lone_surrogate_in_a_batch_decided_by_workers_with_a_log(tmp_path):
    # Several chunks, so the lines go to worker processes; the decision log hashes each line.
    path = tmp_path / "claims.jsonl"
    lines = [line(f"G{i}") for i in range(2_100)]
    lines[1_500] = line("X\\ud800")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    finished = evaluate("--jobs", "2", "--log", str(tmp_path / "log"), str(path))
    assert finished.status == 1
    results = finished.json_lines()
    assert len(results) == 2_100
    assert results[1_500]["error"]["message"] == (
        f"{path}:1501: claim.id holds a lone surrogate (\\ud800), which is not a character")
    assert all(r["outcome"] == "approved" for i, r in enumerate(results) if i != 1_500)
    records = [json.loads(record) for record in (tmp_path / "log").read_text(encoding="utf-8").splitlines()]
    assert len(records) == 2_100 and records[1_500]["error"] == "claim.unreadable"


@pytest.mark.parametrize("text, message", [
    (line("X\\ud800"), "claim.id holds a lone surrogate (\\ud800), which is not a character"),
    (key_line(), "a key of claim holds a lone surrogate (\\udc00), which is not a character"),
], ids=["value", "key"])
def test_a_lone_surrogate_in_a_json_file(tmp_path, text, message):
    path = tmp_path / "claim.json"
    path.write_text(text + "\n", encoding="utf-8")
    for fmt in ("jsonl", "json"):
        finished = evaluate(str(path), fmt=fmt)
        assert finished.status == 1
        result = json.loads(finished.stdout)
        assert result == {"claim_id": None, "error": {"code": "claim.unreadable", "path": None,
                                                      "message": f"{path}: {message}"}}


def test_a_lone_surrogate_on_standard_input():
    # JSON lines (streamed), then one indented document
    finished = evaluate("-", stdin="\n".join([line("X\\ud800"), key_line(), line("LAST")]) + "\n")
    assert finished.status == 1
    first, second, last = finished.json_lines()
    assert first["error"]["message"] == "<stdin>:1: claim.id holds a lone surrogate (\\ud800), which is not a character"
    assert second["error"]["message"] == (
        "<stdin>:2: a key of claim holds a lone surrogate (\\udc00), which is not a character")
    assert last["outcome"] == "approved"
    document = json.dumps({**GOOD, "claim": {**GOOD["claim"], "id": "@"}}, indent=2).replace("@", "X\\ud800")
    finished = evaluate("-", stdin=document)
    assert finished.status == 1
    [result] = finished.json_lines()
    assert result["error"] == {"code": "claim.unreadable", "path": None,
                               "message": "<stdin>: claim.id holds a lone surrogate (\\ud800), which is not a character"}
