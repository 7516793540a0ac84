"""Reading claims: JSON, YAML, JSON lines and Parquet books in, one `ClaimInput` (a claim, or why it
could not be read) out per claim; and the decision or error object each one gets.

The library's one reader, shared by every face: the command line (files, standard input), the
batch workers (JSON lines) and the HTTP service (bodies). What it guarantees, for every source:

* numbers with a fraction are `Decimal`, never float; integers of more than 4,000 digits are
  refused before Python parses them;
* read fast (msgspec, in C) where a cheap exact check vouches for the result, and otherwise by
  the exact reader (`json` with our hooks), whose value or error is then the answer: see
  `fast_json` for why the two always agree;
* NaN and infinities, duplicate keys, and lone surrogates (`"\\ud800"`: valid JSON syntax, but no
  character, so nothing could write it back out) are unreadable input, not values;
* a JSON lines source is read line by line: a bad line is that line's error, named by its
  number (`claims.jsonl:3:17: invalid JSON: ...`), and the next line is still read; a line that
  is not UTF-8 is an error of that line only; a BOM at the start is dropped; U+2028 and U+2029
  are characters inside a line, never line ends;
* a line of more than `MAX_LINE_BYTES` (1 MiB, the HTTP service's limit for one claim) is that
  line's error, read past in pieces of bounded size and never held whole: memory stays flat
  whatever a line's length;
* standard input is sniffed: a JSON document, JSON lines (streamed), or YAML.

A source that cannot be read at all (no such file, a name that is not a claim file) raises
`ClaimFileError`: that is the caller's mistake, not a bad claim.
"""
from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, Iterator

import msgspec

from . import errors as E
from .product_book import ProductBook, claim_id_of
from .errors import ClaimError, ClaimFileError, ProductError
from .yaml_reader import decode, load_document

MAX_CLAIM_BYTES = 16 * 1024 * 1024      # a .json or .yaml claim file (a .jsonl file is read line by line)
MAX_LINE_BYTES = 1024 * 1024            # a line of JSON lines, its final newline not counted (serve's MAX_BODY)
_SKIP_PIECE = 1024 * 1024               # a line over the limit is read past in pieces of this size
_MAX_DIGITS = 4000                      # an integer longer than this is refused, unparsed
_BAD_UTF8 = "\x00not-utf8:"             # marks a line that was not UTF-8; the column follows
_TOO_LONG = "\x00too-long"              # marks a line of more than MAX_LINE_BYTES, not read
RANGE_BYTES = 512 * 1024                # a byte range of a .jsonl file, as a batch worker reads it


class ClaimInput:
    """One claim as read: the document, or the error that kept it from being read."""
    __slots__ = ("claim", "error")

    def __init__(self, claim=None, error: ClaimError | None = None):
        self.claim = claim
        self.error = error


# -- JSON with exact decimals ------------------------------------------------------------------
def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _no_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key '{key}'")
        result[key] = value
    return result


def _decimal(text: str) -> Decimal:
    """A number with a fraction or an exponent, exactly; one whose exponent no Decimal can hold
    (`1E999999999999999999999`) is refused in our words, not left to escape as InvalidOperation."""
    try:
        return Decimal(text)
    except ArithmeticError:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise ValueError(f"the number {shown} is out of range") from None


def _integer(text: str) -> int:
    if len(text) > _MAX_DIGITS:
        raise ValueError(f"a number of {len(text):,} digits")
    return int(text)


class LoneSurrogateError(ValueError):
    """A string (or a key) that holds half of a UTF-16 surrogate pair: valid JSON syntax (`"\\ud800"`),
    but no character, so no UTF-8 writer (stdout, the decision log, an HTTP response) can write it."""

    def __init__(self, path: str, code_point: int, key: bool):
        self.path = path
        where = f"a key of {path}" if key else path
        super().__init__(f"{where} holds a lone surrogate (\\u{code_point:04x}), which is not a character")


# a \u escape in the surrogate range, or a surrogate itself (text decoded with surrogateescape)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_SHOWN_PATH = 200


