"""Memory stays flat whatever the input's size: a line of hundreds of megabytes is never held
whole, and `--format json` writes its array as it goes.

Each case runs `policyconf evaluate` in a subprocess of its own and reads its peak RSS from
`os.wait4` (tests/security/processes.py). Before the fixes, a 300 MB line was read whole and
parsed (well over a gigabyte), and `--format json` held every decision until the end (about
7.6 KiB a claim: some 400 MB for 50,000 claims).
"""
from __future__ import annotations

import io
import json
import shutil

import pytest

from conftest import EXAMPLES
from policyconf.engine.claim_reader import MAX_LINE_BYTES, StdinReader, jsonl_line, read_jsonl_file
from processes import evaluate

MiB = 1024 * 1024
GOOD = json.loads((EXAMPLES / "ad-approved-repair.json").read_text(encoding="utf-8"))


def good(claim_id: str) -> str:
    return json.dumps({**GOOD, "claim": {**GOOD["claim"], "id": claim_id}})


def too_long(number: int) -> str:
    return f"line {number} is larger than 1048576 bytes"


def assert_approved(result: dict, claim_id: str) -> None:
    assert (result.get("claim_id"), result.get("outcome")) == (claim_id, "approved"), str(result)[:300]


def assert_too_long(result: dict, where: str, number: int) -> None:
    assert result == {"claim_id": None, "error": {"code": "claim.unreadable", "path": None,
                                                  "message": f"{where}:{number}: {too_long(number)}"}}


# -- a line over the limit -----------------------------------------------------------------------
def test_the_limit_is_the_http_services_body_limit_for_one_claim():
    assert MAX_LINE_BYTES == 1_048_576


@pytest.fixture(scope="module")
def huge_line_file(tmp_path_factory):
    """FIRST, a claim whose id is 300 MB long (written in pieces), LAST."""
    folder = tmp_path_factory.mktemp("huge")
    if shutil.disk_usage(folder).free < 2 * 1024 * MiB:
        pytest.skip("needs 2 GB of free disk for a 300 MB line")
    path = folder / "claims.jsonl"
    head, tail = good("@").split('"@"')
    piece = "x" * MiB
    with open(path, "w", encoding="utf-8") as out:
        out.write(good("FIRST") + "\n" + head + '"')
        for _ in range(300):
            out.write(piece)
        out.write('"' + tail + "\n" + good("LAST") + "\n")
    yield path
    path.unlink()


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_a_300_mb_line_is_its_error_and_memory_stays_flat(huge_line_file, fmt):
    finished = evaluate(str(huge_line_file), fmt=fmt)
    assert finished.status == 1
    results = finished.json_lines() if fmt == "jsonl" else json.loads(finished.stdout)
    assert len(results) == 3
    assert_approved(results[0], "FIRST")
    assert_too_long(results[1], str(huge_line_file), 2)
    assert_approved(results[2], "LAST")
    assert finished.peak_rss < 200 * MiB, f"peak RSS {finished.peak_rss / MiB:.0f} MiB"


def test_a_300_mb_line_on_standard_input(huge_line_file):
    finished = evaluate("-", stdin=huge_line_file)
    assert finished.status == 1
    first, bad, last = finished.json_lines()
    assert_approved(first, "FIRST")
    assert_too_long(bad, "<stdin>", 2)
    assert_approved(last, "LAST")
    assert finished.peak_rss < 200 * MiB, f"peak RSS {finished.peak_rss / MiB:.0f} MiB"


def test_a_first_line_over_the_limit_on_standard_input_is_json_lines():
    # Sniffing standard input reads at most MAX_LINE_BYTES + 1 of its first line: one that
    # starts as an object is JSON lines, and that line's error is its size.
    finished = evaluate("-", stdin=('{"claim": {"id": "' + "x" * (3 * MiB) + '"}}\n' + good("LAST") + "\n").encode())
    assert finished.status == 1
    bad, last = finished.json_lines()
    assert_too_long(bad, "<stdin>", 1)
    assert_approved(last, "LAST")


def test_a_line_over_the_limit_on_standard_input_read_whole():
    # A first line that is not an object: standard input is read whole, split at "\n", and a
    # line over the limit is still that line's error, as when the lines are streamed.
    finished = evaluate("-", stdin=("[1]\n" + good("X" * (2 * MiB)) + "\n" + good("LAST") + "\n").encode())
    assert finished.status == 1
    first, bad, last = finished.json_lines()
    assert first["error"]["code"] == "claim.not-an-object"
    assert_too_long(bad, "<stdin>", 2)
    assert_approved(last, "LAST")


