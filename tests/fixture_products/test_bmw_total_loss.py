"""bmw-total-loss, rule by rule (shared/spec/products-bmw.md).

Every rule has a test on both sides of its boundary, so that removing the rule or changing its
number makes a test fail.  The base claims are worked examples 4 (`bmw_claim`, variant new,
84,036.28 CNY) and 5 (`bmw_used_claim`, variant used, 61,300.00 CNY) of examples.md.

These tests exercise the engine on a frozen copy of bmw-total-loss (tests/fixtures/products), a
realistic product whose every number is pinned here: they fail when the engine changes, not when
a product manager changes the shipped product (its own products/*.tests.yaml cases, run
by tests/test_shipped_products.py, pin that).
"""
from __future__ import annotations

import json

import pytest

from conftest import DELETE, money
from policyconf import ClaimError

PRODUCT = "bmw-total-loss"
VERSION = "2019-11-30"

DOCUMENTS = ["loss_notice", "service_contract", "total_loss_proof", "vehicle_license", "driver_license",
             "id_card", "purchase_invoice"]

EXCLUSIONS = {
    "details_mismatch": "details-mismatch",
    "modified": "modified",
    "transferred": "transferred",
    "intentional": "intentional",
    "gross_negligence": "gross-negligence",
    "fraud": "fraud",
    "criminal_act": "criminal-act",
    "improper_use": "improper-use",
    "defect_wear": "defect-wear",
    "war_terrorism": "war-terrorism",
    "nuclear_pollution": "nuclear-pollution",
    "government_action": "government-action",
}

REPLACEMENT_FIELDS = ["brand", "msrp", "purchase_tax", "delivery_fees", "registration_fees", "insurance_premium"]

VALID_VIN = "WBA5R1C05LFH12345"


def cny(amount: str) -> dict:
    return money(amount, "CNY")


ZERO = {"amount": "0.00", "currency": "CNY"}


def decide(book, claim) -> dict:
    return book.evaluate(claim).to_dict()


def codes(decision: dict) -> list[str]:
    return [reason["code"] for reason in decision["reasons"]]


def assert_approved(decision: dict, payout: str | None = None) -> None:
    assert decision["outcome"] == "approved", decision["reasons"] or decision["missing_documents"]
    assert decision["reasons"] == []
    assert decision["missing_documents"] == []
    assert decision["settlement"] == "vehicle_replacement"
    assert decision["excess"] == ZERO
    assert decision["depreciation"] == "0.00"
    if payout is not None:
        assert decision["payout"] == {"amount": payout, "currency": "CNY"}


def assert_declined(decision: dict, *rule_codes: str) -> None:
    assert decision["outcome"] == "declined"
    assert codes(decision) == list(rule_codes)
    assert decision["settlement"] is None
    assert decision["payout"] == ZERO
    assert decision["excess"] == ZERO
    assert decision["depreciation"] is None
    assert decision["missing_documents"] == []


def assert_pending(decision: dict, *missing: str) -> None:
    assert decision["outcome"] == "pending", decision["reasons"]
    assert decision["reasons"] == []
    assert decision["missing_documents"] == list(missing)
    assert decision["settlement"] is None
    assert decision["payout"] == ZERO
    assert decision["excess"] == ZERO
    assert decision["depreciation"] is None


def claim_error(book, claim) -> ClaimError:
    with pytest.raises(ClaimError) as info:
        book.evaluate(claim)
    return info.value


# -- the worked examples ------------------------------------------------------------------------

def test_worked_example_4_new(book, bmw_claim):
    decision = decide(book, bmw_claim())
    assert {k: v for k, v in decision.items() if k != "trace"} == {
        "claim_id": "BMW-NEW",
        "product": PRODUCT,
        "product_version": VERSION,
        "outcome": "approved",
        "settlement": "vehicle_replacement",
        "payout": {"amount": "84036.28", "currency": "CNY"},
        "excess": {"amount": "0.00", "currency": "CNY"},
        "depreciation": "0.00",
        "reasons": [],
        "missing_documents": [],
    }
    assert decision["trace"], "the trace explains the computation"


def test_worked_example_5_used(book, bmw_used_claim):
    decision = decide(book, bmw_used_claim())
    assert {k: v for k, v in decision.items() if k != "trace"} == {
        "claim_id": "BMW-USED",
        "product": PRODUCT,
        "product_version": VERSION,
        "outcome": "approved",
        "settlement": "vehicle_replacement",
        "payout": {"amount": "61300.00", "currency": "CNY"},
        "excess": {"amount": "0.00", "currency": "CNY"},
        "depreciation": "0.00",
        "reasons": [],
        "missing_documents": [],
    }


