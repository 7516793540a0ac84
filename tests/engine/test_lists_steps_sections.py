"""Lists of records, settlement steps, benefit sections, version dates, bands of amounts, personal
values that may be shown: the engine on small products written for each, not on the shipped ones.
"""
from __future__ import annotations

import copy

import pytest

from policyconf import ClaimError, load, load_products

GADGET = """\
id: gadget
name: Gadget cover
version: "2025-01-01"
effective_from: 2025-01-01
currencies: [GBP, EUR]
fields:
  policy.purchased: {type: date}
  policy.holder.born: {type: date, pii: true}
  item.price: {type: money}
  claim.event: {type: code, values: [theft, loss, damage]}
  claim.occurred: {type: date}
  claim.reported_at: {type: datetime}
  claim.parts:
    type: list
    min_items: 1
    max_items: 3
    items:
      name: {type: text}
      cost: {type: money}
      kind: {type: code, values: [screen, battery, other]}
      bought: {type: date, not_after: claim.occurred}
      note: {type: text, optional: true}
  policy.claims_history:
    type: list
    default: []
    items:
      event: {type: code, values: [theft, loss, damage]}
      occurred: {type: date}
      paid: {type: money}
definitions:
  # "at most two theft or loss claims in any 12 months"
  recent_thefts: count(h in policy.claims_history where h.event in ["theft", "loss"] and h.occurred > claim.occurred - 12 months)
  paid_before: sum(h.paid for h in policy.claims_history)
  holder_age:
    value: years_between(policy.holder.born, policy.purchased)
    pii: false
  holder_decade: floor(years_between(policy.holder.born, policy.purchased) / 10)
bands:
  excess_by_price:
    clause: "3"
    unit: amount
    bands:
      - {from: 0.00 GBP, to: 299.99 GBP, value: 25.00 GBP}
      - {from: 300.00 GBP, below: 700.00 GBP, value: 50.00 GBP}
      - {from: 700.00 GBP, value: 75.00 GBP}
eligibility:
  too-many-thefts:
    clause: "2"
    message: At most two theft or loss claims in any 12 months.
    when: claim.event in ["theft", "loss"] and recent_thefts >= 2
  young-holder:
    clause: "1"
    message: The holder is under 18.
    when: holder_age < 18 or holder_decade < 1
settlement:
  kind: replacement
  steps:
    - each: part in claim.parts
      steps:
        - amount: part.cost
        - limit: 200.00 GBP
          when: part.kind != "screen"
          reason: part-limit
          clause: "4.1"
          message: A part other than the screen is paid at most 200.00 GBP.
      groups:
        - of: part.kind == "battery"
          limit: 100.00 GBP
          reason: battery-limit
          clause: "4.2"
          message: Batteries are paid at most 100.00 GBP in all.
    - limit: item.price
      reason: value-limit
      clause: "4"
      message: No more than the gadget's price is paid.
    - limit: max(0, 1500.00 GBP - paid_before)
      reason: lifetime-limit
      clause: "4.3"
      message: At most 1,500.00 GBP is paid over the life of the policy.
    - excess: excess_by_price[item.price]
    - adjust: amount * 90%
      when: claim.event == "loss"
      reason: loss-share
      clause: "5"
      message: A loss is paid at 90 %.
"""


def gbp(amount: str) -> dict:
    return {"amount": amount, "currency": "GBP"}


BASE = {
    "product": "gadget",
    "policy": {"purchased": "2025-02-01", "holder": {"born": "1990-05-17"}},
    "item": {"price": gbp("800.00")},
    "claim": {"id": "G-1", "event": "damage", "occurred": "2025-06-01", "reported_at": "2025-06-01T10:00:00Z",
              "parts": [{"name": "screen", "cost": gbp("300.00"), "kind": "screen", "bought": "2025-02-01"},
                        {"name": "battery", "cost": gbp("80.00"), "kind": "battery", "bought": "2025-02-01"},
                        {"name": "battery 2", "cost": gbp("60.00"), "kind": "battery", "bought": "2025-02-01"}]},
}


