"""bmw-total-loss (products/bmw-total-loss.yaml), written by hand: the reference a product would
have without policyconf.

`decide(claim)` takes a claim document (a dict, as parsed from JSON) and returns the decision as
a plain dict (amounts as `Decimal`, `reasons` the rules' {code, clause, message}), or raises
`Rejected` (code, message, path) for invalid input, checked as the engine checks it: the same
error code and path for the first problem, in the same order. No trace. `document(result)` is
the contract's decision document of a result, without the trace (for comparing).
"""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, localcontext

from handwritten_base import (CONTEXT, Rejected, add_months, boolean, check_keys, check_product, claim_id_of, code,
                              codes, day, integer, money, months_between, obj, rounded, text)

PRODUCT = "bmw-total-loss"
VERSION = "2019-11-30"
EFFECTIVE = date(2019, 11, 30)
CNY = frozenset({"CNY"})

ROOT_KEYS = frozenset({"product", "policy", "item", "claim"})
POLICY_KEYS = frozenset({"id", "purchased", "start", "end", "variant", "premium_paid", "prior_claims"})
ITEM_KEYS = frozenset({"kind", "brand", "vin", "seats", "use", "purchased", "invoice_price", "msrp", "purchase_tax",
                       "insurance_premium"})
CLAIM_KEYS = frozenset({"id", "event", "occurred", "reported", "motor", "replacement", "documents", "circumstances"})
MOTOR_KEYS = frozenset({"commercial_in_force", "ctpl_in_force", "total_loss_paid", "sum_insured", "payout"})
REPLACEMENT_KEYS = frozenset({"brand", "msrp", "purchase_tax", "delivery_fees", "registration_fees",
                              "insurance_premium"})
VARIANTS = frozenset({"new", "used"})
KINDS = frozenset({"vehicle"})
USES = frozenset({"private", "company", "commercial", "rental", "test_drive", "ride_hailing"})
NON_COMMERCIAL = frozenset({"private", "company"})
EVENTS = frozenset({"total_loss", "constructive_total_loss", "partial_damage"})
DOCUMENTS = ("loss_notice", "service_contract", "total_loss_proof", "vehicle_license", "driver_license", "id_card",
             "purchase_invoice")
DOCUMENT_CODES = frozenset(DOCUMENTS)
CIRCUMSTANCES = frozenset({"details_mismatch", "modified", "transferred", "intentional", "gross_negligence", "fraud",
                           "criminal_act", "improper_use", "defect_wear", "war_terrorism", "nuclear_pollution",
                           "government_action"})
BMW_GROUP = frozenset({"BMW", "MINI"})
VIN = re.compile(r"[A-HJ-NPR-Z0-9]{17}").fullmatch
ZERO = Decimal(0)
GAP_PER_MONTH = Decimal("0.006")
COSTS_CAP = Decimal("0.15")
NINETY_PERCENT = Decimal("0.90")
NO_DEPRECIATION = Decimal(0)


def _reason(code_: str, clause: str, message: str) -> dict:
    return {"code": code_, "clause": clause, "message": message}


BRAND = _reason("brand", "1.4", "The vehicle is not a BMW or MINI.")
SEATS = _reason("seats", "contract", "The vehicle has more than 9 seats.")
COMMERCIAL = _reason("commercial-use", "contract", "The vehicle is used commercially; only non-commercial private or "
                                                   "company cars (非营运) qualify.")
TOO_OLD = _reason("vehicle-too-old", "contract", "The service was bought too long after the car's first purchase "
                                                 "(12 months for a new car, 48 for a used one).")
PREMIUM_UNPAID = _reason("premium-unpaid", "contract", "The service fee has not been paid.")
BENEFIT_USED = _reason("benefit-used", "contract", "The one replacement benefit of this contract has already been paid.")
OUTSIDE_PERIOD = _reason("outside-service-period", "1.4", "The loss happened outside the service period (for a new "
                                                          "car, it also ends 36 months after purchase).")
TIME_BARRED = _reason("time-barred", "保险法 art. 26", "The claim was made more than 2 years after the loss.")
MOTOR_LAPSED = _reason("motor-cover-lapsed", "contract", "The car's commercial damage cover and compulsory insurance "
                                                         "were not both in force on the loss date.")
