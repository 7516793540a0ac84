# ruff: noqa  -- kept as measured (see DESIGN.md); ruff finds unused names and, on a path no book reached, an
# undefined EXCESS_TRACE_DEFAULT (the non-default excess row's trace): fix both when this becomes the real plan.
"""Throwaway columnar prototype: accidental-damage only. JSON lines in, decision JSON lines out.

Rows the columnar plan cannot vouch for go to the row path (policyconf's own evaluate_claim).
Usage: proto.py IN.jsonl OUT.jsonl [--batch N]
"""
import io, json, sys, time, os
from json.encoder import encode_basestring as jstr
import polars as pl

from policyconf.engine.product_book import load_products
from policyconf.engine.claim_reader import jsonl_line, evaluate_claim
from policyconf.engine.cli import _jsonl_out
from policyconf.engine.claim_validator import COUNTRIES

BOOK = load_products(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "products"))
P = BOOK.product("accidental-damage")
F = {f.path: f for f in P.fields}
S = 6                                   # fixed scale of the exact integer amounts
TEN = [10 ** i for i in range(S + 1)]

money = pl.Struct({"amount": pl.String, "currency": pl.String})
SCHEMA = pl.Schema({
    "product": pl.String,
    "policy": pl.Struct({"id": pl.String, "purchased": pl.String, "start": pl.String, "end": pl.String,
                         "premium_paid": pl.Boolean,
                         "holder": pl.Struct({"age": pl.Int64, "residence": pl.String, "sole_owner": pl.Boolean,
                                              "prior_fraud": pl.Boolean})}),
    "item": pl.Struct({"kind": pl.String, "purchased": pl.String, "price": money, "purchased_in": pl.String}),
    "claim": pl.Struct({"id": pl.String, "event": pl.String, "occurred": pl.String, "reported": pl.String,
                        "repairable": pl.Boolean, "parts_available": pl.Boolean, "repair_cost": money,
                        "documents": pl.List(pl.String), "circumstances": pl.List(pl.String),
                        "days_outside_residence": pl.Int64, "negligence_share": pl.String,
                        "other_insurance": pl.Boolean}),
})
STRUCTS = ["policy", "policy.holder", "item", "item.price", "claim", "claim.repair_cost"]
LEAVES = {  # flat name -> (path, kind) ; kind: s=string value, o=other json value
    "product": ("product", "s"),
    "policy.id": ("policy.id", "s"), "policy.purchased": ("policy.purchased", "s"), "policy.start": ("policy.start", "s"),
    "policy.end": ("policy.end", "s"), "policy.premium_paid": ("policy.premium_paid", "o"),
    "policy.holder.age": ("policy.holder.age", "o"), "policy.holder.residence": ("policy.holder.residence", "s"),
    "policy.holder.sole_owner": ("policy.holder.sole_owner", "o"), "policy.holder.prior_fraud": ("policy.holder.prior_fraud", "o"),
    "item.kind": ("item.kind", "s"), "item.purchased": ("item.purchased", "s"), "item.purchased_in": ("item.purchased_in", "s"),
    "item.price.amount": ("", "s"), "item.price.currency": ("", "s"),
    "claim.id": ("claim.id", "s"), "claim.event": ("claim.event", "s"), "claim.occurred": ("claim.occurred", "s"),
    "claim.reported": ("claim.reported", "s"), "claim.repairable": ("claim.repairable", "o"),
    "claim.parts_available": ("claim.parts_available", "o"), "claim.repair_cost.amount": ("", "s"),
    "claim.repair_cost.currency": ("", "s"), "claim.documents": ("", "l"), "claim.circumstances": ("", "l"),
    "claim.days_outside_residence": ("", "o"), "claim.negligence_share": ("", "s"), "claim.other_insurance": ("", "o"),
}
DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
AMOUNT_RE = r"^(0|[1-9]\d{0,11})(\.\d{1,2})?$"          # conservative: <= 2 places, no sign, no leading 0s
SHARE_RE = r"^(0(\.\d{1,4})?|1(\.0{1,4})?)$"
NUMLIKE_RE = r"^(-?\d[\d.eE+-]*|true|false|null)$"      # a string polars may have coerced from a JSON scalar


