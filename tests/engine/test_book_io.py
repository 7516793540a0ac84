"""Claims books as Parquet: a `claim` column of JSON text, or the document's own columns (exact
decimals, dates, lists of records); decisions written as Parquet columns."""
from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from policyconf.engine import book_io  # noqa: E402


def _claims(ad_claim, sp_claim):
    return [ad_claim(), ad_claim(**{"policy.holder.age": 17, "claim.id": "AD-YOUNG"}),
            sp_claim(**{"claim.id": "SP-1"}), ad_claim(**{"claim.repair_cots": {"amount": "1.00", "currency": "EUR"},
                                                          "claim.id": "AD-TYPO"})]


def test_a_claim_column_of_json_text_is_read_a_batch_at_a_time(tmp_path, book, ad_claim, sp_claim):
    claims = _claims(ad_claim, sp_claim)
    texts = [json.dumps(c) for c in claims] + ["{not json", None, "[1, 2]"]
    path = tmp_path / "book.parquet"
    pq.write_table(pa.table({"claim": pa.array(texts, pa.string()), "other": list(range(len(texts)))}), path,
                   row_group_size=2)
    read = list(book_io.read_claims(str(path), batch_rows=2))
    assert [where for where, _ in read] == [f"{path}:row {n}" for n in range(1, 8)]
    assert [item.claim for _, item in read[:4]] == json.loads(json.dumps(claims))
    errors = [item.error for _, item in read[4:]]
    assert [e.code for e in errors] == ["claim.unreadable", "claim.unreadable", "claim.not-an-object"]
    assert errors[0].message.startswith(f"{path}:row 5:2: invalid JSON")
    assert errors[1].message == f"{path}:row 6: no claim (null)"
    assert book_io.book_rows(str(path)) == 7


def test_the_documents_own_columns_with_exact_decimals_and_dates(tmp_path, book, ad_claim, bmw_claim):
    money = pa.struct([("amount", pa.decimal128(12, 2)), ("currency", pa.string())])
    holder = pa.struct([("age", pa.int64()), ("residence", pa.string())])
    policy = pa.struct([("purchased", pa.date32()), ("start", pa.date32()), ("end", pa.date32()),
                        ("holder", holder)])
    item = pa.struct([("kind", pa.string()), ("purchased", pa.date32()), ("price", money),
                      ("purchased_in", pa.string())])
    claim = pa.struct([("id", pa.string()), ("event", pa.string()), ("occurred", pa.date32()),
                       ("reported", pa.date32()), ("repairable", pa.bool_()), ("repair_cost", money),
                       ("documents", pa.list_(pa.string())), ("negligence_share", pa.decimal128(3, 2))])
    schema = pa.schema([("product", pa.string()), ("policy", policy), ("item", item), ("claim", claim)])
    rows = [{"product": "accidental-damage",
             "policy": {"purchased": date(2025, 1, 10), "start": date(2025, 1, 10), "end": date(2027, 1, 9),
                        "holder": {"age": 34, "residence": "RO"}},
             "item": {"kind": "mobile_phone", "purchased": date(2025, 1, 8),
                      "price": {"amount": Decimal("899.00"), "currency": "EUR"}, "purchased_in": "RO"},
             "claim": {"id": "AD-COLUMNS", "event": "drop", "occurred": date(2025, 6, 1), "reported": date(2025, 6, 3),
                       "repairable": share is None, "repair_cost": {"amount": Decimal("189.10"), "currency": "EUR"},
                       "documents": ["photo", "proof_of_purchase"], "negligence_share": share}}
            for share in (None, Decimal("0.25"))]
    path = tmp_path / "columns.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    (_, first), (_, second) = book_io.read_claims(str(path))
    assert first.claim["claim"]["repair_cost"] == {"amount": Decimal("189.10"), "currency": "EUR"}
    assert str(first.claim["claim"]["repair_cost"]["amount"]) == "189.10"
    assert first.claim["policy"]["purchased"] == "2025-01-10"
    assert "negligence_share" not in first.claim["claim"]           # null: absent
    decided = book.decide(first.claim)
    assert decided == book.decide(ad_claim(**{"claim.id": "AD-COLUMNS", "claim.repair_cost":
                                             {"amount": "189.10", "currency": "EUR"}}))
    assert book.decide(second.claim)["reasons"][0]["code"] == "gross-negligence"
    assert type(second.claim["claim"]["negligence_share"]) is Decimal