def _lone_surrogate(value: Any, path: str) -> LoneSurrogateError | None:
    """The first string or key of `value` holding a lone surrogate (a pair decodes to one character)."""
    stack = [(value, path)]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            found = _SURROGATE.search(value)
            if found:
                return LoneSurrogateError(path or "the claim", ord(found.group()), key=False)
        elif isinstance(value, dict):
            items = []
            for key, item in value.items():
                found = _SURROGATE.search(key)
                if found:
                    return LoneSurrogateError(path or "the claim", ord(found.group()), key=True)
                items.append((item, _shown(f"{path}.{key}" if path else key)))
            stack.extend(reversed(items))
        elif isinstance(value, list):
            stack.extend(reversed([(item, _shown(f"{path}[{i}]")) for i, item in enumerate(value)]))
    return None


def _shown(path: str) -> str:
    return path if len(path) <= _MAX_SHOWN_PATH else path[:_MAX_SHOWN_PATH] + "..."


# -- the fast path --------------------------------------------------------------------------------
_DECODE = msgspec.json.Decoder(float_hook=Decimal).decode      # a fraction or exponent: Decimal(its text)
_ENCODE = msgspec.json.Encoder().encode
_COUNTED = bytes(range(256)).translate(None, b":{[\\")       # delete every byte but : { [ and backslash
_UNSURE_ESCAPE = re.compile(rb"\\u(?:[dD][89a-fA-F]|003[aA])")  # a surrogate, or a colon written \u003a
_LONG_DIGITS = re.compile(rb"[0-9]{%d}" % _MAX_DIGITS)
_FAST_NESTING = 200             # opening brackets a line may hold for the fast path (see fast_json)
_FAST_BYTES = 256 * 1024        # a longer text goes to the exact reader (see fast_json)
UNSURE = object()               # what fast_json gives when it cannot vouch for a text


def fast_json(data: bytes | str) -> Any:
    """The value of JSON `data` exactly as `parse_json` gives it, or `UNSURE` when the fast reader
    cannot vouch for it (then `parse_json`'s exact reader decides: the value, or the error).

    msgspec reads JSON in C, numbers with a fraction or an exponent as `Decimal` of their text,
    and refuses NaN, infinities, control characters, bad escapes and lone surrogates as the exact
    reader does. Where the two could differ, this looks first, cheaply, and hands over:

    * duplicate keys, which msgspec keeps the last of: the value is written back out (msgspec, in
      C) and its colons counted. In the text, every key has one colon after it and the others are
      characters of strings; written back, the same, for the keys and strings that were kept (a
      colon is always written as itself). Unless the text spells a colon `\\u003a`, every colon of
      a kept string was one in the text, so the counts are equal exactly when no key was dropped:
      a dropped duplicate takes its colon (and its value's) with it. A text spelling `\\u003a` goes
      to the exact reader;
    * not UTF-8: bytes that are not ASCII are decoded first (str: encoded, which a lone surrogate
      fails);
    * a `\\u` escape of a surrogate: to the exact reader (it names where it is, or keeps it);
    * a run of 4,000 digits (an integer the exact reader may refuse by its length);
    * nesting: the exact reader's limit is Python's recursion limit less the caller's depth,
      msgspec's its own; a text of more than 200 opening brackets goes to the exact reader (one of
      fewer nests less deep than either limit, for any caller less than 700 frames deep);
    * memory: the check holds the text's bytes and the value written back beside the value, two
      copies the exact reader does not make; a text of more than 256 KiB (a claim is a few KiB)
      goes to the exact reader, so that what the HTTP service counts before parsing a body
      (`serve.BodyCost`) still bounds what parsing it takes.
    """
    if len(data) > _FAST_BYTES:
        return UNSURE
    if type(data) is str:
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError:
            return UNSURE
    elif not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return UNSURE
    kept = data.translate(None, _COUNTED)
    colons = kept.count(b":")
    escapes = kept.count(b"\\")
    if len(kept) - colons - escapes > _FAST_NESTING:
        return UNSURE
    if escapes and _UNSURE_ESCAPE.search(data):
        return UNSURE
    if len(data) >= _MAX_DIGITS and _LONG_DIGITS.search(data):
        return UNSURE
    try:
        value = _DECODE(data)
        again = _ENCODE(value)
    except (msgspec.MsgspecError, ValueError, TypeError, ArithmeticError, RecursionError):
        return UNSURE
    if again != data and again.count(b":") != colons:
        return UNSURE
    return value


