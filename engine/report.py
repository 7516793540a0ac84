"""An impact report for a person: a summary for the terminal, and one self-contained HTML page.

The page needs no network: its CSS is inline, its charts are SVG drawn here (bars of the payout
delta by segment and by band or table row, per currency, and of the changed claims), and its
Content-Security-Policy allows nothing to be fetched. A few lines of inline script note each
chart's rendered size on it (`data-rendered-width`, `data-rendered-height`), so a headless
browser's DOM dump shows that the charts were laid out.
"""
from __future__ import annotations

import html
from decimal import Decimal

from .impact import INVALID, STATES, Impact

TOP_SEGMENTS = 12                 # rows per chart and per table


def _n(number: int) -> str:
    return f"{number:,}"


def _amount(text: str | Decimal, sign: bool = False) -> str:
    value = Decimal(text)
    return f"{value:+,}" if sign else f"{value:,}"


def _percent(part: Decimal, whole: Decimal) -> str:
    if not whole:
        return ""
    return f" ({part / whole * 100:+.1f} %)"


def _decision_line(summary: dict) -> str:
    if summary["outcome"] == INVALID:
        error = summary["error"]
        return f"invalid: {error['code']}" + (f" at {error['path']}" if error.get("path") else "")
    text = summary["outcome"]
    if summary["outcome"] == "approved":
        text += f" {summary['settlement']} {_amount(summary['payout']['amount'])} {summary['payout']['currency']}"
    if summary["reasons"]:
        text += ": " + ", ".join(f"{r['code']} ({r['clause']})" for r in summary["reasons"])
    if summary["missing_documents"]:
        text += "; missing " + ", ".join(summary["missing_documents"])
    return text


# -- the terminal ---------------------------------------------------------------------------------------
def render_text(impact: Impact, top: int = 10, segments: int = 5) -> str:
    lines = []
    share = f" ({impact.changed / impact.claims:.1%})" if impact.claims else ""
    lines.append(f"impact of {impact.labels.get('candidate', 'the candidate')} over "
                 f"{impact.labels.get('baseline', 'the baseline')}: {_n(impact.claims)} claims, "
                 f"{_n(impact.changed)} changed{share}")
    if impact.identical:
        lines.append("  the same product files on both sides" + (": no change, as it must be" if not impact.changed
                                                                 else ": CHANGES ANYWAY (the engine is not deterministic)"))
    if impact.decided_once:
        lines.append(f"  decided once, the same on both sides: {', '.join(impact.decided_once)}"
                     + (" (--decide-unchanged decides them twice)" if impact.identical else ""))
    lines.append("")
    used = [state for state in STATES if any(impact.matrix[(state, other)] or impact.matrix[(other, state)]
                                             for other in STATES)]
    width = max([8, *(len(_n(n)) for n in impact.matrix.values())]) + 1
    lines.append("decisions   " + "from \\ to".ljust(10) + "".join(state.rjust(width) for state in used))
    for before in used:
        cells = "".join((_n(impact.matrix[(before, after)]) if impact.matrix[(before, after)] else ".").rjust(width)
                        for after in used)
        lines.append("            " + before.ljust(10) + cells)
    moved = [(n, a, b) for (a, b), n in impact.matrix.items() if a != b]
    if moved:
        lines.append("  " + ", ".join(f"{a} → {b} {_n(n)}" for n, a, b in sorted(moved, key=lambda m: (-m[0], m[1], m[2]))))
    lines.append("")
    totals = impact.totals()
    if totals:
        lines.append("payout      currency          baseline         candidate             delta")
        for row in totals:
            delta = Decimal(row["delta"])
            lines.append(f"            {row['currency']:8} {_amount(row['baseline']):>17} {_amount(row['candidate']):>17} "
                         f"{_amount(delta, True):>17}{_percent(delta, Decimal(row['baseline']))}")
        lines.append("")
    if impact.changed:
        for dimension in impact.dimensions():
            rows = [row for row in impact.segments(dimension) if row["changed"]][:segments]
            if not rows:
                continue
            lines.append(f"by {dimension}")
            for row in rows:
                currency = f" {row['currency']}" if row["currency"] else ""
                lines.append(f"  {row['value']}{' (' + row['currency'] + ')' if row['currency'] else ''}: "
                             f"{_n(row['changed'])} of {_n(row['claims'])} changed, "
                             f"{_amount(row['delta'], True)}{currency}")
        lines.append("")
        shown = impact.top()[:top]
        lines.append(f"claims that changed most ({len(shown)} of {_n(impact.changed)})")
        for entry in shown:
            delta = entry["delta"]
            paid = f", {_amount(delta['amount'], True)} {delta['currency']}" if delta else ""
            lines.append(f"  {entry['claim_id'] or '(no claim id)'}  {entry['product'] or ''}  "
                         f"{entry['before']['outcome']} → {entry['after']['outcome']}{paid}   ({entry['where']})")
            lines.append(f"    before: {_decision_line(entry['before'])}")
            lines.append(f"    after:  {_decision_line(entry['after'])}")
            lines.append(f"    why:    {'; '.join(entry['causes'])}")
        lines.append("")
    for side in ("baseline", "candidate"):
        errors = impact.errors[side]
        if errors:
            codes = ", ".join(f"{code} {_n(n)}" for code, n in errors.most_common())
            lines.append(f"input errors under the {side}: {_n(sum(errors.values()))} claims ({codes})")
            for _, example in impact.examples[side][:3]:
                lines.append(f"  {example['where']}: {example['code']}: {example['message']}")
    return "\n".join(lines).rstrip("\n") + "\n"


