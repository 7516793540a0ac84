"""JSON Schemas of policyconf's documents, shipped with the package.

`product.schema.json` is the product file format: the loader validates every
product against it, and editors that use the YAML language server read it for
completion and hover text. `product-patch.schema.json` is the same for a product that
`extends` another, `tests.schema.json` the `*.tests.yaml` files. `openapi.json` is the HTTP
service's OpenAPI document (served at /openapi.json; tests/engine/test_openapi.py keeps its
enums and limits in step with the engine).
"""
from __future__ import annotations

import json
from importlib import resources


def load(name: str = "product.schema.json") -> dict:
    return json.loads(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))
