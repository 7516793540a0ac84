"""`validate --format github` in a CI log: a file name or a message can never start a workflow
command of its own.

GitHub reads every stdout line that starts with `::` as a command, and splits an annotation's
properties at `,` and `:`.  Before the fix, a product file named with a newline in it wrote
`::set-output name=approved::true` as a line of its own into the CI log, and a `,` or `:` in a
file name cut the `file=` property short.
"""
from __future__ import annotations

import io
import re

from conftest import PRODUCTS
from policyconf.engine.cli import main

EVIL = "evil\n::set-output name=approved::true\r\n,line=1:col=2%0A.yaml"


def unescape_property(value: str) -> str:
    """What GitHub's runner reads back from a property value (the reverse of toolkit's escapeProperty)."""
    for escaped, plain in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        value = value.replace(escaped, plain)
    return value


def test_a_file_name_with_a_newline_a_comma_and_a_colon_injects_nothing(tmp_path):
    text = (PRODUCTS / "accidental-damage.yaml").read_text(encoding="utf-8").replace("eligibility:", "eligibilty:", 1)
    (tmp_path / EVIL).write_text(text, encoding="utf-8")
    (tmp_path / "a: b, c.yaml").write_text("a: [1\n", encoding="utf-8")
    out = io.StringIO()
    status = main(["validate", "--format", "github", str(tmp_path)], stdout=out, stderr=io.StringIO())
    assert status == 1
    lines = out.getvalue().split("\n")
    assert lines[-1] == ""
    lines = lines[:-1]
    assert len(lines) == 2, lines
    for line in lines:
        assert line.startswith(("::error ", "::warning ")), line
        assert "\r" not in line
        match = re.fullmatch(r"::(error|warning) file=([^,:]*),line=(\d+),col=(\d+),title=([^,:]*)::(.*)", line)
        assert match, line
    files = sorted(unescape_property(re.match(r"::error file=([^,]*),", line).group(1)) for line in lines)
    assert files == sorted([str(tmp_path / EVIL), str(tmp_path / "a: b, c.yaml")])
