"""`make bench`: what users see, measured: claims parsed from JSON text, all distinct.

Prints one table (markdown), each figure the median of at least five repeats with the min and
the max; the implementations a figure compares are interleaved repeat by repeat, so that they
share the machine's noise, and a ratio is taken repeat by repeat. The machine, its load average
(os.getloadavg) before and after each part, and a "target" column (met / missed by N×) come
with it.

    python benchmarks/run.py [--repeats 5] [--quick] [--batch 10000,100000,1000000] [--only peer,seed,...]
                             [--json FILE]

Every in-process figure decides claims from JSON text: the parse is inside the timed loop (as a
service receives them), and no two claims of a figure are alike (the texts are made before
timing; benchmarks/claim_sets.py says how). Parts:

1. peer: the 20,000 claims of ../shared/bench/ as a hand-written Python function, a ZEN decision
   graph (zen-engine, static loader) and a policyconf product (benchmarks/ad-cover.yaml); all
   three must agree claim for claim before anything is timed.
2. seed products: µs a decision (validation included) and µs from JSON text in to the decision
   document out as JSON (trace included), a few thousand distinct claims per product; beside
   accidental-damage and bmw-total-loss, their hand-written references (benchmarks/
   handwritten_ad.py, handwritten_bmw.py: the same validation and decisions, checked first claim
   for claim on every test-file case, the timed claims and mutated invalid claims); travel claims
   with 8 baggage articles and pet claims with 8 history entries.
3. rules: a product with 10, 100 and 1,000 rules (the peer product plus rules that never hold):
   µs a decision, and the cost of one more rule (the slope of the least-squares line).
4. products: `policyconf validate DIR` in a new process for 1, 10 and 100 products, with the
   cache off (POLICYCONF_CACHE_DIR=off) and warm (a cache directory filled by a first run), and
   `validate products/` with the cache off.
5. batch: `policyconf evaluate --format jsonl` end to end (read, validate, decide, write the
   documents with their trace to a file) over 10,000, 100,000 and 1,000,000 distinct claims
   (benchmarks/make_book.py): claims per second and the peak RSS of the process and its
   workers together (sampled from /proc every 20 ms).

--quick: fewer claims (peer 5,000, 1,000 a product), batches of 10,000 and 100,000: a smoke run.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED_BENCH = ROOT.parent / "shared" / "bench"
sys.path.insert(0, str(HERE))

import claim_sets as cs  # noqa: E402
import handwritten_ad  # noqa: E402
import handwritten_bmw  # noqa: E402
import make_book  # noqa: E402
from handwritten_base import Rejected  # noqa: E402
from policyconf import ClaimError, load_products  # noqa: E402

POLICYCONF = str(Path(sys.executable).parent / "policyconf")
SEED_PRODUCTS = ("accidental-damage", "screen-protection", "bmw-total-loss", "travel-single-trip", "pet-vet-fees")
REFERENCES = {"accidental-damage": handwritten_ad, "bmw-total-loss": handwritten_bmw}
FLOOR_US = {"accidental-damage": 8.0, "bmw-total-loss": 15.0}      # the "about 8 µs and 15 µs"


# -- results -----------------------------------------------------------------------------------
class Row:
    """One line of the table: samples (one a repeat), a unit, a target and whether it is met."""

    def __init__(self, part: str, name: str, samples: list[float], unit: str, target: str = "",
                 verdict: str = "", note: str = ""):
        self.part, self.name, self.samples, self.unit = part, name, samples, unit
        self.target, self.verdict, self.note = target, verdict, note

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def as_dict(self) -> dict:
        return {"part": self.part, "measure": self.name, "median": self.median, "min": min(self.samples),
                "max": max(self.samples), "unit": self.unit, "repeats": len(self.samples), "target": self.target,
                "verdict": self.verdict, "note": self.note}


def at_most(value: float, limit: float) -> str:
    return "met" if value <= limit else f"missed by {value / limit:.1f}×"


def at_least(value: float, limit: float) -> str:
    return "met" if value >= limit else f"missed by {limit / value:.1f}×"


def load_text() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


class Part:
    """A part of the run: its rows, and the load average before and after it."""

    def __init__(self, name: str):
        self.name = name
        self.rows: list[Row] = []
        self.load_before = load_text()
        self.load_after = ""
        self.started = time.perf_counter()
        print(f"[{name}] load average before: {self.load_before}", file=sys.stderr, flush=True)

    def done(self) -> "Part":
        self.load_after = load_text()
        print(f"[{self.name}] done in {time.perf_counter() - self.started:.0f} s, load average after: "
              f"{self.load_after}", file=sys.stderr, flush=True)
        return self

    def add(self, *args, **kwargs) -> Row:
        row = Row(self.name, *args, **kwargs)
        self.rows.append(row)
        return row


def interleaved(runs: dict, repeats: int) -> dict[str, list[float]]:
    """Run every one of `runs` (name -> function returning its figure) once a repeat, in turn."""
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            gc.collect()
            samples[name].append(run())
    return samples


def per_claim(decide, texts: list[str], parse=cs.parse, errors=(ClaimError, Rejected)):
    """A run: parse and decide every text, dropping each result (as a service does once it has
    answered); µs a claim."""
    def run() -> float:
        start = time.perf_counter()
        for text in texts:
            try:
                decide(parse(text))
            except errors:
                pass
        return (time.perf_counter() - start) / len(texts) * 1e6
    return run


def ratios(top: list[float], bottom: list[float]) -> list[float]:
    """Repeat by repeat (the two were interleaved): top / bottom."""
    return [a / b for a, b in zip(top, bottom)]


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}"


# -- 1. the peer comparison --------------------------------------------------------------------
def peer(repeats: int, count: int) -> Part:
    part = Part("peer")
    sys.path.insert(0, str(SHARED_BENCH))
    import impl_plain
    import workload

    flat = workload.make_claims()[:count]
    plain = impl_plain.load()
    book = load_products(str(HERE / "ad-cover.yaml"))

    def envelope(c: dict) -> dict:
        claim = dict(c)
        claim["device_price"] = {"amount": f"{c['device_price']:.2f}", "currency": "EUR"}
        claim["repair_cost"] = {"amount": f"{c['repair_cost']:.2f}", "currency": "EUR"}
        return {"product": "ad-cover", "claim": claim}

    # JSON texts, made before timing: the peers' flat claims (amounts as JSON numbers, read as
    # floats), policyconf's in the contract's envelope (amounts as decimal strings)
    flat_texts = [json.dumps(c, separators=(",", ":")) for c in flat]
    our_texts = [cs.dumps(envelope(c)) for c in flat]
    if len(set(flat_texts)) != len(flat_texts):
        raise SystemExit("the peer claims are not all distinct")

    zen_engine = None
    try:
        import zen
        graph = json.loads((SHARED_BENCH / "ad_cover.jdm.json").read_text())
        zen_engine = zen.ZenEngine({"loader": {"type": "static", "content": {"ad": graph}}})
    except ImportError:
        print("zen-engine is not installed: the ZEN row is left out (pip install -e '.[bench]')", file=sys.stderr)

    def ours_canonical(decision) -> dict:
        reason = decision.reasons[0]["code"].replace("-", "_") if decision.outcome == "declined" else None
        settlement = {"replacement": "refund"}.get(decision.settlement, decision.settlement)
        return workload.shape(decision.outcome, reason, settlement, decision.payout.amount)

    # agreement first: every claim, all three, from the JSON texts that are timed
    disagreements = 0
    for flat_text, our_text in zip(flat_texts, our_texts):
        claim = json.loads(flat_text)
        expected = impl_plain.canonical(plain(claim))
        got = ours_canonical(book.evaluate(cs.parse(our_text)))
        # policyconf computes in exact decimals and rounds half-up to the cent once, at the end (the
        # contract); the references compute in binary floats and keep fractions of a cent (858.55 *
        # 0.7 - 50 is 550.985 exactly, 550.98499999... in float): decision, reason and settlement
        # must be equal, the payout within half a cent of the float reference.
        problem = workload.compare(dict(expected, payout=got["payout"]), got)
        if problem is None and abs(expected["payout"] - got["payout"]) > 0.005 + 1e-9:
            problem = f"payout: expected {expected['payout']!r} got {got['payout']!r}"
        if zen_engine is not None:
            result = zen_engine.evaluate("ad", claim)["result"]
            problem = problem or workload.compare(expected, workload.shape(
                result["decision"], result.get("reason"), result.get("settlement"), result["payout"]))
        if problem:
            disagreements += 1
            if disagreements <= 3:
                print(f"disagreement on {flat_text}: {problem}", file=sys.stderr)
    if disagreements:
        raise SystemExit(f"peer: {disagreements} claims disagree; nothing is timed")
    print(f"peer: {len(flat):,} distinct claims; the {'three' if zen_engine else 'two'} implementations agree "
          "on every one", file=sys.stderr)

    runs = {"json.loads alone (the peers' flat claims)": per_claim(lambda c: None, flat_texts, json.loads),
            "hand-written Python function": per_claim(plain, flat_texts, json.loads)}
    if zen_engine is not None:
        evaluate = zen_engine.evaluate
        runs["zen-engine, decision graph, static loader"] = per_claim(lambda c: evaluate("ad", c), flat_texts,
                                                                     json.loads)
    runs["policyconf, validation included"] = per_claim(book.evaluate, our_texts)
    samples = interleaved(runs, repeats)
    ours = samples["policyconf, validation included"]
    for name, values in samples.items():
        target = verdict = ""
        if name.startswith("policyconf"):
            target, verdict = "≈ 3 µs", at_most(statistics.median(values), 3.0)
        part.add(f"peer: {name}", values, "µs", target, verdict)
    if zen_engine is not None:
        values = ratios(samples["zen-engine, decision graph, static loader"], ours)
        part.add("peer: ZEN ÷ policyconf", values, "×", "≥ 4×", at_least(statistics.median(values), 4.0))
    values = ratios(ours, samples["hand-written Python function"])
    part.add("peer: policyconf ÷ hand-written", values, "×", "≤ 10×", at_most(statistics.median(values), 10.0))
    return part.done()


# -- 2. the seed products ----------------------------------------------------------------------
def check_references(book, texts_of: dict[str, list[str]], mutated: int) -> dict[str, int]:
    """Every test-file case, the timed claims and `mutated` claims with one thing changed: the
    reference and the engine must give the same decision (or the same error code and path)."""
    checked = {}
    for product, reference in REFERENCES.items():
        cases = [text for _, text in cs.case_texts(product)]
        texts = cases + texts_of[product] + cs.mutated_texts(cases + texts_of[product][:500], mutated)
        wrong = cs.disagreements(book, reference, texts)
        if wrong:
            for text, ours, theirs in wrong[:3]:
                print(f"{product}: {text}\n  policyconf:   {ours}\n  hand-written: {theirs}", file=sys.stderr)
            raise SystemExit(f"{product}: the hand-written reference disagrees with policyconf on {len(wrong)} of "
                             f"{len(texts)} claims; nothing is timed")
        checked[product] = len(texts)
    return checked


def seed_products(repeats: int, count: int) -> Part:
    part = Part("seed products")
    book = load_products(str(ROOT / "products"))
    texts_of = {product: cs.distinct_texts(product, count) for product in SEED_PRODUCTS}
    many = {"travel-single-trip, 8 baggage articles": cs.travel_with_articles(count),
            "pet-vet-fees, 8 history entries": cs.pet_with_history(count)}
    for texts in list(texts_of.values()) + list(many.values()):
        if len(set(texts)) != len(texts):
            raise SystemExit("the claims of a figure are not all distinct")
    checked = check_references(book, texts_of, max(1000, count))
    print("seed products: " + "; ".join(f"{product}'s hand-written reference agrees with policyconf on {n:,} claims"
                                        for product, n in checked.items()), file=sys.stderr)
    dumps = cs.dumps
    runs = {}
    for product in SEED_PRODUCTS:
        texts = texts_of[product]
        runs[(product, "parse")] = per_claim(lambda c: None, texts)
        if product in REFERENCES:
            runs[(product, "hand-written")] = per_claim(REFERENCES[product].decide, texts)
        runs[(product, "decision")] = per_claim(book.evaluate, texts)
        runs[(product, "document")] = per_claim(lambda c: dumps(book.decide(c)), texts)
    for name, texts in many.items():
        runs[(name, "decision")] = per_claim(book.evaluate, texts)
    samples = interleaved(runs, repeats)
    labels = {"parse": "JSON parse alone", "hand-written": "hand-written reference (same validation), decision",
              "decision": "policyconf decision, validation included",
              "document": "policyconf JSON text in, decision document (trace included) out as JSON"}
    for (product, kind), values in samples.items():
        target = verdict = ""
        if kind == "decision" and product in FLOOR_US:
            target, verdict = f"≈ {FLOOR_US[product]:.0f} µs", at_most(statistics.median(values), FLOOR_US[product])
        elif kind == "decision" and product in many:
            target, verdict = "< 30 µs", at_most(statistics.median(values), 30.0)
        name = f"{product}: {labels[kind]}" if product not in many else f"{product}: policyconf decision"
        part.add(name, values, "µs", target, verdict)
        if kind == "decision" and product in REFERENCES:
            values = ratios(values, samples[(product, "hand-written")])
            part.add(f"{product}: policyconf ÷ hand-written", values, "×", "≤ 2×",
                     at_most(statistics.median(values), 2.0))
    return part.done()


# -- 3. cost per rule --------------------------------------------------------------------------
def slope(xs: list[float], ys: list[float]) -> float:
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def rules(repeats: int, count: int) -> Part:
    part = Part("rules")
    sys.path.insert(0, str(SHARED_BENCH))
    import workload

    sizes = (10, 100, 1000)
    with tempfile.TemporaryDirectory() as folder:
        ids = [cs.product_with_rules(size, Path(folder)) for size in sizes]
        book = load_products(folder)
    flat = workload.make_claims()[:count]
    runs = {}
    for size, product_id in zip(sizes, ids):
        texts = []
        for c in flat:
            claim = dict(c, device_price={"amount": f"{c['device_price']:.2f}", "currency": "EUR"},
                         repair_cost={"amount": f"{c['repair_cost']:.2f}", "currency": "EUR"})
            texts.append(cs.dumps({"product": product_id, "claim": claim}))
        runs[size] = per_claim(book.evaluate, texts)
    samples = interleaved(runs, repeats)
    for size in sizes:
        part.add(f"rules: a product with {size:,} rules, policyconf decision", samples[size], "µs")
    per_repeat = [slope(list(sizes), [samples[size][i] for size in sizes]) for i in range(repeats)]
    part.add("rules: cost of one more rule (slope, 10 to 1,000 rules)", per_repeat, "µs", "< 0.05 µs",
             at_most(statistics.median(per_repeat), 0.05))
    return part.done()


# -- 4. products: validate, cold and warm --------------------------------------------------------
def _validate(folder: str, cache: str) -> float:
    environment = dict(os.environ, POLICYCONF_CACHE_DIR=cache)
    start = time.perf_counter()
    done = subprocess.run([POLICYCONF, "validate", folder], cwd=ROOT, env=environment, capture_output=True, text=True)
    elapsed = (time.perf_counter() - start) * 1e3
    if done.returncode != 0:
        raise SystemExit(f"policyconf validate {folder} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed


def _bytecode() -> None:
    """policyconf's own modules compiled to .pyc, as `pip install` of a wheel leaves them:
    an editable checkout run with PYTHONDONTWRITEBYTECODE (or never run) has none, and each new
    process would compile every module from source (about 130 ms here) where users pay nothing."""
    import compileall
    for part in ("__init__.py", "spark.py"):
        compileall.compile_file(str(ROOT / part), quiet=1)
    for folder in ("engine", "dsl"):
        compileall.compile_dir(str(ROOT / folder), quiet=1)


def products(repeats: int) -> Part:
    part = Part("products")
    sizes = (1, 10, 100)
    with tempfile.TemporaryDirectory() as temporary:
        folders = {}
        for size in sizes:
            folder = Path(temporary) / f"products-{size}"
            folder.mkdir()
            cs.product_copies(size, folder)
            folders[size] = str(folder)
        cache = str(Path(temporary) / "cache")
        runs = {("seed", "off"): lambda: _validate("products/", "off")}
        for size in sizes:
            _validate(folders[size], cache)                  # fills the cache (when there is one)
            runs[(size, "off")] = lambda folder=folders[size]: _validate(folder, "off")
            runs[(size, "warm")] = lambda folder=folders[size]: _validate(folder, cache)
        samples = interleaved(runs, repeats)
    values = samples[("seed", "off")]
    part.add("validate products/ (the 5 seed products), new process, cache off", values, "ms", "< 300 ms",
             at_most(statistics.median(values), 300.0))
    for size in sizes:
        for mode, words, limit in (("off", "cache off", 2000.0), ("warm", "warm cache", 1000.0)):
            values = samples[(size, mode)]
            target = verdict = ""
            if size == 100:
                target, verdict = f"< {limit / 1000:.0f} s", at_most(statistics.median(values), limit)
            part.add(f"validate {size} product{'s' if size > 1 else ''}, new process, {words}", values, "ms",
                     target, verdict)
    return part.done()


# -- 5. the batch path -------------------------------------------------------------------------
def _tree_rss_kib(pid: int) -> int:
    """The resident memory of a process and all its descendants, in KiB."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    stack.extend(int(child) for child in children.read().split())
        except (OSError, ValueError):
            continue
    return total