def parse_json(text: str, *, lone_surrogates: bool = False) -> Any:
    """JSON with exact decimals: numbers with a fraction become Decimal, never float.

    Raises ValueError (json.JSONDecodeError with a position, or our own words for NaN, a
    duplicate key, an integer of thousands of digits, a lone surrogate: `LoneSurrogateError`)
    or RecursionError (nested too deeply). The walk looking for a lone surrogate is only made
    when the text has a `\\u` escape in the surrogate range (or a surrogate itself).
    `lone_surrogates=True` leaves them in (a document of many claims, whose reader refuses each
    claim holding one with `lone_surrogate`, and decides the others).

    `fast_json` reads it first; the exact reader only what that cannot vouch for.
    """
    value = fast_json(text)
    if value is not UNSURE:
        return value
    return exact_json(text, lone_surrogates=lone_surrogates)


def exact_json(text: str, *, lone_surrogates: bool = False) -> Any:
    """`parse_json` without the fast path: `json.loads` with our hooks (what the fast path is checked against)."""
    value = json.loads(text, parse_float=_decimal, parse_int=_integer, parse_constant=_reject_constant,
                       object_pairs_hook=_no_duplicates)
    if not lone_surrogates and may_hold_surrogates(text):
        error = _lone_surrogate(value, "")
        if error is not None:
            raise error
    return value


def may_hold_surrogates(text: str) -> bool:
    """Whether JSON `text` may hold a lone surrogate (if not, no walk of its values is needed)."""
    return bool(("\\u" in text and _SURROGATE_ESCAPE.search(text)) or (not text.isascii() and _SURROGATE.search(text)))


def lone_surrogate(value: Any) -> LoneSurrogateError | None:
    """The first string or key of a parsed `value` holding a lone surrogate, or None."""
    return _lone_surrogate(value, "")


# -- claims from files and standard input ---------------------------------------------------------
def _unreadable(where: str, message: str) -> ClaimInput:
    return ClaimInput(error=ClaimError(E.CLAIM_UNREADABLE, f"{where}: {message}", None))


def _unreadable_at(error: ProductError) -> ClaimInput:
    """A text that could not be read (not UTF-8, not YAML): its first problem, with its position."""
    problem = error.problems[0]
    return _unreadable(f"{problem.file}:{problem.line}:{problem.column}", problem.message)


def _json_error(where: str, error: Exception) -> ClaimInput:
    if isinstance(error, json.JSONDecodeError):
        return _unreadable(f"{where}:{error.lineno}:{error.colno}", f"invalid JSON: {error.msg}")
    if isinstance(error, RecursionError):
        return _unreadable(where, "invalid JSON: nested too deeply")
    if isinstance(error, LoneSurrogateError):
        return _unreadable(where, str(error))
    return _unreadable(where, f"invalid JSON: {error}")


def _documents(value) -> Iterator[ClaimInput]:
    """A document holds one claim, or a list of claims."""
    if isinstance(value, list):
        for item in value:
            yield ClaimInput(item)
    else:
        yield ClaimInput(value)


def claim_file_kind(path: str) -> str | None:
    """"json", "jsonl", "parquet" or "yaml" by the file's name; None for a name that is not a claim file."""
    lower = path.lower()
    if lower.endswith(".jsonl"):
        return "jsonl"
    if lower.endswith(".parquet"):
        return "parquet"
    if lower.endswith((".yaml", ".yml")):
        return "yaml"
    return "json" if lower.endswith(".json") else None


def read_claims(path: str, stdin: "StdinReader | None" = None) -> Iterator[ClaimInput]:
    """Claims from one source: a .json/.yaml file (one claim or a list), a .jsonl file, or - (stdin)."""
    if path == "-":
        try:
            text = stdin.read_all()
        except ProductError as error:
            yield _unreadable_at(error)
            return
        yield from _read_text(text, "<stdin>", _sniff(text))
        return
    kind = claim_file_kind(path)
    if kind is None:
        raise ClaimFileError(f"{path}: not a claim file (expected .json, .jsonl, .parquet, .yaml or -)")
    if kind == "jsonl":
        for where, number, line in read_jsonl_file(path):
            item = jsonl_line(line, where, number)
            if item is not None:
                yield item
        return
    if kind == "parquet":
        yield from _parquet_claims(path)
        return
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_CLAIM_BYTES + 1)
    except OSError as error:
        raise ClaimFileError(f"{path}: {error.strerror}") from None
    if len(raw) > MAX_CLAIM_BYTES:
        yield _unreadable(path, f"larger than {MAX_CLAIM_BYTES} bytes")
        return
    try:
        text = decode(raw, path)
    except ProductError as error:
        yield _unreadable_at(error)
        return
    yield from _read_text(text, path, kind)


