"""Personal data: never in the decision log, the trace or an error message in clear."""
import io
import json
import textwrap
import threading
from datetime import datetime, timezone

from conftest import DELETE
from policyconf import AuditLog, canonical_hash, load_products

VIN = "WBA5R1C05LFH12345"


def test_log_has_one_line_per_decision_and_no_field_values(book, bmw_claim):
    stream = io.StringIO()
    audited = book.with_audit(AuditLog.to_stream(stream, key=b"insurer-secret"))
    claim = bmw_claim()
    decision = audited.evaluate(claim)
    record = json.loads(stream.getvalue())
    assert record["product"] == "bmw-total-loss" and record["version"] == "2019-11-30"
    assert record["product_digest"].startswith("sha256:") and len(record["product_digest"]) == 71
    assert record["claim_id"] == claim["claim"]["id"]
    assert record["outcome"] == "approved" and record["payout"] == decision.payout.to_dict()
    assert record["reasons"] == []
    assert record["input_hash"] == canonical_hash(claim, b"insurer-secret")
    assert datetime.fromisoformat(record["time"].replace("Z", "+00:00")).tzinfo == timezone.utc
    line = stream.getvalue()
    assert VIN not in line and "399000" not in line and "BMW-SVC" not in line


def test_invalid_claims_are_logged_with_their_code(book, bmw_claim):
    stream = io.StringIO()
    audited = book.with_audit(AuditLog.to_stream(stream))
    result = audited.decide(bmw_claim(**{"item.vin": "WBA5R1C05LFH1234O"}))
    assert result["error"]["code"] == "claim.pattern"
    record = json.loads(stream.getvalue())
    assert record["error"] == "claim.pattern" and record["path"] == "item.vin"
    assert "outcome" not in record and "WBA5R1C05LFH1234O" not in stream.getvalue()


def test_the_hash_matches_the_stored_claim_and_only_with_the_key(book, ad_claim):
    claim = ad_claim()
    stored = json.loads(json.dumps(claim))            # the claim as an auditor finds it in storage
    assert canonical_hash(stored, b"k") == canonical_hash(claim, b"k")
    assert canonical_hash(stored, b"k") != canonical_hash(stored, b"other")
    assert canonical_hash(stored).startswith("sha256:")
    changed = ad_claim(**{"claim.repair_cost": {"amount": "189.01", "currency": "EUR"}})
    assert canonical_hash(changed, b"k") != canonical_hash(claim, b"k")


