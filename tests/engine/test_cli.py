"""The `policyconf` command line (contract §1): formats, batches, stdin, exit statuses, diagnostics.

Most tests call `engine.cli.main` in-process with string streams; two run the installed script.
The products are the engine's fixtures (tests/fixtures/products, frozen copies of the seed
products); where a command's default `products/` is tested, it runs in tests/fixtures.
"""
from __future__ import annotations

import io
import json
import pathlib
import re
import subprocess
import sys
from decimal import Decimal

import pytest

from conftest import EXAMPLES, FIXTURES, PRODUCTS, money
from policyconf.engine.claim_reader import parse_json
from policyconf.engine.cli import main

SCRIPT = pathlib.Path(sys.executable).parent / "policyconf"


def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, stdin=io.StringIO(stdin))
    return code, out.getvalue(), err.getvalue()


def evaluate(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    return run("evaluate", "--products", str(PRODUCTS), *argv, stdin=stdin)


def json_lines(out: str) -> list[dict]:
    """stdout of --format jsonl: every line one JSON object, nothing else."""
    assert out.endswith("\n")
    lines = out.split("\n")[:-1]
    return [json.loads(line) for line in lines]


def example(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def one_line(claim) -> str:
    return json.dumps(claim, ensure_ascii=False)


@pytest.fixture
def good():
    return example("ad-approved-repair")


@pytest.fixture
def batch(tmp_path, good):
    """good, invalid JSON, not an object, unknown field, good."""
    bad = json.loads(json.dumps(good))
    bad["claim"]["id"] = "BAD"
    bad["claim"]["repair_cots"] = bad["claim"].pop("repair_cost")
    second = json.loads(json.dumps(good))
    second["claim"]["id"] = "GOOD-2"
    second["claim"]["repair_cost"]["amount"] = "289.00"
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join([one_line(good), '{"product": "accidental-damage", "policy": ', "[1,2]",
                               one_line(bad), one_line(second)]) + "\n", encoding="utf-8")
    return path


def check_batch_output(lines: list[dict], path) -> None:
    assert len(lines) == 5
    assert [line["claim_id"] for line in lines] == ["AD-REPAIR", None, None, "BAD", "GOOD-2"]
    first, unreadable, not_object, unknown, second = lines
    assert first["outcome"] == "approved" and first["payout"] == money("139.00")
    assert second["outcome"] == "approved" and second["payout"] == money("239.00")
    assert set(unreadable) == {"claim_id", "error"}
    assert unreadable["error"]["code"] == "claim.unreadable"
    assert unreadable["error"]["path"] is None
    assert unreadable["error"]["message"].startswith(f"{path}:2:")
    assert not_object["error"]["code"] == "claim.not-an-object"
    assert not_object["error"]["path"] is None
    assert not_object["error"]["message"].startswith(f"{path}:3:")
    assert unknown["error"]["code"] == "claim.unknown-field"
    assert unknown["error"]["path"] == "claim.repair_cots"
    assert "claim.repair_cost" in unknown["error"]["message"]


# -- evaluate: files and formats -----------------------------------------------------------
def test_evaluate_json_file_format_json_gives_one_object():
    code, out, err = evaluate("--format", "json", str(EXAMPLES / "ad-approved-repair.json"))
    assert code == 0, err
    document = json.loads(out)
    assert isinstance(document, dict)
    assert document["claim_id"] == "AD-REPAIR"
    assert document["outcome"] == "approved" and document["settlement"] == "repair"
    assert document["payout"] == money("139.00") and document["excess"] == money("50.00")
    assert document["product_version"] == "2024-01-01"
    assert err == ""


def test_evaluate_without_format_off_a_terminal_writes_jsonl():
    code, out, err = evaluate(str(EXAMPLES / "ad-declined.json"))
    assert code == 0
    [decision] = json_lines(out)
    assert decision["claim_id"] == "AD-DECLINED" and decision["outcome"] == "declined"


def test_evaluate_json_format_of_several_claims_is_a_list():
    code, out, _ = evaluate("--format", "json", str(EXAMPLES / "ad-approved-repair.json"),
                            str(EXAMPLES / "ad-declined.json"))
    assert code == 0
    document = json.loads(out)
    assert [d["claim_id"] for d in document] == ["AD-REPAIR", "AD-DECLINED"]


def test_evaluate_several_files_in_order_jsonl():
    names = ["ad-declined", "sp-approved-repair", "bmw-approved-new", "ad-pending"]
    code, out, _ = evaluate("--format", "jsonl", *(str(EXAMPLES / f"{n}.json") for n in names))
    assert code == 0
    assert [d["outcome"] for d in json_lines(out)] == ["declined", "approved", "approved", "pending"]


def test_evaluate_json_file_holding_a_list_of_claims(tmp_path, good):
    other = json.loads(json.dumps(good))
    other["claim"]["id"] = "SECOND"
    path = tmp_path / "two.json"
    path.write_text(json.dumps([good, other]), encoding="utf-8")
    code, out, _ = evaluate("--format", "jsonl", str(path))
    assert code == 0
    assert [d["claim_id"] for d in json_lines(out)] == ["AD-REPAIR", "SECOND"]


YAML_CLAIM = """\
# a claim written by hand: plain dates, a number with a fraction, NO/yes are not booleans here
product: accidental-damage
policy:
  purchased: 2025-01-10
  start: 2025-01-10
  end: 2027-01-09
  holder: {age: 34, residence: RO}
item:
  kind: mobile_phone
  purchased: 2025-01-08
  price: {amount: 899.00, currency: EUR}
  purchased_in: RO
claim:
  id: YAML-1
  event: drop
  occurred: 2025-06-01
  reported: 2025-06-03
  repairable: true
  repair_cost: {amount: 189.10, currency: EUR}
  documents: [photo, proof_of_purchase]
"""


def test_evaluate_yaml_claim_file(tmp_path):
    path = tmp_path / "claim.yaml"
    path.write_text(YAML_CLAIM, encoding="utf-8")
    code, out, err = evaluate("--format", "json", str(path))
    assert code == 0, err
    decision = json.loads(out)
    assert decision["claim_id"] == "YAML-1"
    assert decision["outcome"] == "approved"
    assert decision["payout"] == money("139.10")


def test_evaluate_yaml_claim_norway_stays_a_country(tmp_path):
    path = tmp_path / "claim.yml"
    path.write_text(YAML_CLAIM.replace("residence: RO", "residence: NO"), encoding="utf-8")
    code, out, _ = evaluate("--format", "json", str(path))
    assert code == 0
    decision = json.loads(out)
    assert decision["outcome"] == "declined"
    assert "residence" in [r["code"] for r in decision["reasons"]]


def test_evaluate_yaml_claim_with_a_syntax_error(tmp_path):
    path = tmp_path / "claim.yaml"
    path.write_text("product: accidental-damage\npolicy: {purchased: [\n", encoding="utf-8")
    code, out, _ = evaluate("--format", "json", str(path))
    assert code == 1
    result = json.loads(out)
    assert result["error"]["code"] == "claim.unreadable"
    assert result["error"]["message"].startswith(f"{path}:")


def test_jsonl_batch_one_line_per_input_line_in_order(batch):
    code, out, err = evaluate("--format", "jsonl", str(batch))
    assert code == 1
    check_batch_output(json_lines(out), batch)
    assert "3 claims rejected" in err


def test_jsonl_batch_in_json_format_is_a_list(batch):
    code, out, _ = evaluate("--format", "json", str(batch))
    assert code == 1
    document = json.loads(out)
    assert isinstance(document, list)
    check_batch_output(document, batch)


@pytest.mark.parametrize("line", ['{"product": tru}', '{"product": "accidental-damage", "policy": '],
                         ids=["bad-token", "truncated"])
def test_jsonl_unreadable_line_is_located_file_line_col(tmp_path, good, line):
    path = tmp_path / "b.jsonl"
    path.write_text(one_line(good) + "\n" + line + "\n" + one_line(good) + "\n", encoding="utf-8")
    code, out, _ = evaluate("--format", "jsonl", str(path))
    assert code == 1
    first, bad, last = json_lines(out)
    assert first["outcome"] == last["outcome"] == "approved"
    # FILE:LINE:COL: message (the compiler convention), LINE being the line of the .jsonl file
    assert re.match(rf"{re.escape(str(path))}:2:[0-9]+: invalid JSON", bad["error"]["message"]), \
        bad["error"]["message"]


def test_jsonl_only_invalid_claims(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('"text"\n42\n', encoding="utf-8")
    code, out, _ = evaluate("--format", "jsonl", str(path))
    assert code == 1
    assert [d["error"]["code"] for d in json_lines(out)] == ["claim.not-an-object"] * 2


# -- stdin -------------------------------------------------------------------------------
def test_stdin_json_claim(good):
    code, out, _ = evaluate("--format", "json", "-", stdin=json.dumps(good, indent=2))
    assert code == 0
    decision = json.loads(out)
    assert isinstance(decision, dict) and decision["claim_id"] == "AD-REPAIR"
    assert decision["outcome"] == "approved"


def test_stdin_jsonl_claims(good):
    declined = example("ad-declined")
    code, out, _ = evaluate("--format", "jsonl", "-", stdin=one_line(good) + "\n" + one_line(declined) + "\n")
    assert code == 0
    assert [(d["claim_id"], d["outcome"]) for d in json_lines(out)] == [("AD-REPAIR", "approved"),
                                                                        ("AD-DECLINED", "declined")]


def test_stdin_jsonl_with_bad_lines_still_decides_the_good_ones(good):
    # contract §1/§3: one object per input claim, in order; one bad claim never stops the others
    text = "\n".join([one_line(good), "[1,2]", '{"product": ', one_line(good)]) + "\n"
    code, out, _ = evaluate("--format", "jsonl", "-", stdin=text)
    assert code == 1
    lines = json_lines(out)
    assert len(lines) == 4, lines
    assert lines[0]["outcome"] == lines[3]["outcome"] == "approved"
    assert lines[1]["error"]["code"] == "claim.not-an-object"
    assert lines[2]["error"]["code"] == "claim.unreadable"


def test_stdin_yaml_claim():
    code, out, _ = evaluate("--format", "json", "-", stdin=YAML_CLAIM)
    assert code == 0
    assert json.loads(out)["payout"] == money("139.10")


# -- exact numbers, strict JSON -----------------------------------------------------------
def test_parse_json_keeps_fractions_exact():
    value = parse_json('{"a": 189.10, "b": 189, "c": 0.1}')
    assert value == {"a": Decimal("189.10"), "b": 189, "c": Decimal("0.1")}
    assert type(value["a"]) is Decimal and str(value["a"]) == "189.10"
    assert type(value["b"]) is int


def test_json_number_amounts_are_exact(tmp_path, good):
    good["claim"]["repair_cost"] = {"amount": "REPAIR", "currency": "EUR"}
    text = json.dumps(good).replace('"REPAIR"', "189.10")
    path = tmp_path / "number.json"
    path.write_text(text, encoding="utf-8")
    code, out, _ = evaluate("--format", "jsonl", str(path))
    assert code == 0
    assert '"payout":{"amount":"139.10","currency":"EUR"}' in out      # amounts are strings, never floats
    assert json_lines(out)[0]["payout"] == money("139.10")


def test_json_number_too_precise_for_a_float_stays_exact(tmp_path, good):
    # 99999999999999.99 as a float is 99999999999999.98
    good["item"]["price"] = {"amount": "PRICE", "currency": "EUR"}
    good["claim"]["repairable"] = False
    del good["claim"]["repair_cost"]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(good).replace('"PRICE"', "99999999999999.99"), encoding="utf-8")
    code, out, _ = evaluate("--format", "json", str(path))
    assert code == 0
    decision = json.loads(out)
    assert decision["settlement"] == "replacement"
    assert decision["payout"] == money("99999999999949.99")


def test_json_number_with_too_many_decimals_is_rejected(tmp_path, good):
    good["claim"]["repair_cost"] = {"amount": "REPAIR", "currency": "EUR"}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(good).replace('"REPAIR"', "189.105"), encoding="utf-8")
    code, out, _ = evaluate("--format", "json", str(path))
    assert code == 1
    assert json.loads(out)["error"]["code"] == "claim.amount"
    assert json.loads(out)["error"]["path"] == "claim.repair_cost"


