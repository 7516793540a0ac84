"""Claims books as Arrow data: claims read from Parquet in batches, decisions written as Parquet
columns. Needs pyarrow (`pip install 'policyconf[parquet]'`); nothing else in the engine does.

**Claims in.** A book is read one record batch at a time (memory stays flat in its size), in one
of two shapes:

* a column `claim` of JSON text, one claim document per row (the simplest contract, and the one
  `benchmarks/make_book.py` writes): each is read by `claim_reader.parse_json`, exact decimals,
  as a line of a `.jsonl` book is;
* the claim document's own keys as columns (`product` text, `policy`, `item` and `claim`
  structs, lists of structs for lists of records): each row becomes the claim's dict. Money is
  `{amount, currency}` with `amount` a `decimal(p, s)` or a decimal string; a `double` or `float`
  column anywhere is refused before any row is read (a float is not money); dates are `date32`
  or ISO text, date-times a timestamp with its time zone or ISO text with an offset; a null is
  an absent field (so one schema can hold the claims of several products), and trailing zeros of
  a decimal column (`1000.00` yen) are not decimals the claim gave.

A row that cannot be read (JSON that is not, a null claim) is that row's `claim.unreadable`
error, named `book.parquet:row 7` (rows counted from 1), and the next row is still read.

**Decisions out.** `DecisionWriter` writes what `policyconf evaluate --output FILE.parquet`
writes: the decision columns, the reasons' clauses, and each whole document as JSON text.
`decision_record` turns a decision (a `Decision`, the decision document, or an
error object) into one row of `DECISION_FIELDS`; `write_decisions` writes them as Parquet,
amounts as `decimal(18, 2)` (or text, `amounts="string"`), reasons and missing documents as lists
of their codes. An amount with more decimals than two (a currency with three) cannot be a
`decimal(18, 2)`: that row gets `output.amount-scale` in its error columns rather than a rounded
number; write `amounts="string"` for such books.
"""
from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Iterable, Iterator

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from ..dsl.iso import MINOR_UNITS

from . import errors as E
from .claim_reader import ClaimInput, parse_json
from .decision import Decision, rate_text
from .errors import ClaimError

CLAIM_COLUMN = "claim"
BATCH_ROWS = 10_000
AMOUNT = pa.decimal128(18, 2)
AMOUNT_SCALE_ERROR = E.OUTPUT_AMOUNT_SCALE
_AMOUNT_LIMIT = Decimal(10) ** 16

# The decision columns, in order: Spark declares the same (`policyconf.spark.DECISION_SCHEMA`).
DECISION_FIELDS = ("claim_id", "product", "product_version", "outcome", "settlement", "payout_amount",
                   "payout_currency", "excess_amount", "excess_currency", "depreciation", "reasons",
                   "missing_documents", "error_code", "error_message", "error_path")


class BookError(Exception):
    """A book that cannot be read at all: no such file, not Parquet, a column of floats."""


def decision_schema(amounts: str = "decimal") -> pa.Schema:
    """The Arrow schema of decision rows: amounts `decimal(18, 2)`, or `string`."""
    amount = AMOUNT if amounts == "decimal" else pa.string()
    text = pa.string()
    return pa.schema([
        ("claim_id", text), ("product", text), ("product_version", text), ("outcome", text), ("settlement", text),
        ("payout_amount", amount), ("payout_currency", text), ("excess_amount", amount), ("excess_currency", text),
        ("depreciation", text), ("reasons", pa.list_(text)), ("missing_documents", pa.list_(text)),
        ("error_code", text), ("error_message", text), ("error_path", text)])


# -- claims in ----------------------------------------------------------------------------------------
def _refuse_floats(data_type: pa.DataType, name: str) -> None:
    if pa.types.is_floating(data_type):
        raise BookError(f"column {name} is a {data_type}: amounts and decimals must be decimal(p, s) or decimal "
                        "strings, never binary floats")
    if pa.types.is_struct(data_type):
        for index in range(data_type.num_fields):
            child = data_type.field(index)
            _refuse_floats(child.type, f"{name}.{child.name}")
    elif pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        _refuse_floats(data_type.value_type, f"{name}[]")


def check_schema(schema: pa.Schema, column: str = CLAIM_COLUMN) -> str:
    """"json" (a column of JSON text) or "columns" (the document's keys as columns); `BookError`
    for a schema that can hold no claim exactly."""
    if column in schema.names and (pa.types.is_string(schema.field(column).type)
                                   or pa.types.is_large_string(schema.field(column).type)):
        return "json"
    for field in schema:
        _refuse_floats(field.type, field.name)
    if column not in schema.names and "product" not in schema.names:
        raise BookError(f"no column '{column}' of claims as JSON text, and no claim document's columns "
                        f"(product, policy, item, claim): {', '.join(schema.names)}")
    return "columns"