def measured(command: list[str], output: str) -> tuple[float, float]:
    """Run `command` with stdout to `output`: (wall seconds, peak RSS of it and its workers together, MiB)."""
    peak = [0]
    with open(output, "wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.DEVNULL)

        def sample():
            while process.poll() is None:
                peak[0] = max(peak[0], _tree_rss_kib(process.pid))
                time.sleep(0.02)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = process.wait()
        elapsed = time.perf_counter() - start
        sampler.join()
    if code not in (0, 1):                     # 1: some claims were invalid input (about 1 in 200)
        raise SystemExit(f"{' '.join(command)} failed with exit status {code}")
    return elapsed, peak[0] / 1024


def batch(repeats: int, sizes: tuple[int, ...]) -> Part:
    part = Part("batch")
    with tempfile.TemporaryDirectory() as temporary:
        paths = {size: str(Path(temporary) / f"book-{size}.jsonl") for size in sizes}
        handles = {size: open(paths[size], "w", encoding="utf-8") for size in sizes}
        for number, line in enumerate(make_book.lines(max(sizes), seed=7)):   # every claim distinct
            for size, handle in handles.items():
                if number < size:
                    handle.write(line)
                    handle.write("\n")
        for handle in handles.values():
            handle.close()
        output = str(Path(temporary) / "decisions.jsonl")
        results: dict[int, list[tuple[float, float]]] = {size: [] for size in sizes}

        def run(size: int):
            def go() -> float:
                elapsed, peak = measured([POLICYCONF, "evaluate", "--products", "products", "--format", "jsonl",
                                          paths[size]], output)
                with open(output, "rb") as written:
                    lines = sum(1 for _ in written)
                if lines != size:
                    raise SystemExit(f"the batch of {size:,} claims wrote {lines:,} lines")
                results[size].append((elapsed, peak))
                return size / elapsed
            return go
        samples = interleaved({size: run(size) for size in sizes}, repeats)
        megabytes = {size: os.path.getsize(paths[size]) / 2**20 for size in sizes}
    for size in sizes:
        part.add(f"batch: evaluate --format jsonl, {size:,} claims ({megabytes[size]:,.0f} MiB), end to end",
                 samples[size], "claims/s", "≥ 100,000/s", at_least(statistics.median(samples[size]), 100_000))
    for size in sizes:
        memory = [peak for _, peak in results[size]]
        target = verdict = ""
        if size == max(sizes) and len(sizes) > 1:
            smallest = statistics.median(peak for _, peak in results[min(sizes)])
            growth = statistics.median(memory) / smallest
            target = f"flat: ≤ 1.25× the {min(sizes):,}-claim peak"
            verdict = "met" if growth <= 1.25 else f"missed: {growth:.2f}× the {min(sizes):,}-claim peak"
        part.add(f"batch: peak RSS, the process and its workers together, {size:,} claims", memory, "MiB",
                 target, verdict)
    return part.done()


# -- the table ---------------------------------------------------------------------------------
def number(value: float, unit: str) -> str:
    if unit == "claims/s":
        return f"{value:,.0f}"
    if unit in ("ms", "MiB"):
        return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"
    if unit == "×":
        return f"{value:.2f}×"
    return f"{value:,.3f}" if value < 1 else f"{value:,.2f}"


def table(parts: list[Part]) -> str:
    lines = ["| measure | median | min | max | unit | target | verdict |",
             "| --- | ---: | ---: | ---: | --- | --- | --- |"]
    for part in parts:
        for row in part.rows:
            unit = "" if row.unit == "×" else row.unit
            lines.append(f"| {row.name} | {number(row.median, row.unit)} | {number(min(row.samples), row.unit)} | "
                         f"{number(max(row.samples), row.unit)} | {unit} | {row.target} | {row.verdict} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="repeats per figure (at least 5)")
    parser.add_argument("--quick", action="store_true", help="fewer claims and smaller batches: a smoke run")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON to FILE")
    parser.add_argument("--batch", metavar="SIZES", help="batch sizes, comma-separated (default 10000,100000,1000000; "
                        "--quick: 10000,100000)")
    parser.add_argument("--only", help="run only these parts (comma-separated: peer,seed,rules,products,batch)")
    args = parser.parse_args(argv)
    repeats = max(5, args.repeats)
    peer_claims, per_product = (5_000, 1_000) if args.quick else (20_000, 3_000)
    batch_sizes = (10_000, 100_000) if args.quick else (10_000, 100_000, 1_000_000)
    if args.batch:
        batch_sizes = tuple(sorted(int(size) for size in args.batch.split(",")))
    only = set(args.only.split(",")) if args.only else {"peer", "seed", "rules", "products", "batch"}
    began = time.perf_counter()
    _bytecode()                              # before the parts that start new processes
    before = load_text()
    parts = []
    if "peer" in only:
        parts.append(peer(repeats, peer_claims))
    if "seed" in only:
        parts.append(seed_products(repeats, per_product))
    if "rules" in only:
        parts.append(rules(repeats, per_product))
    if "products" in only:
        parts.append(products(repeats))
    if "batch" in only:
        parts.append(batch(repeats, batch_sizes))
    after = load_text()
    print(f"machine: {machine()}")
    print(f"load average (1, 5, 15 min) before: {before}; after: {after}; "
          + "; ".join(f"{p.name} {p.load_before} → {p.load_after}" for p in parts))
    print(f"every figure: median of {repeats} interleaved repeats, with min and max; claims parsed from JSON "
          f"text, all distinct ({'quick run' if args.quick else 'full run'}, {time.perf_counter() - began:.0f} s)")
    print()
    print(table(parts))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "load_before": before, "load_after": after,
                                               "repeats": repeats, "quick": args.quick,
                                               "parts": {p.name: [p.load_before, p.load_after] for p in parts},
                                               "rows": [row.as_dict() for p in parts for row in p.rows]},
                                              indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