def col(path):
    parts = path.split(".")
    e = pl.col(parts[0])
    for p in parts[1:]:
        e = e.struct.field(p)
    return e


def dec_text(v, ds):
    """Integer column v (scale S) shown with ds decimals, as Python's Decimal str would (ds <= S, v >= 0)."""
    frac = (v % TEN[S]).cast(pl.String).str.zfill(S).str.slice(0, ds)
    whole = (v // TEN[S]).cast(pl.String)
    return pl.when(ds == 0).then(whole).otherwise(pl.concat_str([whole, pl.lit("."), frac]))


def dec_parse(s):
    """A plain decimal string (validated) -> (int at scale S, its scale)."""
    whole = s.str.extract(r"^(\d+)", 1).cast(pl.Int64)
    frac = s.str.extract(r"\.(\d+)$", 1).fill_null("")
    ds = frac.str.len_chars().cast(pl.Int64)
    fracv = pl.when(ds > 0).then(frac.str.pad_end(S, "0").cast(pl.Int64)).otherwise(0)
    return whole * TEN[S] + fracv, ds


def lit_json(text):
    return jstr(text)                   # "..." with the quotes


def trace_item(cond, *parts):
    """A JSON string literal (of the concatenated parts) where cond holds, else null. parts: str (constant,
    JSON-escaped here) or polars expressions whose values need no escaping (validated codes, dates, numbers)."""
    exprs = [pl.lit('"')]
    for p in parts:
        exprs.append(pl.lit(jstr(p)[1:-1]) if isinstance(p, str) else p)
    exprs.append(pl.lit('"'))
    e = pl.concat_str(exprs)
    return e if cond is True else pl.when(cond).then(e)


def show_list(listcol):
    return pl.concat_str([pl.lit("["), listcol.list.sort().list.join(", "), pl.lit("]")])


def plan(df: pl.DataFrame, lines: pl.Series):
    """Returns (ok mask, output line column)."""
    n = df.height
    flat = df.select(
        *[col(p).alias(p) for p in STRUCTS],
        *[col(p).alias(p) for p in LEAVES],
    )
    L = pl.col
    # -- 1. the structural screen: is this line exactly what was parsed? -------------------
    keys = sum(L(p).is_not_null().cast(pl.Int64) for p in list(LEAVES) + STRUCTS)
    strings = sum(L(p).is_not_null().cast(pl.Int64) for p, (_, k) in LEAVES.items() if k == "s") \
        + L("claim.documents").list.len().fill_null(0) + L("claim.circumstances").list.len().fill_null(0)
    colons_in_values = sum(L(p).str.count_matches(":", literal=True).fill_null(0)
                           for p in ("policy.id", "claim.id"))
    quotes_in_values = 0
    raw = lines
    flat = flat.with_columns(
        _colons=raw.str.count_matches(":", literal=True),
        _quotes=raw.str.count_matches('"', literal=True),
        _bs=raw.str.contains("\\", literal=True),
    )
    screen = (~L("_bs")) & (L("_colons") == keys + colons_in_values) & (L("_quotes") == 2 * keys + 2 * strings)
    # numeric-looking ids may have been coerced from JSON numbers
    screen = screen & ~L("policy.id").fill_null("x").str.contains(NUMLIKE_RE) \
        & ~L("claim.id").fill_null("x").str.contains(NUMLIKE_RE)
    # -- 2. validation (conservative: anything doubtful goes to the row path) ---------------
    dates = ["policy.purchased", "policy.start", "policy.end", "item.purchased", "claim.occurred", "claim.reported"]
    ok = screen & (L("product") == "accidental-damage") & L("policy.id").is_not_null() & L("claim.id").is_not_null()
    for d in dates:
        ok = ok & L(d).fill_null("").str.contains(DATE_RE)
    parsed = {d: L(d).str.to_date("%Y-%m-%d", strict=False) for d in dates}
    for d in dates:
        ok = ok & parsed[d].is_not_null()
    ok = ok & L("policy.holder.age").is_between(0, 150) & L("policy.holder.residence").is_in(list(COUNTRIES)) \
        & L("item.purchased_in").is_in(list(COUNTRIES)) & (L("item.kind") == "mobile_phone") \
        & L("claim.event").is_in(list(F["claim.event"].values)) & L("claim.repairable").is_not_null()
    ok = ok & L("item.price.amount").fill_null("").str.contains(AMOUNT_RE) \
        & L("item.price.currency").is_in(sorted(P.currencies))
    has_cost = L("claim.repair_cost").is_not_null()
    ok = ok & (~has_cost | (L("claim.repair_cost.amount").fill_null("").str.contains(AMOUNT_RE)
                            & (L("claim.repair_cost.currency") == L("item.price.currency"))))
    ok = ok & (~L("claim.repairable") | has_cost)                          # required_when
    ok = ok & (L("claim.days_outside_residence").fill_null(0) >= 0) \
        & (L("claim.days_outside_residence").fill_null(0) < 10 ** 9)
    ok = ok & (L("claim.negligence_share").is_null() | L("claim.negligence_share").str.contains(SHARE_RE))
    docs = L("claim.documents").fill_null([])
    circs = L("claim.circumstances").fill_null([])
    ok = ok & docs.list.eval(pl.element().is_in(list(F["claim.documents"].values))).list.all() \
        & circs.list.eval(pl.element().is_in(list(F["claim.circumstances"].values))).list.all()
    ok = ok & (parsed["policy.end"] >= parsed["policy.start"]) & (parsed["claim.reported"] >= parsed["claim.occurred"])
    flat = flat.with_columns(ok=ok.fill_null(False), **{"d_" + d: parsed[d] for d in dates})
    # defaults
    flat = flat.with_columns(
        premium_paid=L("policy.premium_paid").fill_null(True), sole_owner=L("policy.holder.sole_owner").fill_null(True),
        prior_fraud=L("policy.holder.prior_fraud").fill_null(False), parts=L("claim.parts_available").fill_null(True),
        dout=L("claim.days_outside_residence").fill_null(0), other=L("claim.other_insurance").fill_null(False),
        docs=docs, circs=circs, cur=L("item.price.currency"),
    )
    # -- 3. rules ----------------------------------------------------------------------------
    eu = BOOK_EU
    days = lambda a, b: (L("d_" + b) - L("d_" + a)).dt.total_days()
    tests = {
        "late-enrolment": days("item.purchased", "policy.purchased") > 6,
        "holder-underage": L("policy.holder.age") < 18,
        "not-sole-owner": ~L("sole_owner"),
        "residence": L("policy.holder.residence") != "RO",
        "prior-fraud": L("prior_fraud"),
        "premium-unpaid": ~L("premium_paid"),
        "outside-coverage-period": (L("d_claim.occurred") < L("d_policy.start")) | (L("d_claim.occurred") > L("d_policy.end")),
        "purchased-outside-eu": ~L("item.purchased_in").is_in(eu),
        "purchased-outside-residence": L("item.purchased_in") != L("policy.holder.residence"),
        "outside-residence-60-days": L("dout") > 60,
        "event-not-covered": L("claim.event").is_in(sorted(NOT_COVERED)),
    }
    for r in P.declining:
        if r.circumstance is not None:
            t = circs.list.contains(r.circumstance)
            if r.id == "third-party-liability":
                t = t & ~(L("claim.event") == "vandalism")
            tests[r.id] = t
    shown = {  # how the trace shows a claim value (rule_step)
        "item.purchased": L("item.purchased"), "policy.purchased": L("policy.purchased"),
        "policy.holder.age": L("policy.holder.age").cast(pl.String), "policy.holder.residence": L("policy.holder.residence"),
        "policy.holder.sole_owner": pl.when(L("sole_owner")).then(pl.lit("true")).otherwise(pl.lit("false")),
        "policy.holder.prior_fraud": pl.when(L("prior_fraud")).then(pl.lit("true")).otherwise(pl.lit("false")),
        "policy.premium_paid": pl.when(L("premium_paid")).then(pl.lit("true")).otherwise(pl.lit("false")),
        "claim.occurred": L("claim.occurred"), "claim.reported": L("claim.reported"), "policy.start": L("policy.start"),
        "policy.end": L("policy.end"), "item.purchased_in": L("item.purchased_in"),
        "claim.days_outside_residence": L("dout").cast(pl.String), "claim.event": L("claim.event"),
        "claim.circumstances": show_list(circs),
        "claim.other_insurance": pl.when(L("other")).then(pl.lit("true")).otherwise(pl.lit("false")),
    }

    def rule_line(r, what):
        parts = [f"{what} {r.id} ({r.clause}) applies: {r.when_text}"]
        reads = [x for x in r.reads if x in shown]
        if reads:
            parts.append(" (with ")
            for i, x in enumerate(reads):
                parts += [(", " if i else "") + f"{x} = ", shown[x]]
            parts.append(")")
        return trace_item(L("t_" + r.id), *parts)

    flat = flat.with_columns(**{"t_" + k: v.fill_null(False) for k, v in tests.items()})
    declined = pl.any_horizontal([L("t_" + r.id) for r in P.declining])
    trace_decl = []
    for r in P.declining:
        if r.id == "purchased-outside-eu":
            trace_decl.append(trace_item(True, "eu_member_states = [27 values]"))
        trace_decl.append(rule_line(r, r.section))
    decl_reasons = [pl.when(L("t_" + r.id)).then(pl.lit(REASON[r.id])) for r in sorted(P.declining, key=lambda r: r.rank)]
    # documents
    doc_need = {}
    for d in sorted(P.documents, key=lambda d: d.rank):
        need = ~docs.list.contains(d.document)
        if d.id == "police-report":
            need = need & (L("claim.event") == "vandalism")
        doc_need[d.id] = need
    flat = flat.with_columns(declined=declined, **{"m_" + k: v for k, v in doc_need.items()})
    pending = ~L("declined") & pl.any_horizontal([L("m_" + k) for k in doc_need])
    flat = flat.with_columns(pending=pending)
    ref_tests = {"other-insurance": L("other"), "late-notification": days("claim.occurred", "claim.reported") > 30}
    flat = flat.with_columns(**{"t_" + k: v for k, v in ref_tests.items()})
    referred = ~L("declined") & ~L("pending") & pl.any_horizontal([L("t_" + k) for k in ref_tests])
    flat = flat.with_columns(referred=referred)
    approved = ~L("declined") & ~L("pending") & ~L("referred")
    flat = flat.with_columns(approved=approved)
    # -- 4. settlement, exact: integers at scale S with Decimal's display scale beside them ---------
    price, price_s = dec_parse(L("item.price.amount"))
    cost, cost_s = dec_parse(L("claim.repair_cost.amount").fill_null("0"))
    share, share_s = dec_parse(L("claim.negligence_share").fill_null("0"))
    flat = flat.with_columns(price=price, price_s=price_s, cost=cost, cost_s=cost_s, share=share, share_s=share_s,
                             days_owned=days("item.purchased", "claim.reported"))
    do = L("days_owned")
    band = pl.when(do <= 183).then(0).when(do <= 365).then(1).when(do <= 730).then(2).otherwise(3)
    rate_k = pl.lit(None, pl.Int64)   # rate in tenths
    flat = flat.with_columns(band=band)
    rate_tenths = L("band").replace_strict([0, 1, 2, 3], [0, 1, 2, 3], return_dtype=pl.Int64)
    rate_s = pl.when(L("band") == 0).then(0).otherwise(1)
    # current_value = price * (1 - rate): (10 - r)/10 ; scale price_s + (0 if r == 0 else 1)
    cv = L("price") * (10 - rate_tenths) // 10
    flat = flat.with_columns(rate_t=rate_tenths, rate_s=rate_s, cv=cv, cv_s=L("price_s") + rate_s)
    repair = L("claim.repairable") & L("parts") & (L("cost") <= L("cv"))
    flat = flat.with_columns(repair=repair.fill_null(False))
    gross = pl.when(L("repair")).then(L("cost")).otherwise(L("cv"))
    gross_s = pl.when(L("repair")).then(L("cost_s")).otherwise(L("cv_s"))
    flat = flat.with_columns(gross=gross, gross_s=gross_s)
    # excess: RO (and every row not declined) -> default 50.00 EUR; other rows of the table
    ex_cur = L("policy.holder.residence").replace_strict(EXCESS_CUR, default=EXCESS_DEFAULT[1])
    ex_val = L("policy.holder.residence").replace_strict(EXCESS_VAL, default=EXCESS_DEFAULT[0] * 10 ** (S - 2))
    flat = flat.with_columns(ex_cur=ex_cur, ex=ex_val)
    # a row reaching settlement whose excess is in another currency: the row path raises; fall back
    flat = flat.with_columns(ok=L("ok") & ~(L("approved") & (L("ex_cur") != L("cur"))))
    pos = L("gross") > 0
    applied = pl.when(pos).then(pl.min_horizontal(L("ex"), L("gross"))).otherwise(0)
    applied_s = pl.when(~pos).then(0).when(L("gross") < L("ex")).then(L("gross_s")).otherwise(2)
    flat = flat.with_columns(applied=applied, applied_s=applied_s)
    flat = flat.with_columns(after=L("gross") - L("applied"), after_s=pl.max_horizontal(L("gross_s"), L("applied_s")))
    neg = L("share") > 0
    one_minus_s = pl.max_horizontal(pl.lit(0), L("share_s"))
    adj = L("after") * (TEN[S] - L("share")) // TEN[S]
    flat = flat.with_columns(neg=neg, adj=adj, adj_s=L("after_s") + one_minus_s)
    flat = flat.with_columns(pay=pl.when(L("neg")).then(L("adj")).otherwise(L("after")),
                             pay_s=pl.when(L("neg")).then(L("adj_s")).otherwise(L("after_s")))
    half = TEN[S - 2] // 2
    flat = flat.with_columns(pay_r=(L("pay") + half) // TEN[S - 2] * TEN[S - 2],
                             xs_r=(L("applied") + half) // TEN[S - 2] * TEN[S - 2])
    # a value the fixed scale cannot hold exactly -> fall back (never here: scales <= 5)
    flat = flat.with_columns(ok=L("ok") & ~(L("approved") & (L("pay_s") > S)))
    cur = L("cur")
    amt = lambda v, s: pl.concat_str([dec_text(L(v), L(s)), pl.lit(" "), cur])
    band_label = L("band").replace_strict([0, 1, 2, 3], BAND_LABELS, return_dtype=pl.String)
    rate_txt = L("band").replace_strict([0, 1, 2, 3], ["0", "0.1", "0.2", "0.3"], return_dtype=pl.String)
    dep_txt = L("band").replace_strict([0, 1, 2, 3], ["0.00", "0.10", "0.20", "0.30"], return_dtype=pl.String)
    kind = pl.when(L("repair")).then(pl.lit("repair")).otherwise(pl.lit("replacement"))
    eager_cv = L("claim.repairable") & L("parts")          # `repair` reads current_value only then
    defs = [trace_item(True, "days_owned = ", do.cast(pl.String)),
            trace_item(True, "depreciation_by_age[", do.cast(pl.String), "]: band ", band_label, " days: ", rate_txt, " (F.2)"),
            trace_item(True, "depreciation_rate = ", rate_txt),
            trace_item(True, "current_value = ", amt("cv", "cv_s"))]
    settle = [
        trace_item(eager_cv, *[]) if False else None,
    ]
    repair_line = trace_item(True, "repair = ", pl.when(L("repair")).then(pl.lit("true")).otherwise(pl.lit("false")))
    lazy = [trace_item(eager_cv, "days_owned = ", do.cast(pl.String)),
            trace_item(eager_cv, "depreciation_by_age[", do.cast(pl.String), "]: band ", band_label, " days: ", rate_txt, " (F.2)"),
            trace_item(eager_cv, "depreciation_rate = ", rate_txt),
            trace_item(eager_cv, "current_value = ", amt("cv", "cv_s")),
            repair_line,
            trace_item(~eager_cv, "days_owned = ", do.cast(pl.String)),
            trace_item(~eager_cv, "depreciation_by_age[", do.cast(pl.String), "]: band ", band_label, " days: ", rate_txt, " (F.2)"),
            trace_item(~eager_cv, "depreciation_rate = ", rate_txt),
            trace_item(~eager_cv & ~L("repair"), "current_value = ", amt("cv", "cv_s")),
            trace_item(True, "gross = ", amt("gross", "gross_s")),
            trace_item(True, "amount gross = ", amt("gross", "gross_s")),
            trace_item(True, EXCESS_TRACE_DEFAULT) if False else
            pl.when(L("policy.holder.residence").is_in(list(EXCESS_VAL))).then(
                trace_item(True, "excess_by_country[", L("policy.holder.residence"), "]: ",
                           dec_text(L("ex"), pl.lit(2)), " ", L("ex_cur"), " (E.3, annex)")).otherwise(
                trace_item(True, "excess_by_country[", L("policy.holder.residence"), "]: no row for ",
                           L("policy.holder.residence"), ", default ", dec_text(L("ex"), pl.lit(2)), " ", L("ex_cur"),
                           " (E.3, annex)")),
            trace_item(True, "excess ", dec_text(L("ex"), pl.lit(2)), " ", cur, ": ", amt("applied", "applied_s"),
                       " borne by the customer, ", amt("after", "after_s"), " left"),
            trace_item(L("neg"), "gross-negligence (J.7): ", amt("after", "after_s"), " becomes ", amt("adj", "adj_s"),
                       " (amount * (1 - claim.negligence_share))"),
            trace_item(True, "settlement ", kind, ": payout ", amt("pay", "pay_s"), " rounded half-up to ",
                       amt("pay_r", "two"), ", excess ", amt("xs_r", "two")),
            ]
    flat = flat.with_columns(two=pl.lit(2, pl.Int64))
    # -- 5. the document --------------------------------------------------------------------------
    none_line = trace_item(True, f"eligibility, events, exclusions and conditions: none of {len(P.declining)} rules applies")
    doc_lines = [trace_item(L("m_" + d.id), f"document {d.document} ({d.clause}) is missing")
                 for d in sorted(P.documents, key=lambda d: d.rank)]
    ref_rules = sorted(P.referrals, key=lambda r: r.rank)
    ref_lines = [rule_line(r, "referral") for r in ref_rules]
    trace_of = {
        "declined": trace_decl + [trace_item(True, "outcome declined: nothing is paid")],
        "pending": trace_decl + [none_line] + doc_lines + [trace_item(True, "outcome pending: nothing is paid")],
        "referred": trace_decl + [none_line] + ref_lines + [trace_item(True, "outcome referred: nothing is paid")],
        "approved": trace_decl + [none_line] + lazy,
    }
    eu_none = [trace_item(True, "eu_member_states = [27 values]"), none_line]   # no declining rule held
    trace_of["pending"] = eu_none + doc_lines + [trace_item(True, "outcome pending: nothing is paid")]
    trace_of["referred"] = eu_none + ref_lines + [trace_item(True, "outcome referred: nothing is paid")]
    trace_of["approved"] = eu_none + lazy
    reasons_of = {
        "declined": pl.concat_str(decl_reasons, separator=",", ignore_nulls=True),
        "referred": pl.concat_str([pl.when(L("t_" + r.id)).then(pl.lit(REASON[r.id])) for r in ref_rules],
                                  separator=",", ignore_nulls=True),
        "pending": pl.lit(""),
        "approved": pl.when(L("neg")).then(pl.lit(REASON["gross-negligence"])).otherwise(pl.lit("")),
    }
    missing = pl.concat_str([pl.when(L("m_" + d.id)).then(pl.lit(jstr(d.document)))
                             for d in sorted(P.documents, key=lambda d: d.rank)], separator=",", ignore_nulls=True)
    zero = pl.concat_str([pl.lit('{"amount":"0.00","currency":"'), cur, pl.lit('"}')])
    flat = flat.with_row_index("ix")
    frames = []
    for o in ("declined", "pending", "referred", "approved"):
        if o == "approved":
            payout = pl.concat_str([pl.lit('{"amount":"'), dec_text(L("pay_r"), pl.lit(2)), pl.lit('","currency":"'), cur, pl.lit('"}')])
            excess = pl.concat_str([pl.lit('{"amount":"'), dec_text(L("xs_r"), pl.lit(2)), pl.lit('","currency":"'), cur, pl.lit('"}')])
            settle = pl.concat_str([pl.lit('"'), kind, pl.lit('"')])
            dep = pl.concat_str([pl.lit('"'), dep_txt, pl.lit('"')])
        else:
            payout = excess = zero
            settle = dep = pl.lit("null")
        out = pl.concat_str([
            pl.lit('{"claim_id":"'), L("claim.id"),
            pl.lit(f'","product":{jstr(P.id)},"product_version":{jstr(P.version)},"outcome":"{o}","settlement":'), settle,
            pl.lit(',"payout":'), payout, pl.lit(',"excess":'), excess, pl.lit(',"depreciation":'), dep,
            pl.lit(',"reasons":['), reasons_of[o], pl.lit('],"missing_documents":['),
            missing if o == "pending" else pl.lit(""),
            pl.lit('],"trace":['), pl.concat_str(trace_of[o], separator=",", ignore_nulls=True), pl.lit("]}")])
        frames.append(flat.lazy().filter(L("ok") & L(o)).select(L("ix"), out.alias("out")))
    parts = pl.collect_all(frames)
    return flat["ok"], pl.concat(parts)


# product constants a compiler would take from the typed AST / tables
BOOK_EU = P.code.parts[1] and None
import yaml  # noqa
_y = yaml.safe_load(open(P.file))
BOOK_EU = list(_y["definitions"]["eu_member_states"])
NOT_COVERED = frozenset(v for v in F["claim.event"].values
                        if v.split(".")[0] in _y["events"]["not_covered"])
REASON = {r.id: json.dumps(r.reason(), ensure_ascii=False, separators=(",", ":"))
          for r in list(P.declining) + list(P.referrals)}
REASON["gross-negligence"] = json.dumps(P.settlement.steps[2].reason.reason(), ensure_ascii=False, separators=(",", ":"))
EXCESS_VAL = {"DK": 375_00 * 10 ** (S - 2), "NO": 475_00 * 10 ** (S - 2), "SE": 480_00 * 10 ** (S - 2), "GB": 50_00 * 10 ** (S - 2)}
EXCESS_CUR = {"DK": "DKK", "NO": "NOK", "SE": "SEK", "GB": "GBP"}
EXCESS_DEFAULT = (50_00, "EUR")
BAND_LABELS = ["0-183", "184-365", "366-730", "731 and more"]


def row_path(where, number, line):
    item = jsonl_line(line, where, number)
    if item is None:
        return ""
    result = item.error.to_dict() if item.error is not None else evaluate_claim(BOOK, item.claim, where, number)
    return _jsonl_out(result)


import pyarrow as pa, pyarrow.json as pj, pyarrow.csv as pcsv
_m = pa.struct([("amount", pa.string()), ("currency", pa.string())])
ASCHEMA = pa.schema([("product", pa.string()),
 ("policy", pa.struct([("id", pa.string()), ("purchased", pa.string()), ("start", pa.string()), ("end", pa.string()), ("premium_paid", pa.bool_()),
   ("holder", pa.struct([("age", pa.int64()), ("residence", pa.string()), ("sole_owner", pa.bool_()), ("prior_fraud", pa.bool_())]))])),
 ("item", pa.struct([("kind", pa.string()), ("purchased", pa.string()), ("price", _m), ("purchased_in", pa.string())])),
 ("claim", pa.struct([("id", pa.string()), ("event", pa.string()), ("occurred", pa.string()), ("reported", pa.string()), ("repairable", pa.bool_()),
   ("parts_available", pa.bool_()), ("repair_cost", _m), ("documents", pa.list_(pa.string())), ("circumstances", pa.list_(pa.string())),
   ("days_outside_residence", pa.int64()), ("negligence_share", pa.string()), ("other_insurance", pa.bool_())]))])
T = {}


def tick(name, t0):
    t = time.perf_counter(); T[name] = T.get(name, 0) + t - t0; return t


def blocks(f, size):
    rest = b""
    while True:
        data = f.read(size)
        if not data:
            if rest:
                yield rest
            return
        data = rest + data
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            rest = data; continue
        rest = data[cut:]
        yield data[:cut]


def run(path, out_path, block_mb=16, start=0, end=None, first=0):
    t0 = time.perf_counter()
    stats = {"rows": 0, "fallback": 0, "batch_fallback": 0}
    with open(path, "rb") as fin, open(out_path, "wb") as fout:
        number = first
        fin.seek(start)
        src = fin if end is None else io.BytesIO(fin.read(end - start))
        for data in blocks(src, block_mb << 20):
            t = time.perf_counter()
            n = data.count(b"\n")
            try:
                if b"\r" in data or b"\n\n" in data or data.startswith(b"\n") or not data.isascii():
                    raise ValueError("blank lines, CR or non-ASCII: by rows")
                lines = pcsv.read_csv(io.BytesIO(data), read_options=pcsv.ReadOptions(column_names=["line"], block_size=1 << 22),
                    parse_options=pcsv.ParseOptions(delimiter="\x01", quote_char=False, escape_char=False),
                    convert_options=pcsv.ConvertOptions(column_types={"line": pa.string()}, strings_can_be_null=False,
                                                        quoted_strings_can_be_null=False))
                table = pj.read_json(io.BytesIO(data), read_options=pj.ReadOptions(block_size=1 << 22),
                                     parse_options=pj.ParseOptions(explicit_schema=ASCHEMA, unexpected_field_behavior="ignore"))
                if table.num_rows != n or lines.num_rows != n:
                    raise ValueError("row count")
                t = tick("read+parse", t)
                df = pl.from_arrow(table)
                ok, out = plan(df, pl.from_arrow(lines["line"]))
                t = tick("plan", t)
                bad = (~ok).arg_true().to_list()
            except Exception as e:
                stats["batch_fallback"] += 1
                out = None; bad = list(range(n))
            if bad:
                if out is not None:
                    col_lines = lines["line"]
                    fixed = [row_path(path, number + i + 1, col_lines[i].as_py()).rstrip("\n") for i in bad]
                else:
                    texts = data.split(b"\n")
                    fixed = [row_path(path, number + i + 1, texts[i].decode("utf-8")).rstrip("\n") for i in bad]
                fb = pl.DataFrame({"ix": pl.Series(bad, dtype=pl.UInt32), "out": pl.Series(fixed, dtype=pl.String)})
                out = fb if out is None else pl.concat([out, fb]).sort("ix")
                stats["fallback"] += len(bad)
                t = tick("fallback", t)
            elif len(out) > 1:
                out = out.sort("ix")
            out.select("out").write_csv(fout, include_header=False, quote_style="never")
            t = tick("write", t)
            number += n
            stats["rows"] += n
    stats["seconds"] = time.perf_counter() - t0
    stats["stages"] = {k: round(v, 3) for k, v in T.items()}
    return stats


if __name__ == "__main__":
    s = run(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 16)
    s["claims_per_s"] = round(s["rows"] / s["seconds"])
    print(json.dumps(s), file=sys.stderr)
