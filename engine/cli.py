"""The `policyconf` command: a thin layer over the library.

    policyconf validate [PATH...]                  check product files
    policyconf evaluate [--products DIR] [--format text|json|jsonl | --output FILE.parquet|FILE.jsonl] CLAIM...
    policyconf test [PATH...] [--coverage] [--fail-under N] [-k PATTERN] [-x] [--update] [--format text|github]
    policyconf test --mutate [PATH...] [--fail-under N] [-k PATTERN] [--jobs N] [--format text|github]

Exit status (contract §1): validate 0 valid, 1 problems found, 2 usage or I/O
error; evaluate 0 when every claim got a decision, 1 when any claim was
rejected as invalid input, 2 usage or I/O error.
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import threading
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, TextIO

from .. import __version__
from .decision import Decision
from .loader import TEST_SUFFIXES, load
from .product_book import ProductBook, load_products
from . import errors as E
from .errors import ClaimFileError, ProductError
from .jsonio import dumps

if TYPE_CHECKING:
    from .claim_reader import StdinReader

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2

UNKEYED_LOG_WARNING = (
    "policyconf: warning: --log without --log-key-env: the decision log's input hash is then a plain "
    "SHA-256, which anyone who reads the log can test guesses against; a claim's fields with few possible "
    "values (a VIN, a date of birth) can be guessed and confirmed. Set a key: --log-key-env VAR, where the "
    "environment variable VAR holds the insurer's secret (kept outside the log).\n")


class UsageError(Exception):
    pass


# -- writing decisions ---------------------------------------------------------
def render_text(result: dict) -> str:
    """A decision (or an error) for a person."""
    claim_id = result.get("claim_id") or "(no claim id)"
    if "error" in result:
        error = result["error"]
        at = f" at {error['path']}" if error.get("path") else ""
        return f"{claim_id}\n  INVALID INPUT  {error['code']}{at}\n  {error['message']}\n"
    lines = [f"{claim_id}  {result['product']} (version {result['product_version']})"]
    outcome = result["outcome"].upper()
    payout, excess = result["payout"], result["excess"]
    if result["outcome"] == "approved":
        depreciation = "" if result["depreciation"] is None else f", depreciation {result['depreciation']}"
        lines.append(f"  {outcome}  {result['settlement']}  payout {payout['amount']} {payout['currency']}"
                     f"  (excess {excess['amount']} {excess['currency']}{depreciation})")
    else:
        lines.append(f"  {outcome}  nothing is paid")
    if result["reasons"]:
        lines.append("  reasons:")
        for reason in result["reasons"]:
            lines.append(f"    {reason['code']} ({reason['clause']}): {reason['message']}")
    if result.get("benefits"):
        lines.append("  benefits:")
        width = max(len(line["benefit"]) for line in result["benefits"])
        for line in result["benefits"]:
            paid, borne = line["payout"], line["excess"]
            codes = ", ".join(reason["code"] for reason in line["reasons"])
            lines.append(f"    {line['benefit']:{width}}  {line['outcome']:8}  {paid['amount']:>10} {paid['currency']}"
                         f"  (excess {borne['amount']}){'  ' + codes if codes else ''}")
    if result["missing_documents"]:
        lines.append("  missing documents: " + ", ".join(result["missing_documents"]))
    if result["trace"]:
        lines.append("  how:")
        lines.extend(f"    {step}" for step in result["trace"])
    return "\n".join(lines) + "\n"


def _render(fmt: str):
    if fmt == "jsonl":
        return _jsonl_out
    if fmt == "text":
        return _text_out
    return None


def _jsonl_out(result) -> str:
    """A decision document or error object, or a `Decision` (written directly, the same bytes)."""
    if type(result) is Decision:
        return result.to_json() + "\n"
    return dumps(result) + "\n"


def _text_out(result) -> str:
    return render_text(result.to_dict() if type(result) is Decision else result) + "\n"


_HELD = threading.Lock()
_HOLDS = [0, False]             # loads holding the collector off, and whether it was on before the first


@contextmanager
def _collector_held():
    """The cyclic garbage collector held off while products are loaded by a command (the
    command line's own process; the library never touches it). Building a product makes some
    thousands of objects at once (its generated module's AST), freed by their reference counts,
    yet counted towards collections, full ones among them, that walk every object of the
    process: of a cold load of 100 products about 0.5 s, held off about 0.2 s. Loads that
    overlap share one hold; the collector is turned back on by the last, if it was on before."""
    with _HELD:
        if _HOLDS[0] == 0:
            _HOLDS[1] = gc.isenabled()
            gc.disable()
        _HOLDS[0] += 1
    try:
        yield
    finally:
        with _HELD:
            _HOLDS[0] -= 1
            if _HOLDS[0] == 0 and _HOLDS[1]:
                gc.enable()


def _load_book(directory: str, stderr: TextIO) -> ProductBook | None:
    """The products of `directory`, or None after writing every problem to stderr."""
    try:
        with _collector_held():
            return load_products(directory)
    except ProductError as error:
        stderr.write(f"policyconf: the products in {directory} could not be loaded:\n")
        for problem in error.problems:
            stderr.write(problem.format() + "\n")
        return None


def _output_kind(path: str, fmt: str | None) -> str:
    """`--output PATH`: "parquet" or "jsonl", by its suffix (UsageError for another, or with --format)."""
    lower = path.lower()
    kind = "parquet" if lower.endswith(".parquet") else "jsonl" if lower.endswith(".jsonl") else None
    if kind is None:
        raise UsageError(f"--output {path}: the file's suffix names its format: .parquet (decisions as columns) "
                         "or .jsonl (one JSON line per claim)")
    if fmt is not None:
        raise UsageError(f"--format {fmt} is for standard output; --output {path} writes the format its suffix names")
    return kind


def evaluate_command(args, stdout: TextIO, stderr: TextIO, stdin: StdinReader) -> int:
    from . import batch
    output = _output_kind(args.output, args.format) if args.output else None
    fmt = "jsonl" if output else args.format or ("text" if stdout.isatty() else "jsonl")
    book = _load_book(args.products, stderr)
    if book is None:
        return EXIT_USAGE
    if not args.claims:
        raise UsageError("evaluate needs at least one claim file (or - for standard input)")
    jobs = args.jobs or batch.default_jobs()
    render = _render(fmt)
    audit, log_file = None, None
    if args.log:
        key = os.environ.get(args.log_key_env, "").encode() if args.log_key_env else b""
        if args.log_key_env and not key:
            raise UsageError(f"--log-key-env {args.log_key_env}: the variable is not set")
        try:
            log_file = open(args.log, "a", encoding="utf-8")
        except OSError as error:
            raise UsageError(f"--log {args.log}: {error.strerror}") from None
        if not key:
            stderr.write(UNKEYED_LOG_WARNING)
        from .audit import AuditLog
        audit = AuditLog.to_stream(log_file, key or None)
        book = book.with_audit(audit)
    try:
        if output is None:
            return _evaluate(args, book, fmt, jobs, render, audit, log_file, stdout, stderr, stdin)
        return _evaluate_to(args.output, output, args, book, jobs, audit, log_file, stdout, stderr, stdin)
    finally:
        if log_file is not None:
            log_file.close()


class _Written:
    """Standard output's place when the decisions go to a file (`write` is the file's); nothing else
    is written to it."""

    def __init__(self, write):
        self.write = write

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def _evaluate_to(path, kind, args, book, jobs, audit, log_file, stdout, stderr, stdin) -> int:
    """`--output PATH`: the decisions as JSON lines, or as Parquet columns (`book_io.DecisionWriter`),
    written as they are decided; the file is complete when the status is 0 or 1."""
    if kind == "parquet":
        try:
            from . import book_io
        except ImportError:
            raise UsageError("--output .parquet needs pyarrow: pip install 'policyconf[parquet]'") from None
        _check_sources(args.claims)
        try:
            sink = book_io.DecisionWriter(path)
        except book_io.BookError as error:
            raise UsageError(f"--output {error}") from None
        try:
            return _evaluate(args, book, "jsonl", jobs, _jsonl_out, audit, log_file, _Written(sink.write), stderr,
                             stdin)
        finally:
            sink.close()
    _check_sources(args.claims)
    try:
        handle = open(path, "w", encoding="utf-8")
    except OSError as error:
        raise UsageError(f"--output {path}: {error.strerror}") from None
    with handle:
        return _evaluate(args, book, "jsonl", jobs, _jsonl_out, audit, log_file, _Written(handle.write), stderr, stdin)


class _JsonDocument:
    """`--format json`, written as the claims are decided, never held: an array of decisions (and
    error objects), `json.dumps(results, indent=2)` to the byte, or the one object itself when the
    input is one claim file (not .jsonl) holding one claim. Only the first result is held, until
    a second one says that the document is an array."""

    def __init__(self, write, may_be_one: bool):
        self.write = write
        self.may_be_one = may_be_one
        self.held: str | None = None
        self.written = 0

    def add(self, result: dict) -> None:
        text = dumps(result, indent=2)
        if self.may_be_one and self.held is None and not self.written:
            self.held = text
            return
        if self.held is not None:
            self._element(self.held)
            self.held = None
        self._element(text)

    def _element(self, text: str) -> None:
        self.write(("[\n  " if not self.written else ",\n  ") + text.replace("\n", "\n  "))
        self.written += 1

    def close(self) -> None:
        if self.held is not None:
            self.write(self.held + "\n")
        else:
            self.write("\n]\n" if self.written else "[]\n")


def _check_sources(paths: list[str]) -> None:
    """Every claim source can be opened (ClaimFileError if not): checked before a document is begun,
    so that a missing second file leaves stdout empty rather than half an array."""
    from .claim_reader import claim_file_kind
    for path in paths:
        if path == "-":
            continue
        if claim_file_kind(path) is None:
            raise ClaimFileError(f"{path}: not a claim file (expected .json, .jsonl, .parquet, .yaml or -)")
        try:
            open(path, "rb").close()
        except OSError as error:
            raise ClaimFileError(f"{path}: {error.strerror}") from None


def _evaluate(args, book, fmt, jobs, render, audit, log_file, stdout, stderr, stdin) -> int:
    from . import batch
    from .claim_reader import decide_claim, evaluate_claim, jsonl_line, read_claims
    summary = batch.Summary()
    single = len(args.claims) == 1
    document = None
    sizes = sum(os.path.getsize(p) for p in args.claims if p != "-" and _is_batch(p) and os.path.isfile(p))
    progress = batch.Progress(stderr, sizes or None)
    done_bytes = 0
    try:
        if fmt == "json":
            _check_sources(args.claims)
            document = _JsonDocument(stdout.write, single and not _is_batch(args.claims[0]))
        for path in args.claims:
            stdin_lines = path == "-" and stdin.is_jsonl()
            if render is not None and (_is_batch(path) or stdin_lines):
                write_log = log_file.write if log_file is not None else None
                if stdin_lines:
                    part = batch.run(book, stdin.lines(), render, stdout.write, jobs, progress, done_bytes,
                                     audit, write_log)
                else:                   # each worker reads its own byte ranges of the file
                    part = batch.run_file(book, path, render, stdout.write, jobs, progress, done_bytes, audit,
                                          write_log)
                done_bytes += part.bytes
                summary.merge(part)
                continue
            if stdin_lines:
                items = (jsonl_line(line, where, n) for where, n, line in stdin.lines())
            else:
                items = read_claims(path, stdin)
            for item in items:
                if item is None:
                    continue
                if item.error is not None and audit is not None:
                    audit.write(None, item.error)
                if item.error is not None:
                    result = item.error.to_dict()
                elif document is None:                  # written directly (Decision.to_json)
                    result = evaluate_claim(book, item.claim)
                else:
                    result = decide_claim(book, item.claim)
                summary.add(result)
                if render is not None:
                    stdout.write(render(result))
                else:
                    document.add(result)
    except (UsageError, ClaimFileError) as error:
        progress.close()
        stdout.flush()
        stderr.write(f"policyconf: {error}\n")
        return EXIT_USAGE
    progress.close()
    if document is not None:
        document.close()
    if summary.claims > 1:
        stderr.write(f"policyconf: {summary.text()}\n")
    if summary.errors:
        stderr.write(f"policyconf: {summary.errors} claim{'s' if summary.errors != 1 else ''} rejected as invalid input\n")
    if summary.retried:
        stderr.write(f"policyconf: a worker process died (killed, or out of memory): {summary.retried:,} line{'s' if summary.retried != 1 else ''} "
                     "in flight were decided again, each on its own in a fresh worker\n")
    if summary.lost:
        stderr.write(f"policyconf: lost, their worker dying again, each with a {E.BATCH_WORKER_LOST} error in its "
                     f"place: {_line_ranges(summary.lost)}\n")
        return EXIT_USAGE
    return EXIT_PROBLEMS if summary.errors else EXIT_OK


def _line_ranges(lines: list[tuple[str, int]]) -> str:
    """`claims.jsonl lines 7, 1200-1203; <stdin> line 2`: input lines, by source, runs as ranges."""
    by_source: dict[str, list[int]] = {}
    for where, number in lines:
        by_source.setdefault(where, []).append(number)
    parts = []
    for where, numbers in by_source.items():
        runs: list[list[int]] = []
        for number in sorted(numbers):
            if runs and number == runs[-1][1] + 1:
                runs[-1][1] = number
            else:
                runs.append([number, number])
        text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
        parts.append(f"{where} line{'s' if len(numbers) > 1 else ''} {text}")
    return "; ".join(parts)


def _is_batch(path: str) -> bool:
    return path.lower().endswith(".jsonl")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def _existing_paths(paths: list[str], stderr: TextIO) -> list[str] | None:
    """The PATH arguments (default products/), or None after saying which do not exist."""
    paths = paths or ["products"]
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        stderr.write(f"policyconf: {', '.join(missing)}: no such file or directory\n")
        return None
    return paths


def validate_command(args, stdout: TextIO, stderr: TextIO) -> int:
    paths = _existing_paths(args.paths, stderr)
    if paths is None:
        if args.format in ("json", "github"):    # a CI job reading stdout learns what went wrong too
            _missing_paths(args.paths or ["products"], args.format, stdout)
        return EXIT_USAGE
    tests = [p for p in paths if os.path.isfile(p) and p.endswith(TEST_SUFFIXES)]
    if tests:
        stderr.write("".join(f"policyconf: {p} is a test file: use `policyconf test {p}`\n" for p in tests))
        return EXIT_USAGE
    with _collector_held():
        loaded = load(paths)
    problems = loaded.problems
    errors = loaded.errors
    if args.format == "json":
        stdout.write(dumps({"valid": not errors, "products": sorted(loaded.products),
                            "problems": [p.to_dict() for p in problems]}, indent=2) + "\n")
    elif args.format == "github":
        for p in problems:
            stdout.write(p.annotation() + "\n")
    else:
        for p in problems:
            stdout.write(p.format() + "\n")
        count = len(loaded.products)
        versions = sum(len(chain) for chain in loaded.products.values())
        if errors:
            warnings = len(problems) - len(errors)
            stdout.write(f"{_count(len(errors), 'error')}{', ' + _count(warnings, 'warning') if warnings else ''}"
                         f" in {', '.join(paths)}\n")
        else:
            bases = "".join(f" (built on {base_id}, read from {', '.join(files)})"
                            for base_id, files in loaded.bases.items())
            stdout.write(f"ok: {_count(count, 'product')} ({_count(versions, 'version')}) valid in {', '.join(paths)}"
                         f"{bases}{', ' + _count(len(problems), 'warning') if problems else ''}\n")
    return EXIT_PROBLEMS if errors else EXIT_OK


def _missing_paths(paths: list[str], form: str, stdout: TextIO) -> None:
    """`validate --format json|github` given a PATH that does not exist: the `file.unreadable`
    problem of each, in that format (the exit status is still 2, a usage or I/O error)."""
    from .errors import Problem
    problems = [Problem(p, 1, 1, E.FILE_UNREADABLE, "no such file or directory")
                for p in paths if not os.path.exists(p)]
    if form == "json":
        stdout.write(dumps({"valid": False, "products": [], "problems": [p.to_dict() for p in problems]},
                           indent=2) + "\n")
    else:
        stdout.write("".join(p.annotation() + "\n" for p in problems))


def test_command(args, stdout: TextIO, stderr: TextIO) -> int:
    from . import tester as testing
    paths = _existing_paths(args.paths, stderr)
    if paths is None:
        return EXIT_USAGE
    untested = [p for p in paths if os.path.isfile(p) and testing.untested_product(p)]
    if untested:
        stderr.write("".join(f"policyconf: {p} is a product file and has no test file beside it "
                             f"({testing.suite_file_beside(p)})\n" for p in untested))
        return EXIT_USAGE
    try:
        select = testing.selector(args.select) if args.select is not None else None
    except ValueError as error:
        raise UsageError(str(error)) from None
    if args.mutate:
        return _mutate_command(args, paths, select, stdout, stderr)
    if args.jobs is not None:
        raise UsageError("--jobs is for --mutate")
    result = testing.run(paths, args.products, select=select, first_failure=args.exitfirst, update=args.update)
    if not result.results and not result.problems and not result.deselected:
        stderr.write(f"policyconf: no test files (*.tests.yaml) in {', '.join(paths)}\n")
        return EXIT_PROBLEMS
    testing.report(result, coverage=args.coverage or args.fail_under is not None,
                   write=lambda line: stdout.write(line + "\n"), colour=_colour(args.color, stdout),
                   format=args.format, fail_under=args.fail_under)
    ok = result.failed == 0 and not result.problems and not testing.under(result, args.fail_under)
    return EXIT_OK if ok else EXIT_PROBLEMS


def _mutate_command(args, paths: list[str], select, stdout: TextIO, stderr: TextIO) -> int:
    """`policyconf test --mutate`: mutation testing; --fail-under gates each product's score."""
    from . import batch, mutate
    for option, given in (("--update", args.update), ("--coverage", args.coverage), ("-x", args.exitfirst)):
        if given:
            raise UsageError(f"{option} does not go with --mutate")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if not _test_files(paths):
        stderr.write(f"policyconf: no test files (*.tests.yaml) in {', '.join(paths)}\n")
        return EXIT_PROBLEMS
    result = mutate.run(paths, args.products, select=select, jobs=args.jobs, worker_start=batch._die_with)
    mutate.report(result, write=lambda line: stdout.write(line + "\n"), format=args.format,
                  fail_under=args.fail_under)
    return EXIT_OK if mutate.ok(result, args.fail_under) else EXIT_PROBLEMS


def _test_files(paths: list[str]) -> list[str]:
    from .tester import find_test_files
    return [file for file in find_test_files(paths) if os.path.isfile(file)]


def _colour(choice: str, stdout: TextIO) -> bool:
    """Colour on a terminal, unless NO_COLOR is set (https://no-color.org); never in a file or pipe."""
    if choice != "auto":
        return choice == "yes"
    isatty = getattr(stdout, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def _percentage(text: str) -> Decimal:
    """--fail-under: a percentage from 0 to 100."""
    try:
        value = Decimal(text)
    except ArithmeticError:
        value = None
    if value is None or not value.is_finite() or not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be a percentage from 0 to 100, not {text!r}")
    return value


def verify_command(args, stdout: TextIO, stderr: TextIO) -> int:
    try:
        from . import verify
        import hypothesis  # noqa: F401
    except ImportError:
        stderr.write("policyconf: verify needs hypothesis: pip install 'policyconf[verify]'\n")
        return EXIT_USAGE
    if args.claims < 1:
        raise UsageError(f"--claims must be at least 1, not {args.claims}")
    book = _load_book(args.products, stderr)
    if book is None:
        return EXIT_USAGE
    unknown = [p for p in args.product_ids if p not in book.ids]
    if unknown:
        stderr.write(f"policyconf: unknown product {', '.join(unknown)} (products: {', '.join(book.ids)})\n")
        return EXIT_USAGE
    from .tester import suite_claims
    status = EXIT_OK
    for product_id in args.product_ids or book.ids:
        tests = os.path.join(args.products, f"{product_id}.tests.yaml")
        examples = suite_claims(tests) if os.path.isfile(tests) else None     # seeds for the generator
        for product in book.versions(product_id):
            result = verify.verify(product, args.claims, args.seed, examples)
            name = f"{product.id} {product.version}"
            if not product.invariants:
                stdout.write(f"{name}: no invariants declared\n")
                continue
            if result.passed:
                stdout.write(f"{name}: {_count(len(product.invariants), 'invariant')} hold on "
                             f"{result.decided:,} claims ({result.rejected:,} generated claims rejected as invalid "
                             "input and not counted)\n")
                continue
            status = EXIT_PROBLEMS
            broken = result.broken
            for invariant in broken.invariants:
                clause = f" ({invariant.clause})" if invariant.clause else ""
                error = broken.errors.get(invariant.id)
                if error is not None:
                    stdout.write(f"{name}: invariant {invariant.id}{clause} cannot be computed on this claim: "
                                 f"{error}\n  holds: {invariant.holds_text}\n")
                    continue
                stdout.write(f"{name}: invariant {invariant.id}{clause} broken: {invariant.message}\n"
                             f"  holds: {invariant.holds_text}\n")
            stdout.write("  smallest claim found:\n")
            stdout.write("".join(f"    {line}\n" for line in dumps(broken.claim, indent=2).splitlines()))
            stdout.write("  its decision:\n")
            stdout.write("".join(f"    {line}\n" for line in render_text(broken.decision.to_dict()).splitlines()))
    return status


def _read_source(spec: str, stderr: TextIO):
    """The products `spec` names (a path, or path@REV), loaded; None after saying why not."""
    from .sources import SourceError, read_source
    try:
        source = read_source(spec)
    except SourceError as error:
        stderr.write(f"policyconf: {error}\n")
        return None, None
    loaded = source.load()
    if loaded.errors:
        stderr.write(f"policyconf: the products in {spec} could not be loaded:\n")
        for problem in loaded.problems:
            stderr.write(problem.format() + "\n")
        return source, None
    return source, loaded


def diff_command(args, stdout: TextIO, stderr: TextIO) -> int:
    from . import diff as product_diff
    loaded = []
    for spec in (args.old, args.new):
        _, side = _read_source(spec, stderr)
        if side is None:
            return EXIT_USAGE
        loaded.append(side)
    report = product_diff.diff(loaded[0], loaded[1], args.old, args.new)
    if args.format == "json":
        stdout.write(dumps(report.to_dict(), indent=2) + "\n")
    else:
        stdout.write(product_diff.render_text(report))
    return EXIT_PROBLEMS if args.exit_code and report.changes else EXIT_OK


def impact_command(args, stdout: TextIO, stderr: TextIO) -> int:
    from . import batch, report
    from . import impact as book_impact
    try:
        kinds = [book_impact.check_kind(kind) for kind in args.fail_on or ()]
    except ValueError as error:
        raise UsageError(f"--fail-on: {error}") from None
    segments = dict(book_impact.DEFAULT_SEGMENTS)
    for item in args.segment or ():
        name, equals, paths = item.partition("=")
        if not equals or not name or not paths or name in ("product", "band", "cause"):
            raise UsageError(f"--segment {item}: expected NAME=FIELD[,FIELD...] (e.g. kind=claim.kind)")
        segments[name] = tuple(p.strip() for p in paths.split(","))
    if not args.books:
        raise UsageError("impact needs at least one claims book (.jsonl or .parquet)")
    missing = [path for path in args.books if not os.path.isfile(path)]
    if missing:
        raise UsageError(f"{', '.join(missing)}: no such file")
    books, sources = [], []
    for spec in (args.baseline, args.candidate):
        source, loaded = _read_source(spec, stderr)
        if loaded is None:
            return EXIT_USAGE
        books.append(ProductBook(loaded.products, tuple(loaded.problems)))
        sources.append(source)
    progress = batch.Progress(stderr, book_impact.book_bytes(args.books) or None)
    try:
        result = book_impact.replay(books[0], books[1], args.books, jobs=args.jobs or batch.default_jobs(),
                                    top=max(args.top, 50 if args.html else 0), segments=segments,
                                    progress=progress.update, decide_unchanged=args.decide_unchanged)
    except ClaimFileError:
        progress.close()
        raise
    except ImportError as error:
        progress.close()
        raise UsageError(f"a Parquet book needs pyarrow: pip install 'policyconf[parquet]' ({error})") from None
    except Exception as error:
        if type(error).__name__ != "BookError":
            raise
        progress.close()
        raise UsageError(str(error)) from None
    progress.close()
    result.labels = {"baseline": args.baseline, "candidate": args.candidate}
    result.identical = sources[0].content_digest == sources[1].content_digest
    if args.format == "json":
        document = result.to_dict()
        document["top"] = document["top"][:args.top]
        stdout.write(dumps(document, indent=2) + "\n")
    else:
        stdout.write(report.render_text(result, top=args.top))
    if args.html:
        try:
            with open(args.html, "w", encoding="utf-8") as handle:
                handle.write(report.render_html(result))
        except OSError as error:
            raise UsageError(f"--html {args.html}: {error.strerror}") from None
    status = EXIT_OK
    if result.identical and result.changed:
        stderr.write(f"policyconf: the same products on both sides changed {result.changed} claims\n")
        status = EXIT_PROBLEMS
    for kind in kinds:
        count = result.count(kind)
        if count:
            stderr.write(f"policyconf: --fail-on {kind}: {count:,} claim{'s' if count != 1 else ''}\n")
            status = EXIT_PROBLEMS
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="policyconf", description="Declarative insurance products: "
                                     "validate product files, evaluate claims against them.")
    parser.add_argument("--version", action="version", version=f"policyconf {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    validate = commands.add_parser("validate", help="check product files (default: products/)")
    validate.add_argument("paths", nargs="*", metavar="PATH", help="product files or directories")
    validate.add_argument("--format", choices=("text", "json", "github"), default="text",
                          help="text (default), json, or github (workflow annotations)")
    evaluate = commands.add_parser("evaluate", help="evaluate claims against the products")
    evaluate.add_argument("claims", nargs="*", metavar="CLAIM",
                          help="claim files: .json or .yaml (one claim or a list), .jsonl (one per line), .parquet "
                               "(a claims book), - for stdin")
    evaluate.add_argument("--products", default="products", metavar="DIR", help="product directory (default: products/)")
    evaluate.add_argument("--format", choices=("text", "json", "jsonl"),
                          help="text (default on a terminal), json, or jsonl (default otherwise)")
    evaluate.add_argument("--log", metavar="FILE",
                          help="append one JSON line per decision to FILE (the decision log; no personal data)")
    evaluate.add_argument("--log-key-env", metavar="VAR",
                          help="name of an environment variable holding the key of the log's input hash (HMAC)")
    evaluate.add_argument("--output", metavar="PATH",
                          help="write the decisions to PATH, not stdout, in the format its suffix names: .parquet "
                               "(decisions as columns) or .jsonl")
    evaluate.add_argument("--jobs", type=int, metavar="N",
                          help="worker processes for .jsonl batches (default: one per core)")
    test = commands.add_parser("test", help="run the example claims kept beside the products (*.tests.yaml)")
    test.add_argument("paths", nargs="*", metavar="PATH", help="test files or directories (default: products/)")
    test.add_argument("--products", metavar="DIR", help="product directory (default: each test file's own)")
    test.add_argument("--coverage", action="store_true",
                      help="report which rules, events, documents, bands and table rows no case exercised")
    test.add_argument("--fail-under", type=_percentage, metavar="N",
                      help="fail when coverage is under N percent (0 to 100); with --mutate, when a product's "
                           "mutation score is")
    test.add_argument("--mutate", action="store_true",
                      help="mutation testing: change the product's numbers, comparisons, rules, events, tables, "
                           "bands, defaults and required fields one at a time, and report each change no case "
                           "catches")
    test.add_argument("--jobs", type=int, metavar="N",
                      help="with --mutate: worker processes (default: one per core)")
    test.add_argument("-k", dest="select", metavar="PATTERN",
                      help="run only the cases whose name, file or product contains PATTERN (any case); "
                           "words combine with and, or, not: -k \"excess and not day 184\"")
    test.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failing case")
    test.add_argument("--update", action="store_true",
                      help="rewrite the expectations of failing cases in their file, after a deliberate change")
    test.add_argument("--format", choices=("text", "github"), default="text",
                      help="text (default), or github (a workflow annotation per failing case)")
    test.add_argument("--color", choices=("auto", "yes", "no"), default="auto",
                      help="colour the report: auto (default: on a terminal, unless NO_COLOR is set), yes, no")
    verify = commands.add_parser("verify", help="check the products' invariants on generated claims")
    verify.add_argument("product_ids", nargs="*", metavar="PRODUCT", help="product ids (default: every product)")
    verify.add_argument("--products", default="products", metavar="DIR", help="product directory (default: products/)")
    verify.add_argument("--claims", type=int, default=10_000, metavar="N",
                        help="claims to decide and check per product version (default: 10,000)")
    verify.add_argument("--seed", type=int, help="a seed for the generator (default: a fixed one, repeatable)")
    serve = commands.add_parser("serve", help="serve the products over HTTP (JSON; OpenAPI at /openapi.json)")
    serve.add_argument("--products", default="products", metavar="DIR", help="product directory (default: products/)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default: 8080)")
    serve.add_argument("--reload-interval", type=float, default=1.0, metavar="SECONDS",
                       help="how often to check the product files for changes (default: 1.0)")
    serve.add_argument("--settle", type=float, default=1.0, metavar="SECONDS",
                       help="how long changed product files must stay the same before they are loaded (default: 1.0)")
    serve.add_argument("--body-memory", type=int, default=512, metavar="MIB",
                       help="memory all request bodies may hold at once, read and parsed (default: 512)")
    serve.add_argument("--header-timeout", type=float, default=10.0, metavar="SECONDS",
                       help="time a request's headers may take to arrive, else 408 (default: 10)")
    serve.add_argument("--body-timeout", type=float, default=20.0, metavar="SECONDS",
                       help="time a request's body may take to arrive after its headers, else 408 (default: 20)")
    diff = commands.add_parser("diff", help="what changed between two sets of products, section by section")
    diff.add_argument("old", metavar="OLD", help="product file or folder, or either at a git revision (products@HEAD~1)")
    diff.add_argument("new", metavar="NEW", help="the same, changed")
    diff.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")
    diff.add_argument("--exit-code", action="store_true", help="exit 1 when there are changes (as git diff --exit-code)")
    impact = commands.add_parser("impact", help="replay a claims book under two sets of products: what would change")
    impact.add_argument("books", nargs="*", metavar="BOOK", help="claims books: .jsonl (one claim a line) or .parquet")
    impact.add_argument("--baseline", required=True, metavar="OLD",
                        help="the products today: a folder or file, or either at a git revision (products@main)")
    impact.add_argument("--candidate", required=True, metavar="NEW", help="the products changed")
    impact.add_argument("--format", choices=("text", "json"), default="text", help="text (default) or json")
    impact.add_argument("--html", metavar="FILE", help="also write the report as one self-contained HTML page")
    impact.add_argument("--fail-on", action="append", metavar="KIND",
                        help="exit 1 when any claim changed so: any, outcome, payout, payout-up, payout-down, errors, "
                        "or FROM->TO (approved->declined, *->invalid); may be given several times")
    impact.add_argument("--top", type=int, default=10, metavar="N", help="changed claims to show (default: 10)")
    impact.add_argument("--segment", action="append", metavar="NAME=FIELD",
                        help="another segment, read from a claim field (kind=claim.kind); event and country are there")
    impact.add_argument("--jobs", type=int, metavar="N", help="worker processes (default: one per core)")
    impact.add_argument("--decide-unchanged", action="store_true",
                        help="decide a claim twice even when its product is the same on both sides")
    return parser


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None,
         stdin: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    stdin = stdin or sys.stdin
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:
        return EXIT_USAGE if exit.code else EXIT_OK
    try:
        if args.command == "validate":
            return validate_command(args, stdout, stderr)
        if args.command == "evaluate":
            from .claim_reader import StdinReader     # imported here: `validate` and `test` read no claims
            return evaluate_command(args, stdout, stderr, StdinReader(stdin))
        if args.command == "test":
            return test_command(args, stdout, stderr)
        if args.command == "verify":
            return verify_command(args, stdout, stderr)
        if args.command == "impact":
            return impact_command(args, stdout, stderr)
        if args.command == "diff":
            return diff_command(args, stdout, stderr)
        if args.command == "serve":
            from .serve import serve_command      # imported here: uvicorn is an optional extra
            return serve_command(args, stderr)
        parser.print_help(stderr)
        return EXIT_USAGE
    except (UsageError, ClaimFileError) as error:
        stderr.write(f"policyconf: {error}\n")
        return EXIT_USAGE
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