def _line_of(size: int) -> bytes:
    """A claim line of exactly `size` bytes (its newline not counted)."""
    text = good("@")
    return text.replace("@", "x" * (size - len(text) + 1)).encode()


@pytest.mark.parametrize("end", [b"\n", b""], ids=["newline", "last-line"])
def test_the_limit_is_exact(tmp_path, end):
    at_limit, over = _line_of(MAX_LINE_BYTES), _line_of(MAX_LINE_BYTES + 1)
    assert (len(at_limit), len(over)) == (MAX_LINE_BYTES, MAX_LINE_BYTES + 1)
    for data, expected in ((at_limit, "claim.range"), (over, too_long(2))):     # an id of a MiB is claim.range
        path = tmp_path / "claims.jsonl"
        path.write_bytes(good("FIRST").encode() + b"\n" + data + end + (b"" if not end else good("LAST").encode() + b"\n"))
        stdin = StdinReader(io.BytesIO(path.read_bytes()))
        assert stdin.is_jsonl()
        for source in (read_jsonl_file(str(path)), stdin.lines()):
            items = [jsonl_line(text, where, number) for where, number, text in source]
            assert items[0].claim["claim"]["id"] == "FIRST"
            if expected == "claim.range":
                assert items[1].claim["claim"]["id"] == "x" * (MAX_LINE_BYTES - len(good("")))
            else:
                assert items[1].error.code == "claim.unreadable" and items[1].error.message.endswith(expected)
            if end:
                assert items[2].claim["claim"]["id"] == "LAST"


# -- --format json, streamed -----------------------------------------------------------------------
CLAIMS = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(EXAMPLES.glob("*.json"))]


def test_format_json_is_the_array_json_dumps_gives(book):
    claims = [CLAIMS[i % len(CLAIMS)] for i in range(30)]
    lines = [json.dumps(claim) for claim in claims]
    lines[4], lines[9] = "{broken", "[1]"
    finished = evaluate("-", stdin="\n".join(lines) + "\n", fmt="json")
    expected = [jsonl_line(text, "<stdin>", number) for number, text in enumerate(lines, 1)]
    expected = [item.error.to_dict() if item.error else book.decide(item.claim) for item in expected]
    assert finished.status == 1
    assert finished.stdout.decode("utf-8") == json.dumps(expected, indent=2, ensure_ascii=False) + "\n"


def test_format_json_of_50000_claims_is_written_as_they_are_decided(book, tmp_path):
    count = 50_000
    path = tmp_path / "claims.jsonl"
    with open(path, "w", encoding="utf-8") as out:
        for i in range(count):
            out.write(json.dumps(CLAIMS[i % len(CLAIMS)]) + "\n")
    output = tmp_path / "decisions.json"
    finished = evaluate(str(path), fmt="json", stdout=output, timeout=60)
    assert finished.status == 0
    # Held as a list, the decisions took some 7.6 KiB a claim (about 370 MiB here).
    assert finished.peak_rss < 120 * MiB, f"peak RSS {finished.peak_rss / MiB:.0f} MiB"
    # The output, byte for byte, is json.dumps(decisions, indent=2): each element as json.dumps
    # writes it inside a list, compared piece by piece (the whole would be 370 MiB here too).
    elements = [json.dumps([book.decide(claim)], indent=2, ensure_ascii=False)[2:-2].encode() for claim in CLAIMS]
    with open(output, "rb") as written:
        assert written.read(2) == b"[\n"
        for i in range(count):
            separator = b",\n" if i else b""
            expected = separator + elements[i % len(CLAIMS)]
            assert written.read(len(expected)) == expected, f"decision {i}"
        assert written.read() == b"\n]\n"


def test_format_json_with_a_missing_file_writes_no_half_array(tmp_path):
    # Every source is opened before the array begins: as when the list was held, a missing
    # second file leaves stdout empty (exit status 2), not an array cut short.
    from policyconf.engine.cli import main
    from conftest import PRODUCTS
    out, err = io.StringIO(), io.StringIO()
    status = main(["evaluate", "--products", str(PRODUCTS), "--format", "json", str(EXAMPLES / "ad-declined.json"),
                   str(tmp_path / "missing.json")], stdout=out, stderr=err)
    assert (status, out.getvalue()) == (2, "")
    assert f"{tmp_path / 'missing.json'}: No such file or directory" in err.getvalue()
