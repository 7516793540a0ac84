"""The screen-protection product (products.md, "screen-protection").

It builds on accidental-damage: the same rules, plus claim.damaged_part (`other` is declined by
`part-not-covered`), `operational_error` moved to the events that are not covered, and an excess
of EUR 30.00. The base claim (fixture `sp_claim`) is worked example 3: a screen repair of
129.99 EUR, phone bought 2025-01-08 for 899.00 EUR, reported 2025-06-03; payout 99.99 EUR.

These tests exercise the engine on a frozen copy of screen-protection (tests/fixtures/products), a
realistic product whose every number is pinned here: they fail when the engine changes, not when
a product manager changes the shipped product (its own products/*.tests.yaml cases, run
by tests/test_shipped_products.py, pin that).
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from conftest import DELETE, money
from policyconf import ClaimError

ITEM_BOUGHT = "2025-01-08"

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
                  "high_voltage"]
NOT_COVERED_EVENTS = ["operational_error", "theft.burglary", "theft.vehicle", "theft.robbery",
                      "theft.pickpocket", "looting", "battery", "cosmetic", "breakdown", "loss", "pixel_defect",
                      "wear", "sand", "cleaning", "software", "manufacturer_defect", "rooting"]

ALL_DOCUMENTS = ["photo", "proof_of_purchase", "police_report"]


# -- helpers -------------------------------------------------------------------------------

def day(start: str, days: int) -> str:
    return (date.fromisoformat(start) + timedelta(days=days)).isoformat()


def decide(book, claim: dict) -> dict:
    return book.evaluate(claim).to_dict()


def codes(decision: dict) -> list[str]:
    return [reason["code"] for reason in decision["reasons"]]


def clauses(decision: dict) -> list[str]:
    return [reason["clause"] for reason in decision["reasons"]]


def assert_nothing_paid(decision: dict, currency: str = "EUR") -> None:
    assert decision["settlement"] is None
    assert decision["payout"] == money("0.00", currency)
    assert decision["excess"] == money("0.00", currency)
    assert decision["depreciation"] is None


def assert_declined(decision: dict, *expected: str) -> None:
    assert decision["outcome"] == "declined"
    assert codes(decision) == list(expected)
    assert decision["missing_documents"] == []
    assert_nothing_paid(decision)
    for reason in decision["reasons"]:
        assert isinstance(reason["message"], str) and reason["message"].strip()


def assert_pending(decision: dict, *missing: str) -> None:
    assert decision["outcome"] == "pending"
    assert decision["reasons"] == []
    assert decision["missing_documents"] == list(missing)
    assert_nothing_paid(decision)


def assert_referred(decision: dict, *expected: str) -> None:
    assert decision["outcome"] == "referred"
    assert codes(decision) == list(expected)
    assert decision["missing_documents"] == []
    assert_nothing_paid(decision)


def assert_approved(decision: dict, settlement: str, payout: str, excess: str = "30.00",
                    depreciation: str = "0.00", reasons: tuple[str, ...] = ()) -> None:
    assert decision["outcome"] == "approved"
    assert decision["settlement"] == settlement
    assert decision["payout"] == money(payout)
    assert decision["excess"] == money(excess)
    assert decision["depreciation"] == depreciation
    assert codes(decision) == list(reasons)
    assert decision["missing_documents"] == []


def assert_base_approved(decision: dict) -> None:
    """The base claim's decision: repair 129.99 - excess 30.00."""
    assert_approved(decision, "repair", "99.99")


def claim_error(book, claim: dict) -> ClaimError:
    with pytest.raises(ClaimError) as caught:
        book.evaluate(claim)
    return caught.value


def replacement(**changes) -> dict:
    return {"claim.repairable": False, "claim.repair_cost": DELETE, **changes}


def reported_on_day(n: int) -> dict:
    return {"claim.occurred": day(ITEM_BOUGHT, n), "claim.reported": day(ITEM_BOUGHT, n)}


# -- worked example 3 and the decision document ----------------------------------------------

def test_worked_example_3_screen_repair(book, sp_claim):
    decision = decide(book, sp_claim(**{"claim.damaged_part": "screen",
                                        "claim.repair_cost": money("129.99")}))
    assert decision["claim_id"] == "SP-REPAIR"
    assert decision["product"] == "screen-protection"
    assert decision["product_version"] == "2024-01-01"
    assert_base_approved(decision)


# -- insured parts (B.1) ---------------------------------------------------------------------

@pytest.mark.parametrize("part", ["screen", "back_cover"])
def test_screen_and_back_cover_are_insured(book, sp_claim, part):
    assert_base_approved(decide(book, sp_claim(**{"claim.damaged_part": part})))


def test_other_part_is_not_covered(book, sp_claim):
    decision = decide(book, sp_claim(**{"claim.damaged_part": "other"}))
    assert_declined(decision, "part-not-covered")
    assert clauses(decision) == ["B.1"]


