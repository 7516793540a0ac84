"""The accidental-damage product (products.md, "accidental-damage"), rule by rule.

Every rule has a test on both sides of its boundary, so removing a rule or changing one of its
numbers makes a test fail. The base claim (fixture `ad_claim`) is the contract's example: an
approved repair of a phone bought 2025-01-08 for 899.00 EUR, repair 189.00 EUR, policy
2025-01-10..2027-01-09, reported 2025-06-03 (146 days: no depreciation); payout 139.00 EUR.

These tests exercise the engine on a frozen copy of accidental-damage (tests/fixtures/products), a
realistic product whose every number is pinned here: they fail when the engine changes, not when
a product manager changes the shipped product (its own products/*.tests.yaml cases, run
by tests/test_shipped_products.py, pin that).
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from conftest import DELETE, money
from policyconf import ClaimError

ITEM_BOUGHT = "2025-01-08"          # item.purchased of the base claim
POLICY_START = "2025-01-10"
POLICY_END = "2027-01-09"

EU_STATES = ["AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
             "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"]

ELIGIBILITY_CLAUSES = {
    "late-enrolment": "B, H.1",
    "holder-underage": "C",
    "not-sole-owner": "C",
    "residence": "C",
    "prior-fraud": "C",
    "premium-unpaid": "I.2",
    "outside-coverage-period": "G.1",
    "purchased-outside-eu": "G.1",
    "purchased-outside-residence": "G.1",
    "outside-residence-60-days": "G.1",
}

# (rule id, circumstance code, clause), in the order the product lists them.
EXCLUSIONS = [
    ("device-modified", "modified", "G.1"),
    ("commercial-use", "commercial_use", "G.1"),
    ("counterfeit", "counterfeit", "G.1"),
    ("third-party-liability", "third_party_liable", "G.1"),
    ("external-event", "catastrophe", "G.1"),
    ("transport-damage", "transport_packaging", "G.1"),
    ("cleanable", "cleanable", "G.1"),
    ("pre-existing", "pre_existing", "G.1"),
    ("grey-market", "grey_market", "G.1"),
    ("illegal-use", "illegal_use", "G.1"),
    ("improper-storage", "improper_storage", "G.1"),
    ("intentional", "intentional", "G.1"),
    ("misuse", "misuse", "G.1"),
    ("unauthorized-repair", "unauthorized_repair", "G.1"),
    ("sanctions", "sanctioned", "L.5"),
]

COVERED_EVENTS = ["drop", "liquid.immersion", "liquid.wetting", "liquid.splash", "explosion", "fire",
                  "operational_error", "high_voltage"]          # vandalism: see its own tests
NOT_COVERED_EVENTS = ["theft.burglary", "theft.vehicle", "theft.robbery", "theft.pickpocket", "looting",
                      "battery", "cosmetic", "breakdown", "loss", "pixel_defect", "wear", "sand", "cleaning",
                      "software", "manufacturer_defect", "rooting"]

ALL_DOCUMENTS = ["photo", "proof_of_purchase", "police_report"]


# -- helpers -------------------------------------------------------------------------------

def day(start: str, days: int) -> str:
    """The ISO date `days` days after `start`."""
    return (date.fromisoformat(start) + timedelta(days=days)).isoformat()


def decide(book, claim: dict) -> dict:
    return book.evaluate(claim).to_dict()


def codes(decision: dict) -> list[str]:
    return [reason["code"] for reason in decision["reasons"]]


def check_reasons_well_formed(decision: dict) -> None:
    for reason in decision["reasons"]:
        assert set(reason) == {"code", "clause", "message"}
        assert isinstance(reason["message"], str) and reason["message"].strip()


def assert_nothing_paid(decision: dict, currency: str = "EUR") -> None:
    assert decision["settlement"] is None
    assert decision["payout"] == money("0.00", currency)
    assert decision["excess"] == money("0.00", currency)
    assert decision["depreciation"] is None


def assert_declined(decision: dict, *expected: str, currency: str = "EUR") -> None:
    assert decision["outcome"] == "declined"
    assert codes(decision) == list(expected)
    assert decision["missing_documents"] == []
    assert_nothing_paid(decision, currency)
    check_reasons_well_formed(decision)


def assert_pending(decision: dict, *missing: str, currency: str = "EUR") -> None:
    assert decision["outcome"] == "pending"
    assert decision["reasons"] == []
    assert decision["missing_documents"] == list(missing)
    assert_nothing_paid(decision, currency)


def assert_referred(decision: dict, *expected: str, currency: str = "EUR") -> None:
    assert decision["outcome"] == "referred"
    assert codes(decision) == list(expected)
    assert decision["missing_documents"] == []
    assert_nothing_paid(decision, currency)
    check_reasons_well_formed(decision)


def assert_approved(decision: dict, settlement: str, payout: str, excess: str = "50.00",
                    depreciation: str = "0.00", reasons: tuple[str, ...] = ()) -> None:
    assert decision["outcome"] == "approved"
    assert decision["settlement"] == settlement
    assert decision["payout"] == money(payout)
    assert decision["excess"] == money(excess)
    assert decision["depreciation"] == depreciation
    assert codes(decision) == list(reasons)
    assert decision["missing_documents"] == []
    check_reasons_well_formed(decision)


def assert_base_approved(decision: dict) -> None:
    """The base claim's decision: repair 189.00 - excess 50.00."""
    assert_approved(decision, "repair", "139.00")


