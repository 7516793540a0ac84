"""One generated function per product: the last stage of building a product.

From the typed ASTs the builder checked and folded, and the product's rules, documents, sections
and settlement in their order, this writes one Python module per product version, compiled once
at load:

* `_d3(V, D, T, cur)` per definition, computing it on first use and noting it in the trace;
* `decide(V, cur, claim_id)`: every rule, section, document, referral and settlement step of
  the product inlined, in the order the product decides them, on the claim's validated values
  `V`; amounts are plain `Decimal`s in the claim's currency `cur` (the checker knows where a
  product's fixed-currency amount meets the claim's money, and only there is the currency
  compared); the trace is recorded as tuples and written out only when read;
* `invariants(V, cur, decision)`: the ids of the invariants a decision breaks (`policyconf verify`).

The source text holds no text from the product file (constants go to `K`, names are ours), and
runs with no builtins but the few it is given. It is compiled from its AST with each line's
number set to the product file line its code comes from, so a traceback through a product shows
the product's line (the file's text is in `linecache`); the error a claim can cause names the
rule and position itself.
"""
from __future__ import annotations

import ast as pyast
from decimal import Decimal, DecimalException
from operator import attrgetter
from typing import Any

from ..dsl import runtime
from ..dsl import types as t
from ..dsl.errors import EvaluationError
from ..dsl.runtime import round_amount as _round_amount
from ..dsl.values import CurrencyMismatch, Money

from . import errors as E
from . import trace as tr
from .decision import Decision
from .errors import ClaimError
from .model import DocumentRule, Product, Rule, Step

_U = object()                       # a definition not computed yet for this claim


