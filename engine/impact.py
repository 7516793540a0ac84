"""Impact over a claims book: every claim decided under a baseline and a candidate set of
products, and what the change would do (OpenFisca's reforms, PolicyEngine's baseline-versus-
reform reports).

    baseline = read_source("products@main").book()
    candidate = read_source("products").book()
    impact = replay(baseline, candidate, ["book.jsonl"], jobs=2)
    impact.changed, impact.matrix[("approved", "declined")], impact.totals()

For each claim, two decisions (`ProductBook.evaluate`, no trace written) and a comparison: the
outcome, payout, excess, settlement, reasons, missing documents and benefit lines. What is kept
is added up as it goes, so memory is flat in the size of the book:

* the decision-change matrix: every (baseline, candidate) pair of outcomes, `invalid` being the
  outcome of a claim rejected as input, with counts (in all and by product);
* payout totals per currency under each, and the delta;
* segments: for each product, event, country, band or table row used (what the engine recorded
  when it looked them up) and cause, the claims, the changed claims and the payouts;
* the `top` claims that changed most (an outcome that changed first, then the largest payout
  delta), each with its decision before and after and the causes found for the change: a rule
  that holds now or no longer, a document missing now, a band or table row whose value moved,
  an input error on one side;
* the input errors on either side, by code, with the first few examples.

The same products on both sides change nothing (`changed == 0`): the tests hold the engine to
that, deciding every claim twice (`decide_unchanged=True`), and the command line says so when the
two sides' files are the same. Otherwise a claim of a product built from the same files on both
sides (its base's included) is decided once, its decision being the same under both: a change to
one product costs a second decision only for that product's claims.

A book is `.jsonl` (read line by line) or Parquet (`engine.book_io`, a batch at a time). With
`jobs` > 1 the claims are decided by a pool of worker processes, each holding both books
(inherited at fork, as `engine.batch` does), fed chunks with a few in flight per worker.
"""
from __future__ import annotations

import gc
import heapq
import multiprocessing
import os
from collections import Counter, deque
from decimal import Decimal
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..dsl.values import BandSchedule, LookupTable

from . import errors as E
from .claim_reader import ClaimFileError, ClaimInput, jsonl_line, read_jsonl_file
from .decision import Decision, OUTCOMES
from .errors import ClaimError
from .product_book import ProductBook, claim_id_of

INVALID = "invalid"
STATES = (*OUTCOMES, INVALID)
CHUNK = 2000                     # claims a worker decides at a time
IN_FLIGHT_PER_WORKER = 3
EXAMPLES = 5                     # input errors kept per side, the first by position
DEFAULT_SEGMENTS: dict[str, tuple[str, ...]] = {
    # a dimension: the claim fields to read it from, the first present wins
    "event": ("claim.event", "claim.sections", "claim.kind"),
    "country": ("policy.holder.residence", "item.purchased_in"),
}
DIMENSIONS = ("product", "event", "country", "band", "cause")
PERSONAL = "<personal data>"
_TABLES = (BandSchedule, LookupTable)
_ZERO = Decimal(0)


# -- one claim -----------------------------------------------------------------------------------------
def decide_quietly(book: ProductBook, claim: Any):
    """The claim's `Decision`, or its `ClaimError`: never raises for bad input."""
    try:
        return book.evaluate(claim)
    except ClaimError as error:
        return error
    except RecursionError:
        return ClaimError(E.CLAIM_UNREADABLE, "claim nested too deeply", None, claim_id_of(claim))


def lookups(decision: Decision) -> dict[str, tuple[tuple[str, str], ...]]:
    """The bands and table rows a decision used, as the engine recorded them, each once:
    {"depreciation_by_age": (("184–365 days", "0.10"),), "excess_by_country": (("default", "50.00 EUR"),)}
    (a band of an `each` step, once for each band its elements fell in)."""
    found: dict[str, list] = {}
    for step in decision.steps:
        if len(step) < 5:
            continue
        if type(step[0]) in _TABLES:                  # (table, key, row, value, personal): dsl.runtime.Used
            table, key, row, value, personal = step[:5]
        elif type(step[1]) in _TABLES:                # (formatter, table, key, row, value): the interpreter's
            table, key, row, value = step[1:5]
            personal = key == PERSONAL
        else:
            continue
        if type(table) is BandSchedule:
            used = (f"{row.label} {table.unit}", str(value))
        else:
            used = ("default" if row is None else (PERSONAL if personal else str(row)), str(value))
        rows = found.setdefault(table.name, [])
        if used not in rows:
            rows.append(used)
    return {name: tuple(rows) for name, rows in found.items()}


