"""Hostile product files (the issue, part 1): each gets a clear error, in bounded time and memory.

Every case writes one product file into a fresh directory and runs
`policyconf validate DIR --format json`.  Where time, memory or the depth of the stack
matters, the real script runs in a subprocess limited to 1 GiB of address space and 10 s of
CPU, with a wall timeout of 10 s; a file of up to 10 MB must get its error inside those
limits.  The cheap cases (encodings, tags, shapes) call the command in-process, where an
exception fails the test just as a traceback would.

Each test states the exact error: exit status 1, the problem's code, its line and column
where they mean something, and a fragment of the message.  Where the issue leaves the code
open, the choice is written next to the test.
"""
from __future__ import annotations

import io
import json
import re
import pathlib
import resource
import signal
import subprocess
import sys
from dataclasses import dataclass

import pytest

from policyconf.engine.cli import main

SCRIPT = pathlib.Path(sys.executable).parent / "policyconf"
MEMORY_LIMIT = 1 << 30              # RLIMIT_AS: 1 GiB
CPU_LIMIT = 10                      # RLIMIT_CPU: seconds
WALL_LIMIT = 10                     # seconds
TEN_MB = 10 * 1024 * 1024           # engine.source.MAX_BYTES: the largest file a product may be

MINIMAL = """\
id: gadget
name: Gadget cover
version: "2024-01-01"
effective_from: 2024-01-01
currencies: [EUR]
fields:
  item.price: {type: money}
  claim.repair_cost: {type: money}
  claim.n: {type: integer, min: 0, default: 0}
definitions:
  gross: claim.repair_cost
settlement:
  kind: repair
  payout: gross - 10.00 EUR
  excess: 10.00 EUR
  depreciation: 0
"""
# line numbers of MINIMAL that the tests point at
SETTLEMENT_PAYOUT_LINE = 14
DEPRECIATION_LINE = 16
END = MINIMAL.count("\n") + 1       # the first line after MINIMAL

# the classic "billion laughs": nine levels of nine aliases, 9^9 values once expanded
BILLION_LAUGHS = "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9))


def position(text: str, needle: str, start: int = 0) -> tuple[int, int]:
    """1-based line and column of the first `needle` in `text` (at or after index `start`)."""
    index = text.index(needle, start)
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


