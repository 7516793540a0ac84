"""`policyconf impact`: a claims book replayed under a baseline and a candidate, on copies of the
fixture products. The null diff first: the same products on both sides change nothing."""
from __future__ import annotations

import importlib.util
import io
import json
import pathlib
import shutil

import pytest

from policyconf.engine import impact as book_impact
from policyconf.engine.cli import main
from policyconf.engine.sources import read_source

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "products"
PRODUCTS = ("accidental-damage", "screen-protection", "bmw-total-loss")


def _make_book():
    spec = importlib.util.spec_from_file_location("make_book", ROOT / "benchmarks" / "make_book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_book = _make_book()


@pytest.fixture(scope="module")
def book_file(tmp_path_factory) -> pathlib.Path:
    """About 2,000 claims of the fixture products (and a few invalid ones), as JSON lines."""
    path = tmp_path_factory.mktemp("book") / "claims.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for document in make_book.claims(3000, seed=5):
            if document["product"].replace("_", "-") in PRODUCTS:
                out.write(json.dumps(document) + "\n")
        out.write("{not json\n")
    return path


def _products(tmp_path: pathlib.Path, name: str, edits=()) -> pathlib.Path:
    folder = tmp_path / name
    shutil.copytree(FIXTURES, folder, ignore=shutil.ignore_patterns("*.tests.yaml"))
    for file, old, new in edits:
        text = (folder / file).read_text(encoding="utf-8")
        assert old in text, old
        (folder / file).write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


EXCESS = ("accidental-damage.yaml", "    default: 50.00 EUR", "    default: 60.00 EUR")
LATE = ("accidental-damage.yaml", "days_between(item.purchased, policy.purchased) > 6",
        "days_between(item.purchased, policy.purchased) > 3")


def _replay(baseline, candidate, books, **options):
    return book_impact.replay(read_source(str(baseline)).book(), read_source(str(candidate)).book(),
                              [str(b) for b in books], **options)


def test_no_reform_zero_change(tmp_path, book_file, capsys):
    products = _products(tmp_path, "products")
    copy = _products(tmp_path, "copy")
    impact = _replay(products, copy, [book_file], decide_unchanged=True)      # every claim decided twice
    assert impact.claims > 1500 and impact.changed == 0 and impact.decided_once == []
    assert all(before == after for before, after in impact.matrix)
    assert all(row["delta"] == "0.00" and row["changed"] == 0 for row in impact.totals())
    assert impact.top() == [] and impact.count("any") == 0
    assert impact.errors["baseline"] == impact.errors["candidate"] and impact.errors["baseline"]["claim.unreadable"] == 1

    assert main(["impact", "--baseline", str(products), "--candidate", str(copy), str(book_file),
                 "--fail-on", "any", "--decide-unchanged"]) == 0
    out = capsys.readouterr().out
    assert f"{impact.claims:,} claims, 0 changed" in out
    assert "the same product files on both sides: no change, as it must be" in out
    assert "decided once" not in out


def test_a_product_the_same_on_both_sides_is_decided_once_and_reports_alike(tmp_path, book_file):
    baseline = _products(tmp_path, "baseline")
    candidate = _products(tmp_path, "candidate", [EXCESS])
    once = _replay(baseline, candidate, [book_file]).to_dict()
    twice = _replay(baseline, candidate, [book_file], decide_unchanged=True).to_dict()
    # screen-protection extends accidental-damage: its base changed, so it is decided twice
    assert once.pop("decided_once") == ["bmw-total-loss"] and twice.pop("decided_once") == []
    assert once == twice


def test_a_changed_excess_and_rule(tmp_path, book_file):
    baseline = _products(tmp_path, "baseline")
    candidate = _products(tmp_path, "candidate", [EXCESS, LATE])
    impact = _replay(baseline, candidate, [book_file], top=5)
    assert impact.changed > 100
    assert impact.matrix[("approved", "declined")] > 0          # late enrolment: 4 to 6 days now declines
    assert impact.matrix[("declined", "approved")] == 0
    assert impact.count("approved->declined") == impact.matrix[("approved", "declined")]
    assert impact.count("*->declined") >= impact.count("approved->declined")
    assert impact.count("payout-up") == 0 and impact.count("payout-down") > 0
    eur, = [row for row in impact.totals() if row["currency"] == "EUR"]
    assert float(eur["delta"]) < 0 and eur["changed"] > 0

    causes = {row["value"]: row for row in impact.segments("cause")}
    excess = causes["excess_by_country default: 50.00 EUR → 60.00 EUR"]
    assert excess["changed"] == excess["claims"] > 0 and excess["delta"].startswith("-")
    assert causes["late-enrolment: applies now"]["changed"] > 0
    bands = {row["value"] for row in impact.segments("band")}
    assert "excess_by_country: default" in bands and any(b.startswith("depreciation_by_age: ") for b in bands)
    # screen-protection overrides the default excess, and bmw-total-loss has none: neither changes
    products = {row["value"]: row for row in impact.segments("product") if row["currency"] in ("EUR", "CNY")}
    assert products["bmw-total-loss"]["changed"] == 0
    assert products["accidental-damage"]["changed"] > 0

    top = impact.top()
    assert len(top) == 5
    first = top[0]
    assert first["before"]["outcome"] == "approved" and first["after"]["outcome"] == "declined"
    assert "late-enrolment: applies now" in first["causes"]
    assert [r["code"] for r in first["after"]["reasons"]] == ["late-enrolment"]
    assert first["where"].startswith(str(book_file) + ":") and first["claim_id"]
    deltas = [abs(float(entry["delta"]["amount"])) for entry in top]
    assert deltas == sorted(deltas, reverse=True)                 # all outcome changes: largest delta first


def test_two_workers_report_what_one_does(tmp_path, book_file):
    baseline = _products(tmp_path, "baseline")
    candidate = _products(tmp_path, "candidate", [EXCESS, LATE])
    one = _replay(baseline, candidate, [book_file], jobs=1).to_dict()
    two = _replay(baseline, candidate, [book_file], jobs=2).to_dict()
    assert one == two


def test_input_errors_on_either_side(tmp_path, book_file):
    baseline = _products(tmp_path, "baseline")
    candidate = _products(tmp_path, "candidate", [
        ("accidental-damage.yaml", "  claim.other_insurance: {type: bool, default: false}",
         "  claim.other_insurance: {type: bool, default: false}\n  claim.colour: {type: code, values: [black, white]}")])
    impact = _replay(baseline, candidate, [book_file])
    now_invalid = impact.count("errors")
    assert now_invalid > 0 and impact.errors["candidate"]["claim.missing-field"] == now_invalid
    assert impact.count("*->invalid") == now_invalid
    example = next(x for _, x in impact.examples["candidate"] if x["code"] == "claim.missing-field")
    assert example["path"] == "claim.colour"
    entry = next(e for e in impact.top() if e["after"]["outcome"] == "invalid")
    assert entry["causes"] == ["input error claim.missing-field now (claim.colour)"]


def test_the_command_line_json_html_and_fail_on(tmp_path, book_file, capsys):
    baseline = _products(tmp_path, "baseline")
    candidate = _products(tmp_path, "candidate", [EXCESS, LATE])
    page = tmp_path / "impact.html"
    status = main(["impact", "--baseline", str(baseline), "--candidate", str(candidate), str(book_file),
                   "--format", "json", "--top", "3", "--html", str(page), "--fail-on", "declined->approved"])
    assert status == 0                                             # nothing moved that way
    document = json.loads(capsys.readouterr().out)
    assert document["identical_products"] is False
    assert document["changed"] > 0 and len(document["top"]) == 3
    assert any(row["from"] == "approved" and row["to"] == "declined" for row in document["matrix"])
    assert set(document["segments"]) == {"product", "event", "country", "band", "cause"}
    assert document["errors"]["candidate"]["by_code"]["claim.unreadable"] == 1
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")

    assert main(["impact", "--baseline", str(baseline), "--candidate", str(candidate), str(book_file),
                 "--fail-on", "approved->declined"]) == 1
    captured = capsys.readouterr()
    assert "policyconf: --fail-on approved->declined:" in captured.err
    assert "approved → declined" in captured.out and "claims that changed most" in captured.out
    assert main(["impact", "--baseline", str(baseline), "--candidate", str(candidate), str(book_file),
                 "--fail-on", "approved->sideways"]) == 2
    assert "unknown change kind" in capsys.readouterr().err
    assert main(["impact", "--baseline", str(baseline), "--candidate", str(candidate),
                 str(tmp_path / "missing.jsonl")]) == 2


def test_a_parquet_book_reports_what_its_jsonl_does(tmp_path, book_file):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    lines = book_file.read_text(encoding="utf-8").splitlines()
    parquet = tmp_path / "claims.parquet"
    pq.write_table(pa.table({"claim": pa.array(lines, pa.string())}), parquet, row_group_size=700)
    baseline = _products(tmp_path, "baseline")
    candidate = _products(tmp_path, "candidate", [EXCESS, LATE])
    from_lines = _replay(baseline, candidate, [book_file])
    from_parquet = _replay(baseline, candidate, [parquet], jobs=2)
    assert from_parquet.claims == from_lines.claims
    parquet_report, lines_report = from_parquet.to_dict(), from_lines.to_dict()
    for key in ("matrix", "by_product", "totals", "segments", "changed"):
        assert parquet_report[key] == lines_report[key], key
    for side in ("baseline", "candidate"):                # the same errors, named by row rather than line
        assert parquet_report["errors"][side]["by_code"] == lines_report["errors"][side]["by_code"]
    assert [e["claim_id"] for e in from_parquet.top()] == [e["claim_id"] for e in from_lines.top()]
    assert from_parquet.top()[0]["where"].startswith(f"{parquet}:row ")


def test_memory_is_flat_what_is_kept_does_not_grow_with_the_book(tmp_path):
    baseline = read_source(str(_products(tmp_path, "baseline"))).book()
    candidate = read_source(str(_products(tmp_path, "candidate", [EXCESS]))).book()
    claims = [(f"c:{n}", d) for n, d in enumerate(make_book.claims(4000, seed=9)) if d["product"] in PRODUCTS]
    small = book_impact.replay_claims(baseline, candidate, claims[:500], top=7)
    large = book_impact.replay_claims(baseline, candidate, claims * 3, top=7)
    assert len(large.top()) == 7 and large.claims == 3 * len(claims)
    assert len(large.groups) < 2 * max(len(small.groups), 200)      # segments, not claims
    assert len(large.examples["baseline"]) <= book_impact.EXAMPLES


class _Terminal:
    """A stand-in for stderr on a terminal, where the progress bar shows."""

    def __init__(self):
        self.text = ""

    def isatty(self):
        return True

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def test_a_progress_bar_on_a_terminal_and_none_in_a_pipe(tmp_path, book_file, capsys):
    baseline = _products(tmp_path, "baseline")
    terminal = _Terminal()
    out = io.StringIO()
    assert main(["impact", "--baseline", str(baseline), "--candidate", str(baseline), str(book_file)],
                stdout=out, stderr=terminal) == 0
    assert "claims" in terminal.text and "%" in terminal.text and "ETA" in terminal.text
    assert "claims" not in capsys.readouterr().err