def _at(claim: Any, path: str):
    value = claim
    for part in path.split("."):
        if type(value) is not dict:
            return None
        value = value.get(part)
    return value


def _segment(claim: Any, paths: tuple[str, ...]) -> str:
    for path in paths:
        value = _at(claim, path)
        if type(value) is str:
            return value
        if type(value) is list and value and all(type(v) is str for v in value):
            return "+".join(value)
    return "(none)"


def _rows(rows) -> str:
    return ", ".join(f"{label} ({value})" for label, value in rows)


def _summary(result) -> dict:
    """A decision as the report shows it (before or after)."""
    if isinstance(result, ClaimError):
        return {"outcome": INVALID, "error": {"code": result.code, "message": result.message, "path": result.path}}
    summary = {"outcome": result.outcome, "settlement": result.settlement, "payout": result.payout.to_dict(),
               "excess": result.excess.to_dict(),
               "reasons": [dict(reason) for reason in result.reasons],
               "missing_documents": list(result.missing_documents)}
    if result.benefits is not None:
        summary["benefits"] = [{"benefit": line["benefit"], "outcome": line["outcome"], "payout": line["payout"]}
                               for line in result.benefits]
    return summary


def causes(before, after) -> list[str]:
    """Why a claim's decision changed, in a product manager's words."""
    found: list[str] = []
    if isinstance(before, ClaimError) or isinstance(after, ClaimError):
        if isinstance(before, ClaimError) and isinstance(after, ClaimError):
            if before.code != after.code or before.path != after.path:
                found.append(f"input error {before.code} → {after.code}")
        elif isinstance(after, ClaimError):
            found.append(f"input error {after.code} now" + (f" ({after.path})" if after.path else ""))
        else:
            found.append(f"input error {before.code} no longer")
        return found or ["input error message"]
    # an approved claim's reasons are its adjustments: when the outcome itself changed, they follow
    # from the change rather than cause it
    moved = before.outcome != after.outcome
    codes_before = [r["code"] for r in before.reasons] if not (moved and before.outcome == "approved") else []
    codes_after = [r["code"] for r in after.reasons] if not (moved and after.outcome == "approved") else []
    no_longer = [f"{code}: no longer applies" for code in codes_before if code not in codes_after]
    now = [f"{code}: applies now" for code in codes_after if code not in codes_before]
    found += (no_longer + now) if before.outcome in ("declined", "referred") else (now + no_longer)
    found += [f"document {d}: missing now" for d in after.missing_documents if d not in before.missing_documents]
    found += [f"document {d}: no longer missing" for d in before.missing_documents
              if d not in after.missing_documents]
    used_before, used_after = lookups(before), lookups(after)
    for name, rows in used_after.items():
        old = used_before.get(name)
        if old is None or old == rows:
            continue
        values = dict(old)
        moved_values = [f"{name} {label}: {values[label]} → {value}" for label, value in rows
                        if label in values and values[label] != value]
        if moved_values and {label for label, _ in rows} == set(values):
            found += moved_values
        else:
            found.append(f"{name}: {_rows(old)} → {_rows(rows)}")
    if not found and before.benefits and after.benefits:
        lines = {line["benefit"]: line for line in before.benefits}
        for line in after.benefits:
            old = lines.get(line["benefit"])
            if old is not None and (old["payout"] != line["payout"] or old["outcome"] != line["outcome"]):
                found.append(f"section {line['benefit']}: settlement")
    if not found:
        if [r for r in before.reasons] != [r for r in after.reasons]:
            found.append("a reason's clause or message")
        elif before.settlement != after.settlement:
            found.append(f"settlement kind {before.settlement} → {after.settlement}")
        else:
            found.append("settlement")
    return found