def claim_error(book, claim: dict) -> ClaimError:
    with pytest.raises(ClaimError) as caught:
        book.evaluate(claim)
    return caught.value


def replacement(**changes) -> dict:
    """Overrides that turn the base claim into a replacement (not repairable, no repair cost)."""
    return {"claim.repairable": False, "claim.repair_cost": DELETE, **changes}


def reported_on_day(n: int) -> dict:
    """Overrides: the damage happened and was reported n days after the phone was bought."""
    return {"claim.occurred": day(ITEM_BOUGHT, n), "claim.reported": day(ITEM_BOUGHT, n)}


# -- the base claim and the decision document -----------------------------------------------

def test_base_claim_is_the_contract_example(book, ad_claim):
    decision = decide(book, ad_claim())
    assert decision["claim_id"] == "AD-REPAIR"
    assert decision["product"] == "accidental-damage"
    assert decision["product_version"] == "2024-01-01"
    assert_base_approved(decision)
    assert isinstance(decision["trace"], list) and decision["trace"]


def test_claim_id_is_null_without_claim_id(book, ad_claim):
    assert decide(book, ad_claim(**{"claim.id": DELETE}))["claim_id"] is None


def test_decide_returns_the_decision_document(book, ad_claim):
    claim = ad_claim()
    assert book.decide(claim) == book.evaluate(claim).to_dict()


def test_policy_bought_before_the_first_version_is_invalid_input(book, ad_claim):
    claim = ad_claim(**{"policy.purchased": "2023-12-31", "policy.start": "2023-12-31",
                        "item.purchased": "2023-12-30"})
    assert claim_error(book, claim).code == "claim.no-product-version"


@pytest.mark.parametrize("product", [{"amount": "1.00", "currency": "EUR"}, ["accidental-damage"], 7, None])
def test_a_product_that_is_not_a_name_is_invalid_input(book, ad_claim, product):
    claim = ad_claim(product=product)
    assert claim_error(book, claim).code in ("claim.unknown-product", "claim.missing-field")


def test_no_version_comes_before_any_other_error_of_the_claim(book, ad_claim):
    """A one-version product checks the date after validating (its fast path): the error is
    still the version's when the claim has another error too, as when the version is chosen first."""
    claim = ad_claim(**{"policy.purchased": "2023-12-31", "policy.start": "2023-12-31",
                        "item.purchased": "2023-12-30", "policy.holder.age": "34"})
    assert claim_error(book, claim).code == "claim.no-product-version"
    claim = ad_claim(**{"policy.purchased": "2023-12-31x"})
    assert (claim_error(book, claim).code, claim_error(book, claim).path) == ("claim.invalid-date", "policy.purchased")


# -- worked examples (examples.md #1 and #2) --------------------------------------------------

def test_worked_example_1_repair(book, ad_claim):
    claim = ad_claim(**{"item.price": money("649.00"), "claim.repair_cost": money("212.40"),
                        "claim.occurred": day(ITEM_BOUGHT, 24), "claim.reported": day(ITEM_BOUGHT, 26)})
    assert_approved(decide(book, claim), "repair", "162.40")


def test_worked_example_2_replacement_with_gross_negligence(book, ad_claim):
    claim = ad_claim(**replacement(**{"item.price": money("1099.00"), "claim.occurred": "2025-11-01",
                                      "claim.reported": "2025-11-04", "claim.negligence_share": "0.2"}))
    decision = decide(book, claim)
    assert_approved(decision, "replacement", "751.28", depreciation="0.10", reasons=("gross-negligence",))
    assert decision["reasons"][0]["clause"] == "J.7"


