"""Record the golden decisions: `python tests/engine/golden/make.py` (from the repository root).

The decisions of the engine before its generated code replaced the interpreter, kept as the
specification of what every claim gets: every case of every test file, every example claim,
and claims generated from each product's field declarations (hypothesis, derandomized; lists of
records empty, of one and of several elements, date-times, sections), with the document each
got, trace and error objects included. `tests/engine/test_golden_decisions.py` decides them
again and requires the same documents.

Rerun it only for a deliberate change of what decisions say (a new trace wording, a product
changed on purpose), and read what changes first: `--check` prints the claims whose document
would change, and writes nothing. A rerun keeps the generated claims already recorded (and
takes the test-file cases and examples as they are now); `--regenerate` draws new ones.
"""
from __future__ import annotations

import gzip
import json
import pathlib
import sys
from decimal import Decimal

ROOT = pathlib.Path(__file__).resolve().parents[3]
HERE = pathlib.Path(__file__).resolve().parent
GENERATED_PER_PRODUCT = 150


def encode(value):
    """A claim as JSON that reads back exactly: numbers that are Decimals or floats keep their type."""
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, float):
        return {"$float": repr(value)}
    return value


def decode(value):
    if isinstance(value, dict):
        if len(value) == 1 and "$decimal" in value:
            return Decimal(value["$decimal"])
        if len(value) == 1 and "$float" in value:
            return float(value["$float"])
        return {key: decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode(item) for item in value]
    return value


def folders() -> list[tuple[str, pathlib.Path, pathlib.Path]]:
    """(name, products folder, example claims folder)."""
    return [("products", ROOT / "products", ROOT / "examples"),
            ("fixtures", ROOT / "tests" / "fixtures" / "products", ROOT / "tests" / "fixtures" / "claims")]


def file_of(name: str) -> pathlib.Path:
    return HERE / f"{name}.jsonl.gz"


def read(name: str) -> list[tuple[str, dict, dict]]:
    """(what the claim is, the claim, its document) of one folder's golden file."""
    with gzip.open(file_of(name), "rt", encoding="utf-8") as handle:
        return [(entry["what"], decode(entry["claim"]), entry["document"])
                for entry in map(json.loads, handle)]


def claims(products: pathlib.Path, examples: pathlib.Path, kept: list[tuple[str, dict]] | None = None
           ) -> list[tuple[str, dict]]:
    """The cases and examples as they are now, then the generated claims: `kept`, or new ones."""
    from hypothesis import HealthCheck, given, settings

    from policyconf import load_products
    from policyconf.engine import verify
    from policyconf.engine.inheritance import merge_patch
    from policyconf.engine.tester import suite_claims
    from policyconf.engine.yaml_reader import load_file

    found: list[tuple[str, dict]] = []
    for tests in sorted(products.glob("*.tests.yaml")):
        suite = load_file(str(tests)).data
        base = {**(suite.get("base") or {}), "product": suite["product"]}
        for number, case in enumerate(suite["cases"]):
            found.append((f"{tests.name} case {number}: {case.get('name')}", merge_patch(base, case.get("claim") or {})))
    for example in sorted(examples.glob("*.json")):
        found.append((f"example {example.name}", json.loads(example.read_text(encoding="utf-8"), parse_float=Decimal)))
    if kept is not None:
        return found + kept
    book = load_products(str(products))
    for product_id in book.ids:
        product = book.versions(product_id)[-1]
        tests = products / f"{product_id}.tests.yaml"
        generated: list[dict] = []

        @settings(max_examples=GENERATED_PER_PRODUCT, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(verify.claims(product, suite_claims(str(tests)) if tests.exists() else None))
        def collect(claim):
            generated.append(claim)
        collect()
        found += [(f"generated {product_id} {number}", claim) for number, claim in enumerate(generated)]
    return found


def documents(products: pathlib.Path, entries: list[tuple[str, dict]]) -> list[dict]:
    from policyconf import load_products
    book = load_products(str(products))
    return [book.decide(claim) for _, claim in entries]


def main(argv: list[str]) -> int:
    check, regenerate = "--check" in argv, "--regenerate" in argv
    changed = 0
    for name, products, examples in folders():
        recorded = read(name) if file_of(name).exists() else []
        kept = None if regenerate or not recorded else [(what, claim) for what, claim, _ in recorded
                                                         if what.startswith("generated ")]
        entries = claims(products, examples, kept)
        made = documents(products, entries)
        if check:
            old = {json.dumps(encode(claim), sort_keys=True): document for _, claim, document in recorded}
            for (what, claim), document in zip(entries, made):
                before = old.get(json.dumps(encode(claim), sort_keys=True))
                if before != json.loads(json.dumps(document, default=str)):
                    changed += 1
                    print(f"{name}: {what}: {'new claim' if before is None else 'document changes'}")
            continue
        with gzip.GzipFile(file_of(name), "wb", mtime=0) as raw:
            for (what, claim), document in zip(entries, made):
                line = json.dumps({"what": what, "claim": encode(claim), "document": document},
                                  ensure_ascii=False, default=str)
                raw.write(line.encode("utf-8") + b"\n")
        print(f"{file_of(name).relative_to(ROOT)}: {len(entries)} claims")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "tests"))
    sys.exit(main(sys.argv[1:]))