# -- what a book adds up to ----------------------------------------------------------------------------
class Impact:
    """What replaying a book found. Partial results (one per chunk) merge into one."""

    def __init__(self, top: int = 20, segments: dict[str, tuple[str, ...]] | None = None):
        self.top_n = top
        self.segment_paths = DEFAULT_SEGMENTS if segments is None else segments
        self.claims = 0
        self.changed = 0
        self.matrix: Counter = Counter()              # (before, after) -> claims
        self.by_product: Counter = Counter()          # (product, before, after) -> claims
        self.payout_moves: Counter = Counter()        # 1: claims paid more, -1: less, 0: either
        self.groups: dict[tuple, list] = {}           # (product, segments..., currency, bands, causes) -> sums
        self.errors: dict[str, Counter] = {"baseline": Counter(), "candidate": Counter()}
        self.examples: dict[str, list] = {"baseline": [], "candidate": []}
        self._top: list = []                          # a min-heap of (score, entry)
        self.labels: dict[str, str] = {}              # baseline/candidate: what they were named by
        self.identical: bool | None = None            # the two sides' product files are the same
        self.decided_once: list[str] = []             # products the same on both sides: each claim decided once

    # the per-claim work: keep it cheap
    def add(self, position: tuple, where: str, claim: Any, before, after) -> None:
        self.claims += 1
        before_ok = type(before) is Decision
        after_ok = type(after) is Decision
        state_before = before.outcome if before_ok else INVALID
        state_after = after.outcome if after_ok else INVALID
        if before_ok and after_ok:
            paid, borne = before.payout, before.excess          # plain fields: Money's == refuses two currencies
            changed = (state_before != state_after or paid.amount != after.payout.amount
                       or paid.currency != after.payout.currency or borne.amount != after.excess.amount
                       or before.reasons != after.reasons or before.missing_documents != after.missing_documents
                       or before.settlement != after.settlement or before.benefits != after.benefits)
        elif before_ok or after_ok:
            changed = True
        else:
            changed = before.code != after.code or before.path != after.path
        decision = after if after_ok else (before if before_ok else None)
        product = decision.product if decision is not None else \
            (claim.get("product") if type(claim) is dict and type(claim.get("product")) is str else "(none)")
        self.matrix[(state_before, state_after)] += 1
        self.by_product[(product, state_before, state_after)] += 1
        if not before_ok:
            self._error("baseline", position, where, before)
        if not after_ok:
            self._error("candidate", position, where, after)
        if decision is None:
            currency, paid_before, paid_after = None, _ZERO, _ZERO
        else:
            currency = decision.payout.currency
            paid_before = before.payout.amount if before_ok else _ZERO
            paid_after = after.payout.amount if after_ok else _ZERO
        used = tuple(sorted(f"{name}: {label}" for name, rows in lookups(decision).items() for label, _ in rows)) \
            if decision is not None else ()
        found = tuple(causes(before, after)) if changed else ()
        key = (product, *(_segment(claim, paths) for paths in self.segment_paths.values()), currency, used, found)
        sums = self.groups.get(key)
        if sums is None:
            sums = self.groups[key] = [0, 0, _ZERO, _ZERO]
        sums[0] += 1
        sums[2] += paid_before
        sums[3] += paid_after
        if changed:
            sums[1] += 1
            self.changed += 1
            if paid_after != paid_before:
                self.payout_moves[0] += 1
                self.payout_moves[1 if paid_after > paid_before else -1] += 1
            self._keep(position, where, claim, before, after, state_before != state_after, currency,
                       paid_after - paid_before, found)

    def _error(self, side: str, position: tuple, where: str, error: ClaimError) -> None:
        self.errors[side][error.code] += 1
        examples = self.examples[side]
        if len(examples) < EXAMPLES or position < examples[-1][0]:
            examples.append((position, {"where": where, "claim_id": error.claim_id, "code": error.code,
                                        "message": error.message, "path": error.path}))
            examples.sort(key=lambda item: item[0])
            del examples[EXAMPLES:]

    def _keep(self, position, where, claim, before, after, outcome_changed, currency, delta, found) -> None:
        score = (outcome_changed, abs(delta), tuple(-p for p in position))
        if len(self._top) >= self.top_n and score <= self._top[0][0]:
            return
        claim_id = claim_id_of(claim)
        entry = {"where": where, "claim_id": claim_id,
                 "product": (after if type(after) is Decision else before).product
                 if type(after) is Decision or type(before) is Decision else
                 (claim.get("product") if type(claim) is dict else None),
                 "before": _summary(before), "after": _summary(after),
                 "delta": None if currency is None else {"amount": str(delta), "currency": currency},
                 "causes": list(found)}
        if len(self._top) < self.top_n:
            heapq.heappush(self._top, (score, entry))
        else:
            heapq.heapreplace(self._top, (score, entry))

    def merge(self, other: "Impact") -> None:
        self.claims += other.claims
        self.changed += other.changed
        self.matrix.update(other.matrix)
        self.payout_moves.update(other.payout_moves)
        self.by_product.update(other.by_product)
        for key, sums in other.groups.items():
            mine = self.groups.get(key)
            if mine is None:
                self.groups[key] = list(sums)
            else:
                for index in range(4):
                    mine[index] += sums[index]
        for side in ("baseline", "candidate"):
            self.errors[side].update(other.errors[side])
            examples = sorted(self.examples[side] + other.examples[side], key=lambda item: item[0])
            self.examples[side] = examples[:EXAMPLES]
        for item in other._top:
            if len(self._top) < self.top_n:
                heapq.heappush(self._top, item)
            elif item[0] > self._top[0][0]:
                heapq.heapreplace(self._top, item)

    # what the report reads
    def top(self) -> list[dict]:
        """The claims that changed most, the most first."""
        return [entry for _, entry in sorted(self._top, key=lambda item: item[0], reverse=True)]

    def totals(self) -> list[dict]:
        """Payout per currency under each side, and the delta."""
        sums: dict[str, list] = {}
        for key, (claims, changed, before, after) in self.groups.items():
            currency = key[-3]
            if currency is None:
                continue
            row = sums.setdefault(currency, [0, 0, _ZERO, _ZERO])
            row[0] += claims
            row[1] += changed
            row[2] += before
            row[3] += after
        return [{"currency": currency, "claims": row[0], "changed": row[1], "baseline": str(row[2]),
                 "candidate": str(row[3]), "delta": str(row[3] - row[2])} for currency, row in sorted(sums.items())]

    def dimensions(self) -> tuple[str, ...]:
        return ("product", *self.segment_paths, "band", "cause")

    def segments(self, dimension: str) -> list[dict]:
        """Claims, changed claims and payouts per value of a dimension (and currency), the largest
        delta first. A claim counts under each band or table row it used, and each cause."""
        names = self.dimensions()
        if dimension not in names:
            raise KeyError(dimension)
        index = names.index(dimension)
        sums: dict[tuple, list] = {}
        for key, values in self.groups.items():
            currency = key[-3]
            if dimension == "band":
                labels = key[-2] or ("(none)",)
            elif dimension == "cause":
                labels = key[-1]
                if not labels:
                    continue
            else:
                labels = (key[index],)
            for label in labels:
                row = sums.setdefault((label, currency), [0, 0, _ZERO, _ZERO])
                for number in range(4):
                    row[number] += values[number]
        rows = [{"value": label, "currency": currency, "claims": row[0], "changed": row[1], "baseline": str(row[2]),
                 "candidate": str(row[3]), "delta": str(row[3] - row[2])}
                for (label, currency), row in sums.items()]
        rows.sort(key=lambda r: (-abs(Decimal(r["delta"])), -r["changed"], -r["claims"], r["value"], r["currency"] or ""))
        return rows

    def matrix_rows(self) -> list[dict]:
        return [{"from": before, "to": after, "claims": self.matrix[(before, after)]}
                for before in STATES for after in STATES if self.matrix[(before, after)]]

    def count(self, kind: str) -> int:
        """Claims of a change kind: `any`, `outcome`, `payout`, `payout-up`, `payout-down`, `FROM->TO`
        (outcomes, `invalid` among them; `*` for any), or `errors` (claims invalid only under the candidate)."""
        if kind == "any":
            return self.changed
        if kind == "outcome":
            return sum(n for (a, b), n in self.matrix.items() if a != b)
        if kind == "errors":
            return sum(n for (a, b), n in self.matrix.items() if b == INVALID and a != INVALID)
        if kind in ("payout", "payout-up", "payout-down"):
            return self.payout_moves[{"payout": 0, "payout-up": 1, "payout-down": -1}[kind]]
        if "->" in kind:
            before, _, after = kind.partition("->")
            return sum(n for (a, b), n in self.matrix.items()
                       if (before in ("*", a)) and (after in ("*", b)) and a != b)
        raise ValueError(f"unknown change kind {kind!r}")

    def to_dict(self) -> dict:
        return {
            "baseline": self.labels.get("baseline"), "candidate": self.labels.get("candidate"),
            "identical_products": self.identical, "decided_once": self.decided_once,
            "claims": self.claims, "changed": self.changed,
            "matrix": self.matrix_rows(),
            "by_product": [{"product": product, "from": before, "to": after, "claims": n}
                           for (product, before, after), n in sorted(self.by_product.items())],
            "totals": self.totals(),
            "segments": {dimension: self.segments(dimension) for dimension in self.dimensions()},
            "top": self.top(),
            "errors": {side: {"by_code": dict(sorted(self.errors[side].items())),
                              "claims": sum(self.errors[side].values()),
                              "examples": [example for _, example in self.examples[side]]}
                       for side in ("baseline", "candidate")},
        }


