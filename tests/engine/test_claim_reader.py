"""The library's claim reader (engine/claim_reader.py), called directly as the faces call it.

The command line's tests (test_cli.py, tests/security/test_hostile_claims.py) go through `main`;
these pin what every face relies on: exact decimals, what is refused and in which words, line
numbers, one bad line never hiding the next, and the decision or error object of any claim.
"""
from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest

from conftest import EXAMPLES
from policyconf.engine import claim_reader
from policyconf.engine.claim_reader import (ClaimFileError, StdinReader, decide_claim, jsonl_line, parse_json,
                                            read_claims, read_jsonl_file)

GOOD = (EXAMPLES / "ad-approved-repair.json").read_text(encoding="utf-8")
LINE = json.dumps(json.loads(GOOD))


def error_of(item) -> tuple[str, str]:
    assert item.claim is None and item.error is not None
    return item.error.code, item.error.message


def test_the_public_surface():
    assert set(claim_reader.__all__) == {"MAX_CLAIM_BYTES", "UNSURE", "ClaimFileError", "ClaimInput", "StdinReader",
                                         "claim_file_kind", "decide_claim", "evaluate_claim", "exact_json", "fast_json",
                                         "jsonl_bytes", "jsonl_line", "jsonl_ranges", "lone_surrogate",
                                         "may_hold_surrogates", "parse_json", "read_claims", "read_jsonl_file",
                                         "read_jsonl_range"}


# -- parse_json --------------------------------------------------------------------------------
def test_fractions_are_decimals_and_integers_stay_integers():
    value = parse_json('{"a": 189.10, "b": 189, "c": 1e3}')
    assert value == {"a": Decimal("189.10"), "b": 189, "c": Decimal("1E+3")}
    assert type(value["a"]) is Decimal and str(value["a"]) == "189.10" and type(value["b"]) is int


@pytest.mark.parametrize("text, message", [
    ('{"a": NaN}', "NaN is not a number JSON allows"),
    ('{"a": -Infinity}', "-Infinity is not a number JSON allows"),
    ('{"a": 1, "a": 2}', "duplicate key 'a'"),
    ('{"a": ' + "9" * 4001 + "}", "a number of 4,001 digits"),
    ('{"a": 1E999999999999999999999}', "the number 1E999999999999999999999 is out of range"),   # was InvalidOperation
    ('{"a": 9.9999E' + "9" * 40 + "}", "the number 9.9999E" + "9" * 33 + "... is out of range"),
])
def test_what_json_must_not_say_is_refused_in_our_words(text, message):
    with pytest.raises(ValueError) as raised:
        parse_json(text)
    assert str(raised.value) == message


def test_an_integer_of_4000_digits_is_still_a_number():
    assert parse_json("9" * 4000) == int("9" * 4000)


# -- JSON lines --------------------------------------------------------------------------------
def test_a_good_line_and_a_blank_one():
    assert jsonl_line(LINE + "\r\n", "b.jsonl", 1).claim["claim"]["id"] == "AD-REPAIR"
    assert jsonl_line("   \r\n", "b.jsonl", 2) is None


@pytest.mark.parametrize("line, code, message", [
    ('{"product": ', "claim.unreadable", "b.jsonl:7:13: invalid JSON: Expecting value"),
    ('{"a": NaN}', "claim.unreadable", "b.jsonl:7: invalid JSON: NaN is not a number JSON allows"),
    ('{"a": 1, "a": 1}', "claim.unreadable", "b.jsonl:7: invalid JSON: duplicate key 'a'"),
    ("[" * 100_000 + "]" * 100_000, "claim.unreadable", "b.jsonl:7: invalid JSON: nested too deeply"),
    ("[1, 2]", "claim.not-an-object", "b.jsonl:7: a claim must be an object"),
])
def test_a_bad_line_is_named_by_its_number(line, code, message):
    assert error_of(jsonl_line(line, "b.jsonl", 7)) == (code, message)


