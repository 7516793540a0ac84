"""The product book: every loaded product by id and version, deciding claims.

A `ProductBook` is immutable after loading: share it between threads. `evaluate` chooses the
version in effect on the product's version date, validates the claim against that version's
fields and decides it; `decide` returns the decision document or the error object and never
raises for bad input.
"""
from __future__ import annotations

from datetime import date
import threading
from decimal import getcontext, setcontext
from typing import Any, Iterable

from ..dsl.errors import suggest
from ..dsl.runtime import CONTEXT

from . import errors as E
from .claim_validator import clip, parse_date
from .decision import Decision
from .errors import ClaimError, Problem, ProductError
from .trace import hits as trace_hits
from .loader import load, version_on
from .model import Product


class ProductBook:
    """Every loaded product, by id and version.  Immutable; thread-safe; no I/O after loading."""

    def __init__(self, products: dict[str, tuple[Product, ...]], warnings: tuple[Problem, ...] = (),
                 audit=None):
        self._products = {pid: tuple(sorted(chain, key=lambda p: p.effective_from))
                          for pid, chain in products.items()}
        self.warnings = tuple(warnings)
        self.audit = audit            # an engine.audit.AuditLog: one record per decision, or None
        self._single = _single_versions(self._products)

    def with_audit(self, audit) -> "ProductBook":
        """The same products, writing every decision to `audit` (an `engine.audit.AuditLog`)."""
        book = ProductBook.__new__(ProductBook)
        book._products, book.warnings, book.audit = self._products, self.warnings, audit
        book._single = self._single
        return book

    @property
    def ids(self) -> list[str]:
        return sorted(self._products)

    def versions(self, product_id: str) -> tuple[Product, ...]:
        return self._products[product_id]

    def product(self, product_id: str, purchased: date | None = None) -> Product:
        """The version of `product_id` in effect for a policy bought on `purchased` (default: the latest)."""
        chain = self._products[product_id]
        if purchased is None:
            return chain[-1]
        version = version_on(chain, purchased)
        if version is None or (version.effective_until and purchased > version.effective_until):
            raise LookupError(purchased)
        return version

    def evaluate(self, claim: Any, *, hits: set | None = None) -> Decision:
        """Decide one claim.  Raises `ClaimError` (the contract's error object) for invalid input.

        `hits`: a set to collect what the claim exercised (rules, documents, events, bands,
        table rows), for test coverage.
        """
        claim_id = claim_id_of(claim)
        product = None
        try:
            product_id = claim.get("product") if type(claim) is dict else None
            single = self._single.get(product_id) if type(product_id) is str else None
            if single is None:
                product = self._select(claim)
                values, currency = product.validator.validate(claim)
            else:
                # One version, its date field without a default: the version is known, and the date
                # is checked against it once validated (what `_select` would have found, in the
                # same order: a claim that fails validation gets `_select`'s error, if any, first).
                product, path = single
                try:
                    values, currency = product.validator.validate(claim)
                except ClaimError:
                    self._select(claim)
                    raise
                day = values[path] if path is not None else None
                if day is not None and (day < product.effective_from
                                        or (product.effective_until and day > product.effective_until)):
                    self._select(claim)
            saved = getcontext()               # the language's own context, whatever the caller's:
            setcontext(_context())             # a copy per thread (cheaper than `localcontext`)
            try:
                decision = product.code.decide(values, currency or product.currency, claim_id)
            finally:
                setcontext(saved)
            if hits is not None:
                hits.update(trace_hits(decision, values))
        except ClaimError as error:
            error.claim_id = claim_id
            if self.audit is not None:
                self.audit.write(claim, error, product)
            raise
        if self.audit is not None:
            self.audit.write(claim, decision, product)
        return decision

    def decide(self, claim: Any) -> dict:
        """The decision document, or the error object for invalid input: never raises for bad input."""
        try:
            return self.evaluate(claim).to_dict()
        except ClaimError as error:
            return error.to_dict()

    def _select(self, claim: Any) -> Product:
        if type(claim) is not dict:
            raise ClaimError(E.CLAIM_NOT_OBJECT, "a claim must be an object", None)
        product_id = claim.get("product")
        if product_id is None:
            raise ClaimError(E.CLAIM_MISSING_FIELD, "product is required: the id of the product claimed under "
                             f"({', '.join(self.ids)})", "product")
        if type(product_id) is not str or product_id not in self._products:
            hint = suggest(product_id, self._products) if type(product_id) is str and len(product_id) <= 100 else ""
            raise ClaimError(E.CLAIM_UNKNOWN_PRODUCT, f"unknown product '{clip(product_id)}'{hint}"
                             f" (products: {', '.join(self.ids)})", "product")
        chain = self._products[product_id]
        path = chain[-1].version_date               # the same in every version (checked at load)
        raw = _at(claim, path) if path is not None else None
        if raw is None:
            return chain[-1]                # the validator reports the missing date
        day = parse_date(raw, path)
        version = version_on(chain, day)
        if version is None:
            raise ClaimError(E.CLAIM_NO_VERSION, f"{path} {day} is before the first version of "
                             f"{product_id} ({chain[0].effective_from})", path)
        if version.effective_until and day > version.effective_until:
            raise ClaimError(E.CLAIM_NO_VERSION, f"no version of {product_id} is in effect on {day} "
                             f"(version {version.version} ended {version.effective_until})", path)
        return version


_THREAD = threading.local()


def _context():
    """This thread's copy of the language's decimal context (`dsl.runtime.CONTEXT`): made once per
    thread, never shared, so that one thread's flags are never another's."""
    try:
        return _THREAD.context
    except AttributeError:
        _THREAD.context = CONTEXT.copy()
        return _THREAD.context


def _single_versions(products: dict[str, tuple[Product, ...]]) -> dict[str, tuple[Product, str | None]]:
    """The products with one version whose version date has no default: (version, its date field)."""
    single = {}
    for product_id, chain in products.items():
        if len(chain) != 1:
            continue
        product = chain[0]
        path = product.version_date
        spec = next((spec for spec in product.fields if spec.path == path), None) if path is not None else None
        if path is None or (spec is not None and spec.type == "date" and not spec.has_default):
            single[product_id] = (product, path)
    return single


def _at(claim: dict, path: str):
    """The raw value at a dotted path of a claim document, or None."""
    value: Any = claim
    for part in path.split("."):
        if type(value) is not dict:
            return None
        value = value.get(part)
    return value


def claim_id_of(claim: Any) -> str | None:
    if type(claim) is dict:
        inner = claim.get("claim")
        if type(inner) is dict and type(inner.get("id")) is str:
            return inner["id"]
    return None


def load_products(paths: Iterable[str] | str, *, audit=None) -> ProductBook:
    """Parse, validate and compile every product once.  Raises `ProductError` with every problem found.

    `audit`: an `engine.audit.AuditLog`; every decision (and every rejected claim) is written to it.
    """
    loaded = load(paths)
    if loaded.errors:
        raise ProductError(loaded.problems)
    return ProductBook(loaded.products, tuple(loaded.problems), audit)


__all__ = ["ProductBook", "load_products", "claim_id_of"]