KINDS = ("any", "outcome", "payout", "payout-up", "payout-down", "errors")


def check_kind(kind: str) -> str:
    """A `--fail-on` kind, or ValueError."""
    if kind in KINDS:
        return kind
    before, arrow, after = kind.partition("->")
    if arrow and before in (*STATES, "*") and after in (*STATES, "*"):
        return kind
    raise ValueError(f"unknown change kind {kind!r}: any, outcome, payout, payout-up, payout-down, errors, "
                     f"or FROM->TO with FROM and TO among {', '.join(STATES)} or *")


# -- replaying a book -------------------------------------------------------------------------------------
def replay_claims(baseline: ProductBook, candidate: ProductBook, claims: Iterable[tuple[str, Any]],
                  top: int = 20, segments: dict | None = None, decide_unchanged: bool = False) -> Impact:
    """Replay claims given as (where, claim dict or `ClaimInput`) in this process."""
    impact = Impact(top, segments)
    same = frozenset() if decide_unchanged else unchanged_products(baseline, candidate)
    for number, (where, claim) in enumerate(claims, 1):
        _one(impact, (0, number), where, claim, baseline, candidate, same)
    return impact


def unchanged_products(baseline: ProductBook, candidate: ProductBook) -> frozenset[str]:
    """The products whose every version is built from the same files on both sides (the digest of
    a derived product's includes its base's): their claims are decided once, the decision being
    the same under both."""
    same = set()
    for product_id in set(baseline.ids) & set(candidate.ids):
        before = [(p.version, p.digest) for p in baseline.versions(product_id)]
        after = [(p.version, p.digest) for p in candidate.versions(product_id)]
        if before == after and all(digest for _, digest in before):
            same.add(product_id)
    return frozenset(same)