def claim(**changes) -> dict:
    document = copy.deepcopy(BASE)
    for path, value in changes.items():
        node = document
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if value is ...:
            del node[parts[-1]]
        else:
            node[int(parts[-1]) if isinstance(node, list) else parts[-1]] = value
    return document


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gadget")
    (folder / "gadget.yaml").write_text(GADGET, encoding="utf-8")
    return load_products(str(folder))


def error(book, document) -> tuple:
    with pytest.raises(ClaimError) as raised:
        book.evaluate(document)
    return raised.value.code, raised.value.path, raised.value.message


# -- lists of records: each element validated like a claim -------------------------------------
@pytest.mark.parametrize("change, code, path", [
    ({"claim.parts.1.cost": {"amount": "80.00", "currency": "EUR"}}, "claim.mixed-currency", "claim.parts[1].cost"),
    ({"claim.parts.1.cost": {"amount": "-1.00", "currency": "GBP"}}, "claim.amount", "claim.parts[1].cost"),
    ({"claim.parts.2.kind": "keyboard"}, "claim.unknown-code", "claim.parts[2].kind"),
    ({"claim.parts.0.colour": "red"}, "claim.unknown-field", "claim.parts[0].colour"),
    ({"claim.parts.0.cost": ...}, "claim.missing-field", "claim.parts[0].cost"),
    ({"claim.parts.1": "battery"}, "claim.type", "claim.parts[1]"),
    ({"claim.parts": []}, "claim.range", "claim.parts"),
    ({"claim.parts": [BASE["claim"]["parts"][0]] * 4}, "claim.range", "claim.parts"),
    ({"claim.parts": {"name": "screen"}}, "claim.type", "claim.parts"),
    ({"claim.parts.2.bought": "2025-06-02"}, "claim.date-order", "claim.parts[2].bought"),
    ({"claim.parts.2.bought": "2025-02-30"}, "claim.invalid-date", "claim.parts[2].bought"),
    ({"policy.claims_history": [{"event": "theft", "occurred": "2025-01-01", "paid": gbp("1.00"), "x": 1}]},
     "claim.unknown-field", "policy.claims_history[0].x"),
    ({"claim.reported_at": "2025-06-01T10:00:00"}, "claim.invalid-date", "claim.reported_at"),
    ({"claim.reported_at": "2025-06-01 10:00:00+01:00"}, "claim.invalid-date", "claim.reported_at"),
    ({"claim.reported_at": "2025-06-31T10:00:00Z"}, "claim.invalid-date", "claim.reported_at"),
    ({"claim.reported_at": 1717236000}, "claim.type", "claim.reported_at"),
])
def test_an_error_inside_a_list_names_the_element(book, change, code, path):
    got_code, got_path, message = error(book, claim(**change))
    assert (got_code, got_path) == (code, path), message


def test_a_date_time_without_an_offset_is_refused_with_a_hint(book):
    _, _, message = error(book, claim(**{"claim.reported_at": "2025-06-01T10:00:00"}))
    assert "has no UTC offset" in message and "no time zone is guessed" in message


def test_an_empty_history_is_the_default_and_optional_item_fields_may_be_left_out(book):
    decision = book.evaluate(claim())
    assert decision.outcome == "approved"
    document = claim(**{"claim.parts.0.note": "cracked"})
    assert book.evaluate(document).payout == decision.payout


# -- settlement steps -------------------------------------------------------------------------
def test_each_element_its_steps_then_the_groups_then_the_claim(book):
    # screen 300.00 (no part limit); batteries 80 + 60 = 140, at most 100 together (battery-limit);
    # 400.00, within the price 800.00 and the lifetime 1,500.00; excess by price band 700 and more: 75.00
    decision = book.evaluate(claim()).to_dict()
    assert (decision["payout"]["amount"], decision["excess"]["amount"]) == ("325.00", "75.00")
    assert [r["code"] for r in decision["reasons"]] == ["battery-limit"]


