"""`policyconf diff`: each kind of change, on small copies of the fixture products, and a folder
against a git revision read without touching the work tree."""
from __future__ import annotations

import json
import pathlib
import shutil
import subprocess

import pytest

from policyconf.engine import diff as product_diff
from policyconf.engine.cli import main
from policyconf.engine.sources import SourceError, read_source, split_revision

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "products"

TRIP = """\
id: trip
name: Trip cover
version: "2025-01-01"
effective_from: 2025-01-01
currencies: [GBP]
fields:
  policy.purchased: {type: date}
  claim.sections: {type: list, values: [cancel, delay], min_items: 1, unique: true}
  claim.cancel: {type: object, present_when: '"cancel" in claim.sections'}
  claim.cancel.costs: {type: money}
  claim.delay: {type: object, present_when: '"delay" in claim.sections'}
  claim.delay.hours: {type: integer, min: 0}
benefits:
  claimed: claim.sections
  sections:
    cancel:
      settlement:
        steps:
          - amount: claim.cancel.costs
          - limit: 1000.00 GBP
            reason: cancel-limit
            clause: "2"
            message: At most 1,000.00 GBP.
          - excess: 50.00 GBP
    delay:
      refusals:
        short-delay: {clause: "4.1", message: Under 12 hours., when: claim.delay.hours < 12}
      settlement:
        steps:
          - amount: 20.00 GBP * floor(claim.delay.hours / 12)
settlement:
  kind: cash
"""


def _copy(tmp_path: pathlib.Path, name: str) -> pathlib.Path:
    folder = tmp_path / name
    shutil.copytree(FIXTURES, folder, ignore=shutil.ignore_patterns("*.tests.yaml"))
    (folder / "trip.yaml").write_text(TRIP, encoding="utf-8")
    return folder


def _edit(folder: pathlib.Path, file: str, old: str, new: str) -> None:
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _diff(old: pathlib.Path, new: pathlib.Path) -> product_diff.DiffReport:
    a, b = read_source(str(old)), read_source(str(new))
    return product_diff.diff(a.load(), b.load(), a.label, b.label)


@pytest.fixture
def folders(tmp_path):
    return _copy(tmp_path, "old"), _copy(tmp_path, "new")


def _only(report, product="accidental-damage"):
    return [(c.section, c.kind, c.path, c.text) for c in report.changes if c.product == product]


def test_the_same_products_have_no_change(folders):
    old, new = folders
    _edit(new, "accidental-damage.yaml", "# Wording:", "# A comment changed, and the wording too:")
    report = _diff(old, new)
    assert report.changes == []
    assert report.unchanged == report.products
    assert product_diff.render_text(report).startswith("no changes:")


def test_a_number_in_a_table(folders):
    old, new = folders
    _edit(new, "accidental-damage.yaml", "    default: 50.00 EUR", "    default: 60.00 EUR")
    _edit(new, "accidental-damage.yaml", "      DK: 375.00 DKK", "      DK: 400.00 DKK\n      FI: 55.00 EUR")
    assert _only(_diff(old, new)) == [
        ("tables", "number-changed", "tables.excess_by_country.rows.DK", "excess_by_country.DK: 375.00 DKK → 400.00 DKK"),
        ("tables", "row-added", "tables.excess_by_country.rows.FI", "excess_by_country.FI added: 55.00 EUR"),
        ("tables", "number-changed", "tables.excess_by_country.default",
         "excess_by_country.default: 50.00 EUR → 60.00 EUR"),
    ]


def test_a_derived_product_shows_what_it_inherits_and_not_what_it_overrides(folders):
    old, new = folders
    _edit(new, "accidental-damage.yaml", "    default: 50.00 EUR", "    default: 60.00 EUR")
    _edit(new, "accidental-damage.yaml", "{from: 184, to: 365, value: 10%}", "{from: 184, to: 365, value: 12%}")
    report = _diff(old, new)
    derived = [c for c in report.changes if c.product == "screen-protection"]
    # screen-protection sets its own default excess (30.00 EUR): the base's change is not its change
    assert [(c.kind, c.text, c.inherited) for c in derived] == [
        ("band-changed", "depreciation_by_age: band 184–365 days: 10% → 12%", "accidental-damage")]
    assert "(inherited from accidental-damage)" in product_diff.render_text(report)


