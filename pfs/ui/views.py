"""The Budget, Investors and Evaluation-risk tabs.

Stage: drawing. Each view takes the current scenario's :class:`~pfs.results.Results`
(and, where a view needs another run, asks :mod:`pfs.ui.state` for it: the deal
without guarantees, or the payment at fixed true effects), pre-aggregates with the
helpers of :mod:`pfs.ui.charts` and draws charts and plain-language tables.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from pfs.distributions import value_quantile
from pfs.payments import payment_threshold
from pfs.results import Results
from pfs.scenario import EffectType, Outcome, Scenario
from pfs.ui import charts, fmt, state
from pfs.ui.charts import PARTY_COLORS
from pfs.ui.headline import outcome_costs
from pfs.ui.labels import TRANCHE_KINDS, evaluation_words
from pfs.ui.widgets import singular

CURVE_POINTS = 15
CURVE_PATHS = 2_000


def show(chart: charts.AnyChart, height: int = charts.CHART_HEIGHT) -> None:
    """Draw a finished Altair chart at full width with the app's fonts.

    The spec is sent without Altair's JSON-schema validation, which costs about 0.1 s a
    chart; the tests validate every chart builder instead.
    """
    st.vega_lite_chart(charts.spec(chart, height), width="stretch")


def records(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """A table indexed by name as ``{name: {column: value}}``."""
    table: dict[Any, dict[str, Any]] = frame.to_dict(orient="index")  # type: ignore[assignment]
    return {str(k): v for k, v in table.items()}


def _money_axis(sc: Scenario, title: str) -> tuple[str, str]:
    return charts.money_title(title, sc.currency), charts.money_format(sc.currency)


# ------------------------------------------------------------------ budget
def paying_payers(sc: Scenario) -> list[str]:
    """Names of the payers that pay for at least one outcome."""
    ids = {o.payment.payer for o in sc.outcomes}
    return [p.label or p.id for p in sc.payers if p.id in ids]


def _payer_series(res: Results) -> tuple[str, str]:
    """The by-year series to show and the payer's name (one payer, or all of them)."""
    sc = res.scenario
    ids = {o.payment.payer for o in sc.outcomes}
    payers = [p for p in sc.payers if p.id in ids]
    if len(payers) == 1 or len(sc.payers) == 1:
        return "outcome_payments", payers[0].label or payers[0].id
    options = {"outcome_payments": "all payers together"}
    options |= {f"outcome_payments.{p.id}": p.label or p.id for p in payers}
    state.seed("budget_payer", "outcome_payments", allowed=options)
    series = st.selectbox(
        "Payer", list(options), format_func=options.__getitem__, key="budget_payer"
    )
    return series, options[series]


def budget_view(res: Results) -> None:
    """Outlays by budget year (fan chart), payments vs savings, PFS vs fee-for-service."""
    sc = res.scenario
    by_year = res.by_year()
    st.subheader("What will the government pay, and in which budget year?")
    series, who = _payer_series(res)
    title, form = _money_axis(sc, f"Outcome payments by {who}")
    show(
        charts.fan_chart(
            by_year[by_year["series"] == series],
            color=PARTY_COLORS["payer"],
            y_title=title,
            y_format=form,
        )
    )
    st.caption(
        "The band holds 9 of every 10 simulated futures; the solid line is the typical "
        "(median) year and the dashed line the average. Plan the budget for the top of "
        "the band."
    )
    left, right = st.columns(2)
    with left:
        st.subheader("Payments and savings by year")
        _payments_vs_savings(by_year, sc)
    with right:
        st.subheader("Pay for Success vs paying the provider directly")
        _pfs_vs_ffs(res)
    _budget_table(by_year, sc)
    if len(sc.outcomes) > 1:
        _outcome_table(res)


def _payments_vs_savings(by_year: pd.DataFrame, sc: Scenario) -> None:
    names = {"outcome_payments": "Outcome payments", "gross_savings": "Public savings"}
    frame = by_year[by_year["series"].isin(names)].assign(series=lambda f: f["series"].map(names))
    colors = {"Outcome payments": PARTY_COLORS["payer"], "Public savings": PARTY_COLORS["savings"]}
    title, form = _money_axis(sc, "Average per year")
    show(charts.grouped_bars(frame, colors, y_title=title, y_format=form))
    st.caption(
        "Savings arrive when the programme's real results happen; payments follow the "
        "evaluation, often later. Whiskers: 9 futures in 10."
    )