# -- eligibility ----------------------------------------------------------------------------

@pytest.mark.parametrize("days_late, declined", [(0, False), (6, False), (7, True), (30, True)])
def test_late_enrolment(book, ad_claim, days_late, declined):
    # days between item.purchased and policy.purchased (2025-01-10)
    claim = ad_claim(**{"item.purchased": day("2025-01-10", -days_late)})
    decision = decide(book, claim)
    if declined:
        assert_declined(decision, "late-enrolment")
        assert decision["reasons"][0]["clause"] == "B, H.1"
    else:
        assert_base_approved(decision)


@pytest.mark.parametrize("age, declined", [(0, True), (17, True), (18, False), (34, False), (150, False)])
def test_holder_underage(book, ad_claim, age, declined):
    decision = decide(book, ad_claim(**{"policy.holder.age": age}))
    if declined:
        assert_declined(decision, "holder-underage")
        assert decision["reasons"][0]["clause"] == "C"
    else:
        assert_base_approved(decision)


@pytest.mark.parametrize("field, rule, declining_value, clause", [
    ("policy.holder.sole_owner", "not-sole-owner", False, "C"),
    ("policy.holder.prior_fraud", "prior-fraud", True, "C"),
    ("policy.premium_paid", "premium-unpaid", False, "I.2"),
])
def test_boolean_eligibility_rules(book, ad_claim, field, rule, declining_value, clause):
    decision = decide(book, ad_claim(**{field: declining_value}))
    assert_declined(decision, rule)
    assert decision["reasons"][0]["clause"] == clause
    assert_base_approved(decide(book, ad_claim(**{field: not declining_value})))


@pytest.mark.parametrize("field", ["policy.holder.sole_owner", "policy.holder.prior_fraud",
                                   "policy.premium_paid", "claim.parts_available", "claim.other_insurance",
                                   "claim.negligence_share", "claim.days_outside_residence",
                                   "claim.circumstances"])
@pytest.mark.parametrize("absent", [DELETE, None], ids=["absent", "null"])
def test_optional_fields_default_to_an_approvable_value(book, ad_claim, field, absent):
    assert_base_approved(decide(book, ad_claim(**{field: absent})))


@pytest.mark.parametrize("country", ["BG", "DE", "HU", "IT"])
def test_residence_other_than_romania_is_declined(book, ad_claim, country):
    # bought in the country of residence, so only `residence` holds
    decision = decide(book, ad_claim(**{"policy.holder.residence": country, "item.purchased_in": country}))
    assert_declined(decision, "residence")
    assert decision["reasons"][0]["clause"] == "C"


def test_residence_in_a_country_with_its_own_excess_row_is_still_declined(book, ad_claim):
    # DK has a DKK excess row, but the policy is for residents of Romania only; a declined DKK
    # claim is declined (the currency is only matched against the excess when paying out).
    claim = ad_claim(**{"policy.holder.residence": "DK", "item.purchased_in": "DK",
                        "item.price": money("6700.00", "DKK"), "claim.repair_cost": money("1400.00", "DKK")})
    assert_declined(decide(book, claim), "residence", currency="DKK")


@pytest.mark.parametrize("occurred, declined", [
    (day(POLICY_START, -1), True),
    (POLICY_START, False),
    (POLICY_END, False),
    (day(POLICY_END, 1), True),
])
def test_outside_coverage_period(book, ad_claim, occurred, declined):
    decision = decide(book, ad_claim(**{"claim.occurred": occurred, "claim.reported": occurred}))
    if declined:
        assert_declined(decision, "outside-coverage-period")
        assert decision["reasons"][0]["clause"] == "G.1"
    else:
        assert decision["outcome"] == "approved"
        assert decision["payout"] == money("139.00")


@pytest.mark.parametrize("occurred, declined", [("2025-01-19", True), ("2025-01-20", False)])
def test_cover_starts_at_policy_start_not_at_policy_purchase(book, ad_claim, occurred, declined):
    # policy bought 2025-01-10, cover from 2025-01-20
    claim = ad_claim(**{"policy.start": "2025-01-20", "claim.occurred": occurred, "claim.reported": occurred})
    decision = decide(book, claim)
    if declined:
        assert_declined(decision, "outside-coverage-period")
    else:
        assert_base_approved(decision)


