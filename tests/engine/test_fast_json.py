"""The fast JSON path (engine/claim_reader.py `fast_json`, msgspec) against the exact reader
(`exact_json`, `json` with our hooks): wherever the fast path gives a value, it is the exact
reader's to the type (a Decimal with the same digits, an int an int); wherever the exact reader
refuses a text, the fast path does not vouch for it, so `parse_json` gives the exact reader's
error, word for word. Duplicate keys are the case msgspec does not see (it keeps the last one):
every shape of them is handed over.
"""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import EXAMPLES
from golden import make  # noqa: E402 - tests/engine/golden/make.py
from policyconf.engine.claim_reader import UNSURE, exact_json, fast_json, jsonl_bytes, jsonl_line, parse_json


def same(a, b) -> bool:
    """Equal, and of the same types all the way down (Decimal("1.10") is not Decimal("1.1"))."""
    stack = [(a, b)]
    while stack:
        a, b = stack.pop()
        if type(a) is not type(b):
            return False
        if type(a) is dict:
            if list(a) != list(b):
                return False
            stack.extend((a[k], b[k]) for k in a)
        elif type(a) is list:
            if len(a) != len(b):
                return False
            stack.extend(zip(a, b))
        elif type(a) is Decimal:
            if str(a) != str(b):
                return False
        elif a != b:
            return False
    return True


def outcome(read, text):
    try:
        return "value", read(text)
    except (ValueError, RecursionError) as error:
        return "error", f"{type(error).__name__}: {error}"


def agree(text) -> None:
    """The fast path vouches only for what the exact reader gives, and parse_json is the exact reader."""
    exact = outcome(exact_json, text.decode("utf-8", "surrogatepass") if isinstance(text, bytes) else text) \
        if not isinstance(text, bytes) or _utf8(text) else ("error", "not UTF-8")
    fast = fast_json(text)
    if fast is not UNSURE:
        assert exact[0] == "value", (text, exact)
        assert same(fast, exact[1]), (text, fast, exact[1])
    if not isinstance(text, bytes):
        now = outcome(parse_json, text)
        assert now[0] == exact[0] and (same(now[1], exact[1]) if now[0] == "value" else now[1] == exact[1])


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


# -- the claims a book holds go the fast way -----------------------------------------------------------
def _claim_lines() -> list[str]:
    lines = []
    for name in ("products", "fixtures"):
        for _, claim, _ in make.read(name):
            lines.append(json.dumps(claim, ensure_ascii=False, separators=(",", ":"), default=str))
            lines.append(json.dumps(claim, default=str))           # spaces, and \u escapes for what is not ASCII
    for path in sorted(EXAMPLES.glob("*.json")):
        lines.append(path.read_text(encoding="utf-8"))              # indented, over several lines
    return lines


def test_every_golden_and_example_claim_is_read_fast_and_exactly():
    lines = _claim_lines()
    assert len(lines) > 3700
    for line in lines:
        value = fast_json(line)
        assert value is not UNSURE, line
        assert same(value, exact_json(line))
        assert same(fast_json(line.encode("utf-8")), value)


def test_decimals_keep_their_digits_and_integers_stay_integers():
    value = fast_json('{"a": 189.10, "b": 189, "c": 1e3, "d": -0.0, "e": 12345678901234567890123, "f": 1E-7}')
    assert same(value, {"a": Decimal("189.10"), "b": 189, "c": Decimal("1E+3"), "d": Decimal("-0.0"),
                        "e": 12345678901234567890123, "f": Decimal("1E-7")})


# -- duplicate keys: never vouched for, whatever their shape --------------------------------------------
@pytest.mark.parametrize("text", [
    '{"a":1,"a":2}',
    '{"a" : 1 , "a" : 2}',
    '{"a":1,\n"a":1}',
    '{"a":"x:y","a":"z"}',                       # the dropped value holds a colon
    '{"a":"z","a":"x:y"}',                       # the kept one does
    '{"a":1,"\\u0061":2}',                       # the same key, spelt with an escape
    '{"a:":1,"a:":2}',                           # a key holding a colon
    '{"k":{"b":[1,{"c":1,"c":{"d":":"}}]}}',     # deep inside
    '[{"x":1},{"y":2,"y":3}]',
    '{"":0,"":0}',
    '{"a":1,"a\\u003a":2,"a:":3}',               # a colon written as an escape
    '{"\\u003a":1,"b":1,"b":2}',                  # whose colon, written back, would make up for the dropped one
    '{"\\u003A":1,"b":1,"b":2}',
])
def test_duplicate_keys_are_handed_to_the_exact_reader(text):
    assert fast_json(text) is UNSURE
    with pytest.raises(ValueError, match="duplicate key"):
        parse_json(text)
    item = jsonl_bytes(text.encode(), "b.jsonl", 3)
    assert item.error.code == "claim.unreadable" and "duplicate key" in item.error.message


# -- what the exact reader refuses, in its words ------------------------------------------------------
@pytest.mark.parametrize("text", [
    '{"a": NaN}', '{"a": Infinity}', '{"a": -Infinity}', '{"a": 01}', '{"a": 1.}', '{"a": .5}', '{"a": +1}',
    '{"a": "\\x"}', '{"a": "tab\there"}', '{"a": 1,}', '[1,]', '{"a" 1}', '{"product": ', '', ' ', '\ufeff{}',
    '{"a": "\\ud800"}', '{"a": "\\udc00x"}', '{"\\ud800": 1}', '{"a": "\ud800"}', '{"a": 1}x', '{}\x0c',
    '[' * 100_000 + ']' * 100_000, '[' * 900 + ']' * 900, '{"a":' * 300 + '1' + '}' * 300,
    '{"a": ' + '9' * 4001 + '}', '{"a": -' + '9' * 4000 + '}', '{"a": ' + '9' * 5000 + '.5}',
    '{"a": 1E999999999999999999999}', '[1e-999999999999999999999]',
])
def test_what_the_exact_reader_refuses_is_refused_in_its_words(text):
    agree(text)
    assert outcome(parse_json, text) == outcome(exact_json, text)