def _pfs_vs_ffs(res: Results) -> None:
    sc = res.scenario
    summary = records(res.summary(["gov_net_savings_pv", "ffs_net_savings_pv"]))
    rows = [
        ("Pay for Success", "gov_net_savings_pv", PARTY_COLORS["payer"]),
        ("Fee-for-service", "ffs_net_savings_pv", PARTY_COLORS["provider"]),
    ]
    frame = pd.DataFrame(
        [
            {
                "option": name,
                "color": color,
                **{k: summary[metric][k] for k in ("mean", "p05", "p95")},
            }
            for name, metric, color in rows
        ]
    )
    title, form = _money_axis(sc, "Government net savings, today's money")
    show(charts.range_bars(frame, x_title=title, x_format=form), height=220)
    advantage = res.metrics["pfs_vs_ffs_pv"]
    better = float((advantage > 0).mean())
    mean = state.headline(res)["pfs_vs_ffs_pv_mean"]
    cheaper = "Pay for Success" if mean >= 0 else "fee-for-service"
    st.markdown(
        "*Fee-for-service*: the government pays the provider's costs directly, whatever the "
        f"results. Pay for Success leaves the government better off in **{fmt.pct(better)}** "
        f"of the simulated futures; on average **{cheaper}** costs the government "
        f"**{fmt.money(abs(mean), sc.currency)}** less (today's money)."
    )


def _budget_table(by_year: pd.DataFrame, sc: Scenario) -> None:
    pay = by_year[by_year["series"] == "outcome_payments"].set_index("year")
    save = by_year[by_year["series"] == "gross_savings"].set_index("year")
    money = lambda x: fmt.money(x, sc.currency)  # noqa: E731
    table = pd.DataFrame(
        {
            "Budget year": pay.index,
            "Payments: typical": pay["p50"].map(money).to_numpy(),
            "Payments: bad case (95th pct.)": pay["p95"].map(money).to_numpy(),
            "Payments: average": pay["mean"].map(money).to_numpy(),
            "Savings: average": save["mean"].map(money).to_numpy(),
        }
    )
    with st.expander("Budget table by year"):
        st.table(table, hide_index=True)


def _outcome_table(res: Results) -> None:
    sc = res.scenario
    costs = outcome_costs(res)
    rows = []
    for o in sc.outcomes:
        units = float(res.metrics[f"true_units.{o.id}"].mean())
        rows.append(
            {
                "Outcome": o.label or o.id,
                "Paid by": sc.payer(o.payment.payer).label or o.payment.payer,
                "Average payment": fmt.money(
                    float(res.metrics[f"paid.{o.id}"].mean()), sc.currency
                ),
                "Additional results (average)": f"{fmt.number(units)} {o.unit}",
                "Cost per additional result": (
                    f"{fmt.money(costs[o.id], sc.currency)} per {singular(o.unit)}"
                ),
            }
        )
    with st.expander("What each outcome costs", expanded=True):
        st.table(pd.DataFrame(rows), hide_index=True)


# --------------------------------------------------------------- investors
def investors_view(res: Results) -> None:
    """IRR histogram and ECDF, per-tranche table, and the effect of the guarantee."""
    sc = res.scenario
    options = {"investor_irr": "All investors together"}
    options |= {f"irr.{t.id}": t.label or t.id for t in sc.capital.tranches if t.repayable}
    state.seed("investor_metric", "investor_irr", allowed=options)
    metric = st.selectbox(
        "Whose return?", list(options), format_func=options.__getitem__, key="investor_metric"
    )
    values = res.metrics[metric]
    st.subheader(f"Return per year: {options[metric]}")
    left, right = st.columns(2)
    x_title = "Internal rate of return (IRR) per year"
    with left:
        show(
            charts.histogram_chart(
                charts.histogram_frame(values, charts.bin_edges([values], trim=False)),
                color=PARTY_COLORS["investors"],
                x_title=x_title,
                x_format=charts.PERCENT,
            )
        )
    with right:
        show(
            charts.ecdf_chart(
                charts.ecdf_frame(values),
                color=PARTY_COLORS["investors"],
                x_title=x_title,
                x_format=charts.PERCENT,
            )
        )
    defined = float(np.isfinite(values).mean())
    note = (
        ""
        if defined > 0.99
        else (
            f" The return cannot be computed for {fmt.pct(1 - defined)} of futures; "
            "they are left out."
        )
    )
    st.caption(
        "Left: how often each return happens. Right: the chance of doing that badly or "
        "worse; the dashed line is 0% (money back, no gain). -100% means everything "
        "is lost." + note
    )
    st.subheader("Each tranche of the capital stack")
    st.table(_tranche_table(res))
    st.subheader("What the guarantee does")
    _guarantee(res)


