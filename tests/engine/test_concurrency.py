"""One loaded product book, many threads: the same decisions as a sequential run, claim for claim."""
import copy
import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from conftest import EXAMPLES


def _claims(count: int) -> list[dict]:
    """Thousands of claims: the examples, varied in age, dates, amounts and circumstances."""
    examples = [json.loads(p.read_text(), parse_float=Decimal) for p in sorted(EXAMPLES.glob("*.json"))]
    rng = random.Random(20261121)
    claims = []
    for i in range(count):
        claim = copy.deepcopy(examples[i % len(examples)])
        claim["claim"]["id"] = f"C-{i}"
        if "holder" in claim["policy"]:
            claim["policy"]["holder"]["age"] = rng.randint(16, 80)
            claim["claim"]["days_outside_residence"] = rng.randint(0, 90)
            claim["claim"]["negligence_share"] = str(rng.choice(["0", "0.1", "0.25", "0.5"]))
        else:
            claim["item"]["seats"] = rng.randint(2, 12)
        if rng.random() < 0.05:
            claim["claim"]["typo_field"] = 1            # some invalid input too
        claims.append(claim)
    return claims


def test_eight_threads_decide_exactly_as_one(book):
    claims = _claims(4000)
    sequential = [json.dumps(book.decide(c), default=str, sort_keys=True) for c in claims]
    barrier = threading.Barrier(8)

    def decide(index: int) -> tuple[int, str]:
        return index, json.dumps(book.decide(claims[index]), default=str, sort_keys=True)

    def worker(indices):
        barrier.wait()                      # all eight start together
        return [decide(i) for i in indices]

    slices = [list(range(k, len(claims), 8)) for k in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = dict(pair for part in pool.map(worker, slices) for pair in part)
    assert [parallel[i] for i in range(len(claims))] == sequential
    outcomes = {json.loads(s).get("outcome", "error") for s in sequential}
    assert outcomes == {"approved", "declined", "pending", "referred", "error"}