def _one(impact: Impact, position: tuple, where: str, claim, baseline: ProductBook, candidate: ProductBook,
         same: frozenset = frozenset()) -> None:
    if type(claim) is ClaimInput:
        if claim.error is not None:
            impact.add(position, where, None, claim.error, claim.error)
            return
        claim = claim.claim
    before = decide_quietly(baseline, claim)
    if same and type(claim) is dict and claim.get("product") in same:
        impact.add(position, where, claim, before, before)
        return
    impact.add(position, where, claim, before, decide_quietly(candidate, claim))


_BOOKS: tuple | None = None           # (baseline, candidate, top, segments, same) in each worker, inherited at fork


def _init_worker(books: tuple) -> None:
    global _BOOKS
    _BOOKS = books
    gc.freeze()         # the inherited products are not the collector's: its passes walk only what a chunk makes


def _work(item: tuple) -> Impact:
    return replay_chunk(*_BOOKS, item)


def replay_chunk(baseline: ProductBook, candidate: ProductBook, top: int, segments, same: frozenset,
                 item: tuple) -> Impact:
    """One chunk of a book: ("lines", file index, [(where, number, text), ...]) or
    ("arrow", file index, path, first row, record batch, shape)."""
    impact = Impact(top, segments)
    if item[0] == "lines":
        _, index, lines = item
        for where, number, line in lines:
            read = jsonl_line(line, where, number)
            if read is None:
                continue
            _one(impact, (index, number), f"{where}:{number}", read, baseline, candidate, same)
        return impact
    from .book_io import batch_claims
    _, index, path, first, batch, shape = item
    for offset, read in enumerate(batch_claims(batch, path, first, shape=shape)):
        row = first + offset
        _one(impact, (index, row), f"{path}:row {row}", read, baseline, candidate, same)
    return impact


