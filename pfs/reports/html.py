"""A self-contained HTML report of a simulation: a one-pager to hand out or print.

Stage: reporting. :func:`html_report` takes :class:`~pfs.results.Results` and returns
one HTML document as a string: the headline numbers with their standard errors, a
plain-language reading, the key charts (Altair, rendered offline by vl-convert and
embedded as SVG images), the budget-year and tranche tables, where the deal sits
among real deals, and the assumptions and sources. It fetches nothing: no scripts,
fonts or images from the network.
"""

from __future__ import annotations

import base64
import html
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pandas as pd

from pfs.formatting import Kind, format_value
from pfs.reports.charts import chart_spec, render, report_charts
from pfs.reports.content import (
    HEADLINE_ROWS,
    budget_table,
    headline_table,
    input_kind,
    is_tornado,
    reading,
    series_label,
    singular,
    spec_kind,
    uncertain_rows,
)
from pfs.results import Results
from pfs.scenario import PfsError

GOVERNMENT_KEYS = (
    "outcome_payments_mean",
    "max_annual_outlay_p95",
    "gov_net_savings_pv_mean",
    "p_gov_net_negative",
    "pfs_vs_ffs_pv_mean",
    "cost_per_outcome_unit",
)
INVESTOR_KEYS = ("p_investor_repaid", "p_investor_loss", "investor_irr_p50", "investor_irr_p05")
EVALUATION_KEYS = ("p_paid_without_true_effect", "p_not_paid_despite_true_effect")
CHART_CAPTIONS = {
    "budget": "What the payer pays and what the public saves in each budget year.",
    "net_savings": "How the government's net savings vary across simulated futures.",
    "investors": "How much investors get back for each unit of money they put in.",
    "evaluation": "Each dot is one simulated future. Dots in the coloured corners are the "
    "evaluation's mistakes: paying for nothing, or not paying for a real success.",
}
SENSITIVITY_CAPTION = (
    "How far this result moves when one input goes from its low to its high value: the "
    "longest bars are the assumptions most worth checking."
)