def test_decide_returns_the_same_document(book, bmw_claim):
    claim = bmw_claim()
    assert book.decide(claim) == book.evaluate(claim).to_dict()


# -- eligibility: brand ---------------------------------------------------------------------------

@pytest.mark.parametrize("brand", ["BMW", "MINI"])
def test_brand_bmw_group_accepted(book, bmw_claim, brand):
    assert_approved(decide(book, bmw_claim(**{"item.brand": brand})), "84036.28")


@pytest.mark.parametrize("brand", ["bmw", "Mini", "Audi", "BMW ", "Rolls-Royce"])
def test_brand_other_declined(book, bmw_claim, brand):
    decision = decide(book, bmw_claim(**{"item.brand": brand}))
    assert_declined(decision, "brand")
    assert decision["reasons"] == [{"code": "brand", "clause": "1.4", "message": decision["reasons"][0]["message"]}]
    assert decision["reasons"][0]["message"]


# -- eligibility: seats -----------------------------------------------------------------------------

@pytest.mark.parametrize("seats", [1, 5, 9])
def test_seats_up_to_9_accepted(book, bmw_claim, seats):
    assert_approved(decide(book, bmw_claim(**{"item.seats": seats})), "84036.28")


@pytest.mark.parametrize("seats", [10, 50])
def test_seats_above_9_declined(book, bmw_claim, seats):
    decision = decide(book, bmw_claim(**{"item.seats": seats}))
    assert_declined(decision, "seats")
    assert decision["reasons"][0]["clause"] == "contract"


# -- eligibility: commercial use ----------------------------------------------------------------

@pytest.mark.parametrize("use", ["private", "company"])
def test_non_commercial_use_accepted(book, bmw_claim, use):
    assert_approved(decide(book, bmw_claim(**{"item.use": use})), "84036.28")


@pytest.mark.parametrize("use", ["commercial", "rental", "test_drive", "ride_hailing"])
def test_commercial_use_declined(book, bmw_claim, use):
    decision = decide(book, bmw_claim(**{"item.use": use}))
    assert_declined(decision, "commercial-use")
    assert decision["reasons"][0]["clause"] == "contract"


# -- eligibility: vehicle too old when the service was bought -------------------------------------

# (item.purchased, policy.purchased, declined?) for variant new: 12 months, months clamped.
NEW_AGE_CASES = [
    ("2024-01-31", "2025-01-31", False),      # exactly 12 months (the base claim's car)
    ("2024-01-31", "2025-02-01", True),       # one day later
    ("2023-01-31", "2024-01-31", False),
    ("2023-01-31", "2024-02-01", True),
    ("2024-02-29", "2025-02-28", False),      # 2024-02-29 + 12 months = 2025-02-28 (clamped)
    ("2024-02-29", "2025-03-01", True),
]


@pytest.mark.parametrize("item_purchased, policy_purchased, declined", NEW_AGE_CASES)
def test_vehicle_too_old_new_12_months(book, bmw_claim, item_purchased, policy_purchased, declined):
    claim = bmw_claim(**{"item.purchased": item_purchased, "policy.purchased": policy_purchased,
                         "policy.start": "2024-03-01", "policy.end": "2026-12-31"})
    decision = decide(book, claim)
    if declined:
        assert_declined(decision, "vehicle-too-old")
        assert decision["reasons"][0]["clause"] == "contract"
    else:
        assert_approved(decision, "84036.28")


# (item.purchased, policy.purchased, declined?) for variant used: 48 months.
USED_AGE_CASES = [
    ("2021-01-10", "2025-01-10", False),      # exactly 48 months before the base policy.purchased
    ("2021-01-09", "2025-01-10", True),       # one day more
    ("2021-05-20", "2025-05-20", False),
    ("2021-05-20", "2025-05-21", True),
    ("2021-03-31", "2025-03-31", False),
    ("2021-03-31", "2025-04-01", True),
    ("2020-02-29", "2024-02-29", False),      # leap day to leap day
    ("2020-02-29", "2024-03-01", True),
]


@pytest.mark.parametrize("item_purchased, policy_purchased, declined", USED_AGE_CASES)
def test_vehicle_too_old_used_48_months(book, bmw_used_claim, item_purchased, policy_purchased, declined):
    claim = bmw_used_claim(**{"item.purchased": item_purchased, "policy.purchased": policy_purchased})
    decision = decide(book, claim)
    if declined:
        assert_declined(decision, "vehicle-too-old")
    else:
        assert_approved(decision)


def test_used_car_is_not_held_to_12_months(book, bmw_used_claim):
    # Bought 2 years before the service: too old for variant new, fine for variant used.
    changes = {"item.purchased": "2023-01-10", "claim.replacement.msrp": cny("400000.00")}
    assert_approved(decide(book, bmw_used_claim(**changes)))
    assert_declined(decide(book, bmw_used_claim(**changes, **{"policy.variant": "new"})), "vehicle-too-old")