@pytest.mark.parametrize("country", ["CH", "NO", "GB", "US", "MD", "UA", "TR", "IS"])
def test_purchased_outside_eu(book, ad_claim, country):
    # outside the EU is also outside Romania: both rules hold, in the product's order
    decision = decide(book, ad_claim(**{"item.purchased_in": country}))
    assert_declined(decision, "purchased-outside-eu", "purchased-outside-residence")
    assert [r["clause"] for r in decision["reasons"]] == ["G.1", "G.1"]


@pytest.mark.parametrize("country", [c for c in EU_STATES if c != "RO"])
def test_purchased_in_another_eu_state_is_only_outside_residence(book, ad_claim, country):
    decision = decide(book, ad_claim(**{"item.purchased_in": country}))
    assert_declined(decision, "purchased-outside-residence")
    assert decision["reasons"][0]["clause"] == "G.1"


def test_purchased_in_the_country_of_residence(book, ad_claim):
    assert_base_approved(decide(book, ad_claim(**{"item.purchased_in": "RO"})))


@pytest.mark.parametrize("days, declined", [(0, False), (60, False), (61, True), (365, True)])
def test_outside_residence_60_days(book, ad_claim, days, declined):
    decision = decide(book, ad_claim(**{"claim.days_outside_residence": days}))
    if declined:
        assert_declined(decision, "outside-residence-60-days")
        assert decision["reasons"][0]["clause"] == "G.1"
    else:
        assert_base_approved(decision)


# -- events ----------------------------------------------------------------------------------

@pytest.mark.parametrize("event", COVERED_EVENTS)
def test_covered_event_is_approved(book, ad_claim, event):
    assert_base_approved(decide(book, ad_claim(**{"claim.event": event})))


def test_operational_error_is_covered_here(book, ad_claim):
    # B.2 of this plan wins over D.4 (products.md); the screen plan declines it instead.
    assert_base_approved(decide(book, ad_claim(**{"claim.event": "operational_error"})))


def test_vandalism_with_police_report_is_approved(book, ad_claim):
    claim = ad_claim(**{"claim.event": "vandalism", "claim.documents": ALL_DOCUMENTS})
    assert_base_approved(decide(book, claim))


@pytest.mark.parametrize("event", NOT_COVERED_EVENTS)
def test_not_covered_event_is_declined(book, ad_claim, event):
    decision = decide(book, ad_claim(**{"claim.event": event}))
    assert_declined(decision, "event-not-covered")
    assert decision["reasons"][0]["clause"] == "B.2"


@pytest.mark.parametrize("event", ["liquid", "theft", "flood", "Drop", "liquid.rain", ""])
def test_parent_or_unknown_event_code_is_invalid_input(book, ad_claim, event):
    error = claim_error(book, ad_claim(**{"claim.event": event}))
    assert error.code == "claim.unknown-code"
    assert error.path == "claim.event"


def test_invalid_claim_is_never_declined(book, ad_claim):
    # underage holder (a declining rule) and a parent event code: the input error wins
    error = claim_error(book, ad_claim(**{"policy.holder.age": 17, "claim.event": "theft"}))
    assert error.code == "claim.unknown-code"


# -- exclusions ------------------------------------------------------------------------------

@pytest.mark.parametrize("rule, circumstance, clause", EXCLUSIONS, ids=[e[0] for e in EXCLUSIONS])
def test_exclusion_by_circumstance(book, ad_claim, rule, circumstance, clause):
    decision = decide(book, ad_claim(**{"claim.circumstances": [circumstance]}))
    assert_declined(decision, rule)
    assert decision["reasons"][0]["clause"] == clause


def test_no_circumstances_no_exclusion(book, ad_claim):
    assert_base_approved(decide(book, ad_claim(**{"claim.circumstances": []})))


def test_unknown_circumstance_is_invalid_input(book, ad_claim):
    error = claim_error(book, ad_claim(**{"claim.circumstances": ["drunk"]}))
    assert error.code == "claim.unknown-code"
    assert error.path.startswith("claim.circumstances")


def test_all_exclusions_are_listed_in_product_order(book, ad_claim):
    claim = ad_claim(**{"claim.circumstances": [c for _, c, _ in reversed(EXCLUSIONS)]})
    assert_declined(decide(book, claim), *[rule for rule, _, _ in EXCLUSIONS])