class ProductCode:
    """The generated module of one product version."""

    inline_queries = True           # queries as functions of the module (False: `_select` with lambdas, as
                                    # dsl.compiler writes them; tests/engine/test_query_functions.py compares)

    def __init__(self, product: Product, builder):
        self.product = product
        self.builder = builder
        self.K: list[Any] = []
        self._constants: dict[int, str] = {}
        self.lines: list[tuple[int, str, tuple | None]] = []      # (indent, text, origin (file, line))
        self.names = [name for name in builder.definitions if name not in builder.named]
        self.index = {name: i for i, name in enumerate(self.names)}
        self.money = {name for name in self.names if isinstance(builder.definition_types.get(name), t.Money)}
        self.AT: list[Any] = [None]                               # what is being computed, by index
        self.cur_default = min(product.currencies) if product.currencies else None
        self.queries = 0                                          # the query functions written
        self.query_lines: list[tuple[int, str, tuple | None]] = []

    # -- constants and positions ------------------------------------------------------------
    def constant(self, value: Any) -> str:
        key = id(value)
        if key in self._constants and self.K[int(self._constants[key][2:-1])] is value:
            return self._constants[key]
        self.K.append(value)
        name = f"K[{len(self.K) - 1}]"
        self._constants[key] = name
        return name

    def at(self, thing) -> int:
        self.AT.append(thing)
        return len(self.AT) - 1

    def origin(self, path: tuple | None) -> tuple | None:
        if path is None:
            return None
        source = self.builder.source
        return source.file_of(path), source.span(path).line

    def line(self, indent: int, text: str, path: tuple | None = None) -> None:
        self.lines.append((indent, text, self.origin(path)))

    # -- expressions ---------------------------------------------------------------------------
    def expression(self, path: tuple, names: dict[str, str] | None = None) -> str:
        """The source of the expression at `path` (a site the builder checked and folded)."""
        from ..dsl.emit import Emitter      # generating code needs it; running it does not
        site = self.builder.sites[path]
        typed = site.typed
        source = self.builder.source

        def locate(node) -> str:            # a typed node (dsl.typed)
            return self.constant(source.position(path, (node.line, node.column)))
        def query(items, element, keep, project, info, where, outside) -> str:
            return self.query_function(path, items, element, keep, project, info, where, outside)
        emitter = Emitter(self.constant, self.definition_ref, locate, self.builder.named, self.builder.personal,
                          decision=lambda name: f"DEC[{name!r}]", query=query if self.inline_queries else None)
        emitter.names.update(names or {})
        return emitter.text(typed)

    def query_function(self, path: tuple, items: str, element: str, keep: str | None, project: str | None,
                       info: str, where: str, outside: list[str]) -> str:
        """A query of the expression at `path` as a function of the module, `_q3(items, T, ...)`, its
        condition and projection inline in its loop (what `runtime.select` does with lambdas, a call
        less per element); it reads what the text reads of the claim (`V`, `D`, `cur`, `DEC`) and
        of the locals around it (`outside`). The call's source."""
        read = set()
        for text in (keep, project):
            if text is not None:
                read.update(node.id for node in pyast.walk(pyast.parse(text, mode="eval")) if isinstance(node, pyast.Name))
        params = [name for name in ("V", "D", "cur", "DEC", *outside) if name in read]
        name = f"_q{self.queries}"
        self.queries += 1
        at = self.origin(path)
        lines = self.query_lines
        lines.append((0, f"def {name}(_items, T{''.join(', ' + p for p in params)}):", at))
        lines.append((1, "_found = []; _kept = _Selection()", at))
        lines.append((1, f"for _i, {element} in enumerate(_items):", at))
        body = 2
        if keep is not None:
            lines.append((2, f"if {keep}:", at))
            body = 3
        lines.append((body, f"_found.append(_i); _kept.append({project if project is not None else element})", at))
        lines.append((1, f"return _chosen(_kept, _found, _items, {info}, {where}, T, {project is not None})", at))
        return f"{name}({items}, T{''.join(', ' + p for p in params)})"

    def definition_ref(self, name: str) -> str:
        i = self.index[name]
        return f"(D[{i}] if D[{i}] is not _U else _d{i}(V, D, T, cur))"

    # -- the module ---------------------------------------------------------------------------
    def generate(self) -> str:
        for name in self.names:
            self.emit_definition(name)
        self.emit_decide()
        self.emit_invariants()
        self.lines.extend(self.query_lines)
        return self.source()

    def emit_definition(self, name: str) -> None:
        i = self.index[name]
        path, value, _ = self.builder.definitions[name]
        private = name in self.product.private_definitions
        self.line(0, f"def _d{i}(V, D, T, cur):", path)
        if isinstance(value, list):
            self.line(1, f"v = {self.constant(frozenset(str(v) for v in value))}", path)
        else:
            self.line(1, f"v = {self.expression(path)}", path)
        self.line(1, f"D[{i}] = v")
        shown = self.constant(tr.PERSONAL) if private else "v"
        self.line(1, f"T.append((_def, {name!r}, {shown}, cur, {name in self.money and not private}))")
        self.line(1, "return v")

    def rule_test(self, rule) -> str:
        """A rule's condition: its circumstance, its `when`, not its `unless`, in that order."""
        if rule.section == "events":
            not_covered = self.builder.event_groups.get("not_covered", frozenset())
            return f"V['claim.event'] in {self.constant(frozenset(not_covered))}"
        if rule.section == "refusals" and rule.path and rule.path[:2] == ("benefits", "refusals"):
            return f"({self.expression(rule.path)})"
        parts = []
        if rule.circumstance is not None:
            parts.append(f"{self.constant(rule.circumstance)} in V['claim.circumstances']")
        if rule.path + ("when",) in self.builder.sites:
            parts.append(f"({self.expression(rule.path + ('when',))})")
        test = " and ".join(parts)
        if rule.path + ("unless",) in self.builder.sites:
            test = f"({test}) and not ({self.expression(rule.path + ('unless',))})"
        return test

    def emit_rules(self, indent: int, rules, into: str, what: str) -> None:
        """Each rule that holds goes into the list `into`, noted in the trace with what it read."""
        for rule in rules:
            k = self.constant(rule)
            origin = rule.path + ("when",) if rule.path + ("when",) in self.builder.sites else rule.path or None
            self.line(indent, f"at = {self.at(rule)}")
            self.line(indent, f"if {self.rule_test(rule)}:", origin if origin in self.builder.sites else None)
            label = what if what is not None else rule.section
            self.line(indent + 1, f"{into}.append({k}); T.append((_rule, {label!r}, {k}, V, _Defs(D, cur, INFO), PII, cur))")

    def emit_decide(self) -> None:
        product = self.product
        benefits = product.benefits
        self.line(0, "def decide(V, cur, claim_id):")
        self.line(1, "T = []")
        self.line(1, f"D = [_U] * {len(self.names)}")
        self.line(1, "at = 0")
        self.line(1, "try:")
        i = 2
        self.line(i, "declined = []")
        self.emit_rules(i, product.declining, "declined", None)
        if benefits is not None:
            self.line(i, f"claimed = V[{benefits.claimed!r}] or ()")
            for n, section in enumerate(benefits.sections):
                self.line(i, f"r{n} = []")
                self.line(i, f"if {section.id!r} in claimed:")
                self.emit_rules_in(i + 1, section.refusals, f"r{n}", f"section {section.id}: refusal")
            claimed = " + ".join(f"({section.id!r} in claimed)" for section in benefits.sections) or "0"
            refused = " + ".join(f"bool(r{n})" for n in range(len(benefits.sections))) or "0"
            self.line(i, f"n_claimed = {claimed}")
            self.line(i, f"n_refused = {refused}")
            if benefits.declined_when == "every-section-refused":
                self.line(i, "decline_all = n_claimed > 0 and n_refused == n_claimed")
            else:
                self.line(i, "decline_all = n_claimed > 0 and n_refused > 0")
            refusals = " + ".join(f"r{n}" for n in range(len(benefits.sections)))
            self.line(i, f"refusals = {refusals}")
        else:
            self.line(i, "decline_all = False")
            self.line(i, "refusals = []")
        self.line(i, "if declined or decline_all:")
        self.line(i + 1, "return _refusal(PRODUCT, claim_id, cur, 'declined', _ranked(declined + refusals), (), T, "
                         f"{self.lines_of(declined=True)})")
        self.line(i, f"T.append((_none_applies, {len(product.declining)}))")
        self.emit_documents(i)
        self.emit_referrals(i)
        if benefits is not None:
            self.emit_sections_settlement(i)
        else:
            self.emit_settlement(i)
        self.line(1, "except CurrencyMismatch as error:")
        self.line(2, "raise _currency_error(error, AT[at], claim_id, V) from None")
        self.line(1, "except EvaluationError as error:")
        self.line(2, "raise _evaluation_error(error, AT[at], claim_id) from None")
        self.line(1, "except DecimalException as error:")
        self.line(2, "raise _inexact(error, AT[at], claim_id) from None")

    def emit_rules_in(self, indent, rules, into, what):
        self.emit_rules(indent, rules, into, what)
        if not rules:
            self.line(indent, "pass")

    def lines_of(self, declined: bool = False) -> str:
        """The benefit lines of a claim that pays nothing (None without sections)."""
        benefits = self.product.benefits
        if benefits is None:
            return "None"
        parts = ", ".join(f"({self.constant(section)}, r{n})" for n, section in enumerate(benefits.sections))
        return f"_lines([{parts}], claimed, cur, PRODUCT, {declined})"

    def open_section(self, section) -> str:
        n = self.product.benefits.sections.index(section)
        return f"({section.id!r} in claimed and not r{n})"

    def emit_documents(self, i: int) -> None:
        product = self.product
        documents = [(document, None) for document in product.documents]
        if product.benefits is not None:
            documents += [(document, section) for section in product.benefits.sections for document in section.documents]
        documents.sort(key=lambda pair: pair[0].rank)
        self.line(i, "missing = []")
        for document, section in documents:
            k = self.constant(document)
            self.line(i, f"at = {self.at(document)}")
            conditions = []
            if section is not None:
                conditions.append(self.open_section(section))
            if document.path + ("when",) in self.builder.sites:
                conditions.append(f"({self.expression(document.path + ('when',))})")
            if document.path + ("provided",) in self.builder.sites:
                provided = f"({self.expression(document.path + ('provided',))})"
            else:
                provided = f"{self.constant(document.document)} in V['claim.documents']"
            conditions.append(f"not {provided}")
            conditions.append(f"{self.constant(document.document)} not in missing")
            self.line(i, f"if {' and '.join(conditions)}:", document.path)
            self.line(i + 1, f"missing.append({self.constant(document.document)}); T.append((_missing, {k}))")
        self.line(i, "if missing:")
        self.line(i + 1, f"return _refusal(PRODUCT, claim_id, cur, 'pending', (), tuple(missing), T, {self.lines_of()})")

    def emit_referrals(self, i: int) -> None:
        product = self.product
        referrals = [(rule, None) for rule in product.referrals]
        if product.benefits is not None:
            referrals += [(rule, section) for section in product.benefits.sections for rule in section.referrals]
        referrals.sort(key=lambda pair: pair[0].rank)
        self.line(i, "referred = []")
        for rule, section in referrals:
            k = self.constant(rule)
            self.line(i, f"at = {self.at(rule)}")
            guard = f"{self.open_section(section)} and " if section is not None else ""
            self.line(i, f"if {guard}({self.rule_test(rule)}):", rule.path + ("when",)
                      if rule.path + ("when",) in self.builder.sites else None)
            self.line(i + 1, f"referred.append({k}); T.append((_rule, 'referral', {k}, V, _Defs(D, cur, INFO), PII, cur))")
        self.line(i, "if referred:")
        self.line(i + 1, "return _refusal(PRODUCT, claim_id, cur, 'referred', _ranked(referred), (), T, "
                         f"{self.lines_of()})")

    # -- settlement ------------------------------------------------------------------------------
    def emit_amounts(self, i: int, settlement, section: str | None, payout: str, excess: str, reasons: str) -> None:
        """Assign the settlement's payout and excess (plain amounts) and the reasons its steps gave."""
        if not settlement.steps:
            self.line(i, f"at = {self.at(_part(settlement, 'excess'))}")
            self.line(i, f"{excess} = {self.expression(settlement.path + ('excess',))}", settlement.path + ("excess",))
            self.line(i, f"at = {self.at(_part(settlement, 'payout'))}")
            self.line(i, f"{payout} = {self.expression(settlement.path + ('payout',))}", settlement.path + ("payout",))
            self.line(i, f"{reasons} = []")
            return
        where = self.constant(tr.Where(section, settlement.personal))
        self.line(i, f"{reasons} = []")
        self.line(i, "xs = _ZERO")
        self.emit_steps(i, settlement.steps, where, "amount", reasons, {})
        self.line(i, f"{payout} = amount")
        self.line(i, f"{excess} = xs")

    def emit_steps(self, i: int, steps, where: str, amount: str, reasons: str, names: dict) -> None:
        self.line(i, f"{amount} = _ZERO")
        for step in steps:
            k = self.constant(step)
            self.line(i, f"at = {self.at(step)}")
            local = dict(names, amount=amount)
            body = i
            if step.when:
                self.line(i, f"if {self.expression(step.path + ('when',), local)}:", step.path + ("when",))
                body = i + 1
            kind = step.kind
            if kind == "each":
                self.emit_each(body, step, where, amount, reasons, names)
                continue
            value = self.expression(step.path + (kind,), local)
            origin = step.path + (kind,)
            if kind == "amount":
                self.line(body, f"{amount} = {value}", origin)
                self.line(body, f"T.append((_amount_step, {where}, {k}, {amount}, cur))")
            elif kind == "limit":
                self.line(body, f"cap = {value}", origin)
                self.line(body, f"lowered = {amount} > cap")
                self.line(body, f"T.append((_limit_step, {where}, {k}, {amount}, cap, lowered, cur))")
                self.line(body, "if lowered:")
                self.line(body + 1, f"{amount} = cap")
                if step.reason is not None:
                    self.line(body + 1, f"{reasons}.append({self.constant(step.reason)})")
            elif kind == "excess":
                self.line(body, f"value = {value}", origin)
                self.line(body, f"applied = min(max(value, _ZERO), {amount}) if {amount} > 0 else _ZERO")
                self.line(body, f"T.append((_excess_step, {where}, {k}, value, applied, {amount} - applied, cur))")
                self.line(body, "xs = xs + applied")
                self.line(body, f"{amount} = {amount} - applied")
            else:                                                   # adjust
                self.line(body, f"value = {value}", origin)
                self.line(body, f"T.append((_adjust_step, {where}, {k}, {amount}, value, cur))")
                self.line(body, f"{amount} = value")
                if step.reason is not None:
                    self.line(body, f"{reasons}.append({self.constant(step.reason)})")

    def emit_each(self, i: int, step, where: str, amount: str, reasons: str, names: dict) -> None:
        depth = len(names)
        element, inner, index = f"el{depth}", f"a{depth + 1}", f"ix{depth}"
        totals = [f"g{depth}_{n}" for n in range(len(step.groups))]
        for total in totals:
            self.line(i, f"{total} = _ZERO")
        rest = f"rest{depth}"
        self.line(i, f"{rest} = _ZERO")
        name = _each_name(step)
        items = self.expression(step.path + ("each",), names)
        k = self.constant(step)
        self.line(i, f"for {index}, {element} in enumerate({items}):", step.path + ("each",))
        inner_names = dict(names, **{name: element})
        self.emit_steps(i + 1, step.steps, where, inner, reasons, inner_names)
        self.line(i + 1, f"at = {self.at(step)}")
        self.line(i + 1, f"T.append((_element_step, {where}, {k}, {index}, {inner}, cur))")
        for n, (group, total) in enumerate(zip(step.groups, totals)):
            keyword = "if" if n == 0 else "elif"
            self.line(i + 1, f"{keyword} {self.expression(group.path + ('of',), inner_names)}:", group.path + ("of",))
            self.line(i + 2, f"{total} = {total} + {inner}")
        if totals:
            self.line(i + 1, "else:")
            self.line(i + 2, f"{rest} = {rest} + {inner}")
        else:
            self.line(i + 1, f"{rest} = {rest} + {inner}")
        for group, total in zip(step.groups, totals):
            g = self.constant(group)
            limit = self.expression(group.path + ("limit",), dict(names, amount=total))
            self.line(i, f"cap = {limit}", group.path + ("limit",))
            self.line(i, f"lowered = {total} > cap")
            self.line(i, f"T.append((_group_step, {where}, {g}, {total}, cap, lowered, cur))")
            self.line(i, "if lowered:")
            self.line(i + 1, f"{total} = cap")
            if group.reason is not None:
                self.line(i + 1, f"{reasons}.append({self.constant(group.reason)})")
            self.line(i, f"{rest} = {rest} + {total}")
        self.line(i, f"{amount} = {rest}")

    def emit_kind(self, i: int) -> None:
        settlement = self.product.settlement
        self.line(i, f"at = {self.at(_part(settlement, 'kind'))}")
        self.line(i, f"kind = {self.expression(('settlement', 'kind'))}", ("settlement", "kind"))

    def emit_adjustments(self, i: int) -> None:
        self.line(i, "adjustments = []")
        self.emit_rules(i, self.product.settlement.adjustments, "adjustments", "adjustment")

    def emit_settlement(self, i: int) -> None:
        settlement = self.product.settlement
        self.emit_kind(i)
        self.emit_amounts(i, settlement, None, "payout", "excess", "reasons")
        if settlement.depreciation:
            self.line(i, f"at = {self.at(_part(settlement, 'depreciation'))}")
            self.line(i, f"depreciation = _Decimal({self.expression(settlement.path + ('depreciation',))})",
                      settlement.path + ("depreciation",))
        else:
            self.line(i, "depreciation = _ZERO")
        self.emit_adjustments(i)
        part = self.constant(_part(settlement, "payout"))
        self.line(i, f"return _approved(PRODUCT, claim_id, cur, kind, payout, excess, depreciation, "
                     f"_ranked(reasons + adjustments), T, {part}, None)")

    def emit_sections_settlement(self, i: int) -> None:
        self.emit_kind(i)
        self.line(i, "lines = []; reasons = []; paid = _ZERO; borne = _ZERO; zero = _zero(PRODUCT, cur).amount")
        for n, section in enumerate(self.product.benefits.sections):
            s = self.constant(section)
            self.line(i, f"if {section.id!r} in claimed:")
            self.line(i + 1, f"if r{n}:")
            self.line(i + 2, f"reasons += r{n}; lines.append(_line({s}, 'declined', zero, zero, r{n}, cur))")
            self.line(i + 1, "else:")
            self.emit_amounts(i + 2, section.settlement, section.id, "p", "x", "given")
            part = self.constant(_part(section.settlement, "payout"))
            self.line(i + 2, f"pr = _payout(p, cur, {part}, claim_id); xr = _round_amount(x, cur)")
            self.line(i + 2, f"T.append((_section_step, {section.id!r}, p, pr, xr, cur))")
            self.line(i + 2, "given = _ranked(given); reasons += given")
            self.line(i + 2, f"lines.append(_line({s}, 'approved', pr, xr, given, cur)); paid += pr; borne += xr")
        self.emit_adjustments(i)
        self.line(i, "return _approved_sections(PRODUCT, claim_id, cur, kind, paid, borne, _ranked(reasons + "
                     "adjustments), T, tuple(lines))")

    def emit_invariants(self) -> None:
        """`invariants(V, cur, DEC)`: [(invariant, None)] for each one that does not hold, and
        [(invariant, error)] for each that cannot be computed on the claim (a currency mismatch, a
        division by zero...): each on its own, so that one failing does not hide the others."""
        self.line(0, "def invariants(V, cur, DEC):")
        self.line(1, "T = []")
        self.line(1, f"D = [_U] * {len(self.names)}")
        self.line(1, "broken = []")
        for invariant in self.product.invariants:
            k = self.constant(invariant)
            self.line(1, "try:")
            self.line(2, f"if not ({self.expression(invariant.path)}):", invariant.path)
            self.line(3, f"broken.append(({k}, None))")
            self.line(1, "except (CurrencyMismatch, EvaluationError, DecimalException) as error:")
            self.line(2, f"broken.append(({k}, error))")
        self.line(1, "return broken")

    # -- compile ------------------------------------------------------------------------------
    def source(self) -> str:
        return "\n".join("    " * indent + text for indent, text, _ in self.lines) + "\n"

    def compile(self) -> "GeneratedCode":
        """The module's functions, compiled with each line at the product file line it comes from."""
        text = self.source()
        code = _compiled(text, self.product.file, self.file_lines())
        info = (self.index, frozenset(self.money), self.product.private_definitions)
        return GeneratedCode(self.product, code, tuple(self.K), tuple(self.AT), info, text)

    def file_lines(self) -> list[int]:
        """The product file line of each line of the source, by its number (from 1): the line it
        comes from when that is in the product's own file; for what a derived product inherits
        from another file, its `extends` line; 1 for the lines that come from no product line."""
        file = self.product.file
        elsewhere = self.builder.source.span(("extends",)).line if self.product.extends else 1
        lines = [1]
        for _, _, origin in self.lines:
            lines.append(1 if origin is None else origin[1] if origin[0] == file else elsewhere)
        return lines