def _parquet_claims(path: str) -> Iterator[ClaimInput]:
    """The claims of a Parquet book, a record batch at a time (`book_io`: a bad row is that row's
    error, `book.parquet:row 7: ...`); a book that cannot be read at all is a `ClaimFileError`."""
    try:
        from . import book_io
    except ImportError:
        raise ClaimFileError(f"{path}: reading Parquet needs pyarrow: pip install 'policyconf[parquet]'") from None
    try:
        for _, item in book_io.read_claims(path):
            yield item
    except book_io.BookError as error:
        raise ClaimFileError(str(error)) from None


def _sniff(text: str) -> str:
    """Standard input: a JSON document, JSON lines, or YAML."""
    stripped = text.lstrip()
    if not stripped.startswith(("{", "[")):
        return "yaml"
    try:
        parse_json(text)
        return "json"
    except LoneSurrogateError:
        return "json"                       # one document, whose error is that surrogate
    except (ValueError, RecursionError):
        pass
    lines = [line for line in text.split("\n") if line.strip()]
    return "jsonl" if len(lines) > 1 else "json"


def _read_text(text: str, where: str, kind: str) -> Iterator[ClaimInput]:
    if kind == "jsonl":
        for number, line in enumerate(text.split("\n"), 1):     # not splitlines(): U+2028 is not a line end
            if len(line) > MAX_LINE_BYTES // 4 and len(line.encode("utf-8", "surrogatepass")) > MAX_LINE_BYTES:
                line = _TOO_LONG                                   # as when the lines are streamed
            item = jsonl_line(line, where, number)
            if item is not None:
                yield item
        return
    if kind == "json":
        try:
            value = parse_json(text)
        except (ValueError, RecursionError) as error:
            yield _json_error(where, error)
            return
        yield from _documents(value)
        return
    try:
        document = load_document(text, where)
    except ProductError as error:
        yield _unreadable_at(error)
        return
    yield from _documents(document.data)


# -- JSON lines ------------------------------------------------------------------------------------
def jsonl_line(line: str, where: str, number: int) -> ClaimInput | None:
    """The claim on line `number` of `where`, or its error; None for a blank line (skipped)."""
    if line.startswith(_TOO_LONG):
        return _unreadable(f"{where}:{number}", f"line {number} is larger than {MAX_LINE_BYTES} bytes")
    line = line.rstrip("\r\n")
    if not line.strip():
        return None
    if line.startswith(_BAD_UTF8):
        return _unreadable(f"{where}:{number}", f"not UTF-8 (byte {line[len(_BAD_UTF8):]} of the line)")
    try:
        value = parse_json(line)
    except json.JSONDecodeError as error:
        return _unreadable(f"{where}:{number}:{error.colno}", f"invalid JSON: {error.msg}")
    except (ValueError, RecursionError) as error:
        return _json_error(f"{where}:{number}", error)
    if not isinstance(value, dict):
        return ClaimInput(error=ClaimError(E.CLAIM_NOT_OBJECT, f"{where}:{number}: a claim must be an object", None))
    return ClaimInput(value)


def jsonl_bytes(raw: bytes | None, where: str, number: int) -> ClaimInput | None:
    """`jsonl_line` of a line as its bytes (None: a line of more than MAX_LINE_BYTES, not read):
    the same claim or error, read without decoding it first when `fast_json` vouches for it."""
    if raw is not None:
        value = fast_json(raw)
        if type(value) is dict:
            return ClaimInput(value)
    return jsonl_line(_TOO_LONG if raw is None else _decode_line(raw, number), where, number)


