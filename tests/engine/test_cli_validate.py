"""`policyconf validate` named one file: a test file is told so, a derived product finds its base;
`policyconf test` named a product file runs that product's own test file."""
from __future__ import annotations

import io
import json
import shutil

from conftest import PRODUCTS
from policyconf import load
from policyconf.engine.cli import main


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, stdin=io.StringIO(""))
    return code, out.getvalue(), err.getvalue()


def test_a_test_file_is_told_to_use_policyconf_test():
    tests = str(PRODUCTS / "accidental-damage.tests.yaml")
    code, out, err = run("validate", tests)
    assert code == 2 and out == ""
    assert err == f"policyconf: {tests} is a test file: use `policyconf test {tests}`\n"
    code, _, err = run("validate", str(PRODUCTS), tests)
    assert code == 2 and "is a test file" in err


def test_policyconf_test_on_a_product_file_runs_its_own_test_file(tmp_path):
    product = str(PRODUCTS / "screen-protection.yaml")
    code, out, err = run("test", product)
    assert (code, err) == (0, "")
    assert out.startswith(f"{PRODUCTS / 'screen-protection.tests.yaml'} .") and out.endswith(" passed, 0 failed\n")
    shutil.copy(PRODUCTS / "bmw-total-loss.yaml", tmp_path / "bmw-total-loss.yaml")
    lonely = str(tmp_path / "bmw-total-loss.yaml")
    code, out, err = run("test", lonely)
    assert (code, out) == (2, "")
    assert err == (f"policyconf: {lonely} is a product file and has no test file beside it "
                   f"({tmp_path / 'bmw-total-loss.tests.yaml'})\n")
    # a test file under another name (kept apart from the products) is still run as one
    (tmp_path / "suites").mkdir()
    shutil.copy(PRODUCTS / "bmw-total-loss.tests.yaml", tmp_path / "suites" / "bmw-examples.yaml")
    code, out, err = run("test", str(tmp_path / "suites" / "bmw-examples.yaml"), "--products", str(tmp_path))
    assert (code, err) == (0, "") and out.endswith(" passed, 0 failed\n")


def test_a_derived_product_named_alone_finds_its_base_in_its_folder():
    file = str(PRODUCTS / "screen-protection.yaml")
    code, out, err = run("validate", file)
    assert (code, err) == (0, "")
    assert out == (f"ok: 1 product (1 version) valid in {file} (built on accidental-damage, read from "
                   f"{PRODUCTS / 'accidental-damage.yaml'})\n")
    code, out, _ = run("validate", "--format", "json", file)
    assert code == 0 and json.loads(out)["products"] == ["screen-protection"]


def test_the_base_found_is_built_and_its_problems_reported(tmp_path):
    shutil.copy(PRODUCTS / "screen-protection.yaml", tmp_path / "screen-protection.yaml")
    shutil.copy(PRODUCTS / "bmw-total-loss.yaml", tmp_path / "bmw-total-loss.yaml")     # another product: not read
    text = (PRODUCTS / "accidental-damage.yaml").read_text(encoding="utf-8")
    (tmp_path / "accidental-damage.yaml").write_text(text.replace("when: policy.holder.age < 18",
                                                                  "when: policy.holder.agee < 18"), encoding="utf-8")
    loaded = load(str(tmp_path / "screen-protection.yaml"))
    assert [(p.file, p.code) for p in loaded.problems] == [
        (str(tmp_path / "accidental-damage.yaml"), "expr.unknown-field"),
        (str(tmp_path / "screen-protection.yaml"), "ref.base-has-errors")]     # told once, at its extends line
    assert loaded.products == {}


def test_a_base_in_no_file_of_the_folder_is_still_unknown(tmp_path):
    shutil.copy(PRODUCTS / "screen-protection.yaml", tmp_path / "screen-protection.yaml")
    code, out, _ = run("validate", str(tmp_path / "screen-protection.yaml"))
    assert code == 1 and "ref.unknown-product: extends unknown product 'accidental-damage'" in out


def test_a_missing_path_is_reported_in_the_format_asked_for(tmp_path):
    """A CI job reading `validate --format json` (or `github`) gets the problem on stdout, not an
    empty stdout; the exit status stays 2 (an I/O error) and stderr says it as before."""
    missing = str(tmp_path / "nowhere.yaml")
    code, out, err = run("validate", missing, str(PRODUCTS), "--format", "json")
    assert code == 2 and "no such file or directory" in err
    document = json.loads(out)
    assert document["valid"] is False and document["products"] == []
    assert [(p["file"], p["code"]) for p in document["problems"]] == [(missing, "file.unreadable")]
    code, out, err = run("validate", missing, "--format", "github")
    assert code == 2
    assert out == f"::error file={missing},line=1,col=1,title=file.unreadable::file.unreadable: no such file or directory\n"
    code, out, err = run("validate", missing)
    assert code == 2 and out == "" and "no such file or directory" in err


def test_the_default_folder_missing_is_reported_in_json_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                 # no products/ here
    code, out, _ = run("validate", "--format", "json")
    assert code == 2
    assert [(p["file"], p["code"]) for p in json.loads(out)["problems"]] == [("products", "file.unreadable")]