def test_a_limit_is_listed_once_however_many_elements_it_lowers(book):
    parts = [{"name": f"p{i}", "cost": gbp("250.00"), "kind": "other", "bought": "2025-02-01"} for i in range(3)]
    decision = book.evaluate(claim(**{"claim.parts": parts})).to_dict()
    # each 250.00 is lowered to 200.00: 600.00 - 75.00
    assert decision["payout"]["amount"] == "525.00"
    assert [r["code"] for r in decision["reasons"]] == ["part-limit"]


def test_limits_apply_in_order_and_each_one_that_lowers_is_a_reason(book):
    history = [{"event": "damage", "occurred": "2024-01-01", "paid": gbp("1300.00")}]
    decision = book.evaluate(claim(**{"policy.claims_history": history, "item.price": gbp("350.00")})).to_dict()
    # 400.00 -> price 350.00 (value-limit) -> 200.00 left of the lifetime (lifetime-limit) -> excess 50.00
    assert (decision["payout"]["amount"], decision["excess"]["amount"]) == ("150.00", "50.00")
    assert [r["code"] for r in decision["reasons"]] == ["battery-limit", "value-limit", "lifetime-limit"]


def test_an_adjustment_applies_after_the_excess(book):
    decision = book.evaluate(claim(**{"claim.event": "loss"})).to_dict()
    assert decision["payout"]["amount"] == "292.50"            # (400 - 75) x 90 %
    assert [r["code"] for r in decision["reasons"]] == ["battery-limit", "loss-share"]


def test_the_excess_is_never_more_than_the_amount(book):
    parts = [{"name": "screen", "cost": gbp("10.00"), "kind": "screen", "bought": "2025-02-01"}]
    decision = book.evaluate(claim(**{"claim.parts": parts})).to_dict()
    assert (decision["payout"]["amount"], decision["excess"]["amount"]) == ("0.00", "10.00")


@pytest.mark.parametrize("price, excess", [("299.99", "25.00"), ("300.00", "50.00"), ("699.99", "50.00"),
                                           ("700.00", "75.00")])
def test_bands_of_amounts(book, price, excess):
    assert book.evaluate(claim(**{"item.price": gbp(price)})).excess.amount == __import__("decimal").Decimal(excess)


def test_the_trace_shows_each_step_and_the_elements_that_counted(book):
    history = [{"event": "theft", "occurred": "2025-03-01", "paid": gbp("10.00")},
               {"event": "damage", "occurred": "2025-03-02", "paid": gbp("10.00")}]
    trace = book.evaluate(claim(**{"policy.claims_history": history, "claim.event": "theft"})).trace
    line = GADGET.splitlines().index(next(l for l in GADGET.splitlines() if l.startswith("  recent_thefts"))) + 1
    assert f"policy.claims_history (line {line}): 1 of 2 elements counted: 0" in trace
    assert "part in claim.parts: element 2: 60.00 GBP" in trace
    assert "battery-limit (4.2): the group's 140.00 GBP is over 100.00 GBP: 100.00 GBP" in trace
    assert "excess_by_price[800.00 GBP]: band 700.00 GBP and more amount: 75.00 GBP (3)" in trace


def test_two_thefts_in_twelve_months_decline(book):
    history = [{"event": "theft", "occurred": "2024-06-02", "paid": gbp("10.00")},
               {"event": "loss", "occurred": "2025-05-01", "paid": gbp("10.00")}]
    assert book.evaluate(claim(**{"policy.claims_history": history, "claim.event": "theft"})).outcome == "declined"
    history[0]["occurred"] = "2024-06-01"                     # exactly 12 months before: no longer counted
    assert book.evaluate(claim(**{"policy.claims_history": history, "claim.event": "theft"})).outcome == "approved"


