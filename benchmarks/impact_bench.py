"""Impact and Spark, measured: `python benchmarks/impact_bench.py [--claims N] [--spark-claims M]`.

1. `policyconf impact` over N claims (default 1,000,000) on every core, the candidate being
   products/ with the default excess of accidental-damage raised (so claims change), and how a
   claim's time splits (reading the JSON line, the two decisions, the comparison), measured in one
   process on a sample;
2. the local batch path (`policyconf evaluate --format jsonl`, every core) and Spark in local mode
   on as many cores (`policyconf.spark.evaluate`, written to Spark's `noop` sink) on M claims
   (default 200,000): claims a second each, and Spark's overhead as a ratio.

The load average is printed before and after: on a shared machine it says how much of the time
was someone else's.
"""
from __future__ import annotations

import argparse
import gc
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import make_book  # noqa: E402


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _children_cpu() -> float:
    """CPU seconds of the children this process has waited for (a command and its workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _tree_cpu(root: int) -> float:
    """CPU seconds of `root` and every process under it, alive or reaped (from /proc): the driver,
    Spark's JVM and its Python workers."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(name)] = int(fields[1])
        times[int(name)] = sum(int(x) for x in fields[11:15])      # utime stime cutime cstime
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(times.get(pid, 0) for pid in tree) / tick


def _book(path: str, n: int) -> None:
    if os.path.exists(path):
        return
    with open(path, "w", encoding="utf-8") as out:
        for line in make_book.lines(n, seed=7):
            out.write(line + "\n")


def _candidate(folder: str) -> str:
    target = os.path.join(folder, "candidate")
    if not os.path.exists(target):
        shutil.copytree(os.path.join(ROOT, "products"), target, ignore=shutil.ignore_patterns("*.tests.yaml"))
        path = os.path.join(target, "accidental-damage.yaml")
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text.replace("    default: 50.00 EUR", "    default: 60.00 EUR"))
    return target


