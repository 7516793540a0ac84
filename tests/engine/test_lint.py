"""The checks that catch the mistakes that cost money (`engine.lint`), on small products.

Each test writes a product and asserts the problems `load` finds (code, line, and what the
message says); the corpus (`tests/corpus`) has the exact report of one case of each.
"""
from __future__ import annotations

import pathlib
import shutil
import textwrap

import pytest

from policyconf import load

TRIP = """\
id: trip
name: Trip cover
version: "2025-01-01"
effective_from: 2025-01-01
currencies: [GBP]
fields:
  policy.purchased: {type: date}
  claim.sections: {type: list, values: [medical, baggage], min_items: 1, unique: true}
  claim.medical: {type: object, present_when: '"medical" in claim.sections'}
  claim.medical.expenses: {type: money}
  claim.medical.note: {type: text, optional: true}
  claim.baggage: {type: object, present_when: '"baggage" in claim.sections'}
  claim.baggage.value: {type: money}
  claim.documents: {type: list, values: [report], default: []}
definitions:
  medical_costs: claim.medical.expenses
eligibility:
  late:
    clause: "1"
    message: Too late.
    when: ELIGIBILITY
benefits:
  claimed: claim.sections
  refusals:
    tiny:
      clause: "2"
      message: Too small.
      sections:
        medical: claim.medical.expenses < 10.00 GBP
        baggage: claim.baggage.value < 10.00 GBP
  sections:
    medical:
      referrals:
        large: {clause: "3", message: Large., when: medical_costs > 5000.00 GBP}
      settlement:
        steps:
          - amount: claim.medical.expenses
          - limit: 100.00 GBP
            when: has(claim.medical.note) and claim.medical.note == "dental"
    baggage:
      settlement:
        steps:
          - amount: BAGGAGE
settlement:
  kind: cash
invariants:
  within-claimed:
    message: At most what was claimed.
    holds: INVARIANT
"""


