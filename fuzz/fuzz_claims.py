"""Coverage-guided fuzzing of claim validation and evaluation (atheris): `make fuzz`.

An input starting with `{` is read as JSON text. Any other input drives a structured mutation:
an example claim with a few fields set to fuzzed values of any JSON type, so that the fuzzer
spends its time in validation and the rules rather than in the JSON parser. A failing claim is
written out as `crash-claims-<hash>.json`, ready for fuzz/regressions/claims/.
"""
import copy
import hashlib
import json
import pathlib
import sys
from decimal import Decimal

import atheris

with atheris.instrument_imports():
    import harness
    harness.book()

EXAMPLES = [json.loads(p.read_text(), parse_float=Decimal)
            for p in sorted((harness.ROOT / "examples").glob("*.json"))]


def _paths(node, prefix=()):
    for key, value in node.items():
        yield prefix + (key,)
        if isinstance(value, dict):
            yield from _paths(value, prefix + (key,))


PATHS = sorted({path for example in EXAMPLES for path in _paths(example)})


def _value(fdp):
    kind = fdp.ConsumeIntInRange(0, 9)
    if kind == 0:
        return fdp.ConsumeInt(8)
    if kind == 1:
        return fdp.ConsumeFloat()
    if kind == 2:
        return fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 40))
    if kind == 3:
        return fdp.ConsumeBool()
    if kind == 4:
        return None
    if kind == 5:
        return f"{fdp.ConsumeIntInRange(0, 9999):04d}-{fdp.ConsumeIntInRange(0, 13):02d}-{fdp.ConsumeIntInRange(0, 32):02d}"
    if kind == 6:
        return {"amount": fdp.ConsumeUnicodeNoSurrogates(12), "currency": fdp.ConsumeUnicodeNoSurrogates(3)}
    if kind == 7:
        return [_value(fdp) for _ in range(fdp.ConsumeIntInRange(0, 3))]
    if kind == 8:
        return str(Decimal(fdp.ConsumeInt(8)).scaleb(-fdp.ConsumeIntInRange(0, 4)))
    return {}


def one(data: bytes) -> None:
    if data[:1] == b"{":
        harness.check_claim(data)
        return
    fdp = atheris.FuzzedDataProvider(data)
    claim = copy.deepcopy(EXAMPLES[fdp.ConsumeIntInRange(0, len(EXAMPLES) - 1)])
    for _ in range(fdp.ConsumeIntInRange(0, 4)):
        path = PATHS[fdp.ConsumeIntInRange(0, len(PATHS) - 1)]
        node = claim
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node[path[-1]] = _value(fdp)
    try:
        harness.check_claim_object(claim)
    except BaseException:
        text = json.dumps(claim, default=str, ensure_ascii=False)
        name = f"crash-claims-{hashlib.sha1(text.encode()).hexdigest()[:12]}.json"
        pathlib.Path(name).write_text(text)
        raise


if __name__ == "__main__":
    atheris.Setup(sys.argv, one)
    atheris.Fuzz()