def _compiled(text: str, file: str, lines: list[int]):
    """The source's code object, each node at `lines[its line]`."""
    tree = pyast.parse(text, filename=file)
    _at_lines(tree, lines)
    return compile(tree, file, "exec")


_AST = pyast.AST


def _at_lines(tree: pyast.AST, lines: list[int]) -> None:
    """Set every node's `lineno` and `end_lineno` to `lines[its lineno]`. A walk of its own, with a
    list for a stack and each node's fields read from its `__dict__`, as `ast.walk` (a generator
    over `iter_child_nodes` over `iter_fields`) visits them, in about 60 % of its time; the same
    nodes get the same numbers (tests/engine/test_generated_lines.py)."""
    stack = [tree]
    pop, push = stack.pop, stack.append
    while stack:
        fields = pop().__dict__
        if "lineno" in fields:
            fields["lineno"] = fields["end_lineno"] = lines[fields["lineno"]]
        for value in fields.values():
            if type(value) is list:
                for item in value:
                    if isinstance(item, _AST):
                        push(item)
            elif isinstance(value, _AST):
                push(value)


# -- what generated code calls

class _Defs:
    """For the trace: the definitions a claim computed, by name (what `trace.rule_step` reads);
    made only when a rule applies, read only when the trace is."""
    __slots__ = ("D", "cur", "info")

    def __init__(self, D, cur, info):
        self.D = D
        self.cur = cur
        self.info = info                    # (index by name, money names, private names)

    @property
    def private(self):
        return self.info[2]

    def value(self, name):
        i = self.info[0].get(name)
        if i is None or self.D[i] is _U:
            return tr.ABSENT
        value = self.D[i]
        return Money(value, self.cur) if name in self.info[1] else value