@pytest.mark.parametrize("absent", [DELETE, None], ids=["absent", "null"])
def test_damaged_part_is_required(book, sp_claim, absent):
    error = claim_error(book, sp_claim(**{"claim.damaged_part": absent}))
    assert error.path == "claim.damaged_part"
    if absent is DELETE:
        assert error.code == "claim.missing-field"


@pytest.mark.parametrize("part", ["battery", "Screen", "", 1])
def test_damaged_part_must_be_a_listed_code(book, sp_claim, part):
    assert claim_error(book, sp_claim(**{"claim.damaged_part": part})).path == "claim.damaged_part"


# -- events (B.2) ----------------------------------------------------------------------------

@pytest.mark.parametrize("event", COVERED_EVENTS)
def test_covered_event_is_approved(book, sp_claim, event):
    assert_base_approved(decide(book, sp_claim(**{"claim.event": event})))


@pytest.mark.parametrize("event", NOT_COVERED_EVENTS)
def test_not_covered_event_is_declined(book, sp_claim, event):
    decision = decide(book, sp_claim(**{"claim.event": event}))
    assert_declined(decision, "event-not-covered")
    assert clauses(decision) == ["B.2"]


def test_operational_error_is_declined_here_but_covered_by_accidental_damage(book, sp_claim, ad_claim):
    assert_declined(decide(book, sp_claim(**{"claim.event": "operational_error"})), "event-not-covered")
    assert decide(book, ad_claim(**{"claim.event": "operational_error"}))["outcome"] == "approved"


def test_vandalism_needs_a_police_report(book, sp_claim):
    assert_pending(decide(book, sp_claim(**{"claim.event": "vandalism"})), "police_report")
    assert_base_approved(decide(book, sp_claim(**{"claim.event": "vandalism", "claim.documents": ALL_DOCUMENTS})))


@pytest.mark.parametrize("event", ["liquid", "theft", "operational", "flood"])
def test_parent_or_unknown_event_is_invalid(book, sp_claim, event):
    error = claim_error(book, sp_claim(**{"claim.event": event}))
    assert error.code == "claim.unknown-code"
    assert error.path == "claim.event"


def test_part_rule_comes_after_inherited_eligibility_and_before_events(book, sp_claim):
    # the example claim sp-declined: other part and operational error
    claim = sp_claim(**{"claim.damaged_part": "other", "claim.event": "operational_error"})
    assert_declined(decide(book, claim), "part-not-covered", "event-not-covered")
    claim = sp_claim(**{"policy.holder.age": 17, "claim.damaged_part": "other", "claim.event": "theft.robbery",
                        "claim.circumstances": ["misuse"]})
    decision = decide(book, claim)
    assert_declined(decision, "holder-underage", "part-not-covered", "event-not-covered", "misuse")
    assert clauses(decision) == ["C", "B.1", "B.2", "G.1"]


# -- inherited accidental-damage rules (spot checks) -----------------------------------------

@pytest.mark.parametrize("age, declined", [(17, True), (18, False)])
def test_inherits_holder_underage(book, sp_claim, age, declined):
    decision = decide(book, sp_claim(**{"policy.holder.age": age}))
    if declined:
        assert_declined(decision, "holder-underage")
        assert clauses(decision) == ["C"]
    else:
        assert_base_approved(decision)


@pytest.mark.parametrize("days_late, declined", [(6, False), (7, True)])
def test_inherits_late_enrolment(book, sp_claim, days_late, declined):
    decision = decide(book, sp_claim(**{"item.purchased": day("2025-01-10", -days_late)}))
    if declined:
        assert_declined(decision, "late-enrolment")
    else:
        assert_base_approved(decision)


def test_inherits_residence_and_purchase_country_rules(book, sp_claim):
    assert_declined(decide(book, sp_claim(**{"policy.holder.residence": "BG", "item.purchased_in": "BG"})),
                    "residence")
    assert_declined(decide(book, sp_claim(**{"item.purchased_in": "CH"})),
                    "purchased-outside-eu", "purchased-outside-residence")


@pytest.mark.parametrize("rule, circumstance, clause", EXCLUSIONS, ids=[e[0] for e in EXCLUSIONS])
def test_inherits_exclusions(book, sp_claim, rule, circumstance, clause):
    decision = decide(book, sp_claim(**{"claim.circumstances": [circumstance]}))
    assert_declined(decision, rule)
    assert clauses(decision) == [clause]


def test_inherits_third_party_liability_exception_for_vandalism(book, sp_claim):
    claim = sp_claim(**{"claim.event": "vandalism", "claim.circumstances": ["third_party_liable"],
                        "claim.documents": ALL_DOCUMENTS})
    assert_base_approved(decide(book, claim))


@pytest.mark.parametrize("documents, missing", [
    (["proof_of_purchase"], ["photo"]),
    (["photo"], ["proof_of_purchase"]),
    ([], ["proof_of_purchase", "photo"]),
])
def test_inherits_document_requirements(book, sp_claim, documents, missing):
    assert_pending(decide(book, sp_claim(**{"claim.documents": documents})), *missing)


