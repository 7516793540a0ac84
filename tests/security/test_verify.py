"""`policyconf verify`: the shipped invariants hold; a broken one is found and shrunk."""
import io
import shutil

from conftest import PRODUCTS
from policyconf import load_products
from policyconf.engine import cli
from policyconf.engine.tester import suite_claims
from policyconf.engine.verify import verify


def test_shipped_products_hold_their_invariants(book):
    for product_id in book.ids:
        product = book.product(product_id)
        assert len(product.invariants) >= 5
        result = verify(product, 150, examples=suite_claims(str(PRODUCTS / f"{product_id}.tests.yaml")))
        assert result.passed, (result.broken.invariants, result.broken.claim)
        assert result.decided == 150


def test_a_broken_invariant_is_found_and_the_claim_shrunk(tmp_path):
    shutil.copy(PRODUCTS / "accidental-damage.yaml", tmp_path)
    shutil.copy(PRODUCTS / "accidental-damage.tests.yaml", tmp_path)
    path = tmp_path / "accidental-damage.yaml"
    # deliberately wrong: a repair can cost up to the phone's current value, more than half its price
    path.write_text(path.read_text().replace("holds: decision.payout <= item.price",
                                             "holds: decision.payout <= item.price * 50%"))
    out = io.StringIO()
    status = cli.main(["verify", "accidental-damage", "--products", str(tmp_path), "--claims", "2000"],
                      stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert status == 1, text
    assert "invariant payout-within-sum-insured (E.1) broken" in text
    assert "holds: decision.payout <= item.price * 50%" in text
    assert "smallest claim found:" in text and "APPROVED" in text
    result = verify(load_products(str(tmp_path)).product("accidental-damage"), 2000,
                    examples=suite_claims(str(tmp_path / "accidental-damage.tests.yaml")))
    claim = result.broken.claim
    payout = result.broken.decision.payout.amount
    price = __import__("decimal").Decimal(claim["item"]["price"]["amount"])
    assert payout > price / 2                      # a true counterexample
    assert not claim["claim"].get("circumstances")  # shrunk: nothing that does not matter


def test_verify_cli_reports_each_product(tmp_path):
    out = io.StringIO()
    status = cli.main(["verify", "--products", str(PRODUCTS), "--claims", "60"], stdout=out, stderr=io.StringIO())
    assert status == 0, out.getvalue()
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["accidental-damage 2024-01-01", "bmw-total-loss 2019-11-30",
                                                      "screen-protection 2024-01-01"]
    assert all("hold on 60 claims" in line for line in lines)


def test_an_invariant_that_cannot_be_computed_is_named_alone_with_why(tmp_path):
    """A claim in DKK cannot be compared with 100.00 EUR: that invariant is reported as not computable
    on the claim found, with the reason, and the invariants that hold on it are not blamed."""
    shutil.copy(PRODUCTS / "accidental-damage.yaml", tmp_path)
    path = tmp_path / "accidental-damage.yaml"
    path.write_text(path.read_text().replace("holds: decision.payout <= item.price",
                                             "holds: decision.payout <= 100.00 EUR"))
    out = io.StringIO()
    status = cli.main(["verify", "--products", str(tmp_path), "--claims", "300", "--seed", "3"],
                      stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert status == 1, text
    headlines = [line for line in text.splitlines() if line.startswith("accidental-damage 2024-01-01: invariant")]
    assert len(headlines) == 1, text
    assert headlines[0].startswith("accidental-damage 2024-01-01: invariant payout-within-sum-insured (E.1) cannot "
                                   "be computed on this claim: ")
    assert "are in different currencies" in headlines[0]


def test_verify_needs_at_least_one_claim():
    for count in ("0", "-5"):
        err = io.StringIO()
        status = cli.main(["verify", "--products", str(PRODUCTS), "--claims", count], stdout=io.StringIO(), stderr=err)
        assert status == 2 and err.getvalue() == f"policyconf: --claims must be at least 1, not {count}\n"