class GeneratedCode:
    """A product's generated module: `decide(V, cur, claim_id)`, `invariants(V, cur, decision)`, and
    its source (for reading, and for `policyconf`'s own tests). `parts` is what it is run from (the
    code object, its constants `K` and `AT`, and what the trace reads of its definitions): what the
    product cache keeps (engine.loader), so that a cached product runs the same code."""
    __slots__ = ("decide", "invariants", "source", "parts")

    def __init__(self, product: Product, code, K: tuple, AT: tuple, info: tuple, source: str):
        namespace = dict(NAMESPACE, K=K, AT=AT, PRODUCT=product, PII=product.pii, INFO=info)
        exec(code, namespace)  # noqa: S102 - our own generated source
        self.decide = namespace["decide"]
        self.invariants = namespace["invariants"]
        self.source = source
        self.parts = (code, K, AT, info)


class _Part:
    """Which part of the settlement is being computed, for an error's message and position."""
    __slots__ = ("settlement", "name")

    def __init__(self, settlement, name: str):
        self.settlement = settlement
        self.name = name


def _part(settlement, name):
    return _Part(settlement, name)


def _step(step, where: tuple | None = None, with_position: bool = True) -> str:
    """Name what was being computed when evaluation failed, and where (the failing part, or the
    rule's condition) it is written."""
    if isinstance(step, Rule):
        text, position = f"rule {step.id}", step.position
    elif isinstance(step, DocumentRule):
        text, position = f"document requirement {step.id}", step.position
    elif isinstance(step, _Part):
        text, position = f"the settlement's {step.name}", step.settlement.positions.get(step.name)
    elif isinstance(step, Step):
        text, position = f"the settlement step `{step.kind}: {step.text}`", step.position
    else:
        text, position = str(step), None
    position = where or position
    if position is None or not with_position:
        return text
    file, line, column = position
    return f"{text} ({file}:{line}:{column})"