# -- explaining without leaking -----------------------------------------------------------------
def test_a_value_declared_not_personal_is_shown_and_the_personal_field_is_not(book):
    trace = book.evaluate(claim()).trace
    assert "holder_age = 34" in trace
    assert "holder_decade = <personal data>" in trace          # computed from it, not declared otherwise
    assert not any("1990" in step for step in trace)


# -- benefit sections ---------------------------------------------------------------------------
TRIP = """\
id: trip
name: Trip cover
version: "2025-01-01"
effective_from: 2025-01-01
currencies: [GBP]
fields:
  policy.purchased: {type: date}
  policy.trip.departure: {type: date}
  policy.trip.return: {type: date, not_before: policy.trip.departure}
  claim.sections: {type: list, values: [cancel, medical, delay], min_items: 1, unique: true}
  claim.cancel: {type: object, present_when: '"cancel" in claim.sections'}
  claim.cancel.costs: {type: money}
  claim.cancel.reason: {type: code, values: [illness, whim]}
  claim.medical: {type: object, present_when: '"medical" in claim.sections'}
  claim.medical.expenses: {type: money}
  claim.medical.occurred: {type: date}
  claim.delay: {type: object, present_when: '"delay" in claim.sections'}
  claim.delay.scheduled: {type: datetime}
  claim.delay.actual: {type: datetime, not_before: claim.delay.scheduled}
  claim.documents: {type: list, values: [invoice, report], default: []}
benefits:
  claimed: claim.sections
  refusals:
    outside-trip:
      clause: "1"
      message: Outside the trip.
      sections:
        medical: not (claim.medical.occurred between policy.trip.departure and policy.trip.return)
        delay: date_of(claim.delay.scheduled) not in [policy.trip.departure, policy.trip.return]
  sections:
    cancel:
      refusals:
        whim: {clause: "2.1", message: A whim is not covered., when: claim.cancel.reason == "whim"}
      documents:
        invoice: {document: invoice, clause: "2.2", message: The invoice is needed.}
      settlement:
        steps:
          - amount: claim.cancel.costs
          - limit: 1000.00 GBP
            reason: cancel-limit
            clause: "2"
            message: At most 1,000.00 GBP.
          - excess: 50.00 GBP
    medical:
      documents:
        report: {document: report, clause: "3.2", message: The medical report is needed.}
      referrals:
        big-bill: {clause: "3.3", message: A big bill., when: claim.medical.expenses > 5000.00 GBP}
      settlement:
        steps:
          - amount: claim.medical.expenses
          - excess: 50.00 GBP
    delay:
      refusals:
        short-delay: {clause: "4.1", message: Under 12 hours., when: claim.delay.actual - claim.delay.scheduled < 12 hours}
      settlement:
        steps:
          - amount: 20.00 GBP * floor((claim.delay.actual - claim.delay.scheduled) / 12 hours)
settlement:
  kind: cash
"""

TRIP_CLAIM = {
    "product": "trip",
    "policy": {"purchased": "2025-05-01", "trip": {"departure": "2025-07-01", "return": "2025-07-10"}},
    "claim": {"sections": ["cancel", "medical", "delay"],
              "cancel": {"costs": gbp("1200.00"), "reason": "illness"},
              "medical": {"expenses": gbp("400.00"), "occurred": "2025-07-03"},
              "delay": {"scheduled": "2025-07-01T23:00:00+01:00", "actual": "2025-07-02T23:30:00+01:00"},
              "documents": ["invoice", "report"]},
}


@pytest.fixture(scope="module")
def trip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trip")
    (folder / "trip.yaml").write_text(TRIP, encoding="utf-8")
    return load_products(str(folder))


def trip_claim(**changes) -> dict:
    document = copy.deepcopy(TRIP_CLAIM)
    for path, value in changes.items():
        node = document
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if value is ...:
            del node[parts[-1]]
        else:
            node[parts[-1]] = value
    return document


