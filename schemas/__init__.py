"""JSON Schemas of policyconf's documents, shipped with the package.

`product.schema.json` is the product file format: the loader validates every
product against it, and editors that use the YAML language server read it for
completion and hover text.
"""
from __future__ import annotations

import json
from importlib import resources


def load(name: str = "product.schema.json") -> dict:
    return json.loads(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))