NO_TOTAL_LOSS = _reason("no-total-loss-payout", "contract", "The motor insurer has not assessed and paid the loss as "
                                                            "a total loss; that is the motor insurer's call alone.")
PARTIAL_LOSS = _reason("partial-loss", "1.4", "The vehicle was only partly damaged; the service applies to a total "
                                              "or constructive total loss.")
EXCLUSIONS = (
    ("details_mismatch", _reason("details-mismatch", "contract",
                                 "The vehicle, owner or use differs from what the service contract records.")),
    ("modified", _reason("modified", "contract", "The vehicle was modified or assembled.")),
    ("transferred", _reason("transferred", "contract", "Ownership was transferred without the dealer's consent.")),
    ("intentional", _reason("intentional", "contract", "The loss was caused intentionally.")),
    ("gross_negligence", _reason("gross-negligence", "contract", "The loss was caused by gross negligence.")),
    ("fraud", _reason("fraud", "contract", "The claim involves fraud.")),
    ("criminal_act", _reason("criminal-act", "contract", "The loss arose from a criminal act.")),
    ("improper_use", _reason("improper-use", "contract", "The loss came from improper use, maintenance or storage.")),
    ("defect_wear", _reason("defect-wear", "contract", "The loss came from a defect or from wear and tear.")),
    ("war_terrorism", _reason("war-terrorism", "contract", "The loss came from war, terrorism, a strike or a riot.")),
    ("nuclear_pollution", _reason("nuclear-pollution", "contract", "The loss came from nuclear radiation or pollution.")),
    ("government_action", _reason("government-action", "contract", "The loss came from government action.")),
)
REPLACEMENT_BRAND = _reason("replacement-brand", "1.4", "The replacement car is not a BMW or MINI.")
REPLACEMENT_BELOW_90 = _reason("replacement-below-90", "contract", "The replacement car's list price is below 90% of "
                                                                   "the original car's (MSRP when new, invoice when "
                                                                   "used).")


def _refusal(claim_id, outcome, reasons=(), missing=()) -> dict:
    return {"claim_id": claim_id, "product": PRODUCT, "product_version": VERSION, "outcome": outcome,
            "settlement": None, "payout": ZERO, "excess": ZERO, "currency": "CNY", "depreciation": None,
            "reasons": reasons, "missing_documents": missing}