def is_parquet(path: str) -> bool:
    return path.lower().endswith((".parquet", ".pq"))


def _items(books: Sequence[str], done: list) -> Iterator[tuple]:
    """The chunks of every book, in order; `done[0]` counts the bytes read (for progress)."""
    for index, path in enumerate(books):
        if is_parquet(path):
            from .book_io import read_batches, book_rows
            size = os.path.getsize(path)
            rows = max(book_rows(path), 1)
            start = done[0]
            for first, batch, shape in read_batches(path, CHUNK):
                yield ("arrow", index, path, first, batch, shape)
                done[0] = start + size * (first + batch.num_rows - 1) // rows
            continue
        if not path.lower().endswith(".jsonl"):
            raise ClaimFileError(f"{path}: not a claims book (expected .jsonl or .parquet)")
        chunk = []
        for where, number, line in read_jsonl_file(path):
            chunk.append((where, number, line))
            done[0] += len(line)
            if len(chunk) >= CHUNK:
                yield ("lines", index, chunk)
                chunk = []
        if chunk:
            yield ("lines", index, chunk)


def book_bytes(books: Sequence[str]) -> int:
    return sum(os.path.getsize(path) for path in books if os.path.isfile(path))


def replay(baseline: ProductBook, candidate: ProductBook, books: Sequence[str], *, jobs: int = 1,
           top: int = 20, segments: dict | None = None,
           progress: Callable[[int, int], None] | None = None, decide_unchanged: bool = False) -> Impact:
    """Replay every claim of `books` (.jsonl or Parquet) under both; `jobs` worker processes.

    A claim of a product built from the same files on both sides is decided once
    (`unchanged_products`), unless `decide_unchanged`. `progress(claims, bytes)` is called after
    each chunk. Raises `ClaimFileError` for a book that cannot be read at all (and
    `book_io.BookError` for a Parquet one)."""
    impact = Impact(top, segments)
    same = frozenset() if decide_unchanged else unchanged_products(baseline, candidate)
    impact.decided_once = sorted(same)
    done = [0]

    def add(part: Impact) -> None:
        impact.merge(part)
        if progress is not None:
            progress(impact.claims, done[0])

    items = _items(books, done)
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for item in items:
            add(replay_chunk(baseline, candidate, top, segments, same, item))
        return impact
    first = next(items, None)
    if first is None:
        return impact
    second = next(items, None)
    if second is None:
        add(replay_chunk(baseline, candidate, top, segments, same, first))
        return impact
    context = multiprocessing.get_context("fork")
    with context.Pool(jobs, initializer=_init_worker, initargs=((baseline, candidate, top, segments, same),)) as pool:
        pending: deque = deque()
        for item in _chain((first, second), items):
            pending.append(pool.apply_async(_work, (item,)))
            while len(pending) >= jobs * IN_FLIGHT_PER_WORKER:
                add(pending.popleft().get())
        while pending:
            add(pending.popleft().get())
    return impact


def _chain(head, tail):
    yield from head
    yield from tail


__all__ = ["Impact", "replay", "replay_claims", "replay_chunk", "unchanged_products", "decide_quietly", "lookups", "causes", "check_kind",
           "STATES", "INVALID", "KINDS", "DIMENSIONS", "DEFAULT_SEGMENTS"]
