"""Batch evaluation for the command line: JSON lines in, decisions out, in order, on every core.

A `.jsonl` file is cut into byte ranges of about 512 KiB (`claim_reader.jsonl_ranges`) that end at
a line end (the parent reads it a block at a time and counts the lines before each range, at C
speed: it never parses, decodes or sends a line), and each range is read and decided by a worker
process of a pool, each holding the loaded products (inherited at fork). Standard input is read
by the parent and sent to the workers in chunks of lines. At most a few ranges or chunks per
worker are in flight, so memory stays flat whatever the size of the input, and results are
written in input order. A bad line is an error object in its place, named by its line number;
it never stops the batch.

A worker that dies (killed, out of memory) breaks the pool (`BrokenProcessPool`), never hangs
it. The chunks (or ranges: the parent then reads their lines) that were in flight are decided
again, each line on its own, in a fresh worker of their own, so that a claim that kills its
worker every time loses only itself: a line whose worker dies again is lost, and gets a
`batch.worker-lost` error object in its place. The rest of the input goes to a fresh pool. No
line is skipped or written twice, and the order is kept.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import Counter, deque
from contextlib import contextmanager
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable, Iterable, Iterator, TextIO

from . import errors as E
from .audit import AuditLog, record_line
from .errors import ClaimError
from .product_book import ProductBook
from .claim_reader import evaluate_claim, jsonl_line, read_jsonl_range, jsonl_ranges
from .decision import OUTCOMES, Decision

CHUNK = 1000                      # lines a worker decides at a time (standard input)
IN_FLIGHT_PER_WORKER = 4          # chunks queued per worker: bounds memory, keeps workers busy


@dataclass
class Summary:
    """What a batch decided: counted in the workers, added up in the parent."""
    claims: int = 0
    errors: int = 0
    outcomes: Counter = field(default_factory=Counter)
    payout: dict = field(default_factory=dict)          # currency -> Decimal total
    retried: int = 0                                    # lines decided again after a worker died
    lost: list = field(default_factory=list)            # (where, line number) of the lines lost with a worker
    bytes: int = 0                                      # of the input read (for the progress line)

    def add(self, result) -> None:
        """Count a decision document or error object, or a `Decision`."""
        self.claims += 1
        if type(result) is Decision:
            self.outcomes[result.outcome] += 1
            currency = result.payout.currency
            self.payout[currency] = self.payout.get(currency, Decimal(0)) + result.payout.amount
            return
        if "error" in result:
            self.errors += 1
            return
        self.outcomes[result["outcome"]] += 1
        payout = result["payout"]
        currency = payout["currency"]
        self.payout[currency] = self.payout.get(currency, Decimal(0)) + Decimal(payout["amount"])

    def merge(self, other: "Summary") -> None:
        self.claims += other.claims
        self.errors += other.errors
        self.outcomes.update(other.outcomes)
        for currency, amount in other.payout.items():
            self.payout[currency] = self.payout.get(currency, Decimal(0)) + amount
        self.retried += other.retried
        self.lost.extend(other.lost)
        self.bytes += other.bytes

    def text(self) -> str:
        outcomes = ", ".join(f"{self.outcomes[o]:,} {o}" for o in OUTCOMES if self.outcomes[o])
        paid = ", ".join(f"{amount:,} {currency}" for currency, amount in sorted(self.payout.items()))
        lost = f"; {len(self.lost):,} lost" if self.lost else ""
        return (f"{self.claims:,} claim{'s' if self.claims != 1 else ''}: {outcomes or 'no decisions'}; "
                f"{self.errors:,} invalid{lost}; payout {paid or 'none'}")


class Progress:
    """A progress line on a terminal (stderr): claims, rate, and an ETA when the size is known."""

    def __init__(self, stream: TextIO, total_bytes: int | None):
        self.stream = stream
        self.total = total_bytes
        self.start = time.monotonic()
        self.shown = 0.0
        self.active = stream.isatty()

    def update(self, claims: int, done_bytes: int) -> None:
        now = time.monotonic()
        if not self.active or now - self.shown < 0.2:
            return
        self.shown = now
        elapsed = max(now - self.start, 1e-9)
        rate = claims / elapsed
        line = f"\r{claims:,} claims  {rate:,.0f}/s"
        if self.total and done_bytes:
            fraction = min(done_bytes / self.total, 1.0)
            left = elapsed * (1 - fraction) / max(fraction, 1e-9)
            width = 24
            filled = int(width * fraction)
            line += f"  [{'#' * filled}{'.' * (width - filled)}] {fraction:4.0%}  ETA {int(left) // 60}:{int(left) % 60:02d}"
        self.stream.write(line + "   ")
        self.stream.flush()

    def close(self) -> None:
        if self.active and self.shown:
            self.stream.write("\r" + " " * 79 + "\r")
            self.stream.flush()


# -- the work itself: the same function inline and in the workers -----------------------
_BOOK: ProductBook | None = None          # set in each worker process (inherited at fork)
_RENDER: Callable[[dict], str] | None = None
_AUDIT: AuditLog | None = None


def decide_lines(book: ProductBook, render: Callable[[dict], str], chunk: list,
                 audit: AuditLog | None = None) -> tuple[str, Summary, str]:
    """Decide a chunk of (where, line number, text) lines.

    Returns the rendered output, the counts, and the decision log's lines for the chunk (the
    records are made where the claims are decided and written by the parent, in order).
    `render` is given each claim's `Decision` (its trace rendered) or error object: a decision
    is written without its document dict being built (`Decision.to_json`).
    """
    summary = Summary()
    out = []
    records: list = []
    if audit is not None:
        collector = AuditLog(records.append, audit.key, audit.clock)
        book = book.with_audit(collector)
    for where, number, line in chunk:
        item = jsonl_line(line, where, number)
        if item is None:
            continue
        if item.error is not None:
            result = item.error.to_dict()
            if audit is not None:
                records.append(collector.record(line.rstrip("\r\n"), item.error))
        else:
            result = evaluate_claim(book, item.claim, where, number)
        summary.add(result)
        out.append(render(result))
    log = "".join(record_line(record) for record in records)
    summary.bytes = sum(len(line) for _, _, line in chunk)
    return "".join(out), summary, log


def _lost_line(where: str, number: int, line: str, render: Callable[[dict], str],
               audit: AuditLog | None = None) -> tuple[str, Summary, str]:
    """What `decide_lines` gives for a line whose worker died each time it was decided: the
    `batch.worker-lost` error object in its place (the line itself is not read here, where a
    claim that kills its reader would kill the batch)."""
    error = ClaimError(E.BATCH_WORKER_LOST, f"{where}:{number}: the worker process deciding this line died "
                       "(killed, or out of memory), and again when the line was decided on its own", None)
    summary = Summary(claims=1, lost=[(where, number)])
    log = ""
    if audit is not None:
        log = record_line(AuditLog(lambda record: None, audit.key, audit.clock).record(line.rstrip("\r\n"), error))
    return render(error.to_dict()), summary, log


def _worker(task) -> tuple[str, Summary, str]:
    """A chunk of lines, or a byte range of a file (read here), decided."""
    if type(task) is list:
        return decide_lines(_BOOK, _RENDER, task, _AUDIT)
    return _decide_range(_BOOK, _RENDER, task, _AUDIT)


def _decide_range(book: ProductBook, render, task: tuple, audit: AuditLog | None) -> tuple[str, Summary, str]:
    output, summary, log = decide_lines(book, render, read_jsonl_range(*task), audit)
    summary.bytes = task[2] - task[1]
    return output, summary, log


def _init_worker(book: ProductBook, render, audit, parent: int) -> None:
    global _BOOK, _RENDER, _AUDIT
    _BOOK, _RENDER, _AUDIT = book, render, audit
    _die_with(parent)


def _die_with(parent: int) -> None:
    """A worker ends when the process that started it does, however that one ends.

    A forked worker holds both ends of the pool's pipes, so a parent killed with SIGKILL (or by a
    timeout in the shell) would leave it waiting for work for ever, holding the output pipe the
    caller reads to its end. On Linux the kernel kills it (PR_SET_PDEATHSIG); elsewhere a thread
    looks every second whether it was adopted by another process."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0:         # PR_SET_PDEATHSIG
            if os.getppid() != parent:                          # it died before the call
                os._exit(1)
            return
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, name="policyconf-parent-watch", daemon=True).start()