def _tranche_table(res: Results) -> pd.DataFrame:
    """One column per tranche, one row per figure (fits any number of tranches)."""
    sc = res.scenario
    tr = records(res.tranches)
    money = lambda x: fmt.money(x, sc.currency)  # noqa: E731
    columns = {}
    for t in sc.capital.tranches:
        row = tr[t.id]
        columns[t.label or t.id] = {
            "Kind": TRANCHE_KINDS.get(t.kind.value, t.kind.value),
            "Repaid": f"{t.seniority}{_ordinal(t.seniority)}",
            "Committed": money(t.amount),
            "Interest per year": fmt.pct(t.rate, 1),
            "Chance of a loss": fmt.pct(row["p_loss"]),
            "Chance of losing over half": fmt.pct(row["p_loss_over_half"]),
            "Expected loss": money(row["expected_loss"]),
            "Typical return (median IRR)": fmt.pct(row["irr_p50"], 1),
            "Bad-case return (5th pct. IRR)": fmt.pct(row["irr_p05"], 1),
            "Average multiple (money back per 1 in)": fmt.multiple(row["moic_mean"]),
        }
    return pd.DataFrame(columns)


def _ordinal(n: int) -> str:
    return {1: "st", 2: "nd", 3: "rd"}.get(n if n < 20 else n % 10, "th")


def _guarantee(res: Results) -> None:
    sc = res.scenario
    if not sc.capital.guarantees:
        st.info(
            "This scenario has no guarantee (or it is switched off under Capital stack in "
            "the sidebar)."
        )
        return
    bare = state.without_guarantees(sc)
    with_g, without = records(res.tranches), records(bare.tranches)
    rows = []
    for t in sc.capital.tranches:
        if t.repayable:
            name = t.label or t.id
            rows.append({"group": name, "case": "With guarantee", "value": with_g[t.id]["p_loss"]})
            rows.append(
                {"group": name, "case": "Without guarantee", "value": without[t.id]["p_loss"]}
            )
    colors = {"With guarantee": PARTY_COLORS["guarantor"], "Without guarantee": "#b0b0b0"}
    left, right = st.columns([3, 2])
    with left:
        show(
            charts.paired_bars(
                pd.DataFrame(rows),
                colors,
                y_title="Chance of losing money",
                y_format=charts.PERCENT,
            ),
            height=300,
        )
    paid = res.metrics["guarantee_paid"]
    with right:
        st.markdown(
            f"The guarantor pays out in **{fmt.pct(float((paid > 0.01).mean()))}** of the "
            f"simulated futures, **{fmt.money(float(paid.mean()), sc.currency)}** on average."
        )
        h, h0 = state.headline(res), state.headline(bare)
        st.markdown(
            f"With it, investors' bad-case return (5th percentile) is "
            f"**{fmt.pct(h['investor_irr_p05'], 1)}**; without it, "
            f"**{fmt.pct(h0['investor_irr_p05'], 1)}**. Chance investors lose money: "
            f"**{fmt.pct(h['p_investor_loss'])}** with, **{fmt.pct(h0['p_investor_loss'])}** "
            "without."
        )
        st.caption("Both runs use the same simulated futures; only the guarantee differs.")


# ------------------------------------------------------------ evaluation
def effect_grid(o: Outcome, prior: Outcome | None = None, points: int = CURVE_POINTS) -> np.ndarray:
    """True-effect values spanning the plausible effects and the payment steps.

    Args:
        o: the outcome as edited.
        prior: the outcome as in the preset, whose effect sets the range (so moving the
            effect's best guess reuses the cached curve), default ``o``.
        points: number of values.
    """
    threshold = payment_threshold(o)
    effect = (prior or o).effect
    tiers = [t.at for t in o.payment.tiers or []]
    lo = min(value_quantile(effect, 0.02), 0.0, threshold - abs(threshold))
    hi = max(value_quantile(effect, 0.98), 2 * threshold, *(1.2 * t for t in tiers))
    if hi - lo < 1e-9:
        hi = lo + 1.0
    return np.linspace(lo, hi, points)


def payment_curve(sc: Scenario, o: Outcome, prior: Outcome | None = None) -> pd.DataFrame:
    """Payment for outcome ``o`` at each fixed true effect, with evaluation noise kept.

    Each point is a small simulation of ``sc`` with the true effect fixed (cached).
    """
    rows = []
    for effect in effect_grid(o, prior):
        fixed = sc.with_overrides({f"outcomes.{o.id}.effect": float(effect)})
        rows.append({"true_effect": effect, **state.summary_at(fixed, f"paid.{o.id}", CURVE_PATHS)})
    return pd.DataFrame(rows)


