"""The parser's shipped LALR tables (dsl/grammar.tables): current with grammar.lark, loaded when
they are for this grammar and this Lark, built again (never trusted) when they are not, and a
parser loaded from them parses exactly as one built from the grammar."""
from __future__ import annotations

import io
import pathlib
import pickle

import pytest
import yaml

from policyconf.dsl import parser
from policyconf.dsl.errors import ExpressionError

ROOT = pathlib.Path(__file__).resolve().parents[2]
REGENERATE = ".venv/bin/python -m policyconf.dsl.parser --write-tables"


def _header() -> list[str]:
    shipped = parser._shipped()
    assert shipped, f"dsl/{parser.TABLES_FILE} is missing: make it with `{REGENERATE}`"
    return shipped.split(b"\n", 1)[0].decode("ascii").split()


def test_the_shipped_tables_are_made_from_this_grammar():
    words = _header()
    assert words[:3] == ["policyconf", "parser", "tables"] and len(words) == 6, words
    assert words[3] == parser.TABLES_KEY, (
        f"dsl/{parser.TABLES_FILE} was made from another dsl/grammar.lark (or other parser options): "
        f"regenerate it with `{REGENERATE}` and commit it")


def test_the_shipped_tables_load_with_this_lark():
    made_with = _header()[5]
    if made_with != parser.lark.__version__:
        pytest.skip(f"the shipped tables are for Lark {made_with}, this is {parser.lark.__version__} "
                    f"(they are built at the first parse instead; `{REGENERATE}` makes them for this Lark)")
    assert parser._loaded(parser._shipped()) is not None, \
        f"dsl/{parser.TABLES_FILE} does not load: regenerate it with `{REGENERATE}` and commit it"


def _texts() -> list[str]:
    """Every string of the shipped and fixture products: the expressions, and much that is not one
    (names, wording), which must fail alike."""
    found = set()

    def visit(node):
        if isinstance(node, str):
            found.add(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                visit(key)
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)
    for folder in ("products", "tests/fixtures/products"):
        for path in sorted((ROOT / folder).glob("*.yaml")):
            visit(yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader))
    found |= {"a +", "if a then 1", "f(1 2)", "x = 1", "1 +* 2", "[1, 2", "2024-01-01T10:00:00", "'open",
              "Claim.x", "a.b[", "not", "h.paid for h in", "between 1 and", ")", "50.00 EUR EUR"}
    return sorted(found)


def _outcome(text: str):
    try:
        return parser.parse(text)
    except ExpressionError as error:
        return (error.code, error.message, error.line, error.column)


def test_a_parser_from_the_shipped_tables_parses_as_one_built_from_the_grammar(monkeypatch):
    loaded = parser._loaded(parser._shipped())
    if loaded is None:
        pytest.skip("the shipped tables are not for this Lark")
    texts = _texts()
    outcomes = []
    for made in (loaded, parser._built()):
        monkeypatch.setattr(parser, "_PARSER", made)
        parser._parsed.cache_clear()
        outcomes.append([_outcome(text) for text in texts])
    parser._parsed.cache_clear()
    assert len(texts) > 300 and any(isinstance(o, tuple) for o in outcomes[0]) \
        and any(not isinstance(o, tuple) for o in outcomes[0])
    assert outcomes[0] == outcomes[1]


def _first_parse_builds(monkeypatch, shipped: bytes | None) -> bool:
    built = []
    monkeypatch.setattr(parser, "_PARSER", None)
    monkeypatch.setattr(parser, "_STORE", None)
    monkeypatch.setattr(parser, "_shipped", lambda: shipped)
    real = parser._built
    monkeypatch.setattr(parser, "_built", lambda: built.append(1) or real())
    parser._parsed.cache_clear()
    try:
        assert parser.parse("claim.repair_cost * 2") is not None
    finally:
        parser._parsed.cache_clear()
    return bool(built)


def test_the_shipped_tables_are_loaded_not_built(monkeypatch):
    if parser._loaded(parser._shipped()) is None:
        pytest.skip("the shipped tables are not for this Lark")
    assert not _first_parse_builds(monkeypatch, parser._shipped())


@pytest.mark.parametrize("change", ["grammar", "lark", "damaged", "a class in the pickle", "missing"])
def test_tables_of_another_grammar_or_lark_or_damaged_are_built_again(monkeypatch, change):
    good = parser.tables(parser._built())
    header, data = good.split(b"\n", 1)
    words = header.split()
    if change == "grammar":
        words[3] = b"0" * len(words[3])
        shipped = b" ".join(words) + b"\n" + data
    elif change == "lark":
        words[5] = b"0.0.1"
        shipped = b" ".join(words) + b"\n" + data
    elif change == "damaged":
        shipped = header + b"\n" + data[:len(data) // 2]
    elif change == "a class in the pickle":
        saved = pickle.loads(data)
        saved["data"]["options"]["tree_class"] = io.BytesIO      # loads as plain data or not at all
        shipped = header + b"\n" + pickle.dumps(saved)
    else:
        shipped = None
    assert parser._loaded(shipped) is None
    assert _first_parse_builds(monkeypatch, shipped)


def test_write_tables_writes_tables_that_load(tmp_path):
    written = parser.write_tables(tmp_path / "grammar.tables")
    assert parser._loaded(written.read_bytes()) is not None
