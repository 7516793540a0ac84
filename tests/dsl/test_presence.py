"""Flow typing for values that may be absent: which reads nothing guards (`dsl.presence`)."""
import pytest

from policyconf.dsl import types as t
from policyconf.dsl.checker import FieldInfo, Scope, check
from policyconf.dsl.fold import fold
from policyconf.dsl.parser import parse
from policyconf.dsl.presence import Presence, facts_when, has, membership

FIELDS = {
    "claim.repairable": FieldInfo(t.BOOL),
    "claim.repair_cost": FieldInfo(t.Money(None), may_be_absent=True),        # required_when: claim.repairable
    "claim.note": FieldInfo(t.Text("text"), may_be_absent=True),              # optional
    "claim.sections": FieldInfo(t.ListOf(t.Text("code", frozenset({"medical", "baggage"})))),
    "claim.medical": FieldInfo(t.OBJECT, may_be_absent=True),                 # present_when "medical" in ...
    "claim.medical.expenses": FieldInfo(t.Money(None), may_be_absent=True),
    "claim.replacement": FieldInfo(t.OBJECT, may_be_absent=True),             # optional
    "claim.replacement.msrp": FieldInfo(t.Money(None), may_be_absent=True),
    "item.price": FieldInfo(t.Money(None)),
    "claim.parts": FieldInfo(t.ListOf(t.Record("claim.parts", (("cost", t.Money(None), False),
                                                                  ("note", t.Text("text"), True))))),
}
DEFINITION_TYPES = {"cost": t.Money(None), "repair": t.BOOL, "msrp": t.Money(None), "gap": t.Money(None)}


def typed(text: str, definitions=None):
    tree, problems = check(parse(text), Scope(fields=FIELDS, definitions=definitions or DEFINITION_TYPES))
    assert not problems, problems
    return fold(tree)


def presence(**definitions) -> Presence:
    condition = typed('"medical" in claim.sections')
    rules = [(frozenset([("field", "claim.repairable")]), frozenset([has("claim.repair_cost")])),
             *((premise, frozenset([has("claim.medical")])) for premise in
               [frozenset([("in", ("const", "medical"), ("field", "claim.sections"))])]),
             (frozenset([has("claim.medical")]), frozenset([has("claim.medical.expenses")])),
             (frozenset([has("claim.replacement")]), frozenset([has("claim.replacement.msrp")]))]
    assert facts_when(condition, True) == frozenset([membership("medical", "claim.sections")])
    return Presence(rules, {name: typed(text) for name, text in definitions.items()})


def reads(text: str, known=(), **definitions):
    return [(u.path, u.column, u.through) for u in presence(**definitions).unguarded(typed(text), known)]


@pytest.mark.parametrize("text", [
    "has(claim.note) and claim.note == \"x\"",
    "if has(claim.note) then claim.note == \"x\" else false",
    "not has(claim.note) or claim.note == \"x\"",
    "if not has(claim.note) then false else claim.note == \"x\"",
    "claim.repairable and claim.repair_cost > 0",
    "claim.repairable == true and claim.repair_cost > 0",
    "not claim.repairable or claim.repair_cost > 0",
    "has(claim.replacement) and claim.replacement.msrp > item.price",
    "has(claim.replacement.msrp) and claim.replacement.msrp > item.price",
    "\"medical\" in claim.sections and claim.medical.expenses > 0",
    "\"medical\" not in claim.sections or claim.medical.expenses > 0",
    "count(p in claim.parts where has(p.note) and p.note == \"x\") > 0",
    "count(p.note for p in claim.parts where has(p.note)) > 0",
])
def test_a_guarded_read_is_not_reported(text):
    assert reads(text) == []


@pytest.mark.parametrize("text, column", [
    ("claim.note == \"x\"", 1),
    ("claim.note == \"x\" and has(claim.note)", 1),
    ("has(claim.note) or claim.note == \"x\"", 20),
    ("if has(claim.note) then false else claim.note == \"x\"", 36),
    ("claim.repair_cost > 0 and claim.repairable", 1),
    ("claim.repairable or claim.repair_cost > 0", 21),
    ("has(claim.medical) or claim.medical.expenses > 0", 23),
    ("count(p in claim.parts where p.note == \"x\") > 0", 30),
])
def test_an_unguarded_read_is_reported_where_it_is(text, column):
    assert [c for _, c, _ in reads(text)] == [column]


def test_what_the_use_guarantees_guards_the_read():
    assert reads("claim.medical.expenses > 0", [membership("medical", "claim.sections")]) == []
    assert reads("claim.replacement.msrp > item.price", [has("claim.replacement")]) == []
    assert reads("claim.replacement.msrp > item.price", [has("claim.medical")]) == [
        ("claim.replacement.msrp", 1, ())]


def test_a_definitions_reads_happen_where_it_is_used():
    definitions = {"msrp": "claim.replacement.msrp", "gap": "msrp - item.price"}
    assert reads("has(claim.replacement) and gap > 0", **definitions) == []
    assert reads("gap > 0", **definitions) == [("claim.replacement.msrp", 1, ("gap", "msrp"))]
    assert reads("gap > 0", [has("claim.replacement")], **definitions) == []


def test_a_definition_that_guards_itself_is_fine_anywhere():
    definitions = {"repair": "claim.repairable and claim.repair_cost <= item.price",
                   "cost": "if repair then claim.repair_cost else item.price"}
    assert reads("cost > 0", **definitions) == []
    assert reads("repair and claim.repair_cost > 0", **definitions) == []


def test_a_fact_is_the_same_however_it_is_written():
    one, other = typed('"medical" in claim.sections'), typed('not ("medical" not in claim.sections)')
    assert facts_when(one, True) <= facts_when(other, True)
    assert facts_when(typed("claim.repairable != false"), True) >= {("field", "claim.repairable")}