@pytest.mark.parametrize("policy_purchased, declined", [("2100-02-28", False), ("2100-03-01", True)])
def test_vehicle_too_old_used_century_non_leap_year(book, bmw_used_claim, policy_purchased, declined):
    # 2096-02-29 + 48 months = 2100-02-28: 2100 is not a leap year, the day is clamped.
    claim = bmw_used_claim(**{"item.purchased": "2096-02-29", "policy.purchased": policy_purchased,
                              "policy.start": "2100-03-01", "policy.end": "2102-12-31",
                              "claim.occurred": "2100-06-01", "claim.reported": "2100-06-02"})
    decision = decide(book, claim)
    if declined:
        assert_declined(decision, "vehicle-too-old")
    else:
        assert_approved(decision)


# -- eligibility: premium, prior claims -------------------------------------------------------------

def test_premium_paid_default_true(book, bmw_claim):
    assert_approved(decide(book, bmw_claim(**{"policy.premium_paid": DELETE})), "84036.28")
    assert_approved(decide(book, bmw_claim(**{"policy.premium_paid": True})), "84036.28")


def test_premium_unpaid_declined(book, bmw_claim):
    decision = decide(book, bmw_claim(**{"policy.premium_paid": False}))
    assert_declined(decision, "premium-unpaid")
    assert decision["reasons"][0]["clause"] == "contract"


@pytest.mark.parametrize("prior", [0, DELETE])
def test_no_prior_claim_accepted(book, bmw_claim, prior):
    assert_approved(decide(book, bmw_claim(**{"policy.prior_claims": prior})), "84036.28")


@pytest.mark.parametrize("prior", [1, 2])
def test_benefit_used_declined(book, bmw_claim, prior):
    decision = decide(book, bmw_claim(**{"policy.prior_claims": prior}))
    assert_declined(decision, "benefit-used")
    assert decision["reasons"][0]["clause"] == "contract"


# -- eligibility: service period ----------------------------------------------------------------

@pytest.mark.parametrize("occurred, declined", [("2024-02-01", False), ("2024-01-31", True)])
def test_service_period_start(book, bmw_claim, occurred, declined):
    # policy.start 2024-02-01
    decision = decide(book, bmw_claim(**{"claim.occurred": occurred}))
    if declined:
        assert_declined(decision, "outside-service-period")
        assert decision["reasons"][0]["clause"] == "1.4"
    else:
        assert_approved(decision, "84036.28")


@pytest.mark.parametrize("occurred, declined", [("2026-06-30", False), ("2026-07-01", True)])
def test_service_period_end(book, bmw_claim, occurred, declined):
    claim = bmw_claim(**{"policy.end": "2026-06-30", "claim.occurred": occurred, "claim.reported": "2026-07-10"})
    decision = decide(book, claim)
    if declined:
        assert_declined(decision, "outside-service-period")
    else:
        assert_approved(decision, "84036.28")


@pytest.mark.parametrize("occurred, declined", [("2027-01-30", False), ("2027-01-31", True), ("2027-06-01", True)])
def test_new_car_service_ends_36_months_after_purchase(book, bmw_claim, occurred, declined):
    # item.purchased 2024-01-31 + 36 months = 2027-01-31; policy.end is later.
    claim = bmw_claim(**{"policy.end": "2028-12-31", "claim.occurred": occurred, "claim.reported": occurred})
    decision = decide(book, claim)
    if declined:
        assert_declined(decision, "outside-service-period")
    else:
        assert_approved(decision, "84036.28")


@pytest.mark.parametrize("occurred, declined", [("2027-02-27", False), ("2027-02-28", True)])
def test_new_car_36_months_from_leap_day(book, bmw_claim, occurred, declined):
    # 2024-02-29 + 36 months = 2027-02-28 (clamped)
    claim = bmw_claim(**{"item.purchased": "2024-02-29", "policy.purchased": "2024-03-01",
                         "policy.start": "2024-03-01", "policy.end": "2028-12-31",
                         "claim.occurred": occurred, "claim.reported": occurred})
    decision = decide(book, claim)
    if declined:
        assert_declined(decision, "outside-service-period")
    else:
        assert_approved(decision, "84036.28")


@pytest.mark.parametrize("occurred, payout", [
    ("2026-05-19", "64500.00"),     # 35 months: gap 63,000 capped to 300,000 - 250,000 = 50,000
    ("2026-05-20", "64500.00"),     # item.purchased 2023-05-20 + 36 months
    ("2027-12-31", "64500.00"),
])
def test_used_car_not_limited_to_36_months(book, bmw_used_claim, occurred, payout):
    claim = bmw_used_claim(**{"claim.occurred": occurred, "claim.reported": occurred})
    assert_approved(decide(book, claim), payout)


