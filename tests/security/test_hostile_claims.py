"""Hostile claims (the issue, part 2): the contract's error object, never a crash, a hang or a
decision with a made-up number.

Through the Python API (`book.decide`, which never raises for bad input) for values JSON
cannot carry or that only an embedding program sends (`float('nan')`, `Decimal('NaN')`,
huge Python ints, deep structures), and through `policyconf evaluate --format jsonl` on a
`.jsonl` file and on standard input for what lives at the level of JSON text (NaN and
Infinity, 1e309, duplicate keys, nesting ten thousand deep, invalid UTF-8, lines that are not
objects, megabyte strings): every bad line gets its error object in its place, naming its line,
and every other claim of the batch is still decided, in order.

Each case gives the exact code and path.  Where the issue or README leave the code open, the
choice is written next to the case.
"""
from __future__ import annotations

import copy
import json
import os
import pathlib
import resource
import signal
import subprocess
import sys
from decimal import Decimal

import pytest

from conftest import EXAMPLES, PRODUCTS

SCRIPT = pathlib.Path(sys.executable).parent / "policyconf"
MB = 1_000_000
MAX_MESSAGE = 1_000          # an error message never echoes a hostile value in full


def example(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


AD = example("ad-approved-repair")                      # approved, payout 139.00 EUR
AD_NEGLIGENCE = example("ad-approved-replacement-negligence")
BMW_USED = example("bmw-approved-used")                 # approved, payout 61300.00 CNY


def changed(claim: dict, path: str, value) -> dict:
    """A copy of `claim` with the field at dotted `path` set to `value`."""
    claim = copy.deepcopy(claim)
    node = claim
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return claim


def nested_list(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def nested_dict(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def _short(text: str | None) -> str | None:
    return text if text is None or len(text) < 300 else f"{text[:250]}... ({len(text)} characters)"


def assert_error(result: dict, code: str, path: str | None, message_start: str | None = None) -> None:
    """`result` is the contract's error object (no outcome, no payout), with `code` at `path`."""
    assert set(result) == {"claim_id", "error"}, f"a decision where an error belongs: {str(result)[:500]}"
    error = result["error"]
    assert set(error) == {"code", "message", "path"}
    assert (error["code"], _short(error["path"])) == (code, _short(path)), _short(str(error))
    assert error["path"] == path
    assert isinstance(error["message"], str) and error["message"], error
    assert len(error["message"]) < MAX_MESSAGE, f"the message echoes the input: {error['message'][:200]}..."
    if message_start is not None:
        assert error["message"].startswith(message_start), error["message"]


# -- through the API: book.decide(claim) -------------------------------------------------------
AMOUNT = "claim.repair_cost.amount"
AMOUNT_FIELD = "claim.repair_cost"           # an error of an amount names its field (contract §3)
AGE = "policy.holder.age"              # integer, 0..150
SHARE = "claim.negligence_share"       # decimal, 0..1

API_CASES = [
    # NaN and infinities: as Python floats, Decimals and text
    (AD, AMOUNT, float("nan"), "claim.type", AMOUNT_FIELD),
    (AD, AMOUNT, float("inf"), "claim.type", AMOUNT_FIELD),
    (AD, AMOUNT, float("-inf"), "claim.type", AMOUNT_FIELD),
    (AD, AMOUNT, Decimal("NaN"), "claim.type", AMOUNT_FIELD),
    (AD, AMOUNT, Decimal("sNaN"), "claim.type", AMOUNT_FIELD),
    (AD, AMOUNT, Decimal("Infinity"), "claim.type", AMOUNT_FIELD),
    (AD, AMOUNT, Decimal("-Infinity"), "claim.type", AMOUNT_FIELD),
    (AD, AMOUNT, "NaN", "claim.type", AMOUNT_FIELD),
    (AD, AMOUNT, "Infinity", "claim.type", AMOUNT_FIELD),
    (AD, AMOUNT, "-Infinity", "claim.type", AMOUNT_FIELD),
    (AD, AGE, float("nan"), "claim.type", AGE),
    (AD, AGE, Decimal("NaN"), "claim.type", AGE),
    (AD_NEGLIGENCE, SHARE, float("nan"), "claim.type", SHARE),
    (AD_NEGLIGENCE, SHARE, Decimal("NaN"), "claim.type", SHARE),
    (AD_NEGLIGENCE, SHARE, Decimal("Infinity"), "claim.type", SHARE),
    (AD_NEGLIGENCE, SHARE, "NaN", "claim.type", SHARE),
    (AD_NEGLIGENCE, SHARE, "Infinity", "claim.type", SHARE),
    # 1e309: what a JSON reader with exact decimals makes of the JSON number 1e309
    (AD, AMOUNT, Decimal("1e309"), "claim.range", AMOUNT_FIELD),
    (AD, AMOUNT, 1e308 * 10, "claim.type", AMOUNT_FIELD),                 # as a float it is inf
    (AD, AMOUNT, "1e309", "claim.type", AMOUNT_FIELD),                    # not a plain decimal string
    (AD, AGE, Decimal("1e309"), "claim.type", AGE),                 # not a whole number
    (AD_NEGLIGENCE, SHARE, Decimal("1e309"), "claim.range", SHARE),
    (AD, AMOUNT, Decimal("1E+999999"), "claim.range", AMOUNT_FIELD),
    # negative money, and a signed zero (chosen: an amount is never negative, "-0.00" included)
    (AD, AMOUNT, "-5.00", "claim.amount", AMOUNT_FIELD),
    (AD, AMOUNT, -5, "claim.amount", AMOUNT_FIELD),
    (AD, AMOUNT, Decimal("-5.00"), "claim.amount", AMOUNT_FIELD),
    (AD, AMOUNT, -5.0, "claim.amount", AMOUNT_FIELD),
    (AD, AMOUNT, "-0.00", "claim.amount", AMOUNT_FIELD),
    (AD, AMOUNT, Decimal("-0.00"), "claim.amount", AMOUNT_FIELD),
    (AD, AMOUNT, -0.0, "claim.amount", AMOUNT_FIELD),
    # absurd money: 10^15 and more (README)
    (AD, AMOUNT, Decimal("1e20"), "claim.range", AMOUNT_FIELD),
    (AD, AMOUNT, "100000000000000000000", "claim.range", AMOUNT_FIELD),
    (AD, AMOUNT, 10 ** 20, "claim.range", AMOUNT_FIELD),
    (AD, AMOUNT, 1e20, "claim.range", AMOUNT_FIELD),
    (AD, AMOUNT, 10 ** 15, "claim.range", AMOUNT_FIELD),
    (AD, AMOUNT, "1" * 41, "claim.range", AMOUNT_FIELD),                  # today claim.type: "is not an amount"
    (AD, AMOUNT, 10 ** 5000, "claim.range", AMOUNT_FIELD),                # today ValueError (int to str limit)
    (AD, AGE, 10 ** 20, "claim.range", AGE),
    (AD, AGE, -10 ** 20, "claim.range", AGE),
    (AD, AGE, 10 ** 5000, "claim.range", AGE),                      # today ValueError
    (AD_NEGLIGENCE, SHARE, 10 ** 5000, "claim.range", SHARE),       # today ValueError
    # more decimals than the currency has (EUR: 2): rejected, not rounded (README)
    (AD, AMOUNT, "12.345", "claim.amount", AMOUNT_FIELD),
    (AD, AMOUNT, Decimal("12.345"), "claim.amount", AMOUNT_FIELD),
    (AD, AMOUNT, 12.345, "claim.amount", AMOUNT_FIELD),
    (AD, AMOUNT, "12.340", "claim.amount", AMOUNT_FIELD),
    (AD, AMOUNT, Decimal("1E-100"), "claim.amount", AMOUNT_FIELD),
    # true where a number belongs (bool is an int in Python)
    (AD, AMOUNT, True, "claim.type", AMOUNT_FIELD),
    (AD, AMOUNT, False, "claim.type", AMOUNT_FIELD),
    (AD, AGE, True, "claim.type", AGE),
    (AD, AGE, False, "claim.type", AGE),
    (AD, "claim.days_outside_residence", True, "claim.type", "claim.days_outside_residence"),
    (AD_NEGLIGENCE, SHARE, True, "claim.type", SHARE),
    (AD_NEGLIGENCE, SHARE, False, "claim.type", SHARE),
    (AD, "claim.repair_cost", True, "claim.type", "claim.repair_cost"),
    # strings of a megabyte
    (AD, "claim.id", "x" * MB, "claim.range", "claim.id"),
    (AD, "policy.id", "x" * MB, "claim.range", "policy.id"),
    (BMW_USED, "item.vin", "W" * MB, "claim.range", "item.vin"),    # a text field with a pattern
    (AD, "claim.event", "x" * MB, "claim.unknown-code", "claim.event"),
    (AD, "item.kind", "x" * MB, "claim.unknown-code", "item.kind"),
    (AD, "policy.holder.residence", "x" * MB, "claim.unknown-code", "policy.holder.residence"),
    (AD, "claim.documents", ["x" * MB], "claim.unknown-code", "claim.documents[0]"),
    (AD, "claim.occurred", "2" * MB, "claim.invalid-date", "claim.occurred"),
    (AD, AMOUNT, "1" * MB, "claim.range", AMOUNT_FIELD),                  # today claim.type
    (AD, AMOUNT, "1." + "0" * MB, "claim.amount", AMOUNT_FIELD),          # today claim.type
    (AD_NEGLIGENCE, SHARE, "0." + "1" * MB, "claim.type", SHARE),
    (AD, "claim.repair_cost.currency", "E" * MB, "claim.currency", "claim.repair_cost"),
    (AD, "product", "x" * MB, "claim.unknown-product", "product"),  # today the message is 1 MB long
    # a currency that is not text (today: TypeError, unhashable type, from the fast path)
    (AD, "claim.repair_cost.currency", ["EUR"], "claim.currency", "claim.repair_cost"),
    (AD, "claim.repair_cost.currency", {"code": "EUR"}, "claim.currency", "claim.repair_cost"),
    (AD, "item.price.currency", [], "claim.currency", "item.price"),
    (AD, "claim.repair_cost.currency", Decimal("sNaN"), "claim.currency", "claim.repair_cost"),
    (AD, "claim.repair_cost.currency", 10 ** 5000, "claim.currency", "claim.repair_cost"),
    # ten thousand levels deep
    (AD, "claim.event", nested_list(10_000), "claim.type", "claim.event"),
    (AD, AMOUNT, nested_list(10_000), "claim.type", AMOUNT_FIELD),
    (AD, "claim.repair_cost", nested_dict(10_000), "claim.unknown-field", "claim.repair_cost.a"),
    (AD, "claim.zzz", nested_dict(10_000), "claim.unknown-field", "claim.zzz"),
    (AD, "policy.holder", nested_dict(10_000), "claim.unknown-field", "policy.holder.a"),
    # chosen: an item of a code list that is not text is claim.type (today RecursionError
    # from repr() of the item; a flat non-text item gets claim.unknown-code)
    (AD, "claim.documents", nested_list(10_000), "claim.type", "claim.documents[0]"),
    (AD, "claim.documents", ["photo", nested_list(10_000)], "claim.type", "claim.documents[1]"),
    (AD, "claim.circumstances", [nested_dict(10_000)], "claim.type", "claim.circumstances[0]"),
]


def _case_id(case) -> str:
    _, path, value, _, _ = case
    if isinstance(value, (list, dict)):
        depth, inner = 0, value
        while isinstance(inner, (list, dict)) and inner and depth < 100:
            inner = inner[-1] if isinstance(inner, list) else next(iter(inner.values()))
            depth += 1
        shown = f"{type(value).__name__}-nested-deep" if depth >= 100 else repr(value)[:30]
    elif isinstance(value, str) and len(value) > 30:
        shown = f"text-of-{len(value)}"
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10 ** 30:
        shown = "int-of-thousands-of-digits"
    else:
        shown = repr(value)
    return f"{path}={shown}"


@pytest.mark.parametrize("base, path, value, code, error_path", API_CASES, ids=[_case_id(c) for c in API_CASES])
def test_hostile_value_through_the_api(book, base, path, value, code, error_path):
    result = book.decide(changed(base, path, value))
    assert_error(result, code, error_path)
    assert result["claim_id"] == (base["claim"]["id"] if path != "claim.id" else "x" * MB)


def test_a_megabyte_field_name(book):
    name = "x" * MB
    result = book.decide(changed(AD, "claim." + name, 1))
    assert_error(result, "claim.unknown-field", "claim." + name)     # today the message is 1 MB long


def test_a_megabyte_field_name_at_the_top(book):
    name = "x" * MB
    result = book.decide(changed(AD, name, 1))
    assert_error(result, "claim.unknown-field", name)


@pytest.mark.parametrize("claim", [nested_list(10_000), [AD] * 3, "claim", 42, None, True],
                         ids=["deep-list", "list", "text", "number", "null", "bool"])
def test_a_claim_that_is_not_an_object(book, claim):
    assert_error(book.decide(claim), "claim.not-an-object", None)


def test_a_signed_zero_never_makes_a_negative_payout(book):
    # Today "-0.00" is taken as an amount, and the used-car claim is approved with a payout
    # of "-0.00" CNY.
    result = book.decide(changed(BMW_USED, "item.invoice_price.amount", "-0.00"))
    assert_error(result, "claim.amount", "item.invoice_price")


def test_the_largest_amounts_still_decide_exactly(book):
    # the edge of "absurd": just under 10^15 is an amount, decided without rounding errors
    decision = book.decide(changed(AD, "item.price.amount", "999999999999999.99"))
    assert decision["outcome"] == "approved"
    assert decision["payout"] == {"amount": "139.00", "currency": "EUR"}


# -- through the command line: JSON text ---------------------------------------------------------
def _limit_resources() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    resource.setrlimit(resource.RLIMIT_CPU, (10, 10))


def evaluate(*args: str, stdin: bytes | None = None, env: dict | None = None) -> tuple[int, list[dict], str]:
    """`policyconf evaluate --format jsonl` in a subprocess (1 GiB, 10 s); (status, results, stderr)."""
    try:
        proc = subprocess.run([str(SCRIPT), "evaluate", "--products", str(PRODUCTS), "--format", "jsonl", *args],
                              input=stdin, capture_output=True, timeout=20, preexec_fn=_limit_resources,
                              env=None if env is None else {**os.environ, **env})
    except subprocess.TimeoutExpired:
        proc = None
    if proc is None:
        pytest.fail("policyconf evaluate ran longer than 20 s")
    if proc.returncode < 0:
        pytest.fail(f"policyconf evaluate was killed by {signal.Signals(-proc.returncode).name}")
    stderr = proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr, "policyconf crashed:\n" + stderr[:1500] + "\n...\n" + stderr[-1500:]
    try:
        out = proc.stdout.decode("utf-8")
    except UnicodeDecodeError as error:
        pytest.fail(f"stdout is not UTF-8 ({error}): {proc.stdout[max(0, error.start - 60):error.start + 20]!r}")
    assert out == "" or out.endswith("\n")
    return proc.returncode, [json.loads(line) for line in out.split("\n")[:-1]], stderr


def line(claim: dict) -> str:
    return json.dumps(claim, ensure_ascii=False)


def good(claim_id: str) -> str:
    return line(changed(AD, "claim.id", claim_id))


def swap(old: str, new: str, claim_id: str) -> str:
    """A JSON line of the AD claim with `old` text replaced by `new` (raw JSON)."""
    text = good(claim_id)
    assert text.count(old) == 1, old
    return text.replace(old, new)


def assert_approved(result: dict, claim_id: str) -> None:
    assert result.get("outcome") == "approved", str(result)[:500]
    assert result["claim_id"] == claim_id
    assert result["payout"] == {"amount": "139.00", "currency": "EUR"}


AMOUNT_JSON = '"amount": "189.00"'
AGE_JSON = '"age": 34'
OUTSIDE_JSON = '"days_outside_residence": 0'
EVENT_JSON = '"event": "drop"'

# (raw JSON line, claim_id, code, path, message after "FILE:N"); a claim_id of None means an
# error without one (unreadable lines); a message of None means the message is not checked
JSON_CASES = [
    (swap(AMOUNT_JSON, '"amount": NaN', "NAN"), None, "claim.unreadable", None, ": invalid JSON: NaN"),
    (swap(AMOUNT_JSON, '"amount": Infinity', "INF"), None, "claim.unreadable", None, ": invalid JSON: Infinity"),
    (swap(AMOUNT_JSON, '"amount": -Infinity', "MINUS-INF"), None, "claim.unreadable", None,
     ": invalid JSON: -Infinity"),
    (swap(AGE_JSON, '"age": NaN', "AGE-NAN"), None, "claim.unreadable", None, ": invalid JSON: NaN"),
    (swap(AMOUNT_JSON, '"amount": 1e309', "AMOUNT-1E309"), "AMOUNT-1E309", "claim.range", AMOUNT_FIELD, None),
    (swap(AMOUNT_JSON, '"amount": 1E400', "AMOUNT-1E400"), "AMOUNT-1E400", "claim.range", AMOUNT_FIELD, None),
    (swap(AGE_JSON, '"age": 1e309', "AGE-1E309"), "AGE-1E309", "claim.type", AGE, None),
    (swap(OUTSIDE_JSON, '"days_outside_residence": 1e309', "DAYS-1E309"), "DAYS-1E309", "claim.type",
     "claim.days_outside_residence", None),
    (swap(OUTSIDE_JSON, '"days_outside_residence": 0, "negligence_share": 1e309', "SHARE-1E309"),
     "SHARE-1E309", "claim.range", SHARE, None),
    (swap(AMOUNT_JSON, '"amount": -1', "NEGATIVE"), "NEGATIVE", "claim.amount", AMOUNT_FIELD, None),
    (swap(AMOUNT_JSON, '"amount": "-189.00"', "NEGATIVE-TEXT"), "NEGATIVE-TEXT", "claim.amount", AMOUNT_FIELD, None),
    (swap(AMOUNT_JSON, '"amount": 1e20', "ABSURD"), "ABSURD", "claim.range", AMOUNT_FIELD, None),
    (swap(AMOUNT_JSON, '"amount": 100000000000000000000', "ABSURD-INT"), "ABSURD-INT", "claim.range", AMOUNT_FIELD, None),
    (swap(AMOUNT_JSON, '"amount": 12.345', "DECIMALS"), "DECIMALS", "claim.amount", AMOUNT_FIELD, None),
    (swap(AMOUNT_JSON, '"amount": "12.345"', "DECIMALS-TEXT"), "DECIMALS-TEXT", "claim.amount", AMOUNT_FIELD, None),
    (swap(AMOUNT_JSON, '"amount": true', "AMOUNT-TRUE"), "AMOUNT-TRUE", "claim.type", AMOUNT_FIELD, None),
    (swap(AGE_JSON, '"age": true', "AGE-TRUE"), "AGE-TRUE", "claim.type", AGE, None),
    (swap(AGE_JSON, '"age": false', "AGE-FALSE"), "AGE-FALSE", "claim.type", AGE, None),
    (swap(OUTSIDE_JSON, '"days_outside_residence": 0, "negligence_share": false', "SHARE-FALSE"),
     "SHARE-FALSE", "claim.type", SHARE, None),
    (swap(EVENT_JSON, '"event": "drop", "event": "fire"', "DUPLICATE"), None, "claim.unreadable", None,
     ": invalid JSON: duplicate key 'event'"),
    (swap('"product": "accidental-damage"', '"product": "accidental-damage", "product": "bmw-total-loss"',
          "DUPLICATE-TOP"), None, "claim.unreadable", None, ": invalid JSON: duplicate key 'product'"),
    (swap(OUTSIDE_JSON, '"days_outside_residence": 0, "deep": ' + "[" * 10_000 + "]" * 10_000, "DEEP-LIST"),
     None, "claim.unreadable", None, ": invalid JSON: nested too deeply"),
    (swap(OUTSIDE_JSON, '"days_outside_residence": 0, "deep": ' + '{"a": ' * 10_000 + "1" + "}" * 10_000,
          "DEEP-OBJECT"), None, "claim.unreadable", None, ": invalid JSON: nested too deeply"),
    ("[" * 10_000 + "]" * 10_000, None, "claim.unreadable", None, ": invalid JSON: nested too deeply"),
    (swap('"id": "DEEP-CLAIM"', '"id": "DEEP-CLAIM", "evil": ' + "[" * 10_000 + "]" * 10_000, "DEEP-CLAIM"),
     None, "claim.unreadable", None, ": invalid JSON: nested too deeply"),
    (good("x" * MB), "x" * MB, "claim.range", "claim.id", None),
    (swap(EVENT_JSON, '"event": "' + "x" * MB + '"', "EVENT-MB"), "EVENT-MB", "claim.unknown-code",
     "claim.event", None),
    ("[1, 2]", None, "claim.not-an-object", None, ": a claim must be an object"),
    ('"a claim"', None, "claim.not-an-object", None, ": a claim must be an object"),
    ("42", None, "claim.not-an-object", None, ": a claim must be an object"),
    ("null", None, "claim.not-an-object", None, ": a claim must be an object"),
    ("true", None, "claim.not-an-object", None, ": a claim must be an object"),
    ('{"product": "accidental-damage", "policy": ', None, "claim.unreadable", None, ":44: invalid JSON: "),
    (swap('"id": "NUL"', '"id": "N\\u0000L"', "NUL").replace("\\u0000", "\x00"), None, "claim.unreadable", None,
     ":"),
]


@pytest.fixture(scope="module")
def hostile_batch(tmp_path_factory):
    """One .jsonl file: a good claim, then each hostile line followed by a good claim; decided once."""
    path = tmp_path_factory.mktemp("batch") / "claims.jsonl"
    lines: list[bytes] = [good("GOOD-0").encode()]
    expected: list[tuple] = [("good", "GOOD-0")]
    for i, (text, claim_id, code, error_path, message) in enumerate(JSON_CASES, 1):
        lines.append(text.encode("utf-8"))
        expected.append(("error", claim_id, code, error_path, message))
        lines.append(good(f"GOOD-{i}").encode())
        expected.append(("good", f"GOOD-{i}"))
    # invalid UTF-8 in a line, once in a string and once between tokens
    lines.append(good("BAD-UTF8").replace("BAD-UTF8", "BAD-UTF8-\udce9").encode("utf-8", "surrogateescape"))
    expected.append(("error", None, "claim.unreadable", None, ": not UTF-8"))
    lines.append(b'{"product": \xff\xfe"accidental-damage"}')
    expected.append(("error", None, "claim.unreadable", None, ": not UTF-8"))
    lines.append(good("GOOD-LAST").encode())
    expected.append(("good", "GOOD-LAST"))
    path.write_bytes(b"\n".join(lines) + b"\n")
    status, results, stderr = evaluate(str(path))
    return path, expected, status, results, stderr


def test_a_hostile_batch_is_decided_line_by_line(hostile_batch):
    path, expected, status, results, _ = hostile_batch
    assert status == 1
    assert len(results) == len(expected), "exactly one result per line, in order"
    for want, result in zip(expected, results):
        if want[0] == "good":
            assert_approved(result, want[1])


JSON_CASE_NAMES = ['amount-NaN',
                   'amount-Infinity',
                   'amount-minus-Infinity',
                   'integer-NaN',
                   'amount-1e309',
                   'amount-1E400',
                   'integer-1e309',
                   'integer-with-default-1e309',
                   'decimal-1e309',
                   'amount-negative',
                   'amount-negative-text',
                   'amount-1e20',
                   'amount-10-to-the-20',
                   'amount-three-decimals',
                   'amount-three-decimals-text',
                   'amount-true',
                   'integer-true',
                   'integer-false',
                   'decimal-false',
                   'duplicate-key',
                   'duplicate-key-top',
                   'nested-list-10000-deep',
                   'nested-object-10000-deep',
                   'line-nested-10000-deep',
                   'nested-beside-the-id',
                   'claim-id-of-a-megabyte',
                   'event-of-a-megabyte',
                   'line-a-list',
                   'line-a-string',
                   'line-a-number',
                   'line-null',
                   'line-true',
                   'line-cut-short',
                   'nul-in-a-string']


@pytest.mark.parametrize("index", range(len(JSON_CASES)), ids=JSON_CASE_NAMES)
def test_a_hostile_json_line(hostile_batch, index):
    path, expected, _, results, _ = hostile_batch
    number = 2 + 2 * index                       # line numbers: GOOD-0 is line 1
    _, claim_id, code, error_path, message = expected[number - 1]
    result = results[number - 1]
    assert_error(result, code, error_path,
                 message_start=None if message is None else f"{path}:{number}{message}")
    assert result["claim_id"] == claim_id


@pytest.mark.parametrize("offset", [0, 1], ids=["in-a-string", "between-tokens"])
def test_invalid_utf8_in_a_jsonl_line(hostile_batch, offset):
    path, expected, _, results, _ = hostile_batch
    number = len(expected) - 2 + offset
    assert_error(results[number - 1], "claim.unreadable", None, f"{path}:{number}: not UTF-8")
    assert_approved(results[-1], "GOOD-LAST")


def test_a_megabyte_field_name_in_a_jsonl_line(tmp_path):
    path = tmp_path / "claims.jsonl"
    path.write_text(swap(EVENT_JSON, f'"event": "drop", "{"x" * MB}": 1', "LONG-NAME") + "\n" + good("NEXT") + "\n",
                    encoding="utf-8")
    status, (bad, next_), _ = evaluate(str(path))
    assert status == 1
    assert_error(bad, "claim.unknown-field", "claim." + "x" * MB)    # today the message is 1 MB long
    assert_approved(next_, "NEXT")


def test_a_5000_digit_json_number(tmp_path):
    # Valid JSON, more digits than Python converts by default.  Chosen: unreadable, as today,
    # but the message is ours: today it is Python's "Exceeds the limit (4300 digits) for
    # integer string conversion ...; use sys.set_int_max_str_digits() to increase the limit".
    path = tmp_path / "claims.jsonl"
    path.write_text(swap(AGE_JSON, '"age": 1' + "0" * 5000, "HUGE") + "\n" + good("NEXT") + "\n", encoding="utf-8")
    status, (bad, next_), _ = evaluate(str(path))
    assert status == 1
    assert_error(bad, "claim.unreadable", None, f"{path}:1: ")
    assert "sys." not in bad["error"]["message"] and "4300" not in bad["error"]["message"], bad["error"]["message"]
    assert_approved(next_, "NEXT")


@pytest.mark.parametrize("currency", ['["EUR"]', '{"code": "EUR"}', "[]"], ids=["list", "object", "empty-list"])
def test_a_currency_that_is_not_text_does_not_stop_the_batch(tmp_path, currency):
    # Today: TypeError (unhashable type) from the money converter's fast path; the whole
    # batch stops with a traceback and not even the first claim's decision is written.
    path = tmp_path / "claims.jsonl"
    bad = swap('"currency": "EUR"}, "documents"', f'"currency": {currency}}}, "documents"', "BAD-CURRENCY")
    path.write_text("\n".join([good("FIRST"), bad, good("LAST")]) + "\n", encoding="utf-8")
    status, results, _ = evaluate(str(path))
    assert status == 1
    assert len(results) == 3
    assert_approved(results[0], "FIRST")
    assert_error(results[1], "claim.currency", "claim.repair_cost")
    assert_approved(results[2], "LAST")


def test_hostile_lines_in_a_batch_decided_by_the_worker_pool(tmp_path):
    # More than one chunk (1,000 lines), so the batch goes to worker processes.
    path = tmp_path / "claims.jsonl"
    lines = [good(f"G{i}") for i in range(2_500)]
    lines[0] = swap(AMOUNT_JSON, '"amount": NaN', "X")
    lines[1_200] = swap('"currency": "EUR"}, "documents"', '"currency": ["EUR"]}, "documents"', "BAD-CURRENCY")
    lines[2_499] = "[1]"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    status, results, _ = evaluate("--jobs", "2", str(path))
    assert status == 1
    assert len(results) == 2_500
    assert_error(results[0], "claim.unreadable", None, f"{path}:1: invalid JSON: NaN")
    assert_error(results[1_200], "claim.currency", "claim.repair_cost")
    assert_error(results[2_499], "claim.not-an-object", None, f"{path}:2500: ")
    for i in (1, 1_199, 1_201, 2_498):
        assert_approved(results[i], f"G{i}")


# -- standard input --------------------------------------------------------------------------------
def test_hostile_lines_on_standard_input():
    lines = [good("FIRST"), swap(AMOUNT_JSON, '"amount": NaN', "X"), "[1, 2]",
             swap(EVENT_JSON, '"event": "drop", "event": "fire"', "X"), "[" * 10_000 + "]" * 10_000,
             swap(AMOUNT_JSON, '"amount": 1e309', "BIG"), good("LAST")]
    status, results, _ = evaluate("-", stdin=("\n".join(lines) + "\n").encode())
    assert status == 1
    assert len(results) == 7
    assert_approved(results[0], "FIRST")
    assert_error(results[1], "claim.unreadable", None, "<stdin>:2: invalid JSON: NaN")
    assert_error(results[2], "claim.not-an-object", None, "<stdin>:3: ")
    assert_error(results[3], "claim.unreadable", None, "<stdin>:4: invalid JSON: duplicate key 'event'")
    assert_error(results[4], "claim.unreadable", None, "<stdin>:5: invalid JSON: nested too deeply")
    assert_error(results[5], "claim.range", AMOUNT_FIELD)
    assert_approved(results[6], "LAST")


@pytest.mark.parametrize("encoding", [None, "utf-8:strict"], ids=["default", "strict-locale"])
def test_invalid_utf8_on_standard_input(encoding):
    # Today, with the C.UTF-8 locale (surrogateescape), the bad byte is taken into claim.id,
    # the claim is approved and its decision is written to stdout as invalid UTF-8; with a
    # strict UTF-8 locale (en_US.UTF-8), the command dies with UnicodeDecodeError and
    # writes nothing.
    data = (good("FIRST") + "\n").encode() + good("BAD").replace('"BAD"', '"B\udce9D"').encode(
        "utf-8", "surrogateescape") + b"\n" + (good("LAST") + "\n").encode()
    status, results, _ = evaluate("-", stdin=data, env=None if encoding is None else {"PYTHONIOENCODING": encoding})
    assert status == 1
    assert len(results) == 3
    assert_approved(results[0], "FIRST")
    assert_error(results[1], "claim.unreadable", None, "<stdin>:2: not UTF-8")
    assert_approved(results[2], "LAST")


def test_invalid_utf8_in_the_first_line_on_standard_input():
    data = b'{"product": "caf\xe9"}\n' + (good("LAST") + "\n").encode()
    status, results, _ = evaluate("-", stdin=data)
    assert status == 1
    assert len(results) == 2
    assert_error(results[0], "claim.unreadable", None, "<stdin>:1: not UTF-8")
    assert_approved(results[1], "LAST")


def test_a_bom_on_standard_input():
    # A .jsonl file may start with a BOM; standard input too.  Today the BOM hides the first
    # '{', the input is read as YAML, and one "unreadable" error stands for both claims.
    status, results, _ = evaluate("-", stdin=b"\xef\xbb\xbf" + (good("FIRST") + "\n" + good("LAST") + "\n").encode())
    assert status == 0
    assert [r.get("outcome") for r in results] == ["approved", "approved"]


def test_a_bom_in_a_jsonl_file(tmp_path):
    path = tmp_path / "claims.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (good("FIRST") + "\n" + good("LAST") + "\n").encode())
    status, results, _ = evaluate(str(path))
    assert status == 0
    assert_approved(results[0], "FIRST")
    assert_approved(results[1], "LAST")


def test_a_line_separator_inside_a_claim_on_standard_input():
    # U+2028 is valid inside a JSON string; JSON lines are split at "\n" only.  Today, when
    # the first line is not an object, standard input is read whole and split with
    # str.splitlines(): the claim becomes two unreadable lines and the numbering shifts.
    data = "[1]\n" + good("A\u2028B") + "\n" + good("LAST") + "\n"
    status, results, _ = evaluate("-", stdin=data.encode())
    assert status == 1
    assert len(results) == 3
    assert_error(results[0], "claim.not-an-object", None, "<stdin>:1: ")
    assert_approved(results[1], "A\u2028B")
    assert_approved(results[2], "LAST")
