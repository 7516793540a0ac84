"""`make bench`: policyconf measured side by side with what users would use instead.

Prints one table. Every figure is the median of at least five repeats, with the min and the
max, measured in this one run; implementations are interleaved repeat by repeat so that they
share the machine's noise. The machine, its load before and after, and the spread are printed
with the results.

    python benchmarks/run.py [--repeats 5] [--batch 1000000] [--quick]

Parts:
1. peer: the 20,000 claims and the simplified accidental-damage logic of ../shared/bench/,
   as a ZEN decision graph (zen-engine, static loader), as a hand-written Python function, and
   as a policyconf product (benchmarks/ad-cover.yaml). All three must agree claim for claim
   before anything is timed.
2. seed products: µs per claim (validation included) over the claims of each product's test
   suite, claims per second on one core, the load-and-compile time, peak memory.
3. validate: `policyconf validate products/` wall time, a new process each time (cold).
4. batch: `policyconf evaluate --format jsonl` over N claims end to end (reading, validating,
   deciding, writing), claims per second and peak memory.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED_BENCH = ROOT.parent / "shared" / "bench"
from policyconf import load_products  # noqa: E402
from policyconf.engine import tester as testing  # noqa: E402

POLICYCONF = str(Path(sys.executable).parent / "policyconf")


def spread(samples: list[float]) -> tuple[float, float, float]:
    return statistics.median(samples), min(samples), max(samples)


def machine() -> dict:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "load": os.getloadavg()}


# -- 1. the peer comparison ----------------------------------------------------------
def peer(repeats: int) -> list[tuple]:
    sys.path.insert(0, str(SHARED_BENCH))
    import impl_plain
    import workload

    claims = workload.make_claims()
    plain = impl_plain.load()

    book = load_products(str(ROOT / "benchmarks"))
    evaluate = book.evaluate

    def shaped(c: dict) -> dict:
        claim = dict(c)
        claim["device_price"] = {"amount": c["device_price"], "currency": "EUR"}
        claim["repair_cost"] = {"amount": c["repair_cost"], "currency": "EUR"}
        return {"product": "ad-cover", "claim": claim}

    ours = [shaped(c) for c in claims]          # the same claims, in the contract's envelope

    def ours_canonical(decision) -> dict:
        reason = decision.reasons[0]["code"].replace("-", "_") if decision.outcome == "declined" else None
        settlement = {"replacement": "refund"}.get(decision.settlement, decision.settlement)
        return workload.shape(decision.outcome, reason, settlement, decision.payout.amount)

    # Each run decides every claim and drops the result, as a service does once it has answered;
    # keeping 20,000 results alive would measure the garbage collector's walk over them instead.
    def each(function, items):
        def run():
            for item in items:
                function(item)
        return run

    implementations = [("hand-written Python function", each(plain, claims))]
    zen_engine = None
    try:
        import zen
        graph = json.loads((SHARED_BENCH / "ad_cover.jdm.json").read_text())
        zen_engine = zen.ZenEngine({"loader": {"type": "static", "content": {"ad": graph}}})
    except ImportError:
        print("zen-engine is not installed: the ZEN row is left out (pip install zen-engine)", file=sys.stderr)

    # agreement first: every claim, all three
    disagreements = 0
    for claim, shaped_claim in zip(claims, ours):
        expected = impl_plain.canonical(plain(claim))
        got = ours_canonical(evaluate(shaped_claim))
        # policyconf computes in exact decimals and rounds half-up to the cent once, at the end
        # (the contract); the references compute in binary floats and keep fractions of a cent
        # (858.55 * 0.7 - 50 is 550.985 exactly, 550.98499999... in float). So decision, reason and
        # settlement must be equal, and the payout within half a cent of the float reference.
        problem = workload.compare(dict(expected, payout=got["payout"]), got)
        if problem is None and abs(expected["payout"] - got["payout"]) > 0.005 + 1e-9:
            problem = f"payout: expected {expected['payout']!r} got {got['payout']!r}"
        if zen_engine is not None:
            result = zen_engine.evaluate("ad", claim)["result"]
            zen_shape = workload.shape(result["decision"], result.get("reason"), result.get("settlement"),
                                       result["payout"])
            problem = problem or workload.compare(expected, zen_shape)
        if problem:
            disagreements += 1
            if disagreements <= 3:
                print(f"disagreement on {claim}: {problem}", file=sys.stderr)
    if disagreements:
        raise SystemExit(f"{disagreements} claims disagree: nothing is timed")

    if zen_engine is not None:
        implementations.append(("zen-engine, decision graph, static loader",
                                each(lambda c: zen_engine.evaluate("ad", c), claims)))
    implementations.append(("policyconf (validation included)", each(evaluate, ours)))
    samples = {name: [] for name, _ in implementations}
    for _ in range(repeats):
        for name, run in implementations:
            start = time.perf_counter()
            run()
            samples[name].append((time.perf_counter() - start) / len(claims) * 1e6)
    rows = []
    for name, _ in implementations:
        median, low, high = spread(samples[name])
        rows.append((f"peer: {name}", median, low, high, f"{1e6 / median:,.0f}/s"))
    return rows, len(claims)


# -- 2. the seed products ---------------------------------------------------------------
def suite_claims(product_file: Path) -> list[dict]:
    return testing.suite_claims(str(product_file))


def seed_products(repeats: int) -> list[tuple]:
    book = load_products(str(ROOT / "products"))
    rows = []
    for product_id in book.ids:
        claims = suite_claims(ROOT / "products" / f"{product_id}.tests.yaml")
        rounds = max(1, 20_000 // len(claims))
        batch = claims * rounds
        evaluate = book.evaluate
        decisions, documents = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            for claim in batch:
                evaluate(claim)
            decisions.append((time.perf_counter() - start) / len(batch) * 1e6)
            start = time.perf_counter()
            for claim in batch:
                evaluate(claim).to_dict()
            documents.append((time.perf_counter() - start) / len(batch) * 1e6)
        median, low, high = spread(decisions)
        rows.append((f"{product_id}: decision, validation included ({len(claims)} claims)", median, low, high,
                     f"{1e6 / median:,.0f}/s"))
        median, low, high = spread(documents)
        rows.append((f"{product_id}: decision document with trace", median, low, high, f"{1e6 / median:,.0f}/s"))
    loads = []
    for _ in range(repeats):
        start = time.perf_counter()
        load_products(str(ROOT / "products"))
        loads.append((time.perf_counter() - start) * 1e3)
    median, low, high = spread(loads)
    rows.append(("load and compile products/ (ms, in process)", median, low, high, ""))
    return rows


_MEASURE = ("import resource, subprocess, sys; "
            "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode; "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)")


def measured(command: list[str]) -> tuple[float, float, int]:
    """Run `command` under a fresh wrapper: (wall seconds, peak RSS in MiB of it and its workers, exit code)."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _MEASURE, *command], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    return time.perf_counter() - start, int(out[0]) / 1024, int(out[1])