@pytest.mark.parametrize("occurred", ["2028-01-09", "2028-01-10"])
def test_used_car_service_period_end(book, bmw_used_claim, occurred):
    decision = decide(book, bmw_used_claim(**{"claim.occurred": occurred, "claim.reported": occurred}))
    if occurred == "2028-01-09":
        assert_approved(decision, "64500.00")
    else:
        assert_declined(decision, "outside-service-period")


# -- eligibility: time bar ------------------------------------------------------------------------

@pytest.mark.parametrize("occurred, reported, declined", [
    ("2025-09-20", "2025-09-20", False),
    ("2025-09-20", "2027-09-20", False),      # exactly 2 years
    ("2025-09-20", "2027-09-21", True),       # one day later
    ("2024-02-29", "2026-02-28", False),      # 2024-02-29 + 2 years = 2026-02-28 (clamped)
    ("2024-02-29", "2026-03-01", True),
    ("2026-06-01", "2028-06-01", False),      # 2 calendar years, 731 days (2028-02-29 in between)
    ("2026-06-01", "2028-06-02", True),
])
def test_time_barred_after_2_years(book, bmw_claim, occurred, reported, declined):
    decision = decide(book, bmw_claim(**{"claim.occurred": occurred, "claim.reported": reported}))
    if declined:
        assert_declined(decision, "time-barred")
        assert decision["reasons"][0]["clause"] == "保险法 art. 26"
    else:
        assert_approved(decision, "84036.28")


# -- eligibility: motor cover ------------------------------------------------------------------

@pytest.mark.parametrize("commercial, ctpl", [(False, True), (True, False), (False, False)])
def test_motor_cover_lapsed(book, bmw_claim, commercial, ctpl):
    claim = bmw_claim(**{"claim.motor.commercial_in_force": commercial, "claim.motor.ctpl_in_force": ctpl})
    decision = decide(book, claim)
    assert_declined(decision, "motor-cover-lapsed")
    assert decision["reasons"][0]["clause"] == "contract"


def test_no_total_loss_payout(book, bmw_claim):
    decision = decide(book, bmw_claim(**{"claim.motor.total_loss_paid": False}))
    assert_declined(decision, "no-total-loss-payout")
    assert decision["reasons"][0]["clause"] == "contract"


# -- events -------------------------------------------------------------------------------------

@pytest.mark.parametrize("event", ["total_loss", "constructive_total_loss"])
def test_covered_events(book, bmw_claim, event):
    assert_approved(decide(book, bmw_claim(**{"claim.event": event})), "84036.28")


def test_partial_damage_declined(book, bmw_claim):
    decision = decide(book, bmw_claim(**{"claim.event": "partial_damage"}))
    assert_declined(decision, "partial-loss")
    assert decision["reasons"][0]["clause"] == "1.4"


# -- exclusions ------------------------------------------------------------------------------------

@pytest.mark.parametrize("circumstance, rule", sorted(EXCLUSIONS.items()))
def test_exclusion(book, bmw_claim, circumstance, rule):
    decision = decide(book, bmw_claim(**{"claim.circumstances": [circumstance]}))
    assert_declined(decision, rule)


def test_every_exclusion_listed_in_product_order(book, bmw_claim):
    claim = bmw_claim(**{"claim.circumstances": list(reversed(list(EXCLUSIONS)))})
    assert_declined(decide(book, claim), *EXCLUSIONS.values())


def test_no_circumstances_accepted(book, bmw_claim):
    assert_approved(decide(book, bmw_claim(**{"claim.circumstances": []})), "84036.28")
    assert_approved(decide(book, bmw_claim(**{"claim.circumstances": DELETE})), "84036.28")


def test_declined_lists_every_rule_that_holds_in_product_order(book, bmw_claim):
    claim = bmw_claim(**{"item.brand": "Audi", "item.seats": 12, "claim.event": "partial_damage",
                         "claim.circumstances": ["fraud", "modified"], "claim.motor.total_loss_paid": False,
                         "claim.replacement.brand": "Audi", "claim.documents": []})
    decision = decide(book, claim)
    # declined beats pending: the missing documents are not listed
    assert_declined(decision, "brand", "seats", "no-total-loss-payout", "partial-loss", "modified", "fraud",
                    "replacement-brand")


# -- replacement conditions -------------------------------------------------------------------

@pytest.mark.parametrize("brand", ["BMW", "MINI"])
def test_replacement_brand_bmw_group(book, bmw_claim, brand):
    assert_approved(decide(book, bmw_claim(**{"claim.replacement.brand": brand})), "84036.28")