def replace(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def _limit_resources() -> None:     # runs in the child, before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT, CPU_LIMIT))


def run_limited(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """The installed `policyconf` under the limits; fails the test on a timeout or a kill."""
    try:
        proc = subprocess.run([str(SCRIPT), *args], input=stdin, capture_output=True, timeout=WALL_LIMIT,
                              preexec_fn=_limit_resources)
    except subprocess.TimeoutExpired:
        proc = None
    if proc is None:
        pytest.fail(f"policyconf {' '.join(args)[:200]} ran longer than {WALL_LIMIT} s (wall)")
    if proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name
        pytest.fail(f"policyconf was killed by {name} (SIGXCPU: over {CPU_LIMIT} s of CPU; SIGKILL/SIGSEGV: "
                    f"over {MEMORY_LIMIT >> 20} MiB)\n{proc.stderr.decode(errors='replace')[-2000:]}")
    stderr = proc.stderr.decode(errors="replace")
    assert "Traceback" not in stderr, "policyconf crashed:\n" + stderr[:1500] + "\n...\n" + stderr[-1500:]
    return proc


@dataclass
class Report:
    status: int
    document: dict

    @property
    def errors(self) -> list[dict]:
        return [p for p in self.document["problems"] if p["severity"] == "error"]


def validate(tmp_path: pathlib.Path, content: str | bytes, *, limited: bool = True,
             name: str = "gadget.yaml") -> tuple[Report, pathlib.Path]:
    directory = tmp_path / "products"
    directory.mkdir()
    file = directory / name
    file.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    if limited:
        proc = run_limited("validate", str(directory), "--format", "json")
        status, out = proc.returncode, proc.stdout.decode("utf-8")
    else:
        stdout, stderr = io.StringIO(), io.StringIO()
        status = main(["validate", str(directory), "--format", "json"], stdout=stdout, stderr=stderr)
        out = stdout.getvalue()
    try:
        document = json.loads(out)
    except ValueError:
        pytest.fail(f"validate --format json did not print JSON (exit {status}): {out[:500]!r}")
    return Report(status, document), file


def assert_problem(tmp_path, content, code: str, line: int | None = None, column: int | None = None,
                   fragment: str | None = None, *, limited: bool = True, single: bool = True) -> dict:
    """Validation fails (exit 1) with exactly one error (`single`; else the first): `code` at
    `line`:`column` (each checked when given), saying `fragment`."""
    report, file = validate(tmp_path, content, limited=limited)
    assert report.status == 1, report.document
    assert report.document["valid"] is False
    assert report.errors, report.document
    if single:
        assert len(report.errors) == 1, report.errors
    error = report.errors[0]
    assert error["file"] == str(file)
    assert (error["code"], error["line"] if line is not None else None,
            error["column"] if column is not None else None) == (code, line, column), error
    if fragment is not None:
        assert fragment in error["message"], error
    assert len(error["message"]) < 1000, "the message must not echo the hostile input"
    return error


def assert_valid(tmp_path, content, *, limited: bool = True) -> None:
    report, _ = validate(tmp_path, content, limited=limited)
    assert (report.status, report.errors) == (0, []), report.document
    assert report.document["valid"] is True
    assert report.document["products"] == ["gadget"]


def test_minimal_product_is_valid(tmp_path):
    assert_valid(tmp_path, MINIMAL, limited=False)


# -- aliases: "billion laughs" -------------------------------------------------------------
def test_alias_bomb_is_refused_where_it_exceeds_the_limit(tmp_path):
    assert_problem(tmp_path, BILLION_LAUGHS, "yaml.too-large", 1, 15,
                   "the document expands to more than 100000 values (aliases included)")


def test_alias_bomb_padded_to_10_mb(tmp_path):
    padding = ("#" + "x" * 998 + "\n") * 10_200                  # 10,200,000 bytes of comments
    content = padding + BILLION_LAUGHS
    assert TEN_MB - 300_000 < len(content) <= TEN_MB
    assert_problem(tmp_path, content, "yaml.too-large", 10_201, 15, "more than 100000 values")


def test_alias_bomb_inside_a_product(tmp_path):
    bomb = BILLION_LAUGHS.replace("\n", "\n  ").rstrip() + "\n"
    assert_problem(tmp_path, MINIMAL + "x:\n  " + bomb, "yaml.too-large", fragment="more than 100000 values")


def test_alias_that_contains_itself(tmp_path):
    # a recursive alias is an endless nesting
    assert_problem(tmp_path, MINIMAL + "x: &a [*a]\n", "yaml.too-large", fragment="nesting too deep")


def test_10_mb_of_rules(tmp_path):
    # ~100,000 small rules: far more values than a product may have (MAX_NODES = 100,000).
    # The limit must stop the work early: composing all 10 MB with pure-Python PyYAML
    # before counting takes more than the 10 s allowed.
    rule = "  r{0}:\n    clause: C\n    message: The claim is refused.\n    when: claim.n > {0}\n"
    parts, size, i = [MINIMAL, "eligibility:\n"], len(MINIMAL) + 13, 0
    while size < TEN_MB - 200:
        parts.append(rule.format(i))
        size += len(parts[-1])
        i += 1
    assert_problem(tmp_path, "".join(parts), "yaml.too-large",
                   fragment="the document expands to more than 100000 values")


def test_a_10_mb_string_is_only_text_and_one_byte_more_is_too_large(tmp_path):
    content = MINIMAL + 'wording: "' + "x" * (TEN_MB - len(MINIMAL) - 12) + '"\n'
    assert len(content) == TEN_MB
    assert_valid(tmp_path, content)                             # 10 MB: accepted, in time
    directory = tmp_path / "over"
    directory.mkdir()
    assert_problem(directory, content + "#", "yaml.too-large", 1, 1, f"file larger than {TEN_MB} bytes")


# -- nesting ten thousand levels deep --------------------------------------------------------
@pytest.mark.parametrize("nested", [
    "[" * 10_000 + "]" * 10_000,
    "{a: " * 10_000 + "1" + "}" * 10_000,
    "- " * 10_000 + "1",
], ids=["flow-sequence", "flow-mapping", "block-sequence"])
def test_nesting_10000_deep(tmp_path, nested):
    value = nested if not nested.startswith("-") else "\n  " + nested
    assert_problem(tmp_path, MINIMAL + "x: " + value + "\n", "yaml.too-large", fragment="nesting too deep")


@pytest.mark.parametrize("nested, line", [
    ("[" * 10_000 + "]" * 10_000, END),
    ("&a [*a]", END),
], ids=["10000-deep", "recursive-alias"])
def test_nesting_error_points_at_the_nested_value(tmp_path, nested, line):
    # Today "nesting too deep" is always reported at 1:1, the file's first key, whatever the
    # line of the nesting: the position must say where the nesting is.
    assert_problem(tmp_path, MINIMAL + "x: " + nested + "\n", "yaml.too-large", line, fragment="nesting too deep")


def test_block_mappings_nested_as_deep_as_10_mb_allows(tmp_path):
    # each level indents one more column: 4,400 levels take 9.7 MB
    levels = 4_400
    content = MINIMAL + "x:\n" + "".join(" " * i + "k:\n" for i in range(1, levels)) + " " * levels + "k: 1\n"
    assert len(content) > 9_500_000
    assert_problem(tmp_path, content, "yaml.too-large", fragment="nesting too deep")


def test_nesting_10000_deep_then_padded_to_10_mb(tmp_path):
    content = MINIMAL + "x: " + "[" * 10_000 + "]" * 10_000 + "\n" + ("#" + "x" * 998 + "\n") * 10_200
    assert len(content) <= TEN_MB
    assert_problem(tmp_path, content, "yaml.too-large", fragment="nesting too deep")


def test_event_catalogue_nested_200_deep(tmp_path):
    # Small (1 KB), under the YAML nesting limit, but the schema of the catalogue is
    # recursive: today jsonschema runs out of stack (RecursionError traceback).  Chosen: the
    # YAML stage has an explicit depth limit, well under what any later stage can recurse.
    content = replace(MINIMAL, "  claim.n:", "  claim.event: {type: event}\n  claim.n:") + \
        "events:\n  rule: {id: e, clause: B, message: m}\n  covered: " + "{a: " * 200 + "leaf" + "}" * 200 + "\n"
    assert_problem(tmp_path, content, "yaml.too-large", END + 3, fragment="nesting too deep")


# -- bytes: encodings, BOM, NUL -----------------------------------------------------------------
def test_non_utf8_byte(tmp_path):
    content = MINIMAL.encode().replace(b"Gadget cover", b"Gadget cov\xe9r")
    assert_problem(tmp_path, content, "yaml.encoding", 2, 17, "not UTF-8: byte 0xe9 cannot be decoded", limited=False)


def test_non_utf8_byte_column_counts_characters_not_bytes(tmp_path):
    # "name: Gädget cov" is 16 characters (17 bytes): the bad byte stands in column 17
    content = MINIMAL.encode().replace(b"Gadget cover", "Gädget cov".encode() + b"\xe9r")
    assert_problem(tmp_path, content, "yaml.encoding", 2, 17, "byte 0xe9", limited=False)


@pytest.mark.parametrize("bad", [b"\xc0\xaf", b"\xed\xa0\x80", b"\xff", b"\x80", b"\xf4\x90\x80\x80"],
                         ids=["overlong", "surrogate", "ff", "lone-continuation", "above-u10ffff"])
def test_invalid_utf8_sequences(tmp_path, bad):
    content = MINIMAL.encode().replace(b"Gadget cover", b"Gadget" + bad + b"cover")
    assert_problem(tmp_path, content, "yaml.encoding", 2, 13, f"not UTF-8: byte 0x{bad[0]:02x}", limited=False)


def test_utf16_file(tmp_path):
    assert_problem(tmp_path, MINIMAL.encode("utf-16"), "yaml.encoding", 1, 1, "not UTF-8: byte 0xff", limited=False)


def test_bom_is_accepted(tmp_path):
    assert_valid(tmp_path, b"\xef\xbb\xbf" + MINIMAL.encode(), limited=False)


def test_bom_does_not_shift_positions(tmp_path):
    content = replace(MINIMAL, "depreciation: 0", "depreciation: 1 +")
    line, column = position(content, "1 +")
    assert_problem(tmp_path, b"\xef\xbb\xbf" + content.encode(), "expr.syntax", line, column + 3,
                   "expression ends too early", limited=False)


def test_nul_byte(tmp_path):
    content = MINIMAL.encode().replace(b"Gadget cover", b"Gadget\x00cover")
    assert_problem(tmp_path, content, "yaml.encoding", 2, 13, "NUL byte in a text file", limited=False)


def test_nul_byte_first(tmp_path):
    assert_problem(tmp_path, b"\x00" + MINIMAL.encode(), "yaml.encoding", 1, 1, "NUL byte", limited=False)


# -- enormous numbers -------------------------------------------------------------------------
def test_1e999999_as_an_integer_field_bound(tmp_path):
    # Chosen: a bound goes through the same range check as a value (claims.MAX_AMOUNT), like
    # a `default` already does ("default: ... is out of range", product.field).  Today: valid.
    content = replace(MINIMAL, "claim.n: {type: integer, min: 0, default: 0}",
                      "claim.n: {type: integer, min: 0, max: 1e999999, default: 0}")
    assert_problem(tmp_path, content, "product.field", *position(content, "1e999999"), "out of range", limited=False)


def test_minus_1e999999_as_a_decimal_field_bound(tmp_path):
    content = replace(MINIMAL, "claim.n: {type: integer, min: 0, default: 0}",
                      "claim.n: {type: integer, default: 0}\n  claim.share: {type: decimal, min: -1e999999, default: 0}")
    assert_problem(tmp_path, content, "product.field", *position(content, "-1e999999"), "out of range",
                   limited=False)


def test_10000_digit_integer_as_a_field_bound(tmp_path):
    # Today: "schema.type: ... max must be a number, not text" -- it is a number, too large.
    content = replace(MINIMAL, "claim.n: {type: integer, min: 0, default: 0}",
                      "claim.n: {type: integer, min: 0, max: " + "9" * 10_000 + ", default: 0}")
    assert_problem(tmp_path, content, "product.field", *position(content, "9999"), "out of range")


def test_1e999999_as_a_default(tmp_path):
    content = replace(MINIMAL, "claim.n: {type: integer, min: 0, default: 0}",
                      "claim.n: {type: integer, default: 0}\n  claim.share: {type: decimal, default: 1e999999}")
    assert_problem(tmp_path, content, "product.field", *position(content, "1e999999"), "out of range", limited=False)


BANDED = MINIMAL.replace("  depreciation: 0\n", "  depreciation: by_age[claim.n]\n") + """\
bands:
  by_age:
    clause: F.2
    unit: days
    bands:
      - {from: 0, to: 183, value: 0%}
      - {from: 184, value: 10%}
"""


def test_banded_product_is_valid(tmp_path):
    assert_valid(tmp_path, BANDED, limited=False)


def test_1e999999_as_a_band_bound(tmp_path):
    # Bands take decimals and amounts too, so this is a number: too large, like any bound.
    content = replace(BANDED, "{from: 184, value", "{from: 1e999999, value")
    assert_problem(tmp_path, content, "product.bands", *position(content, "1e999999"),
                   "`from` is out of range (at most 10^15 either way)", limited=False)


def test_10000_digit_integer_as_a_band_bound(tmp_path):
    # Today: "schema.type: ... must be an integer, not text" -- it is an integer, too large.
    # Chosen: the same "out of range" as any bound, under the section's own code.
    content = replace(BANDED, "{from: 184, value", "{from: " + "9" * 10_000 + ", value")
    assert_problem(tmp_path, content, "product.bands", *position(content, "9999"), "out of range")


def test_1e999999_where_an_expression_is_expected(tmp_path):
    # A YAML number in an expression slot is read as an expression: the grammar has no
    # exponent, so this is a syntax error at the `e`.  The message must quote the text as
    # written (today it quotes 'E' from Decimal's "1E+999999" and hints at currency codes).
    content = replace(MINIMAL, "depreciation: 0", "depreciation: 1e999999")
    line, column = position(content, "1e999999")
    assert_problem(tmp_path, content, "expr.syntax", line, column + 1, "e999999", limited=False)


def test_1e999999_inside_an_expression(tmp_path):
    content = MINIMAL + "eligibility:\n  r:\n    clause: C\n    message: m\n    when: claim.n > 1e999999\n"
    line, column = position(content, "e999999")
    assert_problem(tmp_path, content, "expr.syntax", line, column, "unexpected 'e999999'", limited=False)


def test_10000_digit_integer_inside_an_expression(tmp_path):
    content = MINIMAL + "eligibility:\n  r:\n    clause: C\n    message: m\n    when: claim.n > " + "9" * 10_000 + "\n"
    assert_problem(tmp_path, content, "expr.literal", *position(content, "9999"), "number with more than 30 digits")


def test_10_to_the_10_to_the_10(tmp_path):
    # no `**` operator: a syntax error at the second `*`
    content = replace(MINIMAL, "depreciation: 0", "depreciation: 10 ** 10 ** 10")
    line, column = position(content, "**")
    assert_problem(tmp_path, content, "expr.syntax", line, column + 1, "unexpected '*'", limited=False)


# -- expressions: depth and length ---------------------------------------------------------------
def test_10000_nested_parentheses(tmp_path):
    # 20,001 characters: today the length limit answers first ("expr.syntax: expression
    # longer than 20000 characters"); the issue wants the depth named.
    content = replace(MINIMAL, "depreciation: 0", "depreciation: " + "(" * 10_000 + "0" + ")" * 10_000)
    line, column = position(content, "(((")
    assert_problem(tmp_path, content, "expr.too-deep", line, column + 64, "brackets nested more than 64 deep")


def test_10000_opening_parentheses(tmp_path):
    content = replace(MINIMAL, "depreciation: 0", "depreciation: " + "(" * 10_000 + "0")
    line, column = position(content, "(((")
    assert_problem(tmp_path, content, "expr.too-deep", line, column + 64, "brackets nested more than 64 deep")


def test_10000_nested_brackets_of_a_list(tmp_path):
    content = MINIMAL + "eligibility:\n  r:\n    clause: C\n    message: m\n    when: claim.n in " + "[" * 10_000 + "\n"
    line, column = position(content, "[[[")
    assert_problem(tmp_path, content, "expr.too-deep", line, column + 64, "brackets nested more than 64 deep")


@pytest.mark.parametrize("expression", ["-" * 10_000 + "1", "not " * 4_000 + "true"], ids=["minus", "not"])
def test_10000_nested_operators_without_brackets(tmp_path, expression):
    content = MINIMAL + "eligibility:\n  r:\n    clause: C\n    message: m\n    when: claim.n > " + expression + "\n"
    if expression.startswith("not"):
        content = content.replace("claim.n > not", "not")
    assert_problem(tmp_path, content, "expr.too-deep", END + 4, fragment="nested too deep")


@pytest.mark.parametrize("operator", ["+", "and"])
def test_a_flat_chain_of_300_terms_is_an_ordinary_expression(tmp_path, operator):
    # 2,100 characters, no brackets: today the compiler nests 300 parentheses in the Python
    # source it generates, and compile() fails ("SyntaxError: too many nested parentheses",
    # a traceback from validate).  Chosen: such an expression loads.
    term = "claim.n" if operator == "+" else "claim.n > 0"
    chain = f" {operator} ".join([term] * 300)
    if operator == "+":
        content = replace(MINIMAL, "depreciation: 0", "depreciation: 0 * (" + chain + ")")
    else:
        content = MINIMAL + "eligibility:\n  r:\n    clause: C\n    message: m\n    when: " + chain + "\n"
    assert_valid(tmp_path, content)


def test_a_chain_of_150_definitions_is_an_ordinary_product(tmp_path):
    # d149 = d148 + 1 = ... = claim.n + 149: today RecursionError (a traceback from validate)
    definitions = "  d0: claim.n\n" + "".join(f"  d{i}: d{i - 1} + 1\n" for i in range(1, 150))
    content = replace(MINIMAL, "definitions:\n", "definitions:\n" + definitions)
    content = replace(content, "depreciation: 0", "depreciation: 0 * d149")
    assert_valid(tmp_path, content)


def test_a_chain_of_3000_definitions_is_refused(tmp_path):
    # Evaluating it would recurse 3,000 definitions deep: refused when the product loads.
    definitions = "  d0: claim.n\n" + "".join(f"  d{i}: d{i - 1} + 1\n" for i in range(1, 3000))
    content = replace(MINIMAL, "definitions:\n", "definitions:\n" + definitions)
    content = replace(content, "depreciation: 0", "depreciation: 0 * d2999")
    assert_problem(tmp_path, content, "expr.too-deep", single=False)


def test_10_mb_expression(tmp_path):
    expression = "gross" + " + gross" * 1_300_000
    content = replace(MINIMAL, "payout: gross - 10.00 EUR", "payout: " + expression)
    assert TEN_MB - 200_000 < len(content) <= TEN_MB
    assert_problem(tmp_path, content, "expr.syntax", SETTLEMENT_PAYOUT_LINE, 11,
                   "expression longer than 20000 characters")


# -- division by zero --------------------------------------------------------------------------
def test_constant_division_by_zero(tmp_path):
    content = replace(MINIMAL, "depreciation: 0", "depreciation: 1 / (2 - 2)")
    assert_problem(tmp_path, content, "expr.division-by-zero", *position(content, "1 / (2 - 2)"),
                   "division by zero", limited=False)


def test_constant_zero_divided_by_zero(tmp_path):
    # Today the message is "invalid arithmetic: [<class 'decimal.DivisionUndefined'>]".
    content = replace(MINIMAL, "depreciation: 0", "depreciation: 0 / (1 - 1)")
    assert_problem(tmp_path, content, "expr.division-by-zero", *position(content, "0 / (1 - 1)"),
                   "division by zero", limited=False)


def test_division_of_a_field_by_a_literal_zero(tmp_path):
    # The divisor is a constant 0: every claim would fail, so the product does not load.
    # Today: valid, and each claim gets "evaluation.error: the settlement: division by zero".
    content = replace(MINIMAL, "payout: gross - 10.00 EUR", "payout: gross / 0")
    assert_problem(tmp_path, content, "expr.division-by-zero", *position(content, "gross / 0"),
                   "division by zero", limited=False)


DIVIDING = """\
id: {id}
name: Dividing cover
version: "2024-01-01"
effective_from: 2024-01-01
currencies: [EUR]
fields:
  item.price: {{type: money}}
  claim.count: {{type: integer, min: 0}}
eligibility:
  too-many:
    clause: C
    message: Too many items.
    when: {when}
settlement:
  kind: repair
  payout: {payout}
  excess: 0.00 EUR
  depreciation: 0
"""


@pytest.fixture(scope="module")
def divided(tmp_path_factory) -> dict:
    """Claims of three products that divide by a claim field, evaluated in one run; results by claim id."""
    tmp_path = tmp_path_factory.mktemp("divided")
    directory = tmp_path / "products"
    directory.mkdir()
    (directory / "in-rule.yaml").write_text(DIVIDING.format(
        id="in-rule", when="100 / claim.count > 1000", payout="item.price"), encoding="utf-8")
    (directory / "in-settlement.yaml").write_text(DIVIDING.format(
        id="in-settlement", when="claim.count > 1000", payout="item.price / claim.count"), encoding="utf-8")
    (directory / "zero-by-zero.yaml").write_text(DIVIDING.format(
        id="zero-by-zero", when="claim.count > 1000", payout="(item.price - item.price) / claim.count"),
        encoding="utf-8")

    def claim(product, count, claim_id):
        return json.dumps({"product": product, "item": {"price": {"amount": "100.00", "currency": "EUR"}},
                           "claim": {"id": claim_id, "count": count}})

    claims = tmp_path / "claims.jsonl"
    claims.write_text("\n".join([
        claim("in-rule", 4, "RULE-4"), claim("in-rule", 0, "RULE-0"),
        claim("in-settlement", 4, "SETTLEMENT-4"), claim("in-settlement", 0, "SETTLEMENT-0"),
        claim("zero-by-zero", 0, "ZERO-0"), claim("in-settlement", 5, "SETTLEMENT-5"),
    ]) + "\n", encoding="utf-8")
    proc = run_limited("evaluate", "--products", str(directory), "--format", "jsonl", str(claims))
    assert proc.returncode == 1
    results = [json.loads(line) for line in proc.stdout.decode().split("\n")[:-1]]
    assert [r["claim_id"] for r in results] == ["RULE-4", "RULE-0", "SETTLEMENT-4", "SETTLEMENT-0", "ZERO-0",
                                                "SETTLEMENT-5"]
    return {r["claim_id"]: r for r in results}


def _at(message: str) -> str:
    """An evaluation error's message with the products' folder dropped from the position it names."""
    return re.sub(r"\(/\S*/products/", "(products/", message)


def test_computed_division_by_zero_is_an_error_object_naming_the_rule(divided):
    # the rule, the product file, and the line and column of the division in it
    assert divided["RULE-4"]["payout"] == {"amount": "100.00", "currency": "EUR"}
    error = divided["RULE-0"]["error"]
    assert (error["code"], _at(error["message"]), error["path"]) == (
        "evaluation.error", "rule too-many (products/in-rule.yaml:13:11): division by zero", None)


def test_computed_division_by_zero_in_the_settlement(divided):
    assert divided["SETTLEMENT-4"]["payout"] == {"amount": "25.00", "currency": "EUR"}
    error = divided["SETTLEMENT-0"]["error"]
    assert (error["code"], _at(error["message"]), error["path"]) == (
        "evaluation.error", "the settlement's payout (products/in-settlement.yaml:16:11): division by zero", None)
    assert divided["SETTLEMENT-5"]["payout"] == {"amount": "20.00", "currency": "EUR"}


def test_computed_zero_divided_by_zero(divided):
    # Once: "the settlement: invalid arithmetic (InvalidOperation)".
    error = divided["ZERO-0"]["error"]
    assert _at(error["message"]) == "the settlement's payout (products/zero-by-zero.yaml:16:11): division by zero"


# -- YAML tags that would build Python objects -------------------------------------------------------
def test_python_object_apply_tag_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "PWNED"
    content = MINIMAL + f"evil: !!python/object/apply:os.system ['touch {marker}']\n"
    assert_problem(tmp_path, content, "yaml.tag", END, 7, "python/object/apply:os.system", limited=False)
    assert not marker.exists()


@pytest.mark.parametrize("value, fragment", [
    ("!!python/name:os.system", "python/name:os.system"),
    ("!!python/object:collections.OrderedDict {a: 1}", "python/object:collections.OrderedDict"),
    ("!!python/object/new:subprocess.Popen [[touch, x]]", "python/object/new:subprocess.Popen"),
    ("!!python/module:os", "python/module:os"),
    ("!<tag:yaml.org,2002:python/object/apply:os.system> [true]", "python/object/apply:os.system"),
    ("!foo bar", "'!foo'"),
    ("!foo [1, 2]", "'!foo'"),
    ("!!set {a, b}", "tag:yaml.org,2002:set"),
    ("!!binary aGVsbG8=", "tag:yaml.org,2002:binary"),
], ids=["name", "object", "object-new", "module", "verbatim", "custom", "custom-sequence", "set", "binary"])
def test_object_building_tags_are_refused(tmp_path, value, fragment):
    assert_problem(tmp_path, MINIMAL + f"evil: {value}\n", "yaml.tag", END, 7, fragment, limited=False)


def test_python_tag_through_a_tag_directive(tmp_path):
    content = "%TAG !p! tag:yaml.org,2002:python/\n---\n" + MINIMAL + "evil: !p!object/apply:os.system [true]\n"
    assert_problem(tmp_path, content, "yaml.tag", END + 2, 7, "python/object/apply:os.system", limited=False)


def test_python_tag_on_the_document(tmp_path):
    content = "--- !!python/object:argparse.Namespace\n" + MINIMAL
    assert_problem(tmp_path, content, "yaml.tag", 1, 5, "python/object:argparse.Namespace", limited=False)


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system", "!foo"], ids=["python", "custom"])
def test_tag_on_a_key_is_refused(tmp_path, tag):
    # Today a tag on a mapping key is ignored and the product validates.
    content = replace(MINIMAL, "  item.price: {type: money}", f"  {tag} item.price: {{type: money}}")
    assert_problem(tmp_path, content, "yaml.tag", 7, 3, tag.lstrip("!"), limited=False)


# -- shapes: keys, documents, emptiness ------------------------------------------------------------
@pytest.mark.parametrize("entry, column", [("[a, b]: 1\n", 1), ("{a: 1}: 1\n", 1), ("? [a, b]\n: 1\n", 3)],
                         ids=["list", "mapping", "complex"])
def test_key_that_is_not_a_plain_value(tmp_path, entry, column):
    assert_problem(tmp_path, MINIMAL + entry, "yaml.syntax", END, column,
                   "a key must be a plain value, not a list or mapping", limited=False)


@pytest.mark.parametrize("content, kind", [
    ("- id: gadget\n- name: Gadget cover\n", "list"),
    ("just text\n", ""),
    ("", "empty"),
    ("# a comment\n# and another\n", "empty"),
    ("---\n...\n", "empty"),
], ids=["list", "scalar", "empty-file", "only-comments", "empty-document"])
def test_document_that_is_not_a_mapping(tmp_path, content, kind):
    assert_problem(tmp_path, content, "schema.type", 1, 1, "a product file must be a mapping of keys "
                   f"(id, name, version, ...), not {kind}", limited=False)


def test_two_documents_in_one_file(tmp_path):
    assert_problem(tmp_path, MINIMAL + "---\nid: other\n", "yaml.syntax", END, 1, "expected a single document",
                   limited=False)
