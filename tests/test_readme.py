"""The README is the users' reference: every stable error code the engine can give is in it.

The codes are the constants of `engine/errors.py` and `dsl/errors.py` (a code written anywhere
else would not be stable); each must appear in the README in backticks, so a new code cannot
ship undocumented.
"""
from __future__ import annotations

import re

from conftest import ROOT

CODE = re.compile(r'^[A-Z_]+ = "([a-z]+\.[a-z-]+)"', re.MULTILINE)


def stable_codes() -> set[str]:
    return {code for path in ("engine/errors.py", "dsl/errors.py")
            for code in CODE.findall((ROOT / path).read_text(encoding="utf-8"))}


def test_every_error_code_is_in_the_readme():
    codes = stable_codes()
    assert len(codes) > 70            # the pattern still finds them
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert sorted(code for code in codes if f"`{code}`" not in readme) == []


def test_no_error_code_is_written_outside_the_two_modules():
    codes = stable_codes()
    stray = []
    for path in sorted([*ROOT.glob("engine/*.py"), *ROOT.glob("dsl/*.py")]):
        if path.name == "errors.py":
            continue
        for found in re.finditer(r'"((?:claim|expr|ref|product|schema|yaml|file|batch|request|service|test|evaluation)'
                                 r'\.[a-z][a-z-]+)"', path.read_text(encoding="utf-8")):
            if found.group(1) in codes:
                stray.append(f"{path.name}: {found.group(1)}")
    assert stray == []