def chunks(lines: Iterable[tuple[str, int, str]], size: int = CHUNK) -> Iterator[list]:
    chunk = []
    for item in lines:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run(book: ProductBook, lines: Iterable[tuple[str, int, str]], render: Callable[[dict], str],
        write: Callable[[str], None], jobs: int, progress: Progress | None = None,
        position: int = 0, audit: AuditLog | None = None,
        write_log: Callable[[str], None] | None = None) -> Summary:
    """Decide every line, in order; `jobs` worker processes (1: in this process).

    With `audit`, each decision's log record is made (with its key and clock) and handed, in
    input order, to `write_log`. `position`: the bytes read before these (for the progress line).
    """
    return _run(book, chunks(lines), render, write, jobs, progress, position, audit, write_log)


def run_file(book: ProductBook, path: str, render: Callable[[dict], str], write: Callable[[str], None],
             jobs: int, progress: Progress | None = None, position: int = 0, audit: AuditLog | None = None,
             write_log: Callable[[str], None] | None = None) -> Summary:
    """`run` on the lines of a .jsonl file, each worker reading its own byte ranges of it
    (`ClaimFileError` if it cannot be opened)."""
    return _run(book, jsonl_ranges(path), render, write, jobs, progress, position, audit, write_log)


def _run(book, source: Iterator, render, write, jobs, progress, position, audit, write_log) -> Summary:
    summary = Summary()

    def done(output: str, part: Summary, log: str = "") -> None:
        write(output)
        if log and write_log is not None:
            write_log(log)
        summary.merge(part)
        if progress is not None:
            progress.update(summary.claims, position + summary.bytes)

    def inline(task) -> tuple[str, Summary, str]:
        if type(task) is list:
            return decide_lines(book, render, task, audit)
        return _decide_range(book, render, task, audit)

    if jobs <= 1:
        for task in source:
            done(*inline(task))
        return summary
    first = next(source, None)
    if first is None:
        return summary
    second = next(source, None)
    if second is None:                         # one chunk: a pool would only cost its start-up
        done(*inline(first))
        return summary
    if "fork" not in multiprocessing.get_all_start_methods():      # compiled products do not pickle
        for task in _chain([first, second], source):
            done(*inline(task))
        return summary
    _pooled(_chain([first, second], source), jobs, done, (book, render, audit))
    return summary