def _each_name(step) -> str:
    return step.text.split(" in ", 1)[0].strip()


def _payout(value, cur, part, claim_id) -> Decimal:
    """The payout rounded half-up to the currency's minor unit, once, at the end; never below 0."""
    rounded = _round_amount(value, cur)
    if rounded < 0:
        raise ClaimError(E.EVALUATION_ERROR, f"{_step(part)}: the payout formula gives a negative amount "
                         f"({rounded} {cur}); the product must not pay less than nothing", None, claim_id)
    return rounded


def _ranked(rules) -> tuple:
    if len(rules) < 2:                  # most claims: none, or one
        return tuple(rules)
    unique: dict = {}
    for rule in sorted(rules, key=_rank):
        unique.setdefault(rule.id, rule)
    return tuple(unique.values())


_rank = attrgetter("rank")


def _reasons(rules) -> tuple:
    """The reasons of a decision, from its rules in their order."""
    return tuple([rule.reason() for rule in rules]) if rules else ()


def _zero(product, cur) -> Money:
    return product.zeros.get(cur) or Money(Decimal(0), cur).rounded()


def _line(section, outcome, payout, excess, reasons, cur) -> dict:
    return {"benefit": section.id, "outcome": outcome, "payout": {"amount": str(payout), "currency": cur},
            "excess": {"amount": str(excess), "currency": cur},
            "reasons": [rule.reason() for rule in reasons] if reasons else []}