@pytest.mark.parametrize("brand", ["Audi", "bmw", "mini"])
def test_replacement_brand_other_declined(book, bmw_claim, brand):
    assert_declined(decide(book, bmw_claim(**{"claim.replacement.brand": brand})), "replacement-brand")


def test_replacement_brand_may_differ_within_group(book, bmw_claim):
    # A BMW replaced by a MINI is still a BMW-group car.
    claim = bmw_claim(**{"item.brand": "BMW", "claim.replacement.brand": "MINI"})
    assert_approved(decide(book, claim), "84036.28")


@pytest.mark.parametrize("msrp, declined", [
    ("359100.00", False),    # exactly 90 % of item.msrp 399,000.00
    ("359099.99", True),     # one fen below (but above 90 % of the invoice, 349,200)
    ("350000.00", True),
    ("399000.00", False),
])
def test_replacement_below_90_new_uses_msrp(book, bmw_claim, msrp, declined):
    decision = decide(book, bmw_claim(**{"claim.replacement.msrp": cny(msrp)}))
    if declined:
        assert_declined(decision, "replacement-below-90")
    else:
        assert_approved(decision, "84036.28")


@pytest.mark.parametrize("msrp, declined", [
    ("270000.00", False),    # exactly 90 % of item.invoice_price 300,000.00 (and far below 90 % of the msrp)
    ("269999.99", True),     # one fen below
])
def test_replacement_below_90_used_uses_invoice(book, bmw_used_claim, msrp, declined):
    decision = decide(book, bmw_used_claim(**{"claim.replacement.msrp": cny(msrp)}))
    if declined:
        assert_declined(decision, "replacement-below-90")
    else:
        assert_approved(decision, "61300.00")


# -- documents ---------------------------------------------------------------------------------

@pytest.mark.parametrize("document", DOCUMENTS)
def test_missing_document_pending(book, bmw_claim, document):
    claim = bmw_claim(**{"claim.documents": [d for d in DOCUMENTS if d != document]})
    assert_pending(decide(book, claim), document)


def test_no_documents_pending_lists_all(book, bmw_claim):
    assert_pending(decide(book, bmw_claim(**{"claim.documents": DELETE})), *DOCUMENTS)


def test_documents_in_any_order(book, bmw_claim):
    assert_approved(decide(book, bmw_claim(**{"claim.documents": list(reversed(DOCUMENTS))})), "84036.28")


def test_no_replacement_yet_pending(book, bmw_claim):
    assert_pending(decide(book, bmw_claim(**{"claim.replacement": DELETE})), "replacement_purchase")


def test_null_replacement_is_absent(book, bmw_claim):
    assert_pending(decide(book, bmw_claim(**{"claim.replacement": None})), "replacement_purchase")


def test_no_replacement_and_missing_documents(book, bmw_used_claim):
    claim = bmw_used_claim(**{"claim.replacement": DELETE, "claim.documents": ["loss_notice", "id_card"]})
    assert_pending(decide(book, claim), "service_contract", "total_loss_proof", "vehicle_license",
                   "driver_license", "purchase_invoice", "replacement_purchase")


def test_declined_beats_pending(book, bmw_claim):
    claim = bmw_claim(**{"claim.replacement": DELETE, "claim.documents": [], "policy.premium_paid": False})
    assert_declined(decide(book, claim), "premium-unpaid")


# -- the benefit -------------------------------------------------------------------------------

@pytest.mark.parametrize("item_purchased, occurred, payout", [
    # months_between examples of products-bmw.md; motor payout 200,000 so the gap is not capped.
    ("2022-01-31", "2025-02-28", "81100.00"),   # 37 months: 300,000 x 37 x 0.006 = 66,600 + 14,500
    ("2022-01-31", "2025-02-27", "79300.00"),   # 36 months: 64,800 + 14,500
    ("2023-05-20", "2025-08-19", "61300.00"),   # 26 months (worked example 5)
    ("2023-05-20", "2025-08-20", "63100.00"),   # 27 months: 48,600 + 14,500
    ("2024-01-31", "2024-02-28", "14500.00"),   # 0 months
    ("2024-01-31", "2024-02-29", "16300.00"),   # 1 month: 2024-01-31 + 1 month = 2024-02-29
    ("2023-01-31", "2023-02-28", "16300.00"),   # 1 month: 2023-01-31 + 1 month = 2023-02-28
    ("2023-03-31", "2023-04-29", "14500.00"),   # 0 months
    ("2023-03-31", "2023-04-30", "16300.00"),   # 1 month: clamped to 2023-04-30
    ("2024-02-29", "2025-02-28", "36100.00"),   # 12 months: 2024-02-29 + 12 months = 2025-02-28 (21,600)
    ("2024-02-29", "2025-02-27", "34300.00"),   # 11 months (19,800)
])
def test_used_gap_counts_whole_calendar_months(book, bmw_used_claim, item_purchased, occurred, payout):
    claim = bmw_used_claim(**{"item.purchased": item_purchased, "policy.purchased": "2023-01-01",
                              "policy.start": "2023-01-01", "claim.occurred": occurred, "claim.reported": occurred,
                              "claim.motor.payout": cny("200000.00")})
    assert_approved(decide(book, claim), payout)


