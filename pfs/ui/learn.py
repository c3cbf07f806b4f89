"""The Learn tab: a guided walk through the deal for workshops.

Stage: drawing. Step by step (investors put money in, the provider delivers, the
evaluator measures, the government pays, investors are repaid or not, the public
saves), in plain words with the numbers of the current run, and a chart of where
the money goes in an average future.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd
import streamlit as st

from pfs.distributions import value_mean
from pfs.payments import payment_threshold
from pfs.results import Results
from pfs.scenario import Direction, EffectType, Outcome
from pfs.ui import charts, edits, fmt, state
from pfs.ui.labels import DESIGNS, TRANCHE_KINDS
from pfs.ui.views import records, show

STEP_KEY = "_learn_step"
ALL_KEY = "learn_all"

Step = tuple[str, Callable[[Results], str]]


def _money(res: Results, x: float) -> str:
    return fmt.money(x, res.scenario.currency)


def _mean(res: Results, metric: str) -> float:
    return float(res.metrics[metric].mean())


def _payer_names(res: Results) -> str:
    sc = res.scenario
    payers = [p for p in sc.payers if any(o.payment.payer == p.id for o in sc.outcomes)]
    return " and ".join(p.label or p.id for p in payers)


def _the_deal(res: Results) -> str:
    sc = res.scenario
    investors = ", ".join(
        f"{t.label or t.id} ({_money(res, t.amount)}, {TRANCHE_KINDS[t.kind.value]})"
        for t in sc.capital.tranches
    )
    lines = [
        sc.description,
        "",
        f"- **Who pays for results:** {_payer_names(res)}",
        f"- **Who puts money in up front:** {investors}",
        "- **Who delivers the service:** the service provider",
        "- **Who measures the results:** an independent evaluator",
    ]
    for g in sc.capital.guarantees:
        covered = sc.tranche(g.covers)
        lines.append(
            f"- **Who guarantees:** {g.id.replace('_', ' ').capitalize()} covers up to "
            f"{_money(res, g.amount)} of {covered.label or covered.id}'s losses"
        )
    return "\n".join(lines)


def _investors_in(res: Results) -> str:
    sc = res.scenario
    total = sum(t.amount for t in sc.capital.tranches)
    lines = [
        f"Investors commit **{_money(res, total)}**. The provider draws it as the work "
        f"needs it: **{_money(res, _mean(res, 'investor_drawn'))}** on average.",
        "",
    ]
    for t in sorted(sc.capital.tranches, key=lambda t: t.seniority):
        rate = f" at {fmt.pct(t.rate, 1)} a year" if t.rate else ""
        lines.append(
            f"- {t.label or t.id}: {_money(res, t.amount)}{rate}, repaid in position {t.seniority}"
        )
    lines += ["", "*Ask the room:* why would a foundation accept to be repaid last?"]
    return "\n".join(lines)


def _provider(res: Results) -> str:
    sc = res.scenario
    planned = sum(c.size for c in sc.program.cohorts)
    enrolled = planned * value_mean(sc.program.enrollment_factor)
    return (
        f"The provider serves about **{fmt.number(enrolled)}** people "
        f"({fmt.number(planned)} places planned, in {len(sc.program.cohorts)} groups). "
        f"Running the programme costs about **{_money(res, _mean(res, 'programme_cost'))}** in "
        f"total, about {_money(res, value_mean(sc.program.cost_per_participant))} per person "
        "plus fixed costs.\n\n*Ask the room:* who carries the risk if fewer people enrol?"
    )


def _outcome_line(res: Results, o: Outcome) -> str:
    relative = o.effect_type == EffectType.relative
    show_effect = (lambda x: fmt.pct(x)) if relative else (lambda x: f"{x:.2f} {o.unit}")
    change = "fewer" if o.direction == Direction.decrease else "more"
    low, high = edits.likely_range(o.effect)
    probs = state.probabilities(res)
    design = DESIGNS.get(o.evaluation.design.value, o.evaluation.design.value)
    return (
        f"- **{o.label or o.id}**: we expect {show_effect(value_mean(o.effect))} {change} "
        f"{o.unit} (9 futures in 10: {show_effect(low)} to {show_effect(high)}). The "
        f"evaluation ({design}) measures it with noise; payment starts at a measured "
        f"{show_effect(payment_threshold(o))}. It pays for nothing real in "
        f"**{fmt.pct(probs[f'p_paid_without_true_effect.{o.id}'])}** of futures and misses a "
        f"real success in **{fmt.pct(probs[f'p_not_paid_despite_true_effect.{o.id}'])}**."
    )


def _evaluator(res: Results) -> str:
    lines = [
        "Payments follow what the evaluation *measures*; savings follow what *really* "
        "happens. The two differ by the evaluation's noise and bias.",
        "",
    ]
    lines += [_outcome_line(res, o) for o in res.scenario.outcomes]
    lines += ["", "*Ask the room:* who loses when the evaluation is wrong, in each direction?"]
    return "\n".join(lines)


def _government_pays(res: Results) -> str:
    row = records(res.summary(["outcome_payments"]))["outcome_payments"]
    h = state.headline(res)
    return (
        f"{_payer_names(res)} pays **{_money(res, row['mean'])}** for outcomes on average "
        f"(9 futures in 10: {_money(res, row['p05'])} to {_money(res, row['p95'])}). The "
        f"largest payment in a single budget year is **{_money(res, h['max_annual_outlay_p95'])}**"
        " in a bad case (1 future in 20 needs more).\n\n*Ask the room:* which budget line does "
        "this come from, and in which year?"
    )


def _investors_back(res: Results) -> str:
    sc = res.scenario
    tr = records(res.tranches)
    lines = []
    for t in sc.capital.tranches:
        row = tr[t.id]
        lines.append(
            f"- {t.label or t.id} puts in {_money(res, row['mean_drawn'])} and gets "
            f"back {_money(res, row['mean_received'])} on average; it loses money in "
            f"{fmt.pct(row['p_loss'])} of futures."
        )
    h = state.headline(res)
    if sc.capital.guarantees:
        lines.append(
            f"- The guarantor pays {_money(res, _mean(res, 'guarantee_paid'))} on "
            "average to cover losses."
        )
    lines += [
        "",
        f"All investors together are repaid in full in **{fmt.pct(h['p_investor_repaid'])}**"
        f" of futures; their typical return is **{fmt.pct(h['investor_irr_p50'], 1)}** a "
        f"year, and in a bad case **{fmt.pct(h['investor_irr_p05'], 1)}**.",
    ]
    return "\n".join(lines)


def _public(res: Results) -> str:
    h = state.headline(res)
    better = "less" if h["pfs_vs_ffs_pv_mean"] >= 0 else "more"
    return (
        f"The real results save the public **{_money(res, _mean(res, 'gross_savings_pv'))}** in "
        f"today's money; outcome payments cost {_money(res, _mean(res, 'outcome_payments_pv'))}. "
        f"Net: **{_money(res, h['gov_net_savings_pv_mean'])}** on average, and the government is "
        f"worse off in **{fmt.pct(h['p_gov_net_negative'])}** of futures. Compared with paying "
        f"the provider directly, the deal costs {_money(res, abs(h['pfs_vs_ffs_pv_mean']))} "
        f"{better} on average.\n\n*Ask the room:* is the transfer of risk worth its price?"
    )


STEPS: list[Step] = [
    ("The deal and who is in it", _the_deal),
    ("Investors put money in", _investors_in),
    ("The provider delivers the service", _provider),
    ("An evaluator measures the results", _evaluator),
    ("The government pays for results", _government_pays),
    ("Investors are repaid, or not", _investors_back),
    ("What the public gets", _public),
]


def flows_frame(res: Results) -> pd.DataFrame:
    """Average money flows by party (from the run's per-path metrics)."""
    tranches = records(res.tranches)
    received = sum(
        (
            float(tranches[t.id]["mean_received"])
            for t in res.scenario.capital.tranches
            if t.is_investor
        ),
        0.0,
    )
    rows = [
        ("Investors put in", _mean(res, "investor_drawn"), "investors"),
        ("Provider spends on the programme", _mean(res, "programme_cost"), "provider"),
        ("Government pays for outcomes", _mean(res, "outcome_payments"), "payer"),
        ("Investors get back (incl. guarantee)", received, "investors"),
        ("Guarantor pays", _mean(res, "guarantee_paid"), "guarantor"),
        ("Public savings (today's money)", _mean(res, "gross_savings_pv"), "savings"),
    ]
    return pd.DataFrame(
        [{"flow": f, "amount": a, "party": p} for f, a, p in rows if math.isfinite(a)]
    )


def _move(step: int) -> None:
    st.session_state[STEP_KEY] = min(max(step, 0), len(STEPS) - 1)


def _navigation(step: int) -> None:
    left, middle, right = st.columns([1, 3, 1])
    left.button(
        "← Previous",
        key="learn_prev",
        on_click=_move,
        args=(step - 1,),
        disabled=step == 0,
        width="stretch",
    )
    middle.progress((step + 1) / len(STEPS), text=f"Step {step + 1} of {len(STEPS)}")
    right.button(
        "Next →",
        key="learn_next",
        on_click=_move,
        args=(step + 1,),
        disabled=step == len(STEPS) - 1,
        width="stretch",
        type="primary",
    )


def learn_view(res: Results) -> None:
    """The guided walk (one step at a time, or all at once)."""
    st.caption(
        f"A guided walk through “{res.scenario.name}” with the numbers of the current "
        "run. Change a parameter in the sidebar and the story updates."
    )
    show_all = st.toggle("Show all steps at once", key=ALL_KEY)
    step = int(st.session_state.get(STEP_KEY, 0))
    if not show_all:
        _navigation(step)
    for i, (title, text) in enumerate(STEPS):
        if show_all or i == step:
            st.subheader(f"{i + 1}. {title}")
            st.markdown(text(res))
    if show_all or step == len(STEPS) - 1:
        st.subheader("Where the money goes in an average future")
        title = charts.money_title("Average amount", res.scenario.currency)
        show(
            charts.flows_chart(
                flows_frame(res), x_title=title, x_format=charts.money_format(res.scenario.currency)
            ),
            height=320,
        )