STYLE = """
:root { --payer: #1f4e9c; --investors: #e07b00; --ink: #1d1d1f; --muted: #5b5b60;
        --line: #dcdce0; --card: #f6f7f9; }
* { box-sizing: border-box; }
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--ink);
       margin: 0; background: #ffffff; line-height: 1.45; }
main { max-width: 1000px; margin: 0 auto; padding: 28px 32px 48px; }
h1 { font-size: 28px; margin: 0 0 4px; }
h2 { font-size: 21px; margin: 34px 0 10px; padding-bottom: 4px; border-bottom: 2px solid
     var(--line); }
h3 { font-size: 16px; margin: 18px 0 8px; color: var(--muted); text-transform: uppercase;
     letter-spacing: .04em; }
.meta { color: var(--muted); font-size: 14px; margin: 0 0 10px; }
.description { font-size: 15px; margin: 8px 0 0; }
.reading p { font-size: 16px; margin: 0 0 8px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr));
         gap: 12px; }
.card { background: var(--card); border-radius: 8px; padding: 12px 14px;
        border-left: 5px solid var(--payer); }
.card.investors { border-left-color: var(--investors); }
.card.evaluation { border-left-color: #8e44ad; }
.card .label { font-size: 13px; color: var(--muted); }
.card .value { font-size: 26px; font-weight: 650; margin: 2px 0; }
.card .se { font-size: 12px; color: var(--muted); }
.card .explain { font-size: 12.5px; color: var(--muted); margin-top: 4px; }
figure { margin: 18px 0 8px; page-break-inside: avoid; }
figure img { width: 100%; max-width: 940px; height: auto; display: block; }
figcaption { font-size: 14px; color: var(--muted); margin-top: 4px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; margin: 6px 0 4px; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: right;
         vertical-align: top; }
th { background: #eef1f6; font-weight: 600; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
.note { font-size: 13px; color: var(--muted); }
ul.notes li, ul.sources li { font-size: 14px; margin-bottom: 3px; word-break: break-word; }
footer { margin-top: 36px; font-size: 12.5px; color: var(--muted); border-top: 1px solid
         var(--line); padding-top: 8px; }
@media print { main { padding: 0; } h2 { page-break-after: avoid; } }
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _table(headers: list[str], rows: list[list[tuple[str, bool]]], caption: str = "") -> str:
    """An HTML table; each cell is ``(text, is_text)`` (text cells align left)."""
    text_class = ' class="text"'
    text_columns = {i for i, (_, is_text) in enumerate(rows[0])} if rows else set()
    text_columns = {i for i in text_columns if rows[0][i][1]} | {0}
    head = "".join(
        f"<th{text_class if i in text_columns else ''}>{_e(h)}</th>" for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(f"<td{text_class if is_text else ''}>{_e(v)}</td>" for v, is_text in row)
        + "</tr>"
        for row in rows
    )
    note = f'<p class="note">{_e(caption)}</p>' if caption else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


def _cards(res: Results, keys: tuple[str, ...], css: str) -> str:
    table = headline_table(res)
    currency = res.scenario.currency
    out = []
    for key in keys:
        row = table.loc[key]
        kind = cast(Kind, str(row["kind"]))
        se = row["std_error"]
        se_text = (
            f"± {format_value(se, kind, currency, precise=True)} (Monte Carlo s.e.)"
            if isinstance(se, float) and math.isfinite(se)
            else ""
        )
        out.append(
            f'<div class="card {css}" data-metric="{_e(key)}">'
            f'<div class="label">{_e(row["label"])}</div>'
            f'<div class="value">{_e(format_value(row["value"], kind, currency))}</div>'
            f'<div class="se">{_e(se_text)}</div>'
            f'<div class="explain">{_e(row["explanation"])}</div></div>'
        )
    return f'<div class="cards">{"".join(out)}</div>'


def _caption(name: str) -> str:
    if name.startswith("sensitivity"):
        return SENSITIVITY_CAPTION
    return CHART_CAPTIONS.get(name, "")


def _charts(res: Results, sensitivity: pd.DataFrame | None) -> str:
    try:
        charts = report_charts(res, sensitivity)
        figures = []
        for name, chart in charts.items():
            spec = chart_spec(chart)
            svg = render(spec, "svg")
            title = spec.get("title", {})
            alt_text = title.get("text", name) if isinstance(title, dict) else str(title)
            data = base64.b64encode(svg).decode("ascii")
            figures.append(
                f'<figure id="chart-{_e(name)}"><img alt="{_e(alt_text)}" '
                f'src="data:image/svg+xml;base64,{data}">'
                f"<figcaption>{_e(_caption(name))}</figcaption></figure>"
            )
    except PfsError as err:
        return f'<p class="note">Charts are not available: {_e(err)}</p>'
    return "".join(figures)


def _budget(res: Results) -> str:
    sc = res.scenario
    wide = budget_table(res)
    cur = sc.currency
    pay, sav = "outcome_payments", "gross_savings"
    headers = [
        "Year",
        "Payments P5",
        "Payments median",
        "Payments P95",
        "Payments mean",
        "Savings mean",
        "Programme costs mean",
    ]
    rows = []
    for year in wide.index:
        r = wide.loc[year]
        rows.append(
            [(str(year), True)]
            + [
                (format_value(r[(s, stat)], "money", cur), False)
                for s, stat in (
                    (pay, "p05"),
                    (pay, "p50"),
                    (pay, "p95"),
                    (pay, "mean"),
                    (sav, "mean"),
                    ("programme_costs", "mean"),
                )
            ]
        )
    return _table(
        headers,
        rows,
        f"{series_label(pay, sc)} and {series_label(sav, sc).lower()}"
        " by budget year. Quantiles are of each year's amount: they do not add up "
        "across years.",
    )


def _tranches(res: Results) -> str:
    cur = res.scenario.currency
    headers = [
        "Tranche",
        "Kind",
        "Commitment",
        "Mean drawn",
        "IRR median",
        "IRR P5",
        "Multiple (mean)",
        "Chance of loss",
        "Expected loss",
    ]
    rows = []
    for tid, r in res.tranches.iterrows():
        t = res.scenario.tranche(str(tid))
        rows.append(
            [
                (t.label or str(tid), True),
                (str(r["kind"]).replace("_", " "), True),
                (format_value(r["commitment"], "money", cur), False),
                (format_value(r["mean_drawn"], "money", cur), False),
                (format_value(r["irr_p50"], "rate", cur), False),
                (format_value(r["irr_p05"], "rate", cur), False),
                (format_value(r["moic_mean"], "multiple", cur), False),
                (format_value(r["p_loss"], "share", cur), False),
                (format_value(r["expected_loss"], "money", cur), False),
            ]
        )
    return _table(headers, rows)


def _benchmarks(res: Results) -> str:
    from pfs.benchmarking import benchmark_scenario, benchmark_source

    try:
        frame = benchmark_scenario(res.scenario)
        source = benchmark_source()
    except PfsError as err:
        return f'<p class="note">No benchmark figures: {_e(err)}</p>'
    headers = ["Ratio", "This scenario", "Real deals: P25", "Median", "P75", "Deals", "Reading"]
    rows = []
    for _, r in frame.iterrows():
        kind = cast(Kind, str(r["kind"]))
        rows.append(
            [(r["label"], True)]
            + [
                (format_value(r[c], kind, "USD"), False)
                for c in ("scenario", "p25", "median", "p75")
            ]
            + [(f"{int(r['n'])}", False), (r["reading"], True)]
        )
    return _table(headers, rows, source)


def _sensitivity(sensitivity: pd.DataFrame, res: Results) -> str:
    if not is_tornado(sensitivity):
        return _plain_sensitivity(sensitivity)
    sc = res.scenario
    cur = sc.currency
    headers = [
        "Result",
        "Input",
        "Input low",
        "Input high",
        "Result at low",
        "Result at high",
        "Swing",
    ]
    rows = []
    for r in sensitivity.to_dict(orient="records"):
        kind = spec_kind(str(r["metric"]), sc)
        value_kind = input_kind(str(r["input"]), sc)
        swing = format_value(r.get("swing", r["at_high"] - r["at_low"]), kind, cur)
        se = r.get("swing_se")
        if isinstance(se, float) and math.isfinite(se):
            swing += f" ± {format_value(se, kind, cur, precise=True)}"
        rows.append(
            [
                (str(r.get("metric_label", r["metric"])), True),
                (str(r.get("label", r["input"])), True),
                (format_value(r.get("low_value"), value_kind, cur), False),
                (format_value(r.get("high_value"), value_kind, cur), False),
                (format_value(r["at_low"], kind, cur), False),
                (format_value(r["at_high"], kind, cur), False),
                (swing, False),
            ]
        )
    return _table(
        headers,
        rows,
        "Each row moves one input to its low or high value and "
        "keeps the rest as simulated; ± is the Monte Carlo error of the swing.",
    )


def _plain_sensitivity(sensitivity: pd.DataFrame) -> str:
    frame = (
        sensitivity.reset_index()
        if not isinstance(sensitivity.index, pd.RangeIndex)
        else (sensitivity)
    )
    rows = []
    for values in frame.itertuples(index=False):
        row = []
        for v in values:
            if isinstance(v, int | float) and not isinstance(v, bool):
                row.append((f"{v:,.4g}" if math.isfinite(float(v)) else "–", False))
            else:
                row.append((str(v), True))
        rows.append(row)
    return _table([str(c) for c in frame.columns], rows)


def _assumptions(res: Results) -> str:
    sc = res.scenario
    cur = sc.currency
    rows = [
        [
            (r.field, True),
            (r.distribution, True),
            (format_value(r.value, r.kind, cur), False),
            (format_value(r.p05, r.kind, cur), False),
            (format_value(r.p95, r.kind, cur), False),
        ]
        for r in uncertain_rows(sc)
    ]
    parts = ["<h3>Uncertain inputs</h3>"]
    if rows:
        parts.append(
            _table(
                ["Input", "Distribution", "Mean", "P5", "P95"],
                rows,
                "Every other value of the scenario is fixed; the Excel workbook lists them all.",
            )
        )
    else:
        parts.append(
            '<p class="note">Every input is fixed: the spread of results comes from '
            "the evaluation's noise only.</p>"
        )
    parts.append(f"<h3>Structure</h3>{_structure(res)}")
    if sc.notes:
        items = "".join(f"<li>{_e(n)}</li>" for n in sc.notes)
        parts.append(f'<h3>Notes and assumptions</h3><ul class="notes">{items}</ul>')
    if sc.sources:
        items = "".join(_source_item(s) for s in sc.sources)
        parts.append(f'<h3>Sources</h3><ul class="sources">{items}</ul>')
    return "".join(parts)


def _source_item(source: str) -> str:
    text = source.strip()
    if text.startswith(("http://", "https://")) and " " not in text:
        return f'<li><a href="{_e(text)}">{_e(text)}</a></li>'
    return f"<li>{_e(text)}</li>"


def _structure(res: Results) -> str:
    sc = res.scenario
    cur = sc.currency
    participants = sum(c.size for c in sc.program.cohorts)
    lines = [
        f"{len(sc.program.cohorts)} cohort(s), {participants:,.0f} planned participants; "
        f"horizon {sc.horizon} period(s) of {12 // sc.periods_per_year} months.",
    ]
    rules = {
        "rate_card": "a rate card",
        "tiers": "a tier schedule",
        "share_of_savings": "a share of savings",
    }
    for o in sc.outcomes:
        pay = o.payment
        cap = f", capped at {format_value(pay.cap, 'money', cur)}" if pay.cap is not None else ""
        price = (
            f" of {format_value(pay.price_per_unit, 'money', cur)} per {singular(o.unit)}"
            if pay.price_per_unit is not None and pay.rule.value == "rate_card"
            else ""
        )
        payer = sc.payer(pay.payer)
        lines.append(
            f"Outcome “{o.label or o.id}”: paid by {payer.label or payer.id} on "
            f"{rules.get(pay.rule.value, pay.rule.value)}{price}{cap}; evaluation "
            f"design: {o.evaluation.design.value.replace('_', ' ')}."
        )
    for p in sc.payers:
        cap = (
            f", total cap {format_value(p.total_cap, 'money', cur)}"
            if p.total_cap is not None
            else ""
        )
        lines.append(
            f"Payer {p.label or p.id}: discount rate "
            f"{format_value(p.discount_rate, 'rate', cur)}{cap}."
        )
    for t in sc.capital.tranches:
        lines.append(
            f"Tranche {t.label or t.id}: {t.kind.value.replace('_', ' ')} of "
            f"{format_value(t.amount, 'money', cur)}, coupon "
            f"{format_value(t.rate, 'rate', cur)}, seniority {t.seniority}."
        )
    for g in sc.capital.guarantees:
        lines.append(
            f"Guarantee {g.id}: covers {g.covers} up to {format_value(g.amount, 'money', cur)}."
        )
    return '<ul class="notes">' + "".join(f"<li>{_e(x)}</li>" for x in lines) + "</ul>"


def html_report(
    results: Results,
    sensitivity: pd.DataFrame | None = None,
    title: str | None = None,
    benchmarks: bool = True,
) -> str:
    """The HTML report of a simulation, as one self-contained document.

    Args:
        results: what :func:`pfs.simulate` returned.
        sensitivity: an optional sensitivity (tornado) table: shown as a table, and as
            a chart when it has ``low`` and ``high`` columns.
        title: page title (default: the scenario's name).
        benchmarks: include where the deal sits among real deals.

    Returns:
        The HTML text (UTF-8; no external resources).
    """
    sc = results.scenario
    name = title or sc.name
    meta = (
        f"{results.n_paths:,} simulated futures · seed {results.seed} · "
        f"{results.sampling.value} sampling · money in {sc.currency} · generated "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )
    keys = {row.key for row in HEADLINE_ROWS}
    assert set(GOVERNMENT_KEYS + INVESTOR_KEYS + EVALUATION_KEYS) <= keys
    sections = [
        f'<header><h1>{_e(name)}</h1><p class="meta">{_e(meta)}</p>'
        + (f'<p class="description">{_e(sc.description)}</p>' if sc.description else "")
        + "</header>",
        '<section id="reading" class="reading"><h2>What the simulation says</h2>'
        + "".join(f"<p>{_e(p)}</p>" for p in reading(results))
        + "</section>",
        '<section id="headline"><h2>Headline numbers</h2><h3>For the government</h3>'
        + _cards(results, GOVERNMENT_KEYS, "government")
        + "<h3>For investors</h3>"
        + _cards(results, INVESTOR_KEYS, "investors")
        + "<h3>Evaluation risk</h3>"
        + _cards(results, EVALUATION_KEYS, "evaluation")
        + "</section>",
        f'<section id="charts"><h2>Charts</h2>{_charts(results, sensitivity)}</section>',
        f'<section id="budget"><h2>Budget years</h2>{_budget(results)}</section>',
        f'<section id="tranches"><h2>Investors, tranche by tranche</h2>{_tranches(results)}'
        "</section>",
    ]
    if benchmarks:
        sections.append(
            '<section id="benchmarks"><h2>Compared with real deals</h2>'
            f"{_benchmarks(results)}</section>"
        )
    if sensitivity is not None:
        table = _sensitivity(sensitivity, results)
        sections.append(f'<section id="sensitivity"><h2>Sensitivity</h2>{table}</section>')
    sections.append(
        f'<section id="assumptions"><h2>Assumptions and sources</h2>'
        f"{_assumptions(results)}</section>"
    )
    footer = (
        "<footer>Made with pfs, the Pay for Success contract simulator. Results are "
        "Monte Carlo estimates: each simulated future draws every uncertain input once. "
        "Payments follow the measured effect; savings follow the true effect.</footer>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(name)} — pfs report</title><style>{STYLE}</style></head>"
        f"<body><main>{''.join(sections)}{footer}</main></body></html>\n"
    )


def write_html_report(results: Results, path: str | Path, **options: Any) -> Path:
    """Write :func:`html_report` to ``path`` (options as there).

    Raises:
        PfsError: when the file cannot be written.
    """
    path = Path(path)
    text = html_report(results, **options)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise PfsError(f"{path}: cannot write report ({err.strerror or err})") from None
    return path
