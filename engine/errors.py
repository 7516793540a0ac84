"""Errors a user can cause, each with a stable code.

Two families:

* `Problem` (collected in a `ProductError`): something wrong in a product
  file, with file, line and column.  Loading collects every problem it can
  find and raises them together, sorted by position.
* `ClaimError`: a claim that is not valid input.  It carries the error object
  of the contract: code, message and the path of the offending field.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    column: int
    code: str = field(compare=False)
    message: str = field(compare=False)
    severity: str = field(default="error", compare=False)      # "error" or "warning"
    source_line: str | None = field(default=None, compare=False, repr=False)

    def format(self, with_source: bool = True) -> str:
        """`FILE:LINE:COL: error: CODE: MESSAGE`, then the line and a caret."""
        head = f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.code}: {self.message}"
        if not with_source or self.source_line is None:
            return head
        line = self.source_line.rstrip("\n").replace("\t", " ")
        return f"{head}\n    {line}\n    {' ' * (self.column - 1)}^"

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "column": self.column, "severity": self.severity,
                "code": self.code, "message": self.message}

    def annotation(self) -> str:
        """The problem as a GitHub Actions workflow command (`::error file=...,line=...::...`)."""
        return annotation("error" if self.severity == "error" else "warning", self.file, self.line,
                          f"{self.code}: {self.message}", title=self.code, column=self.column)


# GitHub's workflow commands (`::error file=F,line=L::MESSAGE`) end at a line end and split their
# properties at `,` and `::`: a file name or message holding one could end the annotation and
# start a command of its own (`::set-output`, `::add-mask`), so they are escaped as GitHub's
# runner unescapes them (actions/toolkit, command.ts: escapeData, escapeProperty).
def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: str, file: str, line: int, message: str, title: str | None = None,
               column: int | None = None) -> str:
    """A GitHub Actions workflow command that puts `message` on `file`'s `line` in a pull request,
    escaped as the runner unescapes it: `%`, CR and LF everywhere, `:` and `,` in properties too."""
    properties = [f"file={_escape_property(file)}", f"line={line}"]
    if column is not None:
        properties.append(f"col={column}")
    if title is not None:
        properties.append(f"title={_escape_property(title)}")
    return f"::{level} {','.join(properties)}::{_escape_data(message)}"


class ProductError(Exception):
    """A product file (or several) could not be loaded.  `problems` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(p.format(with_source=False) for p in self.problems)
                         or "product could not be loaded")

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