def peak_memory() -> tuple:
    script = f"from policyconf import load_products; load_products({str(ROOT / 'products')!r})"
    samples = [measured([sys.executable, "-c", script])[1] for _ in range(5)]
    median, low, high = spread(samples)
    return ("peak RSS: interpreter + engine + 3 products loaded (MiB)", median, low, high, "")


# -- 3. validate, cold ---------------------------------------------------------------------
def validate_cold(repeats: int) -> tuple:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([POLICYCONF, "validate", "products/"], cwd=ROOT, check=True, capture_output=True)
        samples.append((time.perf_counter() - start) * 1e3)
    median, low, high = spread(samples)
    return ("policyconf validate products/, cold process (ms)", median, low, high, "target < 500")


# -- 4. the batch path ----------------------------------------------------------------------
def batch(size: int, repeats: int) -> list[tuple]:
    claims = []
    for product_id in ("accidental-damage", "screen-protection", "bmw-total-loss"):
        claims += suite_claims(ROOT / "products" / f"{product_id}.tests.yaml")
    lines = [json.dumps(c, default=str, separators=(",", ":")) for c in claims]
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        for i in range(size):
            handle.write(lines[i % len(lines)])
            handle.write("\n")
        path = handle.name
    size_mb = os.path.getsize(path) / 2**20
    rates, memory = [], []
    try:
        for _ in range(repeats):
            elapsed, peak, code = measured([POLICYCONF, "evaluate", "--products", "products", "--format", "jsonl",
                                            path])
            if code not in (0, 1):
                raise SystemExit(f"batch failed with exit status {code}")
            rates.append(size / elapsed)
            memory.append(peak)
    finally:
        os.unlink(path)
    median, low, high = spread(rates)
    rows = [(f"batch: evaluate --format jsonl, {size:,} claims ({size_mb:,.0f} MiB), claims/s", median, low, high,
             "target >= 80,000/s")]
    median, low, high = spread(memory)
    rows.append(("batch: peak RSS, the largest of the parent and its workers (MiB)", median, low, high,
                 "flat in the input size"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1_000_000, help="claims in the batch run")
    parser.add_argument("--quick", action="store_true", help="100,000 batch claims and 5 repeats: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.batch = 100_000
    repeats = max(5, args.repeats)
    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}, {info['platform']}")
    print(f"load average before: {info['load'][0]:.2f} {info['load'][1]:.2f} {info['load'][2]:.2f}")
    rows = []
    peer_rows, count = peer(repeats)
    print(f"peer workload: {count:,} claims; the three implementations agree on every claim")
    rows += peer_rows
    rows += seed_products(repeats)
    rows.append(peak_memory())
    rows.append(validate_cold(repeats))
    rows += batch(args.batch, repeats)
    width = max(len(r[0]) for r in rows)
    print()
    print(f"| {'measure':{width}} | {'median':>10} | {'min':>10} | {'max':>10} | note |")
    print(f"| {'-' * width} | {'-' * 10:>10} | {'-' * 10:>10} | {'-' * 10:>10} | ---- |")
    for name, median, low, high, note in rows:
        unit = "µs" if name.startswith(("peer", "accidental", "screen", "bmw")) else ""
        print(f"| {name:{width}} | {median:>8,.2f}{unit:>2} | {low:>8,.2f}{unit:>2} | {high:>8,.2f}{unit:>2} | {note} |")
    load = os.getloadavg()
    print(f"\nload average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print("spread: (max - min) / median per row shows this machine's noise; figures are per claim unless named")


if __name__ == "__main__":
    main()
