"""policyconf's engine: load insurance products, evaluate claims against them.

    from engine import load_products
    book = load_products("products/")        # parse, validate and compile once
    decision = book.evaluate(claim_dict)     # thread-safe, no I/O, no global state
    decision.to_dict()                       # the decision document

`load_products` raises `ProductError` (every problem, each with file, line and
column); `evaluate` raises `ClaimError` for invalid input (code, message,
path); `book.decide(claim)` returns the decision or the error object as a dict
and never raises for bad input.
"""
from .audit import AuditLog, canonical_hash
from .book import Loaded, ProductBook, load, load_products
from .decision import Decision
from .errors import ClaimError, Problem, ProductError

__all__ = ["load_products", "load", "Loaded", "ProductBook", "Decision", "ClaimError", "ProductError", "Problem",
           "AuditLog", "canonical_hash"]