@pytest.mark.parametrize("text", [
    '{"product": "accidental-damage", "product": "screen-protection"}',
    '{"product": "accidental-damage", "claim": {"id": "X", "event": "drop", "event": "fire"}}',
], ids=["top-level", "nested"])
def test_duplicate_keys_make_the_claim_unreadable(tmp_path, text):
    path = tmp_path / "dup.json"
    path.write_text(text, encoding="utf-8")
    code, out, _ = evaluate("--format", "json", str(path))
    assert code == 1
    result = json.loads(out)
    assert set(result) == {"claim_id", "error"}
    assert result["error"]["code"] == "claim.unreadable"
    assert result["error"]["path"] is None
    assert "duplicate key" in result["error"]["message"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_in_json_makes_the_claim_unreadable(tmp_path, good, constant):
    good["claim"]["repair_cost"] = {"amount": "REPAIR", "currency": "EUR"}
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(good).replace('"REPAIR"', constant), encoding="utf-8")
    code, out, _ = evaluate("--format", "json", str(path))
    assert code == 1
    result = json.loads(out)
    assert result["error"]["code"] == "claim.unreadable"
    assert constant.lstrip("-") in result["error"]["message"]


def test_nan_in_a_jsonl_line(tmp_path, good):
    path = tmp_path / "nan.jsonl"
    path.write_text(one_line(good) + '\n{"product": NaN}\n', encoding="utf-8")
    code, out, _ = evaluate("--format", "jsonl", str(path))
    assert code == 1
    first, bad = json_lines(out)
    assert first["outcome"] == "approved"
    assert bad["error"]["code"] == "claim.unreadable"
    assert bad["error"]["message"].startswith(f"{path}:2")


