"""accidental-damage (products/accidental-damage.yaml), written by hand: the reference a product
would have without policyconf.

`decide(claim)` takes a claim document (a dict, as parsed from JSON) and returns the decision as
a plain dict (amounts as `Decimal`, `reasons` the rules' {code, clause, message}), or raises
`Rejected` (code, message, path) for invalid input, checked as the engine checks it: the same
error code and path for the first problem, in the same order. No trace. `document(result)` is
the contract's decision document of a result, without the trace (for comparing).
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal, localcontext

from handwritten_base import (CONTEXT, Rejected, boolean, check_keys, check_product, claim_id_of, code, codes,
                              country, day, integer, money, obj, rounded, share, text)

PRODUCT = "accidental-damage"
VERSION = "2024-01-01"
EFFECTIVE = date(2024, 1, 1)
CURRENCIES = frozenset({"EUR", "DKK", "NOK", "SEK", "GBP"})

ROOT_KEYS = frozenset({"product", "policy", "item", "claim"})
POLICY_KEYS = frozenset({"id", "purchased", "start", "end", "premium_paid", "holder"})
HOLDER_KEYS = frozenset({"age", "residence", "sole_owner", "prior_fraud"})
ITEM_KEYS = frozenset({"kind", "purchased", "price", "purchased_in"})
CLAIM_KEYS = frozenset({"id", "event", "occurred", "reported", "repairable", "parts_available", "repair_cost",
                        "documents", "circumstances", "days_outside_residence", "negligence_share",
                        "other_insurance"})
KINDS = frozenset({"mobile_phone"})
COVERED = frozenset({"drop", "liquid.immersion", "liquid.wetting", "liquid.splash", "explosion", "fire",
                     "operational_error", "high_voltage", "vandalism"})
NOT_COVERED = frozenset({"theft.burglary", "theft.vehicle", "theft.robbery", "theft.pickpocket", "looting", "battery",
                         "cosmetic", "breakdown", "loss", "pixel_defect", "wear", "sand", "cleaning", "software",
                         "manufacturer_defect", "rooting"})
EVENTS = COVERED | NOT_COVERED
DOCUMENTS = frozenset({"photo", "proof_of_purchase", "police_report", "crime_reference"})
CIRCUMSTANCES = frozenset({"modified", "commercial_use", "counterfeit", "third_party_liable", "catastrophe",
                           "transport_packaging", "cleanable", "pre_existing", "grey_market", "illegal_use",
                           "improper_storage", "intentional", "misuse", "unauthorized_repair", "sanctioned"})
EU = frozenset("AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split())
EXCESS = {"DK": (Decimal("375.00"), "DKK"), "NO": (Decimal("475.00"), "NOK"), "SE": (Decimal("480.00"), "SEK"),
          "GB": (Decimal("50.00"), "GBP")}
DEFAULT_EXCESS = (Decimal("50.00"), "EUR")
ZERO = Decimal(0)
ONE = Decimal(1)
NO_DEPRECIATION, RATE_10, RATE_20, RATE_30 = Decimal("0"), Decimal("0.10"), Decimal("0.20"), Decimal("0.30")


def _reason(code_: str, clause: str, message: str) -> dict:
    return {"code": code_, "clause": clause, "message": message}


LATE_ENROLMENT = _reason("late-enrolment", "B, H.1", "The policy was bought more than 6 days after the phone.")
UNDERAGE = _reason("holder-underage", "C", "The policyholder is under 18.")
NOT_SOLE_OWNER = _reason("not-sole-owner", "C", "The policyholder is not the phone's sole owner.")
RESIDENCE = _reason("residence", "C", "The policy is only for residents of Romania.")
PRIOR_FRAUD = _reason("prior-fraud", "C", "An earlier claim of the policyholder was refused on suspicion of fraud.")
PREMIUM_UNPAID = _reason("premium-unpaid", "I.2", "The premium had not been paid when the damage happened.")
OUTSIDE_PERIOD = _reason("outside-coverage-period", "G.1",
                         "The damage happened before the cover started or after it ended.")
OUTSIDE_EU = _reason("purchased-outside-eu", "G.1", "The phone was bought outside the European Union.")
OUTSIDE_RESIDENCE = _reason("purchased-outside-residence", "G.1",
                            "The phone was bought outside the policyholder's country of residence.")
AWAY_60_DAYS = _reason("outside-residence-60-days", "G.1",
                       "The phone had been outside the country of residence for more than 60 days.")
EVENT_NOT_COVERED = _reason("event-not-covered", "B.2", "The damage was caused by an event this plan does not insure.")
THIRD_PARTY = _reason("third-party-liability", "G.1",
                      "A third party is liable for the damage under a warranty, contract or law.")
# the exclusions in the product's order, by circumstance (third-party-liability has its own test)
EXCLUSIONS = (
    ("modified", _reason("device-modified", "G.1",
                         "The phone's safety functions had been removed, bypassed, disabled or modified.")),
    ("commercial_use", _reason("commercial-use", "G.1",
                               "The damage came from using the phone for business rather than personal purposes.")),
    ("counterfeit", _reason("counterfeit", "G.1", "The phone is a counterfeit or an unauthorised copy.")),
    ("third_party_liable", THIRD_PARTY),
    ("catastrophe", _reason("external-event", "G.1", "The damage came from an external event (natural disaster, war, "
                                                      "terrorism, riot or nuclear contamination).")),
    ("transport_packaging", _reason("transport-damage", "G.1",
                                    "The damage came from inadequate packaging during transport or shipping.")),
    ("cleanable", _reason("cleanable", "G.1", "The damage or fault can be put right by cleaning the phone.")),
    ("pre_existing", _reason("pre-existing", "G.1", "When the policy was bought, the policyholder knew of facts that "
                                                    "would lead to this claim.")),
    ("grey_market", _reason("grey-market", "G.1", "The phone is a grey-market device, sold outside the manufacturer's "
                                                  "authorised channels.")),
    ("illegal_use", _reason("illegal-use", "G.1", "The phone was being used illegally.")),
    ("improper_storage", _reason("improper-storage", "G.1",
                                 "The phone was stored in a place the manufacturer does not recommend.")),
    ("intentional", _reason("intentional", "G.1", "The damage was caused intentionally by the insured person.")),
    ("misuse", _reason("misuse", "G.1", "The damage came from use contrary to the manufacturer's instructions.")),
    ("unauthorized_repair", _reason("unauthorized-repair", "G.1",
                                    "The phone was altered or repaired without the insurer's permission.")),
    ("sanctioned", _reason("sanctions", "L.5", "Paying this claim would breach international sanctions.")),
)
OTHER_INSURANCE = _reason("other-insurance", "H.4",
                          "Another insurance may cover the same loss; a claims handler must decide.")
LATE_NOTIFICATION = _reason("late-notification", "J.2", "The claim was reported more than 30 days after the damage; "
                                                        "a claims handler must decide.")
GROSS_NEGLIGENCE = _reason("gross-negligence", "J.7", "The payout is reduced in proportion to the policyholder's "
                                                      "share of gross negligence.")


def _refusal(claim_id, currency, outcome, reasons=(), missing=()) -> dict:
    return {"claim_id": claim_id, "product": PRODUCT, "product_version": VERSION, "outcome": outcome,
            "settlement": None, "payout": ZERO, "excess": ZERO, "currency": currency, "depreciation": None,
            "reasons": reasons, "missing_documents": missing}


def decide(claim) -> dict:
    """The decision on one claim document; raises Rejected for invalid input."""
    # -- the product and its version (by the day the insurance was bought)
    check_product(claim, PRODUCT, EFFECTIVE)

    # -- the claim document, field by field
    check_keys(claim, ROOT_KEYS, "")
    policy = obj(claim, "policy", "policy", POLICY_KEYS)
    text(policy.get("id"), "policy.id", required=False)
    purchased = day(policy.get("purchased"), "policy.purchased")
    start = day(policy.get("start"), "policy.start")
    end = day(policy.get("end"), "policy.end")
    premium_paid = boolean(policy.get("premium_paid"), "policy.premium_paid", True)
    holder = obj(policy, "holder", "policy.holder", HOLDER_KEYS)
    age = integer(holder.get("age"), "policy.holder.age", 0, 150)
    residence = country(holder.get("residence"), "policy.holder.residence")
    sole_owner = boolean(holder.get("sole_owner"), "policy.holder.sole_owner", True)
    prior_fraud = boolean(holder.get("prior_fraud"), "policy.holder.prior_fraud", False)

    c = obj(claim, "claim", "claim", CLAIM_KEYS)
    claim_id = text(c.get("id"), "claim.id", required=False)
    event = code(c.get("event"), "claim.event", EVENTS)
    occurred = day(c.get("occurred"), "claim.occurred")
    reported = day(c.get("reported"), "claim.reported")
    repairable = boolean(c.get("repairable"), "claim.repairable")
    parts_available = boolean(c.get("parts_available"), "claim.parts_available", True)
    repair = money(c.get("repair_cost"), "claim.repair_cost", CURRENCIES, required=False)
    documents = codes(c.get("documents"), "claim.documents", DOCUMENTS)
    circumstances = codes(c.get("circumstances"), "claim.circumstances", CIRCUMSTANCES)
    days_away = integer(c.get("days_outside_residence"), "claim.days_outside_residence", 0, None, 0)
    negligence = share(c.get("negligence_share"), "claim.negligence_share", ZERO)
    other_insurance = boolean(c.get("other_insurance"), "claim.other_insurance", False)

    item = obj(claim, "item", "item", ITEM_KEYS)
    code(item.get("kind"), "item.kind", KINDS)
    bought = day(item.get("purchased"), "item.purchased")
    price, currency = money(item.get("price"), "item.price", CURRENCIES)
    bought_in = country(item.get("purchased_in"), "item.purchased_in")

    repair_cost = None
    if repair is not None:
        repair_cost, repair_currency = repair
        if repair_currency != currency:
            raise Rejected("claim.mixed-currency", "all money in one claim must be in one currency",
                           "claim.repair_cost")
    elif repairable:
        raise Rejected("claim.missing-field", "claim.repair_cost is required when claim.repairable",
                       "claim.repair_cost")
    if end < start:
        raise Rejected("claim.date-order", "policy.end is before policy.start", "policy.end")
    if reported < occurred:
        raise Rejected("claim.date-order", "claim.reported is before claim.occurred", "claim.reported")

    # -- declined: every rule that holds, in the product's order
    declined = []
    if (purchased - bought).days > 6:
        declined.append(LATE_ENROLMENT)
    if age < 18:
        declined.append(UNDERAGE)
    if not sole_owner:
        declined.append(NOT_SOLE_OWNER)
    if residence != "RO":
        declined.append(RESIDENCE)
    if prior_fraud:
        declined.append(PRIOR_FRAUD)
    if not premium_paid:
        declined.append(PREMIUM_UNPAID)
    if occurred < start or occurred > end:
        declined.append(OUTSIDE_PERIOD)
    if bought_in not in EU:
        declined.append(OUTSIDE_EU)
    if bought_in != residence:
        declined.append(OUTSIDE_RESIDENCE)
    if days_away > 60:
        declined.append(AWAY_60_DAYS)
    if event in NOT_COVERED:
        declined.append(EVENT_NOT_COVERED)
    if circumstances:
        for circumstance, reason in EXCLUSIONS:
            if circumstance in circumstances and (reason is not THIRD_PARTY or event != "vandalism"):
                declined.append(reason)
    if declined:
        return _refusal(claim_id, currency, "declined", tuple(declined))

    # -- pending: documents missing
    missing = []
    if "proof_of_purchase" not in documents:
        missing.append("proof_of_purchase")
    if "photo" not in documents:
        missing.append("photo")
    if event == "vandalism" and "police_report" not in documents:
        missing.append("police_report")
    if missing:
        return _refusal(claim_id, currency, "pending", (), tuple(missing))

    # -- referred
    referred = []
    if other_insurance:
        referred.append(OTHER_INSURANCE)
    if (reported - occurred).days > 30:
        referred.append(LATE_NOTIFICATION)
    if referred:
        return _refusal(claim_id, currency, "referred", tuple(referred))

    # -- approved: repair or replacement, less the excess, reduced for gross negligence
    days_owned = (reported - bought).days
    if days_owned < 0:
        raise Rejected("evaluation.error", "days owned is below the first band of depreciation_by_age", None)
    rate = (NO_DEPRECIATION if days_owned <= 183 else RATE_10 if days_owned <= 365
            else RATE_20 if days_owned <= 730 else RATE_30)
    with localcontext(CONTEXT):
        current_value = price * (ONE - rate)
        is_repair = repairable and parts_available and repair_cost <= current_value
        gross = repair_cost if is_repair else current_value
        excess, excess_currency = EXCESS.get(residence, DEFAULT_EXCESS)
        if excess_currency != currency:
            path = "claim.repair_cost" if repair is not None else "item.price"
            raise Rejected("claim.currency-mismatch", f"the claim is in {currency}, the excess in {excess_currency}",
                           path)
        applied = min(excess, gross) if gross > 0 else ZERO
        payout = gross - applied
        reasons = ()
        if negligence > 0:
            payout = payout * (ONE - negligence)
            reasons = (GROSS_NEGLIGENCE,)
        return {"claim_id": claim_id, "product": PRODUCT, "product_version": VERSION, "outcome": "approved",
                "settlement": "repair" if is_repair else "replacement", "payout": rounded(payout, currency),
                "excess": rounded(applied, currency), "currency": currency, "depreciation": rate,
                "reasons": reasons, "missing_documents": ()}


def document(result: dict) -> dict:
    """The contract's decision document of a result of `decide`, without the trace."""
    currency = result["currency"]
    rate = result["depreciation"]
    return {"claim_id": result["claim_id"], "product": result["product"], "product_version": result["product_version"],
            "outcome": result["outcome"], "settlement": result["settlement"],
            "payout": {"amount": str(rounded(result["payout"], currency)), "currency": currency},
            "excess": {"amount": str(rounded(result["excess"], currency)), "currency": currency},
            "depreciation": None if rate is None else str(rate.quantize(Decimal("0.01"), context=CONTEXT)),
            "reasons": [dict(reason) for reason in result["reasons"]],
            "missing_documents": list(result["missing_documents"])}


def decide_document(claim) -> dict:
    """The decision document, or the error object for invalid input (never raises for bad input)."""
    try:
        return document(decide(claim))
    except Rejected as error:
        return error.to_dict(claim_id_of(claim))
