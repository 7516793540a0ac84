"""Claim validation: the error object (code, message, path, claim_id) for each kind of bad input.

Every case goes through both entry points of the Python API (contract §4):
`book.evaluate` raises `engine.ClaimError`, `book.decide` returns
`{"claim_id", "error": {"code", "message", "path"}}` (contract §3) and never a decision.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from conftest import DELETE, money
from policyconf import ClaimError

AD_ID = "AD-REPAIR"          # claim.id of the `ad_claim` fixture
SP_ID = "SP-REPAIR"
BMW_ID = "BMW-NEW"


def rejected(book, claim, code, path, claim_id=AD_ID, says=()):
    """Assert both API entry points reject `claim` with this code and path; return the message."""
    with pytest.raises(ClaimError) as info:
        book.evaluate(claim)
    error = info.value
    assert (error.code, error.path, error.claim_id) == (code, path, claim_id), error.message
    assert isinstance(error.message, str) and error.message
    for text in says:
        assert text in error.message
    assert error.to_dict() == {"claim_id": claim_id,
                               "error": {"code": code, "message": error.message, "path": path}}
    assert book.decide(claim) == {"claim_id": claim_id,
                                  "error": {"code": code, "message": error.message, "path": path}}
    return error.message


def accepted(book, claim) -> dict:
    """The claim is valid input: a decision, not an error object."""
    result = book.decide(claim)
    assert "error" not in result, result
    assert result["outcome"] in ("approved", "declined", "pending", "referred")
    return result


# -- the envelope ------------------------------------------------------------------------
@pytest.mark.parametrize("claim", [[1, 2], "accidental-damage", 42, None, True, ("a",)],
                         ids=["list", "text", "number", "null", "bool", "tuple"])
def test_claim_that_is_not_an_object(book, claim):
    rejected(book, claim, "claim.not-an-object", None, claim_id=None, says=["object"])


def test_missing_product(book, ad_claim):
    message = rejected(book, ad_claim(product=DELETE), "claim.missing-field", "product")
    assert "accidental-damage" in message          # tells which products there are


def test_null_product_is_missing(book, ad_claim):
    rejected(book, ad_claim(product=None), "claim.missing-field", "product")


def test_unknown_product_suggests_the_nearest(book, ad_claim):
    rejected(book, ad_claim(product="accidental-damag"), "claim.unknown-product", "product",
             says=["accidental-damag'", "did you mean 'accidental-damage'"])


def test_unknown_product_far_from_any_lists_the_products(book, ad_claim):
    message = rejected(book, ad_claim(product="travel"), "claim.unknown-product", "product")
    for product in ("accidental-damage", "screen-protection", "bmw-total-loss"):
        assert product in message


def test_product_that_is_not_text(book, ad_claim):
    rejected(book, ad_claim(product=5), "claim.unknown-product", "product")


# -- unknown fields ----------------------------------------------------------------------
def test_unknown_field_at_top_level(book, ad_claim):
    rejected(book, ad_claim(extra=1), "claim.unknown-field", "extra", says=["extra"])


def test_unknown_nested_field_suggests_the_declared_one(book, ad_claim):
    claim = ad_claim(**{"claim.repair_cost": DELETE, "claim.repair_cots": money("189.00")})
    rejected(book, claim, "claim.unknown-field", "claim.repair_cots",
             says=["claim.repair_cots", "did you mean 'claim.repair_cost'"])


def test_unknown_field_even_when_the_right_one_is_also_given(book, ad_claim):
    claim = ad_claim(**{"claim.repair_cots": money("189.00")})
    rejected(book, claim, "claim.unknown-field", "claim.repair_cots")


def test_unknown_field_deep_in_the_policy(book, ad_claim):
    rejected(book, ad_claim(**{"policy.holder.agee": 34}), "claim.unknown-field", "policy.holder.agee",
             says=["did you mean 'policy.holder.age'"])


def test_unknown_field_inside_a_money_object(book, ad_claim):
    claim = ad_claim(**{"claim.repair_cost": {"amount": "189.00", "currency": "EUR", "vat": "0.19"}})
    rejected(book, claim, "claim.unknown-field", "claim.repair_cost.vat", says=["amount", "currency"])


def test_field_of_another_product_is_unknown(book, ad_claim):
    # claim.damaged_part belongs to screen-protection, not to accidental-damage
    rejected(book, ad_claim(**{"claim.damaged_part": "screen"}), "claim.unknown-field", "claim.damaged_part")


# -- missing and null --------------------------------------------------------------------
def test_missing_required_field(book, ad_claim):
    rejected(book, ad_claim(**{"policy.holder.age": DELETE}), "claim.missing-field", "policy.holder.age",
             says=["policy.holder.age"])


def test_missing_required_object(book, ad_claim):
    rejected(book, ad_claim(**{"policy.holder": DELETE}), "claim.missing-field", "policy.holder")


def test_null_required_object_is_missing(book, ad_claim):
    rejected(book, ad_claim(**{"policy.holder": None}), "claim.missing-field", "policy.holder")


def test_object_given_as_something_else(book, ad_claim):
    rejected(book, ad_claim(**{"policy.holder": "Ion Popescu"}), "claim.type", "policy.holder")
    rejected(book, ad_claim(claim=[1]), "claim.type", "claim", claim_id=None)


@pytest.mark.parametrize("path", ["policy.holder.age", "policy.start", "item.price", "claim.event",
                                  "claim.repairable", "policy.holder.residence"])
def test_null_for_a_required_field_is_invalid(book, ad_claim, path):
    rejected(book, ad_claim(**{path: None}), "claim.missing-field", path)


def test_missing_field_of_the_extending_product(book, sp_claim):
    rejected(book, sp_claim(**{"claim.damaged_part": DELETE}), "claim.missing-field", "claim.damaged_part",
             claim_id=SP_ID)


@pytest.mark.parametrize("path, value", [
    ("claim.negligence_share", None),
    ("claim.days_outside_residence", None),
    ("claim.other_insurance", None),
    ("claim.parts_available", None),
    ("policy.premium_paid", None),
    ("policy.holder.sole_owner", None),
    ("policy.holder.prior_fraud", None),
    ("claim.circumstances", None),
])
def test_null_for_an_optional_field_is_the_same_as_absent(book, ad_claim, path, value):
    with_null = accepted(book, ad_claim(**{path: value}))
    absent = accepted(book, ad_claim(**{path: DELETE}))
    assert with_null == absent
    # every default of these fields leaves the contract's example approved, unchanged
    assert with_null == book.decide(ad_claim())
    assert with_null["outcome"] == "approved" and with_null["payout"] == money("139.00")


def test_null_documents_default_to_none_given(book, ad_claim):
    result = accepted(book, ad_claim(**{"claim.documents": None}))
    assert result == accepted(book, ad_claim(**{"claim.documents": DELETE}))
    assert result["outcome"] == "pending"
    assert sorted(result["missing_documents"]) == ["photo", "proof_of_purchase"]


def test_ids_are_optional(book, ad_claim):
    result = accepted(book, ad_claim(**{"claim.id": DELETE, "policy.id": DELETE}))
    assert result["claim_id"] is None
    assert result["outcome"] == "approved"
    assert accepted(book, ad_claim(**{"claim.id": None}))["claim_id"] is None


def test_optional_object_absent_or_null(book, bmw_claim):
    absent = accepted(book, bmw_claim(**{"claim.replacement": DELETE}))
    assert absent == accepted(book, bmw_claim(**{"claim.replacement": None}))
    assert absent["outcome"] == "pending"
    assert absent["missing_documents"] == ["replacement_purchase"]


def test_optional_object_given_needs_all_its_fields(book, bmw_claim):
    rejected(book, bmw_claim(**{"claim.replacement.brand": DELETE}), "claim.missing-field",
             "claim.replacement.brand", claim_id=BMW_ID)


# -- types -------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [True, False, "34", Decimal("34.5"), 34.5, Decimal("34"), 34.0, [34], {"n": 34}],
                         ids=["true", "false", "text", "decimal-fraction", "float-fraction", "decimal-whole",
                              "float-whole", "list", "object"])
def test_integer_field_takes_only_a_json_integer(book, ad_claim, value):
    rejected(book, ad_claim(**{"policy.holder.age": value}), "claim.type", "policy.holder.age",
             says=["policy.holder.age"])


def test_integer_field_given_text_shows_the_text(book, ad_claim):
    rejected(book, ad_claim(**{"policy.holder.age": "34"}), "claim.type", "policy.holder.age", says=["'34'"])


@pytest.mark.parametrize("value", ["true", 1, 0, "yes", "false"],
                         ids=["text-true", "one", "zero", "yes", "text-false"])
def test_bool_field_takes_only_true_or_false(book, ad_claim, value):
    rejected(book, ad_claim(**{"claim.repairable": value}), "claim.type", "claim.repairable")


@pytest.mark.parametrize("value", [20250101, Decimal("2025.0601"), True, ["2025-06-01"]],
                         ids=["integer", "decimal", "bool", "list"])
def test_date_field_given_something_other_than_text(book, ad_claim, value):
    rejected(book, ad_claim(**{"claim.occurred": value}), "claim.type", "claim.occurred")


@pytest.mark.parametrize("value", ["2025-1-1", "2025-06-01T10:00:00", "01.06.2025", "20250601", "2025-06-01 ", ""])
def test_date_text_in_another_format(book, ad_claim, value):
    rejected(book, ad_claim(**{"claim.occurred": value}), "claim.invalid-date", "claim.occurred",
             says=["YYYY-MM-DD"])


@pytest.mark.parametrize("value", ["2025-02-30", "2023-02-29", "2025-13-01", "2025-04-31", "2025-00-10"])
def test_impossible_date(book, ad_claim, value):
    rejected(book, ad_claim(**{"claim.occurred": value}), "claim.invalid-date", "claim.occurred", says=[value])


def test_leap_day_of_a_leap_year_is_a_date(book, ad_claim):
    accepted(book, ad_claim(**{"claim.occurred": "2024-02-29", "claim.reported": "2024-03-01",
                               "policy.purchased": "2024-01-10", "policy.start": "2024-01-10",
                               "item.purchased": "2024-01-08"}))


def test_reported_before_occurred(book, ad_claim):
    rejected(book, ad_claim(**{"claim.reported": "2025-05-31"}), "claim.date-order", "claim.reported",
             says=["claim.occurred"])


def test_policy_ends_before_it_starts(book, ad_claim):
    rejected(book, ad_claim(**{"policy.end": "2025-01-09"}), "claim.date-order", "policy.end",
             says=["policy.start"])


def test_same_day_is_in_order(book, ad_claim):
    accepted(book, ad_claim(**{"claim.reported": "2025-06-01"}))
    accepted(book, ad_claim(**{"policy.end": "2025-01-10", "claim.occurred": "2025-01-10",
                               "claim.reported": "2025-01-10"}))


def test_text_field_given_a_number(book, ad_claim):
    rejected(book, ad_claim(**{"claim.id": 77}), "claim.type", "claim.id", claim_id=None)


def test_text_pattern_violation_does_not_echo_personal_data(book, bmw_claim):
    message = rejected(book, bmw_claim(**{"item.vin": "WBA5R1C05LFH1234O"}), "claim.pattern", "item.vin",
                       claim_id=BMW_ID)
    assert "WBA5R1C05LFH1234O" not in message       # the VIN is marked pii


# -- codes: events, circumstances, documents, countries ----------------------------------
def test_unknown_event(book, ad_claim):
    rejected(book, ad_claim(**{"claim.event": "dropp"}), "claim.unknown-code", "claim.event",
             says=["'dropp'", "did you mean 'drop'"])


def test_event_of_another_product(book, ad_claim):
    rejected(book, ad_claim(**{"claim.event": "total_loss"}), "claim.unknown-code", "claim.event")


def test_parent_event_is_not_an_event(book, ad_claim):
    rejected(book, ad_claim(**{"claim.event": "liquid"}), "claim.unknown-code", "claim.event",
             says=["liquid.immersion", "liquid.wetting", "liquid.splash"])


def test_parent_of_uncovered_events_is_not_an_event_either(book, ad_claim):
    message = rejected(book, ad_claim(**{"claim.event": "theft"}), "claim.unknown-code", "claim.event")
    for leaf in ("theft.burglary", "theft.vehicle", "theft.robbery", "theft.pickpocket"):
        assert leaf in message


def test_event_given_a_number(book, ad_claim):
    rejected(book, ad_claim(**{"claim.event": 3}), "claim.type", "claim.event")


def test_leaf_events_are_accepted(book, ad_claim):
    assert accepted(book, ad_claim(**{"claim.event": "liquid.splash"}))["outcome"] == "approved"
    assert accepted(book, ad_claim(**{"claim.event": "theft.burglary"}))["outcome"] == "declined"


def test_unknown_circumstance_path_has_the_index(book, ad_claim):
    rejected(book, ad_claim(**{"claim.circumstances": ["modified", "moddified"]}), "claim.unknown-code",
             "claim.circumstances[1]", says=["'moddified'", "did you mean 'modified'"])


def test_unknown_document_path_has_the_index(book, ad_claim):
    rejected(book, ad_claim(**{"claim.documents": ["receipt", "photo"]}), "claim.unknown-code",
             "claim.documents[0]", says=["'receipt'", "proof_of_purchase"])


def test_list_item_that_is_not_text(book, ad_claim):
    rejected(book, ad_claim(**{"claim.documents": ["photo", "proof_of_purchase", 7]}), "claim.type",
             "claim.documents[2]")


def test_list_field_given_a_single_code(book, ad_claim):
    rejected(book, ad_claim(**{"claim.documents": "photo"}), "claim.type", "claim.documents")


def test_item_kind_outside_its_values(book, ad_claim):
    rejected(book, ad_claim(**{"item.kind": "tablet"}), "claim.unknown-code", "item.kind", says=["mobile_phone"])


def test_country_uk_suggests_gb(book, ad_claim):
    rejected(book, ad_claim(**{"policy.holder.residence": "UK"}), "claim.unknown-code",
             "policy.holder.residence", says=["'UK'", "GB"])


def test_country_in_lower_case(book, ad_claim):
    rejected(book, ad_claim(**{"item.purchased_in": "ro"}), "claim.unknown-code", "item.purchased_in",
             says=["'ro'", "'RO'"])


@pytest.mark.parametrize("value", ["ROU", "Romania", "XX", ""])
def test_country_that_is_not_alpha_2(book, ad_claim, value):
    rejected(book, ad_claim(**{"policy.holder.residence": value}), "claim.unknown-code", "policy.holder.residence")


def test_valid_foreign_country_is_a_decision_not_an_error(book, ad_claim):
    result = accepted(book, ad_claim(**{"policy.holder.residence": "DE", "item.purchased_in": "DE"}))
    assert result["outcome"] == "declined"
    assert [r["code"] for r in result["reasons"]] == ["residence"]


# -- amounts -----------------------------------------------------------------------------
AMOUNT = "claim.repair_cost"                 # an error of an amount names its field (contract §3)


@pytest.mark.parametrize("amount", ["1e3", " 12", "12 ", "12.", ".5", "+12.00", "12,50", "0x10", "NaN",
                                    "Infinity", "", "12.50 EUR"])
def test_amount_text_that_is_not_a_plain_decimal(book, ad_claim, amount):
    rejected(book, ad_claim(**{"claim.repair_cost": money(amount)}), "claim.type", AMOUNT)


def test_negative_amount_text(book, ad_claim):
    # a negative amount gets one code whether written as text or as a number
    rejected(book, ad_claim(**{"claim.repair_cost": money("-5.00")}), "claim.amount", AMOUNT, says=["negative"])


@pytest.mark.parametrize("amount", [Decimal("-5.00"), -5, -0.5], ids=["decimal", "int", "float"])
def test_negative_amount_number(book, ad_claim, amount):
    rejected(book, ad_claim(**{"claim.repair_cost": {"amount": amount, "currency": "EUR"}}), "claim.amount",
             AMOUNT, says=["negative"])


@pytest.mark.parametrize("amount", ["12.345", Decimal("12.345"), "189.001"])
def test_more_decimals_than_the_currency_is_not_rounded(book, ad_claim, amount):
    rejected(book, ad_claim(**{"claim.repair_cost": {"amount": amount, "currency": "EUR"}}), "claim.amount",
             AMOUNT, says=["EUR"])


@pytest.mark.parametrize("amount", ["189.00", "189", "189.0", Decimal("189.00"), 189, 189.0],
                         ids=["text", "text-whole", "text-one-place", "decimal", "int", "float"])
def test_amount_forms_that_are_accepted(book, ad_claim, amount):
    result = accepted(book, ad_claim(**{"claim.repair_cost": {"amount": amount, "currency": "EUR"}}))
    assert result["outcome"] == "approved" and result["settlement"] == "repair"
    assert result["payout"] == money("139.00")


def test_python_float_amount_is_taken_at_its_shortest_decimal(book, ad_claim):
    result = accepted(book, ad_claim(**{"claim.repair_cost": {"amount": 189.5, "currency": "EUR"}}))
    assert result["payout"] == money("139.50")


def test_zero_amount_is_valid(book, ad_claim):
    result = accepted(book, ad_claim(**{"claim.repair_cost": money("0.00")}))
    assert result["payout"] == money("0.00") and result["excess"] == money("0.00")


@pytest.mark.parametrize("amount", [float("nan"), float("inf"), float("-inf"), Decimal("NaN"), Decimal("Infinity")],
                         ids=["nan", "inf", "-inf", "decimal-nan", "decimal-inf"])
def test_non_finite_amount(book, ad_claim, amount):
    rejected(book, ad_claim(**{"claim.repair_cost": {"amount": amount, "currency": "EUR"}}), "claim.type", AMOUNT)


@pytest.mark.parametrize("amount", [True, ["189.00"], {"value": "189.00"}], ids=["bool", "list", "object"])
def test_amount_of_the_wrong_kind(book, ad_claim, amount):
    rejected(book, ad_claim(**{"claim.repair_cost": {"amount": amount, "currency": "EUR"}}), "claim.type", AMOUNT)


def test_money_given_as_plain_text(book, ad_claim):
    rejected(book, ad_claim(**{"claim.repair_cost": "189.00 EUR"}), "claim.type", "claim.repair_cost")


def test_money_without_currency(book, ad_claim):
    rejected(book, ad_claim(**{"claim.repair_cost": {"amount": "189.00"}}), "claim.missing-field",
             "claim.repair_cost")


def test_money_without_amount(book, ad_claim):
    rejected(book, ad_claim(**{"claim.repair_cost": {"currency": "EUR"}}), "claim.missing-field",
             "claim.repair_cost")


@pytest.mark.parametrize("currency", ["eur", "Eur", "XXX", "ABC", "EURO", "€", 978],
                         ids=["lower", "mixed-case", "XXX", "ABC", "four-letters", "symbol", "number"])
def test_currency_that_is_not_an_iso_4217_code(book, ad_claim, currency):
    rejected(book, ad_claim(**{"claim.repair_cost": money("189.00", currency)}), "claim.currency",
             "claim.repair_cost")


def test_currency_the_product_does_not_take(book, ad_claim):
    # an ISO code, but not one of the product's currencies: that, not the mix with EUR, is the error
    rejected(book, ad_claim(**{"item.price": money("899.00", "USD")}), "claim.currency", "item.price",
             says=["USD", "EUR"])
    rejected(book, ad_claim(**{"claim.repair_cost": money("189.00", "USD")}), "claim.currency",
             "claim.repair_cost", says=["USD", "EUR"])


def test_currency_the_bmw_product_does_not_take(book, bmw_claim):
    rejected(book, bmw_claim(**{"item.invoice_price": money("388000.00", "EUR")}), "claim.currency",
             "item.invoice_price", claim_id=BMW_ID, says=["CNY"])


def test_mixed_currencies_in_one_claim(book, ad_claim):
    claim = ad_claim(**{"claim.repair_cost": money("189.00", "GBP")})
    rejected(book, claim, "claim.mixed-currency", "claim.repair_cost", says=["GBP", "EUR"])


def test_currency_that_does_not_fit_the_excess_table(book, ad_claim):
    # all money in GBP, but a Romanian resident's excess row is in EUR: no exchange rate is guessed
    claim = ad_claim(**{"item.price": money("899.00", "GBP"), "claim.repair_cost": money("189.00", "GBP")})
    result = book.decide(claim)
    assert result["claim_id"] == AD_ID
    assert result["error"]["code"] == "claim.currency-mismatch"
    assert "payout" not in result


def test_repair_cost_required_when_repairable(book, ad_claim):
    rejected(book, ad_claim(**{"claim.repair_cost": DELETE}), "claim.missing-field", "claim.repair_cost",
             says=["claim.repairable"])
    rejected(book, ad_claim(**{"claim.repair_cost": None}), "claim.missing-field", "claim.repair_cost")


def test_repair_cost_may_be_absent_when_not_repairable(book, ad_claim):
    result = accepted(book, ad_claim(**{"claim.repair_cost": DELETE, "claim.repairable": False}))
    assert result["outcome"] == "approved" and result["settlement"] == "replacement"
    assert result["payout"] == money("849.00")


def test_repair_cost_still_checked_when_not_repairable(book, ad_claim):
    rejected(book, ad_claim(**{"claim.repairable": False, "claim.repair_cost": money("1e3")}), "claim.type",
             AMOUNT)


# -- decimals and ranges -----------------------------------------------------------------
@pytest.mark.parametrize("share", ["0.2", Decimal("0.2"), 0.2], ids=["text", "decimal", "float"])
def test_negligence_share_as_number_or_decimal_text(book, ad_claim, share):
    result = accepted(book, ad_claim(**{"claim.negligence_share": share}))
    assert result["payout"] == money("111.20")            # (189.00 - 50.00) * 0.8
    assert [r["code"] for r in result["reasons"]] == ["gross-negligence"]


@pytest.mark.parametrize("share", ["0", 0, "1", 1, "1.00"])
def test_negligence_share_bounds_are_inclusive(book, ad_claim, share):
    accepted(book, ad_claim(**{"claim.negligence_share": share}))


@pytest.mark.parametrize("share", [Decimal("1.5"), "1.5", "1.01", -0.1, "-0.1"])
def test_negligence_share_out_of_range(book, ad_claim, share):
    rejected(book, ad_claim(**{"claim.negligence_share": share}), "claim.range", "claim.negligence_share")


@pytest.mark.parametrize("share", ["abc", "20%", "1e-1", True, ["0.2"]])
def test_negligence_share_that_is_not_a_number(book, ad_claim, share):
    rejected(book, ad_claim(**{"claim.negligence_share": share}), "claim.type", "claim.negligence_share")


def test_days_outside_residence_below_zero(book, ad_claim):
    rejected(book, ad_claim(**{"claim.days_outside_residence": -1}), "claim.range",
             "claim.days_outside_residence", says=["-1"])


@pytest.mark.parametrize("age", [-1, 151])
def test_age_out_of_range(book, ad_claim, age):
    rejected(book, ad_claim(**{"policy.holder.age": age}), "claim.range", "policy.holder.age")


# -- claim_id ----------------------------------------------------------------------------
def test_claim_id_is_carried_into_the_error(book, ad_claim):
    claim = ad_claim(**{"claim.id": "CLM-77", "policy.holder.age": "34"})
    rejected(book, claim, "claim.type", "policy.holder.age", claim_id="CLM-77")


def test_claim_id_is_carried_even_when_the_error_is_in_the_envelope(book, ad_claim):
    rejected(book, ad_claim(**{"claim.id": "CLM-78", "product": "nope"}), "claim.unknown-product", "product",
             claim_id="CLM-78")


def test_claim_id_is_null_without_a_claim_id(book, ad_claim):
    rejected(book, ad_claim(**{"claim.id": DELETE, "extra": 1}), "claim.unknown-field", "extra", claim_id=None)


# -- product versions --------------------------------------------------------------------
def test_policy_bought_before_the_first_version(book, ad_claim):
    claim = ad_claim(**{"policy.purchased": "2023-12-31", "policy.start": "2023-12-31",
                        "item.purchased": "2023-12-30"})
    rejected(book, claim, "claim.no-product-version", "policy.purchased", says=["2023-12-31", "2024-01-01"])


def test_policy_bought_on_the_first_day_of_the_version(book, ad_claim):
    result = accepted(book, ad_claim(**{"policy.purchased": "2024-01-01", "policy.start": "2024-01-01",
                                        "item.purchased": "2023-12-30", "claim.occurred": "2024-03-01",
                                        "claim.reported": "2024-03-02"}))
    assert result["product_version"] == "2024-01-01"


def test_extending_product_bought_before_its_first_version(book, sp_claim):
    rejected(book, sp_claim(**{"policy.purchased": "2023-12-31"}), "claim.no-product-version", "policy.purchased",
             claim_id=SP_ID)


def test_bad_purchase_date_is_reported_before_the_version_lookup(book, ad_claim):
    rejected(book, ad_claim(**{"policy.purchased": "2025-02-30"}), "claim.invalid-date", "policy.purchased")
    rejected(book, ad_claim(**{"policy.purchased": 20250110}), "claim.type", "policy.purchased")


# -- an invalid claim is never declined ----------------------------------------------------
@pytest.mark.parametrize("bad, code, path", [
    ({"claim.foo": 1}, "claim.unknown-field", "claim.foo"),
    ({"claim.occurred": "2025-02-30"}, "claim.invalid-date", "claim.occurred"),
    ({"claim.repair_cost": money("1e3")}, "claim.type", AMOUNT),
    ({"claim.circumstances": ["commercial_use", "hobby"]}, "claim.unknown-code", "claim.circumstances[1]"),
    ({"claim.reported": "2025-05-01"}, "claim.date-order", "claim.reported"),
])
def test_invalid_claim_is_an_error_even_when_it_would_be_declined(book, ad_claim, bad, code, path):
    declined = ad_claim(**{"policy.holder.age": 16, "claim.event": "theft.burglary"})
    assert accepted(book, declined)["outcome"] == "declined"
    changes = {"policy.holder.age": 16, "claim.event": "theft.burglary", **bad}
    result = book.decide(ad_claim(**changes))
    assert set(result) == {"claim_id", "error"}
    assert (result["error"]["code"], result["error"]["path"]) == (code, path)


def test_underage_holder_with_unknown_field(book, ad_claim):
    rejected(book, ad_claim(**{"policy.holder.age": 16, "claim.repair_cots": money("189.00")}),
             "claim.unknown-field", "claim.repair_cots")


def test_an_error_never_carries_a_made_up_number(book, ad_claim):
    result = book.decide(ad_claim(**{"claim.repair_cost": money("12.345")}))
    assert set(result) == {"claim_id", "error"}
    assert set(result["error"]) == {"code", "message", "path"}


def test_validation_does_not_change_the_claim(book, ad_claim):
    claim = ad_claim(**{"claim.negligence_share": None})
    before = repr(claim)
    book.decide(claim)
    book.decide(ad_claim(**{"claim.repair_cots": money("1.00")}))
    assert repr(claim) == before


# -- defaults ------------------------------------------------------------------------------
OPTIONAL_AD_FIELDS = ["policy.id", "policy.premium_paid", "policy.holder.sole_owner", "policy.holder.prior_fraud",
                      "claim.id", "claim.parts_available", "claim.documents", "claim.circumstances",
                      "claim.days_outside_residence", "claim.negligence_share", "claim.other_insurance"]


def minimal_ad_claim(ad_claim, **changes):
    return ad_claim(**{**{path: DELETE for path in OPTIONAL_AD_FIELDS}, **changes})


def test_minimal_claim_gets_the_defaults_of_products_md(book, ad_claim):
    claim = minimal_ad_claim(ad_claim)
    assert set(claim["claim"]) == {"event", "occurred", "reported", "repairable", "repair_cost"}
    values, currency = book.product("accidental-damage").validator.validate(claim)
    assert currency == "EUR"
    assert values["policy.premium_paid"] is True
    assert values["policy.holder.sole_owner"] is True
    assert values["policy.holder.prior_fraud"] is False
    assert values["claim.parts_available"] is True
    assert list(values["claim.documents"]) == []
    assert list(values["claim.circumstances"]) == []
    assert values["claim.days_outside_residence"] == 0
    assert values["claim.negligence_share"] == 0
    assert values["claim.other_insurance"] is False


def test_minimal_claim_is_decided_with_the_defaults(book, ad_claim):
    # documents default to none given: pending, nothing else holds
    pending = accepted(book, minimal_ad_claim(ad_claim))
    assert pending["claim_id"] is None
    assert pending["outcome"] == "pending"
    assert sorted(pending["missing_documents"]) == ["photo", "proof_of_purchase"]
    assert pending["reasons"] == []
    # with the documents, the defaults (premium paid, sole owner, no prior fraud, parts available,
    # 0 days abroad, no negligence, no other insurance) give the contract's approved repair
    approved = accepted(book, minimal_ad_claim(ad_claim, **{"claim.documents": ["photo", "proof_of_purchase"]}))
    full = book.decide(ad_claim(**{"claim.id": DELETE}))
    assert approved == full
    assert approved["outcome"] == "approved" and approved["settlement"] == "repair"
    assert approved["payout"] == money("139.00") and approved["excess"] == money("50.00")
    assert approved["reasons"] == []


def test_minimal_screen_protection_claim(book, sp_claim):
    claim = sp_claim(**{**{path: DELETE for path in OPTIONAL_AD_FIELDS},
                        "claim.documents": ["photo", "proof_of_purchase"]})
    result = accepted(book, claim)
    assert result["outcome"] == "approved"
    assert result["excess"] == money("30.00")


CONDITIONED = """\
id: conditioned
name: A field required above an amount
version: "1"
effective_from: 2025-01-01
currencies: [EUR, GBP]
fields:
  claim.event: {type: code, values: [loss]}
  claim.amount: {type: money}
  claim.receipt: {type: text, required_when: claim.amount > 100.00 EUR}
eligibility: {}
settlement:
  kind: '"cash"'
  payout: claim.amount
  excess: 0
"""


def test_a_condition_reads_the_claims_money_in_its_own_currency(tmp_path):
    from policyconf import load_products
    (tmp_path / "conditioned.yaml").write_text(CONDITIONED, encoding="utf-8")
    book = load_products(str(tmp_path))

    def claim(amount, currency, **more):
        return {"product": "conditioned", "claim": {"event": "loss", "amount": money(amount, currency), **more}}
    assert book.decide(claim("100.00", "EUR"))["outcome"] == "approved"
    assert book.decide(claim("100.01", "EUR"))["error"] == {
        "code": "claim.missing-field", "path": "claim.receipt",
        "message": "claim.receipt is required when claim.amount > 100.00 EUR"}
    assert book.decide(claim("100.01", "EUR", receipt="R-1"))["outcome"] == "approved"
    # in pounds, the condition's euros are not compared: no exchange rate is applied
    assert book.decide(claim("20.00", "GBP"))["error"] == {
        "code": "claim.currency-mismatch", "path": "claim.amount",
        "message": "claim.amount is in GBP, but the required_when of claim.receipt uses an amount in EUR "
                   "(100.00 EUR); no exchange rate is applied"}
