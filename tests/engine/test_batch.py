"""Batches: every core, input order kept, bad lines in place, a summary on stderr."""
import io
import json

from conftest import EXAMPLES, PRODUCTS
from policyconf.engine import cli
from policyconf.engine.batch import Summary


def _batch_file(tmp_path, count):
    claims = [json.dumps(json.loads(p.read_text())) for p in sorted(EXAMPLES.glob("*.json"))]
    lines = []
    for i in range(count):
        if i % 997 == 5:
            lines.append("{not json")
        elif i % 1009 == 7:
            lines.append("[1, 2]")
        else:
            lines.append(claims[i % len(claims)])
    path = tmp_path / "claims.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path, lines


def _run(path, jobs):
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(["evaluate", "--products", str(PRODUCTS), "--format", "jsonl", "--jobs", str(jobs), str(path)],
                      stdout=out, stderr=err)
    return status, out.getvalue().splitlines(), err.getvalue()


def test_worker_pool_gives_the_single_process_output_in_order(tmp_path):
    path, lines = _batch_file(tmp_path, 2500)           # three chunks: the pool is used
    status1, out1, _ = _run(path, 1)
    status2, out2, err2 = _run(path, 2)
    assert status1 == status2 == 1
    assert out1 == out2
    assert len(out2) == len(lines)
    for number, (line, result) in enumerate(zip(lines, out2), 1):
        decided = json.loads(result)
        if line == "{not json":
            assert decided["error"]["code"] == "claim.unreadable"
            assert f"claims.jsonl:{number}:" in decided["error"]["message"]
        elif line == "[1, 2]":
            assert decided["error"]["code"] == "claim.not-an-object"
        else:
            assert decided["claim_id"] == json.loads(line)["claim"]["id"]
    assert "2,500 claims:" in err2 and "6 invalid" in err2


def test_summary_adds_payouts_per_currency():
    summary = Summary()
    summary.add({"outcome": "approved", "payout": {"amount": "1.10", "currency": "EUR"}})
    summary.add({"outcome": "approved", "payout": {"amount": "2.20", "currency": "EUR"}})
    summary.add({"outcome": "declined", "payout": {"amount": "0.00", "currency": "CNY"}})
    summary.add({"claim_id": None, "error": {"code": "x", "message": "y", "path": None}})
    other = Summary()
    other.merge(summary)
    assert other.text() == "4 claims: 2 approved, 1 declined; 1 invalid; payout 0.00 CNY, 3.30 EUR"


def test_streaming_stdin_json_lines(tmp_path):
    path, lines = _batch_file(tmp_path, 30)
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(["evaluate", "--products", str(PRODUCTS), "--format", "jsonl", "-"], stdout=out, stderr=err,
                      stdin=io.StringIO(path.read_text()))
    assert status == 1
    assert len(out.getvalue().splitlines()) == 30


def test_the_batch_writes_each_document_as_the_dict_path_does(tmp_path):
    """The batch writes decisions directly (Decision.to_json); every line is, to the byte, the
    compact JSON of `book.decide` (the document dict), for every golden claim of the products."""
    from golden import make  # noqa: E402 - tests/engine/golden/make.py
    from policyconf import load_products
    from policyconf.engine.jsonio import dumps
    claims = [claim for _, claim, _ in make.read("products")]
    path = tmp_path / "golden.jsonl"
    path.write_text("".join(dumps(claim) + "\n" for claim in claims), encoding="utf-8")
    book = load_products(str(PRODUCTS))
    for jobs in (1, 2):
        _, out, _ = _run(path, jobs)
        assert out == [dumps(book.decide(claim)) for claim in claims]