def test_zeros_past_a_currencys_decimals_are_the_columns_not_the_claims():
    money = pa.struct([("amount", pa.decimal128(12, 2)), ("currency", pa.string())])
    batch = pa.record_batch([pa.array(["p", "p"]), pa.array([{"fee": {"amount": Decimal("1000.00"), "currency": "JPY"}},
                                                           {"fee": {"amount": Decimal("1000.50"), "currency": "JPY"}}],
                                                          pa.struct([("fee", money)]))], names=["product", "claim"])
    first, second = book_io.batch_claims(batch)
    assert str(first.claim["claim"]["fee"]["amount"]) == "1000"
    assert str(second.claim["claim"]["fee"]["amount"]) == "1000.50"      # not a yen amount: the validator says so


def test_floats_are_refused_before_any_row_is_read(tmp_path):
    money = pa.struct([("amount", pa.float64()), ("currency", pa.string())])
    path = tmp_path / "floats.parquet"
    pq.write_table(pa.table({"product": ["accidental-damage"],
                             "item": pa.array([{"price": {"amount": 1.1, "currency": "EUR"}}],
                                              pa.struct([("price", money)]))}), path)
    with pytest.raises(book_io.BookError, match=r"column item.price.amount is a double: .*never binary floats"):
        list(book_io.read_claims(str(path)))
    with pytest.raises(book_io.BookError, match="no such file"):
        list(book_io.read_claims(str(tmp_path / "missing.parquet")))


def test_decisions_are_written_as_columns(tmp_path, book, ad_claim, sp_claim):
    results = [book.decide(c) for c in _claims(ad_claim, sp_claim)]
    path = tmp_path / "decisions.parquet"
    assert book_io.write_decisions(str(path), results, batch_rows=3) == 4
    table = pq.read_table(path)
    assert table.schema == book_io.decision_schema()
    rows = table.to_pylist()
    assert rows[0] == {"claim_id": results[0]["claim_id"], "product": "accidental-damage",
                       "product_version": "2024-01-01", "outcome": "approved", "settlement": "repair",
                       "payout_amount": Decimal(results[0]["payout"]["amount"]), "payout_currency": "EUR",
                       "excess_amount": Decimal("50.00"), "excess_currency": "EUR", "depreciation": "0.00",
                       "reasons": [], "missing_documents": [], "error_code": None, "error_message": None,
                       "error_path": None}
    assert rows[1]["outcome"] == "declined" and rows[1]["reasons"] == ["holder-underage"]
    assert rows[3]["error_code"] == "claim.unknown-field" and rows[3]["error_path"] == "claim.repair_cots"
    assert rows[3]["claim_id"] == "AD-TYPO" and rows[3]["payout_amount"] is None
    # the same rows from the Decision objects as from the documents
    decisions = [book.evaluate(c) for c in _claims(ad_claim, sp_claim)[:3]]
    assert [book_io.decision_record(d) for d in decisions] == [book_io.decision_record(r) for r in results[:3]]

    text = tmp_path / "text.parquet"
    book_io.write_decisions(str(text), results, amounts="string")
    assert pq.read_table(text).column("payout_amount").to_pylist()[0] == results[0]["payout"]["amount"]


def test_an_amount_that_is_not_a_decimal_18_2_is_an_error_row_not_a_rounded_number():
    result = {"claim_id": "X", "product": "p", "product_version": "1", "outcome": "approved", "settlement": "cash",
              "payout": {"amount": "10.125", "currency": "BHD"}, "excess": {"amount": "0.000", "currency": "BHD"},
              "depreciation": None, "reasons": [], "missing_documents": []}
    record = book_io.decision_record(result)
    assert record[book_io.DECISION_FIELDS.index("error_code")] == book_io.AMOUNT_SCALE_ERROR
    assert record[book_io.DECISION_FIELDS.index("payout_amount")] is None
    assert book_io.decision_record(result, amounts="string")[5] == "10.125"
