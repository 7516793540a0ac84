"""`policyconf evaluate` reads Parquet books and writes decisions as Parquet columns (`--output
FILE.parquet`): read back with pyarrow, every row says what the JSON path's decision says, claim
for claim, amounts exact decimals; a bad row is that row's error and never stops the others."""
from __future__ import annotations

import io
import json
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import PRODUCTS
from golden import make  # noqa: E402 - tests/engine/golden/make.py
from policyconf.engine import cli
from policyconf.engine.book_io import EVALUATE_FIELDS, evaluate_schema
from policyconf.engine.jsonio import dumps

CLAIMS = [claim for _, claim, _ in make.read("products")]
BAD = ["{not json", "[1, 2]", '{"a": 1, "a": 2}']


def evaluate(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(["evaluate", "--products", str(PRODUCTS), *args], stdout=out, stderr=err)
    return status, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """The golden claims of the products as a .jsonl book, a bad line every 400, and their JSON decisions."""
    folder = tmp_path_factory.mktemp("parquet")
    lines = []
    for number, claim in enumerate(CLAIMS):
        if number % 400 == 3:
            lines.append(BAD[number // 400 % len(BAD)])
        lines.append(dumps(claim))
    path = folder / "book.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    status, out, _ = evaluate("--jobs", "1", str(path))
    assert status == 1
    return folder, path, lines, out.splitlines()


def assert_rows_are_the_documents(rows: list[dict], documents: list[str]) -> None:
    assert len(rows) == len(documents)
    for row, text in zip(rows, documents):
        document = json.loads(text)
        assert row["decision"] == text
        assert row["claim_id"] == document["claim_id"]
        if "error" in document:
            error = document["error"]
            assert (row["error_code"], row["error_message"], row["error_path"]) == (
                error["code"], error["message"], error["path"])
            assert row["outcome"] is None and row["payout_amount"] is None and row["clauses"] is None
            continue
        assert row["error_code"] is None
        assert (row["product"], row["product_version"], row["outcome"], row["settlement"], row["depreciation"]) == (
            document["product"], document["product_version"], document["outcome"], document["settlement"],
            document["depreciation"])
        for money in ("payout", "excess"):
            amount = row[f"{money}_amount"]
            assert type(amount) is Decimal and str(amount) == document[money]["amount"]       # exact, never a float
            assert row[f"{money}_currency"] == document[money]["currency"]
        assert row["reasons"] == [reason["code"] for reason in document["reasons"]]
        assert row["clauses"] == [reason["clause"] for reason in document["reasons"]]
        assert row["missing_documents"] == document["missing_documents"]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_decisions_as_columns_are_the_json_paths_decisions(book, jobs):
    folder, path, lines, documents = book
    out = folder / f"decisions-{jobs}.parquet"
    status, stdout, stderr = evaluate("--jobs", jobs, "--output", str(out), str(path))
    assert status == 1 and stdout == ""
    assert f"{len(lines):,} claims" in stderr
    table = pq.read_table(out)
    assert table.schema == evaluate_schema() and tuple(table.schema.names) == EVALUATE_FIELDS
    assert table.schema.field("payout_amount").type == pa.decimal128(18, 2)
    rows = table.to_pylist()
    assert_rows_are_the_documents(rows, documents)
    outcomes = {row["outcome"] for row in rows}
    assert outcomes == {"approved", "declined", "pending", "referred", None}
    errors = [row for row in rows if row["error_code"] == "claim.unreadable"]
    assert any(f"book.jsonl:{lines.index('{not json') + 1}:2: invalid JSON" in row["error_message"] for row in errors)


def test_a_parquet_book_in_decisions_as_json_lines_and_as_columns_out(book):
    folder, path, lines, documents = book
    texts = [line for line in lines] + [None]                # a null row: that row's error
    parquet = folder / "book.parquet"
    pq.write_table(pa.table({"claim": pa.array(texts, type=pa.string())}), parquet, row_group_size=500)
    status, out, _ = evaluate(str(parquet))
    assert status == 1
    got = out.splitlines()
    assert len(got) == len(texts)
    assert sum(f"{path}:" in text for text in documents) == 4               # the unreadable lines
    for number, (mine, theirs) in enumerate(zip(got, documents), 1):
        if f"{path}:" in theirs:                             # unreadable: the same error, named by its row
            assert json.loads(mine)["error"]["code"] == json.loads(theirs)["error"]["code"]
            assert json.loads(mine)["error"]["message"].startswith(f"{parquet}:row {number}")
        else:
            assert mine == theirs
    assert json.loads(got[-1]) == {"claim_id": None, "error": {
        "code": "claim.unreadable", "message": f"{parquet}:row {len(texts)}: no claim (null)", "path": None}}
    columns = folder / "from-parquet.parquet"
    assert evaluate("--output", str(columns), str(parquet))[0] == 1
    rows = pq.read_table(columns).to_pylist()
    assert_rows_are_the_documents(rows, got)


def test_jsonl_output_file_and_what_output_refuses(book, tmp_path):
    _, path, _, documents = book
    out = tmp_path / "decisions.jsonl"
    status, stdout, _ = evaluate("--jobs", "2", "--output", str(out), str(path))
    assert status == 1 and stdout == ""
    assert out.read_text(encoding="utf-8").splitlines() == documents
    status, _, stderr = evaluate("--output", str(tmp_path / "d.csv"), str(path))
    assert status == 2 and "the file's suffix names its format: .parquet" in stderr
    status, _, stderr = evaluate("--format", "json", "--output", str(tmp_path / "d.parquet"), str(path))
    assert status == 2 and "--format json is for standard output" in stderr
    status, _, stderr = evaluate("--output", str(tmp_path / "d.parquet"), str(tmp_path / "missing.jsonl"))
    assert status == 2 and "missing.jsonl" in stderr and not (tmp_path / "d.parquet").exists()
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    status, _, stderr = evaluate(str(broken))
    assert status == 2 and "not a Parquet file" in stderr


def test_an_amount_a_decimal_18_2_cannot_hold_is_that_rows_error(tmp_path):
    from policyconf.engine.book_io import DecisionWriter
    document = json.loads(dumps({"claim_id": "X", "product": "p", "product_version": "v", "outcome": "approved",
                                 "settlement": "cash", "payout": {"amount": "1.125", "currency": "BHD"},
                                 "excess": {"amount": "0.000", "currency": "BHD"}, "depreciation": None,
                                 "reasons": [], "missing_documents": [], "trace": []}))
    writer = DecisionWriter(str(tmp_path / "d.parquet"), batch_rows=1)
    writer.add(document)
    writer.add({"claim_id": None, "error": {"code": "claim.unreadable", "message": "m", "path": None}})
    writer.close()
    rows = pq.read_table(tmp_path / "d.parquet").to_pylist()
    assert rows[0]["error_code"] == "output.amount-scale" and rows[0]["payout_amount"] is None
    assert json.loads(rows[0]["decision"]) == document
    assert rows[1]["error_code"] == "claim.unreadable" and pq.ParquetFile(tmp_path / "d.parquet").num_row_groups == 2