def _decode_line(raw: bytes, number: int) -> str:
    """A line's bytes as text; a line that is not UTF-8 is marked, for `jsonl_line` to report."""
    try:
        return raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as error:
        return _BAD_UTF8 + str(error.start + 1)


def _whole(raw) -> bool:
    """Whether `raw`, read with readline(MAX_LINE_BYTES + 1), is a whole line (not one over the limit)."""
    return len(raw) <= MAX_LINE_BYTES or raw.endswith(b"\n" if isinstance(raw, bytes) else "\n")


def _skip_line(handle) -> None:
    """Read past the rest of a line, a bounded piece at a time."""
    newline = None
    while True:
        piece = handle.readline(_SKIP_PIECE)
        if not piece:
            return
        newline = newline or (b"\n" if isinstance(piece, bytes) else "\n")
        if piece.endswith(newline):
            return


def _bounded_lines(handle) -> Iterator:
    """Each line of `handle` (bytes; text from a text stream, its limit then in characters), or
    None for a line of more than MAX_LINE_BYTES: at most MAX_LINE_BYTES + 1 of it is ever held."""
    while True:
        raw = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        if _whole(raw):
            yield raw
        else:
            del raw
            _skip_line(handle)
            yield None


def read_jsonl_file(path: str) -> Iterator[tuple[str, int, str]]:
    """(where, line number, text) for each line of a .jsonl file, read as bytes line by line."""
    try:
        handle = open(path, "rb")
    except OSError as error:
        raise ClaimFileError(f"{path}: {error.strerror}") from None
    with handle:
        for number, raw in enumerate(_bounded_lines(handle), 1):
            yield path, number, _TOO_LONG if raw is None else _decode_line(raw, number)


# -- byte ranges of a .jsonl file, for batch workers that read their own --------------------------
def jsonl_ranges(path: str, size: int = RANGE_BYTES) -> Iterator[tuple[str, int, int, int]]:
    """(path, start, end, number of its first line) for consecutive byte ranges of a file, each of
    about `size` bytes and ending just after a newline (the last: at the end of the file).

    The file is read a block of `size` at a time, never more: a line longer than a block (one
    over MAX_LINE_BYTES, say) makes a longer range, which `read_jsonl_range` reads line by line."""
    try:
        handle = open(path, "rb")
    except OSError as error:
        raise ClaimFileError(f"{path}: {error.strerror}") from None
    with handle:
        start = at = 0
        number = 1
        while True:
            block = handle.read(size)
            if not block:
                if at > start:
                    yield path, start, at, number
                return
            cut = block.rfind(b"\n")
            if cut >= 0:
                yield path, start, at + cut + 1, number
                number += block.count(b"\n")
                start = at + cut + 1
            at += len(block)


def read_jsonl_range(path: str, start: int, end: int, first: int) -> list[tuple[str, int, str]]:
    """The (where, line number, text) lines of a byte range of a file, as `read_jsonl_file` gives
    them (their newline left out): decoded as UTF-8 (a line that is not is marked as that line's error, a BOM dropped at
    the start of the file), and a line over MAX_LINE_BYTES marked as too long, never held whole."""
    with open(path, "rb") as handle:
        handle.seek(start)
        if end - start <= 4 * RANGE_BYTES:
            pieces = handle.read(end - start).split(b"\n")
            if pieces[-1] == b"":
                pieces.pop()                # the range ends with a newline (not a blank last line)
            return [(path, number, _TOO_LONG if len(raw) > MAX_LINE_BYTES else _decode_line(raw, number))
                    for number, raw in enumerate(pieces, first)]
        lines = []                          # a line longer than a few ranges: read a line at a time
        for number, raw in enumerate(_bounded_lines(_Bounded(handle, end - start)), first):
            lines.append((path, number, _TOO_LONG if raw is None else _decode_line(raw.removesuffix(b"\n"), number)))
        return lines


class _Bounded:
    """`readline(limit)` of a file, stopping at `left` bytes from where it stands."""
    __slots__ = ("handle", "left")

    def __init__(self, handle, left: int):
        self.handle = handle
        self.left = left

    def readline(self, limit: int) -> bytes:
        if self.left <= 0:
            return b""
        raw = self.handle.readline(min(limit, self.left))
        self.left -= len(raw)
        return raw