def test_invalid_json_file_is_located(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "product": "accidental-damage",\n  "policy": }\n', encoding="utf-8")
    code, out, _ = evaluate("--format", "json", str(path))
    assert code == 1
    result = json.loads(out)
    assert result["error"]["code"] == "claim.unreadable"
    assert result["error"]["message"].startswith(f"{path}:3:")


# -- usage and I/O errors -------------------------------------------------------------------
def test_missing_claim_file(tmp_path):
    missing = tmp_path / "nope.json"
    code, out, err = evaluate("--format", "jsonl", str(missing))
    assert code == 2
    assert out == ""
    assert str(missing) in err


def test_missing_jsonl_file(tmp_path):
    missing = tmp_path / "nope.jsonl"
    code, out, err = evaluate(str(missing))
    assert code == 2
    assert out == "" and str(missing) in err


def test_claim_file_of_unknown_kind(tmp_path, good):
    path = tmp_path / "claim.txt"
    path.write_text(json.dumps(good), encoding="utf-8")
    code, out, err = evaluate(str(path))
    assert code == 2 and out == "" and str(path) in err


def test_evaluate_without_claims_is_a_usage_error():
    code, out, err = evaluate()
    assert code == 2 and out == "" and err


def test_unknown_option_is_a_usage_error():
    code, _, _ = run("evaluate", "--frmat", "json", str(EXAMPLES / "ad-declined.json"))
    assert code == 2


