"""Make a claims book: N claims across the shipped products, the same for the same seed.

    python benchmarks/make_book.py 1000000 --seed 7 -o book.jsonl     # one claim per line
    python benchmarks/make_book.py 100000 -o book.parquet             # a `claim` column of JSON text

Each claim starts from the shape of an example claim of its product (examples/) and varies what
the product reads: ages, countries, prices and costs, dates (so every band and table row is
met), events, documents, circumstances, benefit sections, the payment history. Most claims are
approved; some are declined, pending or referred, as a real book's are, and about 1 in 200 is
invalid input (a misspelt field, a negative amount, a currency the product does not take), so an
impact report has errors on both sides to show. examples/book/claims.jsonl is
`make_book.py 3000 --seed 1`.

`claims(n, seed)` yields the claims as dicts (the tests use it); `lines(n, seed)` as JSON text.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import date, timedelta
from typing import Iterator

PRODUCTS = ("accidental-damage", "screen-protection", "bmw-total-loss", "travel-single-trip", "pet-vet-fees")
WEIGHTS = (35, 20, 10, 20, 15)
PHONE_CURRENCY = {"RO": "EUR", "DK": "DKK", "GB": "GBP", "SE": "SEK", "NO": "NOK"}
PHONE_EVENTS = ("drop",) * 12 + ("liquid.splash", "liquid.immersion", "fire", "vandalism", "operational_error",
                                "high_voltage", "theft.pickpocket", "battery", "cosmetic")
PHONE_CIRCUMSTANCES = ("commercial_use", "third_party_liable", "misuse", "intentional", "counterfeit")
DAY0 = date(2024, 1, 1)


def _money(amount_cents: int, currency: str) -> dict:
    return {"amount": f"{amount_cents // 100}.{amount_cents % 100:02d}", "currency": currency}


def _day(day: date) -> str:
    return day.isoformat()


def _phone(r: random.Random, product: str, number: int, seed: int) -> dict:
    residence = "RO" if r.random() < 0.95 else r.choice(("DK", "GB", "SE", "NO"))
    currency = PHONE_CURRENCY[residence]
    rate = {"EUR": 1, "DKK": 7, "GBP": 1, "SE": 11, "SEK": 11, "NOK": 11}[currency]
    purchased = DAY0 + timedelta(days=r.randrange(0, 540))
    bought = purchased - timedelta(days=r.randrange(0, 7) if r.random() < 0.97 else r.randrange(7, 30))
    occurred = purchased + timedelta(days=r.randrange(1, 740))
    reported = occurred + timedelta(days=r.randrange(0, 12) if r.random() < 0.95 else r.randrange(31, 60))
    price = r.randrange(150_00, 1600_00) * rate
    repairable = r.random() < 0.75
    documents = ["photo", "proof_of_purchase"] if r.random() < 0.93 else r.choice((["photo"], ["proof_of_purchase"]))
    event = r.choice(PHONE_EVENTS)
    if event == "vandalism" and r.random() < 0.8:
        documents.append("police_report")
    claim = {
        "id": f"{'AD' if product == 'accidental-damage' else 'SP'}-{seed}-{number:07d}",
        "event": event,
        "occurred": _day(occurred),
        "reported": _day(reported),
        "repairable": repairable,
        "documents": documents,
        "circumstances": [r.choice(PHONE_CIRCUMSTANCES)] if r.random() < 0.04 else [],
        "days_outside_residence": 0 if r.random() < 0.97 else r.randrange(10, 90),
    }
    if repairable:
        claim["repair_cost"] = _money(r.randrange(20_00, 700_00) * rate, currency)
    if r.random() < 0.08:
        claim["negligence_share"] = r.choice(("0.25", "0.5", "0.1"))
    if r.random() < 0.03:
        claim["other_insurance"] = True
    if product == "screen-protection":
        claim["damaged_part"] = r.choice(("screen",) * 6 + ("back_cover", "other"))
    return {
        "product": product,
        "policy": {
            "id": f"RO-{seed}-{number:07d}",
            "purchased": _day(purchased),
            "start": _day(purchased),
            "end": _day(purchased + timedelta(days=729)),
            "premium_paid": r.random() < 0.99,
            "holder": {"age": r.randrange(16, 80) if r.random() < 0.99 else 17, "residence": residence,
                       "sole_owner": r.random() < 0.99, "prior_fraud": r.random() < 0.01},
        },
        "item": {"kind": "mobile_phone", "purchased": _day(bought), "price": _money(price, currency),
                 "purchased_in": residence if r.random() < 0.98 else "US"},
        "claim": claim,
    }


def _bmw(r: random.Random, number: int, seed: int) -> dict:
    variant = "new" if r.random() < 0.6 else "used"
    bought = date(2019, 12, 1) + timedelta(days=r.randrange(0, 1800))
    purchased = bought + timedelta(days=r.randrange(0, 300 if variant == "new" else 1300))
    occurred = purchased + timedelta(days=r.randrange(10, 1000))
    invoice = r.randrange(200_000_00, 800_000_00)
    sum_insured = invoice - r.randrange(0, 60_000_00)
    document = {
        "product": "bmw-total-loss",
        "policy": {"id": f"BMW-{seed}-{number:07d}", "purchased": _day(purchased), "start": _day(purchased),
                   "end": _day(purchased + timedelta(days=1095)), "variant": variant},
        "item": {"kind": "vehicle", "brand": r.choice(("BMW",) * 6 + ("MINI",) * 3 + ("Audi",)),
                 "vin": "WBA5R1C05LFH" + f"{number % 100000:05d}", "seats": 5 if r.random() < 0.97 else 12,
                 "use": "private" if r.random() < 0.9 else r.choice(("company", "ride_hailing")),
                 "purchased": _day(bought), "invoice_price": _money(invoice, "CNY"),
                 "msrp": _money(invoice + r.randrange(0, 50_000_00), "CNY"),
                 "purchase_tax": _money(invoice // 11, "CNY"), "insurance_premium": _money(r.randrange(8_000_00, 20_000_00), "CNY")},
        "claim": {
            "id": f"BMW-{seed}-{number:07d}",
            "event": "total_loss" if r.random() < 0.85 else r.choice(("constructive_total_loss", "partial_damage")),
            "occurred": _day(occurred),
            "reported": _day(occurred + timedelta(days=r.randrange(0, 20))),
            "motor": {"commercial_in_force": r.random() < 0.98, "ctpl_in_force": True,
                      "total_loss_paid": r.random() < 0.95, "sum_insured": _money(sum_insured, "CNY"),
                      "payout": _money(sum_insured - r.randrange(0, 100_000_00), "CNY")},
            "documents": ["loss_notice", "service_contract", "total_loss_proof", "vehicle_license", "driver_license",
                          "id_card", "purchase_invoice"][:7 if r.random() < 0.9 else r.randrange(3, 7)],
        },
    }
    if r.random() < 0.8:
        msrp = invoice + r.randrange(-50_000_00, 80_000_00)
        document["claim"]["replacement"] = {
            "brand": "BMW" if r.random() < 0.7 else "MINI", "msrp": _money(msrp, "CNY"),
            "purchase_tax": _money(msrp // 11, "CNY"), "delivery_fees": _money(r.randrange(0, 5_000_00), "CNY"),
            "registration_fees": _money(r.randrange(0, 1_000_00), "CNY"),
            "insurance_premium": _money(r.randrange(8_000_00, 20_000_00), "CNY")}
    return document


def _travel(r: random.Random, number: int, seed: int) -> dict:
    purchased = date(2025, 1, 1) + timedelta(days=r.randrange(0, 300))
    departure = purchased + timedelta(days=r.randrange(3, 120))
    back = departure + timedelta(days=r.randrange(2, 40) if r.random() < 0.97 else r.randrange(40, 100))
    born = date(r.randrange(1949, 2005), r.randrange(1, 13), r.randrange(1, 29))
    sections = [s for s in ("cancellation", "medical", "baggage", "delay") if r.random() < 0.35] or ["medical"]
    claim: dict = {"id": f"TRV-{seed}-{number:07d}", "sections": sections, "documents": [], "circumstances": []}
    documents = claim["documents"]
    if "cancellation" in sections:
        reason = r.choice(("illness", "injury", "death", "redundancy", "change_of_mind", "illness", "injury"))
        claim["cancellation"] = {"reason": reason, "arose": _day(purchased + timedelta(days=r.randrange(-5, 30))),
                                 "costs": _money(r.randrange(100_00, 6000_00), "GBP")}
        documents += ["booking_invoice", "cancellation_invoice"] + (["medical_certificate"] if r.random() < 0.9 else [])
    if "medical" in sections:
        claim["medical"] = {"cause": r.choice(("illness", "injury", "dental")),
                            "occurred": _day(departure + timedelta(days=r.randrange(0, (back - departure).days + 3))),
                            "expenses": _money(r.randrange(50_00, 5600_00), "GBP")}
        documents += ["medical_report", "medical_invoices"]
        if r.random() < 0.03:
            claim["circumstances"].append("alcohol_or_drugs")
    if "baggage" in sections:
        occurred = departure + timedelta(days=r.randrange(0, (back - departure).days + 1))
        items = []
        for index in range(r.randrange(1, 5)):
            items.append({"description": f"article {index}", "category": r.choice(("valuable", "other", "other")),
                          "price": _money(r.randrange(20_00, 900_00), "GBP"),
                          "purchased": _day(occurred - timedelta(days=r.randrange(0, 2500))),
                          "in_checked_baggage": r.random() < 0.4})
        claim["baggage"] = {"incident": r.choice(("theft", "loss", "damage")), "occurred": _day(occurred),
                            "items": items}
        documents += ["baggage_report", "receipts"]
    if "delay" in sections:
        scheduled = f"{_day(departure)}T{r.randrange(6, 22):02d}:{r.choice(('00', '15', '30', '45'))}:00+01:00"
        hours = r.randrange(2, 60)
        actual_day = departure + timedelta(days=(hours + 22) // 24)
        claim["delay"] = {"cause": "technical fault", "scheduled_departure_at": scheduled,
                          "actual_departure_at": f"{_day(actual_day)}T23:59:00+01:00"}
        documents.append("carrier_letter")
    if documents and r.random() < 0.06:
        documents.pop(r.randrange(len(documents)))
    return {"product": "travel-single-trip",
            "policy": {"id": f"TRV-{seed}-{number:07d}", "purchased": _day(purchased),
                       "holder": {"date_of_birth": _day(born), "residence": "GB" if r.random() < 0.98 else "IE"},
                       "trip": {"departure": _day(departure), "return": _day(back)}},
            "claim": claim}


def _pet(r: random.Random, number: int, seed: int) -> dict:
    inception = date(2018, 1, 1) + timedelta(days=r.randrange(0, 2700))
    start = inception if inception.year >= 2025 else date(2025, inception.month, min(inception.day, 28))
    end = start + timedelta(days=364)
    born = inception - timedelta(days=r.randrange(60, 3000))
    treatment = start + timedelta(days=r.randrange(0, 360))
    condition = r.choice(("otitis_externa", "skin_allergy", "cruciate_ligament", "fracture", "gastritis"))
    history = []
    for _ in range(r.choice((0, 0, 1, 1, 2, 3))):
        history.append({"condition": r.choice((condition, "skin_allergy", "fracture")),
                        "treatment_date": _day(start + timedelta(days=r.randrange(0, 360))),
                        "paid": _money(r.randrange(50_00, 3000_00), "GBP"),
                        "excess": _money(r.choice((0, 150_00)), "GBP")})
    return {"product": "pet-vet-fees",
            "policy": {"id": f"PET-{seed}-{number:07d}", "inception": _day(inception), "start": _day(start),
                       "end": _day(end), "premium_paid": r.random() < 0.99, "claims_history": history},
            "item": {"species": r.choice(("dog", "cat")), "born": _day(born)},
            "claim": {"id": f"PET-{seed}-{number:07d}", "kind": r.choice(("illness", "accident")),
                      "category": r.choice(("treatment",) * 8 + ("routine", "dental")), "condition": condition,
                      "first_signs": _day(treatment - timedelta(days=r.randrange(0, 400))),
                      "treatment_date": _day(treatment),
                      "submitted": _day(treatment + timedelta(days=r.randrange(0, 30) if r.random() < 0.97 else 100)),
                      "fees": _money(r.randrange(40_00, 3300_00), "GBP"),
                      "documents": ["vet_invoice", "claim_form", "clinical_history"][:3 if r.random() < 0.9 else 2]}}


def _spoil(r: random.Random, document: dict) -> None:
    """Make a claim invalid input, one of three ways."""
    how = r.randrange(3)
    claim = document["claim"]
    if how == 0:
        claim["repair_cots" if "repair_cost" in claim else "notes_typo"] = "1.00"
    elif how == 1:
        document["policy"]["purchased" if "purchased" in document["policy"] else "start"] = "2025-02-30"
    else:
        document["product"] = document["product"].replace("-", "_")


def claims(n: int, seed: int = 1) -> Iterator[dict]:
    """`n` claims, the same for the same seed."""
    r = random.Random(seed)
    choices = r.choices
    for number in range(n):
        product, = choices(PRODUCTS, WEIGHTS)
        if product in ("accidental-damage", "screen-protection"):
            document = _phone(r, product, number, seed)
        elif product == "bmw-total-loss":
            document = _bmw(r, number, seed)
        elif product == "travel-single-trip":
            document = _travel(r, number, seed)
        else:
            document = _pet(r, number, seed)
        if r.random() < 0.005:
            _spoil(r, document)
        yield document


def lines(n: int, seed: int = 1) -> Iterator[str]:
    """The same claims as JSON text, one per claim."""
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    for document in claims(n, seed):
        yield dumps(document)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="how many claims")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-o", "--output", default="-", help="a .jsonl or .parquet file (default: stdout, JSON lines)")
    args = parser.parse_args(argv)
    if args.output.endswith(".parquet"):
        import pyarrow as pa
        import pyarrow.parquet as pq
        schema = pa.schema([("claim", pa.string())])
        with pq.ParquetWriter(args.output, schema) as writer:
            batch = []
            for line in lines(args.n, args.seed):
                batch.append(line)
                if len(batch) == 50_000:
                    writer.write_batch(pa.record_batch([pa.array(batch, pa.string())], schema=schema))
                    batch = []
            if batch:
                writer.write_batch(pa.record_batch([pa.array(batch, pa.string())], schema=schema))
        return 0
    out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8", newline="\n")
    try:
        for line in lines(args.n, args.seed):
            out.write(line + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