def test_third_party_liability_does_not_apply_to_vandalism(book, ad_claim):
    claim = ad_claim(**{"claim.event": "vandalism", "claim.circumstances": ["third_party_liable"],
                        "claim.documents": ALL_DOCUMENTS})
    assert_base_approved(decide(book, claim))


def test_third_party_liable_vandalism_without_police_report_is_pending_not_declined(book, ad_claim):
    claim = ad_claim(**{"claim.event": "vandalism", "claim.circumstances": ["third_party_liable"]})
    assert_pending(decide(book, claim), "police_report")


def test_vandalism_is_excepted_only_from_third_party_liability(book, ad_claim):
    circumstances = [c for _, c, _ in EXCLUSIONS]
    claim = ad_claim(**{"claim.event": "vandalism", "claim.circumstances": circumstances,
                        "claim.documents": ALL_DOCUMENTS})
    assert_declined(decide(book, claim), *[r for r, _, _ in EXCLUSIONS if r != "third-party-liability"])


def test_everything_declining_is_listed_in_product_order(book, ad_claim):
    claim = ad_claim(**{
        "item.purchased": "2024-12-01",                     # 40 days before the policy
        "policy.holder.age": 17,
        "policy.holder.sole_owner": False,
        "policy.holder.residence": "CH",
        "policy.holder.prior_fraud": True,
        "policy.premium_paid": False,
        "claim.occurred": "2025-01-09", "claim.reported": "2025-01-09",
        "item.purchased_in": "US",
        "claim.days_outside_residence": 61,
        "claim.event": "theft.robbery",
        "claim.circumstances": [c for _, c, _ in EXCLUSIONS],
        "claim.documents": [],                              # pending too, but declined wins
        "claim.other_insurance": True,                      # referred too, but declined wins
    })
    decision = decide(book, claim)
    assert_declined(decision, *ELIGIBILITY_CLAUSES, "event-not-covered", *[r for r, _, _ in EXCLUSIONS])
    expected_clauses = [*ELIGIBILITY_CLAUSES.values(), "B.2", *[c for _, _, c in EXCLUSIONS]]
    assert [r["clause"] for r in decision["reasons"]] == expected_clauses


# -- documents -------------------------------------------------------------------------------

@pytest.mark.parametrize("event, documents, missing", [
    ("drop", ["photo", "proof_of_purchase"], []),
    ("drop", ["proof_of_purchase", "photo"], []),
    ("drop", ["photo"], ["proof_of_purchase"]),
    ("drop", ["proof_of_purchase"], ["photo"]),
    ("drop", [], ["proof_of_purchase", "photo"]),
    ("drop", ["police_report", "crime_reference"], ["proof_of_purchase", "photo"]),
    ("vandalism", ["photo", "proof_of_purchase"], ["police_report"]),
    ("vandalism", ["photo", "proof_of_purchase", "crime_reference"], ["police_report"]),
    ("vandalism", ["photo"], ["proof_of_purchase", "police_report"]),
    ("vandalism", [], ["proof_of_purchase", "photo", "police_report"]),
    ("vandalism", ALL_DOCUMENTS, []),
])
def test_documents(book, ad_claim, event, documents, missing):
    decision = decide(book, ad_claim(**{"claim.event": event, "claim.documents": documents}))
    if missing:
        assert_pending(decision, *missing)
    else:
        assert_base_approved(decision)


def test_documents_default_to_none(book, ad_claim):
    assert_pending(decide(book, ad_claim(**{"claim.documents": DELETE})), "proof_of_purchase", "photo")


def test_unknown_document_is_invalid_input(book, ad_claim):
    error = claim_error(book, ad_claim(**{"claim.documents": ["photo", "proof_of_purchase", "receipt"]}))
    assert error.path.startswith("claim.documents")


# -- referrals -------------------------------------------------------------------------------

def test_other_insurance_is_referred(book, ad_claim):
    decision = decide(book, ad_claim(**{"claim.other_insurance": True}))
    assert_referred(decision, "other-insurance")
    assert decision["reasons"][0]["clause"] == "H.4"
    assert_base_approved(decide(book, ad_claim(**{"claim.other_insurance": False})))


@pytest.mark.parametrize("delay, referred", [(0, False), (30, False), (31, True), (60, True)])
def test_late_notification(book, ad_claim, delay, referred):
    claim = ad_claim(**{"claim.occurred": "2025-06-01", "claim.reported": day("2025-06-01", delay)})
    decision = decide(book, claim)
    if referred:
        assert_referred(decision, "late-notification")
        assert decision["reasons"][0]["clause"] == "J.2"
    else:
        assert_base_approved(decision)