def test_a_text_over_256_kib_goes_to_the_exact_reader():
    claim = (EXAMPLES / "ad-approved-repair.json").read_text(encoding="utf-8")
    big = '{"claims": [' + ",".join([claim] * (256 * 1024 // len(claim) + 1)) + "]}"
    assert fast_json(big) is UNSURE and fast_json(big.encode()) is UNSURE
    assert same(parse_json(big), exact_json(big))
    assert fast_json(claim) is not UNSURE


def test_a_4000_digit_integer_and_deep_nesting_that_the_exact_reader_reads():
    for text in ("9" * 4000, "[" * 201 + "]" * 201, '{"a": "' + "[" * 500 + '"}'):
        assert fast_json(text) is UNSURE
        assert same(parse_json(text), exact_json(text))
    assert same(fast_json("[" * 200 + "]" * 200), exact_json("[" * 200 + "]" * 200))


@pytest.mark.parametrize("raw, message", [
    (b'{"a": "\xff"}', "b.jsonl:4: not UTF-8 (byte 8 of the line)"),
    (b'{"a": "\xed\xa0\x80"}', "b.jsonl:4: not UTF-8 (byte 8 of the line)"),      # a surrogate, as UTF-8
    (b'{"a": "\xc0\xaf"}', "b.jsonl:4: not UTF-8 (byte 8 of the line)"),          # overlong
    (b'{"a": "\xf4\x90\x80\x80"}', "b.jsonl:4: not UTF-8 (byte 8 of the line)"),  # past U+10FFFF
    (b'{"a": "\xe2\x82"}', "b.jsonl:4: not UTF-8 (byte 8 of the line)"),          # cut short
])
def test_bytes_that_are_not_utf8_are_that_lines_error(raw, message):
    assert fast_json(raw) is UNSURE
    item = jsonl_bytes(raw, "b.jsonl", 4)
    assert (item.error.code, item.error.message) == ("claim.unreadable", message)


def test_jsonl_bytes_is_jsonl_line_of_the_decoded_line():
    good = (EXAMPLES / "ad-approved-repair.json").read_text(encoding="utf-8")
    line = json.dumps(json.loads(good))
    cases = [line + "\n", line + "\r\n", "\ufeff" + line + "\n", "  \r\n", "[1, 2]\n", '{"a": 1, "a": 2}\n',
             '{"product": \n', "é" + line]
    for number, text in enumerate(cases, 1):
        for at in (1, 2):
            raw = text.encode("utf-8")
            fast, slow = jsonl_bytes(raw, "b.jsonl", at), jsonl_line(raw.decode("utf-8-sig" if at == 1 else "utf-8"),
                                                                      "b.jsonl", at)
            if slow is None:
                assert fast is None
                continue
            assert same(fast.claim, slow.claim)
            assert (fast.error and fast.error.to_dict()) == (slow.error and slow.error.to_dict())
    too_long = jsonl_bytes(None, "b.jsonl", 9)
    assert too_long.error.message == "b.jsonl:9: line 9 is larger than 1048576 bytes"


# -- and whatever text hypothesis finds -----------------------------------------------------------------
_keys = st.sampled_from(["a", "b", "a:", ":", "é", "\u2028", "x\"y", "\\", "claim", ""]) | st.text(max_size=4)
_scalars = (st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.text(max_size=6)
            | st.decimals(allow_nan=False, allow_infinity=False, places=None).map(lambda d: ("num", str(d))))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                       | st.lists(st.tuples(_keys, inner), max_size=4).map(lambda pairs: ("obj", pairs)), max_leaves=20)


def _write(value, draw) -> str:
    """JSON text of `value`, in a style drawn per container: compact or spaced, escaped or not; an
    object's pairs are written as drawn (a key may come twice)."""
    space = draw(st.sampled_from(["", " ", "\n", "\t "]))
    ascii_only = draw(st.booleans())
    if isinstance(value, tuple) and value[0] == "num":
        return value[1] if draw(st.booleans()) else json.dumps(value[1])
    if isinstance(value, tuple):
        return "{" + space + ("," + space).join(json.dumps(k, ensure_ascii=ascii_only) + space + ":" + space
                                               + _write(v, draw) for k, v in value[1]) + space + "}"
    if isinstance(value, list):
        return "[" + ("," + space).join(_write(v, draw) for v in value) + "]"
    return json.dumps(value, ensure_ascii=ascii_only)


@st.composite
def _texts(draw):
    text = _write(draw(_values), draw)
    if text and draw(st.booleans()):                # a small mutation: a byte of JSON syntax in, or one out
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(list(':,{}[]"\\ 0.eE-u') + ["\\u003a", "\\ud800", "NaN"])) \
                + text[at:]
        else:
            text = text[:at] + text[at + 1:]
    return text


@settings(max_examples=1500, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(_texts())
@example('{"a":1,"a":2}')
@example('{"a" :1,"b":":","a":3}')
def test_the_fast_path_agrees_with_the_exact_reader(text):
    agree(text)
    agree(text.encode("utf-8", "surrogatepass"))