def test_bands_moved_and_a_bands_value(folders):
    old, new = folders
    _edit(new, "accidental-damage.yaml", "{from: 0, to: 183, value: 0%}\n      - {from: 184, to: 365, value: 10%}",
          "{from: 0, to: 200, value: 0%}\n      - {from: 201, to: 365, value: 10%}")
    (kind, text), = [(c.kind, c.text) for c in _diff(old, new).changes if c.product == "accidental-damage"]
    assert kind == "bands-moved"
    assert text.startswith("depreciation_by_age: bands moved: 0–183 days: 0%, 184–365 days: 10%,")
    assert "→ 0–200 days: 0%, 201–365 days: 10%, 366–730 days: 20%, 731 and more days: 30%" in text


def test_rules_added_removed_and_changed(folders):
    old, new = folders
    _edit(new, "accidental-damage.yaml", "when: days_between(item.purchased, policy.purchased) > 6",
          "when: days_between(item.purchased, policy.purchased) > 14")
    _edit(new, "accidental-damage.yaml", "    message: The policyholder is under 18.",
          "    message: The policyholder is under 18 years old.")
    _edit(new, "accidental-damage.yaml", "  counterfeit:\n    clause: G.1\n", "  counterfeit:\n    clause: G.2\n")
    _edit(new, "accidental-damage.yaml", "  sanctions:\n", "  war:\n    clause: G.9\n    message: War.\n"
          "    circumstance: catastrophe\n  sanctions:\n")
    _edit(new, "accidental-damage.yaml", "  other-insurance:\n    clause: H.4\n    message: Another insurance may cover "
          "the same loss; a claims handler must decide.\n    when: claim.other_insurance\n", "")
    changes = _only(_diff(old, new))
    assert ("eligibility", "rule-changed", "eligibility.late-enrolment.when",
            "rule late-enrolment: condition `days_between(item.purchased, policy.purchased) > 6` → "
            "`days_between(item.purchased, policy.purchased) > 14`") in changes
    assert ("eligibility", "rule-changed", "eligibility.holder-underage.message",
            'rule holder-underage: message "The policyholder is under 18." → '
            '"The policyholder is under 18 years old."') in changes
    assert ("exclusions", "rule-changed", "exclusions.counterfeit.clause", "rule counterfeit: clause G.1 → G.2") in changes
    assert ("exclusions", "rule-added", "exclusions.war", "rule war (G.9) added: circumstance catastrophe") in changes
    assert ("referrals", "rule-removed", "referrals.other-insurance", "rule other-insurance (H.4) removed") in changes


def test_events_moved_between_covered_and_not_covered(folders):
    old, new = folders
    _edit(new, "accidental-damage.yaml", "    vandalism: vandalism or sabotage\n", "")
    _edit(new, "accidental-damage.yaml", "    looting: looting (jaf)\n",
          "    looting: looting (jaf)\n    vandalism: vandalism or sabotage\n    flood: flood\n")
    changes = _only(_diff(old, new))
    assert ("events", "event-moved", "events.vandalism", "vandalism moved from covered to not covered") in changes
    assert ("events", "event-added", "events.flood", "event flood added (not covered)") in changes


def test_fields_added_made_optional_and_values(folders):
    old, new = folders
    _edit(new, "accidental-damage.yaml", "  claim.repairable: {type: bool}", "  claim.repairable: {type: bool, default: true}")
    _edit(new, "accidental-damage.yaml", "  claim.other_insurance: {type: bool, default: false}",
          "  claim.other_insurance: {type: bool, default: false}\n  claim.colour: {type: code, values: [black, white]}")
    _edit(new, "accidental-damage.yaml", "values: [photo, proof_of_purchase, police_report, crime_reference]",
          "values: [photo, proof_of_purchase, police_report, crime_reference, invoice]")
    _edit(new, "accidental-damage.yaml", "  policy.holder.age: {type: integer, min: 0, max: 150}",
          "  policy.holder.age: {type: integer, min: 0, max: 120}")
    changes = _only(_diff(old, new))
    assert ("fields", "field-made-optional", "fields.claim.repairable",
            "field claim.repairable made optional (default true)") in changes
    assert ("fields", "field-added", "fields.claim.colour", "field claim.colour added (code: black, white)") in changes
    assert ("fields", "values-added", "fields.claim.documents.values", "field claim.documents: values added: invoice") \
        in changes
    assert ("fields", "field-changed", "fields.policy.holder.age.max", "field policy.holder.age: maximum 150 → 120") \
        in changes