def test_both_referrals_in_product_order(book, ad_claim):
    claim = ad_claim(**{"claim.other_insurance": True, "claim.reported": "2025-07-15"})
    assert_referred(decide(book, claim), "other-insurance", "late-notification")


# -- outcome precedence (contract §3) --------------------------------------------------------

def test_declined_beats_pending_and_referred(book, ad_claim):
    claim = ad_claim(**{"claim.circumstances": ["misuse"], "claim.documents": ["photo"],
                        "claim.other_insurance": True, "claim.negligence_share": "0.5"})
    assert_declined(decide(book, claim), "misuse")


def test_pending_beats_referred(book, ad_claim):
    claim = ad_claim(**{"claim.documents": ["photo"], "claim.other_insurance": True,
                        "claim.reported": "2025-07-15", "claim.negligence_share": "0.5"})
    assert_pending(decide(book, claim), "proof_of_purchase")


def test_referred_beats_approved_and_lists_no_adjustment(book, ad_claim):
    claim = ad_claim(**{"claim.other_insurance": True, "claim.negligence_share": "0.5"})
    assert_referred(decide(book, claim), "other-insurance")


def test_referred_replacement_pays_nothing(book, ad_claim):
    claim = ad_claim(**replacement(**{"claim.other_insurance": True}, **reported_on_day(200)))
    assert_referred(decide(book, claim), "other-insurance")


# -- settlement: depreciation ----------------------------------------------------------------

@pytest.mark.parametrize("days, rate, payout", [
    (2, "0.00", "849.00"),         # the first day of cover
    (183, "0.00", "849.00"),
    (184, "0.10", "759.10"),
    (365, "0.10", "759.10"),
    (366, "0.20", "669.20"),
    (730, "0.20", "669.20"),
    (731, "0.30", "579.30"),       # the product's "731 and more" (wording: "over 731")
])
def test_depreciation_bands_on_replacement(book, ad_claim, days, rate, payout):
    # 899.00 x (1 - rate) - 50.00
    decision = decide(book, ad_claim(**replacement(**reported_on_day(days))))
    assert_approved(decision, "replacement", payout, depreciation=rate)


def test_depreciation_counts_from_phone_purchase_to_report_not_occurrence(book, ad_claim):
    # occurred on day 183 (0 %) but reported on day 184 (10 %): the report date counts
    claim = ad_claim(**replacement(**{"claim.occurred": day(ITEM_BOUGHT, 183),
                                      "claim.reported": day(ITEM_BOUGHT, 184)}))
    assert_approved(decide(book, claim), "replacement", "759.10", depreciation="0.10")


def test_depreciation_counts_from_phone_purchase_not_policy_purchase(book, ad_claim):
    # day 183 after the policy (2025-01-10) is day 185 after the phone: 10 %
    claim = ad_claim(**replacement(**{"claim.occurred": day(POLICY_START, 183),
                                      "claim.reported": day(POLICY_START, 183)}))
    assert_approved(decide(book, claim), "replacement", "759.10", depreciation="0.10")


@pytest.mark.parametrize("days, rate", [(183, "0.00"), (184, "0.10"), (366, "0.20"), (731, "0.30")])
def test_depreciation_is_reported_on_a_repair(book, ad_claim, days, rate):
    decision = decide(book, ad_claim(**reported_on_day(days)))
    assert_approved(decision, "repair", "139.00", depreciation=rate)


# -- settlement: repair or replacement -------------------------------------------------------

@pytest.mark.parametrize("days, repair_cost, settlement, payout", [
    (10, "899.00", "repair", "849.00"),           # repair cost == current value: repair
    (10, "899.01", "replacement", "849.00"),       # one cent above: replacement of 899.00
    (200, "809.10", "repair", "759.10"),          # current value 899.00 x 0.9 = 809.10
    (200, "809.11", "replacement", "759.10"),     # compared with the depreciated value, not the price
    (200, "809.09", "repair", "759.09"),
])
def test_repair_up_to_current_value(book, ad_claim, days, repair_cost, settlement, payout):
    claim = ad_claim(**{"claim.repair_cost": money(repair_cost), **reported_on_day(days)})
    rate = "0.10" if days == 200 else "0.00"
    assert_approved(decide(book, claim), settlement, payout, depreciation=rate)