def lines(decision: dict) -> list[tuple]:
    return [(line["benefit"], line["outcome"], line["payout"]["amount"], line["excess"]["amount"],
             [r["code"] for r in line["reasons"]]) for line in decision["benefits"]]


def test_each_section_pays_its_own_amount_and_the_claim_their_sum(trip):
    decision = trip.decide(trip_claim())
    assert (decision["outcome"], decision["settlement"], decision["depreciation"]) == ("approved", "cash", None)
    assert lines(decision) == [("cancel", "approved", "950.00", "50.00", ["cancel-limit"]),
                               ("medical", "approved", "350.00", "50.00", []),
                               ("delay", "approved", "40.00", "0.00", [])]
    assert (decision["payout"]["amount"], decision["excess"]["amount"]) == ("1340.00", "100.00")
    assert [r["code"] for r in decision["reasons"]] == ["cancel-limit"]


def test_a_refused_section_pays_nothing_and_the_others_still_pay(trip):
    decision = trip.decide(trip_claim(**{"claim.cancel.reason": "whim"}))
    assert decision["outcome"] == "approved"
    assert lines(decision)[0] == ("cancel", "declined", "0.00", "0.00", ["whim"])
    assert decision["payout"]["amount"] == "390.00"
    assert [r["code"] for r in decision["reasons"]] == ["whim"]


def test_every_section_refused_declines_and_a_shared_refusal_is_listed_once(trip):
    decision = trip.decide(trip_claim(**{"claim.sections": ["medical", "delay"], "claim.cancel": ...,
                                         "claim.medical.occurred": "2025-06-30",
                                         "claim.delay.scheduled": "2025-07-05T09:00:00Z",
                                         "claim.delay.actual": "2025-07-05T10:00:00Z"}))
    assert decision["outcome"] == "declined"
    # the shared refusal, declared before the sections, first; then the delay's own
    assert [r["code"] for r in decision["reasons"]] == ["outside-trip", "short-delay"]
    assert lines(decision) == [("medical", "declined", "0.00", "0.00", ["outside-trip"]),
                               ("delay", "declined", "0.00", "0.00", ["outside-trip", "short-delay"])]


def test_a_scheduled_departure_on_the_trip_date_in_its_own_offset(trip):
    # 2025-06-30T23:30-05:00 is 1 July in UTC but 30 June where the flight leaves: outside the trip
    decision = trip.decide(trip_claim(**{"claim.delay.scheduled": "2025-06-30T23:30:00-05:00",
                                         "claim.delay.actual": "2025-07-01T23:30:00-05:00"}))
    assert lines(decision)[2][:2] == ("delay", "declined")
    decision = trip.decide(trip_claim(**{"claim.delay.scheduled": "2025-07-01T00:30:00+02:00",
                                         "claim.delay.actual": "2025-07-02T00:30:00+02:00"}))
    assert lines(decision)[2][:3] == ("delay", "approved", "40.00")


def test_documents_of_a_refused_section_are_not_asked_for(trip):
    decision = trip.decide(trip_claim(**{"claim.documents": ["report"]}))
    assert (decision["outcome"], decision["missing_documents"]) == ("pending", ["invoice"])
    assert [(line[0], line[1], line[2]) for line in lines(decision)] == [
        ("cancel", "approved", "0.00"), ("medical", "approved", "0.00"), ("delay", "approved", "0.00")]
    decision = trip.decide(trip_claim(**{"claim.documents": ["report"], "claim.cancel.reason": "whim"}))
    assert decision["outcome"] == "approved"


def test_a_sections_referral_refers_the_claim_unless_the_section_is_refused(trip):
    decision = trip.decide(trip_claim(**{"claim.medical.expenses": gbp("6000.00")}))
    assert (decision["outcome"], [r["code"] for r in decision["reasons"]]) == ("referred", ["big-bill"])
    decision = trip.decide(trip_claim(**{"claim.medical.expenses": gbp("6000.00"),
                                         "claim.medical.occurred": "2025-06-01"}))
    assert decision["outcome"] == "approved"