def test_settlement_steps_and_benefit_sections(folders):
    old, new = folders
    _edit(new, "accidental-damage.yaml", "  payout: (gross - excess_applied) * (1 - claim.negligence_share)",
          "  payout: (gross - excess_applied) * (1 - claim.negligence_share / 2)")
    _edit(new, "trip.yaml", "          - excess: 50.00 GBP", "          - excess: 75.00 GBP")
    _edit(new, "trip.yaml", "          - amount: 20.00 GBP * floor(claim.delay.hours / 12)\n",
          "          - amount: 20.00 GBP * floor(claim.delay.hours / 12)\n          - limit: 100.00 GBP\n")
    _edit(new, "trip.yaml", "when: claim.delay.hours < 12", "when: claim.delay.hours < 6")
    report = _diff(old, new)
    assert ("settlement", "settlement-changed", "settlement.payout",
            "settlement payout: `(gross - excess_applied) * (1 - claim.negligence_share)` → "
            "`(gross - excess_applied) * (1 - claim.negligence_share / 2)`") in _only(report)
    assert _only(report, "trip") == [
        ("benefits.cancel", "step-changed", "benefits.cancel.settlement.steps.2.excess",
         "settlement step 3: excess `50.00 GBP` → `75.00 GBP`"),
        ("benefits.delay", "rule-changed", "benefits.delay.refusals.short-delay.when",
         "refusal short-delay: condition `claim.delay.hours < 12` → `claim.delay.hours < 6`"),
        ("benefits.delay", "step-added", "benefits.delay.settlement.steps.1",
         "settlement step 2 (limit: 100.00 GBP) added"),
    ]


def test_a_benefit_section_added(folders):
    old, new = folders
    _edit(new, "trip.yaml", "values: [cancel, delay]", "values: [cancel, delay, baggage]")
    _edit(new, "trip.yaml", "    delay:\n      refusals:", "    baggage:\n      name: C, baggage\n      settlement:\n"
          "        steps:\n          - amount: 10.00 GBP\n    delay:\n      refusals:")
    changes = _only(_diff(old, new), "trip")
    assert ("benefits.baggage", "section-added", "benefits.baggage", "benefit section baggage added (C, baggage)") \
        in changes


def test_a_product_added_and_a_version_added(folders):
    old, new = folders
    (old / "trip.yaml").unlink()
    text = (new / "accidental-damage.yaml").read_text(encoding="utf-8")
    _edit(new, "accidental-damage.yaml", 'effective_from: 2024-01-01\n', 'effective_from: 2024-01-01\n'
          'effective_until: 2025-12-31\n')
    (new / "accidental-damage-2026.yaml").write_text(
        text.replace('version: "2024-01-01"', 'version: "2026-01-01"')
        .replace("effective_from: 2024-01-01", "effective_from: 2026-01-01")
        .replace("    default: 50.00 EUR", "    default: 70.00 EUR"), encoding="utf-8")
    report = _diff(old, new)
    kinds = [(c.product, c.version, c.against, c.kind, c.text) for c in report.changes]
    assert ("trip", "2025-01-01", None, "product-added", "product trip added (version 2025-01-01, effective from "
            "2025-01-01)") in kinds
    assert ("accidental-damage", "2026-01-01", None, "version-added",
            "version 2026-01-01 added (effective from 2026-01-01)") in kinds
    assert ("accidental-damage", "2026-01-01", "2024-01-01", "number-changed",
            "excess_by_country.default: 50.00 EUR → 70.00 EUR") in kinds
    assert ("accidental-damage", "2024-01-01", None, "added", "effective_until added: 2025-12-31") in kinds
    assert "accidental-damage (version 2026-01-01, against 2024-01-01)" in product_diff.render_text(report)