def test_parts_not_available_means_replacement(book, ad_claim):
    decision = decide(book, ad_claim(**{"claim.parts_available": False}))
    assert_approved(decision, "replacement", "849.00")


def test_parts_available_means_repair(book, ad_claim):
    assert_base_approved(decide(book, ad_claim(**{"claim.parts_available": True})))


def test_not_repairable_means_replacement_even_with_a_repair_cost(book, ad_claim):
    decision = decide(book, ad_claim(**{"claim.repairable": False}))
    assert_approved(decision, "replacement", "849.00")


def test_repair_cost_is_required_when_repairable(book, ad_claim):
    error = claim_error(book, ad_claim(**{"claim.repair_cost": DELETE}))
    assert error.code == "claim.missing-field"
    assert error.path == "claim.repair_cost"


# -- settlement: excess ----------------------------------------------------------------------

def test_romanian_excess_is_50_eur(book, ad_claim):
    assert_approved(decide(book, ad_claim(**{"claim.repair_cost": money("250.00")})), "repair", "200.00")


@pytest.mark.parametrize("repair_cost, payout, excess", [
    ("0.00", "0.00", "0.00"),
    ("30.00", "0.00", "30.00"),
    ("49.99", "0.00", "49.99"),
    ("50.00", "0.00", "50.00"),
    ("50.01", "0.01", "50.00"),
])
def test_excess_is_never_more_than_the_repair(book, ad_claim, repair_cost, payout, excess):
    claim = ad_claim(**{"claim.repair_cost": money(repair_cost)})
    assert_approved(decide(book, claim), "repair", payout, excess=excess)


# -- settlement: gross negligence and rounding -----------------------------------------------

@pytest.mark.parametrize("share, payout, reasons", [
    ("0", "139.00", ()),
    (0, "139.00", ()),
    ("0.00", "139.00", ()),
    ("0.2", "111.20", ("gross-negligence",)),     # 139.00 x 0.8
    (0.2, "111.20", ("gross-negligence",)),
    ("0.01", "137.61", ("gross-negligence",)),    # 139.00 x 0.99
    ("1", "0.00", ("gross-negligence",)),
    (1, "0.00", ("gross-negligence",)),
])
def test_gross_negligence(book, ad_claim, share, payout, reasons):
    decision = decide(book, ad_claim(**{"claim.negligence_share": share}))
    assert_approved(decision, "repair", payout, reasons=reasons)
    if reasons:
        assert decision["reasons"][0]["clause"] == "J.7"


@pytest.mark.parametrize("share", ["-0.1", "1.01", 2, "1e-1", "abc", True])
def test_negligence_share_outside_0_1_or_malformed_is_invalid(book, ad_claim, share):
    error = claim_error(book, ad_claim(**{"claim.negligence_share": share}))
    assert error.path == "claim.negligence_share"


@pytest.mark.parametrize("repair_cost, share, payout", [
    ("150.01", "0.5", "50.01"),     # 100.01 x 0.5 = 50.005: half-up 50.01 (half-even would give 50.00)
    ("52.01", "0.5", "1.01"),       # 2.01 x 0.5 = 1.005: a float would give 1.00
    ("50.05", 0.1, "0.05"),         # 0.05 x 0.9 = 0.045 exactly; float 0.1 must be read as 0.1
    ("50.05", "0.1", "0.05"),
    ("52.01", "0.25", "1.51"),      # 2.01 x 0.75 = 1.5075
])
def test_payout_is_rounded_half_up_at_the_end(book, ad_claim, repair_cost, share, payout):
    claim = ad_claim(**{"claim.repair_cost": money(repair_cost), "claim.negligence_share": share})
    assert_approved(decide(book, claim), "repair", payout, reasons=("gross-negligence",))


def test_current_value_is_not_rounded_before_the_end(book, ad_claim):
    # 500.01 x 0.9 = 450.009 (current value); (450.009 - 50.00) x 0.5 = 200.0045 -> 200.00.
    # Rounding the current value first (450.01) would give 200.005 -> 200.01.
    claim = ad_claim(**replacement(**{"item.price": money("500.01"), "claim.negligence_share": "0.5"},
                                   **reported_on_day(200)))
    assert_approved(decide(book, claim), "replacement", "200.00", depreciation="0.10",
                    reasons=("gross-negligence",))