def problems(tmp_path, text: str, **replace: str):
    for key, value in replace.items():
        text = text.replace(key, value)
    (tmp_path / "product.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return [(p.code, p.line, p.message) for p in load(str(tmp_path)).problems]


def line_of(text: str, fragment: str) -> int:
    """The line of the product that holds `fragment` (after the replacements)."""
    return next(number for number, line in enumerate(textwrap.dedent(text).splitlines(), 1) if fragment in line)


def unguarded(tmp_path, text: str, **replace: str):
    return [(line, message) for code, line, message in problems(tmp_path, text, **replace)
            if code == "expr.unguarded"]


TRIP_OK = dict(ELIGIBILITY="policy.purchased < 2025-01-01", BAGGAGE="claim.baggage.value",
               INVARIANT="decision.payout >= 0")


def test_a_section_reads_its_own_details_and_its_shared_refusal_too(tmp_path):
    assert problems(tmp_path, TRIP, **TRIP_OK) == []


def test_a_section_reading_another_sections_details_is_reported(tmp_path):
    found = unguarded(tmp_path, TRIP, **{**TRIP_OK, "BAGGAGE": "claim.baggage.value + medical_costs"})
    assert len(found) == 1
    line, message = found[0]
    assert line == line_of(TRIP, "- amount: BAGGAGE")
    assert message.startswith(f"'medical_costs' reads claim.medical.expenses (line {line_of(TRIP, '  medical_costs')})")
    assert 'claim.medical is given only when "medical" in claim.sections' in message
    assert "`has(claim.medical) and ...`" in message


def test_a_whole_claim_rule_reading_a_sections_details_is_reported(tmp_path):
    found = unguarded(tmp_path, TRIP, **{**TRIP_OK, "ELIGIBILITY": "claim.baggage.value > 1000.00 GBP"})
    assert [line for line, _ in found] == [line_of(TRIP, "when: ELIGIBILITY")]
    assert found[0][1].startswith("claim.baggage.value may be absent (claim.baggage is given only when "
                                  "\"baggage\" in claim.sections)")
    guarded = 'has(claim.baggage) and claim.baggage.value > 1000.00 GBP'
    assert unguarded(tmp_path, TRIP, **{**TRIP_OK, "ELIGIBILITY": guarded}) == []
    by_section = '"baggage" in claim.sections and claim.baggage.value > 1000.00 GBP'
    assert unguarded(tmp_path, TRIP, **{**TRIP_OK, "ELIGIBILITY": by_section}) == []


def test_an_invariant_knows_what_an_approved_claims_settlement_knows_only_when_it_says_approved(tmp_path):
    read = "claim.medical.expenses >= 0"
    assert [line for line, _ in unguarded(tmp_path, TRIP, **{**TRIP_OK, "INVARIANT": read})] == [
        line_of(TRIP, "holds: INVARIANT")]
    guarded = f'decision.outcome != "approved" or has(claim.medical) and {read}'
    assert unguarded(tmp_path, TRIP, **{**TRIP_OK, "INVARIANT": guarded}) == []


REPLACEMENT = """\
id: car
name: Car cover
version: "2025-01-01"
effective_from: 2025-01-01
currencies: [EUR]
fields:
  item.price: {type: money}
  claim.motor_payout: {type: money}
  claim.replacement: {type: object, optional: true}
  claim.replacement.price: {type: money}
  claim.replacement.fees: {type: money, optional: true}
definitions:
  fees: claim.replacement.fees
  gap: max(0, claim.replacement.price - claim.motor_payout)
documents:
  replacement:
    document: replacement
    clause: "1"
    message: Nothing is paid until the new car is bought.
    DOCUMENT
referrals:
  dear:
    clause: "2"
    message: Dear.
    when: REFERRAL
settlement:
  kind: replacement
  steps:
    - amount: gap
    - adjust: FEES
      when: STEP_WHEN
invariants:
  gap-within-price:
    message: The gap is at most the new car's price.
    holds: decision.outcome != "approved" or gap <= claim.replacement.price
"""
CAR_OK = dict(DOCUMENT="provided: has(claim.replacement)", REFERRAL="item.price > 100000.00 EUR",
              FEES="amount + fees", STEP_WHEN="has(claim.replacement.fees)")


def test_the_settlement_knows_what_the_documents_it_waited_for_say(tmp_path):
    assert problems(tmp_path, REPLACEMENT, **CAR_OK) == []


def test_a_document_needed_only_when_something_holds_guarantees_nothing_otherwise(tmp_path):
    found = unguarded(tmp_path, REPLACEMENT, **{**CAR_OK, "DOCUMENT": "when: item.price > 0\n    provided: "
                                                                     "has(claim.replacement)"})
    # the step's gap, and the invariant's gap and its read of the price
    lines = [line_of(REPLACEMENT, "- amount: gap") + 1, line_of(REPLACEMENT, "holds:") + 1]
    assert [line for line, _ in found] == [lines[0], lines[1], lines[1]]
    found = unguarded(tmp_path, REPLACEMENT, **{**CAR_OK, "DOCUMENT": "when: has(claim.replacement)\n    provided: "
                                                                     "has(claim.replacement)"})
    assert [line for line, _ in found] == [lines[0], lines[1], lines[1]]


def test_a_referral_is_evaluated_once_every_document_is_there(tmp_path):
    assert unguarded(tmp_path, REPLACEMENT, **{**CAR_OK, "REFERRAL": "gap > 50000.00 EUR"}) == []


def test_a_steps_when_guards_its_value_and_an_optional_field_of_an_optional_object_needs_its_own_has(tmp_path):
    found = unguarded(tmp_path, REPLACEMENT, **{**CAR_OK, "STEP_WHEN": "amount > 0"})
    assert [line for line, _ in found] == [line_of(REPLACEMENT, "- adjust: FEES")]
    assert found[0][1].startswith(f"'fees' reads claim.replacement.fees (line {line_of(REPLACEMENT, '  fees:')}): "
                                  "it may be absent (it is optional; claim.replacement is optional)")
    assert "`has(claim.replacement.fees) and ...`" in found[0][1]


def test_a_definition_guarding_its_own_reads_is_fine_wherever_it_is_used(tmp_path):
    text = REPLACEMENT.replace("  gap: max(0, claim.replacement.price - claim.motor_payout)",
                               "  gap: if has(claim.replacement) then max(0, claim.replacement.price - "
                               "claim.motor_payout) else 0.00 EUR")
    assert unguarded(tmp_path, text, **{**CAR_OK, "DOCUMENT": "when: item.price > 0\n    provided: true",
                                        "REFERRAL": "gap > 50000.00 EUR"}) == [
        (line_of(REPLACEMENT, "holds:") + 1, "claim.replacement.price may be absent (claim.replacement is optional) and nothing here guarantees it: "
             "guard the read, e.g. `has(claim.replacement) and ...` or `if has(claim.replacement) then ... else ...`")]


def test_an_exclusions_unless_knows_its_circumstance_and_when(tmp_path):
    text = """\
    id: phone
    name: Phone
    version: "2024-01-01"
    effective_from: 2024-01-01
    currencies: [EUR]
    fields:
      claim.repairable: {type: bool}
      claim.repair_cost: {type: money, required_when: claim.repairable}
      claim.liable: {type: text, optional: true}
      claim.circumstances: {type: list, values: [third_party], default: []}
    exclusions:
      third-party:
        clause: G
        message: A third party is liable.
        circumstance: third_party
        when: claim.repairable
        unless: claim.repair_cost < 10.00 EUR
    settlement:
      kind: repair
      payout: if claim.repairable then claim.repair_cost else 0.00 EUR
      excess: 0.00 EUR
    """
    assert problems(tmp_path, text) == []
    assert [line for line, _ in unguarded(tmp_path, text.replace("    when: claim.repairable", "    when: true"))] == [
        line_of(text, "unless:")]


# -- a table row's currency -----------------------------------------------------------------------
SHIPPED = pathlib.Path(__file__).resolve().parents[2] / "products"


def shipped_phone_plans(tmp_path, rows: str, declared: str = "") -> list:
    """accidental-damage (and screen-protection, which extends it) with the excess table's rows
    changed; its problems."""
    text = (SHIPPED / "accidental-damage.yaml").read_text(encoding="utf-8")
    assert text.count("    currencies_by_design: [RO]\n") == 1        # the default row's EUR, by design
    text = text.replace("    currencies_by_design: [RO]\n", "")
    old = "    rows:\n      DK: 375.00 DKK\n"
    assert old in text
    text = text.replace(old, f"{declared}    rows:\n{rows}      DK: 375.00 DKK\n")
    (tmp_path / "accidental-damage.yaml").write_text(text, encoding="utf-8")
    shutil.copy(SHIPPED / "screen-protection.yaml", tmp_path / "screen-protection.yaml")
    return [(p.severity, p.code, p.line, p.message) for p in load(str(tmp_path)).problems]


def test_the_shipped_phone_plans_may_say_romanias_excess_is_in_euros_by_design(tmp_path):
    assert shipped_phone_plans(tmp_path, "      RO: 50.00 EUR\n", "    currencies_by_design: [RO]\n") == []


def test_a_row_in_another_currency_is_an_error_reported_once_for_the_base_and_its_derived_product(tmp_path):
    found = shipped_phone_plans(tmp_path, "      RO: 50.00 EUR\n")
    assert [(severity, code) for severity, code, _, _ in found] == [("error", "product.table"),
                                                                    ("error", "ref.base-has-errors")]
    assert found[0][3] == ("the row for RO is in EUR, but RO uses RON; if the wording means it, say so: "
                           "`currencies_by_design: [RO]`")


def test_currencies_by_design_names_rows_in_another_currency(tmp_path):
    # Bulgaria has no row: it takes the default row, 50.00 EUR, in another currency than its own
    found = shipped_phone_plans(tmp_path, "      RO: 50.00 EUR\n", "    currencies_by_design: [RO, DK, BG]\n")
    assert [(severity, message) for severity, _, _, message in found] == [
        ("warning", "the row for DK is in DKK, DK's own currency: nothing to declare")]


def test_a_country_declared_without_a_row_needs_a_default_row(tmp_path):
    text = GADGET.replace("    key: code\n    rows: {a: ROW}\n    default: 1\n",
                          "    key: country\n    currencies_by_design: [RO]\n    rows: {DE: 10.00 EUR}\n")
    assert [(code, message) for code, _, message in problems(tmp_path, text, **{**GADGET_OK, "TABLE": "fees"})] == [
        ("product.table", "'RO' has no row in fees, and fees has no default row")]


# -- the order of a band schedule -----------------------------------------------------------------
def schedule(values: list[str], unit_step: int = 100) -> str:
    bands = "\n".join(f"      - {{from: {i * unit_step}, {'to: ' + str(i * unit_step + unit_step - 1) + ', ' if i + 1 < len(values) else ''}"
                      f"value: {value}}}" for i, value in enumerate(values))
    return f"""\
id: gadget
name: Gadget
version: "2024-01-01"
effective_from: 2024-01-01
currencies: [EUR]
fields:
  item.price: {{type: money}}
  claim.days: {{type: integer, min: 0}}
bands:
  by_days:
    unit: days
    bands:
{bands}
settlement:
  kind: repair
  payout: item.price * (1 - by_days[claim.days])
  excess: 0.00 EUR
"""


@pytest.mark.parametrize("values, band, message", [
    # the band that breaks the order, not the one after it
    (["30%", "0%", "10%", "20%"], 0, "30% before 0%, while the other bands increase"),
    (["0%", "10%", "40%", "20%", "30%"], 2, "40% between 10% and 20%, while the other bands increase"),
    (["0%", "25%", "20%"], 2, "20% after 25%, while the other bands increase"),
    (["40%", "30%", "5%", "20%", "10%"], 2, "5% between 30% and 20%, while the other bands decrease"),
    (["0%", "10%", "20%", "30%", "0%"], 4, "0% after 30%, while the other bands increase"),
])
def test_a_schedule_out_of_order_is_reported_at_the_band_that_breaks_it(tmp_path, values, band, message):
    text = schedule(values)
    found = problems(tmp_path, text)
    assert found == [("product.bands", line_of(text, f"from: {band * 100},"), f"not monotonic: {message}")]


@pytest.mark.parametrize("values", [["0%", "10%", "10%", "30%"], ["30%", "20%", "20%", "0%"]])
def test_a_monotonic_schedule_is_fine(tmp_path, values):
    assert problems(tmp_path, schedule(values)) == []


# -- rates and percentages ------------------------------------------------------------------------
GADGET = """\
id: gadget
name: Gadget
version: "2024-01-01"
effective_from: 2024-01-01
currencies: [EUR]
fields:
  item.price: {type: money}
  claim.days: {type: integer, min: 0}
  claim.negligence_share: {type: decimal, min: 0, max: 1, default: 0}
definitions:
  co_payment: CO_PAYMENT
  rate: by_days[claim.days]
tables:
  TABLE:
    key: code
    rows: {a: ROW}
    default: 1
bands:
  by_days:
    unit: days
    bands:
      - {from: 0, to: 99, value: 0%}
      - {from: 100, value: BAND}
referrals:
  at-fault:
    clause: "1"
    message: At fault.
    when: REFERRAL
settlement:
  kind: repair
  depreciation: DEPRECIATION
  steps:
    - amount: item.price
    - adjust: amount * co_payment
      reason: co-payment
      clause: "2"
      message: A co-payment.
"""
GADGET_OK = dict(CO_PAYMENT="80%", TABLE="factor_by_kind", ROW="1.5", BAND="20%",
                 REFERRAL="claim.negligence_share > 50%", DEPRECIATION="rate")


def rate_problems(tmp_path, **change):
    text = GADGET
    for key, value in {**GADGET_OK, **change}.items():
        text = text.replace(key, value)
    return [(line, message) for code, line, message in problems(tmp_path, text) if code == "product.rate"]


def test_rates_within_0_and_1_and_a_multiplier_that_is_no_rate_are_fine(tmp_path):
    assert problems(tmp_path, GADGET, **GADGET_OK) == []


@pytest.mark.parametrize("change, line, message", [
    ({"DEPRECIATION": "15"}, "depreciation:",
     "a depreciation rate is between 0 % and 100 %, not 1500 %; write 15%"),
    ({"BAND": "130%"}, "from: 100",
     "'by_days' is a rate (the settlement's depreciation): its values are between 0 % and 100 %, not 130 %"),
    ({"BAND": "20"}, "from: 100", "20 means 2000 %; write 20% (the other values of 'by_days' are percentages)"),
    ({"CO_PAYMENT": "80"}, "- adjust:",
     "an adjustment `amount * X` pays the share X of the amount, between 0 % and 100 %, not 8000 %; write 80%"),
    ({"CO_PAYMENT": "-10%"}, "- adjust:",
     "an adjustment `amount * X` pays the share X of the amount, between 0 % and 100 %, not -10 %"),
    ({"TABLE": "co_payment_rate"}, "rows: {a:",
     "'co_payment_rate' is a rate (its name says it is a rate): its values are between 0 % and 100 %, not 150 %"),
    ({"REFERRAL": "claim.negligence_share between 0 and 50"}, "when: claim.negligence_share",
     "claim.negligence_share is a share, between 0 and 1: 50 means 5000 %; write 50%"),
])
def test_a_rate_outside_0_and_1_is_an_error_at_it(tmp_path, change, line, message):
    text = GADGET
    for key, value in {**GADGET_OK, **change}.items():
        text = text.replace(key, value)
    assert rate_problems(tmp_path, **change) == [(line_of(text, line), message)]


def test_a_share_field_is_bounded_by_0_and_1(tmp_path):
    text = GADGET.replace("claim.negligence_share: {type: decimal, min: 0, max: 1, default: 0}",
                          "claim.fault_share: {type: decimal, min: 0, default: 20}").replace(
        "claim.negligence_share", "claim.fault_share")
    found = [(code, message) for code, _, message in problems(tmp_path, text, **{
        **GADGET_OK, "REFERRAL": "claim.fault_share > 50%"})]
    assert found == [("product.rate", "claim.fault_share is a share, between 0 and 1 (0.25 is a quarter): "
                                      "`default: 20` is 2000 %; write 0.2")]


# -- bounds ---------------------------------------------------------------------------------------------
BOUNDED = """\
id: gadget
name: Gadget
version: "2024-01-01"
effective_from: 2024-01-01
currencies: [EUR]
fields:
  item.price: {type: money}
  claim.count: {type: integer, BOUNDS}
  claim.parts:
    type: list
    LIST
    items:
      weight: {type: decimal, ITEM}
settlement:
  kind: repair
  payout: item.price
  excess: 0.00 EUR
"""
BOUNDED_OK = dict(BOUNDS="min: 1.5, max: 2", LIST="min_items: 1", ITEM="min: 0.5, max: 0.5")


@pytest.mark.parametrize("change, line, problem", [
    ({"BOUNDS": "min: 3, max: 2"}, "claim.count", ("product.bounds", "max 2 is below min 3: no value can meet both")),
    ({"BOUNDS": "min: 2.1, max: 2.9"}, "claim.count",
     ("product.bounds", "no whole number is between min 2.1 and max 2.9: no value of this integer field can meet "
                        "them")),
    ({"BOUNDS": "min: 0, max: 9, default: 10"}, "claim.count",
     ("product.field", "default: claim.count: 10 is above the maximum 9")),
    ({"LIST": "min_items: 3\n    max_items: 2"}, "max_items",
     ("product.bounds", "max_items 2 is below min_items 3: no list can meet both")),
    ({"ITEM": "min: 1, max: 0.5"}, "weight:", ("product.bounds", "max 0.5 is below min 1: no value can meet both")),
])
def test_bounds_no_value_can_meet_are_an_error_at_their_key(tmp_path, change, line, problem):
    text = BOUNDED
    for key, value in {**BOUNDED_OK, **change}.items():
        text = text.replace(key, value)
    assert [(code, found_line, message) for code, found_line, message in problems(tmp_path, text)] == [
        (problem[0], line_of(text, line), problem[1])]


def test_bounds_some_value_meets_are_fine(tmp_path):
    assert problems(tmp_path, BOUNDED, **BOUNDED_OK) == []


# -- a derived product's patch ---------------------------------------------------------------------
def derived(tmp_path, patch: str) -> tuple[list, object]:
    """screen-protection's header on accidental-damage, with `patch`: its problems and what loaded."""
    shutil.copy(SHIPPED / "accidental-damage.yaml", tmp_path / "accidental-damage.yaml")
    (tmp_path / "screen.yaml").write_text(textwrap.dedent("""\
        id: screen
        name: Screen plan
        version: "2024-01-01"
        effective_from: 2024-01-01
        extends: accidental-damage
        """) + textwrap.dedent(patch), encoding="utf-8")
    loaded = load(str(tmp_path))
    return [(p.code, p.message) for p in loaded.problems], loaded


@pytest.mark.parametrize("patch", [
    "eligibility:\n  residence: null\n",
    "eligibility:\n  late-enrolment: {message: Too late.}\n",
    "eligibility:\n  new-rule: {clause: X, message: New., when: claim.days_outside_residence > 30}\n",
    "events:\n  covered:\n    liquid: {splash: null}\n",
    "events:\n  covered:\n    liquid: {spill: spilt liquid}\n",
    "tables:\n  excess_by_country:\n    rows: {GB: null}\n",
])
def test_a_patch_that_means_what_it_says_is_fine(tmp_path, patch):
    found, loaded = derived(tmp_path, patch)
    assert found == [] and "screen" in loaded.products


@pytest.mark.parametrize("patch, problem", [
    ("events:\n  covered:\n    liquid: {splsh: null}\n",
     ("ref.unknown-override", "accidental-damage has no event or event group 'liquid.splsh' to remove; did you mean "
                              "'liquid.splash'?")),
    ("tables:\n  excess_by_country:\n    rows: {FR: null}\n",
     ("ref.unknown-override", "accidental-damage has no row of table excess_by_country 'FR'")),
    ("documents:\n  photos: {message: Photos are needed.}\n",
     ("ref.unknown-override", "no document requirement 'photos' in accidental-damage; did you mean 'photo'? (a new one "
                              "would need `document`, `clause` too)")),
    ("events:\n  not_covered:\n    theft: stolen\n",
     ("ref.replaces-group", "this replaces the group theft (4 events) with one event; write `theft: {...}` to change "
                            "its events")),
])
def test_a_patch_that_does_not_do_what_it_says_is_an_error_and_the_product_does_not_load(tmp_path, patch, problem):
    found, loaded = derived(tmp_path, patch)
    assert found == [problem]
    assert "screen" not in loaded.products and "accidental-damage" in loaded.products


def test_an_optional_item_field_needs_its_own_has(tmp_path):
    text = """\
    id: parts
    name: Parts
    version: "2024-01-01"
    effective_from: 2024-01-01
    currencies: [EUR]
    fields:
      claim.parts:
        type: list
        items:
          cost: {type: money}
          discount: {type: money, optional: true}
    settlement:
      kind: repair
      steps:
        - each: part in claim.parts
          steps:
            - amount: part.cost
            - excess: part.discount
              when: WHEN
    """
    assert unguarded(tmp_path, text, WHEN="has(part.discount)") == []
    assert unguarded(tmp_path, text, WHEN="part.cost > 0") == [(
        line_of(text, "- excess:"), "claim.parts[].discount may be absent (an optional item field) and nothing here "
                                    "guarantees it: guard the read, e.g. `has(part.discount) and ...` or `if "
                                    "has(part.discount) then ... else ...`")]
