"""The Compare tab: pin a scenario, edit, and see both side by side.

Stage: drawing. The pinned and current scenarios are simulated with common random
numbers (:func:`pfs.ui.state.comparison`), so the differences and their paired
standard errors (:meth:`pfs.Comparison.table`) show the effect of the change, not
of chance.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from pfs.results import Comparison
from pfs.scenario import Scenario
from pfs.ui import charts, fmt, state
from pfs.ui.labels import COMPARE_METRICS, DISTRIBUTIONS, MetricInfo
from pfs.ui.views import records, show

PIN_KEY = "pin"
UNPIN_KEY = "unpin"
MAX_CHANGES = 12


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested scenario data as ``{dotted path: value}``."""
    items: list[tuple[str, Any]]
    if isinstance(data, dict):
        items = [(str(k), v) for k, v in data.items()]
    elif isinstance(data, list):
        items = [
            (str(x.get("id", x.get("name", i))) if isinstance(x, dict) else str(i), x)
            for i, x in enumerate(data)
        ]
    else:
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in items:
        out |= _flatten(value, f"{prefix}.{key}" if prefix else str(key))
    return out


def changes(before: Scenario, after: Scenario) -> list[tuple[str, Any, Any]]:
    """The fields that differ between two scenarios: ``(path, before, after)``."""
    a, b = _flatten(before.model_dump()), _flatten(after.model_dump())
    return [(k, a.get(k), b.get(k)) for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]


def _show_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.6g}"
    return "—" if value is None else str(value)


def _margin(info: MetricInfo, margin: float, currency: str) -> str:
    """A margin of error, with one more digit than the values it qualifies."""
    if info.kind == "money":
        return "±" + fmt.money(margin, currency)
    if info.kind == "multiple":
        return f"±{margin:.3f}×"
    return "±" + fmt.points(margin, 2 if info.kind == "rate" else 1).lstrip("+")


def comparison_table(cmp: Comparison, currency: str) -> pd.DataFrame:
    """Headline metrics of both scenarios, the change and its margin, formatted."""
    table = records(cmp.table(list(COMPARE_METRICS)))
    diff, se = "Current − Pinned", "se(Current − Pinned)"
    rows = []
    for metric, info in COMPARE_METRICS.items():
        row = table[metric]
        change, error = float(row[diff]), float(row[se])
        margin = _margin(info, 2 * error, currency) if math.isfinite(error) else ""
        rows.append(
            {
                "Metric": info.label,
                "Pinned": info.show(float(row["Pinned"]), currency),
                "Current": info.show(float(row["Current"]), currency),
                "Change": info.show_change(change, currency),
                "± margin (95%)": margin,
            }
        )
    return pd.DataFrame(rows)


def _pin_buttons(pinned: Scenario | None) -> None:
    left, right, _ = st.columns([2, 2, 3])
    left.button(
        "Pin the current scenario" if pinned is None else "Pin the current one instead",
        key=PIN_KEY,
        on_click=state.pin_current,
        type="primary",
        help="Keep a copy of the scenario as it is now, then change parameters to "
        "see the difference.",
    )
    if pinned is not None:
        right.button("Clear the pin", key=UNPIN_KEY, on_click=state.unpin)


def compare_view(current: Scenario) -> None:
    """Pin buttons, the side-by-side table and overlaid distributions."""
    pinned = state.pinned()
    _pin_buttons(pinned)
    if pinned is None:
        st.info(
            "Pin the current scenario, then change parameters in the sidebar (or pick "
            "another preset with the same outcomes) to see both side by side."
        )
        return
    found = changes(pinned, current)
    if not found:
        st.info(
            "The current scenario is the same as the pinned one. Change a parameter in the "
            "sidebar to compare."
        )
    cmp = state.comparison(pinned, current)
    st.subheader("Pinned vs current")
    st.table(comparison_table(cmp, current.currency), hide_index=True)
    st.caption(
        "Both scenarios run on the same simulated futures (common random numbers), so "
        "the change reflects the deal, not chance. The margin is twice the paired "
        "standard error."
    )
    if found:
        with st.expander(f"What differs ({len(found)} setting{'s' if len(found) > 1 else ''})"):
            st.table(
                pd.DataFrame(
                    [
                        {"Setting": k, "Pinned": _show_value(a), "Current": _show_value(b)}
                        for k, a, b in found[:MAX_CHANGES]
                    ]
                ),
                hide_index=True,
            )
    _overlay(cmp, current.currency)


def _overlay(cmp: Comparison, currency: str) -> None:
    state.seed("compare_metric", next(iter(DISTRIBUTIONS)), allowed=DISTRIBUTIONS)
    metric = st.selectbox(
        "Distribution to compare",
        list(DISTRIBUTIONS),
        format_func=lambda m: DISTRIBUTIONS[m][0],
        key="compare_metric",
    )
    label, kind = DISTRIBUTIONS[metric]
    samples = {name: cmp[name].metrics[metric] for name in ("Pinned", "Current")}
    x_format = charts.PERCENT if kind == "rate" else charts.money_format(currency)
    x_title = label if kind == "rate" else charts.money_title(label, currency)
    left, right = st.columns(2)
    with left:
        show(
            charts.overlay_histograms(
                charts.histograms_frame(samples), x_title=x_title, x_format=x_format
            )
        )
    with right:
        frames = [charts.ecdf_frame(v).assign(name=k) for k, v in samples.items()]
        show(
            charts.ecdf_chart(
                pd.concat(frames, ignore_index=True), color="", x_title=x_title, x_format=x_format
            )
        )