def test_log_lines_stay_whole_under_threads(book, ad_claim):
    stream = io.StringIO()
    audited = book.with_audit(AuditLog.to_stream(stream))
    claims = [ad_claim(**{"claim.id": f"T-{i}"}) for i in range(400)]
    threads = [threading.Thread(target=lambda part=claims[k::8]: [audited.decide(c) for c in part]) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert sorted(r["claim_id"] for r in records) == sorted(f"T-{i}" for i in range(400))


def test_vin_never_in_trace_or_decision(book, bmw_claim):
    for claim in (bmw_claim(), bmw_claim(**{"item.brand": "Audi"}), bmw_claim(**{"claim.replacement": DELETE})):
        assert VIN not in json.dumps(book.decide(claim))


def test_invalid_personal_data_is_not_repeated_in_the_error(book, bmw_claim):
    for bad in ("WBA5R1C05LFH1234", "WBA5R1C05LFH1234I", "wba5r1c05lfh12345"):
        error = book.decide(bmw_claim(**{"item.vin": bad}))["error"]
        assert error["code"] == "claim.pattern" and error["path"] == "item.vin"
        assert bad not in error["message"]


def test_rules_and_definitions_reading_personal_data_are_masked_in_the_trace(tmp_path):
    (tmp_path / "p.yaml").write_text(textwrap.dedent("""\
        id: p
        name: P
        version: "1"
        effective_from: 2024-01-01
        currencies: [EUR]
        fields:
          policy.holder.phone: {type: text, pii: true}
          claim.cost: {type: money}
        definitions:
          hotline: policy.holder.phone == "0800"
          flagged: hotline or claim.cost > 100.00 EUR
        referrals:
          hotline-caller:
            clause: X
            message: Called from the hotline.
            when: flagged and policy.holder.phone != "+40700000000"
        settlement: {kind: repair, payout: claim.cost, excess: 0, depreciation: 0}
        """))
    book = load_products(str(tmp_path))
    decision = book.evaluate({"product": "p", "policy": {"holder": {"phone": "0800"}},
                              "claim": {"cost": {"amount": "5", "currency": "EUR"}}})
    trace = "\n".join(decision.trace)
    assert decision.outcome == "referred"
    assert "0800" not in trace
    assert "hotline = <personal data>" in trace and "flagged = <personal data>" in trace
    assert "policy.holder.phone = <personal data>" in trace


def test_command_line_log_in_input_order_from_every_worker(tmp_path, monkeypatch):
    from conftest import EXAMPLES, PRODUCTS
    from policyconf.engine import cli
    claims = [json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json"))]
    lines = [json.dumps(claims[i % len(claims)]) if i % 500 != 3 else "{broken" for i in range(2200)]
    batch = tmp_path / "claims.jsonl"
    batch.write_text("\n".join(lines) + "\n")
    log = tmp_path / "decisions.log"
    monkeypatch.setenv("POLICYCONF_LOG_KEY", "insurer-secret")
    status = cli.main(["evaluate", "--products", str(PRODUCTS), "--format", "jsonl", "--jobs", "2", "--log", str(log),
                       "--log-key-env", "POLICYCONF_LOG_KEY", str(batch)], stdout=io.StringIO(), stderr=io.StringIO())
    assert status == 1
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(records) == 2200
    for line, record in zip(lines, records):
        if line == "{broken":
            assert record["error"] == "claim.unreadable"
            assert record["input_hash"] == canonical_hash(line, b"insurer-secret")
        else:
            claim = json.loads(line)
            assert record["claim_id"] == claim["claim"]["id"]
            assert record["input_hash"] == canonical_hash(claim, b"insurer-secret")
    assert VIN not in log.read_text()


def _evaluate_with_log(tmp_path, *options: str) -> tuple[int, str]:
    from conftest import EXAMPLES, PRODUCTS
    from policyconf.engine import cli
    err = io.StringIO()
    status = cli.main(["evaluate", "--products", str(PRODUCTS), "--format", "jsonl", "--log", str(tmp_path / "log"),
                       *options, str(EXAMPLES / "bmw-approved-used.json")], stdout=io.StringIO(), stderr=err)
    return status, err.getvalue()


def test_a_log_without_a_key_is_warned_of(tmp_path):
    # An unkeyed input hash is a plain SHA-256: whoever reads the log can hash guesses of a
    # claim whose unknown fields are few (a VIN, a date of birth) and confirm one.
    status, err = _evaluate_with_log(tmp_path)
    assert status == 0
    [warning] = [line for line in err.splitlines() if "warning" in line]
    assert warning.startswith("policyconf: warning: --log without --log-key-env")
    assert "guess" in warning and "a VIN, a date of birth" in warning
    assert "--log-key-env VAR" in warning and "insurer's secret" in warning
    assert (tmp_path / "log").read_text().count('"input_hash":"sha256:') == 1


def test_a_log_with_a_key_is_not_warned_of(tmp_path, monkeypatch):
    monkeypatch.setenv("POLICYCONF_LOG_KEY", "insurer-secret")
    status, err = _evaluate_with_log(tmp_path, "--log-key-env", "POLICYCONF_LOG_KEY")
    assert status == 0
    assert "warning" not in err and "--log-key-env" not in err
    assert (tmp_path / "log").read_text().count('"input_hash":"hmac-sha256:') == 1