def _value(value):
    """An Arrow value (as `to_pylist` gives it) as a claim document holds it."""
    kind = type(value)
    if kind is dict:
        found = {key: _value(item) for key, item in value.items() if item is not None}
        amount, currency = found.get("amount"), found.get("currency")
        if type(amount) is Decimal and type(currency) is str:
            found["amount"] = _to_minor_unit(amount, currency)
        return found
    if kind is list:
        return [_value(item) for item in value]
    if kind is Decimal:                 # exact, as the column holds it; a whole number of scale 0: an integer
        if value.is_finite() and value.as_tuple().exponent == 0:
            return int(value)
        return value
    if kind is datetime:
        return value.isoformat()
    if kind is date:
        return value.isoformat()
    if kind is time or kind is bytes:
        return str(value)
    return value


def _to_minor_unit(amount: Decimal, currency: str) -> Decimal:
    """An amount of a decimal column whose scale is more than its currency's decimals: the zeros
    past them are the column's, not the claim's (`1000.00` yen is 1000 yen); any other digit is
    left for the validator to refuse."""
    places = MINOR_UNITS.get(currency, 2)
    if amount.is_finite() and amount.as_tuple().exponent < -places:
        shorter = amount.quantize(Decimal(1).scaleb(-places))
        if shorter == amount:
            return shorter
    return amount


def batch_claims(batch: pa.RecordBatch, where: str = "<arrow>", first_row: int = 1,
                 column: str = CLAIM_COLUMN, shape: str | None = None) -> list[ClaimInput]:
    """The claims of one record batch, in order: each a claim or the error that kept it from being
    read. Rows are named `where:row N`, counted from `first_row` (0: `where` alone)."""
    shape = shape or check_schema(batch.schema, column)
    found: list[ClaimInput] = []
    if shape == "json":
        for offset, text in enumerate(batch.column(batch.schema.get_field_index(column)).to_pylist()):
            found.append(_json_row(text, f"{where}:row {first_row + offset}" if first_row else where))
        return found
    for row in batch.to_pylist():
        found.append(ClaimInput(_value(row)))
    return found


def _json_row(text, where: str) -> ClaimInput:
    if text is None:
        return ClaimInput(error=ClaimError(E.CLAIM_UNREADABLE, f"{where}: no claim (null)", None))
    try:
        value = parse_json(text)
    except (ValueError, RecursionError) as error:
        message = getattr(error, "msg", None) or str(error)
        column = f":{error.colno}" if hasattr(error, "colno") else ""
        return ClaimInput(error=ClaimError(E.CLAIM_UNREADABLE, f"{where}{column}: invalid JSON: {message}", None))
    if type(value) is not dict:
        return ClaimInput(error=ClaimError(E.CLAIM_NOT_OBJECT, f"{where}: a claim must be an object", None))
    return ClaimInput(value)


def open_book(path: str) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except FileNotFoundError:
        raise BookError(f"{path}: no such file") from None
    except (OSError, pa.ArrowException) as error:
        raise BookError(f"{path}: not a Parquet file ({error})") from None


def book_rows(path: str) -> int:
    """How many rows a Parquet book has (from its footer, without reading it)."""
    return open_book(path).metadata.num_rows


def read_batches(path: str, batch_rows: int = BATCH_ROWS, column: str = CLAIM_COLUMN) \
        -> Iterator[tuple[int, pa.RecordBatch, str]]:
    """(first row number, record batch, shape) for each batch of a Parquet book, one at a time."""
    book = open_book(path)
    shape = check_schema(book.schema_arrow, column)
    columns = [column] if shape == "json" else None
    row = 1
    for batch in book.iter_batches(batch_size=batch_rows, columns=columns):
        yield row, batch, shape
        row += batch.num_rows


def read_claims(path: str, batch_rows: int = BATCH_ROWS, column: str = CLAIM_COLUMN) \
        -> Iterator[tuple[str, ClaimInput]]:
    """(where, claim or its error) for each row of a Parquet book, read a batch at a time."""
    for first, batch, shape in read_batches(path, batch_rows, column):
        for offset, item in enumerate(batch_claims(batch, path, first, column, shape)):
            yield f"{path}:row {first + offset}", item


# -- decisions out -------------------------------------------------------------------------------------
def _fits(amount: Decimal | None) -> bool:
    return amount is None or (amount.as_tuple().exponent >= -2 and abs(amount) < _AMOUNT_LIMIT)


