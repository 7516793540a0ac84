"""The batch path end to end: `policyconf evaluate` over a generated claims book (reading each line,
validating, deciding, writing the decision document with its trace), at 1 and 2 jobs.

    python benchmarks/batch_io.py [--claims 200000] [--repeats 5] [--seed 7] [--parquet]

The book is made by benchmarks/make_book.py (the shipped products' claims, about 1 in 200 invalid)
in a temporary folder. Each run is a fresh process writing JSON lines to /dev/null (with
`--parquet`, also `--output decisions.parquet`); the configurations are interleaved repeat by
repeat so that they share the machine's noise. Printed: claims per second end to end (the
process's start-up and the loading of the products included), the same with the start-up taken
off (the median time of a one-claim book, measured in the same rounds), and the peak RSS of the
largest process (parent or worker): each the median of the repeats, with the min and the max,
and the load average before and after.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICYCONF = str(Path(sys.executable).parent / "policyconf")

# One run in a process of its own, so that RUSAGE_CHILDREN is this run's alone (parent and workers).
_MEASURE = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
            "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode; "
            "t = time.perf_counter() - t; "
            "print(code, t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def measure(command: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MiB of the largest process) of one run; exit status 0 or 1 expected."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, *command], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    code, seconds, rss = int(out[0]), float(out[1]), int(out[2])
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(command)}: exit status {code}")
    return seconds, rss / 1024


def make_book(path: Path, claims: int, seed: int) -> None:
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "make_book.py"), str(claims), "--seed", str(seed),
                    "-o", str(path)], check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=200_000, help="claims in the book (default 200,000)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--parquet", action="store_true", help="also measure --output decisions.parquet at 2 jobs")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        book, one = Path(folder) / "book.jsonl", Path(folder) / "one.jsonl"
        make_book(book, args.claims, args.seed)
        make_book(one, 1, args.seed)
        base = [POLICYCONF, "evaluate", "--products", str(ROOT / "products"), "--format", "jsonl"]
        configs = {f"jobs {jobs}": base + ["--jobs", str(jobs), str(book)] for jobs in (1, 2)}
        if args.parquet:
            configs["jobs 2, --output .parquet"] = [POLICYCONF, "evaluate", "--products", str(ROOT / "products"),
                                                    "--jobs", "2", "--output", str(Path(folder) / "d.parquet"),
                                                    str(book)]
        configs["start-up (a one-claim book)"] = base + ["--jobs", "1", str(one)]
        size = book.stat().st_size
        load_before = os.getloadavg()
        times: dict[str, list[float]] = {name: [] for name in configs}
        rss: dict[str, list[float]] = {name: [] for name in configs}
        for _ in range(args.repeats):
            for name, command in configs.items():
                seconds, peak = measure(command)
                times[name].append(seconds)
                rss[name].append(peak)
        load_after = os.getloadavg()
    startup = statistics.median(times["start-up (a one-claim book)"])
    print(f"policyconf batch path: {args.claims:,} claims ({size / 2**20:,.0f} MiB of JSON lines), "
          f"{args.repeats} repeats; {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}")
    print()
    print(f"| {'run':30} | {'claims/s (median, min, max)':30} | {'without start-up':24} | {'peak RSS MiB':20} |")
    print(f"|{'-' * 32}|{'-' * 32}|{'-' * 26}|{'-' * 22}|")
    for name in configs:
        if name.startswith("start-up"):
            shown = f"{statistics.median(times[name]):.2f} s ({min(times[name]):.2f}, {max(times[name]):.2f})"
            print(f"| {name:30} | {shown:30} | {'':24} | {_triple(rss[name], '.1f'):20} |")
            continue
        rates = [args.claims / t for t in times[name]]
        steady = [args.claims / max(t - startup, 1e-9) for t in times[name]]
        print(f"| {name:30} | {_triple(rates, ',.0f'):30} | {_triple(steady, ',.0f'):24} | "
              f"{_triple(rss[name], '.1f'):20} |")
    print()
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    return 0


def _triple(values: list[float], spec: str) -> str:
    return f"{format(statistics.median(values), spec)} ({format(min(values), spec)}, {format(max(values), spec)})"


if __name__ == "__main__":
    sys.exit(main())