@contextmanager
def _pool(jobs: int, initargs: tuple) -> Iterator[ProcessPoolExecutor]:
    """A pool of `jobs` forked workers holding the book. On the way out of an error (stdout
    closed, Ctrl-C) its workers are stopped at once, as multiprocessing.Pool's were, rather than
    left to decide the chunks in flight for nothing (the executor has no public way to do it)."""
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"), initializer=_init_worker,
                               initargs=(*initargs, os.getpid()))
    try:
        yield pool
    except BaseException:
        workers = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for worker in workers:
            worker.terminate()
        raise
    pool.shutdown()


def _pooled(source: Iterator[list], jobs: int, done: Callable, initargs: tuple) -> None:
    """Every chunk of `source` decided by `jobs` workers, its result handed to `done` in order.

    When a worker dies, the pool is broken and every chunk in flight with it: those that had
    finished are written, the others decided again line by line (`_alone`), and the rest of the
    input goes to a fresh pool.
    """
    while True:
        pending: deque = deque()                 # (chunk, future), in input order
        broken = False
        with _pool(jobs, initargs) as pool:
            for chunk in source:
                try:
                    pending.append((chunk, pool.submit(_worker, chunk)))
                except BrokenProcessPool:
                    pending.append((chunk, None))
                    broken = True
                    break
                if len(pending) >= jobs * IN_FLIGHT_PER_WORKER and not _write_oldest(pending, done):
                    broken = True
                    break
            while not broken and pending:
                broken = not _write_oldest(pending, done)
        if not broken:
            return
        for chunk, future in pending:            # the pool is shut down: every future is settled
            if future is not None and future.exception() is None:
                done(*future.result())
            else:
                _alone(chunk, done, initargs)


def _write_oldest(pending: deque, done: Callable) -> bool:
    """Hand the oldest chunk's result to `done`; False (the chunk left pending) if the pool broke."""
    try:
        result = pending[0][1].result()
    except BrokenProcessPool:
        return False
    pending.popleft()
    done(*result)
    return True


def _alone(chunk: list, done: Callable, initargs: tuple) -> None:
    """A chunk that was in flight when a worker died, decided again line by line in a fresh
    worker of its own. When that worker dies too, the line it was deciding (the first not
    decided: it decides them in order) is lost, and the lines after it go to another fresh
    worker: each line is decided again once."""
    _, render, audit = initargs
    lines = deque(chunk if type(chunk) is list else read_jsonl_range(*chunk))   # read, not decided, here
    while lines:
        broken = False
        with _pool(1, initargs) as pool:
            futures: deque = deque()
            for line in lines:
                try:
                    futures.append(pool.submit(_worker, [line]))
                except BrokenProcessPool:          # it died already
                    broken = True
                    break
            while futures:
                try:
                    output, part, log = futures.popleft().result()
                except BrokenProcessPool:
                    broken = True
                    break
                lines.popleft()
                part.retried += 1
                done(output, part, log)
        if broken and lines:
            where, number, line = lines.popleft()
            output, part, log = _lost_line(where, number, line, render, audit)
            part.retried += 1
            done(output, part, log)


def _chain(head: list, tail: Iterator) -> Iterator:
    yield from head
    yield from tail


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


__all__ = ["Summary", "Progress", "run", "run_file", "default_jobs", "decide_lines"]