def decide(claim) -> dict:
    """The decision on one claim document; raises Rejected for invalid input."""
    # -- the product and its version (by the day the service was bought)
    check_product(claim, PRODUCT, EFFECTIVE)

    # -- the claim document, field by field
    check_keys(claim, ROOT_KEYS, "")
    policy = obj(claim, "policy", "policy", POLICY_KEYS)
    text(policy.get("id"), "policy.id", required=False)
    purchased = day(policy.get("purchased"), "policy.purchased")
    start = day(policy.get("start"), "policy.start")
    end = day(policy.get("end"), "policy.end")
    new = code(policy.get("variant"), "policy.variant", VARIANTS) == "new"
    premium_paid = boolean(policy.get("premium_paid"), "policy.premium_paid", True)
    prior_claims = integer(policy.get("prior_claims"), "policy.prior_claims", 0, None, 0)

    c = obj(claim, "claim", "claim", CLAIM_KEYS)
    claim_id = text(c.get("id"), "claim.id", required=False)
    event = code(c.get("event"), "claim.event", EVENTS)
    occurred = day(c.get("occurred"), "claim.occurred")
    reported = day(c.get("reported"), "claim.reported")
    motor = obj(c, "motor", "claim.motor", MOTOR_KEYS)
    commercial_in_force = boolean(motor.get("commercial_in_force"), "claim.motor.commercial_in_force")
    ctpl_in_force = boolean(motor.get("ctpl_in_force"), "claim.motor.ctpl_in_force")
    total_loss_paid = boolean(motor.get("total_loss_paid"), "claim.motor.total_loss_paid")
    sum_insured = money(motor.get("sum_insured"), "claim.motor.sum_insured", CNY)[0]
    motor_payout = money(motor.get("payout"), "claim.motor.payout", CNY)[0]
    replacement = obj(c, "replacement", "claim.replacement", REPLACEMENT_KEYS, required=False)
    if replacement is not None:
        new_brand = text(replacement.get("brand"), "claim.replacement.brand")
        new_msrp = money(replacement.get("msrp"), "claim.replacement.msrp", CNY)[0]
        new_tax = money(replacement.get("purchase_tax"), "claim.replacement.purchase_tax", CNY)[0]
        delivery = money(replacement.get("delivery_fees"), "claim.replacement.delivery_fees", CNY)[0]
        registration = money(replacement.get("registration_fees"), "claim.replacement.registration_fees", CNY)[0]
        new_premium = money(replacement.get("insurance_premium"), "claim.replacement.insurance_premium", CNY)[0]
    documents = codes(c.get("documents"), "claim.documents", DOCUMENT_CODES)
    circumstances = codes(c.get("circumstances"), "claim.circumstances", CIRCUMSTANCES)

    item = obj(claim, "item", "item", ITEM_KEYS)
    code(item.get("kind"), "item.kind", KINDS)
    brand = text(item.get("brand"), "item.brand")
    text(item.get("vin"), "item.vin", VIN)
    seats = integer(item.get("seats"), "item.seats", 1, 100)
    use = code(item.get("use"), "item.use", USES)
    bought = day(item.get("purchased"), "item.purchased")
    invoice = money(item.get("invoice_price"), "item.invoice_price", CNY)[0]
    msrp = money(item.get("msrp"), "item.msrp", CNY)[0]
    purchase_tax = money(item.get("purchase_tax"), "item.purchase_tax", CNY)[0]
    premium = money(item.get("insurance_premium"), "item.insurance_premium", CNY)[0]

    if end < start:
        raise Rejected("claim.date-order", "policy.end is before policy.start", "policy.end")
    if reported < occurred:
        raise Rejected("claim.date-order", "claim.reported is before claim.occurred", "claim.reported")

    # -- declined: every rule that holds, in the product's order
    declined = []
    if brand not in BMW_GROUP:
        declined.append(BRAND)
    if seats > 9:
        declined.append(SEATS)
    if use not in NON_COMMERCIAL:
        declined.append(COMMERCIAL)
    if purchased > add_months(bought, 12 if new else 48):
        declined.append(TOO_OLD)
    if not premium_paid:
        declined.append(PREMIUM_UNPAID)
    if prior_claims >= 1:
        declined.append(BENEFIT_USED)
    if occurred < start or occurred > end or (new and occurred >= add_months(bought, 36)):
        declined.append(OUTSIDE_PERIOD)
    if reported > add_months(occurred, 24):
        declined.append(TIME_BARRED)
    if not (commercial_in_force and ctpl_in_force):
        declined.append(MOTOR_LAPSED)
    if not total_loss_paid:
        declined.append(NO_TOTAL_LOSS)
    if event == "partial_damage":
        declined.append(PARTIAL_LOSS)
    if circumstances:
        for circumstance, reason in EXCLUSIONS:
            if circumstance in circumstances:
                declined.append(reason)
    if replacement is not None:
        if new_brand not in BMW_GROUP:
            declined.append(REPLACEMENT_BRAND)
        if new_msrp < NINETY_PERCENT * (msrp if new else invoice):
            declined.append(REPLACEMENT_BELOW_90)
    if declined:
        return _refusal(claim_id, "declined", tuple(declined))

    # -- pending: documents missing, or the replacement car not bought yet
    missing = [document for document in DOCUMENTS if document not in documents]
    if replacement is None:
        missing.append("replacement_purchase")
    if missing:
        return _refusal(claim_id, "pending", (), tuple(missing))

    # -- approved: the invoice gap plus the replacement costs (capped)
    with localcontext(CONTEXT):
        if new:
            gap = max(ZERO, invoice - sum_insured)
        else:
            gap = invoice * months_between(bought, occurred) * GAP_PER_MONTH
        gap = min(gap, max(ZERO, invoice - motor_payout))
        costs = ((min(purchase_tax, new_tax) if new else ZERO) + delivery + registration
                 + min(premium, new_premium))
        costs = min(costs, invoice * COSTS_CAP)
        payout = rounded(gap + costs, "CNY")
    if payout < 0:
        raise Rejected("evaluation.error", "the payout formula gives a negative amount", None)
    return {"claim_id": claim_id, "product": PRODUCT, "product_version": VERSION, "outcome": "approved",
            "settlement": "vehicle_replacement", "payout": payout, "excess": ZERO, "currency": "CNY",
            "depreciation": NO_DEPRECIATION, "reasons": (), "missing_documents": ()}


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