@pytest.mark.parametrize("delay, referred", [(30, False), (31, True)])
def test_inherits_late_notification(book, sp_claim, delay, referred):
    decision = decide(book, sp_claim(**{"claim.occurred": "2025-06-01", "claim.reported": day("2025-06-01", delay)}))
    if referred:
        assert_referred(decision, "late-notification")
    else:
        assert_base_approved(decision)


def test_inherits_other_insurance_referral(book, sp_claim):
    decision = decide(book, sp_claim(**{"claim.other_insurance": True}))
    assert_referred(decision, "other-insurance")
    assert clauses(decision) == ["H.4"]


def test_outcome_precedence(book, sp_claim):
    everything = {"claim.damaged_part": "other", "claim.documents": ["photo"], "claim.other_insurance": True}
    assert_declined(decide(book, sp_claim(**everything)), "part-not-covered")
    pending = {**everything, "claim.damaged_part": "screen"}
    assert_pending(decide(book, sp_claim(**pending)), "proof_of_purchase")
    referred = {**pending, "claim.documents": ["photo", "proof_of_purchase"], "claim.negligence_share": "0.5"}
    assert_referred(decide(book, sp_claim(**referred)), "other-insurance")


# -- settlement: excess EUR 30.00 ------------------------------------------------------------

@pytest.mark.parametrize("repair_cost, payout, excess", [
    ("129.99", "99.99", "30.00"),
    ("250.00", "220.00", "30.00"),
    ("30.01", "0.01", "30.00"),
    ("30.00", "0.00", "30.00"),
    ("25.00", "0.00", "25.00"),       # the customer bears only the repair
])
def test_screen_excess_is_30_eur(book, sp_claim, repair_cost, payout, excess):
    claim = sp_claim(**{"claim.repair_cost": money(repair_cost)})
    assert_approved(decide(book, claim), "repair", payout, excess=excess)


@pytest.mark.parametrize("days, rate, payout", [
    (183, "0.00", "869.00"),          # 899.00 - 30.00
    (184, "0.10", "779.10"),          # 809.10 - 30.00
    (366, "0.20", "689.20"),          # 719.20 - 30.00
    (731, "0.30", "599.30"),          # 629.30 - 30.00
])
def test_inherits_depreciation_on_replacement(book, sp_claim, days, rate, payout):
    decision = decide(book, sp_claim(**replacement(**reported_on_day(days))))
    assert_approved(decision, "replacement", payout, depreciation=rate)


def test_repair_up_to_current_value(book, sp_claim):
    at_value = sp_claim(**{"claim.repair_cost": money("809.10"), **reported_on_day(200)})
    assert_approved(decide(book, at_value), "repair", "779.10", depreciation="0.10")
    above = sp_claim(**{"claim.repair_cost": money("809.11"), **reported_on_day(200)})
    assert_approved(decide(book, above), "replacement", "779.10", depreciation="0.10")
    no_parts = sp_claim(**{"claim.parts_available": False})
    assert_approved(decide(book, no_parts), "replacement", "869.00")


@pytest.mark.parametrize("share, payout, reasons", [
    ("0", "99.99", ()),
    ("0.5", "50.00", ("gross-negligence",)),     # 99.99 x 0.5 = 49.995 -> 50.00 (half-up)
    ("0.2", "79.99", ("gross-negligence",)),     # 79.992
    ("1", "0.00", ("gross-negligence",)),
])
def test_gross_negligence(book, sp_claim, share, payout, reasons):
    decision = decide(book, sp_claim(**{"claim.negligence_share": share}))
    assert_approved(decision, "repair", payout, reasons=reasons)


def test_half_up_rounding(book, sp_claim):
    # (130.01 - 30.00) x 0.5 = 50.005 -> 50.01 (half-even would give 50.00)
    claim = sp_claim(**{"claim.repair_cost": money("130.01"), "claim.negligence_share": "0.5"})
    assert_approved(decide(book, claim), "repair", "50.01", reasons=("gross-negligence",))


# -- currencies ------------------------------------------------------------------------------

@pytest.mark.parametrize("currency", ["DKK", "GBP"])
def test_currency_mismatch_with_the_romanian_excess(book, sp_claim, currency):
    claim = sp_claim(**{"item.price": money("899.00", currency), "claim.repair_cost": money("129.99", currency)})
    assert claim_error(book, claim).code == "claim.currency-mismatch"


def test_declined_dkk_claim_is_still_declined(book, sp_claim):
    claim = sp_claim(**{"item.price": money("899.00", "DKK"), "claim.repair_cost": money("129.99", "DKK"),
                        "claim.damaged_part": "other"})
    decision = decide(book, claim)
    assert decision["outcome"] == "declined"
    assert codes(decision) == ["part-not-covered"]
    assert decision["payout"] == money("0.00", "DKK")


def test_unlisted_currency_is_invalid(book, sp_claim):
    claim = sp_claim(**{"item.price": money("899.00", "USD"), "claim.repair_cost": money("129.99", "USD")})
    assert claim_error(book, claim).code == "claim.currency"