def decision_record(result: Any, amounts: str = "decimal") -> tuple:
    """One row of `DECISION_FIELDS`: from a `Decision`, the decision document (`book.decide`), an
    error object, or a `ClaimError`."""
    if isinstance(result, ClaimError):
        return (result.claim_id, None, None, None, None, None, None, None, None, None, None, None,
                result.code, result.message, result.path)
    if isinstance(result, Decision):
        payout, excess = result.payout.amount, result.excess.amount
        record = [result.claim_id, result.product, result.product_version, result.outcome, result.settlement,
                  payout, result.payout.currency, excess, result.excess.currency, rate_text(result.depreciation),
                  [reason["code"] for reason in result.reasons], list(result.missing_documents), None, None, None]
    elif "error" in result:
        error = result["error"]
        return (result.get("claim_id"), None, None, None, None, None, None, None, None, None, None, None,
                error["code"], error["message"], error.get("path"))
    else:
        payout, excess = Decimal(result["payout"]["amount"]), Decimal(result["excess"]["amount"])
        record = [result["claim_id"], result["product"], result["product_version"], result["outcome"],
                  result["settlement"], payout, result["payout"]["currency"], excess, result["excess"]["currency"],
                  result["depreciation"], [reason["code"] for reason in result["reasons"]],
                  list(result["missing_documents"]), None, None, None]
    if amounts == "decimal":
        if not (_fits(payout) and _fits(excess)):
            return (record[0], record[1], record[2], None, None, None, None, None, None, None, None, None,
                    AMOUNT_SCALE_ERROR, f"the payout {payout} {record[6]} or excess {excess} is not a decimal(18, 2); "
                    "write the amounts as text", None)
    else:
        record[5], record[7] = str(payout), str(excess)
    return tuple(record)


def records_batch(records: list[tuple], amounts: str = "decimal") -> pa.RecordBatch:
    """Decision rows as one record batch of `decision_schema(amounts)`."""
    schema = decision_schema(amounts)
    columns = list(zip(*records)) if records else [[] for _ in DECISION_FIELDS]
    return pa.record_batch([pa.array(list(values), type=field.type) for values, field in zip(columns, schema)],
                           schema=schema)


def write_decisions(path: str, results: Iterable[Any], amounts: str = "decimal",
                    batch_rows: int = BATCH_ROWS) -> int:
    """Write decisions (see `decision_record`) to a Parquet file, a batch at a time; how many."""
    count = 0
    with pq.ParquetWriter(path, decision_schema(amounts)) as writer:
        records: list[tuple] = []
        for result in results:
            records.append(decision_record(result, amounts))
            if len(records) >= batch_rows:
                writer.write_batch(records_batch(records, amounts))
                count += len(records)
                records = []
        if records:
            writer.write_batch(records_batch(records, amounts))
            count += len(records)
    return count


# -- decisions out, from `policyconf evaluate --output FILE.parquet` -------------------------------------
EVALUATE_FIELDS = DECISION_FIELDS + ("clauses", "decision")


def evaluate_schema(amounts: str = "decimal") -> pa.Schema:
    """`decision_schema`, and the clauses of the reasons (list<string>, in the reasons' order) and
    the whole decision document as JSON text (trace included: what `--format jsonl` writes)."""
    return pa.schema(list(decision_schema(amounts)) + [("clauses", pa.list_(pa.string())), ("decision", pa.string())])


_read_document = msgspec.json.Decoder().decode         # our own documents: no duplicate key to look for


class DecisionWriter:
    """Decisions written to a Parquet file as they come, a record batch of `batch_rows` at a
    time (memory stays flat): `write(text)` takes JSON lines of decision documents and error
    objects (what `--format jsonl` writes), each one row of `evaluate_schema`; `close()` ends
    the file (a file with no row still has the schema)."""

    def __init__(self, path: str, amounts: str = "decimal", batch_rows: int = BATCH_ROWS):
        self.amounts = amounts
        self.schema = evaluate_schema(amounts)
        self.batch_rows = batch_rows
        self.records: list[tuple] = []
        self.rows = 0
        try:
            self.writer = pq.ParquetWriter(path, self.schema)
        except (OSError, pa.ArrowException) as error:
            raise BookError(f"{path}: {getattr(error, 'strerror', None) or error}") from None

    def write(self, text: str) -> None:
        for line in text.split("\n"):            # not splitlines(): U+2028 may be in a string
            if line:
                self.add(_read_document(line), line)

    def add(self, document: dict, text: str | None = None) -> None:
        """One decision document or error object (`text`: its JSON, or it is written here)."""
        if text is None:
            from .jsonio import dumps
            text = dumps(document)
        clauses = None if "error" in document else [reason["clause"] for reason in document["reasons"]]
        self.records.append(decision_record(document, self.amounts) + (clauses, text))
        if len(self.records) >= self.batch_rows:
            self.flush()

    def flush(self) -> None:
        if self.records:
            columns = list(zip(*self.records))
            self.writer.write_batch(pa.record_batch(
                [pa.array(list(values), type=field.type) for values, field in zip(columns, self.schema)],
                schema=self.schema))
            self.rows += len(self.records)
            self.records = []

    def close(self) -> None:
        self.flush()
        self.writer.close()


__all__ = ["BookError", "DecisionWriter", "EVALUATE_FIELDS", "evaluate_schema", "CLAIM_COLUMN", "DECISION_FIELDS", "AMOUNT_SCALE_ERROR", "batch_claims", "book_rows",
           "check_schema", "decision_record", "decision_schema", "open_book", "read_batches", "read_claims",
           "records_batch", "write_decisions"]