def _pick_outcome(sc: Scenario) -> Outcome:
    """The outcome the Evaluation tab shows (a choice when there are several)."""
    if len(sc.outcomes) == 1:
        return sc.outcomes[0]
    options = {o.id: o.label or o.id for o in sc.outcomes}
    state.seed("evaluation_outcome", sc.outcomes[0].id, allowed=options)
    picked = st.selectbox(
        "Outcome", list(options), format_func=options.__getitem__, key="evaluation_outcome"
    )
    return sc.outcome(str(picked))


def evaluation_view(res: Results, base: Scenario | None = None) -> None:
    """Payment as a function of the true effect, and the two ways evaluation errs.

    Args:
        res: the current run.
        base: the unedited scenario (its effect ranges set the curve's x axis).
    """
    sc = res.scenario
    o = _pick_outcome(sc)
    relative = o.effect_type == EffectType.relative
    x_format = charts.PERCENT if relative else ".2~f"
    x_title = "Real effect of the programme" + ("" if relative else f" ({o.unit} per participant)")
    threshold = payment_threshold(o)
    probs = state.probabilities(res)
    st.subheader("Does the payment follow the real result?")
    st.caption(f"How {o.label or o.id} is evaluated: {evaluation_words(o)}.")
    left, right = st.columns(2)
    left.metric(
        "Chance of paying for nothing",
        fmt.pct(probs[f"p_paid_without_true_effect.{o.id}"]),
        help="Share of futures in which the government pays for this outcome although "
        "the real effect is below the payment threshold: the evaluation's noise or "
        "bias made it look better.",
        border=True,
    )
    right.metric(
        "Chance of not paying for real success",
        fmt.pct(probs[f"p_not_paid_despite_true_effect.{o.id}"]),
        help="Share of futures in which the real effect reaches the threshold but the "
        "evaluation measures too little, so investors are not paid.",
        border=True,
    )
    y_title, y_format = _money_axis(sc, "Payment for this outcome")
    with st.spinner("Simulating the evaluation at each possible real effect..."):
        prior = next((p for p in (base or sc).outcomes if p.id == o.id), o)
        curve = payment_curve(sc, o, prior)
    show(
        charts.payment_curve_chart(
            curve,
            threshold=threshold,
            x_title=x_title,
            x_format=x_format,
            y_title=y_title,
            y_format=y_format,
        )
    )
    st.caption(
        f"Each point fixes the real effect and simulates {CURVE_PATHS:,} evaluations. "
        "The band is the evaluation's noise: for the same real effect, the payment can "
        "land anywhere in it. The dashed line is the threshold from which a payment is "
        "deserved."
    )
    _measured_vs_true(res, o, x_title, x_format, threshold)


def outcome_sample(res: Results, o: Outcome, size: int = 1_500) -> pd.DataFrame:
    """Real and measured effect of the first ``size`` paths, with what happened.

    What happened comes from the engine's own flags (``Results.flags``), so the app
    and the headline probabilities agree.
    """
    flags = state.derived(res, "flags", res.flags)
    n = min(size, res.n_paths)
    result = np.full(n, "Evaluation got it right", dtype=object)
    result[flags[f"p_paid_without_true_effect.{o.id}"][:n]] = "Paid for nothing"
    result[flags[f"p_not_paid_despite_true_effect.{o.id}"][:n]] = "Real success not paid"
    return pd.DataFrame(
        {
            "real": res.metrics[f"true_effect.{o.id}"][:n],
            "measured": res.metrics[f"measured_effect.{o.id}"][:n],
            "result": result,
        }
    )


def _measured_vs_true(
    res: Results, o: Outcome, x_title: str, x_format: str, threshold: float
) -> None:
    st.subheader("What the evaluation measures vs what really happened")
    sample = outcome_sample(res, o)
    show(
        charts.outcome_scatter(
            sample,
            threshold=threshold,
            x_title=x_title,
            y_title="Effect the evaluation measures",
            axis_format=x_format,
        )
    )
    st.caption(
        f"Each dot is one of {len(sample):,} simulated futures. Dots off the diagonal "
        "are the evaluation's error. Left of the dashed vertical line the programme "
        "really fell short of the threshold; above the horizontal one the evaluation "
        "says it met it. Payments follow the measurement, savings the real effect."
    )