@pytest.mark.parametrize("motor_payout, payout", [
    ("340000.00", "84036.28"),   # gap 38,000 <= 48,000
    ("350000.00", "84036.28"),   # gap 38,000 = 388,000 - 350,000
    ("350000.01", "84036.27"),   # gap capped at 37,999.99
    ("360000.00", "74036.28"),   # gap capped at 28,000
    ("388000.00", "46036.28"),   # gap 0
    ("400000.00", "46036.28"),   # never negative
])
def test_new_gap_capped_by_motor_payout(book, bmw_claim, motor_payout, payout):
    assert_approved(decide(book, bmw_claim(**{"claim.motor.payout": cny(motor_payout)})), payout)


@pytest.mark.parametrize("motor_payout, payout", [
    ("253200.00", "61300.00"),   # 300,000 - 253,200 = 46,800: the gap just fits
    ("253200.01", "61299.99"),
    ("260000.00", "54500.00"),   # gap capped at 40,000
    ("300000.00", "14500.00"),   # gap 0
    ("310000.00", "14500.00"),   # never negative
])
def test_used_gap_capped_by_motor_payout(book, bmw_used_claim, motor_payout, payout):
    assert_approved(decide(book, bmw_used_claim(**{"claim.motor.payout": cny(motor_payout)})), payout)


@pytest.mark.parametrize("sum_insured, payout", [
    ("387999.99", "46036.29"),   # gap 0.01
    ("388000.00", "46036.28"),   # gap 0
    ("400000.00", "46036.28"),   # sum insured above the invoice: gap 0, never negative
])
def test_new_gap_never_negative(book, bmw_claim, sum_insured, payout):
    claim = bmw_claim(**{"claim.motor.sum_insured": cny(sum_insured), "claim.motor.payout": cny("300000.00")})
    assert_approved(decide(book, claim), payout)


def test_used_gap_ignores_sum_insured(book, bmw_used_claim):
    claim = bmw_used_claim(**{"claim.motor.sum_insured": cny("100000.00")})
    assert_approved(decide(book, claim), "61300.00")


@pytest.mark.parametrize("delivery, payout", [
    ("13663.71", "96199.99"),    # costs 58,199.99
    ("13663.72", "96200.00"),    # costs exactly 15 % of 388,000 = 58,200
    ("13663.73", "96200.00"),    # capped
    ("20000.00", "96200.00"),    # capped
])
def test_new_costs_capped_at_15_percent_of_invoice(book, bmw_claim, delivery, payout):
    assert_approved(decide(book, bmw_claim(**{"claim.replacement.delivery_fees": cny(delivery)})), payout)


@pytest.mark.parametrize("delivery, payout", [
    ("32499.99", "91799.99"),    # costs 44,999.99
    ("32500.00", "91800.00"),    # costs exactly 15 % of 300,000 = 45,000
    ("40000.00", "91800.00"),    # capped
])
def test_used_costs_capped_at_15_percent_of_invoice(book, bmw_used_claim, delivery, payout):
    assert_approved(decide(book, bmw_used_claim(**{"claim.replacement.delivery_fees": cny(delivery)})), payout)


def test_new_costs_take_the_smaller_purchase_tax(book, bmw_claim):
    # replacement purchase tax 30,000 < the old car's 34,336.28: costs 30,000 + 1,500 + 400 + 9,800
    claim = bmw_claim(**{"claim.replacement.purchase_tax": cny("30000.00")})
    assert_approved(decide(book, claim), "79700.00")
    # the old car's tax is the smaller one (worked example 4): a dearer replacement changes nothing
    claim = bmw_claim(**{"claim.replacement.purchase_tax": cny("50000.00")})
    assert_approved(decide(book, claim), "84036.28")


def test_new_costs_take_the_smaller_premium(book, bmw_claim):
    # replacement premium 9,000 < the old car's 9,800: costs 34,336.28 + 1,500 + 400 + 9,000
    claim = bmw_claim(**{"claim.replacement.insurance_premium": cny("9000.00")})
    assert_approved(decide(book, claim), "83236.28")
    claim = bmw_claim(**{"item.insurance_premium": cny("12000.00")})        # now the replacement's 10,200
    assert_approved(decide(book, claim), "84436.28")