def test_a_jsonl_file_line_by_line(tmp_path):
    """A BOM is dropped, a bad byte is its line's error only, U+2028 is inside a line, not a line end."""
    path = tmp_path / "b.jsonl"
    with_separator = LINE.replace('"AD-REPAIR"', '"AD\u2028REPAIR"')
    path.write_bytes(b"\xef\xbb\xbf" + LINE.encode() + b"\n" + b'{"a": "\xff"}\n' + with_separator.encode() + b"\n")
    lines = list(read_jsonl_file(str(path)))
    assert [(where, number) for where, number, _ in lines] == [(str(path), 1), (str(path), 2), (str(path), 3)]
    first, bad, third = (jsonl_line(text, where, number) for where, number, text in lines)
    assert first.claim["claim"]["id"] == "AD-REPAIR"
    assert error_of(bad) == ("claim.unreadable", f"{path}:2: not UTF-8 (byte 8 of the line)")
    assert third.claim["claim"]["id"] == "AD\u2028REPAIR"


def test_a_missing_jsonl_file_is_the_callers_mistake(tmp_path):
    with pytest.raises(ClaimFileError, match="No such file"):
        list(read_jsonl_file(str(tmp_path / "none.jsonl")))


# -- files ---------------------------------------------------------------------------------------
def test_a_json_file_of_a_list_and_a_yaml_file(tmp_path):
    claim = json.loads(GOOD)
    (tmp_path / "two.json").write_text(json.dumps([claim, claim]), encoding="utf-8")
    (tmp_path / "one.yaml").write_text("product: accidental-damage\nclaim: {id: Y-1}\n", encoding="utf-8")
    assert [i.claim["claim"]["id"] for i in read_claims(str(tmp_path / "two.json"))] == ["AD-REPAIR", "AD-REPAIR"]
    [yaml_claim] = read_claims(str(tmp_path / "one.yaml"))
    assert yaml_claim.claim == {"product": "accidental-damage", "claim": {"id": "Y-1"}}


def test_an_unreadable_file_is_one_error_with_its_position(tmp_path):
    (tmp_path / "bad.json").write_bytes(b'{"a": 1,\n "b": \xff}')
    (tmp_path / "dup.yaml").write_text("a: 1\na: 2\n", encoding="utf-8")
    [bad] = read_claims(str(tmp_path / "bad.json"))
    [dup] = read_claims(str(tmp_path / "dup.yaml"))
    assert error_of(bad)[0] == "claim.unreadable" and error_of(bad)[1].startswith(f"{tmp_path / 'bad.json'}:2:")
    assert error_of(dup)[0] == "claim.unreadable" and error_of(dup)[1].startswith(f"{tmp_path / 'dup.yaml'}:2:")


def test_not_a_claim_file_or_no_such_file(tmp_path):
    with pytest.raises(ClaimFileError, match="not a claim file"):
        list(read_claims(str(tmp_path / "claim.txt")))
    with pytest.raises(ClaimFileError, match="No such file"):
        list(read_claims(str(tmp_path / "none.json")))
    assert claim_reader.claim_file_kind("A.JSONL") == "jsonl" and claim_reader.claim_file_kind("a.yml") == "yaml"


# -- standard input ------------------------------------------------------------------------------
class _Bytes(io.StringIO):
    """A text stream with a byte `buffer`, as sys.stdin has."""

    def __init__(self, data: bytes):
        super().__init__()
        self.buffer = io.BytesIO(data)


def test_stdin_json_lines_are_sniffed_and_streamed():
    stdin = StdinReader(_Bytes(b"\xef\xbb\xbf" + (LINE + "\n" + "[1]\n").encode()))
    assert stdin.is_jsonl()
    items = [jsonl_line(text, where, number) for where, number, text in stdin.lines()]
    assert items[0].claim["claim"]["id"] == "AD-REPAIR"
    assert error_of(items[1]) == ("claim.not-an-object", "<stdin>:2: a claim must be an object")