def _lines(sections, claimed, cur, product, declined):
    zero = _zero(product, cur).amount
    return tuple(_line(section, "declined" if declined or refused else "approved", zero, zero, refused, cur)
                 for section, refused in sections if section.id in claimed)


def _refusal(product, claim_id, cur, outcome, rules, missing, T, lines):
    zero = _zero(product, cur)
    T.append((tr.outcome_step, outcome))
    return Decision(claim_id, product.id, product.version, outcome, None, zero, zero, None,
                    _reasons(rules), missing, T, lines)


def _approved(product, claim_id, cur, kind, payout, excess, depreciation, reasons, T, part, lines):
    rounded = _payout(payout, cur, part, claim_id)
    paid, borne = Money(rounded, cur), Money(_round_amount(excess, cur), cur)
    T.append((tr.settlement_step, kind, payout, paid, borne, cur))
    return Decision(claim_id, product.id, product.version, "approved", kind, paid, borne, depreciation,
                    _reasons(reasons), (), T, lines)


def _approved_sections(product, claim_id, cur, kind, paid, borne, reasons, T, lines):
    paid, borne = Money(paid, cur), Money(borne, cur)
    T.append((tr.settlement_step, kind, paid, paid, borne, cur))
    return Decision(claim_id, product.id, product.version, "approved", kind, paid, borne, None,
                    _reasons(reasons), (), T, lines)


