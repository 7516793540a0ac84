"""Loading product files: every problem, at its file, line and column."""
import textwrap
from decimal import Decimal

import pytest

from conftest import PRODUCTS
from policyconf import ProductError, load, load_products
from policyconf.engine.yaml_reader import load_document

MINIMAL = """\
id: gadget
name: Gadget cover
version: "2024-01-01"
effective_from: 2024-01-01
currencies: [EUR]
fields:
  item.price: {type: money}
  claim.repair_cost: {type: money}
definitions:
  gross: claim.repair_cost
settlement:
  kind: repair
  payout: gross - 10.00 EUR
  excess: 10.00 EUR
  depreciation: 0
"""


def write(tmp_path, text, name="gadget.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(tmp_path, text, name="gadget.yaml"):
    write(tmp_path, text, name)
    return [(p.line, p.column, p.code, p.message) for p in load(str(tmp_path)).problems]


def test_minimal_product_loads_and_evaluates(tmp_path):
    write(tmp_path, MINIMAL)
    book = load_products(str(tmp_path))
    decision = book.evaluate({"product": "gadget", "item": {"price": {"amount": "100", "currency": "EUR"}},
                              "claim": {"repair_cost": {"amount": "40.00", "currency": "EUR"}}})
    assert decision.outcome == "approved"
    assert decision.payout.to_dict() == {"amount": "30.00", "currency": "EUR"}


# -- YAML -----------------------------------------------------------------------
def test_yaml_syntax_error_has_position(tmp_path):
    found = problems(tmp_path, MINIMAL.replace("name: Gadget cover", "name: [Gadget"))
    assert found[0][2] == "yaml.syntax"
    assert found[0][0] == 3


def test_duplicate_keys_are_errors(tmp_path):
    found = problems(tmp_path, MINIMAL + "currencies: [DKK]\n")
    assert found == [(16, 1, "yaml.duplicate-key",
                      "duplicate key 'currencies' (first at line 5); the second would replace the first")]


def test_tabs_are_reported(tmp_path):
    found = problems(tmp_path, MINIMAL.replace("  item.price", "\titem.price"))
    assert found[0][2] == "yaml.syntax"
    assert "tabs" in found[0][3]


def test_python_tags_are_refused(tmp_path):
    found = problems(tmp_path, MINIMAL + "evil: !!python/object/apply:os.system ['true']\n")
    assert found[0][2] == "yaml.tag"
    assert found[0][0] == 16


def test_alias_bomb_is_refused(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefgh":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, " \
                f"*{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n"
    found = problems(tmp_path, bomb)
    assert found[0][2] == "yaml.too-large"


def test_yaml_12_scalars_norway_stays_text_and_numbers_are_decimal():
    document = load_document("a: NO\nb: yes\nc: 1.10\nd: 7\ne: 2024-01-01\nf: true\ng: ~\n", "x.yaml")
    assert document.data == {"a": "NO", "b": "yes", "c": Decimal("1.10"), "d": 7, "e": "2024-01-01",
                             "f": True, "g": None}


def test_non_utf8_and_nul_bytes(tmp_path):
    (tmp_path / "bad.yaml").write_bytes(b"id: caf\xe9\n")
    found = [(p.line, p.column, p.code) for p in load(str(tmp_path)).problems]
    assert found == [(1, 8, "yaml.encoding")]
    (tmp_path / "bad.yaml").write_bytes(b"id: a\nname: b\x00\n")
    found = [(p.line, p.column, p.code) for p in load(str(tmp_path)).problems]
    assert found == [(2, 8, "yaml.encoding")]


def test_bom_is_accepted(tmp_path):
    (tmp_path / "gadget.yaml").write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert load(str(tmp_path)).errors == []


# -- JSON Schema ------------------------------------------------------------------
def test_unknown_key_with_suggestion_at_the_key(tmp_path):
    found = problems(tmp_path, MINIMAL.replace("definitions:", "definitons:"))
    assert found == [(9, 1, "schema.unknown-key", "unknown key 'definitons' in the product; did you mean 'definitions'?")]


def test_missing_key(tmp_path):
    found = problems(tmp_path, MINIMAL.replace('version: "2024-01-01"\n', ""))
    assert (1, 1, "schema.missing-key", "missing key 'version' in the product") in found


def test_wrong_type(tmp_path):
    found = problems(tmp_path, MINIMAL.replace("currencies: [EUR]", "currencies: EUR"))
    assert found == [(5, 13, "schema.type", "currencies must be an array, not text")]


def test_unknown_field_type_with_suggestion(tmp_path):
    found = problems(tmp_path, MINIMAL.replace("item.price: {type: money}", "item.price: {type: mony}"))
    assert found[0][:3] == (7, 22, "schema.value")
    assert "did you mean 'money'?" in found[0][3]


# -- expressions inside YAML ------------------------------------------------------
def test_expression_error_points_inside_the_yaml_string(tmp_path):
    found = problems(tmp_path, MINIMAL.replace("payout: gross - 10.00 EUR", "payout: gross - 10.00 DKK"))
    assert found == [(13, 19, "expr.currency", "DKK is not among the product's currencies (EUR)")]


def test_unknown_field_in_expression_column(tmp_path):
    found = problems(tmp_path, MINIMAL.replace("gross: claim.repair_cost", "gross: claim.repair_cots"))
    assert found == [(10, 10, "expr.unknown-field",
                      "unknown claim field 'claim.repair_cots'; did you mean 'claim.repair_cost'?")]


def test_position_in_quoted_and_block_scalars(tmp_path):
    text = MINIMAL.replace("  gross: claim.repair_cost", '  gross: "claim.repair_cost + nope"')
    assert problems(tmp_path, text)[0][:3] == (10, 31, "expr.unknown-name")
    text = MINIMAL.replace("  gross: claim.repair_cost", "  gross: |\n    claim.repair_cost\n      + nope")
    assert problems(tmp_path, text)[0][:3] == (12, 9, "expr.unknown-name")
    text = MINIMAL.replace("  gross: claim.repair_cost", "  gross: >-\n    claim.repair_cost\n    + nope")
    assert problems(tmp_path, text)[0][:3] == (12, 7, "expr.unknown-name")


def test_syntax_error_in_expression(tmp_path):
    found = problems(tmp_path, MINIMAL.replace("gross: claim.repair_cost", "gross: claim.repair_cost +"))
    assert found[0][:3] == (10, 29, "expr.syntax")


def test_all_problems_are_reported_sorted(tmp_path):
    text = MINIMAL.replace("gross: claim.repair_cost", "gross: claim.nope").replace(
        "excess: 10.00 EUR", "excess: 10.00 XYZ")
    found = problems(tmp_path, text)
    assert [f[2] for f in found] == ["expr.unknown-field", "expr.currency"]
    assert [f[0] for f in found] == sorted(f[0] for f in found)


def test_definition_cycle(tmp_path):
    text = MINIMAL.replace("gross: claim.repair_cost", "gross: net + 1.00 EUR\n  net: gross")
    found = problems(tmp_path, text)
    assert any(code == "expr.cycle" and "gross -> net -> gross" in message for _, _, code, message in found)


def test_constant_division_by_zero(tmp_path):
    found = problems(tmp_path, MINIMAL.replace("depreciation: 0", "depreciation: 1 / (2 - 2)"))
    assert found[0][2:] == ("expr.division-by-zero", "division by zero")


# -- semantics --------------------------------------------------------------------
BANDS = MINIMAL + """\
bands:
  rate:
    unit: days
    bands:
      - {from: 0, to: 183, value: 0%}
      - {from: 184, to: 365, value: 10%}
      - {from: 366, to: 730, value: 20%}
      - {from: 732, value: 30%}
"""


def test_band_gap_names_the_missing_day(tmp_path):
    found = problems(tmp_path, BANDS)
    assert found == [(23, 16, "product.bands", "gap between bands: days 731 falls in no band")]


def test_band_overlap(tmp_path):
    found = problems(tmp_path, BANDS.replace("from: 732", "from: 700"))
    assert found[0][2] == "product.bands" and "overlap" in found[0][3]


EVENTS = MINIMAL.replace("  claim.repair_cost: {type: money}", "  claim.repair_cost: {type: money}\n"
                         "  claim.event: {type: event}") + """\
events:
  rule: {id: event-not-covered, clause: B.2, message: Not covered.}
  covered:
    drop: drop
    operational_error: operational error
  not_covered:
    operational_error: operational error
"""


def test_event_both_covered_and_not_covered(tmp_path):
    found = problems(tmp_path, EVENTS)
    assert found[0][2] == "product.events"
    assert "both as covered and as not covered" in found[0][3]


# -- extends and versions ---------------------------------------------------------
def test_extends_merges_and_overrides(tmp_path):
    write(tmp_path, MINIMAL)
    write(tmp_path, """\
        id: gadget-plus
        name: Gadget cover plus
        version: "2024-01-01"
        effective_from: 2024-01-01
        extends: gadget
        settlement:
          excess: 5.00 EUR
          payout: gross - 5.00 EUR
        """, "plus.yaml")
    book = load_products(str(tmp_path))
    claim = {"product": "gadget-plus", "item": {"price": {"amount": "100", "currency": "EUR"}},
             "claim": {"repair_cost": {"amount": "40.00", "currency": "EUR"}}}
    assert book.evaluate(claim).payout.to_dict() == {"amount": "35.00", "currency": "EUR"}
    assert (book.product("gadget-plus").extends, book.product("gadget").extends) == ("gadget", None)


def test_problem_in_derived_file_is_reported_there(tmp_path):
    write(tmp_path, MINIMAL)
    write(tmp_path, """\
        id: gadget-plus
        name: Gadget cover plus
        version: "2024-01-01"
        effective_from: 2024-01-01
        extends: gadget
        settlement:
          excess: 5.00 DKK
        """, "plus.yaml")
    found = [(p.file.rsplit("/", 1)[-1], p.line, p.column, p.code) for p in load(str(tmp_path)).problems]
    assert found == [("plus.yaml", 7, 11, "expr.currency")]


def test_extends_unknown_product_and_cycle(tmp_path):
    write(tmp_path, MINIMAL.replace("currencies: [EUR]", "currencies: [EUR]\nextends: gadgte"))
    found = problems(tmp_path, MINIMAL.replace("currencies: [EUR]", "currencies: [EUR]\nextends: gadgte"))
    assert found[0][2] == "ref.unknown-product"
    write(tmp_path, MINIMAL.replace("currencies: [EUR]", "currencies: [EUR]\nextends: gadget"))
    assert problems(tmp_path, MINIMAL.replace("currencies: [EUR]", "currencies: [EUR]\nextends: gadget"))[0][2] \
        == "ref.extends-cycle"


PLUS = """\
    id: gadget-plus
    name: Gadget cover plus
    version: "2024-01-01"
    effective_from: 2024-01-01
    extends: gadget
    settlement:
      excess: 5.00 EUR
    """


def where(tmp_path):
    return [(p.file.rsplit("/", 1)[-1], p.line, p.column, p.severity, p.code, p.message)
            for p in load(str(tmp_path)).problems]


@pytest.mark.parametrize("broken", [
    MINIMAL.replace("gross: claim.repair_cost", "gross: claim.repair_cots"),       # an expression
    MINIMAL.replace("currencies: [EUR]", "currencis: [EUR]"),                      # the schema
    MINIMAL.replace("name: Gadget cover", "name: [Gadget"),                        # the YAML
])
def test_a_broken_base_is_reported_once_and_its_children_are_not_checked(tmp_path, broken):
    write(tmp_path, broken)
    write(tmp_path, PLUS, "plus.yaml")
    write(tmp_path, PLUS.replace("id: gadget-plus", "id: gadget-max").replace("5.00 EUR", "4.00 EUR"), "max.yaml")
    found = where(tmp_path)
    base = [p for p in found if p[0] == "gadget.yaml"]
    assert len(base) == 1 and base[0][3] == "error", found
    assert [p for p in found if p[0] != "gadget.yaml"] == [
        ("max.yaml", 5, 10, "error", "ref.base-has-errors", "not checked: its base gadget has errors"),
        ("plus.yaml", 5, 10, "error", "ref.base-has-errors", "not checked: its base gadget has errors")]
    assert not any("unknown product" in p[5] for p in found)
    with pytest.raises(ProductError) as raised:
        load_products(str(tmp_path))
    assert len(raised.value.problems) == 3


def test_a_base_that_does_not_load_is_known_by_its_id_line_or_its_file_name(tmp_path):
    write(tmp_path, MINIMAL.replace("name: Gadget cover", "name: [Gadget"), "gadget-2024.yaml")
    write(tmp_path, PLUS, "plus.yaml")
    assert where(tmp_path)[-1][4:] == ("ref.base-has-errors", "not checked: its base gadget has errors")
    (tmp_path / "gadget-2024.yaml").write_bytes(b"id: gadget\nname: Gadget \xff\n")
    assert where(tmp_path)[-1][4] == "ref.unknown-product" and \
        where(tmp_path)[-1][5].startswith("extends unknown product 'gadget'")    # unreadable: no id line to read
    (tmp_path / "gadget-2024.yaml").rename(tmp_path / "gadget.yaml")
    assert where(tmp_path)[-1][4:] == ("ref.base-has-errors", "not checked: its base gadget has errors")


def test_a_warning_of_a_base_is_reported_once(tmp_path):
    write(tmp_path, MINIMAL + "eligibility:\n  never:\n    clause: C\n    message: Never.\n    when: 1 > 2\n")
    write(tmp_path, PLUS, "plus.yaml")
    found = where(tmp_path)
    assert [p[4] for p in found] == ["product.constant-rule"], found
    assert sorted(load_products(str(tmp_path)).ids) == ["gadget", "gadget-plus"]


def test_a_child_of_a_cycle_is_not_checked_and_the_cycle_is_reported_once_per_member(tmp_path):
    write(tmp_path, PLUS.replace("id: gadget-plus", "id: a").replace("extends: gadget", "extends: b"), "a.yaml")
    write(tmp_path, PLUS.replace("id: gadget-plus", "id: b").replace("extends: gadget", "extends: a"), "b.yaml")
    write(tmp_path, PLUS.replace("id: gadget-plus", "id: c").replace("extends: gadget", "extends: a"), "c.yaml")
    assert [(p[0], p[4], p[5]) for p in where(tmp_path)] == [
        ("a.yaml", "ref.extends-cycle", "'a' extends itself (through 'b')"),
        ("b.yaml", "ref.extends-cycle", "'b' extends itself (through 'a')"),
        ("c.yaml", "ref.base-has-errors", "not checked: its base a has errors")]


def test_versions_are_chosen_by_policy_purchase_date(tmp_path):
    fields = "  policy.purchased: {type: date}\n  item.price: {type: money}"
    write(tmp_path, MINIMAL.replace("  item.price: {type: money}", fields).replace(
        'effective_until', 'x') + "effective_until: 2024-12-31\n")
    write(tmp_path, MINIMAL.replace("  item.price: {type: money}", fields)
          .replace('version: "2024-01-01"', 'version: "2025-01-01"')
          .replace("effective_from: 2024-01-01", "effective_from: 2025-01-01")
          .replace("payout: gross - 10.00 EUR", "payout: gross - 20.00 EUR")
          .replace("excess: 10.00 EUR", "excess: 20.00 EUR"), "gadget-2025.yaml")
    book = load_products(str(tmp_path))

    def claim(purchased):
        return {"product": "gadget", "policy": {"purchased": purchased},
                "item": {"price": {"amount": "100", "currency": "EUR"}},
                "claim": {"repair_cost": {"amount": "40.00", "currency": "EUR"}}}
    assert book.evaluate(claim("2024-12-31")).to_dict()["product_version"] == "2024-01-01"
    assert book.evaluate(claim("2025-01-01")).to_dict()["product_version"] == "2025-01-01"
    assert book.decide(claim("2023-12-31"))["error"]["code"] == "claim.no-product-version"


def test_version_chain_gap(tmp_path):
    write(tmp_path, MINIMAL + "effective_until: 2024-06-30\n")
    write(tmp_path, MINIMAL.replace("effective_from: 2024-01-01", "effective_from: 2025-01-01")
          .replace('version: "2024-01-01"', 'version: "2025"'), "gadget-2025.yaml")
    found = [(p.code, p.message) for p in load(str(tmp_path)).problems]
    assert found[0][0] == "product.duplicate-version" and "gap between versions" in found[0][1]


def test_load_products_raises_one_error_with_every_problem(tmp_path):
    write(tmp_path, MINIMAL.replace("gross: claim.repair_cost", "gross: nope").replace(
        "depreciation: 0", "depreciation: nope2"))
    with pytest.raises(ProductError) as raised:
        load_products(str(tmp_path))
    assert len(raised.value.problems) == 2
    assert "gadget.yaml:10:10: error: expr.unknown-name" in str(raised.value)


def test_the_fixture_products_load_without_problems():
    assert load(str(PRODUCTS)).problems == []