@pytest.mark.parametrize("change, code, path", [
    ({"claim.sections": ["cancel", "delay"]}, "claim.unexpected-field", "claim.medical"),
    ({"claim.cancel": ...}, "claim.missing-field", "claim.cancel"),
    ({"claim.sections": ["cancel", "cancel", "medical", "delay"]}, "claim.duplicate-value", "claim.sections[1]"),
    ({"claim.sections": []}, "claim.range", "claim.sections"),
    ({"claim.delay.actual": "2025-07-01T21:00:00Z"}, "claim.date-order", "claim.delay.actual"),
])
def test_section_details_are_given_exactly_when_the_section_is_claimed(trip, change, code, path):
    with pytest.raises(ClaimError) as raised:
        trip.evaluate(trip_claim(**change))
    assert (raised.value.code, raised.value.path) == (code, path), raised.value.message


# -- versions chosen by a declared date --------------------------------------------------------
RENEWING = """\
id: renewing
name: Renewing cover
version: "VERSION"
effective_from: FROM
version_date: policy.start
currencies: [GBP]
fields:
  policy.start: {type: date}
  claim.fees: {type: money}
settlement:
  kind: reimbursement
  steps:
    - amount: claim.fees
    - excess: EXCESS
"""


def test_the_version_is_chosen_by_the_date_the_product_names(tmp_path):
    (tmp_path / "renewing-2025.yaml").write_text(RENEWING.replace("VERSION", "2025").replace("FROM", "2025-01-01")
                                                 .replace("EXCESS", "100.00 GBP"), encoding="utf-8")
    (tmp_path / "renewing-2026.yaml").write_text(RENEWING.replace("VERSION", "2026").replace("FROM", "2026-01-01")
                                                 .replace("EXCESS", "150.00 GBP"), encoding="utf-8")
    book = load_products(str(tmp_path))
    fees = {"claim": {"fees": gbp("500.00")}, "product": "renewing"}
    assert book.evaluate({**fees, "policy": {"start": "2025-12-31"}}).product_version == "2025"
    assert book.evaluate({**fees, "policy": {"start": "2026-01-01"}}).excess.amount == 150
    with pytest.raises(ClaimError) as raised:
        book.evaluate({**fees, "policy": {"start": "2024-12-31"}})
    assert (raised.value.code, raised.value.path) == ("claim.no-product-version", "policy.start")


@pytest.mark.parametrize("declaration, message", [
    ("version_date: policy.begins", "version_date names 'policy.begins', which is not a date field of this product; "
                                    "did you mean 'policy.start'?"),
    ("version_date: claim.fees", "version_date names 'claim.fees', which is not a date field (it is a money field)"),
])
def test_a_version_date_the_product_does_not_declare_is_a_load_error(tmp_path, declaration, message):
    text = RENEWING.replace("VERSION", "1").replace("FROM", "2025-01-01").replace("EXCESS", "1.00 GBP") \
        .replace("version_date: policy.start", declaration)
    (tmp_path / "renewing.yaml").write_text(text, encoding="utf-8")
    found = load(str(tmp_path)).errors
    assert [(p.line, p.code, p.message) for p in found] == [(5, "ref.unknown-field", message)]


def test_several_versions_need_a_version_date(tmp_path):
    for year in ("2025", "2026"):
        text = RENEWING.replace("VERSION", year).replace("FROM", f"{year}-01-01").replace("EXCESS", "1.00 GBP") \
            .replace("version_date: policy.start\n", "")
        (tmp_path / f"renewing-{year}.yaml").write_text(text, encoding="utf-8")
    found = load(str(tmp_path)).errors
    assert [p.code for p in found] == ["ref.unknown-field"]
    assert "has 2 versions, chosen by policy.purchased, which this version does not declare" in found[0].message