def _evaluation_error(error, at, claim_id):
    return ClaimError(E.EVALUATION_ERROR, f"{_step(at, error.where)}: {error.message}", None, claim_id)


def _inexact(error, at, claim_id):
    return ClaimError(E.EVALUATION_ERROR, f"{_step(at)}: the amounts cannot be computed exactly "
                      f"({type(error).__name__})", None, claim_id)


def _currency_error(error, at, claim_id, V):
    """The claim's money (all of it in one currency) meets a product amount in another: named by
    the claim's first amount, as the claim lists its fields."""
    left, right = error.left, error.right
    claim_side, product_side = (left, right) if left.source else (right, left)
    path = next((path for path, value in V.items() if isinstance(value, Money)), None)
    what = f"{path} is in {claim_side.currency}" if path else f"the claim is in {claim_side.currency}"
    return ClaimError(E.CLAIM_CURRENCY_MISMATCH,
                      f"{what}, but {_step(at, with_position=False)} uses an amount in {product_side.currency} "
                      f"({product_side}); no exchange rate is applied", path or None, claim_id)


NAMESPACE: dict[str, Any] = {
    **runtime.NAMESPACE,                 # what expressions call (dsl.emit)
    "_U": _U, "_ZERO": Decimal(0), "_Decimal": Decimal, "_Defs": _Defs,
    "CurrencyMismatch": CurrencyMismatch, "EvaluationError": EvaluationError, "DecimalException": DecimalException,
    "_payout": _payout, "_ranked": _ranked, "_line": _line, "_lines": _lines, "_refusal": _refusal,
    "_approved": _approved, "_approved_sections": _approved_sections, "_zero": _zero,
    "_evaluation_error": _evaluation_error, "_inexact": _inexact, "_currency_error": _currency_error,
    "_def": tr.definition_step, "_rule": tr.rule_step, "_missing": tr.missing_step, "_none_applies": tr.none_applies,
    "_section_step": tr.section_step, "_amount_step": tr.amount_step, "_limit_step": tr.limit_step,
    "_excess_step": tr.excess_step, "_adjust_step": tr.adjust_step, "_element_step": tr.element_step,
    "_group_step": tr.group_step,
}


__all__ = ["ProductCode", "GeneratedCode"]
