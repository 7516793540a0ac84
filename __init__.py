"""policyconf: declarative insurance products, decided claim by claim.

    from policyconf import load_products
    book = load_products("products/")        # parse, validate and compile once (raises ProductError)
    decision = book.evaluate(claim_dict)     # thread-safe, no I/O, no global state (raises ClaimError)
    decision.to_dict()                       # the decision document
    book.decide(claim_dict)                  # the decision or the error object, as a dict; never raises

The repository's top-level folders install as `policyconf.engine` (loading, claim validation,
evaluation, and the faces over them: command line, batches, HTTP service), `policyconf.dsl`
(the expression language) and `policyconf.schemas` (the JSON Schemas, as data).
"""
from __future__ import annotations

__version__ = "0.2.0"

from .dsl.values import Money
from .engine.loader import Loaded, load
from .engine.product_book import ProductBook, load_products
from .engine.decision import Decision
from .engine.errors import ClaimError, Problem, ProductError

__all__ = ["load_products", "load", "Loaded", "ProductBook", "Decision", "Money", "ClaimError", "ProductError",
           "Problem", "AuditLog", "canonical_hash", "__version__"]


def __getattr__(name: str):
    """The decision log's names, imported at first use (`validate` and `test` write no log)."""
    if name in ("AuditLog", "canonical_hash"):
        from .engine import audit
        return getattr(audit, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