def test_new_costs_add_delivery_and_registration(book, bmw_claim):
    claim = bmw_claim(**{"claim.replacement.delivery_fees": cny("0.00"),
                         "claim.replacement.registration_fees": cny("0.00")})
    assert_approved(decide(book, claim), "82136.28")


def test_used_costs_take_the_smaller_premium(book, bmw_used_claim):
    claim = bmw_used_claim(**{"claim.replacement.insurance_premium": cny("11000.00")})
    assert_approved(decide(book, claim), "60300.00")


def test_used_costs_leave_out_purchase_tax(book, bmw_used_claim):
    claim = bmw_used_claim(**{"claim.replacement.purchase_tax": cny("1000.00"),
                              "item.purchase_tax": cny("2000.00")})
    assert_approved(decide(book, claim), "61300.00")


def test_used_payout_rounded_half_up_to_fen(book, bmw_used_claim):
    # gap = 300,003.75 x 26 x 0.006 = 46,800.585; + 14,500 = 61,300.585 -> 61,300.59 (half-even would give .58)
    claim = bmw_used_claim(**{"item.invoice_price": cny("300003.75")})
    assert_approved(decide(book, claim), "61300.59")


def test_amounts_as_json_numbers(book, bmw_claim):
    claim = bmw_claim(**{"item.invoice_price": {"amount": 388000, "currency": "CNY"},
                         "claim.motor.sum_insured": {"amount": 350000, "currency": "CNY"}})
    assert_approved(decide(book, claim), "84036.28")


def test_constructive_total_loss_used(book, bmw_used_claim):
    assert_approved(decide(book, bmw_used_claim(**{"claim.event": "constructive_total_loss"})), "61300.00")


def test_claim_id_optional(book, bmw_claim):
    decision = decide(book, bmw_claim(**{"claim.id": DELETE, "policy.id": DELETE}))
    assert decision["claim_id"] is None
    assert_approved(decision, "84036.28")


# -- invalid input ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["item.invoice_price", "item.msrp", "claim.motor.payout", "claim.replacement.msrp"])
def test_money_not_in_cny_is_invalid(book, bmw_claim, path):
    claim = bmw_claim(**{path: money("388000.00", "EUR")})
    error = claim_error(book, claim)
    assert error.code == "claim.currency"
    assert error.path == path
    assert book.decide(claim) == {"claim_id": "BMW-NEW",
                                  "error": {"code": "claim.currency", "message": error.message,
                                            "path": path}}


def test_all_money_in_eur_is_invalid_not_declined(book, bmw_claim):
    claim = bmw_claim(**{"claim.event": "partial_damage"})
    paths = set()
    for section, fields in (("item", ["invoice_price", "msrp", "purchase_tax", "insurance_premium"]),
                            ("claim.motor", ["sum_insured", "payout"]),
                            ("claim.replacement", ["msrp", "purchase_tax", "delivery_fees", "registration_fees",
                                                   "insurance_premium"])):
        node = claim
        for part in section.split("."):
            node = node[part]
        for name in fields:
            node[name]["currency"] = "EUR"
            paths.add(f"{section}.{name}")
    error = claim_error(book, claim)
    assert error.code == "claim.currency"
    # which amount is reported first is not fixed by the contract; it must be one of them, at its currency
    assert error.path in paths
    assert "error" in book.decide(claim)


@pytest.mark.parametrize("vin", [
    "WBA5R1C05LFH1234I",     # I
    "WBA5R1C05LFH1234O",     # O
    "WBA5R1C05LFH1234Q",     # Q
    "WBA5R1C05LFH1234",      # 16 characters
    "WBA5R1C05LFH123456",    # 18 characters
    "wba5r1c05lfh12345",     # lower case
    "WBA5R1C05LFH1234-",
])
def test_invalid_vin(book, bmw_claim, vin):
    claim = bmw_claim(**{"item.vin": vin})
    error = claim_error(book, claim)
    assert error.code == "claim.pattern"
    assert error.path == "item.vin"
    # the VIN is personal data: it never appears in the error
    assert vin not in error.message
    assert vin.lower() not in error.message.lower()
    assert vin not in str(error)
    assert vin not in repr(error)
    assert vin not in json.dumps(book.decide(claim), ensure_ascii=False)


@pytest.mark.parametrize("vin", [VALID_VIN, "LBV0123456789ABCD", "ABCDEFGHJKLMNPRST", "00000000000000000"])
def test_valid_vin(book, bmw_claim, vin):
    assert_approved(decide(book, bmw_claim(**{"item.vin": vin})), "84036.28")