class StdinReader:
    """Standard input, read as bytes where it can be: each line is decoded as UTF-8 on its own,
    so that a bad byte is that line's error (not a crash, not a made-up character), and a BOM
    at the start is dropped."""

    def __init__(self, stream):
        self.source = getattr(stream, "buffer", None) or stream
        self.peeked = None                  # the first line (or its first MAX_LINE_BYTES + 1), if peeked at

    def _decode(self, raw, number: int) -> str:
        if isinstance(raw, bytes):
            return _decode_line(raw, number)
        return raw.lstrip("\ufeff") if number == 1 else raw

    def _lines(self) -> Iterator:
        peeked, self.peeked = self.peeked, None
        if peeked is not None:
            if _whole(peeked):
                yield peeked
            else:
                del peeked
                _skip_line(self.source)
                yield None
        yield from _bounded_lines(self.source)

    def lines(self) -> Iterator[tuple[str, int, str]]:
        """(where, line number, text) for each line; a line over MAX_LINE_BYTES is not read."""
        for number, raw in enumerate(self._lines(), 1):
            yield "<stdin>", number, _TOO_LONG if raw is None else self._decode(raw, number)

    def is_jsonl(self) -> bool:
        """Peek at the first line: JSON lines (a whole object on it, or bytes that are not UTF-8) are streamed.

        A first line over MAX_LINE_BYTES is JSON lines when it starts as an object (and that line's
        error is its size); otherwise it begins a document, read whole."""
        first = self.source.readline(MAX_LINE_BYTES + 1)
        self.peeked = first if first else None
        if first and not _whole(first):
            if isinstance(first, bytes):
                return first.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"{")
            return first.removeprefix("\ufeff").lstrip().startswith("{")
        line = self._decode(first, 1)
        if line.startswith(_BAD_UTF8):
            return True
        stripped = line.strip()
        if stripped.startswith("{") and stripped.endswith("}"):
            try:
                return isinstance(parse_json(stripped), dict)
            except LoneSurrogateError:
                return True                 # an object (the line's error is its surrogate)
            except (ValueError, RecursionError):
                return False
        return False

    def read_all(self) -> str:
        """Everything left, as text (ProductError with a position if it is not UTF-8)."""
        peeked, self.peeked = self.peeked, None
        rest = self.source.read()
        data = rest if peeked is None else peeked + rest
        if isinstance(data, bytes):
            return decode(data, "<stdin>")
        return data.lstrip("\ufeff")


# -- each claim to its decision or its error object -------------------------------------------------
def decide_claim(book: ProductBook, claim: Any, where: str | None = None) -> dict:
    """The decision document of `claim`, or the error object in its place: never raises for bad input.

    `book.decide` already turns invalid input into its error object; what is left is a claim
    nested so deeply (built in Python, or read from YAML) that deciding it exhausts the stack.
    `where` (`claims.jsonl:7`) begins that error's message, as it begins a bad line's.
    """
    try:
        return book.decide(claim)
    except RecursionError:
        return _too_deep(claim, where)


def evaluate_claim(book: ProductBook, claim: Any, where: str | None = None, number: int | None = None):
    """`decide_claim`, the decision kept a `Decision` (its trace rendered, so that writing it cannot
    fail): what the batch writes directly (`Decision.to_json`). The error object for bad input.
    `number`, when given, is the line of `where` (the message's `where:number` is made only if needed)."""
    try:
        decision = book.evaluate(claim)
        decision.trace
        return decision
    except ClaimError as error:
        return error.to_dict()
    except RecursionError:
        return _too_deep(claim, where if number is None else f"{where}:{number}")


def _too_deep(claim: Any, where: str | None) -> dict:
    message = f"{where}: claim nested too deeply" if where else "claim nested too deeply"
    return ClaimError(E.CLAIM_UNREADABLE, message, None, claim_id_of(claim)).to_dict()


__all__ = ["MAX_CLAIM_BYTES", "UNSURE", "ClaimFileError", "ClaimInput", "lone_surrogate", "may_hold_surrogates",
           "StdinReader", "claim_file_kind", "decide_claim", "evaluate_claim", "exact_json", "fast_json", "jsonl_bytes",
           "jsonl_line", "jsonl_ranges", "parse_json", "read_claims", "read_jsonl_file", "read_jsonl_range"]