def test_the_command_line_text_json_and_exit_code(folders, capsys):
    old, new = folders
    _edit(new, "accidental-damage.yaml", "    default: 50.00 EUR", "    default: 60.00 EUR")
    assert main(["diff", str(old), str(new)]) == 0
    out = capsys.readouterr().out
    assert "accidental-damage (version 2024-01-01)\n  tables\n    excess_by_country.default: 50.00 EUR → 60.00 EUR\n" in out
    assert main(["diff", str(old), str(new), "--format", "json", "--exit-code"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["changed"] is True
    assert document["changes"] == [{
        "product": "accidental-damage", "version": "2024-01-01", "section": "tables", "kind": "number-changed",
        "path": "tables.excess_by_country.default", "old": "50.00 EUR", "new": "60.00 EUR",
        "text": "excess_by_country.default: 50.00 EUR → 60.00 EUR", "against": None, "inherited": None}]
    assert main(["diff", str(old), str(old), "--exit-code"]) == 0
    assert main(["diff", str(old), str(old / "nothing-here")]) == 2
    assert "no such file or directory" in capsys.readouterr().err


def test_a_product_that_does_not_load_is_reported_not_diffed(folders, capsys):
    old, new = folders
    _edit(new, "accidental-damage.yaml", "when: policy.holder.age < 18", "when: policy.holder.agee < 18")
    assert main(["diff", str(old), str(new)]) == 2
    err = capsys.readouterr().err
    assert "could not be loaded" in err and "expr.unknown-field" in err


def _git(folder, *arguments):
    subprocess.run(["git", *arguments], cwd=folder, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@example.org", "HOME": str(folder), "PATH": "/usr/bin:/bin"})


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_folder_against_a_git_revision_leaves_the_work_tree_alone(tmp_path, monkeypatch, capsys):
    repository = tmp_path / "repo"
    products = _copy(repository, "products")
    _git(repository, "init", "-q")
    _git(repository, "add", ".")
    _git(repository, "commit", "-q", "-m", "v1")
    _git(repository, "tag", "v1.2")
    _edit(products, "accidental-damage.yaml", "    default: 50.00 EUR", "    default: 60.00 EUR")
    _git(repository, "commit", "-q", "-am", "excess")
    _edit(products, "accidental-damage.yaml", "    default: 60.00 EUR", "    default: 65.00 EUR")   # not committed
    before = {p: p.read_bytes() for p in products.iterdir()}
    monkeypatch.chdir(repository)

    assert split_revision("products@HEAD~1") == ("products", "HEAD~1")
    source = read_source("products@v1.2")
    assert sorted(source.texts) == ["v1.2:products/accidental-damage.yaml", "v1.2:products/bmw-total-loss.yaml",
                                    "v1.2:products/screen-protection.yaml", "v1.2:products/trip.yaml"]
    assert main(["diff", "products@v1.2", "products"]) == 0
    assert "excess_by_country.default: 50.00 EUR → 65.00 EUR" in capsys.readouterr().out
    assert main(["diff", "products@HEAD~1", "products@HEAD"]) == 0
    assert "excess_by_country.default: 50.00 EUR → 60.00 EUR" in capsys.readouterr().out
    assert main(["diff", "products/accidental-damage.yaml@HEAD", "products/accidental-damage.yaml"]) == 0
    assert "excess_by_country.default: 60.00 EUR → 65.00 EUR" in capsys.readouterr().out
    monkeypatch.chdir(products)                                   # a path relative to a sub-folder
    assert main(["diff", ".@v1.2", "."]) == 0
    assert "50.00 EUR → 65.00 EUR" in capsys.readouterr().out
    assert {p: p.read_bytes() for p in products.iterdir()} == before
    with pytest.raises(SourceError, match="unknown revision 'v9'"):
        read_source(".@v9")