def test_vin_not_in_decision(book, bmw_claim):
    for claim in (bmw_claim(), bmw_claim(**{"item.brand": "Audi"}), bmw_claim(**{"claim.documents": []})):
        assert VALID_VIN not in json.dumps(book.decide(claim), ensure_ascii=False)


@pytest.mark.parametrize("name", REPLACEMENT_FIELDS)
def test_replacement_missing_field(book, bmw_claim, name):
    error = claim_error(book, bmw_claim(**{f"claim.replacement.{name}": DELETE}))
    assert error.code == "claim.missing-field"
    assert error.path == f"claim.replacement.{name}"


@pytest.mark.parametrize("name", REPLACEMENT_FIELDS)
def test_replacement_null_field(book, bmw_claim, name):
    error = claim_error(book, bmw_claim(**{f"claim.replacement.{name}": None}))
    assert error.code == "claim.missing-field"
    assert error.path == f"claim.replacement.{name}"


def test_empty_replacement_object_is_invalid(book, bmw_claim):
    error = claim_error(book, bmw_claim(**{"claim.replacement": {}}))
    assert error.code == "claim.missing-field"
    assert error.path == "claim.replacement.brand"


def test_unknown_circumstance(book, bmw_claim):
    error = claim_error(book, bmw_claim(**{"claim.circumstances": ["drunk_driving"]}))
    assert error.code == "claim.unknown-code"
    assert error.path == "claim.circumstances[0]"


def test_unknown_circumstance_after_known_one(book, bmw_claim):
    error = claim_error(book, bmw_claim(**{"claim.circumstances": ["fraud", "flood"]}))
    assert error.code == "claim.unknown-code"
    assert error.path == "claim.circumstances[1]"


def test_unknown_document_code(book, bmw_claim):
    error = claim_error(book, bmw_claim(**{"claim.documents": DOCUMENTS + ["photo"]}))
    assert error.code == "claim.unknown-code"
    assert error.path == f"claim.documents[{len(DOCUMENTS)}]"


@pytest.mark.parametrize("path, value", [
    ("policy.variant", "demo"),
    ("item.use", "taxi"),
    ("item.kind", "mobile_phone"),
    ("claim.event", "theft"),
])
def test_unknown_code(book, bmw_claim, path, value):
    error = claim_error(book, bmw_claim(**{path: value}))
    assert error.code == "claim.unknown-code"
    assert error.path == path


def test_unknown_field(book, bmw_claim):
    error = claim_error(book, bmw_claim(**{"claim.replacement.colour": "red"}))
    assert error.code == "claim.unknown-field"
    assert error.path == "claim.replacement.colour"


@pytest.mark.parametrize("path", ["policy.variant", "item.vin", "item.seats", "claim.motor.total_loss_paid",
                                  "claim.motor.payout", "item.msrp"])
def test_required_field_missing(book, bmw_claim, path):
    error = claim_error(book, bmw_claim(**{path: DELETE}))
    assert error.code == "claim.missing-field"
    assert error.path == path


@pytest.mark.parametrize("path, value", [
    ("item.seats", "5"), ("item.seats", True), ("policy.prior_claims", 0.5),
    ("claim.motor.commercial_in_force", "true"), ("policy.premium_paid", 1),
])
def test_strict_types(book, bmw_claim, path, value):
    error = claim_error(book, bmw_claim(**{path: value}))
    assert error.code == "claim.type"
    assert error.path == path


def test_negative_prior_claims(book, bmw_claim):
    error = claim_error(book, bmw_claim(**{"policy.prior_claims": -1}))
    assert error.code == "claim.range"
    assert error.path == "policy.prior_claims"


def test_reported_before_occurred(book, bmw_claim):
    error = claim_error(book, bmw_claim(**{"claim.reported": "2025-09-19"}))
    assert error.code == "claim.date-order"
    assert error.path == "claim.reported"


def test_policy_end_before_start(book, bmw_claim):
    error = claim_error(book, bmw_claim(**{"policy.end": "2024-01-31"}))
    assert error.code == "claim.date-order"
    assert error.path == "policy.end"


def test_bought_before_first_version(book, bmw_claim):
    error = claim_error(book, bmw_claim(**{"policy.purchased": "2019-11-29"}))
    assert error.code == "claim.no-product-version"
    assert error.path == "policy.purchased"


def test_first_version_day(book, bmw_claim):
    claim = bmw_claim(**{"policy.purchased": "2019-11-30", "item.purchased": "2019-11-30",
                         "policy.start": "2019-11-30", "policy.end": "2022-11-29",
                         "claim.occurred": "2021-06-01", "claim.reported": "2021-06-01"})
    decision = decide(book, claim)
    assert decision["product_version"] == VERSION
    assert_approved(decision, "84036.28")
