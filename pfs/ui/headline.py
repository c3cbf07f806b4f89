"""The headline numbers on top of the page, for the government and for investors.

Stage: drawing. Reads :meth:`pfs.Results.headline` (and, for the change arrows, the
headline of a reference run: the pinned scenario, or the unedited preset) and shows
each number with a plain-language explanation.
"""

from __future__ import annotations

import math

import streamlit as st

from pfs.results import Results
from pfs.scenario import Scenario
from pfs.ui import fmt, state
from pfs.ui.labels import METRICS, MetricInfo
from pfs.ui.widgets import singular

GOVERNMENT_ROW = (
    "gov_net_savings_pv_mean",
    "p_gov_net_negative",
    "max_annual_outlay_p95",
    "cost_per_outcome_unit",
    "pfs_vs_ffs_pv_mean",
)
INVESTOR_ROW = (
    "p_investor_repaid",
    "p_investor_loss",
    "investor_irr_p50",
    "investor_irr_p05",
)
COLUMNS = 5
# Changes smaller than these are shown as no change.
_NEGLIGIBLE = {"share": 0.005, "rate": 0.0005, "multiple": 0.005}


def outcome_costs(res: Results) -> dict[str, float]:
    """Expected payment per additional unit achieved, by outcome id (see Results)."""
    return res.cost_per_outcome()


def _cost_card(res: Results, info: MetricInfo) -> tuple[MetricInfo, str]:
    """The cost-per-outcome card, in the unit of the (first) outcome."""
    sc, currency = res.scenario, res.scenario.currency
    first = sc.outcomes[0]
    label = f"Cost per additional {singular(first.unit)}"
    if len(sc.outcomes) == 1:
        value = state.headline(res)["cost_per_outcome_unit"]
        return MetricInfo(label, info.help, info.kind, info.higher_is_better), fmt.money(
            value, currency
        )
    costs = outcome_costs(res)
    lines = [
        f"{fmt.money(costs[o.id], currency)} per {singular(o.unit)} ({o.label or o.id})"
        for o in sc.outcomes
    ]
    text = info.help + " Each outcome: " + "; ".join(lines) + ". See the Budget tab."
    shown = fmt.money(costs[first.id], currency)
    return MetricInfo(label, text, info.kind, info.higher_is_better), shown


def _delta(info: MetricInfo, now: float, before: float | None, currency: str) -> str | None:
    if before is None or not (math.isfinite(now) and math.isfinite(before)):
        return None
    change = now - before
    tolerance = _NEGLIGIBLE.get(info.kind, 0.005 * max(abs(before), 1.0))
    if abs(change) < tolerance:
        return None
    return info.show_change(change, currency)


def _value(name: str, res: Results) -> float:
    """A headline value; the cost per outcome is that of the first outcome."""
    if name == "cost_per_outcome_unit" and len(res.scenario.outcomes) > 1:
        return outcome_costs(res)[res.scenario.outcomes[0].id]
    return state.headline(res)[name]


def _card(name: str, res: Results, reference: Results | None, note: str) -> None:
    info = METRICS[name]
    currency = res.scenario.currency
    now = _value(name, res)
    shown = info.show(now, currency)
    if name == "cost_per_outcome_unit":
        info, shown = _cost_card(res, info)
    before = None if reference is None else _value(name, reference)
    st.metric(
        info.label,
        shown,
        delta=_delta(info, now, before, currency),
        delta_color="normal" if info.higher_is_better else "inverse",
        delta_description=note if before is not None else None,
        help=info.help,
        border=True,
    )


def summary_sentence(res: Results) -> str:
    """One plain sentence with the answer most people look for first."""
    sc = res.scenario
    h = state.headline(res)
    payers = [p for p in sc.payers if any(o.payment.payer == p.id for o in sc.outcomes)]
    who = "the " + (" and ".join(p.label or p.id for p in payers) or "government")
    savings = float(res.metrics["gross_savings_pv"].mean())
    years = math.ceil(sc.horizon / sc.periods_per_year)
    money = lambda x: fmt.money(x, sc.currency)  # noqa: E731
    return (
        f"On average, {who} pays **{money(h['outcome_payments_mean'])}** for outcomes over "
        f"{years} years (up to **{money(h['max_annual_outlay_p95'])}** in one budget year in "
        f"a bad case) and saves **{money(savings)}** in today's money; investors are repaid in "
        f"full in **{fmt.pct(h['p_investor_repaid'])}** of the simulated futures."
    )


def headline(res: Results, reference: Results | None = None, note: str = "") -> None:
    """Draw the headline cards (changes shown against ``reference`` if given)."""
    st.markdown(summary_sentence(res))
    for title, row in (("For the government", GOVERNMENT_ROW), ("For investors", INVESTOR_ROW)):
        st.markdown(f"##### {title}")
        for column, name in zip(st.columns(COLUMNS), row, strict=False):
            with column:
                _card(name, res, reference, note)


def reference_note(current: Scenario, pinned: Scenario | None, base: Scenario) -> str:
    """What the change arrows compare with: the pin, the preset, or nothing."""
    if pinned is not None:
        return "vs pinned"
    return "vs preset" if current != base else ""