def split(book: str, candidate: str, sample: int = 20_000) -> dict:
    """CPU microseconds per claim of each part of the per-claim work, in one process (decisions
    dropped as they are made, as the replay drops them)."""
    from policyconf.engine.claim_reader import jsonl_line
    from policyconf.engine.impact import Impact, decide_quietly
    from policyconf.engine.sources import read_source
    baseline, changed = read_source(os.path.join(ROOT, "products")).book(), read_source(candidate).book()
    with open(book, encoding="utf-8") as handle:
        lines = [next(handle) for _ in range(sample)]
    clock = time.process_time
    started = clock()
    for n, line in enumerate(lines):
        jsonl_line(line, "b", n)
    read = clock() - started
    claims = [jsonl_line(line, "b", n).claim for n, line in enumerate(lines)]
    gc.freeze()                     # the sample held in memory is not the collector's work a replay has
    started = clock()
    for claim in claims:
        decide_quietly(baseline, claim)
    first = clock() - started
    started = clock()
    for claim in claims:
        decide_quietly(changed, claim)
    second = clock() - started
    impact, compare = Impact(), 0.0
    for number, claim in enumerate(claims):
        x, y = decide_quietly(baseline, claim), decide_quietly(changed, claim)
        started = clock()
        impact.add((0, number), "b", claim, x, y)
        compare += clock() - started
    gc.unfreeze()
    return {name: seconds / sample * 1e6 for name, seconds in
            (("read", read), ("baseline", first), ("candidate", second), ("compare", compare))}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--spark-claims", type=int, default=200_000)
    parser.add_argument("--folder", default=os.path.join(tempfile.gettempdir(), "policyconf-impact-bench"))
    parser.add_argument("--skip-impact", action="store_true")
    parser.add_argument("--skip-spark", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.folder, exist_ok=True)
    policyconf = os.path.join(os.path.dirname(sys.executable), "policyconf")
    candidate = _candidate(args.folder)
    print(f"cores: {len(os.sched_getaffinity(0))}, python {sys.version.split()[0]}, load average {_load()}")

    if not args.skip_impact:
        book = os.path.join(args.folder, f"book-{args.claims}.jsonl")
        _book(book, args.claims)
        parts = split(book, candidate)
        total = sum(parts.values())
        print("per claim, one process: " + ", ".join(f"{k} {v:.1f} µs" for k, v in parts.items())
              + f"; {total:.1f} µs in all")
        before = _load()
        cpu = _children_cpu()
        started = time.monotonic()
        done = subprocess.run([policyconf, "impact", "--baseline", os.path.join(ROOT, "products"), "--candidate",
                               candidate, book, "--format", "json"], capture_output=True, text=True)
        seconds = time.monotonic() - started
        cpu = _children_cpu() - cpu
        assert done.returncode == 0, done.stderr
        print(f"impact, {args.claims:,} claims, every core: {seconds:.1f} s wall ({args.claims / seconds:,.0f} "
              f"claims/s), {cpu:.1f} s CPU ({cpu / args.claims * 1e6:.0f} µs a claim; {cpu / 2:.0f} s on two idle "
              f"cores); load average {before} before, {_load()} after")

    if not args.skip_spark:
        n = args.spark_claims
        book = os.path.join(args.folder, f"book-{n}.jsonl")
        _book(book, n)
        before = _load()
        cpu = _children_cpu()
        started = time.monotonic()
        done = subprocess.run([policyconf, "evaluate", "--products", os.path.join(ROOT, "products"), "--format",
                               "jsonl", book], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        local = time.monotonic() - started
        local_cpu = _children_cpu() - cpu
        print(f"local batch path, {n:,} claims, every core: {local:.1f} s wall ({n / local:,.0f} claims/s), "
              f"{local_cpu:.1f} s CPU ({local_cpu / n * 1e6:.0f} µs a claim); load average {before} before, "
              f"{_load()} after")
        import pyarrow as pa
        import pyarrow.parquet as pq
        parquet = os.path.join(args.folder, f"book-{n}.parquet")
        if not os.path.exists(parquet):
            with open(book, encoding="utf-8") as handle:
                texts = [line.rstrip("\n") for line in handle]
            pq.write_table(pa.table({"claim": pa.array(texts, pa.string())}), parquet, row_group_size=25_000)
        os.environ["PYSPARK_PYTHON"] = sys.executable
        from pyspark.sql import SparkSession
        cores = len(os.sched_getaffinity(0))
        spark = (SparkSession.builder.master(f"local[{cores}]").config("spark.ui.enabled", "false")
                 .config("spark.ui.showConsoleProgress", "false")
                 .config("spark.sql.files.maxPartitionBytes", str(16 * 1024 * 1024)).getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        from policyconf import spark as policyconf_spark
        df = spark.read.parquet(parquet)
        policyconf_spark.evaluate(df.limit(1000), os.path.join(ROOT, "products")).write.format("noop") \
            .mode("overwrite").save()                                    # the JVM and the workers warmed up
        before = _load()
        cpu = _tree_cpu(os.getpid())
        started = time.monotonic()
        policyconf_spark.evaluate(df, os.path.join(ROOT, "products")).write.format("noop").mode("overwrite").save()
        on_spark = time.monotonic() - started
        spark_cpu = _tree_cpu(os.getpid()) - cpu
        print(f"spark local[{cores}], {n:,} claims, {df.rdd.getNumPartitions()} partitions: {on_spark:.1f} s wall "
              f"({n / on_spark:,.0f} claims/s), {spark_cpu:.1f} s CPU ({spark_cpu / n * 1e6:.0f} µs a claim; JVM and "
              f"Python workers); load average {before} before, {_load()} after")
        print(f"spark overhead, both on {cores} cores: {on_spark / local:.2f}× the local batch path's wall time, "
              f"{spark_cpu / local_cpu:.2f}× its CPU time")
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