def test_replacement_value_with_fractional_cents_is_rounded_half_up(book, ad_claim):
    # 899.95 x 0.9 = 809.955; - 50.00 = 759.955 -> 759.96
    claim = ad_claim(**replacement(**{"item.price": money("899.95")}, **reported_on_day(200)))
    assert_approved(decide(book, claim), "replacement", "759.96", depreciation="0.10")


def test_amounts_may_be_json_numbers(book, ad_claim):
    claim = ad_claim(**{"item.price": {"amount": 899, "currency": "EUR"},
                        "claim.repair_cost": {"amount": 189.5, "currency": "EUR"}})
    assert_approved(decide(book, claim), "repair", "139.50")


# -- currencies ------------------------------------------------------------------------------

@pytest.mark.parametrize("currency", ["DKK", "NOK", "SEK", "GBP"])
def test_money_in_another_listed_currency_than_the_excess_is_invalid_when_paying(book, ad_claim, currency):
    claim = ad_claim(**{"item.price": money("899.00", currency), "claim.repair_cost": money("189.00", currency)})
    error = claim_error(book, claim)
    assert error.code == "claim.currency-mismatch"
    result = book.decide(claim)
    assert result["claim_id"] == "AD-REPAIR"
    assert result["error"]["code"] == "claim.currency-mismatch"
    assert "payout" not in result and "outcome" not in result


def test_currency_mismatch_on_a_replacement(book, ad_claim):
    claim = ad_claim(**replacement(**{"item.price": money("899.00", "DKK")}))
    assert claim_error(book, claim).code == "claim.currency-mismatch"


def test_dkk_claim_that_is_declined_stays_declined(book, ad_claim):
    claim = ad_claim(**{"item.price": money("899.00", "DKK"), "claim.repair_cost": money("189.00", "DKK"),
                        "policy.holder.age": 17})
    assert_declined(decide(book, claim), "holder-underage", currency="DKK")


def test_dkk_claim_that_is_pending_stays_pending(book, ad_claim):
    claim = ad_claim(**{"item.price": money("899.00", "DKK"), "claim.repair_cost": money("189.00", "DKK"),
                        "claim.documents": ["photo"]})
    assert_pending(decide(book, claim), "proof_of_purchase", currency="DKK")


def test_dkk_claim_that_is_referred_stays_referred(book, ad_claim):
    claim = ad_claim(**{"item.price": money("899.00", "DKK"), "claim.repair_cost": money("189.00", "DKK"),
                        "claim.other_insurance": True})
    assert_referred(decide(book, claim), "other-insurance", currency="DKK")


@pytest.mark.parametrize("declining", [{}, {"policy.holder.age": 17}], ids=["approvable", "declinable"])
def test_currency_the_product_does_not_list_is_invalid(book, ad_claim, declining):
    claim = ad_claim(**{"item.price": money("899.00", "USD"), "claim.repair_cost": money("189.00", "USD"),
                        **declining})
    assert claim_error(book, claim).code == "claim.currency"


def test_mixed_currencies_are_invalid(book, ad_claim):
    claim = ad_claim(**{"claim.repair_cost": money("189.00", "DKK")})
    assert claim_error(book, claim).code == "claim.mixed-currency"


# -- input checks the rules rely on ----------------------------------------------------------

def test_screen_field_is_unknown_to_accidental_damage(book, ad_claim):
    error = claim_error(book, ad_claim(**{"claim.damaged_part": "screen"}))
    assert error.code == "claim.unknown-field"
    assert error.path == "claim.damaged_part"


def test_typo_in_field_name_is_caught(book, ad_claim):
    error = claim_error(book, ad_claim(**{"claim.repair_cots": money("189.00")}))
    assert error.code == "claim.unknown-field"
    assert error.path == "claim.repair_cots"


@pytest.mark.parametrize("field, value", [
    ("policy.holder.age", "34"),
    ("policy.holder.age", True),
    ("policy.holder.age", 17.5),
    ("claim.days_outside_residence", -1),
    ("claim.days_outside_residence", "61"),
    ("policy.premium_paid", "false"),
    ("item.purchased_in", "UK"),
    ("item.purchased_in", "ro"),
])
def test_strict_types_on_rule_inputs(book, ad_claim, field, value):
    assert claim_error(book, ad_claim(**{field: value})).path == field


def test_report_before_occurrence_is_invalid(book, ad_claim):
    error = claim_error(book, ad_claim(**{"claim.occurred": "2025-06-03", "claim.reported": "2025-06-01"}))
    assert error.code == "claim.date-order"
