"""policyconf on a Spark cluster: a DataFrame of claims decided with `DataFrame.mapInArrow`.

    from policyconf import spark as policyconf_spark
    decisions = policyconf_spark.evaluate(claims_df, "products/")      # a DataFrame of decisions
    impact = policyconf_spark.impact(claims_df, "products@main", "products/")   # an engine.impact.Impact

**The claims.** The simplest contract is one column, `claim`, holding each claim document as
JSON text (`spark.read.text("book.jsonl").withColumnRenamed("value", "claim")`, or a Parquet
column written so). Or the claim document's own keys as columns: `product` (string) and the
`policy`, `item` and `claim` structs, with money as `struct<amount: decimal(p, s), currency:
string>` (or the amount a decimal string) and dates as `date`; a `double` or `float` column is
refused before the job starts, since a binary float is not an amount (`engine.book_io` says how
each Arrow value is read). Columns named in `keep` (a row id, a partition key) are copied to the
output beside the decision.

**The products** travel to the executors as their files' text and its SHA-256, never as
compiled code (a compiled product does not pickle, and should not: it is built where it runs).
Each Python worker compiles them the first time a task needs them and keeps them in a module
cache keyed by the hash, so a worker (Spark reuses them, `spark.python.worker.reuse`) compiles
a set of products once however many tasks and batches it decides; a changed product is a new
hash, compiled anew. `products` is a folder or file (read on the driver), either at a git
revision (`products@main`), or a dict of file name to text.

**The decisions** have a schema declared up front (`DECISION_SCHEMA`): claim_id, product,
product_version, outcome, settlement, payout_amount and excess_amount as `decimal(18,2)` (or
text, `amounts="string"`: exact either way, never a double), payout_currency, excess_currency,
depreciation (a decimal string, as in the decision document), reasons and missing_documents
(arrays of codes), and error_code, error_message, error_path. A claim that is invalid input gets
its error in the error columns; a row that cannot be read (not JSON) is `claim.unreadable`, and
even an unexpected failure of one claim is that row's `internal.error`: a bad row never fails
the job.
"""
from __future__ import annotations

import hashlib
import pickle
import threading
from typing import Any, Iterator, Mapping

import pyarrow as pa

from . import errors as E
from .book_io import DECISION_FIELDS, batch_claims, check_schema, decision_record, records_batch
from .claim_reader import ClaimInput
from .errors import ClaimError, ProductError
from .impact import Impact, _one, decide_quietly, unchanged_products
from .loader import load_texts
from .product_book import ProductBook
from .sources import ProductSource, read_source

DECISION_SCHEMA = (
    "claim_id string, product string, product_version string, outcome string, settlement string, "
    "payout_amount decimal(18,2), payout_currency string, excess_amount decimal(18,2), excess_currency string, "
    "depreciation string, reasons array<string>, missing_documents array<string>, "
    "error_code string, error_message string, error_path string")
INTERNAL_ERROR = E.INTERNAL_ERROR

_BOOKS: dict[str, ProductBook] = {}        # per Python worker: the compiled products by their texts' hash
_LOCK = threading.Lock()
COMPILED = {"count": 0}                    # how many times this process compiled a set of products (tests read it)


# -- the products, as text ----------------------------------------------------------------------------
def product_texts(products: Any) -> dict[str, str]:
    """{file name: text} of `products`: a folder or file, either at a git revision, a
    `ProductSource`, or such a dict already."""
    if isinstance(products, ProductSource):
        texts = products.texts
    elif isinstance(products, Mapping):
        texts = products
    else:
        texts = read_source(str(products)).texts
    return {name: text.decode("utf-8-sig") if isinstance(text, (bytes, bytearray)) else text
            for name, text in texts.items()}


def texts_digest(texts: Mapping[str, str]) -> str:
    sha = hashlib.sha256()
    for name in sorted(texts):
        sha.update(name.encode("utf-8") + b"\0" + hashlib.sha256(texts[name].encode("utf-8")).digest())
    return sha.hexdigest()


def compiled(digest: str, texts: Mapping[str, str]) -> ProductBook:
    """The products of `texts`, compiled once in this process (keyed by `digest`)."""
    book = _BOOKS.get(digest)
    if book is not None:
        return book
    with _LOCK:
        book = _BOOKS.get(digest)
        if book is None:
            if texts_digest(texts) != digest:
                raise ValueError("the products' texts do not match their hash")
            loaded = load_texts(texts)
            if loaded.errors:
                raise ProductError(loaded.problems)
            book = _BOOKS[digest] = ProductBook(loaded.products, tuple(loaded.problems))
            COMPILED["count"] += 1
    return book


def _checked(products: Any) -> tuple[dict[str, str], str]:
    """The texts and their hash, after loading them once on the driver: a product that does not
    load is the caller's error now, not a failed task on every executor later."""
    texts = product_texts(products)
    digest = texts_digest(texts)
    compiled(digest, texts)
    return texts, digest


def _shape(df, column: str) -> str:
    """"json" or "columns", checked on the driver (floats refused)."""
    from pyspark.sql.pandas.types import to_arrow_schema
    return check_schema(to_arrow_schema(df.schema), column)


