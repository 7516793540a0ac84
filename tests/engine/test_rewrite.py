"""Rewriting values of a YAML file in place (`policyconf test --update`): only the values that change."""
import pytest

from policyconf.engine.rewrite import RewriteError, extent, flow, plain_safe, rewrite
from policyconf.engine.yaml_reader import load_document

TEXT = """\
# a comment
cases:
  - name: a     # why
    expect:
      reasons:
        - one   # the first
        - two
      # a comment after the list
      payout: "1.00 EUR"
      outcome: 'approved'
      depreciation: 0.10
"""


@pytest.mark.parametrize("text, plain", [
    ("late-enrolment", True), ("139.00 EUR", True), ("G.1", True), ("claim.repair_cots", True),
    ("B, H.1", False), ("0.10", False), ("12", False), ("null", False), ("true", False), ("NO", True),
    ("a: b", False), ("a #b", False), ("[x]", False), ("-x", False), ("", False), (" x", False), ("x:", False),
])
def test_plain_safe(text, plain):
    assert plain_safe(text) is plain


def test_flow_quotes_what_would_read_as_something_else():
    assert flow(["B, H.1", "C", "4.7"]) == '["B, H.1", C, "4.7"]'
    assert flow({"benefit": "medical", "payout": "1.00 GBP", "reasons": []}) == \
        "{benefit: medical, payout: 1.00 GBP, reasons: []}"
    assert flow(None) == "null" and flow("it's", "'") == "'it''s'" and flow("x", '"') == '"x"'


def test_the_extent_of_a_block_list_ends_with_its_last_item():
    document = load_document(TEXT, "t.yaml")
    start, end = extent(document, ("cases", 0, "expect", "reasons"))
    assert TEXT[start:end] == "- one   # the first\n        - two"
    start, end = extent(document, ("cases", 0, "expect", "payout"))
    assert TEXT[start:end] == '"1.00 EUR"'


def test_rewrite_changes_the_values_and_nothing_else():
    document = load_document(TEXT, "t.yaml")
    new = rewrite(document, [(("cases", 0, "expect", "reasons"), ["three"]),
                             (("cases", 0, "expect", "payout"), "2.00 EUR"),
                             (("cases", 0, "expect", "outcome"), "declined"),
                             (("cases", 0, "expect", "depreciation"), "0.20")])
    assert new == TEXT.replace("reasons:\n        - one   # the first\n        - two", "reasons: [three]") \
        .replace('"1.00 EUR"', '"2.00 EUR"').replace("'approved'", "'declined'").replace("0.10", '"0.20"')


def test_rewrite_refuses_overlapping_changes():
    document = load_document(TEXT, "t.yaml")
    with pytest.raises(RewriteError):
        rewrite(document, [(("cases", 0, "expect"), {}), (("cases", 0, "expect", "payout"), "2.00 EUR")])