class ClaimError(Exception):
    """The claim is not valid input.  Its fields are the contract's error object."""

    def __init__(self, code: str, message: str, path: str | None = None, claim_id: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.path = path
        self.claim_id = claim_id

    def to_dict(self) -> dict:
        return {"claim_id": self.claim_id,
                "error": {"code": self.code, "message": self.message, "path": self.path}}

    def __repr__(self) -> str:
        return f"ClaimError({self.code!r}, {self.message!r}, path={self.path!r})"


class ClaimFileError(Exception):
    """A claim source that cannot be read at all: no such file, or not a claim file by its name."""


# -- stable codes: product files (keep in step with README.md) -------------
YAML_SYNTAX = "yaml.syntax"
YAML_DUPLICATE_KEY = "yaml.duplicate-key"
YAML_TAG = "yaml.tag"
YAML_TOO_LARGE = "yaml.too-large"
YAML_ENCODING = "yaml.encoding"
FILE_UNREADABLE = "file.unreadable"
SCHEMA_UNKNOWN_KEY = "schema.unknown-key"
SCHEMA_MISSING_KEY = "schema.missing-key"
SCHEMA_TYPE = "schema.type"
SCHEMA_VALUE = "schema.value"
REF_UNKNOWN_PRODUCT = "ref.unknown-product"
REF_EXTENDS_CYCLE = "ref.extends-cycle"
REF_BASE_HAS_ERRORS = "ref.base-has-errors"
REF_UNKNOWN_FIELD = "ref.unknown-field"
PRODUCT_DUPLICATE = "product.duplicate-version"
PRODUCT_FIELD = "product.field"
PRODUCT_TABLE = "product.table"
PRODUCT_BANDS = "product.bands"
PRODUCT_EVENTS = "product.events"
PRODUCT_RULE = "product.rule"
PRODUCT_SETTLEMENT = "product.settlement"
PRODUCT_NONE = "product.none"
PRODUCT_DUPLICATE_RULE = "product.duplicate-rule"
PRODUCT_RULE_CONSTANT = "product.constant-rule"
PRODUCT_REDUNDANT_OVERRIDE = "product.redundant-override"
PRODUCT_RATE = "product.rate"
PRODUCT_BOUNDS = "product.bounds"
REF_REPLACES_GROUP = "ref.replaces-group"
REF_UNKNOWN_OVERRIDE = "ref.unknown-override"

# -- stable codes: test files (policyconf test) ------------------------------
REF_UNKNOWN_RULE = "ref.unknown-rule"             # a reason an expectation names is no rule of the product
REF_UNKNOWN_CLAUSE = "ref.unknown-clause"         # a clause no rule of the product has
REF_UNKNOWN_DOCUMENT = "ref.unknown-document"     # a missing document the product does not ask for
REF_UNKNOWN_BENEFIT = "ref.unknown-benefit"       # a benefit section the product does not have
REF_UNKNOWN_KIND = "ref.unknown-settlement-kind"  # a settlement kind the product does not name
REF_UNKNOWN_ITEM = "ref.unknown-item"             # an `unreachable:` item that is not one of the coverage
TEST_UPDATE = "test.update"                       # --update could not rewrite the file

# -- stable codes: claims ----------------------------------------------------
CLAIM_NOT_OBJECT = "claim.not-an-object"
CLAIM_UNKNOWN_PRODUCT = "claim.unknown-product"
CLAIM_NO_VERSION = "claim.no-product-version"
CLAIM_UNKNOWN_FIELD = "claim.unknown-field"
CLAIM_MISSING_FIELD = "claim.missing-field"
CLAIM_TYPE = "claim.type"
CLAIM_INVALID_DATE = "claim.invalid-date"
CLAIM_DATE_ORDER = "claim.date-order"
CLAIM_UNKNOWN_CODE = "claim.unknown-code"
CLAIM_PATTERN = "claim.pattern"
CLAIM_RANGE = "claim.range"
CLAIM_CURRENCY = "claim.currency"
CLAIM_MIXED_CURRENCY = "claim.mixed-currency"
CLAIM_CURRENCY_MISMATCH = "claim.currency-mismatch"
CLAIM_AMOUNT = "claim.amount"
CLAIM_UNREADABLE = "claim.unreadable"
CLAIM_UNEXPECTED_FIELD = "claim.unexpected-field"
CLAIM_DUPLICATE = "claim.duplicate-value"
EVALUATION_ERROR = "evaluation.error"

# -- stable codes: batches (policyconf evaluate of JSON lines) ---------------------
BATCH_WORKER_LOST = "batch.worker-lost"      # the worker deciding a line died, and again when it was tried alone

# -- stable codes: the HTTP service (policyconf serve) ---------------------------
CLAIM_PRODUCT_MISMATCH = "claim.product-mismatch"
REQUEST_NOT_FOUND = "request.not-found"
REQUEST_METHOD = "request.method"
REQUEST_TOO_LARGE = "request.too-large"
REQUEST_MEDIA_TYPE = "request.media-type"
REQUEST_INVALID = "request.invalid"
REQUEST_TIMEOUT = "request.timeout"
SERVICE_NOT_READY = "service.not-ready"
SERVICE_BUSY = "service.busy"
SERVICE_INTERNAL = "service.internal-error"

# -- stable codes: decisions written as columns (Parquet books, Spark) ------------------
OUTPUT_AMOUNT_SCALE = "output.amount-scale"   # an amount with more decimals than a decimal(18, 2) column holds
INTERNAL_ERROR = "internal.error"             # Spark: a claim whose deciding failed unexpectedly, in its row