def test_stdin_an_indented_json_document_or_yaml():
    stdin = StdinReader(io.StringIO(json.dumps(json.loads(GOOD), indent=2)))
    assert not stdin.is_jsonl()
    [item] = read_claims("-", stdin)
    assert item.claim["claim"]["id"] == "AD-REPAIR"
    stdin = StdinReader(io.StringIO("product: accidental-damage\n"))
    assert not stdin.is_jsonl()
    [item] = read_claims("-", stdin)
    assert item.claim == {"product": "accidental-damage"}


def test_stdin_bytes_that_are_not_utf8():
    stdin = StdinReader(_Bytes(b'{"a": "\xff"}\n'))
    assert stdin.is_jsonl()                     # streamed, so the bad line is that line's error
    [(where, number, text)] = list(stdin.lines())
    assert error_of(jsonl_line(text, where, number)) == ("claim.unreadable", "<stdin>:1: not UTF-8 (byte 8 of the line)")


# -- the decision or the error object ---------------------------------------------------------------
def test_decide_claim_gives_the_decision_or_the_error_object(book):
    claim = json.loads(GOOD)
    assert decide_claim(book, claim) == book.decide(claim)
    claim["claim"]["repair_cots"] = claim["claim"].pop("repair_cost")
    assert decide_claim(book, claim)["error"]["code"] == "claim.unknown-field"


class _TooDeep:
    """A book whose decision exhausts the stack, as a claim nested thousands deep built in Python can."""

    def decide(self, claim):
        raise RecursionError("maximum recursion depth exceeded")


def test_a_claim_nested_too_deeply_to_decide_is_unreadable_with_its_id():
    claim = json.loads(GOOD)
    assert decide_claim(_TooDeep(), claim, "batch.jsonl:4") == {
        "claim_id": "AD-REPAIR",
        "error": {"code": "claim.unreadable", "message": "batch.jsonl:4: claim nested too deeply", "path": None}}
    assert decide_claim(_TooDeep(), [claim])["error"]["message"] == "claim nested too deeply"
    assert decide_claim(_TooDeep(), [claim])["claim_id"] is None


# -- byte ranges, as the batch workers read them -------------------------------------------------------
def _by_ranges(path, size):
    from policyconf.engine.claim_reader import jsonl_ranges, read_jsonl_range
    ranges = list(jsonl_ranges(str(path), size))
    for (_, _, end, _), (_, start, _, _) in zip(ranges, ranges[1:]):
        assert end == start                                       # consecutive, nothing skipped
    assert all(end == path.stat().st_size or path.read_bytes()[end - 1:end] == b"\n" for _, _, end, _ in ranges)
    return [line for task in ranges for line in read_jsonl_range(*task)]


@pytest.mark.parametrize("size", [1, 7, 64, 4096, 512 * 1024])
@pytest.mark.parametrize("ending", [b"\n", b""])
def test_byte_ranges_give_the_lines_read_jsonl_file_gives(tmp_path, size, ending):
    path = tmp_path / "b.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + LINE.encode() + b"\r\n\n  \n" + b'{"a": "\xff"}\n' + b"{not json\n"
                     + "é\u2028".encode() + b"\n" + LINE.encode() + ending)
    whole = [(where, number, text.removesuffix("\n")) for where, number, text in read_jsonl_file(str(path))]
    assert len(whole) == 7
    assert _by_ranges(path, size) == whole


def test_byte_ranges_read_a_line_over_the_limit_in_pieces(tmp_path):
    path = tmp_path / "b.jsonl"
    long = b'{"x": "' + b"y" * (3 * 1024 * 1024) + b'"}'
    path.write_bytes(LINE.encode() + b"\n" + long + b"\n" + LINE.encode() + b"\n" + long)
    lines = _by_ranges(path, 512 * 1024)
    assert [number for _, number, _ in lines] == [1, 2, 3, 4]
    assert [jsonl_line(text, where, number).error.message for where, number, text in lines[1::2]] == [
        f"{path}:2: line 2 is larger than 1048576 bytes", f"{path}:4: line 4 is larger than 1048576 bytes"]
    assert lines[0][2] == lines[2][2] == LINE