def test_products_that_fail_to_load(tmp_path):
    broken = tmp_path / "products"
    broken.mkdir()
    (broken / "accidental-damage.yaml").write_text(broken_product_text(), encoding="utf-8")
    code, out, err = run("evaluate", "--products", str(broken), "--format", "jsonl",
                         str(EXAMPLES / "ad-declined.json"))
    assert code == 2
    assert out == ""
    assert f"{broken / 'accidental-damage.yaml'}:{typo_line()}:1: error: schema.unknown-key" in err


def test_products_directory_that_does_not_exist(tmp_path):
    code, out, err = run("evaluate", "--products", str(tmp_path / "none"), str(EXAMPLES / "ad-declined.json"))
    assert code == 2 and out == "" and err


# -- text format ---------------------------------------------------------------------------
def test_text_format_of_an_approved_claim():
    code, out, _ = evaluate("--format", "text", str(EXAMPLES / "ad-approved-replacement-negligence.json"))
    assert code == 0
    assert "AD-REPLACE-NEGLIGENCE" in out
    assert "APPROVED" in out
    assert "replacement" in out
    assert "751.28 EUR" in out
    assert "gross-negligence (J.7)" in out


def test_text_format_of_a_declined_claim():
    code, out, _ = evaluate("--format", "text", str(EXAMPLES / "ad-declined.json"))
    assert code == 0
    assert "DECLINED" in out
    for reason in ("holder-underage (C)", "event-not-covered (B.2)", "commercial-use (G.1)"):
        assert reason in out


def test_text_format_of_an_invalid_claim(tmp_path, good):
    good["claim"]["repair_cots"] = good["claim"].pop("repair_cost")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(good), encoding="utf-8")
    code, out, err = evaluate("--format", "text", str(path))
    assert code == 1
    assert "claim.unknown-field" in out and "claim.repair_cots" in out
    assert "rejected" in err