# -- deciding, on the executors -------------------------------------------------------------------------
def decide_batch(book: ProductBook, batch: pa.RecordBatch, column: str, shape: str, amounts: str,
                 keep: tuple[str, ...] = ()) -> pa.RecordBatch:
    """One Arrow batch of claims to one Arrow batch of decisions (the kept columns first)."""
    try:
        items = batch_claims(batch, f"column {column}", 0, column, shape)
    except Exception as error:                                  # a batch that cannot be read at all
        items = [ClaimInput(error=ClaimError(INTERNAL_ERROR, f"{type(error).__name__}: {error}", None))] \
            * batch.num_rows
    records = []
    for item in items:
        try:
            if item.error is not None:
                records.append(decision_record(item.error, amounts))
                continue
            records.append(decision_record(decide_quietly(book, item.claim), amounts))
        except Exception as error:                              # never fail the job for one claim
            claim_id = None
            if type(item.claim) is dict and type(item.claim.get("claim")) is dict:
                claim_id = item.claim["claim"].get("id") if type(item.claim["claim"].get("id")) is str else None
            records.append(decision_record(ClaimError(INTERNAL_ERROR, f"{type(error).__name__}: {error}", None,
                                                      claim_id), amounts))
    decided = records_batch(records, amounts)
    if not keep:
        return decided
    kept = [batch.column(batch.schema.get_field_index(name)) for name in keep]
    fields = [batch.schema.field(name) for name in keep] + list(decided.schema)
    return pa.record_batch(kept + list(decided.columns), schema=pa.schema(fields))


def _evaluator(texts: dict, digest: str, column: str, shape: str, amounts: str, keep: tuple):
    def evaluate_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        book = compiled(digest, texts)
        for batch in batches:
            yield decide_batch(book, batch, column, shape, amounts, keep)
    return evaluate_batches


def evaluate(df, products: Any, *, column: str = "claim", amounts: str = "decimal", keep: tuple[str, ...] = ()):
    """A DataFrame of decisions, one row per claim row of `df` (`DECISION_SCHEMA`, after `keep`)."""
    if amounts not in ("decimal", "string"):
        raise ValueError("amounts: 'decimal' or 'string'")
    texts, digest = _checked(products)
    shape = _shape(df, column)
    schema = output_schema(df, amounts, keep)
    return df.mapInArrow(_evaluator(texts, digest, column, shape, amounts, tuple(keep)), schema)


def output_schema(df, amounts: str = "decimal", keep: tuple[str, ...] = ()):
    from pyspark.sql.types import StructType, _parse_datatype_string
    ddl = DECISION_SCHEMA if amounts == "decimal" else DECISION_SCHEMA.replace("decimal(18,2)", "string")
    decided = _parse_datatype_string(ddl)
    missing = [name for name in keep if name not in df.columns]
    if missing:
        raise ValueError(f"keep: no column {', '.join(missing)}")
    return StructType([df.schema[name] for name in keep] + list(decided.fields))


# -- impact, on the executors --------------------------------------------------------------------------
def _impact_runner(baseline: tuple, candidate: tuple, column: str, shape: str, top: int, segments,
                   decide_unchanged: bool):
    def impact_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext
        before, after = compiled(*baseline), compiled(*candidate)
        context = TaskContext.get()
        partition = context.partitionId() if context is not None else 0
        part = Impact(top, segments)
        rows = 0
        same = frozenset() if decide_unchanged else unchanged_products(before, after)
        for batch in batches:
            for item in batch_claims(batch, f"partition {partition}", rows + 1, column, shape):
                rows += 1
                _one(part, (partition, rows), f"partition {partition}, row {rows}", item, before, after, same)
        yield pa.record_batch([pa.array([pickle.dumps(part)], pa.binary())], names=["impact"])
    return impact_batches


def impact(df, baseline: Any, candidate: Any, *, column: str = "claim", top: int = 20,
           segments: dict | None = None, decide_unchanged: bool = False) -> Impact:
    """Every claim of `df` decided under both sets of products: the same `Impact` the command line
    reports (`engine.report.render_text`, `render_html`), added up on the executors, one partial
    result per partition merged on the driver. A row is named by its partition and its number in
    it (`partition 3, row 17`); the claim id says which claim it is."""
    before, after = _checked(baseline), _checked(candidate)
    shape = _shape(df, column)
    parts = df.mapInArrow(_impact_runner((before[1], before[0]), (after[1], after[0]), column, shape, top, segments,
                                         decide_unchanged), "impact binary").collect()
    total = Impact(top, segments)
    for row in parts:
        total.merge(pickle.loads(row["impact"]))
    total.labels = {"baseline": _label(baseline), "candidate": _label(candidate)}
    total.identical = _contents(before[0]) == _contents(after[0])
    total.decided_once = [] if decide_unchanged else sorted(unchanged_products(compiled(before[1], before[0]),
                                                                               compiled(after[1], after[0])))
    return total


def _contents(texts: Mapping[str, str]) -> list:
    """The files by their base name: the same products read from a folder and from a revision compare equal."""
    return sorted((name.replace("\\", "/").rsplit("/", 1)[-1].rsplit(":", 1)[-1], text) for name, text in texts.items())


def _label(products: Any) -> str:
    if isinstance(products, ProductSource):
        return products.label
    return "(products)" if isinstance(products, Mapping) else str(products)


__all__ = ["DECISION_SCHEMA", "DECISION_FIELDS", "evaluate", "impact", "product_texts", "texts_digest", "compiled",
           "decide_batch", "output_schema"]