# -- the page ----------------------------------------------------------------------------------------------
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1080px;color:#1d232a;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde2e8;padding-bottom:4px}
h3{font-size:14px;margin:16px 0 6px;color:#4a5563}
.sub{color:#5b6672;margin:0 0 16px}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #dde2e8;border-radius:8px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:20px}.card span{color:#5b6672;font-size:12px}
table{border-collapse:collapse;margin:6px 0 12px}th,td{padding:4px 8px;border-bottom:1px solid #eef1f4;text-align:left;vertical-align:top}
th{font-weight:600;color:#4a5563;font-size:12px}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.matrix td{text-align:right;min-width:70px}.matrix td.same{color:#7a8591;background:#f5f7f9}
.up{color:#17703a}.down{color:#b42318}.ok{color:#17703a}.bad{color:#b42318;font-weight:600}
svg.chart{display:block;margin:4px 0 14px;max-width:100%}svg.chart text{font:12px system-ui,sans-serif;fill:#1d232a}
.claims td{font-size:13px}.muted{color:#7a8591}code{font-size:12px}
"""

_SCRIPT = """
for (const svg of document.querySelectorAll('svg.chart')) {
  const box = svg.getBoundingClientRect();
  svg.setAttribute('data-rendered-width', Math.round(box.width));
  svg.setAttribute('data-rendered-height', Math.round(box.height));
}
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def bar_chart(title: str, rows: list[tuple[str, Decimal]], unit: str = "", ident: str = "",
              colour: str | None = None) -> str:
    """A horizontal bar chart in SVG: one bar a row, from a zero line, negative values to the left."""
    row_height, label_width, width, pad = 22, 300, 760, 8
    height = pad * 2 + 20 + row_height * len(rows)
    largest = max((abs(value) for _, value in rows), default=Decimal(0)) or Decimal(1)
    signed = any(value < 0 for _, value in rows)
    plot = width - label_width - 110
    zero = label_width + (plot // 2 if signed else 0)
    scale = Decimal(plot // 2 if signed else plot) / largest
    parts = [f'<svg class="chart" id="{_e(ident)}" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{_e(title)}</title>",
             f'<text x="0" y="{pad + 12}" font-weight="600">{_e(title)}</text>',
             f'<line x1="{zero}" y1="{pad + 20}" x2="{zero}" y2="{height - pad}" stroke="#9aa5b1" stroke-width="1"/>']
    for index, (label, value) in enumerate(rows):
        y = pad + 20 + index * row_height
        length = int(abs(value) * scale)
        if value and length < 1:
            length = 1
        x = zero - length if value < 0 else zero
        fill = colour or ("#d9534f" if value < 0 else "#3c9a5f")
        shown = label if len(label) <= 44 else label[:43] + "…"
        parts.append(f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end"><title>{_e(label)}</title>'
                     f"{_e(shown)}</text>")
        parts.append(f'<rect class="bar" x="{x}" y="{y + 3}" width="{length}" height="{row_height - 6}" '
                     f'fill="{fill}"><title>{_e(label)}: {_e(value)}{_e(unit)}</title></rect>')
        text_x = (x - 6) if value < 0 else (x + length + 6)
        anchor = "end" if value < 0 else "start"
        if value < 0 and text_x < label_width + 40:
            text_x, anchor = zero + 6, "start"
        parts.append(f'<text x="{text_x}" y="{y + 15}" text-anchor="{anchor}">{_e(_shown_value(value))}{_e(unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _shown_value(value: Decimal) -> str:
    return f"{value:+,}" if isinstance(value, Decimal) and value.as_tuple().exponent < 0 else f"{value:,}"


def _matrix(impact: Impact) -> str:
    used = [state for state in STATES if any(impact.matrix[(state, other)] or impact.matrix[(other, state)]
                                             for other in STATES)]
    largest = max([n for (a, b), n in impact.matrix.items() if a != b] or [1])
    head = "".join(f"<th class='num'>{_e(state)}</th>" for state in used)
    rows = []
    for before in used:
        cells = []
        for after in used:
            n = impact.matrix[(before, after)]
            if before == after:
                cells.append(f"<td class='same'>{_n(n) if n else '·'}</td>")
            elif n:
                alpha = 0.12 + 0.6 * n / largest
                cells.append(f"<td style='background:rgba(217,83,79,{alpha:.2f})' title='{_e(before)} → {_e(after)}'>"
                             f"<b>{_n(n)}</b></td>")
            else:
                cells.append("<td class='muted'>·</td>")
        rows.append(f"<tr><th>{_e(before)}</th>{''.join(cells)}</tr>")
    return (f"<table class='matrix' id='matrix'><tr><th>baseline \\ candidate</th>{head}</tr>{''.join(rows)}</table>")


def _segment_table(rows: list[dict]) -> str:
    body = "".join(
        f"<tr><td>{_e(r['value'])}</td><td>{_e(r['currency'] or '')}</td><td class='num'>{_n(r['claims'])}</td>"
        f"<td class='num'>{_n(r['changed'])}</td><td class='num'>{_e(_amount(r['baseline']))}</td>"
        f"<td class='num'>{_e(_amount(r['candidate']))}</td>"
        f"<td class='num {_sign_class(r['delta'])}'>{_e(_amount(r['delta'], True))}</td></tr>" for r in rows)
    return ("<table><tr><th>segment</th><th>currency</th><th class='num'>claims</th><th class='num'>changed</th>"
            f"<th class='num'>baseline</th><th class='num'>candidate</th><th class='num'>delta</th></tr>{body}</table>")


def _sign_class(delta: str) -> str:
    value = Decimal(delta)
    return "up" if value > 0 else ("down" if value < 0 else "")


def _charts(impact: Impact, dimension: str) -> str:
    """Charts of one dimension: the payout delta per currency, and the changed claims."""
    rows = impact.segments(dimension)
    parts = []
    for currency in sorted({r["currency"] for r in rows if r["currency"]}):
        mine = [r for r in rows if r["currency"] == currency and Decimal(r["delta"])][:TOP_SEGMENTS]
        if mine:
            parts.append(bar_chart(f"payout delta by {dimension}, {currency}",
                                   [(r["value"], Decimal(r["delta"])) for r in mine], f" {currency}",
                                   f"chart-{dimension}-{currency}"))
    changed: dict[str, int] = {}
    for r in rows:
        if r["changed"]:
            changed[r["value"]] = changed.get(r["value"], 0) + r["changed"]
    top = sorted(changed.items(), key=lambda item: (-item[1], item[0]))[:TOP_SEGMENTS]
    if top:
        parts.append(bar_chart(f"changed claims by {dimension}", [(label, Decimal(n)) for label, n in top], "",
                               f"chart-{dimension}-changed", colour="#4a7bd0"))
    return "".join(parts)


def _claims_table(entries: list[dict]) -> str:
    rows = []
    for entry in entries:
        delta = entry["delta"]
        paid = f"{_amount(delta['amount'], True)} {delta['currency']}" if delta else ""
        rows.append(
            f"<tr><td><b>{_e(entry['claim_id'] or '(no claim id)')}</b><br><span class='muted'>{_e(entry['where'])}"
            f"</span></td><td>{_e(entry['product'] or '')}</td><td>{_e(_decision_line(entry['before']))}</td>"
            f"<td>{_e(_decision_line(entry['after']))}</td>"
            f"<td class='num {_sign_class(delta['amount']) if delta else ''}'>{_e(paid)}</td>"
            f"<td>{'<br>'.join(_e(c) for c in entry['causes'])}</td></tr>")
    return ("<table class='claims' id='changed-claims'><tr><th>claim</th><th>product</th><th>before</th><th>after</th>"
            f"<th class='num'>payout delta</th><th>why</th></tr>{''.join(rows)}</table>")


def render_html(impact: Impact, top: int = 50) -> str:
    baseline = impact.labels.get("baseline", "baseline")
    candidate = impact.labels.get("candidate", "candidate")
    share = f"{impact.changed / impact.claims:.1%}" if impact.claims else "0%"
    moved = impact.count("outcome")
    cards = [("claims", _n(impact.claims)), ("changed", f"{_n(impact.changed)} ({share})"),
             ("outcome changed", _n(moved)), ("invalid, baseline", _n(sum(impact.errors["baseline"].values()))),
             ("invalid, candidate", _n(sum(impact.errors["candidate"].values())))]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<meta http-equiv='Content-Security-Policy' content=\"{_CSP}\">",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>Impact: {_e(candidate)} over {_e(baseline)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Impact of {_e(candidate)}</h1><p class='sub'>over {_e(baseline)}, replayed on {_n(impact.claims)} claims"
        + ("" if impact.identical is None else
           (" — <span class='ok'>the same product files: no change, as it must be</span>"
            if impact.identical and not impact.changed else
            " — <span class='bad'>the same product files, yet claims changed</span>" if impact.identical else ""))
        + "</p>"
        + (f"<p class='sub'>decided once, the same on both sides: {_e(', '.join(impact.decided_once))}</p>"
           if impact.decided_once else ""),
        "<div class='cards'>" + "".join(f"<div class='card'><b>{_e(v)}</b><span>{_e(k)}</span></div>" for k, v in cards)
        + "</div>",
        "<h2>Decisions, before and after</h2>", _matrix(impact),
        "<h2>Payout</h2>",
    ]
    totals = impact.totals()
    parts.append("<table id='totals'><tr><th>currency</th><th class='num'>claims</th><th class='num'>changed</th>"
                 "<th class='num'>baseline</th><th class='num'>candidate</th><th class='num'>delta</th></tr>"
                 + "".join(f"<tr><td>{_e(r['currency'])}</td><td class='num'>{_n(r['claims'])}</td>"
                           f"<td class='num'>{_n(r['changed'])}</td><td class='num'>{_e(_amount(r['baseline']))}</td>"
                           f"<td class='num'>{_e(_amount(r['candidate']))}</td><td class='num {_sign_class(r['delta'])}'>"
                           f"{_e(_amount(r['delta'], True))}{_e(_percent(Decimal(r['delta']), Decimal(r['baseline'])))}"
                           "</td></tr>" for r in totals) + "</table>")
    for dimension in impact.dimensions():
        rows = [r for r in impact.segments(dimension) if r["changed"] or dimension not in ("cause",)]
        title = {"band": "band or table row used", "cause": "cause of the change"}.get(dimension, dimension)
        parts.append(f"<h2 id='by-{_e(dimension)}'>By {_e(title)}</h2>")
        charts = _charts(impact, dimension)
        parts.append(charts or "<p class='muted'>no payout and no claim changed here.</p>")
        parts.append(_segment_table(rows[:TOP_SEGMENTS]))
    shown = impact.top()[:top]
    parts.append(f"<h2>Claims that changed most</h2><p class='sub'>{len(shown)} of {_n(impact.changed)} changed claims: "
                 "an outcome that changed first, then the largest payout delta.</p>")
    parts.append(_claims_table(shown) if shown else "<p class='muted'>none.</p>")
    parts.append("<h2>Input errors</h2>")
    for side in ("baseline", "candidate"):
        errors = impact.errors[side]
        parts.append(f"<h3>under the {side}: {_n(sum(errors.values()))} claims</h3>")
        if errors:
            parts.append("<table><tr><th>code</th><th class='num'>claims</th></tr>"
                         + "".join(f"<tr><td><code>{_e(code)}</code></td><td class='num'>{_n(n)}</td></tr>"
                                   for code, n in errors.most_common()) + "</table>")
            parts.append("<table><tr><th>where</th><th>code</th><th>message</th></tr>"
                         + "".join(f"<tr><td>{_e(x['where'])}</td><td><code>{_e(x['code'])}</code></td>"
                                   f"<td>{_e(x['message'])}</td></tr>" for _, x in impact.examples[side]) + "</table>")
    parts.append(f"<script>{_SCRIPT}</script></body></html>\n")
    return "".join(parts)


__all__ = ["render_text", "render_html", "bar_chart"]