# -- validate ------------------------------------------------------------------------------
def broken_product_text() -> str:
    text = (PRODUCTS / "accidental-damage.yaml").read_text(encoding="utf-8")
    assert text.count("\neligibility:\n") == 1
    return text.replace("\neligibility:\n", "\neligibilty:\n")


def typo_line() -> int:
    return broken_product_text().splitlines().index("eligibilty:") + 1


@pytest.fixture
def broken_dir(tmp_path):
    directory = tmp_path / "products"
    directory.mkdir()
    (directory / "accidental-damage.yaml").write_text(broken_product_text(), encoding="utf-8")
    return directory


def test_validate_the_fixture_products():
    code, out, err = run("validate", str(PRODUCTS))
    assert code == 0, out
    assert out.startswith("ok:")
    assert "3 products" in out
    assert "error" not in out and err == ""


def test_validate_defaults_to_products(monkeypatch):
    monkeypatch.chdir(FIXTURES)
    code, out, _ = run("validate")
    assert code == 0
    assert out.startswith("ok:")


def test_validate_the_fixture_products_json_and_github():
    code, out, _ = run("validate", "--format", "json", str(PRODUCTS))
    assert code == 0
    document = json.loads(out)
    assert document["valid"] is True
    assert document["products"] == ["accidental-damage", "bmw-total-loss", "screen-protection"]
    assert [p for p in document["problems"] if p["severity"] == "error"] == []
    code, out, _ = run("validate", "--format", "github", str(PRODUCTS))
    assert code == 0
    assert "::error" not in out


def test_validate_broken_product_text(broken_dir):
    file = broken_dir / "accidental-damage.yaml"
    code, out, _ = run("validate", str(broken_dir))
    assert code == 1
    lines = out.splitlines()
    head = f"{file}:{typo_line()}:1: error: schema.unknown-key: "
    [index] = [i for i, line in enumerate(lines) if line.startswith(head)]
    assert "eligibilty" in lines[index] and "did you mean 'eligibility'" in lines[index]
    assert lines[index + 1].strip() == "eligibilty:"
    source, caret = lines[index + 1], lines[index + 2]
    assert caret.strip() == "^"
    assert caret.index("^") == source.index("eligibilty")          # the caret stands under column 1


def test_validate_broken_product_json(broken_dir):
    file = broken_dir / "accidental-damage.yaml"
    code, out, _ = run("validate", "--format", "json", str(broken_dir))
    assert code == 1
    document = json.loads(out)
    assert document["valid"] is False
    assert {"file": str(file), "line": typo_line(), "column": 1, "severity": "error",
            "code": "schema.unknown-key"}.items() <= document["problems"][0].items()
    assert "eligibilty" in document["problems"][0]["message"]


def test_validate_broken_product_github(broken_dir):
    file = broken_dir / "accidental-damage.yaml"
    code, out, _ = run("validate", "--format", "github", str(broken_dir))
    assert code == 1
    annotations = [line for line in out.splitlines() if line.startswith("::error ")]
    assert annotations, out
    pattern = rf"::error file={re.escape(str(file))},line={typo_line()},col=1(,[^:]*)?::.*schema\.unknown-key"
    assert any(re.match(pattern, line) for line in annotations), annotations
    assert all(line.startswith("::") for line in out.splitlines())


def test_validate_nonexistent_path(tmp_path):
    code, out, err = run("validate", str(tmp_path / "none"))
    assert code == 2
    assert str(tmp_path / "none") in err


def test_validate_directory_without_products(tmp_path):
    code, out, _ = run("validate", str(tmp_path))
    assert code == 1
    assert "product.none" in out


# -- the installed script -------------------------------------------------------------------
def test_script_evaluates_a_jsonl_batch(batch):
    proc = subprocess.run([str(SCRIPT), "evaluate", str(batch)], cwd=FIXTURES, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1, proc.stderr
    check_batch_output(json_lines(proc.stdout), batch)      # a pipe: jsonl by default, JSON only on stdout
    assert "rejected" in proc.stderr


def test_script_validates(broken_dir):
    proc = subprocess.run([str(SCRIPT), "validate", "products", str(broken_dir)], cwd=FIXTURES, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1
    assert f"{broken_dir / 'accidental-damage.yaml'}:{typo_line()}:1: error: schema.unknown-key" in proc.stdout
    proc = subprocess.run([str(SCRIPT), "validate"], cwd=FIXTURES, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("ok:")
